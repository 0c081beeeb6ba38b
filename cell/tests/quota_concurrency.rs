//! Quota admission under concurrency, on a real Postgres (a real cell's embedded one): 64 applies
//! at once, each in its own task with its own connection and transaction, through the production
//! path (`apply::apply_body`: spec row, derivation and authorization, quota row locks, ledger,
//! release). Each scenario is repeated 20 times with a fresh team.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{ANY_IMAGE, TEST_IMAGE, TestCell, policy_yaml};
use lattice_cell::{ApplyOptions, CellState, Verdict, apply_body};
use tokio::sync::Barrier;

const WORKLOADS: usize = 64;
const ROUNDS: usize = 20;
const CPU_EACH: u64 = 250;

/// A cell whose state has a pool large enough for 64 concurrent transactions, with every image
/// permitted (so only quota decides).
async fn fixture() -> (TestCell, CellState) {
    let cell = TestCell::start().await;
    cell.cluster("edge-1").await;
    cell.apply_ok(&policy_yaml("images", ANY_IMAGE)).await;
    let mut state = cell.cell().state.clone();
    state.store = state
        .store
        .with_pool_size(WORKLOADS as u32 + 8)
        .await
        .unwrap();
    (cell, state)
}

async fn apply(state: &CellState, body: &str) {
    apply_body(state, body, "test", ApplyOptions::default())
        .await
        .unwrap();
}

fn team(ns: &str, group: Option<&str>) -> String {
    let labels = group.map_or(String::new(), |g| {
        format!("  labels:\n    lattice.dev/group: {g}\n")
    });
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n{labels}---\n")
}

fn quota(name: &str, principal: &str, cpu_millicores: u64) -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1\nkind: LatticeQuota\nmetadata:\n  name: {name}\nspec:\n  principal: '{principal}'\n  limits:\n    cpu: {cpu_millicores}m\n---\n"
    )
}

/// One workload to admit.
#[derive(Clone)]
struct Workload {
    namespace: String,
    name: String,
    owner: Option<String>,
    cpu_millicores: u64,
}

impl Workload {
    fn yaml(&self) -> String {
        let owner = self.owner.as_ref().map_or(String::new(), |o| {
            format!("  annotations:\n    lattice.dev/owner: {o}\n")
        });
        format!(
            "apiVersion: lattice.dev/v1alpha1\nkind: LatticeService\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    lattice.dev/cluster: edge-1\n{owner}spec:\n  workload:\n    containers:\n      main:\n        image: {TEST_IMAGE}\n        command: [/app/api]\n        resources:\n          requests: {{cpu: {}m, memory: 64Mi}}\n",
            self.name, self.namespace, self.cpu_millicores
        )
    }
}

/// Applies every workload at once (a barrier releases all tasks together); returns, per
/// workload, whether its revision was admitted and released.
async fn admit_concurrently(state: &CellState, workloads: &[Workload]) -> Vec<bool> {
    let barrier = Arc::new(Barrier::new(workloads.len()));
    let tasks: Vec<_> = workloads
        .iter()
        .map(|w| {
            let state = state.clone();
            let barrier = barrier.clone();
            let body = w.yaml();
            tokio::spawn(async move {
                barrier.wait().await;
                let report = apply_body(&state, &body, "test", ApplyOptions::default())
                    .await
                    .unwrap();
                match &report.services[0].outcome.verdict {
                    Verdict::Released { .. } => true,
                    Verdict::NotAdmitted(_) => false,
                    other => panic!("neither admitted nor refused by quota: {other:?}"),
                }
            })
        })
        .collect();
    let mut admitted = Vec::new();
    for task in tasks {
        admitted.push(task.await.unwrap());
    }
    admitted
}

