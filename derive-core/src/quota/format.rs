//! Amounts as people read them in messages and status: CPU in millicores (`1500m`, as the book's
//! example reads), memory with the largest exact binary suffix (`3Gi`), GPUs as a count, cost as
//! money per hour.

use super::amounts::QuotaResource;
use crate::cost::MicroDollars;

const BINARY_SUFFIXES: [(&str, u32); 6] = [
    ("Ei", 60),
    ("Pi", 50),
    ("Ti", 40),
    ("Gi", 30),
    ("Mi", 20),
    ("Ki", 10),
];

/// The amount as a Kubernetes quantity (`1500m`, `3Gi`, `2`, `1.25`): what `status.used` shows,
/// and what reads back to the same value.
pub fn quantity(resource: QuotaResource, value: u64) -> String {
    match resource {
        QuotaResource::Cpu => format!("{value}m"),
        QuotaResource::Memory => memory(value),
        QuotaResource::Gpu => value.to_string(),
        QuotaResource::Cost => MicroDollars(value).to_string(),
    }
}

/// The amount in a message: like [`quantity`], with cost as `$1.25/h`.
pub fn amount(resource: QuotaResource, value: u64) -> String {
    match resource {
        QuotaResource::Cost => format!("${}/h", MicroDollars(value)),
        other => quantity(other, value),
    }
}

/// What a workload requests, in a message: `1500m CPU`, `3Gi memory`, `2 nvidia.com/gpu`,
/// `an estimated $1.25/h`.
pub fn requested(resource: QuotaResource, value: u64) -> String {
    match resource {
        QuotaResource::Cpu => format!("{} CPU", amount(resource, value)),
        QuotaResource::Memory => format!("{} memory", amount(resource, value)),
        QuotaResource::Gpu => format!("{} nvidia.com/gpu", amount(resource, value)),
        QuotaResource::Cost => format!("an estimated {}", amount(resource, value)),
    }
}

/// Bytes with the largest binary suffix that divides them exactly (`1536Mi`, `3Gi`), else plain
/// bytes.
pub fn memory(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_string();
    }
    for (suffix, shift) in BINARY_SUFFIXES {
        if bytes.trailing_zeros() >= shift {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::quantity::{bytes, cpu_millicores};

    #[test]
    fn amounts_read_as_in_the_book() {
        assert_eq!(requested(QuotaResource::Cpu, 1500), "1500m CPU");
        assert_eq!(amount(QuotaResource::Cpu, 2000), "2000m");
        assert_eq!(requested(QuotaResource::Memory, 3 << 30), "3Gi memory");
        assert_eq!(amount(QuotaResource::Memory, 1536 << 20), "1536Mi");
        assert_eq!(amount(QuotaResource::Memory, 1000), "1000");
        assert_eq!(amount(QuotaResource::Memory, 0), "0");
        assert_eq!(requested(QuotaResource::Gpu, 2), "2 nvidia.com/gpu");
        assert_eq!(
            requested(QuotaResource::Cost, 1_250_000),
            "an estimated $1.25/h"
        );
    }

    #[test]
    fn quantities_read_back_to_the_same_value() {
        for v in [0, 1, 999, 1000, 1500, 123_456_789] {
            assert_eq!(cpu_millicores(&quantity(QuotaResource::Cpu, v)), Ok(v));
        }
        for v in [0, 1, 1023, 1024, 3 << 30, (1 << 40) + 1, u64::MAX >> 4] {
            assert_eq!(bytes(&quantity(QuotaResource::Memory, v)), Ok(v));
        }
    }
}
