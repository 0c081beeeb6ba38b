//! The port-race retry: a server whose port is taken must be recognised as such, or start-up
//! would fail instead of trying another port. Uses the real binaries.

use std::net::TcpListener;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn etcd_and_the_api_server_on_a_taken_port_are_recognised_for_a_retry() -> TestResult {
    let bins = k8s_bin_dir()?;
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    let taken = TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port();

    let etcd_attempt = etcd::start_on(
        port,
        "taken",
        &bins.join("etcd"),
        &dir.path().join("etcd-on-taken-port"),
        &logs,
    )
    .await;
    match etcd_attempt {
        Err(err) => assert!(port_was_taken(&err), "not recognised: {err}"),
        Ok(_) => panic!("etcd cannot serve on a port someone else holds"),
    }

    let etcd = etcd::start(
        "taken",
        &bins.join("etcd"),
        &dir.path().join("etcd-data"),
        &logs,
    )
    .await?;
    let (ca, admin, pki) = pki::generate("taken", &dir.path().join("pki"))?;
    let kubeconfig_path = dir.path().join("kubeconfig.yaml");
    let inputs = ApiServerInputs {
        cluster: "taken",
        binary: &bins.join("kube-apiserver"),
        etcd: &etcd.process,
        etcd_url: &etcd.url,
        pki: &pki,
        work_dir: dir.path(),
        log_dir: &logs,
        admin: AdminKubeconfig {
            path: &kubeconfig_path,
            cluster: "taken",
            ca_pem: ca.cert_pem(),
            admin: &admin,
        },
    };
    match apiserver::start_on(port, &inputs).await {
        Err(err) => assert!(port_was_taken(&err), "not recognised: {err}"),
        Ok(_) => panic!("kube-apiserver cannot serve on a port someone else holds"),
    }
    // Other failures are not mistaken for a port race.
    let exited = HarnessError::Timeout {
        what: "something".to_owned(),
        waited: Duration::ZERO,
        details: PORT_IN_USE.to_owned(),
    };
    assert!(!port_was_taken(&exited));
    Ok(())
}
