//! Quota admission under concurrency, on a real Postgres (the embedded one): 64 admissions at
//! once, each in its own task, connection and transaction, through the same store path as
//! `POST /v1/apply` (`Store::apply_specs`: spec row, quota row locks, ledger, release).
//! Each scenario is repeated 20 times with a fresh team.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use lattice_cell::apply::quota_document::parse_quota;
use lattice_cell::revision::{Revision, RevisionLayer};
use lattice_cell::spec_key::SpecKey;
use lattice_cell::store::Store;
use lattice_cell::store::embedded::EmbeddedPostgres;
use lattice_cell::store::namespaces::{self, NamespaceWrite};
use lattice_cell::store::quotas;
use lattice_cell::store::specs::SpecWrite;
use lattice_derive::quota::GROUP_LABEL;
use lattice_derive::{PodDemand, ResourceDemand};
use serde_json::json;
use tokio::sync::Barrier;

const WORKLOADS: usize = 64;
const ROUNDS: usize = 20;
const CPU_EACH: u64 = 250;

struct Fixture {
    store: Store,
    _pg: EmbeddedPostgres,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pg = EmbeddedPostgres::start(dir.path().join("pg"))
        .await
        .unwrap();
    // One connection per concurrent admission, plus a few for the checks.
    let store = Store::connect_with_pool_size(pg.url(), WORKLOADS as u32 + 8)
        .await
        .unwrap();
    store
        .create_cluster("edge-1", &Default::default(), "test")
        .await
        .unwrap();
    Fixture {
        store,
        _pg: pg,
        _dir: dir,
    }
}

