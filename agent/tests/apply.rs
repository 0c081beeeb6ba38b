//! Apply, prune and Remove against a real kube-apiserver (etcd + kube-apiserver from the
//! `lattice-e2e` harness): server-side apply as field manager `lattice` with strict field
//! validation, layer by layer; idempotent re-apply; prune of dropped objects; Remove; and the
//! inventory surviving an agent restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use lattice_agent::inventory::{Inventory, config_map_name};
use lattice_e2e::TestCluster;
use lattice_protocol::v1::{ApplyResult, ObjectOutcome};
use support::k8s::*;

fn outcomes(result: &ApplyResult) -> Vec<(String, String, ObjectOutcome)> {
    result
        .objects
        .iter()
        .map(|o| (o.kind.clone(), o.name.clone(), o.outcome()))
        .collect()
}

fn layered(revision: &str) -> lattice_protocol::v1::Apply {
    apply(
        revision,
        &[
            (
                "infrastructure",
                vec![namespace("shop"), service_account("checkout")],
            ),
            (
                "workload",
                vec![
                    config_map("checkout-config", "a"),
                    deployment("checkout"),
                    service("checkout"),
                ],
            ),
            ("autoscaling", vec![autoscaler("checkout")]),
        ],
    )
}

#[tokio::test]
async fn a_layered_revision_is_server_side_applied_as_field_manager_lattice() -> anyhow::Result<()>
{
    let cluster = TestCluster::start("agent-apply").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;

    let result = applier.apply(&layered("r1")).await;
    assert!(result.success, "{result:?}");
    assert_eq!(result.error, "");
    use ObjectOutcome::Applied;
    assert_eq!(
        outcomes(&result),
        vec![
            ("Namespace".into(), "shop".into(), Applied),
            ("ServiceAccount".into(), "checkout".into(), Applied),
            ("ConfigMap".into(), "checkout-config".into(), Applied),
            ("Deployment".into(), "checkout".into(), Applied),
            ("Service".into(), "checkout".into(), Applied),
            ("HorizontalPodAutoscaler".into(), "checkout".into(), Applied),
        ]
    );
    for (api_version, kind, ns, name) in [
        ("v1", "Namespace", None, "shop"),
        ("v1", "ServiceAccount", Some("shop"), "checkout"),
        ("v1", "ConfigMap", Some("shop"), "checkout-config"),
        ("apps/v1", "Deployment", Some("shop"), "checkout"),
        ("v1", "Service", Some("shop"), "checkout"),
        (
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("shop"),
            "checkout",
        ),
    ] {
        let live = get(&client, api_version, kind, ns, name)
            .await
            .unwrap_or_else(|| panic!("{kind} {name} was not created"));
        assert!(
            managers(&live).contains(&("lattice".into(), "Apply".into())),
            "{kind} {name} is applied by field manager lattice: {:?}",
            managers(&live)
        );
    }
    let held = applier.inventory().held_revisions();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].spec_key.as_str(), held[0].revision_id.as_str()),
        (SPEC, "r1")
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_field_fails_under_strict_validation_and_later_layers_are_not_applied()
-> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-strict").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;

    let mut bad = deployment("checkout");
    bad["spec"]["replicaz"] = 3.into();
    let result = applier
        .apply(&apply(
            "r1",
            &[
                ("infrastructure", vec![namespace("shop")]),
                ("workload", vec![bad, config_map("checkout-config", "a")]),
                ("autoscaling", vec![autoscaler("checkout")]),
            ],
        ))
        .await;
    assert!(!result.success);
    assert!(result.error.contains("\"workload\""), "{}", result.error);
    let failed = &result.objects[1];
    assert_eq!(failed.kind, "Deployment");
    assert_eq!(failed.outcome(), ObjectOutcome::Failed);
    assert!(
        failed
            .message
            .contains(".spec.replicaz: field not declared in schema"),
        "the API server's strict-validation message is reported: {}",
        failed.message
    );
    use ObjectOutcome::*;
    assert_eq!(
        outcomes(&result),
        vec![
            ("Namespace".into(), "shop".into(), Applied),
            ("Deployment".into(), "checkout".into(), Failed),
            ("ConfigMap".into(), "checkout-config".into(), Applied),
            ("HorizontalPodAutoscaler".into(), "checkout".into(), Skipped),
        ]
    );
    assert!(
        get(&client, "apps/v1", "Deployment", Some("shop"), "checkout")
            .await
            .is_none()
    );
    assert!(
        get(
            &client,
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("shop"),
            "checkout"
        )
        .await
        .is_none(),
        "nothing of a later layer is applied"
    );
    assert!(
        applier.inventory().held_revisions().is_empty(),
        "a failed revision is not held"
    );
    Ok(())
}

