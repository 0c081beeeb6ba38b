//! The agent's compliance parts against a real kube-apiserver (decision 0051): the inventory
//! watch manager reports a snapshot of the kinds it is asked about, then debounced changes, and
//! never a Secret value; the PolicyReport writer server-side applies the results as
//! `wgpolicyk8s.io/v1alpha2` reports under strict validation against the vendored upstream CRDs,
//! and deletes the report of a namespace that no longer has results.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use lattice_agent::compliance::policy_reports::{report_resource, write};
use lattice_agent::compliance::watch::spawn;
use lattice_agent::compliance::{ComplianceLink, WatchRequest};
use lattice_e2e::{TestCluster, install_crds, vendored_project_crd_files};
use lattice_protocol::v1::{ComplianceResults, InventoryReport, InventoryWatch, WatchedKind};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A secret value that must never leave the cluster.
const SECRET: &str = "c3VwZXItc2VjcmV0LXZhbHVl";

async fn create(client: &Client, api_version: &str, kind: &str, body: Value) {
    let gvk = kube::api::GroupVersionKind::gvk(
        api_version.rsplit_once('/').map_or("", |(g, _)| g),
        api_version.rsplit('/').next().unwrap(),
        kind,
    );
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await.unwrap();
    let api: Api<DynamicObject> = match body["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    };
    let object: DynamicObject = serde_json::from_value(body).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

async fn namespace(client: &Client, name: &str) {
    create(
        client,
        "v1",
        "Namespace",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .await;
}

/// The next report the manager queues.
async fn next_report(link: &ComplianceLink) -> InventoryReport {
    loop {
        if let Some(report) = link.reports.take() {
            return report;
        }
        tokio::select! {
            () = link.reports.pushed() => {}
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

fn names(report: &InventoryReport) -> Vec<String> {
    report
        .objects
        .iter()
        .map(|o| {
            let r = o.r#ref.as_ref().unwrap();
            format!("{} {}/{}", r.kind, r.namespace, r.name)
        })
        .collect()
}

#[tokio::test]
async fn the_inventory_is_a_snapshot_then_changes_and_holds_no_secret_value() -> anyhow::Result<()>
{
    let cluster = TestCluster::start("compliance-inventory").await?;
    install_crds(&cluster, &vendored_project_crd_files(&["cilium"])).await?;
    let client = cluster.client().await?;
    namespace(&client, "shop").await;
    namespace(&client, "bank").await;
    create(
        &client,
        "v1",
        "Secret",
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "tls", "namespace": "shop", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": format!("{{\"data\":{{\"k\":\"{SECRET}\"}}}}")}},
            "data": {"tls.key": SECRET}}),
    )
    .await;
    create(
        &client,
        "v1",
        "Secret",
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "other", "namespace": "bank"}, "data": {"k": SECRET}}),
    )
    .await;
    create(
        &client,
        "cilium.io/v2",
        "CiliumClusterwideNetworkPolicy",
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
            "metadata": {"name": "lattice-default-deny"},
            "spec": {"endpointSelector": {}, "ingress": [{}], "egress": [{}],
                "enableDefaultDeny": {"ingress": true, "egress": true}}}),
    )
    .await;

    let link = ComplianceLink::default();
    let cancel = CancellationToken::new();
    let task = spawn(client.clone(), link.clone(), cancel.clone());
    let kind = |api_version: &str, kind: &str, namespace: &str| WatchedKind {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        label_selector: String::new(),
    };
    link.watch.send_replace(Some(WatchRequest {
        id: "w1".into(),
        watch: InventoryWatch {
            kinds: vec![
                kind("v1", "Secret", "shop"),
                kind("cilium.io/v2", "CiliumClusterwideNetworkPolicy", ""),
                // Not served on this cluster: counts as empty, does not hold the snapshot back.
                kind("security.istio.io/v1", "PeerAuthentication", "istio-system"),
            ],
        },
    }));
    let snapshot = next_report(&link).await;
    assert!(snapshot.snapshot);
    assert_eq!(snapshot.watch_id, "w1");
    assert_eq!(
        names(&snapshot),
        [
            "CiliumClusterwideNetworkPolicy /lattice-default-deny",
            "Secret shop/tls"
        ],
        "only the namespace asked for"
    );
    for o in &snapshot.objects {
        let text = String::from_utf8(o.object.clone())?;
        assert!(
            !text.contains(SECRET),
            "a secret value was reported: {text}"
        );
        assert!(!text.contains("managedFields"), "{text}");
    }
    let secret: Value = serde_json::from_slice(&snapshot.objects[1].object)?;
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["type"], "Opaque");

    // Deleting the deny by hand is reported as a change.
    let (resource, _) = kube::discovery::pinned_kind(
        &client,
        &kube::api::GroupVersionKind::gvk("cilium.io", "v2", "CiliumClusterwideNetworkPolicy"),
    )
    .await?;
    Api::<DynamicObject>::all_with(client.clone(), &resource)
        .delete("lattice-default-deny", &Default::default())
        .await?;
    let changes = next_report(&link).await;
    assert!(!changes.snapshot);
    assert!(changes.objects.is_empty(), "{changes:?}");
    assert_eq!(changes.removed.len(), 1);
    assert_eq!(changes.removed[0].name, "lattice-default-deny");

    // A new watch list owes a new snapshot, of its kinds only.
    link.watch.send_replace(Some(WatchRequest {
        id: "w2".into(),
        watch: InventoryWatch {
            kinds: vec![kind("v1", "Secret", "")],
        },
    }));
    let snapshot = next_report(&link).await;
    assert_eq!(snapshot.watch_id, "w2");
    assert_eq!(names(&snapshot), ["Secret bank/other", "Secret shop/tls"]);
    cancel.cancel();
    task.await?;
    Ok(())
}

