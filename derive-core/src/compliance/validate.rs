//! Validation of a `LatticeComplianceProfile` into a [`CompiledProfile`]: every problem found is
//! reported at once, each with its field path (`spec.controls[2].probes[0].configuration.path`),
//! as the cell refuses the profile at apply time.

use std::collections::BTreeSet;

use super::cedar_probe::{self, CompiledCedarProbe};
use super::configuration::{self, CompiledConfigurationProbe};
use super::existence::{self, CompiledExistenceProbe};
use super::spec::{Control, Framework, LabelSelector, LatticeComplianceProfile, Probe, Severity};
use crate::error::FieldError;
use crate::syntax::duration::parse_nanos;
use crate::syntax::names::is_dns_subdomain;

/// Evaluation interval when the profile names none, in seconds.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 600;
/// The shortest evaluation interval a profile may ask for, in seconds: evaluating every cluster
/// more often than this is load without news (changes trigger an evaluation anyway).
pub const MIN_INTERVAL_SECONDS: u64 = 60;

/// A validated profile, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledProfile {
    /// `metadata.name`.
    pub name: String,
    /// The version results are recorded against: `metadata.generation` (0 before the API server
    /// has assigned one).
    pub version: i64,
    /// The framework.
    pub framework: Framework,
    /// Evaluation interval, seconds.
    pub interval_seconds: u64,
    /// Which clusters it applies to (empty: all).
    pub cluster_selector: LabelSelector,
    /// The controls, in profile order.
    pub controls: Vec<CompiledControl>,
}

/// A validated control.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledControl {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// The probes, in profile order.
    pub probes: Vec<CompiledProbe>,
}

/// A validated probe.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledProbe {
    /// Name.
    pub name: String,
    /// What it checks.
    pub check: ProbeCheck,
}

/// The check of a probe, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeCheck {
    /// A Cedar question.
    Cedar(CompiledCedarProbe),
    /// Objects that must (not) exist.
    Existence(CompiledExistenceProbe),
    /// A field every matching object must satisfy.
    Configuration(CompiledConfigurationProbe),
}

/// Validates `profile`; all problems are returned at once.
pub fn validate_profile(
    profile: &LatticeComplianceProfile,
) -> Result<CompiledProfile, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = profile.metadata.name.clone().unwrap_or_default();
    if !is_dns_subdomain(&name) {
        errors.push(FieldError::new(
            "metadata.name",
            format!(
                "{name:?} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')"
            ),
        ));
    }
    if profile.metadata.namespace.is_some() {
        errors.push(FieldError::new(
            "metadata.namespace",
            "LatticeComplianceProfile is cluster-scoped: remove metadata.namespace",
        ));
    }
    let spec = &profile.spec;
    for (field, value) in [
        ("name", &spec.framework.name),
        ("version", &spec.framework.version),
    ] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(
                format!("spec.framework.{field}"),
                "must not be empty",
            ));
        }
    }
    let interval_seconds = interval(spec.interval.as_deref(), &mut errors);
    if let Some(selector) = &spec.cluster_selector {
        selector.validate("spec.clusterSelector", &mut errors);
    }
    if spec.controls.is_empty() {
        errors.push(FieldError::new(
            "spec.controls",
            "list at least one control",
        ));
    }
    let mut ids = BTreeSet::new();
    let controls: Vec<Option<CompiledControl>> = spec
        .controls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = format!("spec.controls[{i}]");
            if !ids.insert(c.id.as_str()) {
                errors.push(FieldError::new(
                    format!("{path}.id"),
                    format!("duplicate control id {:?}", c.id),
                ));
            }
            control(c, &path, &mut errors)
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CompiledProfile {
        name,
        version: profile.metadata.generation.unwrap_or(0),
        framework: spec.framework.clone(),
        interval_seconds,
        cluster_selector: spec.cluster_selector.clone().unwrap_or_default(),
        controls: controls.into_iter().flatten().collect(),
    })
}

fn interval(text: Option<&str>, errors: &mut Vec<FieldError>) -> u64 {
    let Some(text) = text else {
        return DEFAULT_INTERVAL_SECONDS;
    };
    match parse_nanos(text) {
        Err(e) => {
            errors.push(FieldError::new("spec.interval", e.to_string()));
            DEFAULT_INTERVAL_SECONDS
        }
        Ok(nanos) if nanos < u128::from(MIN_INTERVAL_SECONDS) * 1_000_000_000 => {
            errors.push(FieldError::new(
                "spec.interval",
                format!(
                    "{text:?} is below the floor of {MIN_INTERVAL_SECONDS}s; changes to policies, specs and inventories trigger an evaluation anyway"
                ),
            ));
            DEFAULT_INTERVAL_SECONDS
        }
        Ok(nanos) => u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
    }
}

fn control(c: &Control, path: &str, errors: &mut Vec<FieldError>) -> Option<CompiledControl> {
    let before = errors.len();
    if c.id.trim().is_empty() {
        errors.push(FieldError::new(format!("{path}.id"), "must not be empty"));
    }
    if c.title.trim().is_empty() {
        errors.push(FieldError::new(
            format!("{path}.title"),
            "must not be empty",
        ));
    }
    if c.probes.is_empty() {
        errors.push(FieldError::new(
            format!("{path}.probes"),
            "list at least one probe",
        ));
    }
    let mut names = BTreeSet::new();
    let probes: Vec<Option<CompiledProbe>> = c
        .probes
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let path = format!("{path}.probes[{j}]");
            if !names.insert(p.name.as_str()) {
                errors.push(FieldError::new(
                    format!("{path}.name"),
                    format!("duplicate probe name {:?} in this control", p.name),
                ));
            }
            probe(p, &path, errors)
        })
        .collect();
    (errors.len() == before).then(|| CompiledControl {
        id: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity,
        probes: probes.into_iter().flatten().collect(),
    })
}

fn probe(p: &Probe, path: &str, errors: &mut Vec<FieldError>) -> Option<CompiledProbe> {
    if p.name.trim().is_empty() {
        errors.push(FieldError::new(format!("{path}.name"), "must not be empty"));
    }
    let check = match (&p.cedar, &p.existence, &p.configuration) {
        (Some(c), None, None) => {
            cedar_probe::compile(c, &format!("{path}.cedar"), errors).map(ProbeCheck::Cedar)
        }
        (None, Some(e), None) => {
            existence::compile(e, &format!("{path}.existence"), errors).map(ProbeCheck::Existence)
        }
        (None, None, Some(c)) => {
            configuration::compile(c, &format!("{path}.configuration"), errors)
                .map(ProbeCheck::Configuration)
        }
        _ => {
            errors.push(FieldError::new(
                path,
                "set exactly one probe kind: cedar, existence or configuration",
            ));
            None
        }
    }?;
    Some(CompiledProbe {
        name: p.name.clone(),
        check,
    })
}