async fn declare_namespace(store: &Store, name: &str, group: Option<&str>) {
    let mut tx = store.pool().begin().await.unwrap();
    let labels = group
        .map(|g| [(GROUP_LABEL.to_string(), g.to_string())].into())
        .unwrap_or_default();
    namespaces::upsert(
        &mut tx,
        &NamespaceWrite {
            name: name.into(),
            labels,
            annotations: Default::default(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn put_quota(store: &Store, name: &str, principal: &str, cpu_millicores: u64) {
    let doc = parse_quota(json!({
        "apiVersion": "lattice.dev/v1alpha1",
        "kind": "LatticeQuota",
        "metadata": {"name": name},
        "spec": {"principal": principal, "limits": {"cpu": format!("{cpu_millicores}m")}},
    }))
    .unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    quotas::upsert(&mut tx, &doc.quota, &doc.document)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// One workload to admit.
#[derive(Clone)]
struct Workload {
    namespace: String,
    name: String,
    owner: Option<String>,
    cpu_millicores: u64,
}

/// Admits every workload at once (a barrier releases all tasks together); returns, per
/// workload, whether it was admitted.
async fn admit_concurrently(store: &Store, workloads: &[Workload]) -> Vec<bool> {
    let barrier = Arc::new(Barrier::new(workloads.len()));
    let tasks: Vec<_> = workloads
        .iter()
        .cloned()
        .map(|w| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let key = SpecKey::new("LatticeService", &w.namespace, &w.name);
                let document = json!({"spec": {"name": w.name}});
                let revision = Revision {
                    id: format!("{}-{}-r1", w.namespace, w.name),
                    layers: vec![RevisionLayer {
                        name: "workload".into(),
                        manifests: vec![
                            json!({"kind": "Deployment", "metadata": {"name": w.name}}),
                        ],
                    }],
                };
                let per_pod = PodDemand {
                    cpu_millicores: w.cpu_millicores,
                    memory_bytes: 64 << 20,
                    gpus: 0,
                };
                let demand = ResourceDemand::new(1, per_pod, None);
                barrier.wait().await;
                let applied = store
                    .apply_specs(
                        &[SpecWrite {
                            key: &key,
                            cluster: "edge-1",
                            document: &document,
                            revision: &revision,
                            owner: w.owner.as_deref(),
                            demand: &demand,
                        }],
                        "test",
                    )
                    .await
                    .unwrap();
                applied[0].admission.admitted()
            })
        })
        .collect();
    let mut admitted = Vec::new();
    for task in tasks {
        admitted.push(task.await.unwrap());
    }
    admitted
}

/// Workloads of `namespace` with a current (released) revision.
async fn released_in(store: &Store, namespace: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM specs WHERE namespace = $1 AND current_revision IS NOT NULL",
    )
    .bind(namespace)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn sixty_four_concurrent_admissions_admit_exactly_as_many_as_fit() {
    let f = fixture().await;
    for round in 0..ROUNDS {
        // K from 0 to 64 across the rounds, never the same twice in a row.
        let fits = (round * 29 + 3) % (WORKLOADS + 1);
        let (ns, group) = (format!("team-{round}"), format!("g{round}"));
        declare_namespace(&f.store, &ns, Some(&group)).await;
        let limit = fits as u64 * CPU_EACH;
        put_quota(
            &f.store,
            &format!("q{round}"),
            &format!("Lattice::Group::\"{group}\""),
            limit,
        )
        .await;
        let workloads: Vec<Workload> = (0..WORKLOADS)
            .map(|i| Workload {
                namespace: ns.clone(),
                name: format!("w{i}"),
                owner: None,
                cpu_millicores: CPU_EACH,
            })
            .collect();
        let admitted = admit_concurrently(&f.store, &workloads).await;
        let count = admitted.iter().filter(|a| **a).count();
        assert_eq!(count, fits, "round {round}: limit {limit}m");
        let (used, holders) = f.store.principal_usage("Group", &group).await.unwrap();
        assert_eq!(holders, fits as u64, "round {round}");
        assert_eq!(used.cpu_millicores, fits as u64 * CPU_EACH, "round {round}");
        assert!(
            used.cpu_millicores <= limit,
            "round {round}: over the limit"
        );
        assert_eq!(
            released_in(&f.store, &ns).await,
            fits as i64,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn with_overlapping_team_and_user_quotas_the_tighter_one_binds() {
    let f = fixture().await;
    for round in 0..ROUNDS {
        let (ns, group, user) = (
            format!("shop-{round}"),
            format!("commerce-{round}"),
            format!("dev{round}@example.com"),
        );
        declare_namespace(&f.store, &ns, Some(&group)).await;
        // Alternate which quota is tighter; both always below 64.
        let (team_fits, user_fits) = if round % 2 == 0 {
            (7 + round, 40 - round)
        } else {
            (45 - round, 3 + round)
        };
        let tighter = team_fits.min(user_fits);
        let team_limit = team_fits as u64 * CPU_EACH;
        let user_limit = user_fits as u64 * CPU_EACH;
        put_quota(
            &f.store,
            &format!("team-{round}"),
            &format!("Lattice::Group::\"{group}\""),
            team_limit,
        )
        .await;
        put_quota(
            &f.store,
            &format!("user-{round}"),
            &format!("Lattice::User::\"{user}\""),
            user_limit,
        )
        .await;
        let workloads: Vec<Workload> = (0..WORKLOADS)
            .map(|i| Workload {
                namespace: ns.clone(),
                name: format!("w{i}"),
                owner: Some(user.clone()),
                cpu_millicores: CPU_EACH,
            })
            .collect();
        let admitted = admit_concurrently(&f.store, &workloads).await;
        assert_eq!(
            admitted.iter().filter(|a| **a).count(),
            tighter,
            "round {round}"
        );
        let (team_used, _) = f.store.principal_usage("Group", &group).await.unwrap();
        let (user_used, _) = f.store.principal_usage("User", &user).await.unwrap();
        assert_eq!(team_used.cpu_millicores, tighter as u64 * CPU_EACH);
        assert!(team_used.cpu_millicores <= team_limit && user_used.cpu_millicores <= user_limit);
        // Every refusal names the tighter quota.
        let reasons: Vec<(String, String)> = sqlx::query_as(
            "SELECT status->'admission'->>'quota', status->'admission'->>'message' FROM specs \
             WHERE namespace = $1 AND status->'admission'->>'admitted' = 'false'",
        )
        .bind(&ns)
        .fetch_all(f.store.pool())
        .await
        .unwrap();
        assert_eq!(reasons.len(), WORKLOADS - tighter);
        let (binding, budget) = if team_fits < user_fits {
            (format!("team-{round}"), "team budget")
        } else {
            (format!("user-{round}"), "user budget")
        };
        for (quota, message) in reasons {
            assert_eq!(quota, binding, "round {round}");
            assert!(message.contains(budget), "round {round}: {message}");
        }
    }
}

#[tokio::test]
async fn partly_overlapping_quotas_hold_their_limits_and_refuse_only_what_does_not_fit() {
    let f = fixture().await;
    for round in 0..ROUNDS {
        let group = format!("g{round}");
        let user = format!("u{round}");
        let (ns_a, ns_b, ns_c) = (
            format!("a-{round}"),
            format!("b-{round}"),
            format!("c-{round}"),
        );
        declare_namespace(&f.store, &ns_a, Some(&group)).await;
        declare_namespace(&f.store, &ns_b, Some(&group)).await;
        declare_namespace(&f.store, &ns_c, None).await;
        let team_limit = 3000 + 200 * round as u64;
        let user_limit = 5000 - 150 * round as u64;
        put_quota(
            &f.store,
            &format!("team-{round}"),
            &format!("Lattice::Group::\"{group}\""),
            team_limit,
        )
        .await;
        put_quota(
            &f.store,
            &format!("user-{round}"),
            &format!("Lattice::User::\"{user}\""),
            user_limit,
        )
        .await;
        // Mixed: team only, user only, both, neither; sizes 100m–400m.
        let workloads: Vec<Workload> = (0..WORKLOADS)
            .map(|i| Workload {
                namespace: [&ns_a, &ns_b, &ns_c][i % 3].clone(),
                name: format!("w{i}"),
                owner: (i % 4 != 0).then(|| user.clone()),
                cpu_millicores: ((i * 37 + round) % 4 + 1) as u64 * 100,
            })
            .collect();
        let admitted = admit_concurrently(&f.store, &workloads).await;
        let (team_used, _) = f.store.principal_usage("Group", &group).await.unwrap();
        let (user_used, _) = f.store.principal_usage("User", &user).await.unwrap();
        assert!(team_used.cpu_millicores <= team_limit, "round {round}");
        assert!(user_used.cpu_millicores <= user_limit, "round {round}");
        // The ledger holds exactly the admitted requests.
        let expect_team: u64 = workloads
            .iter()
            .zip(&admitted)
            .filter(|(w, a)| **a && w.namespace != ns_c)
            .map(|(w, _)| w.cpu_millicores)
            .sum();
        assert_eq!(team_used.cpu_millicores, expect_team, "round {round}");
        // Usage only grows during the round, so a refused workload still does not fit at the end
        // in at least one quota covering it: nothing was refused for a wrong reason.
        for (w, _) in workloads.iter().zip(&admitted).filter(|(_, a)| !**a) {
            let in_team = w.namespace != ns_c;
            let of_user = w.owner.is_some();
            let over_team = in_team && team_used.cpu_millicores + w.cpu_millicores > team_limit;
            let over_user = of_user && user_used.cpu_millicores + w.cpu_millicores > user_limit;
            assert!(
                over_team || over_user,
                "round {round}: {} refused but fits",
                w.name
            );
        }
        // Workloads no quota covers are always admitted.
        for (w, a) in workloads.iter().zip(&admitted) {
            if w.namespace == ns_c && w.owner.is_none() {
                assert!(*a, "round {round}: {} is covered by no quota", w.name);
            }
        }
    }
}
