//! Chaos on real processes (issue 11, deliverable 6): the cell killed with SIGKILL while three
//! agents on three clusters are connected and their specs change; an agent killed in the middle
//! of applying a revision of more than 200 objects; the agent–cell link cut for 60 s by a TCP
//! proxy; the cell's Postgres stopped and started under it. Every part is a separate process
//! (etcd, kube-apiserver, cell, Postgres, agents, latticectl); see `docs/testing.md` and
//! `docs/decisions/0036-chaos-tests.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chaos_support;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chaos_support::bulk::*;
use chaos_support::postgres::*;
use chaos_support::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams};
use lattice_cell::EmbeddedPostgres;
use lattice_e2e::lattice::objects::ObjectRef;
use lattice_e2e::lattice::{Agent, AgentOptions, Cell, CellOptions, SESSION_ESTABLISHED};
use lattice_e2e::{TcpProxy, wait_until};
use support::*;

// ---------------------------------------------------------------------------------------------
// 1. The cell killed while three agents are connected and their specs change
// ---------------------------------------------------------------------------------------------

/// Clusters of the cell-kill test, each with its own service `demo/hello-<cluster>`.
const THREE: [&str; 3] = ["chaos-a", "chaos-b", "chaos-c"];

fn service_name(cluster: &str) -> String {
    format!("hello-{}", cluster.trim_start_matches("chaos-"))
}