#[tokio::test]
async fn reapplying_the_held_revision_changes_nothing() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-idempotent").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;
    assert!(applier.apply(&layered("r1")).await.success);

    let read_versions = async || {
        let mut versions = Vec::new();
        for (api_version, kind, name) in [
            ("v1", "ConfigMap", "checkout-config"),
            ("apps/v1", "Deployment", "checkout"),
            ("v1", "Service", "checkout"),
            ("autoscaling/v2", "HorizontalPodAutoscaler", "checkout"),
        ] {
            let live = get(&client, api_version, kind, Some("shop"), name)
                .await
                .unwrap();
            versions.push(live.resource_version().unwrap());
        }
        let inventory = Api::<ConfigMap>::namespaced(client.clone(), AGENT_NS)
            .get(&config_map_name(SPEC))
            .await
            .unwrap();
        versions.push(inventory.resource_version().unwrap());
        versions
    };
    let before = read_versions().await;
    let again = applier.apply(&layered("r1")).await;
    assert!(again.success, "{again:?}");
    assert!(
        again
            .objects
            .iter()
            .all(|o| o.outcome() == ObjectOutcome::Applied)
    );
    assert_eq!(
        read_versions().await,
        before,
        "no object (nor the inventory) was written"
    );
    Ok(())
}

#[tokio::test]
async fn a_new_revision_without_an_object_prunes_it_but_never_a_replacement() -> anyhow::Result<()>
{
    let cluster = TestCluster::start("agent-prune").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;
    let r1 = apply(
        "r1",
        &[
            ("infrastructure", vec![namespace("shop")]),
            (
                "workload",
                vec![
                    config_map("keep", "1"),
                    config_map("drop", "1"),
                    config_map("taken-over", "1"),
                ],
            ),
        ],
    );
    assert!(applier.apply(&r1).await.success);

    // Someone deletes `taken-over` and creates their own object under that name.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    cms.delete("taken-over", &DeleteParams::default()).await?;
    let theirs: ConfigMap = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "taken-over", "namespace": "shop"}, "data": {"owner": "helm"}}))?;
    cms.patch(
        "taken-over",
        &PatchParams::apply("helm"),
        &Patch::Apply(&theirs),
    )
    .await?;

    let r2 = apply(
        "r2",
        &[
            ("infrastructure", vec![namespace("shop")]),
            ("workload", vec![config_map("keep", "2")]),
        ],
    );
    let result = applier.apply(&r2).await;
    assert!(result.success, "{result:?}");
    use ObjectOutcome::*;
    assert_eq!(
        outcomes(&result),
        vec![
            ("Namespace".into(), "shop".into(), Applied),
            ("ConfigMap".into(), "keep".into(), Applied),
            ("ConfigMap".into(), "taken-over".into(), Skipped),
            ("ConfigMap".into(), "drop".into(), Pruned),
        ]
    );
    assert!(
        cms.get_opt("drop").await?.is_none(),
        "the dropped object is deleted"
    );
    let kept = cms.get("keep").await?;
    assert_eq!(kept.data.unwrap()["value"], "2");
    let replacement = cms.get("taken-over").await?;
    assert_eq!(
        replacement.data.unwrap()["owner"],
        "helm",
        "an object lattice no longer applies is left alone"
    );
    let record = applier.inventory().record(SPEC).unwrap();
    let names: Vec<_> = record.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["shop", "keep"]);
    assert_eq!(record.held_revision.as_deref(), Some("r2"));
    Ok(())
}

