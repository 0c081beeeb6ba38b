//! The pivot end to end (issue 12, "Checked by"; decisions 0041, 0042): the Cluster API objects of
//! `edge-3` move from its managing cluster `mgmt` to `edge-3` itself over the two agents' streams,
//! every part a separate process on real API servers and the cell's real Postgres. The happy
//! path through `latticectl cluster pivot`; the cell, the target agent and the source agent each
//! killed (SIGKILL, by `LATTICE_FAULT` fault points) at every boundary of one pivot, restarted
//! armed with the next point; the refusals. Each test checks the same things of the end state
//! (`pivot_support::assert_pivoted`) and that the source `Cluster`, once paused, is never
//! unpaused. Setup: `pivot_support::Fleet`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pivot_support;
mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, PostParams};
use lattice_e2e::capi_fixture as capi;
use lattice_e2e::lattice::SESSION_ESTABLISHED;
use lattice_e2e::lattice::objects::{ObjectRef, applied_by, get_object};
use lattice_e2e::wait_until;
use pivot_support::{
    Faults, Fleet, FleetOptions, MANAGER, MIDDLE_BATCH, NAME, PauseWatch, Way, assert_ended,
    assert_ended_pivoted, assert_moved, assert_pivoted, kinds_and_names, namespace_objects,
    source_objects, wait_connected, wait_phase,
};
use rustix::process::Signal;
use support::wait_killed_at;

/// `latticectl cluster pivot edge-3` moves every object once, and the LatticeCluster ends `Ready`
/// with its own agent holding the revision.
#[tokio::test]
async fn a_provisioned_cluster_pivots_to_itself() {
    let fleet = Fleet::start(FleetOptions::default()).await;
    let source = source_objects(&fleet.mgmt_client().await).await;
    let watch = PauseWatch::start(&fleet.mgmt_client().await).await;

    let pivoted = fleet.ctl.run(&["cluster", "pivot", NAME]).await.unwrap();
    assert!(pivoted.success(), "{pivoted:?}");
    // Not a terminal: plain lines — the start, each change seen, the result.
    let lines: Vec<&str> = pivoted.stdout.lines().collect();
    assert!(
        lines[0].contains(&format!("of cluster {NAME} started: {MANAGER} → {NAME}")),
        "{}",
        pivoted.stdout
    );
    let phases = [
        "Pausing",
        "Discovering",
        "Creating",
        "Unpausing",
        "Deleting",
        "Pivoted",
    ];
    for line in &lines[1..lines.len() - 1] {
        assert!(
            phases.iter().any(|p| line.starts_with(p)),
            "a progress line: {line:?} in {}",
            pivoted.stdout
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("Pivoted")),
        "{}",
        pivoted.stdout
    );
    assert_eq!(
        lines[lines.len() - 1].split(" (pivot ").next(),
        Some(
            format!(
                "cluster/{NAME} pivoted: {} object(s) moved from {MANAGER} to {NAME}",
                lattice_e2e::capi_fixture::MOVED_OBJECTS
            )
            .as_str()
        ),
        "{}",
        pivoted.stdout
    );

    assert_pivoted(&fleet, &source).await;
    watch.finish();
    let pivot = assert_ended_pivoted(&fleet).await;
    let ready = wait_phase(&fleet.ctl, "Ready").await;
    assert_eq!(ready["status"]["cluster"], NAME, "{ready:#}");

    let described = fleet
        .ctl
        .run_ok(&["describe", "cluster", NAME])
        .await
        .unwrap();
    let id = pivot["id"].as_str().unwrap();
    // The history line: id, direction, source → target, phase.
    let line = described
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_default();
    assert!(
        described.contains("Pivots:")
            && line.contains("pivot")
            && line.contains(&format!("{MANAGER} → {NAME}  Pivoted")),
        "{described}"
    );
}

