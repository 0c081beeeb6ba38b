//! Cost math (issue 7): configurable rates, the hourly estimate of one workload with its
//! breakdown, and showback aggregated by team, namespace or cluster. Money is integer
//! micro-units of one currency ([`MicroDollars`]), so sums are exact and a cost budget can be a
//! quota dimension like CPU. Estimates are point-in-time list prices, not billing.

pub mod estimate;
pub mod money;
pub mod rates;
pub mod showback;

pub use estimate::{CostBreakdown, CostError, CostEstimate, estimate, estimate_usage};
pub use money::{InvalidMoney, MICROS_PER_UNIT, MicroDollars};
pub use rates::{CostRates, DEFAULT_GPU_RATE_KEY, InvalidRates};
pub use showback::{
    HOURS_PER_MONTH, ShowbackDimension, ShowbackLine, ShowbackWorkload, UNASSIGNED_TEAM, showback,
};