fn result(control: &str, namespace: Option<&str>, name: &str, outcome: &str) -> Vec<u8> {
    let mut object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name});
    match namespace {
        Some(ns) => object["namespace"] = json!(ns),
        None => {
            object = json!({"apiVersion": "cilium.io/v2",
                "kind": "CiliumClusterwideNetworkPolicy", "name": name})
        }
    }
    serde_json::to_vec(&json!({"profile": "lattice-baseline", "profileVersion": 1,
        "control": control, "severity": "high", "probe": "p", "cluster": "edge-1",
        "object": object, "observed": "absent", "expected": "present",
        "result": outcome, "message": format!("{name} {outcome}")}))
    .unwrap()
}

#[tokio::test]
async fn results_become_policy_reports_accepted_by_the_real_crds_and_stale_ones_go()
-> anyhow::Result<()> {
    let cluster = TestCluster::start("compliance-reports").await?;
    install_crds(&cluster, &vendored_project_crd_files(&["policy-report"])).await?;
    let client = cluster.client().await?;
    namespace(&client, "shop").await;
    namespace(&client, "bank").await;

    let first = ComplianceResults {
        evaluated_at_unix: 1_796_601_600,
        results: vec![
            result("LB-POD-1", Some("shop"), "web", "fail"),
            result("LB-IMG-1", Some("shop"), "web", "pass"),
            result("LB-POD-1", Some("bank"), "ledger", "pass"),
            result("LB-NET-1", None, "lattice-default-deny", "fail"),
        ],
    };
    let written = write(&client, &first).await?;
    assert_eq!(written.namespaces, ["bank", "shop"]);
    assert!(written.cluster);

    let reports: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "shop", &report_resource(false));
    let shop = reports.get("lattice-compliance").await?;
    assert_eq!(
        shop.data["summary"],
        json!({"pass": 1, "fail": 1, "warn": 0, "error": 0, "skip": 0})
    );
    let web = shop.data["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "LB-POD-1")
        .unwrap();
    assert_eq!(web["result"], "fail");
    assert_eq!(web["source"], "lattice");
    assert_eq!(web["resources"][0]["name"], "web");
    let clusterwide: Api<DynamicObject> = Api::all_with(client.clone(), &report_resource(true));
    let cpr = clusterwide.get("lattice-compliance").await?;
    assert_eq!(cpr.data["summary"]["fail"], 1);

    // The next results: bank has none left, nothing is cluster-wide, shop passes.
    let second = ComplianceResults {
        evaluated_at_unix: 1_796_601_660,
        results: vec![result("LB-POD-1", Some("shop"), "web", "pass")],
    };
    let written = write(&client, &second).await?;
    assert_eq!(written.namespaces, ["shop"]);
    assert_eq!(
        written.deleted, 2,
        "bank's report and the ClusterPolicyReport"
    );
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &report_resource(false));
    let left = all.list(&ListParams::default()).await?;
    assert_eq!(left.items.len(), 1);
    assert_eq!(left.items[0].metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(left.items[0].data["summary"]["pass"], 1);
    assert_eq!(left.items[0].data["summary"]["fail"], 0);
    assert!(clusterwide.get_opt("lattice-compliance").await?.is_none());

    // The CRD does validate: the same apply with a result outside its enum is refused.
    let mut bad = left.items[0].clone();
    bad.metadata.managed_fields = None;
    bad.metadata.resource_version = None;
    bad.data["results"][0]["result"] = json!("failed");
    let refused = reports
        .patch(
            "lattice-compliance",
            &PatchParams::apply("lattice-compliance")
                .force()
                .validation_strict(),
            &Patch::Apply(&bad),
        )
        .await;
    assert!(refused.is_err(), "result: failed was accepted");
    Ok(())
}
