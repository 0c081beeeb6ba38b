//! Cedar authorization end to end, with every part a real process: Postgres, the `lattice-cell`
//! binary, a test cluster (etcd + kube-apiserver with the vendored CRDs) and the `lattice-agent`
//! binary. A denied service leaves the cluster untouched while a permitted one next to it is
//! applied; adding the missing permit through the API (no spec change) makes it appear.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::{Api, Client};
use lattice_cell::EmbeddedPostgres;
use lattice_e2e::bins::{workspace_bin, workspace_root};
use lattice_e2e::{
    ManagedProcess, ProcessSpec, TestCluster, install_crds, vendored_crd_files, wait_until,
};
use serde_json::{Value, json};

/// Upper bound of each wait: turns a hang into a readable failure; it times nothing.
const LIMIT: Duration = Duration::from_secs(180);

/// A `lattice-cell` process on free ports, using the test's Postgres.
struct CellProcess {
    process: ManagedProcess,
    http: String,
    token: String,
    client: reqwest::Client,
}

impl CellProcess {
    async fn start(dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        let data_dir = dir.join("cell");
        let spec = ProcessSpec::new(
            "lattice-cell",
            workspace_bin("lattice-cell")?,
            dir.join("cell.log"),
        )
        .arg("--dev")
        .arg("--data-dir")
        .arg(&data_dir)
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info");
        let process = ManagedProcess::spawn(spec)?;
        process.wait_for_log("LATTICE_CELL_READY", LIMIT).await?;
        let log = process.log_contents();
        let ready = log
            .lines()
            .find(|l| l.starts_with("LATTICE_CELL_READY"))
            .ok_or_else(|| anyhow::anyhow!("no ready line in {log}"))?;
        let http = ready
            .split_whitespace()
            .find_map(|f| f.strip_prefix("http="))
            .ok_or_else(|| anyhow::anyhow!("no http address in {ready}"))?;
        let token = std::fs::read_to_string(data_dir.join("admin-token"))?
            .trim()
            .to_string();
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The REST API serves a certificate issued by the cell's CA (`<data-dir>/ca.crt`).
        let ca = reqwest::Certificate::from_pem(&std::fs::read(data_dir.join("ca.crt"))?)?;
        Ok(Self {
            process,
            http: format!("https://{http}"),
            token,
            client: reqwest::Client::builder().tls_certs_only([ca]).build()?,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.http))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/yaml")
                .body(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status}: {text}");
        Ok(serde_json::from_str(&text)?)
    }

    async fn apply(&self, body: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, "/v1/apply", Some(body.to_string()))
            .await
    }

    async fn service(&self, namespace: &str, name: &str) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
            None,
        )
        .await
    }

    /// Waits until `namespace/name` reaches phase `Ready` (its cluster applied its revision).
    async fn wait_ready(&self, namespace: &str, name: &str) -> anyhow::Result<Value> {
        Ok(wait_until(
            &format!("{namespace}/{name} to be Ready"),
            LIMIT,
            || async {
                Ok(self
                    .service(namespace, name)
                    .await
                    .inspect_err(|e| eprintln!("waiting: {e}"))
                    .ok()
                    .filter(|s| s["status"]["phase"] == "Ready"))
            },
        )
        .await?)
    }
}

/// Starts `lattice-agent` for `cluster`, enrolling with a fresh token.
async fn start_agent(
    cell: &CellProcess,
    cluster: &TestCluster,
    dir: &Path,
) -> anyhow::Result<ManagedProcess> {
    let created = cell
        .client
        .post(format!("{}/v1/clusters", cell.http))
        .bearer_auth(&cell.token)
        .json(&json!({"name": "edge-1"}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "cluster create: {}",
        created.status()
    );
    let token = cell
        .client
        .post(format!("{}/v1/clusters/edge-1/tokens", cell.http))
        .bearer_auth(&cell.token)
        .json(&json!({}))
        .send()
        .await?
        .json::<Value>()
        .await?;
    let ca = dir.join("cell-ca.crt");
    std::fs::write(&ca, token["caCertificatePem"].as_str().unwrap_or_default())?;
    let spec = ProcessSpec::new(
        "lattice-agent",
        workspace_bin("lattice-agent")?,
        dir.join("agent.log"),
    )
    .arg("--cell")
    .arg(token["agentEndpoint"].as_str().unwrap_or_default())
    .arg("--cell-ca")
    .arg(&ca)
    .arg("--kubeconfig")
    .arg(cluster.kubeconfig_path())
    .args([
        "--metrics-listen",
        "127.0.0.1:0",
        "--heartbeat-seconds",
        "1",
    ])
    .env(
        "LATTICE_ENROLMENT_TOKEN",
        token["token"].as_str().unwrap_or_default(),
    )
    .env("RUST_LOG", "info");
    Ok(ManagedProcess::spawn(spec)?)
}

/// The names of every object of kinds the hello example derives, labelled as spec `name`'s.
async fn objects_of(client: &Client, name: &str) -> anyhow::Result<Vec<String>> {
    let params = ListParams::default().labels(&format!("lattice.dev/spec-name={name}"));
    let mut found = Vec::new();
    macro_rules! list {
        ($kind:ty) => {
            for o in Api::<$kind>::namespaced(client.clone(), "demo")
                .list(&params)
                .await?
            {
                found.push(format!(
                    "{} {}",
                    stringify!($kind),
                    o.metadata.name.unwrap_or_default()
                ));
            }
        };
    }
    list!(Deployment);
    list!(Service);
    list!(ServiceAccount);
    list!(ConfigMap);
    list!(PodDisruptionBudget);
    Ok(found)
}

fn example(path: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(workspace_root().join(path))?)
}

