//! A span exporter that keeps what it is given, for the unit tests of this crate (the SDK's
//! in-memory exporter needs its `testing` feature, which pulls in metrics and logs).

use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// The spans exported so far (clones share them).
#[derive(Debug, Clone, Default)]
pub struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl Collected {
    /// Every span exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl SpanExporter for Collected {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(batch);
        Ok(())
    }
}
