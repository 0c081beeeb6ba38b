//! `latticectl derive`: derivation offline, with no cell — the same strict parsing, and with
//! `--policies` the same `lattice_derive::derive_and_authorize` the cell's derivation loop runs, so
//! a denied spec fails here with the cell's message. Prints the objects grouped by apply layer.

use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
use lattice_derive::{
    ApplyLayer, DeriveContext, DeriveError, derive_and_authorize, derive_service,
};
use serde_json::{Value, json};

use super::client::CtlError;
use super::inputs::Input;
use super::output::OutputFormat;
use crate::apply::cluster_of;
use crate::apply::documents::{BodyError, parse_policy, parse_services, split_documents};

/// Reads `--policies` inputs into one policy set: CedarPolicy documents (YAML/JSON), or raw Cedar
/// text from `.cedar` files (a document named after the file). Every problem is reported with its
/// file, document and line/column.
pub fn load_policies(inputs: &[Input]) -> Result<PolicySetVersion, CtlError> {
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        if input.name.ends_with(".cedar") {
            let stem = std::path::Path::new(&input.name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            documents.push((
                input.name.clone(),
                0,
                PolicyDocument::new(stem, &input.text),
            ));
            continue;
        }
        let values = match split_documents(&input.text) {
            Ok(values) => values,
            Err(e) => {
                problems.push(format!("{}: {e}", input.name));
                continue;
            }
        };
        for (index, value) in values.into_iter().enumerate() {
            match parse_policy(value) {
                Ok(policy) => documents.push((input.name.clone(), index, policy.document())),
                Err(errors) => problems.extend(errors.iter().map(|e| {
                    format!(
                        "{}: document {index}: {}: {}",
                        input.name, e.field, e.message
                    )
                })),
            }
        }
    }
    for (name, index, document) in &documents {
        if let Err(e) = document.validate() {
            problems.push(format!("{name}: document {index}: {}", e));
        }
    }
    if !problems.is_empty() {
        return Err(CtlError::Invalid(format!(
            "invalid policies:\n  {}",
            problems.join("\n  ")
        )));
    }
    let documents: Vec<PolicyDocument> = documents.into_iter().map(|(_, _, d)| d).collect();
    PolicySetVersion::from_documents(&documents)
        .map_err(|e| CtlError::Invalid(format!("invalid policies: {}", e)))
}

/// Derives every service in `inputs`; `cluster` overrides the placement label. With `policies`
/// every gate question is answered against them (as the cell does); without, none is asked. All
/// problems of all files are reported together.
pub fn derive_all(
    inputs: &[Input],
    cluster: Option<&str>,
    trust_domain: &str,
    policies: Option<&PolicySetVersion>,
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
            let result = match policies {
                Some(policies) => derive_and_authorize(svc, &ctx, policies),
                None => derive_service(svc, &ctx),
            };
            match result {
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
                Err(DeriveError::Denied(denial)) => problems.push(format!(
                    "{}: document {}: PolicyAuthorized=False ({}): {}",
                    input.name,
                    doc.index,
                    denial.condition_reason(),
                    denial.message()
                )),
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
            "cannot derive:\n  {}",
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
        let derived = derive_all(&[hello()], None, "cluster.local", None).unwrap();
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

    fn policies(text: &str) -> Input {
        Input {
            name: "policies.yaml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn with_policies_a_denied_spec_fails_naming_the_gate_and_a_permitted_one_derives() {
        let empty = load_policies(&[]).unwrap();
        let err = derive_all(&[hello()], None, "cluster.local", Some(&empty))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hello.yaml: document 0: PolicyAuthorized=False (DeployImageDenied): Lattice::Service::\"demo/hello\" may not DeployImage"),
            "{err}"
        );
        let images = policies(include_str!(
            "../../../examples/policies/platform-images.yaml"
        ));
        let set = load_policies(&[images]).unwrap();
        assert!(derive_all(&[hello()], None, "cluster.local", Some(&set)).is_ok());
    }

    #[test]
    fn policy_files_with_errors_name_the_file_and_the_line() {
        let bad = policies(
            "apiVersion: lattice.dev/v1alpha1\nkind: CedarPolicy\nmetadata:\n  name: broken\nspec:\n  policies: |\n    permit (principal, action, resource)\n    when { resource.nope };\n",
        );
        let err = load_policies(&[bad]).unwrap_err().to_string();
        assert!(err.contains("policies.yaml: document 0:"), "{err}");
        assert!(err.contains("line 2, column"), "{err}");
        let raw = Input {
            name: "dir/guard.cedar".into(),
            text: "forbid (principal, action, resource);".into(),
        };
        let set = load_policies(&[raw]).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.policy("guard/0").is_some());
    }

    #[test]
    fn invalid_specs_list_every_field_error_with_the_file() {
        let mut bad = hello();
        bad.text = bad
            .text
            .replace("port: 8080", "port: 0")
            .replace("replicas: 2", "replicas: 2\n  colour: red");
        let err = derive_all(&[bad], None, "cluster.local", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("hello.yaml: document 0: spec"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }
}
