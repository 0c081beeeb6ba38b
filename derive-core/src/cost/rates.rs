//! Rates: money per vCPU-hour, per GiB-hour of memory, and per GPU-hour by GPU model, in one
//! currency. Read from YAML or JSON (the cell's `--cost-rates` file or `PUT /v1/cost/rates`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::money::MicroDollars;

/// Key of `gpu` that prices GPUs of a model not listed (and GPUs with no model).
pub const DEFAULT_GPU_RATE_KEY: &str = "default";

/// Prices the cell estimates cost with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CostRates {
    /// ISO 4217 code of the currency the rates are in (default `USD`); a label only.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Per vCPU-hour (1000m requested for an hour).
    pub cpu: MicroDollars,
    /// Per GiB-hour of requested memory.
    pub memory: MicroDollars,
    /// Per GPU-hour by GPU model (the `model` of a `gpu` resource); `default` prices any other
    /// model. Without a matching rate a GPU workload has no estimate.
    #[serde(default)]
    pub gpu: BTreeMap<String, MicroDollars>,
}

fn default_currency() -> String {
    "USD".to_string()
}

/// Why rates were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidRates {
    /// The field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Default for CostRates {
    /// USD 0.04 per vCPU-hour, 0.005 per GiB-hour, 2.50 per GPU-hour for any model: round
    /// on-demand list prices of the large clouds, to be replaced by the platform's own.
    fn default() -> Self {
        Self {
            currency: default_currency(),
            cpu: MicroDollars(40_000),
            memory: MicroDollars(5_000),
            gpu: BTreeMap::from([(DEFAULT_GPU_RATE_KEY.to_string(), MicroDollars(2_500_000))]),
        }
    }
}

impl CostRates {
    /// Checks what serde cannot: the currency code and GPU model names.
    pub fn validate(&self) -> Result<(), InvalidRates> {
        if self.currency.len() != 3 || !self.currency.bytes().all(|c| c.is_ascii_uppercase()) {
            return Err(InvalidRates {
                field: "currency".into(),
                message: format!(
                    "{:?} is not an ISO 4217 code (three capital letters, e.g. USD)",
                    self.currency
                ),
            });
        }
        if let Some(model) = self
            .gpu
            .keys()
            .find(|m| m.trim().is_empty() || m.trim() != *m)
        {
            return Err(InvalidRates {
                field: format!("gpu[{model}]"),
                message: "a GPU model name must be non-empty with no surrounding spaces".into(),
            });
        }
        Ok(())
    }

    /// The rate of one GPU of `model` per hour: the model's own, else `default`.
    pub fn gpu_rate(&self, model: Option<&str>) -> Option<MicroDollars> {
        model
            .and_then(|m| self.gpu.get(m))
            .or_else(|| self.gpu.get(DEFAULT_GPU_RATE_KEY))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_rates_read_exactly_and_price_models() {
        let rates: CostRates = serde_saphyr::from_str(
            "currency: EUR\ncpu: 0.031\nmemory: \"0.004\"\ngpu:\n  default: 2\n  nvidia-h100: 4.25\n",
        )
        .unwrap();
        rates.validate().unwrap();
        assert_eq!(rates.cpu, MicroDollars(31_000));
        assert_eq!(rates.memory, MicroDollars(4_000));
        assert_eq!(
            rates.gpu_rate(Some("nvidia-h100")),
            Some(MicroDollars(4_250_000))
        );
        assert_eq!(rates.gpu_rate(Some("a10")), Some(MicroDollars(2_000_000)));
        assert_eq!(rates.gpu_rate(None), Some(MicroDollars(2_000_000)));
    }

    #[test]
    fn bad_rates_are_refused_with_their_field() {
        let err = serde_saphyr::from_str::<CostRates>("cpu: -1\nmemory: 1\n").unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
        let err = serde_saphyr::from_str::<CostRates>("cpu: 1\nmemory: 1\ndisk: 1\n").unwrap_err();
        assert!(err.to_string().contains("disk"), "{err}");
        let rates: CostRates =
            serde_saphyr::from_str("currency: usd\ncpu: 1\nmemory: 1\n").unwrap();
        assert_eq!(rates.validate().unwrap_err().field, "currency");
        let no_default: CostRates =
            serde_saphyr::from_str("cpu: 1\nmemory: 1\ngpu:\n  a100: 3\n").unwrap();
        assert_eq!(no_default.gpu_rate(Some("h100")), None);
    }
}