/// The cell is killed after every phase, after the first and a middle creation batch and deletion
/// batch; each restart resumes the pivot from Postgres, armed with the next point.
#[tokio::test]
async fn the_pivot_survives_the_cell_killed_at_every_boundary() {
    let points = [
        "pivot:after-phase:pausing".to_owned(),
        "pivot:after-phase:discovering".to_owned(),
        "pivot:after-batch:0".to_owned(),
        format!("pivot:after-batch:{MIDDLE_BATCH}"),
        "pivot:after-phase:creating".to_owned(),
        "pivot:after-phase:unpausing".to_owned(),
        "pivot:after-delete-batch:0".to_owned(),
        format!("pivot:after-delete-batch:{MIDDLE_BATCH}"),
        "pivot:after-phase:deleting".to_owned(),
    ];
    let mut fleet = Fleet::start(FleetOptions {
        faults: Faults {
            cell: Some(points[0].clone()),
            ..Faults::default()
        },
        ..FleetOptions::default()
    })
    .await;
    let source = source_objects(&fleet.mgmt_client().await).await;
    let watch = PauseWatch::start(&fleet.mgmt_client().await).await;

    fleet.start_pivot().await;
    for (i, point) in points.iter().enumerate() {
        wait_killed_at(fleet.cell.process(), point).await;
        fleet.cell.set_fault(points.get(i + 1).map(String::as_str));
        fleet.cell.restart().await.unwrap();
    }

    wait_phase(&fleet.ctl, "Ready").await;
    assert_ended_pivoted(&fleet).await;
    assert_pivoted(&fleet, &source).await;
    watch.finish();
}

/// The target agent is killed in the middle of and after the first and a middle creation batch,
/// and after it unpaused the `Cluster`; the re-sent batches adopt what it had created, the re-sent
/// unpause finds it done.
#[tokio::test]
async fn the_pivot_survives_the_target_agent_killed_in_and_after_batches() {
    let points = [
        "pivot:mid-batch:0".to_owned(),
        "pivot:after-batch:0".to_owned(),
        format!("pivot:mid-batch:{MIDDLE_BATCH}"),
        format!("pivot:after-batch:{MIDDLE_BATCH}"),
        "pivot:after-unpause".to_owned(),
    ];
    let mut fleet = Fleet::start(FleetOptions {
        faults: Faults {
            target_agent: Some(points[0].clone()),
            ..Faults::default()
        },
        ..FleetOptions::default()
    })
    .await;
    let source = source_objects(&fleet.mgmt_client().await).await;
    let watch = PauseWatch::start(&fleet.mgmt_client().await).await;

    let ctl = fleet.ctl.clone();
    let follow = tokio::spawn(async move { ctl.run(&["cluster", "pivot", NAME]).await });
    for (i, point) in points.iter().enumerate() {
        let agent = fleet.edge_agent();
        wait_killed_at(agent.process(), point).await;
        agent.set_fault(points.get(i + 1).map(String::as_str));
        agent.restart().unwrap();
    }

    let followed = follow.await.unwrap().unwrap();
    assert!(followed.success(), "{followed:?}");
    wait_phase(&fleet.ctl, "Ready").await;
    assert_ended_pivoted(&fleet).await;
    assert_pivoted(&fleet, &source).await;
    watch.finish();
}

/// The source agent is killed after it paused the `Cluster`, in the middle of and after the
/// discovery, and in the middle of the first and a middle deletion batch. Before the target is
/// unpaused each step is resent, never rolled back for a lost answer; after it, the deletions are
/// retried.
#[tokio::test]
async fn the_pivot_survives_the_source_agent_killed_at_every_step() {
    let points = [
        "pivot:after-pause".to_owned(),
        "pivot:mid-discover".to_owned(),
        "pivot:after-discover".to_owned(),
        "pivot:mid-delete:0".to_owned(),
        format!("pivot:mid-delete:{MIDDLE_BATCH}"),
    ];
    let mut fleet = Fleet::start(FleetOptions {
        faults: Faults {
            source_agent: Some(points[0].clone()),
            ..Faults::default()
        },
        ..FleetOptions::default()
    })
    .await;
    let source = source_objects(&fleet.mgmt_client().await).await;
    let watch = PauseWatch::start(&fleet.mgmt_client().await).await;

    let ctl = fleet.ctl.clone();
    let follow = tokio::spawn(async move { ctl.run(&["cluster", "pivot", NAME]).await });
    for (i, point) in points.iter().enumerate() {
        wait_killed_at(fleet.mgmt_agent.process(), point).await;
        fleet
            .mgmt_agent
            .set_fault(points.get(i + 1).map(String::as_str));
        fleet.mgmt_agent.restart().unwrap();
    }

    let followed = follow.await.unwrap().unwrap();
    assert!(followed.success(), "{followed:?}");
    wait_phase(&fleet.ctl, "Ready").await;
    assert_ended_pivoted(&fleet).await;
    assert_pivoted(&fleet, &source).await;
    watch.finish();
}

