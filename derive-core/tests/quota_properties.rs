//! Property tests of the quota check and the units behind it: a ledger driven only through
//! `check` never holds more than a limit, whatever the order of admissions, re-derivations,
//! scale-downs and deletions; denials report consistent numbers; amounts and money read back
//! exactly as they are printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use lattice_derive::cost::{CostRates, MicroDollars, estimate_usage};
use lattice_derive::quota::format::quantity;
use lattice_derive::quota::validate::canonical;
use lattice_derive::quota::{
    AdmissionRequest, Amounts, CostDemand, Limits, Quota, QuotaDenial, QuotaPrincipal,
    QuotaResource, QuotaSubject, QuotaUsage, check,
};
use proptest::prelude::*;

const WORKLOADS: usize = 6;

/// Workload `i`: namespace `ns{i % 3}` (group `g{i % 3 % 2}`), owner `u{i % 2}`.
fn subject(i: usize) -> QuotaSubject {
    QuotaSubject {
        namespace: format!("ns{}", i % 3),
        name: format!("w{i}"),
        group: Some(format!("g{}", i % 3 % 2)),
        owner: Some(format!("u{}", i % 2)),
    }
}

fn principal() -> impl Strategy<Value = QuotaPrincipal> {
    prop_oneof![
        (0..WORKLOADS).prop_map(|i| QuotaPrincipal::Service {
            namespace: format!("ns{}", i % 3),
            name: format!("w{i}")
        }),
        (0..2usize).prop_map(|g| QuotaPrincipal::Group(format!("g{g}"))),
        (0..2usize).prop_map(|u| QuotaPrincipal::User(format!("u{u}"))),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    prop::collection::btree_map(
        prop::sample::select(QuotaResource::ALL.to_vec()),
        0..5000u64,
        0..4,
    )
}

fn quota() -> impl Strategy<Value = Quota> {
    (
        principal(),
        limits(),
        limits(),
        prop::bool::weighted(0.85),
        0..1000u32,
    )
        .prop_map(|(principal, limits, caps, enabled, n)| Quota {
            name: format!("q{n}"),
            principal,
            limits,
            max_per_workload: caps,
            enabled,
        })
}

/// Quotas with distinct names, as the store keeps them (a name is a quota's primary key).
fn distinct_quotas(count: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Quota>> {
    prop::collection::vec(quota(), count).prop_map(|quotas| {
        quotas
            .into_iter()
            .enumerate()
            .map(|(i, q)| Quota {
                name: format!("{}-{i}", q.name),
                ..q
            })
            .collect()
    })
}

fn amounts() -> impl Strategy<Value = Amounts> {
    (0..2000u64, 0..2000u64, 0..4u64, 0..2000u64).prop_map(|(c, m, g, k)| Amounts {
        cpu_millicores: c,
        memory_bytes: m,
        gpus: g,
        cost_microdollars: k,
    })
}

#[derive(Debug, Clone)]
enum Step {
    /// Workload `i` asks to be admitted (or re-derived) with these amounts.
    Admit(usize, Amounts),
    /// Workload `i` is deleted.
    Delete(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..WORKLOADS, amounts()).prop_map(|(i, a)| Step::Admit(i, a)),
        1 => (0..WORKLOADS).prop_map(Step::Delete),
    ]
}

/// Usage of every quota covering workload `me`, from `ledger`, as the cell computes it.
fn usages<'a>(
    quotas: &'a [Quota],
    ledger: &BTreeMap<usize, Amounts>,
    me: usize,
) -> Vec<QuotaUsage<'a>> {
    quotas
        .iter()
        .filter(|q| q.principal.matches(&subject(me)))
        .map(|q| {
            let mut used_by_others = Amounts::default();
            for (other, held) in ledger {
                if *other != me && q.principal.matches(&subject(*other)) {
                    used_by_others = used_by_others.saturating_add(held);
                }
            }
            QuotaUsage {
                quota: q,
                used_by_others,
                held: ledger.get(&me).copied().unwrap_or_default(),
            }
        })
        .collect()
}

