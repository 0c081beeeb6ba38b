//! Starting and stopping a whole cell: keys, database (external or embedded), CA, the server
//! certificate, and the REST and gRPC listeners. Used by the `lattice-cell` binary and by tests.

pub mod admin_token;
pub mod rest_tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::ca::{CaError, CaKeyError, CaKeySource, CertificateAuthority, resolve_ca_key};
use crate::config::CellArgs;
use crate::delivery::fleet::FleetPolicies;
use crate::delivery::registry::ConnectionRegistry;
use crate::delivery::traces::ReleaseTraces;
use crate::metrics::Metrics;
use crate::pivot_runner::{PivotRunner, PivotSettings};
use crate::policy_versions::PolicyVersions;
use crate::reconcile::sweep::sweep;
use crate::reconcile::{ReconcileError, Trigger};
use crate::state::{CellState, ComplianceTrigger, Settings};
use crate::store::certificates::{CertificatePurpose, NewCertificate};
use crate::store::embedded::{EmbeddedPostgres, EmbeddedPostgresError};
use crate::store::{Store, StoreError};
use admin_token::{ADMIN_TOKEN_ENV, AdminTokenError, AdminTokenSource, resolve_admin_token};
use rest_tls::{RestTlsError, RestTlsSource, RestTransport, TlsListener};