#[tokio::test]
async fn remove_deletes_everything_of_the_spec_and_forgets_it() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-remove").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;
    let mut revision = layered("r1");
    // A namespace manifest of nothing but a name leaves no field owner; it is still removed.
    revision.layers[0].manifests[0] = serde_json::to_vec(&bare_namespace("shop"))?;
    assert!(applier.apply(&revision).await.success);

    let result = applier.remove(&remove()).await;
    assert!(result.success, "{result:?}");
    assert_eq!(result.objects.len(), 6);
    assert!(
        result
            .objects
            .iter()
            .all(|o| o.outcome() == ObjectOutcome::Pruned)
    );
    assert_eq!(
        result.objects[0].kind, "HorizontalPodAutoscaler",
        "newest first"
    );
    assert_eq!(result.objects[5].kind, "Namespace", "the namespace last");
    for (api_version, kind, name) in [
        ("v1", "ServiceAccount", "checkout"),
        ("v1", "ConfigMap", "checkout-config"),
        ("apps/v1", "Deployment", "checkout"),
        ("v1", "Service", "checkout"),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "checkout"),
    ] {
        assert!(
            get(&client, api_version, kind, Some("shop"), name)
                .await
                .is_none(),
            "{kind} {name}"
        );
    }
    // Without a namespace controller the namespace stays Terminating; it must be on its way out.
    if let Some(ns) = get(&client, "v1", "Namespace", None, "shop").await {
        assert!(ns.metadata.deletion_timestamp.is_some());
    }
    assert!(applier.inventory().record(SPEC).is_none());
    let stored = Api::<ConfigMap>::namespaced(client.clone(), AGENT_NS)
        .get_opt(&config_map_name(SPEC))
        .await?;
    assert!(stored.is_none(), "the inventory record is deleted");

    let again = applier.remove(&remove()).await;
    assert!(
        again.success && again.objects.is_empty(),
        "Remove is idempotent"
    );
    Ok(())
}

