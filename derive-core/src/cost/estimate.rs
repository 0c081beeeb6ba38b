//! The hourly cost of a workload: requested vCPUs × the CPU rate + requested GiB × the memory
//! rate + GPUs × the rate of their model, over all replicas. Each part is rounded up to the
//! micro-unit, so an estimate is never below the exact price.

use serde::{Deserialize, Serialize};

use super::money::MicroDollars;
use super::rates::CostRates;
use crate::demand::ResourceDemand;

const MILLICORES_PER_VCPU: u128 = 1000;
const BYTES_PER_GIB: u128 = 1 << 30;

/// The parts of an hourly estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CostBreakdown {
    /// CPU.
    pub cpu: MicroDollars,
    /// Memory.
    pub memory: MicroDollars,
    /// GPUs.
    pub gpu: MicroDollars,
}

impl CostBreakdown {
    /// The sum of the parts.
    pub fn total(&self) -> MicroDollars {
        self.cpu
            .saturating_add(self.memory)
            .saturating_add(self.gpu)
    }

    /// Part-wise sum.
    pub fn saturating_add(&self, other: &CostBreakdown) -> CostBreakdown {
        CostBreakdown {
            cpu: self.cpu.saturating_add(other.cpu),
            memory: self.memory.saturating_add(other.memory),
            gpu: self.gpu.saturating_add(other.gpu),
        }
    }
}

/// The estimated cost of a workload per hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    /// Currency of the amounts.
    pub currency: String,
    /// Total per hour.
    pub hourly: MicroDollars,
    /// Its parts.
    pub breakdown: CostBreakdown,
}

/// Why there is no estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CostError {
    /// GPUs are requested and neither their model nor `default` has a rate.
    #[error("no rate for GPU model {} and no default GPU rate", .model.as_deref().map_or_else(|| "(none given)".to_string(), |m| format!("{m:?}")))]
    NoGpuRate {
        /// The GPU model asked for.
        model: Option<String>,
    },
}

/// Estimate of a workload's demand.
pub fn estimate(demand: &ResourceDemand, rates: &CostRates) -> Result<CostEstimate, CostError> {
    estimate_usage(
        demand.cpu_millicores,
        demand.memory_bytes,
        demand.gpus,
        demand.gpu_model.as_deref(),
        rates,
    )
}

/// Estimate of total requests (already multiplied by replicas).
pub fn estimate_usage(
    cpu_millicores: u64,
    memory_bytes: u64,
    gpus: u64,
    gpu_model: Option<&str>,
    rates: &CostRates,
) -> Result<CostEstimate, CostError> {
    let gpu = if gpus == 0 {
        MicroDollars(0)
    } else {
        let rate = rates
            .gpu_rate(gpu_model)
            .ok_or_else(|| CostError::NoGpuRate {
                model: gpu_model.map(str::to_string),
            })?;
        MicroDollars(gpus.saturating_mul(rate.0))
    };
    let breakdown = CostBreakdown {
        cpu: scaled_up(cpu_millicores, rates.cpu, MILLICORES_PER_VCPU),
        memory: scaled_up(memory_bytes, rates.memory, BYTES_PER_GIB),
        gpu,
    };
    Ok(CostEstimate {
        currency: rates.currency.clone(),
        hourly: breakdown.total(),
        breakdown,
    })
}

/// `ceil(amount × rate / per)`, saturating.
fn scaled_up(amount: u64, rate: MicroDollars, per: u128) -> MicroDollars {
    let exact = (u128::from(amount) * u128::from(rate.0)).div_ceil(per);
    MicroDollars(u64::try_from(exact).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demand::PodDemand;

    #[test]
    fn three_replicas_of_half_a_core_and_a_gib_at_default_rates() {
        let per_pod = PodDemand {
            cpu_millicores: 500,
            memory_bytes: 1 << 30,
            gpus: 0,
        };
        let e = estimate(
            &ResourceDemand::new(3, per_pod, None),
            &CostRates::default(),
        )
        .unwrap();
        // 1.5 vCPU × 0.04 = 0.06; 3 GiB × 0.005 = 0.015.
        assert_eq!(e.breakdown.cpu, MicroDollars(60_000));
        assert_eq!(e.breakdown.memory, MicroDollars(15_000));
        assert_eq!(e.breakdown.gpu, MicroDollars(0));
        assert_eq!(e.hourly, MicroDollars(75_000));
        assert_eq!(e.currency, "USD");
    }

    #[test]
    fn gpus_are_priced_by_model_or_refused_without_a_rate() {
        let mut rates = CostRates::default();
        rates
            .gpu
            .insert("nvidia-h100".into(), MicroDollars(4_000_000));
        let e = estimate_usage(0, 0, 2, Some("nvidia-h100"), &rates).unwrap();
        assert_eq!(e.breakdown.gpu, MicroDollars(8_000_000));
        let e = estimate_usage(0, 0, 1, Some("t4"), &rates).unwrap();
        assert_eq!(e.breakdown.gpu, MicroDollars(2_500_000), "default rate");
        rates.gpu.remove("default");
        let err = estimate_usage(0, 0, 1, Some("t4"), &rates).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no rate for GPU model \"t4\" and no default GPU rate"
        );
        assert!(
            estimate_usage(100, 0, 0, Some("t4"), &rates).is_ok(),
            "no GPU, no GPU rate needed"
        );
    }

    #[test]
    fn parts_round_up_to_the_micro_unit() {
        let rates = CostRates {
            cpu: MicroDollars(1),
            memory: MicroDollars(1),
            ..CostRates::default()
        };
        let e = estimate_usage(1, 1, 0, None, &rates).unwrap();
        assert_eq!(e.breakdown.cpu, MicroDollars(1));
        assert_eq!(e.breakdown.memory, MicroDollars(1));
    }
}