/// Why the cell could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    /// No usable CA key.
    #[error(transparent)]
    CaKey(#[from] CaKeyError),
    /// No usable admin token.
    #[error(transparent)]
    AdminToken(#[from] AdminTokenError),
    /// The embedded Postgres failed.
    #[error("embedded Postgres: {0}")]
    EmbeddedPostgres(#[from] EmbeddedPostgresError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The CA failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The start-up reconcile failed.
    #[error("reconciling specs at start-up: {0}")]
    Reconcile(#[from] ReconcileError),
    /// The `--cost-rates` file could not be read or is invalid.
    #[error("--cost-rates {path}: {error}")]
    CostRates {
        /// The file.
        path: String,
        /// What is wrong.
        error: String,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The REST API's TLS flags or files are wrong.
    #[error(transparent)]
    RestTls(#[from] RestTlsError),
}

/// A running cell.
#[derive(Debug)]
pub struct RunningCell {
    /// Bound address of the REST API.
    pub http_addr: SocketAddr,
    /// `https`, or `http` with `--insecure-http`.
    pub http_scheme: &'static str,
    /// Bound address of the agent service.
    pub grpc_addr: SocketAddr,
    /// Shared state (store, CA, registry, metrics).
    pub state: CellState,
    shutdown: CancellationToken,
    http: JoinHandle<()>,
    grpc: JoinHandle<()>,
    embedded: Option<EmbeddedPostgres>,
}

impl RunningCell {
    /// The machine-readable line printed on startup; `scheme` says whether the REST API at
    /// `http` is `https` or (`--insecure-http`) `http`.
    pub fn ready_line(&self) -> String {
        format!(
            "LATTICE_CELL_READY http={} grpc={} scheme={}",
            self.http_addr, self.grpc_addr, self.http_scheme
        )
    }

    /// The REST API's base URL, `https://127.0.0.1:PORT` (or `http://` with `--insecure-http`).
    pub fn rest_url(&self) -> String {
        format!("{}://{}", self.http_scheme, self.http_addr)
    }

    /// Resolves when either server stopped on its own (a fatal error).
    pub async fn stopped(&mut self) {
        tokio::select! {
            _ = &mut self.http => {}
            _ = &mut self.grpc => {}
        }
    }

    /// Stops accepting, ends sessions, and stops the embedded Postgres cleanly.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for handle in [self.http, self.grpc] {
            if tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .is_err()
            {
                tracing::warn!("a server did not stop within 10s");
            }
        }
        self.state.store.pool().close().await;
        if let Some(pg) = self.embedded
            && let Err(e) = pg.stop().await
        {
            tracing::warn!(error = %e, "embedded Postgres did not stop cleanly");
        }
    }
}

/// Starts a cell as configured by `args`.
pub async fn start(args: &CellArgs) -> Result<RunningCell, StartError> {
    let data_dir = &args.data_dir;
    create_private_dir(data_dir)?;
    let env_ca_key = std::env::var(crate::ca::key::CA_KEY_ENV).ok();
    let (ca_key, ca_key_source) = resolve_ca_key(
        env_ca_key.as_deref(),
        args.ca_key_file.as_deref(),
        args.dev,
        data_dir,
    )?;
    log_ca_key_source(&ca_key_source);
    let env_admin = std::env::var(ADMIN_TOKEN_ENV).ok();
    let (admin_token, admin_source) = resolve_admin_token(
        env_admin.as_deref(),
        args.admin_token_file.as_deref(),
        args.dev,
        data_dir,
    )?;
    log_admin_token_source(&admin_source);
    // Checked before anything starts, so bad flags stop the cell at once.
    let rest_source = RestTlsSource::from_flags(
        args.insecure_http,
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        args.http_listen,
    )?;
    // Read before anything starts, so a bad file stops the cell at once.
    let cost_rates = args
        .cost_rates
        .as_deref()
        .map(read_cost_rates)
        .transpose()?;

    let (url, embedded) = match args
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        Some(url) => (url.to_string(), None),
        None => {
            let pg = EmbeddedPostgres::start(data_dir.join("postgres")).await?;
            tracing::info!(dir = %pg.dir().display(), "started the embedded Postgres (set DATABASE_URL to use your own)");
            (pg.url().to_string(), Some(pg))
        }
    };
    let store = Store::connect(&url).await?;
    if let Some(rates) = &cost_rates {
        store.set_cost_rates(rates, "cell:--cost-rates").await?;
        tracing::info!(currency = %rates.currency, "cost rates loaded from --cost-rates");
    }
    let ca = CertificateAuthority::load_or_create(&store, &ca_key).await?;
    let ca_copy = data_dir.join("ca.crt");
    if let Err(e) = std::fs::write(&ca_copy, ca.cert_pem()) {
        tracing::warn!(path = %ca_copy.display(), error = %e, "cannot write the CA certificate copy");
    }
    let server_cert = ca.issue_server_certificate(&args.server_names)?;
    store
        .record_certificate(NewCertificate {
            serial: &server_cert.certificate.serial,
            purpose: CertificatePurpose::Server,
            cluster: None,
            subject: &server_cert.certificate.subject,
            not_after: server_cert.certificate.not_after,
        })
        .await?;

    let mut settings = Settings::with_admin_token(admin_token);
    settings.agent_cert_validity = args.agent_cert_ttl;
    settings.default_token_ttl = Duration::from_secs(args.token_ttl_secs.max(1));
    settings.heartbeat_interval = Duration::from_secs(args.heartbeat_interval_secs.max(1));
    settings.trust_domain = args.trust_domain.clone();
    settings.compliance_retention = args.compliance_retention;
    let tls = crate::grpc::tls::server_tls(ca.cert_pem(), &server_cert);
    let rest_transport = rest_tls::rest_transport(&rest_source, &server_cert)?;
    log_rest_transport(&rest_source);
    let http_listener = TcpListener::bind(args.http_listen)
        .await
        .map_err(|e| StartError::Bind(args.http_listen, e))?;
    let grpc_listener = TcpListener::bind(args.grpc_listen)
        .await
        .map_err(|e| StartError::Bind(args.grpc_listen, e))?;
    let http_addr = http_listener
        .local_addr()
        .map_err(|e| StartError::Bind(args.http_listen, e))?;
    let grpc_addr = grpc_listener
        .local_addr()
        .map_err(|e| StartError::Bind(args.grpc_listen, e))?;
    settings.agent_endpoint = args.advertise_url.clone().unwrap_or_else(|| {
        let host = args
            .server_names
            .first()
            .map_or("localhost", String::as_str);
        format!("https://{host}:{}", grpc_addr.port())
    });
    let shutdown = CancellationToken::new();
    let state = CellState {
        store,
        ca: Arc::new(ca),
        registry: ConnectionRegistry::new(),
        fleet: FleetPolicies::new(),
        metrics: Metrics::new(),
        settings: Arc::new(settings),
        policies: PolicyVersions::default(),
        pivots: PivotRunner::new(PivotSettings::default(), shutdown.child_token()),
        compliance: ComplianceTrigger::default(),
        traces: ReleaseTraces::default(),
    };
    // Level-triggered recovery: specs left unreconciled by a crash (or decided under a policy set
    // that changed since in a way that matters to them) are reconciled before serving.
    let recovered = sweep(&state, &Trigger::Startup).await?;
    // The fleet-wide policies as committed: what every session delivers until the next change.
    state.fleet.publish(&state.store.fleet_set().await?);
    if !recovered.is_empty() {
        tracing::info!(specs = recovered.len(), "reconciled specs at start-up");
    }

    // Active pivots go on where their rows say (each driver resends its phase's step).
    let resumed = crate::pivot::resume_all(&state).await?;
    if resumed > 0 {
        tracing::info!(pivots = resumed, "resumed active pivots");
    }

    tokio::spawn(crate::compliance::schedule::run(
        state.clone(),
        shutdown.child_token(),
    ));

    let router = crate::http::router(state.clone());
    let http_stop = shutdown.clone();
    let http_scheme = rest_transport.scheme();
    let http = match rest_transport {
        RestTransport::InsecureHttp => tokio::spawn(async move {
            let served = axum::serve(http_listener, router)
                .with_graceful_shutdown(async move { http_stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "REST server failed");
            }
        }),
        RestTransport::Tls(config) => {
            let listener = TlsListener::new(http_listener, config, http_stop.child_token())
                .map_err(|e| StartError::Bind(args.http_listen, e))?;
            tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { http_stop.cancelled().await })
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "REST server failed");
                }
            })
        }
    };
    let grpc_stop = shutdown.clone();
    let grpc_state = state.clone();
    let grpc = tokio::spawn(async move {
        if let Err(e) = crate::grpc::serve(grpc_listener, tls, grpc_state, async move {
            grpc_stop.cancelled().await
        })
        .await
        {
            tracing::error!(error = %e, "agent service failed");
        }
    });
    tracing::info!(%http_addr, %grpc_addr, "cell ready");
    Ok(RunningCell {
        http_addr,
        http_scheme,
        grpc_addr,
        state,
        shutdown,
        http,
        grpc,
        embedded,
    })
}

