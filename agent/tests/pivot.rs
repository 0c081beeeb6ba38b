//! The agent's pivot executor between two real API servers with the vendored Cluster API CRDs:
//! a provisioned Docker-provider cluster (the objects `derive_cluster` gives for the `edge-3`
//! fixture, applied by the source agent, plus what CAPI's controllers create) is paused,
//! discovered, created batch by batch on the target, unpaused there and deleted from the source,
//! each step sent twice as a resent command would be — driven by a small stand-in for the cell
//! (`pivot_support/driver.rs`). Also: a foreign object under a moved name on the target, a
//! source object replaced by another UID, the released spec never drift-corrected back, the
//! cell's later apply on the target taking the objects over, and malformed commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "pivot_support/driver.rs"]
mod driver;
#[path = "pivot_support/fixture.rs"]
mod fixture;
mod support;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use lattice_agent::apply::Applier;
use lattice_agent::drift::{Drift, DriftQueue, DriftReports};
use lattice_agent::inventory::{Inventory, config_map_name};
use lattice_agent::object_ref::ObjectRef;
use lattice_agent::own_objects::ensure_namespace;
use lattice_agent::revisions::{Revisions, secret_name};
use lattice_agent::telemetry::AgentMetrics;
use lattice_derive::pivot::{ObjectKey, SOURCE_UID_ANNOTATION, UidMap, restores_status};
use lattice_e2e::{TestCluster, install_crds, vendored_project_crd_files};
use lattice_protocol::v1::pivot_command::Step;
use lattice_protocol::v1::pivot_step_result::Detail;
use lattice_protocol::v1::{PivotCreateBatch, PivotDeleteBatch, PivotObject, PivotObjectRef};
use serde_json::{Value, json};

use driver::*;
use fixture::{CAPI, CLUSTER, INFRA, WORKER_MACHINES};
use lattice_e2e::capi_fixture::{
    MOVED_OBJECTS, NAMESPACE, SPEC_KEY, UNRELATED_CONFIG_MAP, UNRELATED_SECRET,
};
use support::k8s::AGENT_NS;

/// An agent's applier on `client`'s cluster with stored revisions and drift correction, as the
/// agent runs it.
async fn agent(client: &Client) -> (Applier, Revisions, Drift) {
    ensure_namespace(client, AGENT_NS).await.unwrap();
    let inventory = Inventory::load(client.clone(), AGENT_NS).await.unwrap();
    let revisions = Revisions::load(client.clone(), AGENT_NS, &inventory)
        .await
        .unwrap();
    let drift = Drift {
        desired: revisions.desired().clone(),
        queue: DriftQueue::default(),
        reports: DriftReports::default(),
    };
    let applier = Applier::new(client.clone(), inventory).with_revisions(revisions.clone());
    (applier, revisions, drift)
}

async fn create_namespace(client: &Client) {
    let api: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace =
        serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap();
    api.create(&PostParams::default(), &namespace)
        .await
        .unwrap();
}

fn uid(object: &Value) -> String {
    object["metadata"]["uid"].as_str().unwrap().to_string()
}

fn object_ref(api_version: &str, kind: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: Some(NAMESPACE.into()),
        name: name.into(),
    }
}

/// The copies on the target, by the source UID they carry; each source UID at most once.
fn by_source_uid(listed: &[Value]) -> BTreeMap<String, Value> {
    let mut moved = BTreeMap::new();
    for object in listed {
        if let Some(source_uid) = object["metadata"]["annotations"][SOURCE_UID_ANNOTATION].as_str()
        {
            let twice = moved.insert(source_uid.to_string(), object.clone());
            assert!(twice.is_none(), "two copies of source object {source_uid}");
        }
    }
    moved
}

fn without_paused(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(fields) = spec.as_object_mut() {
        fields.remove("paused");
    }
    spec
}

