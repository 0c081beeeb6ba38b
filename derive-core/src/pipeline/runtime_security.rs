//! Runtime security: the per-service Tetragon `TracingPolicyNamespaced` binary allowlist
//! (research §14.2). It kprobes `security_bprm_check` and SIGKILLs any exec of a binary not on
//! the list. The list is the union of the containers' absolute command binaries, their exec
//! probes' binaries and `runtime.allowedBinaries`. When an entrypoint is unknown (a container
//! without an absolute `command` and no declared binaries) or `*` is declared, no policy is
//! emitted and the spec must pass Cedar `OverrideSecurity` on `allowedBinary:*`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::ServiceRef;
use super::objects::{custom, owner_labels_json};
use crate::derived::{ApplyLayer, DerivedObject};
use crate::labels;
use crate::naming;
use crate::spec::{ContainerSpec, LatticeService};

/// What the spec allows the pods to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BinaryPolicy {
    /// Only these binaries; `declared` are those only `runtime.allowedBinaries` names (each a
    /// widening beyond what the spec itself runs, asked of Cedar as `allowedBinary:<path>`).
    Allowlist {
        binaries: BTreeSet<String>,
        declared: BTreeSet<String>,
    },
    /// Anything (asked of Cedar as `allowedBinary:*`); `field` says why.
    Unrestricted { field: String },
}

/// Works out the binary policy of `svc`.
pub(crate) fn binary_policy(svc: &LatticeService) -> BinaryPolicy {
    let allowed = svc
        .spec
        .runtime
        .as_ref()
        .map(|r| r.allowed_binaries.as_slice())
        .unwrap_or_default();
    if allowed.iter().any(|b| b == "*") {
        return BinaryPolicy::Unrestricted {
            field: "spec.runtime.allowedBinaries".to_string(),
        };
    }
    let mut detected = BTreeSet::new();
    let mut unknown = None;
    for (name, container) in &svc.spec.workload.containers {
        let path = format!("spec.workload.containers.{name}");
        for (field, binary) in entry_binaries(&path, container) {
            match binary {
                Some(b) if b.starts_with('/') => {
                    detected.insert(b.to_string());
                }
                _ => {
                    unknown.get_or_insert(field);
                }
            }
        }
    }
    match unknown {
        Some(field) if allowed.is_empty() => BinaryPolicy::Unrestricted { field },
        _ => {
            let declared: BTreeSet<String> = allowed
                .iter()
                .filter(|b| !detected.contains(*b))
                .cloned()
                .collect();
            let binaries = detected.union(&declared).cloned().collect();
            BinaryPolicy::Allowlist { binaries, declared }
        }
    }
}

/// The binaries a container execs by itself: its command (or the image entrypoint, unknown,
/// when there is none) and its exec probes, each with the field that names it.
fn entry_binaries<'a>(path: &str, c: &'a ContainerSpec) -> Vec<(String, Option<&'a str>)> {
    let mut out = vec![(
        format!("{path}.command"),
        c.command
            .as_ref()
            .and_then(|cmd| cmd.first())
            .map(String::as_str),
    )];
    for (probe_name, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        if let Some(exec) = probe.as_ref().and_then(|p| p.exec.as_ref()) {
            out.push((
                format!("{path}.{probe_name}.exec.command"),
                exec.command.first().map(String::as_str),
            ));
        }
    }
    out
}

/// The Tetragon policy, when the spec has an allowlist.
pub(crate) fn tracing_policy(service: &ServiceRef, policy: &BinaryPolicy) -> Option<DerivedObject> {
    let BinaryPolicy::Allowlist { binaries, .. } = policy else {
        return None;
    };
    let values: Vec<Value> = binaries.iter().map(|b| json!(b)).collect();
    Some(custom(
        ApplyLayer::Infrastructure,
        json!({
            "apiVersion": "cilium.io/v1alpha1",
            "kind": "TracingPolicyNamespaced",
            "metadata": {
                "name": naming::tracing_policy(&service.name),
                "namespace": service.namespace,
                "labels": owner_labels_json(service),
            },
            "spec": {
                "podSelector": { "matchLabels": labels::selector_labels(&service.name) },
                "kprobes": [{
                    "call": "security_bprm_check",
                    "syscall": false,
                    "args": [{ "index": 0, "type": "linux_binprm" }],
                    "selectors": [{
                        "matchArgs": [{ "index": 0, "operator": "NotEqual", "values": values }],
                        "matchActions": [{ "action": "Sigkill" }],
                    }],
                }],
            },
        }),
    ))
}
