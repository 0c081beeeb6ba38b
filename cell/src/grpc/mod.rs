//! The agent service (tonic over rustls) on one port: `Enroll` needs server TLS only, `Session`
//! needs a client certificate issued by the cell CA. Client authentication is therefore optional
//! at the TLS handshake and enforced per RPC (see [`identity`]).

pub mod enroll;
pub mod identity;
pub mod session;
pub mod tls;

use std::future::Future;
use std::time::Duration;

use lattice_protocol::v1::agent_service_server::{AgentService, AgentServiceServer};
use lattice_protocol::v1::{AgentMessage, EnrollRequest, EnrollResponse};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::state::CellState;

/// Streams one connection may open concurrently.
const STREAMS_PER_CONNECTION: usize = 64;

/// The `AgentService` implementation.
#[derive(Debug, Clone)]
pub struct AgentServiceImpl {
    state: CellState,
}

impl AgentServiceImpl {
    /// A service over `state`.
    pub fn new(state: CellState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AgentService for AgentServiceImpl {
    async fn enroll(
        &self,
        request: Request<EnrollRequest>,
    ) -> Result<Response<EnrollResponse>, Status> {
        // The caller's trace context from the standard metadata; the span names no token.
        let span = tracing::info_span!("enroll");
        let carrier = lattice_telemetry::propagation::from_headers(request.metadata().as_ref());
        lattice_telemetry::propagation::set_remote_parent(&span, &carrier);
        enroll::enroll(&self.state, request.into_inner())
            .instrument(span)
            .await
            .map(Response::new)
    }

    type SessionStream = session::SessionStream;

    async fn session(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        session::open(self.state.clone(), request)
            .await
            .map(Response::new)
    }
}

/// Serves the agent service on `listener` with `tls` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: ServerTlsConfig,
    state: CellState,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .tls_config(tls)?
        .concurrency_limit_per_connection(STREAMS_PER_CONNECTION)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .add_service(AgentServiceServer::new(AgentServiceImpl::new(state)))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}
