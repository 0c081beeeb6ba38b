//! The agent's main sequence: metrics listener, Kubernetes client, identity (stored or enrolled),
//! inventory, command executor, then sessions with the cell until shutdown.

use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lattice_protocol::backoff::Backoff;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::apply::Applier;
use crate::cli::AgentArgs;
use crate::compliance::{self, ComplianceLink};
use crate::credentials::secret::CredentialStore;
use crate::drift::{self, Drift, DriftQueue, DriftReports};
use crate::error::AgentError;
use crate::executor;
use crate::health::{self, HealthSources};
use crate::inventory::Inventory;
use crate::kube_client::kube_client;
use crate::kube_error::server_message;
use crate::obtain::{EnrolmentInput, obtain_credentials};
use crate::own_objects::ensure_namespace;
use crate::revisions::Revisions;
use crate::session::{SessionContext, run_sessions};
use crate::telemetry::{AgentMetrics, http};

/// Version of this agent build.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the agent until `cancel` fires. Returns an error only for start-up failures.
pub async fn run(args: AgentArgs, cancel: CancellationToken) -> Result<(), AgentError> {
    // ring is the only provider compiled in; installing it explicitly keeps every TLS user
    // (tonic, kube) on the same provider. An error means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();

    let metrics = Arc::new(AgentMetrics::new());
    let listener = TcpListener::bind(args.metrics_listen)
        .await
        .map_err(|source| AgentError::MetricsListen {
            addr: args.metrics_listen,
            source,
        })?;
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /metrics and /healthz");
    }
    let metrics_task = tokio::spawn(http::serve(listener, metrics.clone(), cancel.clone()));

    let client = kube_client(args.kubeconfig.as_deref()).await?;
    let kubernetes_version = client
        .apiserver_version()
        .await
        .map_err(|e| AgentError::ApiServer(server_message(&e)))?
        .git_version;
    tracing::info!(%kubernetes_version, agent_version = AGENT_VERSION, "connected to the Kubernetes API server");

    let credentials = obtain_credentials(
        &client,
        EnrolmentInput {
            cell: &args.cell,
            token: args.token.clone(),
            cell_ca: args.cell_ca.as_deref(),
            namespace: &args.namespace,
        },
    )
    .await?;
    // A CA given on a later start is trusted in addition to the stored one (cell CA rotation).
    let extra_ca = args
        .cell_ca
        .as_deref()
        .and_then(|p| fs::read_to_string(p).ok())
        .filter(|ca| ca != credentials.ca_pem());

    let credential_store = CredentialStore::new(client.clone(), &args.namespace);
    ensure_namespace(&client, &args.namespace).await?;
    let inventory = Inventory::load(client.clone(), &args.namespace).await?;
    tracing::info!(
        specs = inventory.records().count(),
        held = inventory.held_revisions().len(),
        "inventory loaded"
    );
    let revisions = Revisions::load(client.clone(), &args.namespace, &inventory).await?;
    tracing::info!(
        objects = revisions.desired().objects().len(),
        "desired manifests of held revisions loaded"
    );
    let held = inventory.subscribe();
    let heartbeat_interval = Duration::from_secs(args.heartbeat_seconds);
    let facts = health::gather::spawn(client.clone(), heartbeat_interval, cancel.clone());
    let drift = Drift {
        desired: revisions.desired().clone(),
        queue: DriftQueue::default(),
        reports: DriftReports::default(),
    };
    let watch_task = drift::watch::spawn(client.clone(), drift.clone(), cancel.clone());
    let resync_task = drift::resync::spawn(drift.clone(), args.resync_period, cancel.clone());
    let compliance = ComplianceLink::default();
    let inventory_task =
        compliance::watch::spawn(client.clone(), compliance.clone(), cancel.clone());
    let reports_task = compliance::policy_reports::spawn(
        client.clone(),
        compliance.results.subscribe(),
        cancel.clone(),
    );
    let applier = Applier::new(client, inventory).with_revisions(revisions);
    let executor = executor::spawn(
        applier,
        Some(drift.clone()),
        metrics.clone(),
        cancel.clone(),
    );
    let executor_task = executor.task;

    let ctx = SessionContext {
        cell: args.cell.clone(),
        credentials: tokio::sync::watch::Sender::new(credentials),
        credential_store: Some(credential_store),
        extra_ca,
        agent_version: AGENT_VERSION.to_string(),
        kubernetes_version,
        heartbeat_interval,
        held,
        state: executor.state,
        health: HealthSources {
            facts,
            workload: executor.workload,
        },
        executor: executor.handle,
        drift_reports: drift.reports,
        compliance,
        metrics,
        started,
        backoff: Backoff::default(),
    };
    run_sessions(&ctx, &cancel).await;
    drop(ctx);
    // Let a command under way finish, so nothing is left half-applied.
    if let Err(e) = executor_task.await {
        tracing::error!(error = %e, "command executor failed");
    }
    let _ = watch_task.await;
    let _ = resync_task.await;
    let _ = inventory_task.await;
    let _ = reports_task.await;
    let _ = metrics_task.await;
    tracing::info!("stopped");
    Ok(())
}