#[tokio::test]
async fn a_cell_killed_while_three_clusters_change_converges_them_all_to_the_latest_revisions() {
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        workload_cluster(THREE[0]),
        workload_cluster(THREE[1]),
        workload_cluster(THREE[2]),
    );
    let clusters = [a, b, c];
    let mut cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let mut agents = Vec::new();
    let mut clients = Vec::new();
    for cluster in &clusters {
        agents.push(
            Agent::register(&cell, cluster, AgentOptions::default())
                .await
                .unwrap(),
        );
        clients.push(cluster.client().await.unwrap());
    }

    let dir = tempfile::tempdir().unwrap();
    let first: Vec<String> = THREE
        .iter()
        .map(|c| hello_on(&service_name(c), c, 2))
        .collect();
    ctl.apply(&write_documents(dir.path(), "first.yaml", &first))
        .await
        .unwrap();
    let mut before = Vec::new();
    for (cluster, client) in THREE.iter().zip(&clients) {
        let name = service_name(cluster);
        let view = wait_held(&ctl, client, NAMESPACE, &name).await;
        before.push((view, uids_of(client, &name).await));
    }

    // The change: a new revision for every cluster, accepted by the cell, then SIGKILL at once
    // (the cell may have derived, stored, sent or half-sent any of them).
    let second: Vec<String> = THREE
        .iter()
        .map(|c| hello_on(&service_name(c), c, 3))
        .collect();
    let applied = ctl
        .apply(&write_documents(dir.path(), "second.yaml", &second))
        .await
        .unwrap();
    assert_eq!(applied.len(), 3, "{applied:?}");
    cell.kill().unwrap();
    cell.restart().await.unwrap();

    for (((cluster, client), agent), (first_view, uids)) in
        THREE.iter().zip(&clients).zip(&agents).zip(&before)
    {
        let name = service_name(cluster);
        let after = wait_held(&ctl, client, NAMESPACE, &name).await;
        assert_eq!(after.generation, first_view.generation + 1, "{after:#?}");
        assert_ne!(after.revision, first_view.revision, "{after:#?}");
        assert_eq!(replicas_of(client, &name).await, Some(3), "{cluster}");
        assert_eq!(
            &uids_of(client, &name).await,
            uids,
            "{cluster}: the same objects, updated in place"
        );
        assert_only(client, &name).await;
        // Nothing applied with another meaning: every revision the agent was sent for the spec
        // (in every run of the cell) is the first or the latest one.
        let received = revisions_received(&agent.log(), &format!("{NAMESPACE}/{name}"));
        let known: BTreeSet<&Option<String>> = [&first_view.revision, &after.revision].into();
        assert!(
            received.iter().all(|r| known.contains(&Some(r.clone()))),
            "{cluster}: received {received:?}, expected only {known:?}"
        );
        assert!(
            received.last().map(Some) == Some(after.revision.as_ref()),
            "{cluster}: the last revision received is the latest: {received:?} vs {:?}",
            after.revision
        );
        // The agent never restarted: it reconnected to the new cell run by itself.
        assert_eq!(agent.log().matches("using stored credentials").count(), 0);
    }
    println!(
        "a_cell_killed_while_three_clusters_change: {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. An agent killed in the middle of applying a revision of more than 200 objects
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_agent_killed_in_the_middle_of_a_large_revision_converges_with_nothing_half_applied() {
    let started = Instant::now();
    let cluster = workload_cluster(BULK_CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    // Armed from the start: the agent kills itself (SIGKILL) right after the KILL_AFTER-th object
    // of a revision is applied. The bulk revision is the only one this cluster receives with that
    // many objects, so the kill lands in its middle, whatever the machine's load.
    let point = kill_point();
    let options = AgentOptions {
        fault: Some(point.clone()),
        ..AgentOptions::default()
    };
    let mut agent = Agent::register(&cell, &cluster, options).await.unwrap();
    let client = cluster.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    ctl.apply(&write_documents(
        dir.path(),
        "policy.yaml",
        &[bulk_policy()],
    ))
    .await
    .unwrap();
    ctl.apply(&write_documents(dir.path(), "bulk.yaml", &[bulk_service()]))
        .await
        .unwrap();
    wait_killed_at(agent.process(), &point).await;

    // Part, not all: the ExternalSecrets come first (the Deployment only after all of them), and
    // at most KILL_AFTER objects were applied.
    let at_kill = external_secret_uids(&client).await;
    println!(
        "the agent killed itself at {point} with {} of {BULK_SECRETS} ExternalSecrets applied",
        at_kill.len()
    );
    assert!(
        (1..=KILL_AFTER).contains(&at_kill.len()),
        "the agent was not killed in the middle of the apply: {} of {BULK_SECRETS} present",
        at_kill.len()
    );
    assert!(
        Api::<Deployment>::namespaced(client.clone(), BULK_NAMESPACE)
            .get_opt(BULK_NAME)
            .await
            .unwrap()
            .is_none(),
        "the workload layer comes after the ExternalSecrets"
    );
    // What the agent persisted: the revision is not held (half applied), yet every object it
    // may have created is recorded, so none can be orphaned.
    let key = format!("LatticeService/{BULK_NAMESPACE}/{BULK_NAME}");
    let record = inventory(&client).await[&key].clone();
    assert_eq!(record.held_revision, None, "{record:?}");
    assert!(
        at_kill
            .keys()
            .all(|name| record.objects.iter().any(|o| &o.name == name)),
        "every ExternalSecret on the cluster is in the write-ahead inventory: {record:?}"
    );
    let spec = format!("{BULK_NAMESPACE}/{BULK_NAME}");
    let half_applied = revisions_received(&agent.log(), &spec);
    assert_eq!(half_applied.len(), 1, "{half_applied:?}");
    // Nothing was acknowledged: the cell does not show the revision delivered.
    let during = view(&ctl, BULK_NAMESPACE, BULK_NAME).await;
    assert_ne!(during.phase, "Ready", "{during:#?}");

    // Restarted without the fault point: it completes the very revision it was killed in.
    agent.set_fault(None);
    agent.restart().unwrap();
    agent.wait_for_session().await.unwrap();
    let view = wait_held(&ctl, &client, BULK_NAMESPACE, BULK_NAME).await;
    let reported: BTreeSet<ObjectRef> = assert_reported_objects_are_applied(&client, &view)
        .await
        .into_iter()
        .collect();
    assert!(
        reported.len() > BULK_SECRETS,
        "one revision of more than {BULK_SECRETS} objects: {}",
        reported.len()
    );
    let expected: BTreeSet<String> = (0..BULK_SECRETS)
        .map(|i| format!("{BULK_NAME}-s{i:03}"))
        .collect();
    assert_eq!(external_secrets(&client).await, expected);
    // No stray objects: what carries Lattice's label in the namespace is exactly the revision,
    // and the agent's record is exactly the revision too.
    let kinds: BTreeSet<(String, String)> = reported
        .iter()
        .map(|r| (r.api_version.clone(), r.kind.clone()))
        .collect();
    let namespaced: BTreeSet<ObjectRef> = reported
        .iter()
        .filter(|r| r.namespace.as_deref() == Some(BULK_NAMESPACE))
        .cloned()
        .collect();
    assert_eq!(
        lattice_labelled(&client, BULK_NAMESPACE, &kinds).await,
        namespaced
    );
    let record = inventory(&client).await[&key].clone();
    assert_eq!(record.held_revision, view.revision);
    assert_eq!(record.objects, reported);
    // Nothing applied twice with another meaning: the restarted agent was sent the same revision
    // (the cell recorded it as delivered by the second run), and what the first run had applied
    // was updated in place, not recreated.
    let received = revisions_received(&agent.log(), &spec);
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(
        received.iter().all(|r| Some(r) == view.revision.as_ref()),
        "received {received:?}, the cell holds {:?}",
        view.revision
    );
    let after = external_secret_uids(&client).await;
    for (name, uid) in &at_kill {
        assert_eq!(after.get(name), Some(uid), "{name} recreated");
    }
    println!(
        "an_agent_killed_in_the_middle_of_a_large_revision ({} objects): {:?}",
        reported.len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. The agent–cell link cut for 60 s
// ---------------------------------------------------------------------------------------------

/// How long the link stays cut.
const CUT: Duration = Duration::from_secs(60);
const CUT_CLUSTER: &str = "chaos-cut";

#[tokio::test]
async fn a_link_cut_for_a_minute_is_reconnected_with_backoff_and_the_spec_applied_meanwhile_converges()
 {
    let started = Instant::now();
    let cluster = workload_cluster(CUT_CLUSTER).await;
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    // The agent dials the proxy at 127.0.0.1, an address the cell's certificate names.
    let mut proxy = TcpProxy::start(cell.grpc_addr()).await.unwrap();
    let proxy_url = format!("https://{}", proxy.addr());
    let agent = Agent::register_via(&cell, &proxy_url, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();
    let name = "hello-cut";
    let dir = tempfile::tempdir().unwrap();
    let two = write_documents(dir.path(), "two.yaml", &[hello_on(name, CUT_CLUSTER, 2)]);
    ctl.apply(&two).await.unwrap();
    let before = wait_held(&ctl, &client, NAMESPACE, name).await;

    proxy.cut().await;
    let cut_at = tokio::time::Instant::now();
    wait_connected(&ctl, CUT_CLUSTER, false).await;
    // A change during the cut: accepted by the cell, not deliverable.
    let three = write_documents(dir.path(), "three.yaml", &[hello_on(name, CUT_CLUSTER, 3)]);
    ctl.apply(&three).await.unwrap();
    let during = view(&ctl, NAMESPACE, name).await;
    assert_eq!(during.generation, before.generation + 1);
    assert_eq!(replicas_of(&client, name).await, Some(2));

    // Cut off from the cell, the agent still corrects drift on its own: the Service deleted by
    // hand comes back (a new object, from the agent's stored manifests) while the link is down.
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let deleted_uid = services.get(name).await.unwrap().metadata.uid;
    services
        .delete(name, &DeleteParams::default())
        .await
        .unwrap();
    wait_until(
        "the agent to recreate the deleted Service during the cut",
        SETTLE,
        || async {
            let live = services.get_opt(name).await?;
            Ok(live.filter(|s| s.metadata.uid != deleted_uid).map(|_| ()))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        agent.log().matches(SESSION_ESTABLISHED).count(),
        1,
        "corrected without a session"
    );
    // The objects as they are before the heal (the recreated Service is a new one): the spec
    // applied during the cut must converge on these, not on copies.
    let uids = uids_of(&client, name).await;

    // The fault lasts CUT; this wait is the scenario, not an assertion.
    tokio::time::sleep_until(cut_at + CUT).await;
    assert_eq!(
        agent.log().matches(SESSION_ESTABLISHED).count(),
        1,
        "no session through a cut link:\n{}",
        agent.log()
    );
    let accepted_at_heal = proxy.accepted();
    let delays = retry_delays(&agent.log());
    proxy.heal().await.unwrap();

    // It reconnects on its own, after the heal.
    wait_until("the agent to reconnect after the heal", SETTLE, || async {
        Ok((agent.log().matches(SESSION_ESTABLISHED).count() == 2).then_some(()))
    })
    .await
    .unwrap();
    assert!(proxy.accepted() > accepted_at_heal);
    wait_connected(&ctl, CUT_CLUSTER, true).await;

    println!("reconnect waits during the cut (s): {delays:?}");
    // Jittered exponential backoff (lattice-protocol's Backoff: 1 s doubling to 30 s, up to
    // 25 % jitter on top): attempt k waits in [min(2^k, 30), 1.25 × min(2^k, 30)] s.
    assert!(delays.len() >= 5, "attempts during a 60 s cut: {delays:?}");
    for (k, delay) in delays.iter().enumerate() {
        let base = 2f64.powi(i32::try_from(k).unwrap()).min(30.0);
        assert!(
            (base..=base * 1.25).contains(delay),
            "attempt {k} waited {delay} s, expected {base}..{} s: {delays:?}",
            base * 1.25
        );
    }
    assert!(
        delays.iter().enumerate().any(|(k, d)| {
            let base = 2f64.powi(i32::try_from(k).unwrap()).min(30.0);
            *d > base
        }),
        "jitter spreads the waits: {delays:?}"
    );

    // The spec applied during the cut converges, on the same objects.
    let after = wait_held(&ctl, &client, NAMESPACE, name).await;
    assert_eq!(after.generation, during.generation);
    assert_eq!(replicas_of(&client, name).await, Some(3));
    assert_eq!(uids_of(&client, name).await, uids);
    assert_only(&client, name).await;
    println!("a_link_cut_for_a_minute: {:?}", started.elapsed());
}

/// The cell log's lines about failed requests (they carry the cause a client is not told).
fn failed_requests_logged(cell: &Cell) -> String {
    std::fs::read_to_string(cell.log_path())
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("request failed"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// 4. Postgres stopped and started under a running cell
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn postgres_restarted_under_the_cell_loses_no_acknowledged_write_and_the_cell_carries_on() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let pg_dir = dir.path().join("pg");
    let postgres = EmbeddedPostgres::start(&pg_dir).await.unwrap();
    let cluster = workload_cluster(PG_CLUSTER).await;
    let cell = Cell::start_with(CellOptions {
        database_url: Some(postgres.url().to_owned()),
        ..CellOptions::default()
    })
    .await
    .unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let _agent = Agent::register(&cell, &cluster, AgentOptions::default())
        .await
        .unwrap();
    let client = cluster.client().await.unwrap();

    // A writer applying new services one after another, recording what the cell answered.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let writer = {
        let ctl = ctl.clone();
        let dir = dir.path().to_path_buf();
        tokio::spawn(async move {
            let mut writes = Vec::new();
            for i in 0.. {
                if *stop_rx.borrow() {
                    break;
                }
                let name = format!("w-{i:03}");
                let file = write_documents(
                    &dir,
                    &format!("{name}.yaml"),
                    &[hello_on(&name, PG_CLUSTER, 1)],
                );
                let out = ctl
                    .run(&["apply", "-f", file.to_str().unwrap()])
                    .await
                    .unwrap();
                writes.push(Write {
                    name,
                    succeeded: out.success(),
                    stderr: out.stderr,
                });
            }
            writes
        })
    };
    // Two outages while the writer keeps going: a fast shutdown (sessions terminated, open
    // transactions rolled back, a checkpoint written), then an immediate one (SIGQUIT: no
    // checkpoint, the restart recovers from the WAL, as after a crash).
    let mut postgres = postgres;
    for (round, shutdown) in [Shutdown::Fast, Shutdown::Immediate]
        .into_iter()
        .enumerate()
    {
        let stored = ctl.services().await.unwrap().len();
        wait_until("more writes to succeed", SETTLE, || async {
            Ok(ctl
                .services()
                .await
                .map(|s| s.len() >= stored + 2)?
                .then_some(()))
        })
        .await
        .unwrap();
        postgres = outage(postgres, &pg_dir, shutdown, &ctl, dir.path(), round).await;

        // The cell carries on: a later apply succeeds and is delivered.
        let name = format!("after-restart-{round}");
        let later = write_documents(
            dir.path(),
            &format!("{name}.yaml"),
            &[hello_on(&name, PG_CLUSTER, 2)],
        );
        ctl.apply(&later).await.unwrap();
        wait_held(&ctl, &client, NAMESPACE, &name).await;
        assert_eq!(replicas_of(&client, &name).await, Some(2));
    }

    stop_tx.send(true).unwrap();
    let writes = writer.await.unwrap();
    let succeeded: Vec<&Write> = writes.iter().filter(|w| w.succeeded).collect();
    let failed: Vec<&Write> = writes.iter().filter(|w| !w.succeeded).collect();
    println!(
        "writer: {} writes, {} succeeded, {} failed",
        writes.len(),
        succeeded.len(),
        failed.len()
    );
    assert!(succeeded.len() >= 4, "{writes:?}");
    for write in &failed {
        assert!(
            write.stderr.contains(UNAVAILABLE),
            "{}: {}\nthe cell logged:\n{}",
            write.name,
            write.stderr,
            failed_requests_logged(&cell)
        );
    }

    // Every write that returned success is there (read back through the API); the writes
    // refused during the outages are not.
    let present: BTreeSet<String> = ctl
        .services()
        .await
        .unwrap()
        .iter()
        .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    for write in &succeeded {
        assert!(
            present.contains(&write.name),
            "{} returned success but is gone: {present:?}",
            write.name
        );
    }
    for round in 0..2 {
        assert!(
            !present.contains(&format!("during-outage-{round}")),
            "{present:?}"
        );
    }
    drop(cell);
    postgres.stop().await.unwrap();
    println!("postgres_restarted_under_the_cell: {:?}", started.elapsed());
}
