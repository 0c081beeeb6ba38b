//! What an evaluation produces: one result per control, probe and object, with its evidence.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::inventory::ObjectRef;
use super::spec::Severity;

/// The outcome of one probe on one object (or on the cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing to judge (no object matched a `forEach`, a field absent with `whenAbsent: skip`).
    Skip,
    /// The probe holds.
    Pass,
    /// The probe could not be evaluated (a templated Cedar question that does not parse).
    Error,
    /// The probe does not hold.
    Fail,
}

impl Outcome {
    /// The PolicyReport value: `pass`, `fail`, `error`, `skip`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Skip => "skip",
            Outcome::Pass => "pass",
            Outcome::Error => "error",
            Outcome::Fail => "fail",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one probe found about one object (or the cluster), before it is attributed to a
/// control and a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The object judged; `None` when the probe judges the cluster as a whole.
    pub object: Option<ObjectRef>,
    /// What was observed (a value as JSON, `absent`, a Cedar answer); never a secret value.
    pub observed: Option<String>,
    /// What passes.
    pub expected: String,
    /// The outcome.
    pub result: Outcome,
    /// One line for people.
    pub message: String,
}

/// One result with its evidence: what the cell stores and the PolicyReports show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceResult {
    /// The profile's name.
    pub profile: String,
    /// The profile's version (its `metadata.generation`).
    pub profile_version: i64,
    /// The control id.
    pub control: String,
    /// The control's severity.
    pub severity: Severity,
    /// The probe name.
    pub probe: String,
    /// The cluster.
    pub cluster: String,
    /// The object judged; `None` for a cluster-wide probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// What was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// What passes.
    pub expected: String,
    /// `pass`, `fail`, `error` or `skip`.
    pub result: Outcome,
    /// One line for people.
    pub message: String,
}

/// Longest observed value kept in evidence, in characters; longer ones are cut with `…`.
pub const MAX_OBSERVED_CHARS: usize = 256;

/// `text` cut to [`MAX_OBSERVED_CHARS`].
pub fn clip(text: String) -> String {
    if text.chars().count() <= MAX_OBSERVED_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_OBSERVED_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_order_by_gravity_and_long_values_are_clipped() {
        assert!(Outcome::Fail > Outcome::Error && Outcome::Error > Outcome::Pass);
        assert!(Outcome::Pass > Outcome::Skip);
        assert_eq!(
            clip("x".repeat(300)).chars().count(),
            MAX_OBSERVED_CHARS + 1
        );
        assert_eq!(clip("short".into()), "short");
    }
}