#[tokio::test]
async fn the_inventory_survives_an_agent_restart() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-restart").await?;
    let client = cluster.client().await?;
    {
        let mut first = applier(&client).await;
        assert!(first.apply(&layered("r1")).await.success);
    }

    // A new agent instance: everything it knows comes from the cluster.
    let reloaded = Inventory::load(client.clone(), AGENT_NS).await?;
    let held = reloaded.held_revisions();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].spec_key.as_str(), held[0].revision_id.as_str()),
        (SPEC, "r1")
    );
    let mut second = lattice_agent::apply::Applier::new(client.clone(), reloaded);

    let r1_again = second.apply(&layered("r1")).await;
    assert!(
        r1_again.success,
        "the held revision is recognised after restart"
    );

    let r2 = apply(
        "r2",
        &[
            (
                "infrastructure",
                vec![namespace("shop"), service_account("checkout")],
            ),
            (
                "workload",
                vec![deployment("checkout"), service("checkout")],
            ),
        ],
    );
    let result = second.apply(&r2).await;
    assert!(result.success, "{result:?}");
    let pruned: Vec<_> = result
        .objects
        .iter()
        .filter(|o| o.outcome() == ObjectOutcome::Pruned)
        .map(|o| o.kind.as_str())
        .collect();
    assert_eq!(pruned, vec!["HorizontalPodAutoscaler", "ConfigMap"]);
    assert!(
        get(&client, "v1", "ConfigMap", Some("shop"), "checkout-config")
            .await
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn a_malformed_revision_or_unknown_kind_is_refused_with_the_cause() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-bad-input").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;

    let mut nameless = config_map("x", "1");
    nameless["metadata"].as_object_mut().unwrap().remove("name");
    let result = applier
        .apply(&apply(
            "r1",
            &[
                ("infrastructure", vec![namespace("shop")]),
                ("workload", vec![config_map("a", "1"), nameless]),
            ],
        ))
        .await;
    assert!(!result.success);
    assert!(result.objects.is_empty());
    assert_eq!(
        result.error,
        "revision refused, nothing applied: layer \"workload\" manifests[1]: missing field metadata.name"
    );
    assert!(
        get(&client, "v1", "Namespace", None, "shop")
            .await
            .is_none(),
        "nothing applied"
    );
    assert!(applier.inventory().record(SPEC).is_none());

    let unknown = serde_json::json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "checkout", "namespace": "shop"}, "spec": {}});
    let result = applier
        .apply(&apply(
            "r2",
            &[
                ("infrastructure", vec![namespace("shop")]),
                ("autoscaling", vec![unknown]),
            ],
        ))
        .await;
    assert!(!result.success);
    assert_eq!(result.objects[1].outcome(), ObjectOutcome::Failed);
    assert!(
        result.objects[1]
            .message
            .contains("ScaledObject is not served under keda.sh/v1alpha1"),
        "{}",
        result.objects[1].message
    );

    let mut scoped_wrong = config_map("nons", "1");
    scoped_wrong["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let result = applier
        .apply(&apply("r3", &[("workload", vec![scoped_wrong])]))
        .await;
    assert_eq!(result.objects[0].outcome(), ObjectOutcome::Failed);
    assert_eq!(
        result.objects[0].message,
        "ConfigMap is namespaced but metadata.namespace is not set"
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_target_namespace_is_created_and_outlives_the_spec() -> anyhow::Result<()> {
    let cluster = TestCluster::start("agent-target-ns").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;
    // Like derived revisions: namespaced objects, no Namespace object.
    let result = applier
        .apply(&apply(
            "r1",
            &[("workload", vec![config_map("a", "1"), service("checkout")])],
        ))
        .await;
    assert!(result.success, "{result:?}");
    let ns = get(&client, "v1", "Namespace", None, "shop")
        .await
        .expect("the target namespace was created");
    assert_eq!(
        ns.labels()
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("lattice-agent")
    );
    let record = applier.inventory().record(SPEC).unwrap();
    assert!(
        record.objects.iter().all(|o| o.kind != "Namespace"),
        "the namespace belongs to no spec"
    );

    assert!(applier.remove(&remove()).await.success);
    let ns = get(&client, "v1", "Namespace", None, "shop").await.unwrap();
    assert!(
        ns.metadata.deletion_timestamp.is_none(),
        "removing a spec never deletes a shared namespace"
    );
    Ok(())
}

#[tokio::test]
async fn each_spec_is_an_applyset_and_prune_spares_other_sets_and_foreign_objects()
-> anyhow::Result<()> {
    use lattice_agent::applyset::{
        ADDITIONAL_NAMESPACES_ANNOTATION, CONTAINS_GROUP_KINDS_ANNOTATION, ID_LABEL, PART_OF_LABEL,
        TOOLING_ANNOTATION, config_map_parent_id,
    };
    let cluster = TestCluster::start("agent-applyset").await?;
    let client = cluster.client().await?;
    let mut applier = applier(&client).await;
    let r1 = apply(
        "r1",
        &[
            ("infrastructure", vec![namespace("shop")]),
            (
                "workload",
                vec![
                    config_map("keep", "1"),
                    config_map("claimed", "1"),
                    config_map("disowned", "1"),
                    deployment("checkout"),
                ],
            ),
        ],
    );
    assert!(applier.apply(&r1).await.success);

    // The inventory ConfigMap is the ApplySet parent, with kubectl's id, tooling and group-kinds.
    let parent_name = config_map_name(SPEC);
    let set_id = config_map_parent_id(&parent_name, AGENT_NS);
    let parents: Api<ConfigMap> = Api::namespaced(client.clone(), AGENT_NS);
    let parent = parents.get(&parent_name).await?;
    assert_eq!(parent.labels()[ID_LABEL], set_id);
    let annotations = parent.annotations();
    assert_eq!(annotations[TOOLING_ANNOTATION], "lattice/v1");
    assert_eq!(
        annotations[CONTAINS_GROUP_KINDS_ANNOTATION],
        "ConfigMap,Deployment.apps,Namespace"
    );
    assert_eq!(annotations[ADDITIONAL_NAMESPACES_ANNOTATION], "shop");
    // Every member carries `part-of`, so a label selector finds the spec's objects.
    let members: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    let listed = members
        .list(&kube::api::ListParams::default().labels(&format!("{PART_OF_LABEL}={set_id}")))
        .await?;
    let mut names: Vec<_> = listed.items.iter().map(|c| c.name_any()).collect();
    names.sort();
    assert_eq!(names, vec!["claimed", "disowned", "keep"]);
    let deployment = get(&client, "apps/v1", "Deployment", Some("shop"), "checkout")
        .await
        .expect("deployment applied");
    assert_eq!(deployment.labels()[PART_OF_LABEL], set_id);

    // Another tool claims `claimed` for its own set; someone strips our labels off `disowned`.
    // Field manager lattice still applies both (their data), but neither is the spec's to delete.
    members
        .patch(
            "claimed",
            &PatchParams::default(),
            &Patch::Merge(
                serde_json::json!({"metadata": {"labels": {PART_OF_LABEL: "applyset-other-v1"}}}),
            ),
        )
        .await?;
    members
        .patch(
            "disowned",
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(serde_json::json!([
                {"op": "remove", "path": "/metadata/labels"}
            ]))?),
        )
        .await?;

    let r2 = apply(
        "r2",
        &[
            ("infrastructure", vec![namespace("shop")]),
            ("workload", vec![config_map("keep", "2")]),
        ],
    );
    let result = applier.apply(&r2).await;
    assert!(result.success, "{result:?}");
    let message = |name: &str| {
        result
            .objects
            .iter()
            .find(|o| o.name == name && o.kind != "Namespace")
            .map(|o| (o.outcome(), o.message.clone()))
            .unwrap()
    };
    assert_eq!(
        message("claimed"),
        (
            ObjectOutcome::Skipped,
            "left in place: it is part of another ApplySet (applyset-other-v1)".into()
        )
    );
    assert_eq!(
        message("disowned"),
        (
            ObjectOutcome::Skipped,
            "left in place: lattice did not create it (no applyset part-of or managed-by label)"
                .into()
        )
    );
    assert_eq!(message("checkout").0, ObjectOutcome::Pruned);
    assert!(members.get_opt("claimed").await?.is_some());
    assert!(members.get_opt("disowned").await?.is_some());
    assert!(
        get(&client, "apps/v1", "Deployment", Some("shop"), "checkout")
            .await
            .is_none(),
        "the dropped member of this set is pruned"
    );
    // The parent now names only what the set may still hold.
    let parent = parents.get(&parent_name).await?;
    assert_eq!(
        parent.annotations()[CONTAINS_GROUP_KINDS_ANNOTATION],
        "ConfigMap,Namespace"
    );
    Ok(())
}

/// Drift correction on the applier (as the executor runs it between commands): the manifests of
/// a held revision are stored and reloaded; an edited field the manifest sets is restored (and
/// reported), a field another manager added is left alone, a deleted object is recreated; an
/// object pruned by a newer revision or deleted by Remove is never brought back.
#[tokio::test]
async fn drift_of_a_held_revision_is_corrected_but_pruned_and_removed_objects_stay_gone()
-> anyhow::Result<()> {
    use lattice_agent::drift::{Drift, DriftQueue, DriftReports};
    use lattice_agent::object_ref::ObjectRef;
    use lattice_agent::revisions::{Revisions, secret_name};
    use lattice_agent::telemetry::AgentMetrics;

    let cluster = TestCluster::start("agent-drift").await?;
    let client = cluster.client().await?;
    let base = applier(&client).await;
    let revisions = Revisions::load(client.clone(), AGENT_NS, base.inventory()).await?;
    let mut applier = base.with_revisions(revisions.clone());
    let drift = Drift {
        desired: revisions.desired().clone(),
        queue: DriftQueue::default(),
        reports: DriftReports::default(),
    };
    let metrics = AgentMetrics::new();
    let two = |revision: &str, with_b: bool| {
        let mut objects = vec![config_map("a", "1")];
        if with_b {
            objects.push(config_map("b", "1"));
        }
        apply(
            revision,
            &[
                ("infrastructure", vec![namespace("shop")]),
                ("workload", objects),
            ],
        )
    };
    assert!(applier.apply(&two("r1", true)).await.success);
    let cm = |name: &str| ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("shop".into()),
        name: name.into(),
    };
    let secrets = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), AGENT_NS);
    assert!(secrets.get_opt(&secret_name(SPEC)).await?.is_some());
    // What a restarted agent loads.
    let reloaded = Inventory::load(client.clone(), AGENT_NS).await?;
    let loaded = Revisions::load(client.clone(), AGENT_NS, &reloaded).await?;
    let a = loaded
        .desired()
        .get(&cm("a"))
        .expect("stored manifest of a");
    assert_eq!((a.spec_key.as_str(), a.revision_id.as_str()), (SPEC, "r1"));

    // Edited (a field the manifest sets) and extended by another manager.
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), "shop");
    let edit = serde_json::json!({"data": {"value": "edited", "extra": "theirs"}});
    configmaps
        .patch("a", &PatchParams::default(), &Patch::Merge(&edit))
        .await?;
    drift.check(&mut applier, &metrics, &cm("a")).await;
    let data = configmaps.get("a").await?.data.unwrap();
    assert_eq!(data["value"], "1", "restored");
    assert_eq!(
        data["extra"], "theirs",
        "another manager's field is left alone"
    );
    let event = drift.reports.take().expect("a reported correction");
    assert_eq!(
        (event.kind.as_str(), event.name.as_str(), event.deleted),
        ("ConfigMap", "a", false)
    );
    assert_eq!(event.fields, vec!["data.value"]);
    assert_eq!(event.revision_id, "r1");
    // Checking again finds nothing to do.
    drift.check(&mut applier, &metrics, &cm("a")).await;
    assert!(drift.reports.take().is_none());

    // Deleted: recreated.
    configmaps.delete("b", &DeleteParams::default()).await?;
    drift.check(&mut applier, &metrics, &cm("b")).await;
    assert!(configmaps.get_opt("b").await?.is_some());
    let event = drift.reports.take().unwrap();
    assert!(event.deleted && event.fields.is_empty(), "{event:?}");

    // Pruned by r2: a check queued for it before (or after) does not bring it back.
    assert!(applier.apply(&two("r2", false)).await.success);
    assert!(configmaps.get_opt("b").await?.is_none());
    drift.check(&mut applier, &metrics, &cm("b")).await;
    assert!(
        configmaps.get_opt("b").await?.is_none(),
        "pruned stays pruned"
    );
    let a = drift.desired.get(&cm("a")).unwrap();
    assert_eq!(a.revision_id, "r2");

    // Removed: the manifests are forgotten (in memory and stored) and nothing comes back.
    assert!(applier.remove(&remove()).await.success);
    drift.check(&mut applier, &metrics, &cm("a")).await;
    assert!(configmaps.get_opt("a").await?.is_none());
    assert!(drift.desired.objects().is_empty());
    assert!(secrets.get_opt(&secret_name(SPEC)).await?.is_none());
    assert!(drift.reports.take().is_none());
    let text = metrics.encode()?;
    assert!(
        text.contains("lattice_agent_drift_corrections_total{kind=\"ConfigMap\"} 2"),
        "{text}"
    );
    Ok(())
}