#[tokio::test]
async fn a_denied_service_leaves_the_cluster_untouched_until_its_permit_is_added()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let postgres = EmbeddedPostgres::start(dir.path().join("pg")).await?;
    let cluster = TestCluster::start("edge-1").await?;
    install_crds(&cluster, &vendored_crd_files()).await?;
    let cell = CellProcess::start(dir.path(), postgres.url()).await?;
    let mut agent = start_agent(&cell, &cluster, dir.path()).await?;
    wait_until("the agent to connect", LIMIT, || async {
        Ok(cell
            .call(reqwest::Method::GET, "/v1/clusters/edge-1", None)
            .await
            .inspect_err(|e| eprintln!("waiting: {e}"))
            .ok()
            .filter(|c| c["connected"] == true)
            .map(|_| ()))
    })
    .await?;
    let client = cluster.client().await?;

    // The platform's guardrails, and a permit for the canary's image only.
    let hello = example("examples/hello.yaml")?;
    let canary = hello.replace("name: hello", "name: canary");
    let canary_image = "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: canary-image\nspec:\n  policies: |\n    permit (principal == Lattice::Service::\"demo/canary\", action == Lattice::Action::\"DeployImage\", resource);\n";
    cell.apply(&format!(
        "{}---\n{canary_image}",
        example("examples/policies/platform-guardrails.yaml")?
    ))
    .await?;

    let denied = cell.apply(&hello).await?;
    let status = &denied["items"][0]["status"];
    assert_eq!(status["phase"], "Failed", "{denied}");
    let authorized = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "PolicyAuthorized"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(authorized["reason"], "DeployImageDenied", "{denied}");
    assert!(
        authorized["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Lattice::Service::\"demo/hello\" may not DeployImage Lattice::ImageRef::\"ghcr.io/lattice-dev/hello@sha256:"),
        "{authorized}"
    );

    // The canary, applied after the denied service on the same cluster through the same
    // session, is applied; by then the denied service would have been too, had it been sent.
    let released = cell.apply(&canary).await?;
    assert_eq!(
        released["items"][0]["status"]["phase"], "Pending",
        "{released}"
    );
    cell.wait_ready("demo", "canary").await?;
    assert!(!objects_of(&client, "canary").await?.is_empty());
    assert_eq!(objects_of(&client, "hello").await?, Vec::<String>::new());
    let hello_status = cell.service("demo", "hello").await?;
    assert_eq!(hello_status["status"]["phase"], "Failed");
    assert_eq!(
        hello_status["status"]["clusters"],
        json!([]),
        "nothing was ever sent for the denied service"
    );

    // The missing permit through the API; the spec is not touched.
    let answer = cell
        .apply(&example("examples/policies/platform-images.yaml")?)
        .await?;
    let rederived = answer["rederived"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "hello"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(rederived["result"], "Released", "{answer}");
    let ready = cell.wait_ready("demo", "hello").await?;
    assert_eq!(ready["metadata"]["generation"], 1);
    let objects = objects_of(&client, "hello").await?;
    assert!(
        objects.contains(&"Deployment hello".to_string())
            && objects.contains(&"ServiceAccount hello".to_string()),
        "{objects:?}"
    );

    agent.terminate().await?;
    let mut cell = cell;
    cell.process.terminate().await?;
    Ok(())
}
