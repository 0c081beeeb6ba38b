//! A protocol peer for the agent's tests: a small cell serving `AgentService` over real TLS
//! (tonic + rustls), scripted per session. It is not a mock of Kubernetes: it stands in for the
//! other end of the wire, checks what the real cell checks (client certificate, cluster id of
//! every message) and reports every message it receives.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::Stream;
use lattice_agent::cell_endpoint::CellUrl;
use lattice_protocol::identity::cluster_id_from_certificate;
use lattice_protocol::v1::agent_message::Payload as AgentPayload;
use lattice_protocol::v1::agent_service_server::{AgentService, AgentServiceServer};
use lattice_protocol::v1::cell_message::Payload as CellPayload;
use lattice_protocol::v1::{
    AgentMessage, CellMessage, EnrollRequest, EnrollResponse, HeartbeatAck, Welcome,
};
use lattice_protocol::{PROTOCOL_VERSION, check_protocol_version, new_message_id};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use super::pki::TestPki;

/// How the cell treats one session.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Answer Hello with Welcome and keep going.
    Welcome {
        /// Protocol version in Welcome.
        version: u32,
        /// Heartbeat interval asked for (0: none).
        heartbeat_secs: u32,
        /// Whether heartbeats are acknowledged.
        ack_heartbeats: bool,
        /// Close the stream after this many received messages.
        close_after: Option<usize>,
    },
    /// Refuse the session with this status.
    Refuse(Status),
}

impl Plan {
    pub fn welcome() -> Self {
        Plan::Welcome {
            version: PROTOCOL_VERSION,
            heartbeat_secs: 0,
            ack_heartbeats: true,
            close_after: None,
        }
    }
}

/// What the cell saw. (A heartbeat with cluster facts makes `Received` large; a test channel
/// carries few events, so it is not boxed.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A session opened by the agent with this certificate cluster.
    Opened { peer_cluster: String },
    /// A message received.
    Received(AgentMessage),
    /// The cell ended a session (plan or protocol violation) or the agent went away.
    Closed,
}

struct Shared {
    pki: Arc<TestPki>,
    plans: Mutex<VecDeque<Plan>>,
    tokens: Mutex<HashMap<String, String>>,
    outbound: Mutex<Option<mpsc::WeakSender<Result<CellMessage, Status>>>>,
    events: mpsc::UnboundedSender<Event>,
}

pub struct TestCell {
    pub url: CellUrl,
    pub pki: Arc<TestPki>,
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<Event>,
    server: JoinHandle<()>,
}

impl Drop for TestCell {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestCell {
    /// A cell whose serving certificate and agent certificates come from one CA.
    pub async fn start() -> Self {
        let pki = Arc::new(TestPki::new("cell"));
        Self::start_with(pki.clone(), &pki).await
    }

    /// A cell signing agents with `pki` and serving with a certificate from `serving`.
    pub async fn start_with(pki: Arc<TestPki>, serving: &TestPki) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (cert, key) = serving.server_cert();
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(cert, key))
            .client_ca_root(Certificate::from_pem(pki.ca_pem()))
            .client_auth_optional(true);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (events_tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            pki: pki.clone(),
            plans: Mutex::new(VecDeque::new()),
            tokens: Mutex::new(HashMap::new()),
            outbound: Mutex::new(None),
            events: events_tx,
        });
        let service = AgentServiceServer::new(CellService {
            shared: shared.clone(),
        });
        let server = tokio::spawn(async move {
            Server::builder()
                .tls_config(tls)
                .unwrap()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        Self {
            url: format!("https://127.0.0.1:{port}").parse().unwrap(),
            pki,
            shared,
            events,
            server,
        }
    }

    /// Queues the plan for the next session (sessions without a plan are welcomed).
    pub fn plan(&self, plan: Plan) {
        self.shared.plans.lock().unwrap().push_back(plan);
    }

    /// Accepts `token` once, for `cluster`.
    pub fn add_token(&self, token: &str, cluster: &str) {
        self.shared
            .tokens
            .lock()
            .unwrap()
            .insert(token.to_string(), cluster.to_string());
    }

    /// True while `token` has not been used.
    pub fn has_token(&self, token: &str) -> bool {
        self.shared.tokens.lock().unwrap().contains_key(token)
    }

    /// Sends `payload` on the current session; returns the message id.
    pub async fn send(&self, payload: CellPayload) -> String {
        self.send_reply(payload, "").await
    }

    /// Sends `payload` answering message `reply_to` on the current session; returns its id.
    pub async fn send_reply(&self, payload: CellPayload, reply_to: &str) -> String {
        let id = new_message_id();
        let tx = self
            .shared
            .outbound
            .lock()
            .unwrap()
            .as_ref()
            .and_then(mpsc::WeakSender::upgrade)
            .expect("no open session");
        tx.send(Ok(CellMessage {
            id: id.clone(),
            reply_to: reply_to.to_string(),
            trace_context: Default::default(),
            payload: Some(payload),
        }))
        .await
        .unwrap();
        id
    }

    /// The next thing the cell saw.
    pub async fn next_event(&mut self) -> Event {
        self.events.recv().await.expect("cell stopped")
    }

    /// The next received message that is not a heartbeat (heartbeats flow all the time).
    pub async fn next_non_heartbeat(&mut self) -> AgentMessage {
        loop {
            if let Event::Received(m) = self.next_event().await
                && !matches!(m.payload, Some(AgentPayload::Heartbeat(_)))
            {
                return m;
            }
        }
    }
}

