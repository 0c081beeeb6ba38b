//! The cell's Postgres store: a connection pool, the embedded migrations, and one module per
//! table family. Queries are checked at run time (`FromRow`), so building needs no database.

pub mod attempts;
pub mod audit;
pub mod batch_writer;
pub mod ca;
pub mod certificates;
pub mod cluster_health;
pub mod clusters;
pub mod compliance;
pub mod compliance_runs;
pub mod cost_rates;
pub mod deliveries;
pub mod drift;
pub mod embedded;
pub mod fleet_policies;
pub mod heartbeat_rows;
pub mod inventories;
pub mod ledger;
pub mod mesh;
pub mod namespaces;
pub mod pivots;
pub mod policies;
pub mod quotas;
pub mod retry;
pub mod revisions;
pub mod specs;
pub mod tokens;
pub mod unavailable;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting to Postgres failed.
    #[error("cannot connect to Postgres: {0}")]
    Connect(#[source] sqlx::Error),
    /// Applying the migrations failed.
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The object already exists.
    #[error("{what} {name:?} already exists")]
    AlreadyExists {
        /// Kind of object.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// A batched write failed (every write of the batch reports it).
    #[error("database error in a batched write: {0}")]
    Batched(#[source] std::sync::Arc<sqlx::Error>),
    /// The batch writer task is gone (the runtime is shutting down).
    #[error("the batch writer stopped")]
    WriterStopped,
    /// A stored JSON value did not have the expected shape.
    #[error("stored {what} is malformed: {source}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The decoding error.
        source: serde_json::Error,
    },
}

/// Pooled connections of a cell.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Handle to the cell's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    writer: batch_writer::BatchWriter,
}

impl Store {
    /// Connects to `url` (a pool of [`DEFAULT_POOL_SIZE`]) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(DEFAULT_POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(StoreError::Connect)?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self::on(pool))
    }

    /// Another handle to the same database with a pool of `max_connections` (load tests and
    /// benchmarks need more concurrent transactions than a cell's default pool).
    pub async fn with_pool_size(&self, max_connections: u32) -> Result<Self, StoreError> {
        let options = (*self.pool.connect_options()).clone();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Self::on(pool))
    }

    /// A store on `pool`, with its batch writer (heartbeats and deliveries).
    fn on(pool: PgPool) -> Self {
        let writer = batch_writer::BatchWriter::start(pool.clone());
        Self { pool, writer }
    }

    /// The connection pool, for queries that span modules.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Writes waiting for the batch writer (a gauge on `/metrics`).
    pub fn batch_writer_queue(&self) -> usize {
        self.writer.queued()
    }

    /// True if the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}
