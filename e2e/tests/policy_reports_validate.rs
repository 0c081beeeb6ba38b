//! The PolicyReports Lattice renders from compliance results are accepted by a real API server
//! with the vendored upstream `wgpolicyk8s.io` CRDs, applied as the agent will apply them:
//! server-side apply, field manager `lattice`, `fieldValidation=Strict`. The results are those of
//! the built-in baseline profile on the objects derived from every example service without the
//! mesh baseline, so they mix pass, fail and skip, in several namespaces and cluster-wide. A
//! report the CRD does not allow is rejected, so acceptance means something.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::pinned_kind;
use kube::{Api, Client};
use lattice_derive::authz::PolicySetVersion;
use lattice_derive::compliance::{
    ClusterInventory, LatticeComplianceProfile, evaluate_profile, render_policy_reports,
    validate_profile,
};
use lattice_derive::{DeriveContext, LatticeService, derive_service};
use lattice_e2e::bins::workspace_root;
use lattice_e2e::{TestCluster, install_crds, vendored_project_crd_files};
use serde_json::{Value, json};

/// The objects derived from every example `LatticeService`.
fn example_objects() -> anyhow::Result<Vec<Value>> {
    let mut specs: Vec<LatticeService> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(workspace_root().join("examples"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let doc: Value = serde_saphyr::from_str(&text)?;
        if doc["kind"] == "LatticeService" {
            specs.push(serde_saphyr::from_str(&text)?);
        }
    }
    let ctx = DeriveContext::default().with_peers(&specs);
    let mut objects = Vec::new();
    for spec in &specs {
        let derived = derive_service(spec, &ctx)?;
        objects.extend(derived.objects.into_iter().map(|o| o.object));
    }
    Ok(objects)
}

fn reports() -> anyhow::Result<Vec<Value>> {
    let path = workspace_root().join("examples/compliance/baseline.yaml");
    let profile: LatticeComplianceProfile =
        serde_saphyr::from_str(&std::fs::read_to_string(path)?)?;
    let profile = validate_profile(&profile).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let cluster = ClusterInventory::new("prod-eu-1", BTreeMap::new(), example_objects()?);
    let results = evaluate_profile(&profile, &cluster, &PolicySetVersion::empty());
    let rendered = render_policy_reports(&results, 1_796_601_600);
    let mut reports = rendered.namespaced;
    reports.extend(rendered.cluster);
    Ok(reports)
}

async fn api_for(client: &Client, report: &Value) -> anyhow::Result<Api<DynamicObject>> {
    let kind = report["kind"].as_str().unwrap_or_default();
    let gvk = GroupVersionKind::gvk("wgpolicyk8s.io", "v1alpha2", kind);
    let (resource, _) = pinned_kind(client, &gvk).await?;
    Ok(match report["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    })
}

async fn apply(client: &Client, report: &Value) -> anyhow::Result<DynamicObject> {
    let name = report["metadata"]["name"].as_str().unwrap_or_default();
    let params = PatchParams::apply("lattice").validation_strict();
    Ok(api_for(client, report)
        .await?
        .patch(name, &params, &Patch::Apply(report))
        .await?)
}

#[tokio::test]
async fn rendered_policy_reports_are_accepted_by_the_real_crds_under_strict_validation()
-> anyhow::Result<()> {
    let reports = reports()?;
    let kinds: BTreeSet<&str> = reports.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["ClusterPolicyReport", "PolicyReport"])
    );
    let outcomes: BTreeSet<&str> = reports
        .iter()
        .flat_map(|r| r["results"].as_array().into_iter().flatten())
        .filter_map(|r| r["result"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["fail", "pass", "skip"]),
        "a mix of outcomes"
    );

    let cluster = TestCluster::start("policy-reports").await?;
    install_crds(&cluster, &vendored_project_crd_files(&["policy-report"])).await?;
    let client = cluster.client().await?;
    let namespaces: BTreeSet<&str> = reports
        .iter()
        .filter_map(|r| r["metadata"]["namespace"].as_str())
        .collect();
    for ns in namespaces {
        let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": ns } }))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await?;
    }

    let mut rejections = Vec::new();
    for report in &reports {
        let id = format!(
            "{} {}/{}",
            report["kind"],
            report["metadata"]["namespace"].as_str().unwrap_or_default(),
            report["metadata"]["name"]
        );
        match apply(&client, report).await {
            Ok(stored) => {
                // Nothing pruned: the stored report holds every result and the summary as sent.
                assert_eq!(stored.data["results"], report["results"], "{id}");
                assert_eq!(stored.data["summary"], report["summary"], "{id}");
            }
            Err(e) => rejections.push(format!("{id}: {e}")),
        }
    }
    assert!(rejections.is_empty(), "{}", rejections.join("\n"));

    // The CRD does validate: a result outside its enum and an unknown field are refused.
    let mut bad = reports[0].clone();
    bad["results"][0]["result"] = json!("failed");
    assert!(
        apply(&client, &bad).await.is_err(),
        "result: failed was accepted"
    );
    let mut unknown = reports[0].clone();
    unknown["results"][0]["evidence"] = json!("x");
    let err = apply(&client, &unknown).await.err();
    assert!(
        err.as_ref()
            .is_some_and(|e| e.to_string().contains("evidence")),
        "an unknown field was accepted under strict validation: {err:?}"
    );
    Ok(())
}