fn read_cost_rates(path: &Path) -> Result<lattice_derive::cost::CostRates, StartError> {
    let fail = |error: String| StartError::CostRates {
        path: path.display().to_string(),
        error,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    crate::cost::parse_rates(&text).map_err(|e| fail(e.to_string()))
}

fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StartError::DataDir(dir.display().to_string(), e))
}

fn log_rest_transport(source: &RestTlsSource<'_>) {
    match source {
        RestTlsSource::InsecureHttp => tracing::warn!(
            "--insecure-http: the REST API is plain HTTP on loopback; bearer tokens cross it in clear"
        ),
        RestTlsSource::Files { cert, .. } => {
            tracing::info!(cert = %cert.display(), "REST API TLS certificate from --tls-cert")
        }
        RestTlsSource::CellCa => tracing::info!(
            "REST API TLS certificate issued by the cell CA (clients trust <data-dir>/ca.crt; pass --tls-cert/--tls-key to serve your own)"
        ),
    }
}

fn log_ca_key_source(source: &CaKeySource) {
    match source {
        CaKeySource::Environment => tracing::info!("CA key from LATTICE_CA_KEY"),
        CaKeySource::File(path) => tracing::info!(path = %path.display(), "CA key from file"),
        CaKeySource::DevFile {
            path,
            generated: true,
        } => tracing::warn!(
            path = %path.display(),
            "--dev: generated a CA key and wrote it to this file (mode 0600); do not use dev mode in production: keep the key in a secret store and pass it as LATTICE_CA_KEY"
        ),
        CaKeySource::DevFile {
            path,
            generated: false,
        } => {
            tracing::warn!(path = %path.display(), "--dev: using the CA key generated earlier in this file")
        }
    }
}

fn log_admin_token_source(source: &AdminTokenSource) {
    match source {
        AdminTokenSource::Environment => tracing::info!("admin token from LATTICE_ADMIN_TOKEN"),
        AdminTokenSource::File(path) => {
            tracing::info!(path = %path.display(), "admin token from file")
        }
        AdminTokenSource::DevFile(path, true) => tracing::warn!(
            path = %path.display(),
            "--dev: generated an admin token into this file (mode 0600); use it with `export LATTICE_TOKEN=$(cat <file>)`"
        ),
        AdminTokenSource::DevFile(path, false) => {
            tracing::info!(path = %path.display(), "--dev: admin token from this file")
        }
    }
}
