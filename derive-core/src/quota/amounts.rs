//! The dimensions a quota limits and integer amounts of them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One resource dimension of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QuotaResource {
    /// CPU requests, in millicores.
    #[serde(rename = "cpu")]
    Cpu,
    /// Memory requests, in bytes.
    #[serde(rename = "memory")]
    Memory,
    /// GPUs (`nvidia.com/gpu`), a count.
    #[serde(rename = "nvidia.com/gpu")]
    Gpu,
    /// Estimated cost, in micro-dollars per hour.
    #[serde(rename = "cost")]
    Cost,
}

impl QuotaResource {
    /// Every dimension, in the order checks and messages use.
    pub const ALL: [QuotaResource; 4] = [
        QuotaResource::Cpu,
        QuotaResource::Memory,
        QuotaResource::Gpu,
        QuotaResource::Cost,
    ];

    /// The key used in `limits`, `maxPerWorkload` and `status.used`.
    pub const fn key(self) -> &'static str {
        match self {
            QuotaResource::Cpu => "cpu",
            QuotaResource::Memory => "memory",
            QuotaResource::Gpu => "nvidia.com/gpu",
            QuotaResource::Cost => "cost",
        }
    }

    /// The dimension with `key`, if any.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }
}

impl fmt::Display for QuotaResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Limits or caps: the dimensions a quota constrains, in canonical units. A missing key is
/// unconstrained.
pub type Limits = BTreeMap<QuotaResource, u64>;

/// Amounts of every dimension, in canonical units (millicores, bytes, GPUs, micro-dollars/h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amounts {
    /// CPU in millicores.
    pub cpu_millicores: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// GPUs.
    pub gpus: u64,
    /// Cost in micro-dollars per hour.
    pub cost_microdollars: u64,
}

impl Amounts {
    /// The amount of one dimension.
    pub const fn get(&self, resource: QuotaResource) -> u64 {
        match resource {
            QuotaResource::Cpu => self.cpu_millicores,
            QuotaResource::Memory => self.memory_bytes,
            QuotaResource::Gpu => self.gpus,
            QuotaResource::Cost => self.cost_microdollars,
        }
    }

    /// Sets the amount of one dimension.
    pub fn set(&mut self, resource: QuotaResource, value: u64) {
        match resource {
            QuotaResource::Cpu => self.cpu_millicores = value,
            QuotaResource::Memory => self.memory_bytes = value,
            QuotaResource::Gpu => self.gpus = value,
            QuotaResource::Cost => self.cost_microdollars = value,
        }
    }

    /// Dimension-wise sum, saturating (a saturated sum is over any limit anyway).
    pub fn saturating_add(&self, other: &Amounts) -> Amounts {
        let mut sum = Amounts::default();
        for r in QuotaResource::ALL {
            sum.set(r, self.get(r).saturating_add(other.get(r)));
        }
        sum
    }

    /// True if every dimension of `self` is at most that of `other`.
    pub fn fits_within(&self, other: &Amounts) -> bool {
        QuotaResource::ALL
            .into_iter()
            .all(|r| self.get(r) <= other.get(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for r in QuotaResource::ALL {
            assert_eq!(QuotaResource::from_key(r.key()), Some(r));
        }
        assert_eq!(QuotaResource::from_key("pods"), None);
    }

    #[test]
    fn sums_saturate() {
        let a = Amounts {
            cpu_millicores: u64::MAX,
            memory_bytes: 1,
            gpus: 2,
            cost_microdollars: 3,
        };
        let s = a.saturating_add(&a);
        assert_eq!(s.cpu_millicores, u64::MAX);
        assert_eq!(s.memory_bytes, 2);
        assert!(a.fits_within(&s));
        assert!(!s.fits_within(&a));
    }
}