#[tokio::test]
async fn a_provisioned_docker_cluster_moves_to_its_target_exactly_once() -> anyhow::Result<()> {
    let (source_cluster, target_cluster) = tokio::try_join!(
        TestCluster::start("pivot-source"),
        TestCluster::start("pivot-target")
    )?;
    let capi = vendored_project_crd_files(&["cluster-api"]);
    tokio::try_join!(
        install_crds(&source_cluster, &capi),
        install_crds(&target_cluster, &capi)
    )?;
    let source = source_cluster.client().await?;
    let target = target_cluster.client().await?;
    create_namespace(&source).await;
    let (mut source_agent, source_revisions, source_drift) = agent(&source).await;
    let (mut target_agent, _, _) = agent(&target).await;
    let metrics = AgentMetrics::new();
    let derived = fixture::derived();
    fixture::provision(&source, &mut source_agent, &derived).await;

    // Control: drift correction is live on the source — a deleted derived object comes back.
    let gpu_template = fixture::template_name(&derived, "DockerMachineTemplate", "edge-3-gpu-");
    fixture::api(&source, INFRA, "DockerMachineTemplate")
        .await
        .delete(&gpu_template, &DeleteParams::default())
        .await?;
    let gpu_ref = object_ref(INFRA, "DockerMachineTemplate", &gpu_template);
    source_drift
        .check(&mut source_agent, &metrics, &gpu_ref)
        .await;
    assert!(
        fixture::get(&source, INFRA, "DockerMachineTemplate", &gpu_template)
            .await
            .is_some(),
        "drift correction recreates a deleted object of the held revision"
    );
    assert!(source_drift.reports.take().is_some());
    let cluster_owner = fixture::owner(&source, CAPI, "Cluster", CLUSTER, false).await;
    fixture::patch(
        &source,
        INFRA,
        "DockerMachineTemplate",
        &gpu_template,
        json!({"metadata": {"ownerReferences": [cluster_owner]}}),
    )
    .await;

    // 1. Pause the source (twice: a resent step answers the same).
    assert!(set_paused(&mut source_agent, true).await);
    assert!(set_paused(&mut source_agent, true).await);

    // 2. Discover and plan, as the cell does.
    let discovered = discover(&mut source_agent).await;
    let names: Vec<&str> = discovered
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&UNRELATED_SECRET), "every Secret is listed");
    let (graph, plan) = plan(discovered);
    // 10 derived, 4 cluster Secrets, a MachineSet, 3 Machines with their KubeadmConfig,
    // DockerMachine and bootstrap-data Secret.
    assert_eq!(graph.len(), MOVED_OBJECTS);
    assert!(plan.len() >= 5, "{} batches", plan.len());
    let source_cluster_object = graph.get(&driver::cluster().key()).unwrap();
    assert_eq!(source_cluster_object.value()["spec"]["paused"], true);
    assert!(
        graph
            .objects()
            .all(|o| o.key().name != UNRELATED_SECRET && o.key().name != UNRELATED_CONFIG_MAP)
    );

    // A foreign Secret already holds a moved name on the target.
    create_namespace(&target).await;
    let foreign = fixture::create(
        &target,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "edge-3-kubeconfig"}, "data": {"value": "dGhlaXJz"}}),
    )
    .await;
    let kubeconfig = ObjectKey::new("v1", "Secret", NAMESPACE, "edge-3-kubeconfig");
    let kubeconfig_source_uid = graph.get(&kubeconfig).unwrap().uid().to_string();

    // 3. Create every batch on the target, each sent twice.
    let mut uids = UidMap::new();
    let mut refused_once = false;
    for index in 0..plan.len() {
        let step = create_step(&graph, &plan, index, &uids);
        if plan.batches()[index].contains(&kubeconfig) {
            let refused = fails(&mut target_agent, step.clone()).await;
            let foreign_uid = uid(&foreign);
            for part in [
                "Secret lattice-cluster-edge-3/edge-3-kubeconfig",
                foreign_uid.as_str(),
                kubeconfig_source_uid.as_str(),
                "not overwritten",
            ] {
                assert!(
                    refused.error.contains(part),
                    "{:?} lacks {part}",
                    refused.error
                );
            }
            // The rest of the batch was created, and is reported so a rollback can delete it.
            let Some(Detail::BatchCreated(partly)) = &refused.detail else {
                panic!("a refused batch reports what it created: {refused:?}");
            };
            let reported: BTreeSet<&str> = partly
                .objects
                .iter()
                .map(|o| o.source_uid.as_str())
                .collect();
            let rest: BTreeSet<&str> = plan.batches()[index]
                .iter()
                .filter(|key| **key != kubeconfig)
                .map(|key| graph.get(key).unwrap().uid())
                .collect();
            assert!(!rest.is_empty());
            assert_eq!(reported, rest);
            let untouched = fixture::get(&target, "v1", "Secret", "edge-3-kubeconfig")
                .await
                .unwrap();
            assert_eq!(uid(&untouched), foreign_uid);
            assert_eq!(untouched["data"], foreign["data"]);
            assert!(untouched["metadata"]["annotations"].is_null());
            // The operator deletes it; the cell resends the batch.
            fixture::api(&target, "v1", "Secret")
                .await
                .delete("edge-3-kubeconfig", &DeleteParams::default())
                .await?;
            refused_once = true;
        }
        let first = created(run(&mut target_agent, step.clone()).await);
        record(&mut uids, &step, &first);
        let again = created(run(&mut target_agent, step.clone()).await);
        assert_eq!(again.objects.len(), first.objects.len());
        for (a, b) in first.objects.iter().zip(&again.objects) {
            assert_eq!(
                (&a.source_uid, &a.target_uid),
                (&b.source_uid, &b.target_uid)
            );
            assert!(b.adopted, "a resent object is adopted");
        }
    }
    assert!(refused_once);
    assert_eq!(uids.len(), graph.len());

    // 4. Unpause the target.
    assert!(!set_paused(&mut target_agent, false).await);
    assert!(!set_paused(&mut target_agent, false).await);

    // On the target: every object exactly once, owners remapped, spec restored, and the status
    // of the Cluster and the Machines (decision 0049).
    let listed = discover(&mut target_agent).await;
    let moved = by_source_uid(&listed);
    assert_eq!(moved.len(), graph.len());
    let target_uids: BTreeMap<String, (String, String)> = listed
        .iter()
        .map(|o| {
            (
                uid(o),
                (
                    o["kind"].as_str().unwrap().to_string(),
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    for object in graph.objects() {
        let copy = &moved[object.uid()];
        let key = object.key();
        assert_eq!(copy["kind"], json!(key.kind));
        assert_eq!(copy["metadata"]["name"], json!(key.name));
        assert_eq!(uid(copy), uids.target_of(object.uid()).unwrap());
        let references = copy["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(references.len(), object.owners().len(), "{key}");
        for (reference, owner) in references.iter().zip(object.owners()) {
            let owner_target_uid = uids.target_of(&owner.uid).unwrap();
            assert_eq!(reference["uid"], json!(owner_target_uid), "{key}");
            assert_eq!(
                target_uids[owner_target_uid],
                (owner.kind.clone(), owner.name.clone()),
                "{key}: the owner reference points at its owner's copy"
            );
            assert_eq!(reference["controller"], json!(owner.controller), "{key}");
        }
        let source_value = object.value();
        if key.kind == "Cluster" {
            assert_eq!(
                without_paused(&copy["spec"]),
                without_paused(&source_value["spec"])
            );
        } else if key.kind == "Secret" {
            assert_eq!(copy["data"], source_value["data"], "{key}");
            assert_eq!(copy["type"], source_value["type"], "{key}");
        } else {
            assert_eq!(copy["spec"], source_value["spec"], "{key}");
        }
        if restores_status(key) {
            assert_eq!(
                copy["status"], source_value["status"],
                "{key}: status restored"
            );
        } else {
            assert!(
                copy.get("status").is_none_or(Value::is_null),
                "{key}: status left to the controllers, not restored: {}",
                copy["status"]
            );
        }
        assert_eq!(
            copy["metadata"]["labels"], source_value["metadata"]["labels"],
            "{key}"
        );
        assert_eq!(
            copy["metadata"]["finalizers"], source_value["metadata"]["finalizers"],
            "{key}"
        );
    }
    let target_cluster_object = fixture::get(&target, CAPI, "Cluster", CLUSTER)
        .await
        .unwrap();
    assert!(
        target_cluster_object["spec"]["paused"].is_null(),
        "unpaused on the target"
    );
    assert_eq!(
        target_cluster_object["status"]["initialization"]["controlPlaneInitialized"],
        true
    );

    // A source object is replaced by another with the same name before the delete.
    let replaced = WORKER_MACHINES[1];
    let replaced_key = ObjectKey::new("v1", "Secret", NAMESPACE, replaced);
    let moved_uid = graph.get(&replaced_key).unwrap().uid().to_string();
    fixture::api(&source, "v1", "Secret")
        .await
        .delete(replaced, &DeleteParams::default())
        .await?;
    let newcomer = fixture::create(
        &source,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": replaced}, "data": {"value": "bmV3"}}),
    )
    .await;

    // 5. Delete from the source, dependants first, each batch sent twice; the LatticeCluster
    // spec is released with the first.
    let deletion = plan.deletion_batches();
    let (mut deleted_total, mut left_alone) = (0, Vec::new());
    for index in 0..deletion.len() {
        let step = delete_step(&graph, &deletion, index, SPEC_KEY);
        let first = deleted(run(&mut source_agent, step.clone()).await);
        assert_eq!(first.batch_index, index as u32);
        assert_eq!(
            first.deleted as usize + first.already_absent as usize + first.left_alone.len(),
            deletion[index].len()
        );
        assert_eq!(first.already_absent, 0);
        let again = deleted(run(&mut source_agent, step).await);
        assert_eq!(again.deleted, 0, "a resent delete deletes nothing more");
        assert_eq!(again.already_absent, first.deleted);
        assert_eq!(again.left_alone, first.left_alone);
        deleted_total += first.deleted as usize;
        left_alone.extend(first.left_alone);
    }
    assert_eq!(deleted_total, graph.len() - 1);
    assert_eq!(
        left_alone,
        vec![format!(
            "Secret {NAMESPACE}/{replaced} has uid {}, not the moved {moved_uid}",
            uid(&newcomer)
        )]
    );

    // Nothing of the cluster is left on the source but the newcomer; the rest stays.
    let after: Vec<Value> = discover(&mut source_agent).await;
    let remaining: Vec<(String, String)> = after
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected = vec![
        ("ConfigMap".to_string(), UNRELATED_CONFIG_MAP.to_string()),
        ("Secret".to_string(), UNRELATED_SECRET.to_string()),
        ("Secret".to_string(), replaced.to_string()),
    ];
    let mut remaining_sorted = remaining.clone();
    remaining_sorted.sort();
    expected.sort();
    assert_eq!(remaining_sorted, expected);

    // The released spec: forgotten by the inventory and the manifest store, never corrected.
    assert!(source_agent.inventory().record(SPEC_KEY).is_none());
    assert!(source_revisions.desired().objects().is_empty());
    let config_maps: Api<ConfigMap> = Api::namespaced(source.clone(), AGENT_NS);
    assert!(
        config_maps
            .get_opt(&config_map_name(SPEC_KEY))
            .await?
            .is_none()
    );
    let secrets: Api<Secret> = Api::namespaced(source.clone(), AGENT_NS);
    assert!(secrets.get_opt(&secret_name(SPEC_KEY)).await?.is_none());
    for object in &derived.objects {
        let reference = object_ref(object.api_version(), object.kind(), object.name());
        source_drift
            .check(&mut source_agent, &metrics, &reference)
            .await;
        assert!(
            fixture::get(&source, object.api_version(), object.kind(), object.name())
                .await
                .is_none(),
            "{reference} was brought back"
        );
    }
    assert!(source_drift.reports.take().is_none());

    // The cell then applies the LatticeCluster revision on the target (manager `lattice`): the
    // moved objects are taken over, not recreated, and what CAPI set stays.
    let applied = target_agent.apply(&fixture::revision(&derived, "r2")).await;
    assert!(applied.success, "{applied:?}");
    for object in &derived.objects {
        let now = fixture::get(&target, object.api_version(), object.kind(), object.name())
            .await
            .unwrap();
        let source_uid = now["metadata"]["annotations"][SOURCE_UID_ANNOTATION]
            .as_str()
            .unwrap();
        assert_eq!(
            uid(&now),
            uids.target_of(source_uid).unwrap(),
            "{}",
            object.name()
        );
    }
    let taken_over = fixture::get(&target, CAPI, "Cluster", CLUSTER)
        .await
        .unwrap();
    assert_eq!(taken_over["spec"]["controlPlaneEndpoint"]["port"], 6443);
    assert_eq!(taken_over["status"]["phase"], "Provisioned");
    assert!(taken_over["spec"]["paused"].is_null());
    let managers: Vec<(&str, &str)> = taken_over["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap(),
                e["subresource"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(managers.contains(&("lattice", "")), "{managers:?}");
    assert!(
        !managers.contains(&("lattice-pivot", "")),
        "the pivot no longer owns fields of the object: {managers:?}"
    );

    // So a field a later revision drops is removed, and what only CAPI had set stays.
    let mut derived_r3 = derived.clone();
    let cluster_manifest = derived_r3
        .objects
        .iter_mut()
        .find(|o| o.kind() == "Cluster")
        .unwrap();
    cluster_manifest.object["spec"]["clusterNetwork"]
        .as_object_mut()
        .unwrap()
        .remove("services");
    let applied = target_agent
        .apply(&fixture::revision(&derived_r3, "r3"))
        .await;
    assert!(applied.success, "{applied:?}");
    let after_r3 = fixture::get(&target, CAPI, "Cluster", CLUSTER)
        .await
        .unwrap();
    assert!(
        after_r3["spec"]["clusterNetwork"]["services"].is_null(),
        "a field the revision dropped is removed: {}",
        after_r3["spec"]["clusterNetwork"]
    );
    assert_eq!(
        after_r3["spec"]["clusterNetwork"]["pods"]["cidrBlocks"][0],
        "192.168.0.0/16"
    );
    assert_eq!(
        after_r3["spec"]["controlPlaneEndpoint"]["host"],
        "172.18.0.3"
    );
    assert_eq!(
        after_r3["metadata"]["finalizers"][0],
        "cluster.cluster.x-k8s.io"
    );
    let docker_cluster = fixture::get(&target, INFRA, "DockerCluster", CLUSTER)
        .await
        .unwrap();
    assert_eq!(
        docker_cluster["metadata"]["ownerReferences"][0]["uid"],
        json!(uid(&after_r3)),
        "owner references the pivot wrote stay"
    );
    Ok(())
}

/// Commands a cell should never send are refused with the cause, and nothing is written.
#[tokio::test]
async fn malformed_pivot_commands_are_refused_naming_the_cause() -> anyhow::Result<()> {
    let cluster = TestCluster::start("pivot-refusals").await?;
    let client = cluster.client().await?;
    let (mut agent, _, _) = agent(&client).await;

    let mut nameless = command(Step::SetPaused(lattice_protocol::v1::PivotSetPaused {
        paused: true,
    }));
    nameless.cluster_name.clear();
    let refused = agent.pivot(&nameless).await;
    assert!(!refused.success);
    assert_eq!(
        refused.error,
        "the PivotCommand names no cluster (cluster_namespace and cluster_name are required)"
    );

    // Without the Cluster API CRDs, pausing says what is missing.
    let refused = fails(
        &mut agent,
        Step::SetPaused(lattice_protocol::v1::PivotSetPaused { paused: true }),
    )
    .await;
    assert_eq!(
        refused.error,
        "the API server does not serve cluster.x-k8s.io (are the Cluster API CRDs installed?)"
    );

    let batch = |manifest: Value, source_uid: &str| {
        Step::CreateBatch(PivotCreateBatch {
            batch_index: 0,
            batch_count: 1,
            objects: vec![PivotObject {
                manifest: serde_json::to_vec(&manifest).unwrap(),
                status: Vec::new(),
                source_uid: source_uid.into(),
            }],
        })
    };
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NAMESPACE,
                     "annotations": {SOURCE_UID_ANNOTATION: "u1"}}});
    let refused = fails(&mut agent, batch(deployment, "u1")).await;
    assert_eq!(
        refused.error,
        format!("Deployment.apps {NAMESPACE}/web is not of a kind a pivot moves; refused")
    );
    let unannotated = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "edge-3-ca", "namespace": NAMESPACE}});
    let refused = fails(&mut agent, batch(unannotated, "u1")).await;
    assert_eq!(
        refused.error,
        format!(
            "object #0 of the batch: Secret {NAMESPACE}/edge-3-ca: the manifest's \
             lattice.dev/source-uid annotation is None, not the source uid u1"
        )
    );
    // Refused before anything was written: not even the namespace.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(NAMESPACE).await?.is_none());

    // The agent's own objects are never deleted by a pivot.
    let own_config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), AGENT_NS);
    let own: ConfigMap = serde_json::from_value(json!({"metadata": {
        "name": "agent-state", "labels": {"app.kubernetes.io/managed-by": "lattice-agent"}}}))?;
    let own = own_config_maps.create(&PostParams::default(), &own).await?;
    let refused = fails(
        &mut agent,
        Step::DeleteBatch(PivotDeleteBatch {
            batch_index: 0,
            batch_count: 1,
            objects: vec![PivotObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: AGENT_NS.into(),
                name: "agent-state".into(),
                uid: own.metadata.uid.clone().unwrap(),
            }],
            release_spec_key: String::new(),
        }),
    )
    .await;
    assert_eq!(
        refused.error,
        format!(
            "ConfigMap {AGENT_NS}/agent-state is one of the agent's own objects; a pivot never deletes it"
        )
    );
    assert!(own_config_maps.get_opt("agent-state").await?.is_some());
    Ok(())
}

