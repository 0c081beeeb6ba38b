//! Compliance on real processes (issue #13, deliverable 7; decision 0051): a cell, an agent and a
//! kube-apiserver with the vendored CRDs (PolicyReport included). Controls are broken by hand:
//! the clusterwide deny Lattice delivered is deleted (the agent reports it, the next evaluation
//! fails with the evidence, drift correction puts it back, the following evaluation passes, and
//! the history shows fail → pass with times), and a Deployment outside Lattice is edited to run
//! privileged (the cluster's PolicyReport says fail, naming it, until it is edited back).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::pinned_kind;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, Ctl};
use lattice_e2e::wait_until;
use serde_json::{Value, json};
use support::*;

const PROFILE: &str = r#"apiVersion: lattice.dev/v1alpha1
kind: LatticeComplianceProfile
metadata:
  name: live
spec:
  framework: { name: Live, version: "1" }
  interval: 1m
  controls:
    - id: NET-1
      title: Clusterwide default deny
      severity: critical
      probes:
        - name: deny-exists
          existence:
            objects: { kind: CiliumClusterwideNetworkPolicy, name: lattice-default-deny }
    - id: POD-1
      title: No privileged container
      severity: high
      probes:
        - name: not-privileged
          configuration:
            objects: { kind: Deployment, namespace: demo }
            path: "$.spec.template.spec.containers[*].securityContext.privileged"
            whenAbsent: pass
            equals: false
"#;

async fn report(ctl: &Ctl) -> Value {
    ctl.json(&[
        "compliance",
        "report",
        "--cluster",
        CLUSTER,
        "--since",
        "1h",
        "-o",
        "json",
    ])
    .await
    .unwrap()
}

fn control_result(report: &Value, control: &str) -> Option<String> {
    report["controls"]
        .as_array()?
        .iter()
        .find(|c| c["control"] == control)
        .and_then(|c| c["result"].as_str())
        .map(str::to_string)
}

async fn wait_control(ctl: &Ctl, control: &str, result: &str) -> Value {
    wait_until(&format!("{control} to be {result}"), SETTLE, || async {
        let r = report(ctl).await;
        Ok((control_result(&r, control).as_deref() == Some(result)).then_some(r))
    })
    .await
    .unwrap()
}

async fn api(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let (resource, _) = pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
        .await
        .unwrap();
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// The result the namespace's PolicyReport holds for `rule` on the object `name`.
async fn policy_report_result(client: &kube::Client, rule: &str, name: &str) -> Option<String> {
    let reports = api(
        client,
        "wgpolicyk8s.io",
        "v1alpha2",
        "PolicyReport",
        Some(NAMESPACE),
    )
    .await;
    let report = reports.get_opt("lattice-compliance").await.ok()??;
    report.data["results"]
        .as_array()?
        .iter()
        .find(|r| r["rule"] == rule && r["resources"][0]["name"] == name)
        .and_then(|r| r["result"].as_str())
        .map(str::to_string)
}

fn rogue(privileged: bool) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "rogue", "namespace": NAMESPACE},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "rogue"}},
            "template": {"metadata": {"labels": {"app": "rogue"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1",
                    "securityContext": {"privileged": privileged}}]}}}})
}

#[tokio::test]
async fn hand_made_breaks_fail_then_pass_with_evidence_policy_reports_and_history() {
    let cluster = workload_cluster(CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let _agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    ctl.apply(&hello_yaml()).await.unwrap();
    wait_ready(&ctl).await;
    wait_for_hello_objects(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.yaml");
    std::fs::write(&profile, PROFILE).unwrap();
    ctl.apply(&profile).await.unwrap();

    // The agent's inventory arrives: both controls pass, judged on the live cluster.
    wait_control(&ctl, "NET-1", "pass").await;
    wait_control(&ctl, "POD-1", "pass").await;

    // Break 1: delete the clusterwide deny Lattice delivered.
    let ccnps = api(
        &client,
        "cilium.io",
        "v2",
        "CiliumClusterwideNetworkPolicy",
        None,
    )
    .await;
    let before = ccnps
        .get("lattice-default-deny")
        .await
        .unwrap()
        .metadata
        .uid;
    ccnps
        .delete("lattice-default-deny", &DeleteParams::default())
        .await
        .unwrap();
    // Drift correction puts it back (a new object).
    wait_until("the deny to be recreated", SETTLE, || async {
        let now = ccnps.get_opt("lattice-default-deny").await?;
        Ok(now.filter(|o| o.metadata.uid != before).map(|_| ()))
    })
    .await
    .unwrap();
    // The evaluation after the deletion failed with the evidence; the following one passes; the
    // history shows both changes with times.
    let history = wait_until("NET-1 history fail -> pass", SETTLE, || async {
        let r = report(&ctl).await;
        let trend: Vec<(String, String, String)> = r["trend"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["control"] == "NET-1")
            .map(|c| {
                (
                    c["from"].as_str().unwrap_or_default().to_string(),
                    c["to"].as_str().unwrap_or_default().to_string(),
                    c["at"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        // A pass → fail, then a later fail → pass. (The history may also begin with a
        // fail → pass: the profile can be judged before the agent's first inventory arrives.)
        let at = |t: &(String, String, String)| {
            chrono::DateTime::parse_from_rfc3339(&t.2).unwrap_or_else(|e| panic!("{t:?}: {e}"))
        };
        let broke = trend.iter().find(|t| t.0 == "pass" && t.1 == "fail");
        let restored = broke.and_then(|f| {
            trend
                .iter()
                .find(|t| t.0 == "fail" && t.1 == "pass" && at(t) > at(f))
        });
        Ok(restored.map(|_| trend.clone()))
    })
    .await
    .unwrap();
    assert!(history.len() >= 2, "{history:?}");
    assert_eq!(
        control_result(&report(&ctl).await, "NET-1").as_deref(),
        Some("pass")
    );

    // Break 2: a Deployment outside Lattice runs privileged.
    let deployments = api(&client, "apps", "v1", "Deployment", Some(NAMESPACE)).await;
    let params = PatchParams::apply("kubectl").force();
    deployments
        .patch("rogue", &params, &Patch::Apply(&rogue(false)))
        .await
        .unwrap();
    deployments
        .patch("rogue", &params, &Patch::Apply(&rogue(true)))
        .await
        .unwrap();
    let failing = wait_control(&ctl, "POD-1", "fail").await;
    let evidence: Vec<&Value> = failing["failing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["control"] == "POD-1")
        .collect();
    assert_eq!(evidence.len(), 1, "{failing}");
    assert_eq!(evidence[0]["object"]["name"], "rogue");
    assert_eq!(evidence[0]["source"], "cluster-inventory");
    assert_eq!(evidence[0]["observed"], "true");
    wait_until(
        "the PolicyReport to say rogue fails POD-1",
        SETTLE,
        || async {
            Ok((policy_report_result(&client, "POD-1", "rogue")
                .await
                .as_deref()
                == Some("fail"))
            .then_some(()))
        },
    )
    .await
    .unwrap();

    // Edited back: the next evaluation passes and the PolicyReport says so.
    deployments
        .patch("rogue", &params, &Patch::Apply(&rogue(false)))
        .await
        .unwrap();
    wait_control(&ctl, "POD-1", "pass").await;
    wait_until(
        "the PolicyReport to say rogue passes POD-1",
        SETTLE,
        || async {
            Ok((policy_report_result(&client, "POD-1", "rogue")
                .await
                .as_deref()
                == Some("pass"))
            .then_some(()))
        },
    )
    .await
    .unwrap();
}