struct CellService {
    shared: Arc<Shared>,
}

type CellStream = Pin<Box<dyn Stream<Item = Result<CellMessage, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for CellService {
    async fn enroll(
        &self,
        request: Request<EnrollRequest>,
    ) -> Result<Response<EnrollResponse>, Status> {
        let req = request.into_inner();
        check_protocol_version(req.protocol_version)
            .map_err(|e| Status::failed_precondition(e.to_string()))?;
        let cluster = self
            .shared
            .tokens
            .lock()
            .unwrap()
            .remove(&req.token)
            .ok_or_else(|| {
                Status::permission_denied("enrolment token is unknown, expired or already used")
            })?;
        let certificate_pem = self
            .shared
            .pki
            .sign_csr(&req.csr_pem, &cluster)
            .map_err(|e| Status::invalid_argument(format!("csr_pem: {e}")))?;
        Ok(Response::new(EnrollResponse {
            cluster_id: cluster,
            certificate_pem,
            ca_certificate_pem: self.shared.pki.ca_pem().to_string(),
            not_after_unix: 0,
        }))
    }

    type SessionStream = CellStream;

    async fn session(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<CellStream>, Status> {
        let peer = request
            .peer_certs()
            .and_then(|certs| certs.first().map(|c| cluster_id_from_certificate(c)))
            .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?
            .map_err(|e| Status::unauthenticated(e.to_string()))?
            .to_string();
        let events = self.shared.events.clone();
        let _ = events.send(Event::Opened {
            peer_cluster: peer.clone(),
        });
        let plan = self
            .shared
            .plans
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(Plan::welcome);
        let (version, heartbeat_secs, ack_heartbeats, close_after) = match plan {
            Plan::Refuse(status) => {
                let _ = events.send(Event::Closed);
                return Err(status);
            }
            Plan::Welcome {
                version,
                heartbeat_secs,
                ack_heartbeats,
                close_after,
            } => (version, heartbeat_secs, ack_heartbeats, close_after),
        };
        let (tx, rx) = mpsc::channel(64);
        *self.shared.outbound.lock().unwrap() = Some(tx.downgrade());
        let mut inbound = request.into_inner();
        tokio::spawn(async move {
            let mut count = 0;
            while let Ok(Some(msg)) = inbound.message().await {
                count += 1;
                if msg.cluster_id != peer {
                    let _ = tx
                        .send(Err(Status::permission_denied(format!(
                            "message claims cluster {:?} but the certificate is for {peer:?}",
                            msg.cluster_id
                        ))))
                        .await;
                    break;
                }
                let _ = events.send(Event::Received(msg.clone()));
                let answer = match &msg.payload {
                    Some(AgentPayload::Hello(_)) => Some(CellPayload::Welcome(Welcome {
                        protocol_version: version,
                        cluster_id: peer.clone(),
                        heartbeat_interval_seconds: heartbeat_secs,
                    })),
                    Some(AgentPayload::Heartbeat(hb)) if ack_heartbeats => {
                        Some(CellPayload::HeartbeatAck(HeartbeatAck {
                            sequence: hb.sequence,
                        }))
                    }
                    _ => None,
                };
                if let Some(payload) = answer {
                    let _ = tx
                        .send(Ok(CellMessage {
                            id: new_message_id(),
                            reply_to: msg.id.clone(),
                            trace_context: Default::default(),
                            payload: Some(payload),
                        }))
                        .await;
                }
                if close_after == Some(count) {
                    break;
                }
            }
            let _ = events.send(Event::Closed);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