/// The pivot's earlier copy of an object that is being deleted (a finalizer holds it) is waited
/// for, and the object is created anew once it is gone — never adopted while it goes.
#[tokio::test]
async fn an_earlier_copy_being_deleted_is_waited_for_then_created_anew() -> anyhow::Result<()> {
    let cluster = TestCluster::start("pivot-wait").await?;
    let client = cluster.client().await?;
    let (mut agent, _, _) = agent(&client).await;
    create_namespace(&client).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let earlier: ConfigMap = serde_json::from_value(json!({"metadata": {
        "name": "edge-3-settings",
        "annotations": {SOURCE_UID_ANNOTATION: "source-settings"},
        "finalizers": ["example.com/hold"]}}))?;
    let earlier = config_maps.create(&PostParams::default(), &earlier).await?;
    config_maps
        .delete("edge-3-settings", &DeleteParams::default())
        .await?;
    let deleting = config_maps.get("edge-3-settings").await?;
    assert!(deleting.metadata.deletion_timestamp.is_some());

    // The finalizer goes a little later, as a controller would remove it.
    let releaser = {
        let config_maps = config_maps.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            let patch = json!({"metadata": {"finalizers": null}});
            config_maps
                .patch(
                    "edge-3-settings",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(&patch),
                )
                .await
        })
    };
    let manifest = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "edge-3-settings", "namespace": NAMESPACE,
                     "annotations": {SOURCE_UID_ANNOTATION: "source-settings"}},
        "data": {"moved": "yes"}});
    let step = Step::CreateBatch(PivotCreateBatch {
        batch_index: 0,
        batch_count: 1,
        objects: vec![PivotObject {
            manifest: serde_json::to_vec(&manifest)?,
            status: Vec::new(),
            source_uid: "source-settings".into(),
        }],
    });
    let created = created(run(&mut agent, step).await);
    releaser.await??;
    let made = &created.objects[0];
    assert!(!made.adopted, "an object being deleted is not adopted");
    assert_ne!(Some(made.target_uid.clone()), earlier.metadata.uid);
    let now = config_maps.get("edge-3-settings").await?;
    assert_eq!(now.metadata.uid.as_deref(), Some(made.target_uid.as_str()));
    assert_eq!(now.data.unwrap()["moved"], "yes");
    Ok(())
}
