//! Renders one cluster's results as `wgpolicyk8s.io/v1alpha2` reports, the format Kyverno and
//! Policy Reporter read: a `PolicyReport` per namespace for results on namespaced objects, one
//! `ClusterPolicyReport` for cluster-scoped objects and cluster-wide probes. One report result
//! per profile, control and object: the worst outcome of the control's probes on that object
//! (fail, then error, pass, skip), with the deciding probe's evidence as properties.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::inventory::ObjectRef;
use super::result::{ComplianceResult, Outcome};

/// `apiVersion` of the reports.
pub const POLICY_REPORT_API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// Name of every report Lattice writes (one per namespace, one cluster-wide).
pub const REPORT_NAME: &str = "lattice-compliance";
/// `source` of every result.
pub const REPORT_SOURCE: &str = "lattice";

/// The reports of one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyReports {
    /// One `PolicyReport` per namespace with results, by namespace.
    pub namespaced: Vec<Value>,
    /// The `ClusterPolicyReport`, when there are cluster-scoped results.
    pub cluster: Option<Value>,
}

type Key<'a> = (&'a str, &'a str, Option<&'a ObjectRef>);

/// Renders `results` (one cluster's, any profiles) evaluated at `evaluated_at` (Unix seconds,
/// given by the caller: this crate reads no clock).
pub fn render_policy_reports(results: &[ComplianceResult], evaluated_at: i64) -> PolicyReports {
    // The deciding result per (profile, control, object): the first of the worst outcome.
    let mut deciding: BTreeMap<Key<'_>, &ComplianceResult> = BTreeMap::new();
    for r in results {
        let key = (r.profile.as_str(), r.control.as_str(), r.object.as_ref());
        deciding
            .entry(key)
            .and_modify(|d| {
                if r.result > d.result {
                    *d = r;
                }
            })
            .or_insert(r);
    }
    let mut by_namespace: BTreeMap<Option<&str>, Vec<&ComplianceResult>> = BTreeMap::new();
    for r in deciding.values() {
        let namespace = r.object.as_ref().and_then(|o| o.namespace.as_deref());
        by_namespace.entry(namespace).or_default().push(r);
    }
    let mut namespaced = Vec::new();
    let mut cluster = None;
    for (namespace, rs) in by_namespace {
        let report = report(namespace, &rs, evaluated_at);
        match namespace {
            Some(_) => namespaced.push(report),
            None => cluster = Some(report),
        }
    }
    PolicyReports {
        namespaced,
        cluster,
    }
}

fn report(namespace: Option<&str>, results: &[&ComplianceResult], evaluated_at: i64) -> Value {
    let mut metadata = json!({
        "name": REPORT_NAME,
        "labels": { "app.kubernetes.io/managed-by": "lattice" },
    });
    let kind = match namespace {
        Some(ns) => {
            metadata["namespace"] = json!(ns);
            "PolicyReport"
        }
        None => "ClusterPolicyReport",
    };
    let count = |o: Outcome| results.iter().filter(|r| r.result == o).count();
    json!({
        "apiVersion": POLICY_REPORT_API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "summary": {
            "pass": count(Outcome::Pass),
            "fail": count(Outcome::Fail),
            "warn": 0,
            "error": count(Outcome::Error),
            "skip": count(Outcome::Skip),
        },
        "results": results.iter().map(|r| result(r, evaluated_at)).collect::<Vec<_>>(),
    })
}

fn result(r: &ComplianceResult, evaluated_at: i64) -> Value {
    let mut properties = json!({
        "cluster": r.cluster,
        "probe": r.probe,
        "expected": r.expected,
        "profileVersion": r.profile_version.to_string(),
    });
    if let Some(observed) = &r.observed {
        properties["observed"] = json!(observed);
    }
    let mut out = json!({
        "source": REPORT_SOURCE,
        "policy": r.profile,
        "rule": r.control,
        "category": "compliance",
        "severity": r.severity.as_str(),
        "result": r.result.as_str(),
        "scored": true,
        "message": r.message,
        "timestamp": { "seconds": evaluated_at, "nanos": 0 },
        "properties": properties,
    });
    if let Some(o) = &r.object {
        let mut reference = json!({ "apiVersion": o.api_version, "kind": o.kind, "name": o.name });
        if let Some(ns) = &o.namespace {
            reference["namespace"] = json!(ns);
        }
        out["resources"] = json!([reference]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::spec::Severity;

    fn r(
        control: &str,
        probe: &str,
        object: Option<(&str, &str)>,
        result: Outcome,
    ) -> ComplianceResult {
        ComplianceResult {
            profile: "baseline".into(),
            profile_version: 3,
            control: control.into(),
            severity: Severity::High,
            probe: probe.into(),
            cluster: "edge".into(),
            object: object.map(|(ns, name)| ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: (!ns.is_empty()).then(|| ns.to_string()),
                name: name.into(),
            }),
            observed: Some("x".into()),
            expected: "y".into(),
            result,
            message: format!("{probe} {result}"),
        }
    }

    #[test]
    fn one_result_per_control_and_object_with_the_worst_outcome() {
        let reports = render_policy_reports(
            &[
                r("C1", "a", Some(("shop", "web")), Outcome::Pass),
                r("C1", "b", Some(("shop", "web")), Outcome::Fail),
                r("C1", "a", Some(("shop", "api")), Outcome::Pass),
                r("C2", "a", Some(("bank", "ledger")), Outcome::Error),
                r("C3", "a", None, Outcome::Pass),
            ],
            1_700_000_000,
        );
        assert_eq!(reports.namespaced.len(), 2);
        let bank = &reports.namespaced[0];
        assert_eq!(bank["metadata"]["namespace"], "bank");
        assert_eq!(bank["summary"]["error"], 1);
        let shop = &reports.namespaced[1];
        assert_eq!(
            shop["summary"],
            json!({"pass": 1, "fail": 1, "warn": 0, "error": 0, "skip": 0})
        );
        let web = shop["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["resources"][0]["name"] == "web")
            .unwrap();
        assert_eq!(web["result"], "fail");
        assert_eq!(web["properties"]["probe"], "b");
        assert_eq!(web["source"], "lattice");
        let cluster = reports.cluster.unwrap();
        assert_eq!(cluster["kind"], "ClusterPolicyReport");
        assert_eq!(cluster["results"][0]["timestamp"]["seconds"], 1_700_000_000);
        assert!(cluster["results"][0].get("resources").is_none());
    }
}
