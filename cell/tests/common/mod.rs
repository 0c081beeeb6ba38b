//! Test helpers: a real cell (embedded Postgres, real listeners) and a real agent-side gRPC client
//! with certificates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use lattice_cell::{CellArgs, RunningCell};
use lattice_protocol::PROTOCOL_VERSION;
use lattice_protocol::v1::agent_service_client::AgentServiceClient;
use lattice_protocol::v1::{AgentMessage, CellMessage, EnrollRequest, EnrollResponse};
use rcgen::{CertificateParams, KeyPair};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub const HELLO_YAML: &str = include_str!("../../../examples/hello.yaml");

/// The example policies (`examples/policies/`), which permit what the examples need.
pub fn example_policies() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

/// The example policy document named `name`.
pub fn example_policy(name: &str) -> String {
    example_policies()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no example policy {name}"))
        .1
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running cell in a temporary data directory, with its admin token.
pub struct TestCell {
    pub cell: Option<RunningCell>,
    pub dir: tempfile::TempDir,
    pub admin_token: String,
    pub http: reqwest::Client,
}

impl TestCell {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A cell whose arguments `adjust` changes first (e.g. a short agent certificate lifetime).
    pub async fn start_with(adjust: impl FnOnce(&mut CellArgs)) -> Self {
        install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let mut args = CellArgs::dev_on_free_ports(dir.path());
        adjust(&mut args);
        let cell = lattice_cell::start(&args).await.unwrap();
        let admin_token = std::fs::read_to_string(dir.path().join("admin-token"))
            .unwrap()
            .trim()
            .to_string();
        Self {
            cell: Some(cell),
            dir,
            admin_token,
            http: reqwest::Client::new(),
        }
    }

    pub fn cell(&self) -> &RunningCell {
        self.cell.as_ref().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.cell().http_addr)
    }

    pub fn ca_pem(&self) -> String {
        self.cell().state.ca.cert_pem().to_string()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// An authenticated request builder.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// Registers a cluster and returns a fresh enrolment token for it.
    pub async fn cluster_with_token(&self, name: &str) -> String {
        let state = &self.cell().state;
        state
            .store
            .create_cluster(name, &Default::default(), "test")
            .await
            .unwrap();
        self.token_for(name).await
    }

    pub async fn token_for(&self, name: &str) -> String {
        let state = &self.cell().state;
        let issued = state
            .store
            .create_enrolment_token(name, chrono::Duration::hours(1), "test")
            .await
            .unwrap()
            .unwrap();
        issued.token.expose().to_string()
    }

    pub async fn apply_yaml(&self, body: &str) -> reqwest::Response {
        self.admin(reqwest::Method::POST, "/v1/apply")
            .header("content-type", "application/yaml")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Applies the example policies, so the examples are authorized.
    pub async fn allow_examples(&self) {
        let body = example_policies()
            .into_iter()
            .map(|(_, text)| text)
            .collect::<Vec<_>>()
            .join("\n---\n");
        let response = self.apply_yaml(&body).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Stops the cell (cleanly, as SIGTERM would) and starts a new one on the same data
    /// directory and database.
    pub async fn restart(mut self) -> Self {
        if let Some(cell) = self.cell.take() {
            cell.shutdown().await;
        }
        let cell = lattice_cell::start(&CellArgs::dev_on_free_ports(self.dir.path()))
            .await
            .unwrap();
        self.cell = Some(cell);
        self
    }

    pub async fn stop(mut self) {
        if let Some(cell) = self.cell.take() {
            cell.shutdown().await;
        }
    }
}

/// The agent side: a key pair and, after enrolment, a certificate.
pub struct TestAgent {
    pub key: KeyPair,
    pub cert_pem: Option<String>,
    pub cluster: String,
}

impl TestAgent {
    pub fn new(cluster: &str) -> Self {
        Self {
            key: KeyPair::generate().unwrap(),
            cert_pem: None,
            cluster: cluster.to_string(),
        }
    }

    pub fn csr_pem(&self) -> String {
        CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .serialize_request(&self.key)
            .unwrap()
            .pem()
            .unwrap()
    }

    /// A channel with server TLS only (and the given client identity, if any).
    pub async fn channel(
        cell: &TestCell,
        identity: Option<Identity>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(cell.ca_pem()))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        Channel::from_shared(format!(
            "https://localhost:{}",
            cell.cell().grpc_addr.port()
        ))
        .unwrap()
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
    }

    pub async fn enroll(
        &mut self,
        cell: &TestCell,
        token: &str,
    ) -> Result<EnrollResponse, tonic::Status> {
        let channel = Self::channel(cell, None).await.unwrap();
        let response = AgentServiceClient::new(channel)
            .enroll(EnrollRequest {
                protocol_version: PROTOCOL_VERSION,
                token: token.to_string(),
                csr_pem: self.csr_pem(),
            })
            .await?
            .into_inner();
        self.cert_pem = Some(response.certificate_pem.clone());
        Ok(response)
    }

    pub fn identity(&self) -> Identity {
        Identity::from_pem(self.cert_pem.clone().unwrap(), self.key.serialize_pem())
    }

    /// Opens a session with this agent's certificate.
    pub async fn session(&self, cell: &TestCell) -> Result<AgentStream, tonic::Status> {
        let channel = Self::channel(cell, Some(self.identity())).await.unwrap();
        open_session(channel, &self.cluster).await
    }
}

/// The agent's end of a session.
pub struct AgentStream {
    pub tx: mpsc::Sender<AgentMessage>,
    pub rx: Streaming<CellMessage>,
    pub cluster: String,
}

pub async fn open_session(channel: Channel, cluster: &str) -> Result<AgentStream, tonic::Status> {
    let (tx, rx) = mpsc::channel(16);
    let response = AgentServiceClient::new(channel)
        .session(ReceiverStream::new(rx))
        .await?;
    Ok(AgentStream {
        tx,
        rx: response.into_inner(),
        cluster: cluster.to_string(),
    })
}

impl AgentStream {
    pub async fn send(&self, payload: lattice_protocol::v1::agent_message::Payload) -> String {
        self.send_as(&self.cluster.clone(), payload, "").await
    }

    pub async fn send_as(
        &self,
        cluster: &str,
        payload: lattice_protocol::v1::agent_message::Payload,
        reply_to: &str,
    ) -> String {
        let id = lattice_protocol::new_message_id();
        self.tx
            .send(AgentMessage {
                id: id.clone(),
                cluster_id: cluster.to_string(),
                reply_to: reply_to.to_string(),
                trace_context: Default::default(),
                payload: Some(payload),
            })
            .await
            .unwrap();
        id
    }

    /// The next message about anything but the cluster's mesh baseline and compliance, or the
    /// status that ended the stream. Every cluster with a mesh member is sent its
    /// `MeshBaseline/-/<cluster>` spec (tested in `mesh.rs` and the e2e tests); these session
    /// tests are about the services, so an `Apply` of the baseline is acknowledged as applied and
    /// skipped here, and so are `InventoryWatch` and `ComplianceResults` (tested in
    /// `compliance_inventory.rs`, read there with [`Self::next_raw`]).
    pub async fn next(&mut self) -> Result<Option<CellMessage>, tonic::Status> {
        use lattice_protocol::v1::agent_message::Payload as Agent;
        use lattice_protocol::v1::cell_message::Payload as Cell;
        loop {
            let message = self.next_raw().await?;
            if matches!(
                message.as_ref().and_then(|m| m.payload.as_ref()),
                Some(Cell::InventoryWatch(_) | Cell::ComplianceResults(_))
            ) {
                continue;
            }
            let Some(Cell::Apply(apply)) = message.as_ref().and_then(|m| m.payload.as_ref()) else {
                return Ok(message);
            };
            if !apply.spec_key.starts_with("MeshBaseline/") {
                return Ok(message);
            }
            let reply_to = message.as_ref().map(|m| m.id.clone()).unwrap_or_default();
            let result = Agent::ApplyResult(lattice_protocol::v1::ApplyResult {
                spec_key: apply.spec_key.clone(),
                revision_id: apply.revision_id.clone(),
                success: true,
                objects: Vec::new(),
                error: String::new(),
            });
            self.send_as(&self.cluster.clone(), result, &reply_to).await;
        }
    }

    /// The next message, whatever it is, or the status that ended the stream.
    pub async fn next_raw(&mut self) -> Result<Option<CellMessage>, tonic::Status> {
        self.rx.message().await
    }
}

/// A Hello payload.
pub fn hello(
    version: u32,
    held: Vec<lattice_protocol::v1::HeldRevision>,
) -> lattice_protocol::v1::agent_message::Payload {
    lattice_protocol::v1::agent_message::Payload::Hello(lattice_protocol::v1::Hello {
        protocol_version: version,
        agent_version: "test-agent 0.1".into(),
        kubernetes_version: "v1.35.0".into(),
        held,
    })
}

/// Enrols an agent for a new cluster `name`.
pub async fn enrolled(cell: &TestCell, name: &str) -> TestAgent {
    let token = cell.cluster_with_token(name).await;
    let mut agent = TestAgent::new(name);
    agent.enroll(cell, &token).await.unwrap();
    agent
}

/// A `CedarPolicy` document named `name` with `text` (indented into a YAML block).
pub fn policy_yaml(name: &str, text: &str) -> String {
    policy_yaml_with(name, text, "")
}

/// A `CedarPolicy` document with extra `spec` fields (`"  enabled: false\n"`, …).
pub fn policy_yaml_with(name: &str, text: &str, extra_spec: &str) -> String {
    let body: String = text.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: {name}\nspec:\n{extra_spec}  policies: |\n{body}"
    )
}

/// Every image may be deployed (the baseline of tests about other gates).
pub const ANY_IMAGE: &str =
    "@id(\"any-image\")\npermit (principal, action == Lattice::Action::\"DeployImage\", resource);";

/// A digest-pinned test image.
pub const TEST_IMAGE: &str =
    "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A `LatticeService` `shop/<name>` on cluster edge-1 with extra container fields and extra
/// workload fields (YAML, indented as in [`crate::common::TEST_IMAGE`]'s container / workload).
pub fn service_yaml(name: &str, container_extra: &str, workload_extra: &str) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata:\n  name: {name}\n  namespace: shop\n  labels:\n    lattice.dev/cluster: edge-1\nspec:\n  workload:\n    containers:\n      main:\n        image: {TEST_IMAGE}\n        command: [/app/api]\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n{container_extra}    service:\n      ports:\n        http: {{port: 8080}}\n{workload_extra}"
    )
}

