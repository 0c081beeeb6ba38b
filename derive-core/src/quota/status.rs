//! The status of a quota, from its validated spec and what the ledger says its covered
//! workloads hold.

use std::collections::BTreeMap;

use super::amounts::{Amounts, QuotaResource};
use super::format::{amount, quantity};
use super::spec::{LatticeQuotaStatus, QuotaPhase};
use super::validate::Quota;
use crate::error::FieldError;

/// Status of a quota: `Invalid` if the stored spec does not validate, `Disabled` if not enforced,
/// `Exceeded` if usage is over a limit, else `Active`. `used` lists the limited dimensions (and
/// any other dimension the covered workloads hold).
pub fn quota_status(
    quota: &Result<Quota, Vec<FieldError>>,
    used: &Amounts,
    workload_count: u64,
    generation: Option<i64>,
) -> LatticeQuotaStatus {
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    for r in QuotaResource::ALL {
        let limited = quota.as_ref().is_ok_and(|q| q.limits.contains_key(&r));
        if limited || used.get(r) > 0 {
            shown.insert(r.key().to_string(), quantity(r, used.get(r)));
        }
    }
    let (phase, message) = match quota {
        Err(errors) => (
            QuotaPhase::Invalid,
            Some(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Ok(q) if !q.enabled => (
            QuotaPhase::Disabled,
            Some("enabled is false: the quota is not enforced".to_string()),
        ),
        Ok(q) => {
            let over: Vec<String> = q
                .limits
                .iter()
                .filter(|(r, limit)| used.get(**r) > **limit)
                .map(|(r, limit)| {
                    format!(
                        "{r} {} in use over the limit {}",
                        amount(*r, used.get(*r)),
                        amount(*r, *limit)
                    )
                })
                .collect();
            if over.is_empty() {
                (QuotaPhase::Active, None)
            } else {
                (
                    QuotaPhase::Exceeded,
                    Some(format!(
                        "{}; admitted workloads keep running, nothing that grows usage is admitted",
                        over.join(", ")
                    )),
                )
            }
        }
    };
    LatticeQuotaStatus {
        phase,
        used: shown,
        workload_count,
        message,
        observed_generation: generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::amounts::Limits;
    use crate::quota::principal::QuotaPrincipal;

    fn team(limit: u64) -> Quota {
        Quota {
            name: "commerce".into(),
            principal: QuotaPrincipal::Group("commerce".into()),
            limits: Limits::from([(QuotaResource::Cpu, limit)]),
            max_per_workload: Limits::new(),
            enabled: true,
        }
    }

    fn cpu(m: u64) -> Amounts {
        Amounts {
            cpu_millicores: m,
            ..Amounts::default()
        }
    }

    #[test]
    fn phases_follow_usage_and_flags() {
        let s = quota_status(&Ok(team(2000)), &cpu(1200), 3, Some(1));
        assert_eq!(s.phase, QuotaPhase::Active);
        assert_eq!(s.used["cpu"], "1200m");
        assert_eq!(s.workload_count, 3);
        let s = quota_status(&Ok(team(1000)), &cpu(1200), 3, Some(2));
        assert_eq!(s.phase, QuotaPhase::Exceeded);
        assert!(
            s.message
                .unwrap()
                .contains("1200m in use over the limit 1000m")
        );
        let mut disabled = team(1000);
        disabled.enabled = false;
        let s = quota_status(&Ok(disabled), &cpu(1200), 3, None);
        assert_eq!(s.phase, QuotaPhase::Disabled);
        let s = quota_status(
            &Err(vec![FieldError::new("spec.principal", "bad")]),
            &Amounts::default(),
            0,
            None,
        );
        assert_eq!(s.phase, QuotaPhase::Invalid);
        assert_eq!(s.message.as_deref(), Some("spec.principal: bad"));
    }

    #[test]
    fn limited_dimensions_are_shown_even_when_unused() {
        let s = quota_status(&Ok(team(2000)), &Amounts::default(), 0, None);
        assert_eq!(s.used.get("cpu").map(String::as_str), Some("0m"));
        assert!(!s.used.contains_key("memory"));
    }
}