/// A pivot the target refuses rolls back (issue 12, point 2): a Secret `edge-3-kubeconfig`
/// already on `edge-3` that the pivot did not make (no `lattice.dev/source-uid`) is not
/// overwritten, so the creation batch holding the kubeconfig fails. What the pivot had created on
/// `edge-3` is deleted (the Secret it found stays, untouched), the source `Cluster` is unpaused and
/// every object on `mgmt` is as it was (same UIDs, owners, statuses); `latticectl cluster pivot`
/// fails with the reason, the LatticeCluster is `Failed` with it and `describe cluster` shows it.
/// With the Secret removed, the pivot retried moves everything.
#[tokio::test]
async fn a_pivot_the_target_refuses_rolls_back_and_leaves_the_source_as_it_was() {
    let fleet = Fleet::start(FleetOptions::default()).await;
    let edge = fleet.edge_client().await;
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(capi::NAMESPACE.to_owned());
    Api::<Namespace>::all(edge.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let kubeconfig = format!("{NAME}-kubeconfig");
    let mut stale = Secret::default();
    stale.metadata.name = Some(kubeconfig.clone());
    stale.string_data = Some([("value".to_owned(), "an older kubeconfig".to_owned())].into());
    let stale = Api::<Secret>::namespaced(edge.clone(), capi::NAMESPACE)
        .create(&PostParams::default(), &stale)
        .await
        .unwrap();
    let mgmt = fleet.mgmt_client().await;
    let before = source_objects(&mgmt).await;
    let watch = PauseWatch::start(&mgmt).await;

    let refused = fleet.ctl.run(&["cluster", "pivot", NAME]).await.unwrap();
    assert!(!refused.success(), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("of cluster {NAME} failed:"))
            && refused.stderr.contains(&kubeconfig)
            && refused.stderr.contains("not overwritten"),
        "{}",
        refused.stderr
    );

    let after = assert_rolled_back(&mgmt, watch, &before).await;
    let on_edge = namespace_objects(&edge).await;
    assert_eq!(
        kinds_and_names(&on_edge),
        [format!("Secret/{kubeconfig}")].into(),
        "nothing of the move on {NAME}"
    );
    assert_eq!(
        on_edge[0]["metadata"]["uid"],
        stale.metadata.uid.unwrap().as_str()
    );

    let failed = wait_phase(&fleet.ctl, "Failed").await;
    let reason = failed["status"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&kubeconfig), "{failed:#}");
    let pivots = fleet.pivots().await;
    assert_eq!(pivots.len(), 1, "{pivots:#?}");
    assert_eq!(pivots[0]["phase"], "Failed", "{pivots:#?}");
    let described = fleet
        .ctl
        .run_ok(&["describe", "cluster", NAME])
        .await
        .unwrap();
    let id = pivots[0]["id"].as_str().unwrap();
    let line = described
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_default();
    assert!(
        line.contains(&format!("{MANAGER} → {NAME}  Failed"))
            && line.contains(&kubeconfig)
            && described.contains("RollingBack"),
        "{described}"
    );

    // The operator removes the Secret; the same pivot, retried, moves everything.
    Api::<Secret>::namespaced(edge.clone(), capi::NAMESPACE)
        .delete(&kubeconfig, &DeleteParams::default())
        .await
        .unwrap();
    let watch = PauseWatch::start(&mgmt).await;
    fleet.ctl.run_ok(&["cluster", "pivot", NAME]).await.unwrap();
    wait_phase(&fleet.ctl, "Ready").await;
    assert_ended(&fleet, 2, "Pivoted").await;
    assert_pivoted(&fleet, &after).await;
    watch.finish();
}