fn used(q: &Quota, ledger: &BTreeMap<usize, Amounts>) -> Amounts {
    ledger
        .iter()
        .filter(|(i, _)| q.principal.matches(&subject(**i)))
        .fold(Amounts::default(), |acc, (_, a)| acc.saturating_add(a))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_ledger_driven_through_check_never_exceeds_a_limit(
        quotas in prop::collection::vec(quota(), 1..4),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let mut ledger: BTreeMap<usize, Amounts> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Delete(i) => { ledger.remove(&i); }
                Step::Admit(i, amounts) => {
                    let request = AdmissionRequest {
                        workload: format!("Service w{i}"),
                        amounts,
                        cost: CostDemand::Known,
                    };
                    if check(&request, &usages(&quotas, &ledger, i)).is_ok() {
                        ledger.insert(i, amounts);
                    }
                }
            }
            for q in quotas.iter().filter(|q| q.enabled) {
                let used = used(q, &ledger);
                for (resource, limit) in &q.limits {
                    prop_assert!(used.get(*resource) <= *limit,
                        "{} {resource}: {} > {limit}", q.name, used.get(*resource));
                }
                for i in ledger.keys().filter(|i| q.principal.matches(&subject(**i))) {
                    for (resource, cap) in &q.max_per_workload {
                        prop_assert!(ledger[i].get(*resource) <= *cap);
                    }
                }
            }
        }
    }

    #[test]
    fn a_denial_reports_numbers_that_explain_it(
        quotas in distinct_quotas(1..4),
        others in amounts(),
        held in amounts(),
        wanted in amounts(),
    ) {
        let usage: Vec<QuotaUsage<'_>> = quotas
            .iter()
            .map(|q| QuotaUsage { quota: q, used_by_others: others, held })
            .collect();
        let request = AdmissionRequest {
            workload: "Service checkout".into(),
            amounts: wanted,
            cost: CostDemand::Known,
        };
        match check(&request, &usage) {
            Ok(()) => {
                for q in quotas.iter().filter(|q| q.enabled) {
                    for r in QuotaResource::ALL {
                        if let Some(cap) = q.max_per_workload.get(&r) {
                            prop_assert!(wanted.get(r) <= *cap);
                        }
                        if let Some(limit) = q.limits.get(&r) {
                            prop_assert!(
                                others.get(r).saturating_add(wanted.get(r)) <= *limit
                                    || wanted.get(r) <= held.get(r)
                            );
                        }
                    }
                }
            }
            Err(QuotaDenial::OverBudget { requested, limit, in_use, available, resource, quota, .. }) => {
                prop_assert_eq!(available, limit.saturating_sub(in_use));
                prop_assert!(requested > available);
                prop_assert!(requested > held.get(resource));
                let q = quotas.iter().find(|q| q.name == quota).unwrap();
                prop_assert!(q.enabled);
                prop_assert_eq!(q.limits.get(&resource), Some(&limit));
            }
            Err(QuotaDenial::OverCap { requested, cap, .. }) => prop_assert!(requested > cap),
            Err(QuotaDenial::CostUnknown { .. }) => prop_assert!(false, "cost was known"),
        }
        // The order the cell lists quotas in does not change the answer.
        let mut reversed = usage.clone();
        reversed.reverse();
        prop_assert_eq!(check(&request, &usage), check(&request, &reversed));
    }

    #[test]
    fn printed_quantities_read_back_exactly(cpu in any::<u64>(), memory in any::<u64>(), gpus in any::<u64>(), cost in any::<u64>()) {
        prop_assert_eq!(canonical(QuotaResource::Cpu, &quantity(QuotaResource::Cpu, cpu / 1000)), Ok(cpu / 1000));
        prop_assert_eq!(canonical(QuotaResource::Memory, &quantity(QuotaResource::Memory, memory)), Ok(memory));
        prop_assert_eq!(canonical(QuotaResource::Gpu, &quantity(QuotaResource::Gpu, gpus)), Ok(gpus));
        prop_assert_eq!(canonical(QuotaResource::Cost, &quantity(QuotaResource::Cost, cost)), Ok(cost));
        prop_assert_eq!(MicroDollars::parse(&MicroDollars(cost).to_string()), Ok(MicroDollars(cost)));
    }

    #[test]
    fn more_resources_never_cost_less(
        a in (0..1_000_000u64, 0..(1u64 << 40), 0..8u64),
        extra in (0..1_000_000u64, 0..(1u64 << 40), 0..8u64),
    ) {
        let rates = CostRates::default();
        let small = estimate_usage(a.0, a.1, a.2, None, &rates).unwrap();
        let big = estimate_usage(a.0 + extra.0, a.1 + extra.1, a.2 + extra.2, None, &rates).unwrap();
        prop_assert!(big.hourly >= small.hourly);
        prop_assert_eq!(small.hourly, small.breakdown.total());
    }
}
