//! Reading cost rates (the `--cost-rates` file and `PUT /v1/cost/rates`): YAML or JSON, strict,
//! every problem with its field path.

use lattice_derive::cost::CostRates;

use lattice_api::documents::split_documents;

/// Why rates were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatesError {
    /// Not YAML or JSON, empty, or several documents.
    #[error("{0}")]
    Syntax(String),
    /// A field is wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// Field path (empty for the document itself).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads one rates document.
pub fn parse_rates(text: &str) -> Result<CostRates, RatesError> {
    let mut values = split_documents(text).map_err(|e| RatesError::Syntax(e.to_string()))?;
    if values.len() != 1 {
        return Err(RatesError::Syntax(
            "expected exactly one rates document".to_string(),
        ));
    }
    let rates: CostRates = serde_path_to_error::deserialize(values.remove(0)).map_err(|err| {
        let path = err.path().to_string();
        RatesError::Invalid {
            field: if path == "." { String::new() } else { path },
            message: err.into_inner().to_string(),
        }
    })?;
    rates.validate().map_err(|e| RatesError::Invalid {
        field: e.field,
        message: e.message,
    })?;
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lattice_derive::cost::MicroDollars;

    #[test]
    fn yaml_and_json_rates_are_read() {
        let yaml = parse_rates("cpu: 0.031\nmemory: 0.004\ngpu: {NVIDIA-L4: 0.8}\n").unwrap();
        let json =
            parse_rates(r#"{"cpu": "0.031", "memory": 0.004, "gpu": {"NVIDIA-L4": "0.80"}}"#)
                .unwrap();
        assert_eq!(yaml, json);
        assert_eq!(yaml.gpu["NVIDIA-L4"], MicroDollars(800_000));
    }

    #[test]
    fn problems_name_their_field() {
        let err = parse_rates("cpu: 0.04\nmemory: abc\n").unwrap_err();
        assert!(
            matches!(&err, RatesError::Invalid { field, .. } if field == "memory"),
            "{err}"
        );
        let err = parse_rates("cpu: 0.04\n").unwrap_err();
        assert!(err.to_string().contains("memory"), "{err}");
        assert!(matches!(parse_rates(""), Err(RatesError::Syntax(_))));
    }
}