/// A status the target refuses after creating the object (fault point `pivot:refuse-status` on
/// `edge-3`'s agent; a real cause is a target whose Cluster API CRDs do not accept the source's
/// status): the agent fails the creation batch naming the `Cluster`, its target UID and the
/// cause, and still reports it created, so the cell's rollback deletes it with the rest — nothing
/// of the move is left on `edge-3` — and records the failure (`latticectl cluster pivot` fails
/// with it, the LatticeCluster `Failed` with it as the reason, `describe cluster` shows it). Once
/// the agent writes statuses again, the same pivot moves everything.
#[tokio::test]
async fn a_status_the_target_refuses_is_reported_and_rolled_back() {
    let point = "pivot:refuse-status";
    let mut fleet = Fleet::start(FleetOptions {
        faults: Faults {
            target_agent: Some(point.to_owned()),
            ..Faults::default()
        },
        ..FleetOptions::default()
    })
    .await;
    let edge = fleet.edge_client().await;
    let mgmt = fleet.mgmt_client().await;
    let before = source_objects(&mgmt).await;
    let watch = PauseWatch::start(&mgmt).await;

    let refused = fleet.ctl.run(&["cluster", "pivot", NAME]).await.unwrap();
    assert!(!refused.success(), "{refused:?}");
    let object = format!("Cluster.cluster.x-k8s.io {}/{NAME}", capi::NAMESPACE);
    let cause = format!("but its status was not written: refused at fault point {point}");
    for part in [object.as_str(), "was created on the target (uid ", &cause] {
        assert!(
            refused.stderr.contains(part),
            "{part:?} in {}",
            refused.stderr
        );
    }
    let after = assert_rolled_back(&mgmt, watch, &before).await;
    let on_edge = namespace_objects(&edge).await;
    assert!(
        on_edge.is_empty(),
        "nothing of the move on {NAME}, the Cluster whose status was refused included: {:?}",
        kinds_and_names(&on_edge)
    );
    let failed = wait_phase(&fleet.ctl, "Failed").await;
    let reason = failed["status"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&object) && reason.contains(&cause),
        "{failed:#}"
    );
    let described = fleet
        .ctl
        .run_ok(&["describe", "cluster", NAME])
        .await
        .unwrap();
    assert!(
        described.contains(&cause) && described.contains("RollingBack"),
        "{described}"
    );

    // The agent restarted without the point: the same pivot moves everything.
    let agent = fleet.edge_agent();
    agent.set_fault(None);
    agent.restart().unwrap();
    agent.wait_for_session().await.unwrap();
    wait_connected(&fleet.ctl, NAME, true).await;
    let watch = PauseWatch::start(&mgmt).await;
    fleet.ctl.run_ok(&["cluster", "pivot", NAME]).await.unwrap();
    wait_phase(&fleet.ctl, "Ready").await;
    assert_ended(&fleet, 2, "Pivoted").await;
    assert_pivoted(&fleet, &after).await;
    watch.finish();
}

/// The unpivot (issue 12, point 5; decision 0045) on real agents: after a pivot, `edge-3`'s
/// objects go back to `mgmt` with the cell killed after the unpivot's creation phase and after
/// its first deletion batch. Every object is back on `mgmt` exactly once (by the
/// `lattice.dev/source-uid` of its copy on `edge-3`) with its owner references pointing at the
/// `mgmt` UIDs and its status, nothing of the cluster is left on `edge-3`, and `edge-3`'s
/// `Cluster`, once paused, is never unpaused; the LatticeCluster is `Provisioned` again and
/// `describe cluster` shows both moves.
#[tokio::test]
async fn an_unpivot_moves_everything_back_through_cell_kills() {
    let points = ["pivot:after-phase:creating", "pivot:after-delete-batch:0"];
    let mut fleet = Fleet::start(FleetOptions::default()).await;
    fleet.ctl.run_ok(&["cluster", "pivot", NAME]).await.unwrap();
    wait_phase(&fleet.ctl, "Ready").await;
    let edge = fleet.edge_client().await;
    let on_edge = source_objects(&edge).await;
    let watch = PauseWatch::start(&edge).await;

    fleet.cell.set_fault(Some(points[0]));
    fleet.cell.restart().await.unwrap();
    wait_connected(&fleet.ctl, MANAGER, true).await;
    wait_connected(&fleet.ctl, NAME, true).await;
    let started = fleet.start_unpivot().await;
    assert_eq!(started["direction"], "Unpivot", "{started:#}");
    for (i, point) in points.iter().enumerate() {
        wait_killed_at(fleet.cell.process(), point).await;
        fleet.cell.set_fault(points.get(i + 1).copied());
        fleet.cell.restart().await.unwrap();
    }

    wait_phase(&fleet.ctl, "Provisioned").await;
    let unpivot = assert_ended(&fleet, 2, "Unpivoted").await;
    assert_eq!(unpivot["id"], started["id"], "{unpivot:#}");
    assert_moved(&fleet, &on_edge, Way::Unpivot).await;
    watch.finish();
    let described = fleet
        .ctl
        .run_ok(&["describe", "cluster", NAME])
        .await
        .unwrap();
    assert!(
        described.lines().any(|l| l.contains("unpivot")
            && l.contains(&format!("{NAME} → {MANAGER}  Unpivoted"))),
        "{described}"
    );
}