impl TestCell {
    /// Applies `body` and returns the answer, asserting it was accepted.
    pub async fn apply_ok(&self, body: &str) -> serde_json::Value {
        let response = self.apply_yaml(body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, reqwest::StatusCode::OK, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The service `namespace/name` as GET returns it.
    pub async fn service(&self, namespace: &str, name: &str) -> serde_json::Value {
        self.admin(
            reqwest::Method::GET,
            &format!("/v1/namespaces/{namespace}/latticeservices/{name}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    }

    /// The condition of type `type_` in the status of `namespace/name`.
    pub async fn condition(&self, namespace: &str, name: &str, type_: &str) -> serde_json::Value {
        let service = self.service(namespace, name).await;
        service["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == type_)
            .cloned()
            .unwrap_or_else(|| panic!("no {type_} condition in {service}"))
    }

    /// Asks the cell's can-i endpoint.
    pub async fn can_i(&self, principal: &str, action: &str, resource: &str) -> serde_json::Value {
        let response = self
            .admin(reqwest::Method::POST, "/v1/authorization/can-i")
            .json(&serde_json::json!({"principal": principal, "action": action, "resource": resource}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Registers cluster `name` (no agent).
    pub async fn cluster(&self, name: &str) {
        self.cell()
            .state
            .store
            .create_cluster(name, &Default::default(), "test")
            .await
            .unwrap();
    }
}