/// Workloads of `namespace` with a released revision.
async fn released_in(state: &CellState, namespace: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM specs WHERE namespace = $1 AND current_revision IS NOT NULL",
    )
    .bind(namespace)
    .fetch_one(state.store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn sixty_four_concurrent_admissions_admit_exactly_as_many_as_fit() {
    let (cell, state) = fixture().await;
    for round in 0..ROUNDS {
        // K from 0 to 64 across the rounds, never the same twice in a row.
        let fits = (round * 29 + 3) % (WORKLOADS + 1);
        let (ns, group) = (format!("team-{round}"), format!("g{round}"));
        let limit = fits as u64 * CPU_EACH;
        let principal = format!("Lattice::Group::\"{group}\"");
        apply(
            &state,
            &format!(
                "{}{}",
                team(&ns, Some(&group)),
                quota(&format!("q{round}"), &principal, limit)
            ),
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
        let admitted = admit_concurrently(&state, &workloads).await;
        let count = admitted.iter().filter(|a| **a).count();
        assert_eq!(count, fits, "round {round}: limit {limit}m");
        let (used, holders) = state.store.principal_usage("Group", &group).await.unwrap();
        assert_eq!(holders, fits as u64, "round {round}");
        assert_eq!(used.cpu_millicores, fits as u64 * CPU_EACH, "round {round}");
        assert!(
            used.cpu_millicores <= limit,
            "round {round}: over the limit"
        );
        assert_eq!(released_in(&state, &ns).await, fits as i64, "round {round}");
    }
    cell.stop().await;
}

#[tokio::test]
async fn with_overlapping_team_and_user_quotas_the_tighter_one_binds() {
    let (cell, state) = fixture().await;
    for round in 0..ROUNDS {
        let (ns, group, user) = (
            format!("shop-{round}"),
            format!("commerce-{round}"),
            format!("dev{round}@example.com"),
        );
        // Alternate which quota is tighter; both always below 64.
        let (team_fits, user_fits) = if round % 2 == 0 {
            (7 + round, 40 - round)
        } else {
            (45 - round, 3 + round)
        };
        let tighter = team_fits.min(user_fits);
        let team_limit = team_fits as u64 * CPU_EACH;
        let user_limit = user_fits as u64 * CPU_EACH;
        apply(
            &state,
            &format!(
                "{}{}{}",
                team(&ns, Some(&group)),
                quota(
                    &format!("team-{round}"),
                    &format!("Lattice::Group::\"{group}\""),
                    team_limit
                ),
                quota(
                    &format!("user-{round}"),
                    &format!("Lattice::User::\"{user}\""),
                    user_limit
                )
            ),
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
        let admitted = admit_concurrently(&state, &workloads).await;
        assert_eq!(
            admitted.iter().filter(|a| **a).count(),
            tighter,
            "round {round}"
        );
        let (team_used, _) = state.store.principal_usage("Group", &group).await.unwrap();
        let (user_used, _) = state.store.principal_usage("User", &user).await.unwrap();
        assert_eq!(team_used.cpu_millicores, tighter as u64 * CPU_EACH);
        assert!(team_used.cpu_millicores <= team_limit && user_used.cpu_millicores <= user_limit);
        // Every refusal names the tighter quota's budget.
        let messages: Vec<String> = sqlx::query_scalar(
            "SELECT c->>'message' FROM specs, jsonb_array_elements(status->'conditions') c \
             WHERE namespace = $1 AND c->>'type' = 'QuotaExceeded' AND c->>'status' = 'True'",
        )
        .bind(&ns)
        .fetch_all(state.store.pool())
        .await
        .unwrap();
        assert_eq!(messages.len(), WORKLOADS - tighter, "round {round}");
        let (budget, limit) = if team_fits < user_fits {
            ("team budget", team_limit)
        } else {
            ("user budget", user_limit)
        };
        for message in messages {
            assert!(
                message.contains(&format!(
                    "({budget} {limit}m, {limit}m in use, 0m available)"
                )),
                "round {round}: {message}"
            );
        }
    }
    cell.stop().await;
}

#[tokio::test]
async fn partly_overlapping_quotas_hold_their_limits_and_refuse_only_what_does_not_fit() {
    let (cell, state) = fixture().await;
    for round in 0..ROUNDS {
        let group = format!("g{round}");
        let user = format!("u{round}");
        let (ns_a, ns_b, ns_c) = (
            format!("a-{round}"),
            format!("b-{round}"),
            format!("c-{round}"),
        );
        let team_limit = 3000 + 200 * round as u64;
        let user_limit = 5000 - 150 * round as u64;
        apply(
            &state,
            &format!(
                "{}{}{}{}{}",
                team(&ns_a, Some(&group)),
                team(&ns_b, Some(&group)),
                team(&ns_c, None),
                quota(
                    &format!("team-{round}"),
                    &format!("Lattice::Group::\"{group}\""),
                    team_limit
                ),
                quota(
                    &format!("user-{round}"),
                    &format!("Lattice::User::\"{user}\""),
                    user_limit
                )
            ),
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
        let admitted = admit_concurrently(&state, &workloads).await;
        let (team_used, _) = state.store.principal_usage("Group", &group).await.unwrap();
        let (user_used, _) = state.store.principal_usage("User", &user).await.unwrap();
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
    cell.stop().await;
}