/// Refusals, each a clear error with nothing moved: a cluster still `Provisioning`, a name with no
/// LatticeCluster, a `Provisioned` cluster whose own agent (the target) is stopped, a second pivot while one runs (the
/// source agent frozen with SIGSTOP holds the first in `Pausing`); the first then completes.
#[tokio::test]
async fn pivots_that_cannot_run_are_refused_and_move_nothing() {
    let mut fleet = Fleet::start(FleetOptions {
        stop_at_provisioning: true,
        ..FleetOptions::default()
    })
    .await;
    let refused = fleet.ctl.run(&["cluster", "pivot", NAME]).await.unwrap();
    assert!(!refused.success(), "{refused:?}");
    assert!(
        refused.stderr.contains(&format!(
            "LatticeCluster \"{NAME}\" is Provisioning, not Provisioned"
        )),
        "{}",
        refused.stderr
    );
    let nowhere = fleet
        .ctl
        .run(&["cluster", "pivot", "nowhere"])
        .await
        .unwrap();
    assert!(!nowhere.success(), "{nowhere:?}");
    assert!(
        nowhere
            .stderr
            .contains("there is no LatticeCluster \"nowhere\""),
        "{}",
        nowhere.stderr
    );
    assert!(fleet.pivots().await.is_empty());

    fleet.provision().await;
    // Provisioned, but the target's agent stopped: refused naming it; then it comes back.
    fleet.edge_agent().stop().await.unwrap();
    wait_connected(&fleet.ctl, NAME, false).await;
    let refused = fleet.ctl.run(&["cluster", "pivot", NAME]).await.unwrap();
    assert!(!refused.success(), "{refused:?}");
    assert!(
        refused.stderr.contains(&format!(
            "the agent of cluster \"{NAME}\" (the pivot's target) is not connected"
        )),
        "{}",
        refused.stderr
    );
    assert!(fleet.pivots().await.is_empty());
    fleet.edge_agent().restart().unwrap();
    fleet.edge_agent().wait_for_session().await.unwrap();
    wait_connected(&fleet.ctl, NAME, true).await;
    let source = source_objects(&fleet.mgmt_client().await).await;
    let cluster = lattice_e2e::capi_fixture::get(
        &fleet.mgmt_client().await,
        lattice_e2e::capi_fixture::CAPI,
        "Cluster",
        NAME,
    )
    .await
    .unwrap()
    .unwrap();
    assert_ne!(
        cluster["spec"]["paused"], true,
        "nothing paused by the refusals"
    );
    assert!(
        namespace_objects(&fleet.edge_client().await)
            .await
            .is_empty()
    );
    let watch = PauseWatch::start(&fleet.mgmt_client().await).await;

    fleet.mgmt_agent.process().signal(Signal::STOP).unwrap();
    let started = fleet.start_pivot().await;
    let second = fleet.ctl.run(&["cluster", "pivot", NAME]).await.unwrap();
    fleet.mgmt_agent.process().signal(Signal::CONT).unwrap();
    assert!(!second.success(), "{second:?}");
    assert!(
        second
            .stderr
            .contains(&format!("cluster \"{NAME}\" already has an active pivot")),
        "{}",
        second.stderr
    );

    wait_phase(&fleet.ctl, "Ready").await;
    let pivot = assert_ended_pivoted(&fleet).await;
    assert_eq!(pivot["id"], started["id"], "{started:#}");
    assert_pivoted(&fleet, &source).await;
    watch.finish();
}

