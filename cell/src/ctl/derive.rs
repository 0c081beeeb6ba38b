//! `latticectl derive`: derivation offline, with no cell — the same strict parsing and the same
//! `lattice_derive::derive_service` the cell runs, printing the objects grouped by apply layer.

use lattice_derive::{ApplyLayer, DeriveContext, derive_service};
use serde_json::{Value, json};

use super::client::CtlError;
use super::output::OutputFormat;
use crate::apply::cluster_of;
use crate::apply::documents::{BodyError, parse_services};

/// One input file and its text.
#[derive(Debug, Clone)]
pub struct Input {
    /// Name for messages (path or `-`).
    pub name: String,
    /// The YAML or JSON text.
    pub text: String,
}

/// Derives every service in `inputs`; `cluster` overrides the placement label. All field
/// errors of all files are reported together.
pub fn derive_all(
    inputs: &[Input],
    cluster: Option<&str>,
    trust_domain: &str,
) -> Result<Value, CtlError> {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        let documents = match parse_services(&input.text) {
            Ok(documents) => documents,
            Err(BodyError::Invalid(errors)) => {
                problems.extend(errors.iter().map(|e| {
                    format!(
                        "{}: document {}: {}: {}",
                        input.name, e.document, e.error.field, e.error.message
                    )
                }));
                continue;
            }
            Err(other) => {
                problems.push(format!("{}: {other}", input.name));
                continue;
            }
        };
        for doc in documents {
            let svc = &doc.service;
            let target = match cluster {
                Some(c) => c.to_string(),
                None => cluster_of(svc)
                    .map_or_else(|_| DeriveContext::default().cluster, |c| c.to_string()),
            };
            let ctx = DeriveContext {
                cluster: target.clone(),
                trust_domain: trust_domain.to_string(),
                ..DeriveContext::default()
            };
            match derive_service(svc, &ctx) {
                Ok(derived) => {
                    let layers: Vec<Value> = ApplyLayer::ALL
                        .into_iter()
                        .map(|layer| (layer, derived.layer(layer).map(|o| o.object.clone()).collect::<Vec<_>>()))
                        .filter(|(_, objects)| !objects.is_empty())
                        .map(|(layer, objects)| json!({ "name": layer.as_str(), "objects": objects }))
                        .collect();
                    items.push(json!({
                        "spec": format!("LatticeService/{}/{}", svc.metadata.namespace.as_deref().unwrap_or(""), svc.metadata.name.as_deref().unwrap_or("")),
                        "cluster": target,
                        "layers": layers,
                    }));
                }
                Err(e) => problems.extend(e.field_errors().iter().map(|f| {
                    format!(
                        "{}: document {}: {}: {}",
                        input.name, doc.index, f.field, f.message
                    )
                })),
            }
        }
    }
    if problems.is_empty() {
        Ok(json!({ "items": items }))
    } else {
        Err(CtlError::Invalid(format!(
            "invalid spec:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Renders derived items: YAML documents with a comment per layer, or one JSON/YAML value.
pub fn render(derived: &Value, format: OutputFormat) -> Result<String, CtlError> {
    if format != OutputFormat::Table {
        return super::output::structured(derived, format);
    }
    let mut out = String::new();
    for item in derived["items"].as_array().into_iter().flatten() {
        for layer in item["layers"].as_array().into_iter().flatten() {
            for object in layer["objects"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "---\n# {} (cluster {}), layer {}\n",
                    item["spec"].as_str().unwrap_or(""),
                    item["cluster"].as_str().unwrap_or(""),
                    layer["name"].as_str().unwrap_or("")
                ));
                out.push_str(
                    &serde_saphyr::to_string(object)
                        .map_err(|e| CtlError::Render(e.to_string()))?,
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Input {
        Input {
            name: "hello.yaml".into(),
            text: include_str!("../../../examples/hello.yaml").into(),
        }
    }

    #[test]
    fn derives_the_example_grouped_by_layer() {
        let derived = derive_all(&[hello()], None, "cluster.local").unwrap();
        let item = &derived["items"][0];
        assert_eq!(item["spec"], "LatticeService/demo/hello");
        assert_eq!(item["cluster"], "edge-1");
        let layers: Vec<&str> = item["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert_eq!(layers, vec!["infrastructure", "workload"]);
        let text = render(&derived, OutputFormat::Table).unwrap();
        assert!(
            text.contains("layer workload") && text.contains("kind: Deployment"),
            "{text}"
        );
    }

    #[test]
    fn invalid_specs_list_every_field_error_with_the_file() {
        let mut bad = hello();
        bad.text = bad
            .text
            .replace("port: 8080", "port: 0")
            .replace("replicas: 2", "replicas: 2\n  colour: red");
        let err = derive_all(&[bad], None, "cluster.local")
            .unwrap_err()
            .to_string();
        assert!(err.contains("hello.yaml: document 0: spec"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }
}
