//! Enrolling simulated agents as an operator and a real agent do: the cluster is registered and a
//! one-time token created through the cell's REST API (`POST /v1/clusters`,
//! `POST /v1/clusters/{name}/tokens`), then the agent makes its own key pair and exchanges the
//! token and a CSR for a certificate with the `Enroll` RPC (server TLS only).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::EnrollRequest;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use rcgen::{CertificateParams, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::cell_process::CellProcess;

/// An enrolled agent's credentials.
pub struct Credentials {
    pub cluster: String,
    pub identity: Identity,
}

/// What dialling the cell's agent port needs.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub ca: Certificate,
}

impl Endpoint {
    pub fn of(cell: &CellProcess) -> Self {
        Endpoint {
            url: format!("https://localhost:{}", cell.grpc_port),
            ca: Certificate::from_pem(&cell.ca_pem),
        }
    }

    /// A new connection (each call dials its own TLS connection), with `identity` if given.
    pub async fn connect(&self, identity: Option<Identity>) -> Result<Channel, tonic::Status> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        Channel::from_shared(self.url.clone())
            .map_err(|e| tonic::Status::internal(e.to_string()))?
            .tls_config(tls)
            .map_err(|e| tonic::Status::internal(e.to_string()))?
            .connect_timeout(Duration::from_secs(30))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
            .connect()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("connect: {e}")))
    }
}

/// The name of simulated cluster `i`.
pub fn cluster_name(i: usize) -> String {
    format!("fleet-{i:05}")
}

/// Registers and enrols clusters `0..n`, `concurrency` at a time; returns their credentials (in
/// order) and the wall time it took.
pub async fn enrol_all(
    cell: &CellProcess,
    n: usize,
    concurrency: usize,
) -> (Vec<Credentials>, Duration) {
    let http = reqwest::Client::new();
    let endpoint = Endpoint::of(cell);
    let api = Arc::new((http, cell.http.clone(), cell.admin_token.clone()));
    let started = Instant::now();
    let mut credentials: Vec<(usize, Credentials)> = futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let endpoint = endpoint.clone();
            async move {
                let creds = enrol(&api.0, &api.1, &api.2, &endpoint, &cluster_name(i)).await;
                (i, creds)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    credentials.sort_by_key(|(i, _)| *i);
    (credentials.into_iter().map(|(_, c)| c).collect(), elapsed)
}

async fn enrol(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    endpoint: &Endpoint,
    cluster: &str,
) -> Credentials {
    let created = http
        .post(format!("{base}/v1/clusters"))
        .bearer_auth(admin_token)
        .json(&serde_json::json!({ "name": cluster }))
        .send()
        .await
        .expect("POST /v1/clusters");
    assert!(
        created.status().is_success(),
        "creating cluster {cluster}: {}",
        created.text().await.unwrap_or_default()
    );
    let token: serde_json::Value = http
        .post(format!("{base}/v1/clusters/{cluster}/tokens"))
        .bearer_auth(admin_token)
        .send()
        .await
        .expect("POST /v1/clusters/{name}/tokens")
        .json()
        .await
        .expect("a token answer");
    let token = token["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {token}"))
        .to_string();
    let key = KeyPair::generate().expect("a P-256 key pair");
    let csr_pem = CertificateParams::new(Vec::<String>::new())
        .and_then(|p| p.serialize_request(&key))
        .and_then(|csr| csr.pem())
        .expect("a CSR");
    let channel = endpoint.connect(None).await.expect("dial for Enroll");
    let response = AgentServiceClient::new(channel)
        .enroll(EnrollRequest {
            protocol_version: PROTOCOL_VERSION,
            token,
            csr_pem,
        })
        .await
        .unwrap_or_else(|status| panic!("Enroll of {cluster}: {status}"))
        .into_inner();
    Credentials {
        cluster: cluster.to_string(),
        identity: Identity::from_pem(response.certificate_pem, key.serialize_pem()),
    }
}