/// Autonomous mode (issue 12, point 4): after the pivot, with a LatticeService Ready on `edge-3`,
/// the cell is stopped and the management cluster dropped; `edge-3`'s agent, restarted, still puts
/// back a deleted managed Deployment and a deleted MachineDeployment (the LatticeCluster's own
/// revision), and the Cluster stays unpaused; the cell restarted, the agent reconnects and the
/// cell's views (service Ready, LatticeCluster Ready) match the cluster.
#[tokio::test]
async fn after_the_pivot_the_cluster_keeps_its_intent_without_the_cell_or_its_manager() {
    let fleet = Fleet::start(FleetOptions {
        edge_platform_crds: true,
        ..FleetOptions::default()
    })
    .await;
    fleet.ctl.run_ok(&["cluster", "pivot", NAME]).await.unwrap();
    wait_phase(&fleet.ctl, "Ready").await;
    support::permit_the_examples(&fleet.ctl).await;
    let hello = support::hello_variant(
        fleet.edge.dir(),
        "hello-on-edge-3.yaml",
        "lattice.dev/cluster: edge-1",
        &format!("lattice.dev/cluster: {NAME}"),
    );
    fleet.ctl.apply(&hello).await.unwrap();
    support::wait_ready(&fleet.ctl).await;
    let edge = fleet.edge_client().await;
    let before = support::wait_for_hello_objects(&edge).await;
    let deployment_uid = before.deployment.unwrap().metadata.uid.unwrap();
    let md = capi::get(&edge, capi::CAPI, "MachineDeployment", GPU_POOL)
        .await
        .unwrap()
        .expect("the MachineDeployment on edge-3");
    let md_uid = md["metadata"]["uid"].clone();

    let Fleet {
        mut cell,
        ctl,
        mgmt,
        edge: edge_cluster,
        mgmt_agent,
        edge_agent,
        ..
    } = fleet;
    let mut edge_agent = edge_agent.unwrap();
    cell.stop().await.unwrap();
    drop(mgmt_agent);
    drop(mgmt);
    edge_agent.restart().unwrap();

    Api::<Deployment>::namespaced(edge.clone(), support::NAMESPACE)
        .delete(support::NAME, &DeleteParams::default())
        .await
        .unwrap();
    capi::api(&edge, capi::CAPI, "MachineDeployment")
        .await
        .unwrap()
        .delete(GPU_POOL, &DeleteParams::default())
        .await
        .unwrap();
    let back = wait_until(
        "the Deployment and the MachineDeployment put back without the cell",
        support::SETTLE,
        || async {
            let deployment = Api::<Deployment>::namespaced(edge.clone(), support::NAMESPACE)
                .get_opt(support::NAME)
                .await
                .unwrap();
            let md = capi::get(&edge, capi::CAPI, "MachineDeployment", GPU_POOL)
                .await
                .unwrap();
            Ok(deployment.zip(md))
        },
    )
    .await
    .unwrap();
    assert_ne!(back.0.metadata.uid.unwrap(), deployment_uid, "recreated");
    assert_ne!(back.1["metadata"]["uid"], md_uid, "recreated");
    assert!(
        !edge_agent.current_log().contains(SESSION_ESTABLISHED),
        "no session while the cell is stopped"
    );
    assert_unpaused(&edge).await;

    cell.restart().await.unwrap();
    edge_agent.wait_for_session().await.unwrap();
    let view = support::wait_ready(&ctl).await;
    support::assert_reported_objects_are_applied(&edge, &view).await;
    let shown = wait_phase(&ctl, "Ready").await;
    let delivery = shown["status"]["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["cluster"] == NAME)
        .unwrap_or_else(|| panic!("a delivery to {NAME}: {shown:#}"));
    let reported: Vec<ObjectRef> = delivery["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(ObjectRef::from_status)
        .collect();
    assert!(
        reported
            .iter()
            .any(|r| r.kind == "MachineDeployment" && r.name == GPU_POOL),
        "{reported:?}"
    );
    for reference in &reported {
        let object = get_object(&edge, reference)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{reference:?} is not on {NAME}"));
        assert!(applied_by(&object, support::FIELD_MANAGER), "{reference:?}");
    }
    assert_unpaused(&edge).await;
    drop(edge_agent);
    drop(edge_cluster);
}

/// The MachineDeployment of `edge-3`'s pool `gpu` (no MachineSet in the fixture).
const GPU_POOL: &str = "edge-3-gpu";

/// `edge-3`'s `Cluster` on `client`'s cluster is not paused.
/// After a rollback: the source `Cluster` paused, then unpaused and never paused again (`watch`),
/// and every object on `mgmt` with its UID, owners and status as `before`; returns them.
async fn assert_rolled_back(
    mgmt: &kube::Client,
    watch: PauseWatch,
    before: &[pivot_support::SourceObject],
) -> Vec<pivot_support::SourceObject> {
    watch.finish_rolled_back().await;
    assert_unpaused(mgmt).await;
    let after = source_objects(mgmt).await;
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(
            (&was.kind, &was.name, &was.uid, &was.owners, &was.status),
            (&is.kind, &is.name, &is.uid, &is.owners, &is.status),
            "{} {} on {MANAGER} as it was before the pivot",
            was.kind,
            was.name
        );
    }
    after
}

async fn assert_unpaused(client: &kube::Client) {
    let cluster = capi::get(client, capi::CAPI, "Cluster", NAME)
        .await
        .unwrap()
        .expect("the Cluster edge-3");
    assert_ne!(cluster["spec"]["paused"], true, "{:#}", cluster["spec"]);
    assert!(
        cluster["metadata"]["annotations"]["cluster.x-k8s.io/paused"].is_null(),
        "{:#}",
        cluster["metadata"]
    );
}
