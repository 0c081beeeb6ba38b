//! `latticectl derive`: derivation offline, with no cell — the same strict parsing and the same
//! derive-core pipeline the cell runs, printing the objects grouped by apply layer.
//!
//! All given specs (`LatticeService`s and `LatticeMeshMember`s) are derived together: they are
//! each other's peers, and the bilateral mesh is resolved among them, so each member's output
//! holds its mesh policy and each cluster gets its baseline (`MeshBaseline/-/<cluster>`). With
//! `--explain-mesh`, the active edges and the one-sided declarations are printed instead, so a
//! user can see offline which traffic a change opens or closes.

use std::collections::BTreeMap;

use lattice_derive::authz::PolicySetVersion;
use lattice_derive::mesh::{
    BASELINE_KIND, MeshSettings, ServiceGraph, attach_mesh, derive_mesh_member, explain, wildcard,
};
use lattice_derive::{
    ApplyLayer, DeriveContext, DeriveError, Derived, DerivedObject, LatticeMeshMember,
    LatticeService, derive_service,
};
use serde_json::{Value, json};

use super::client::CtlError;
use super::output::OutputFormat;
use crate::apply::documents::{BodyError, Spec, parse_documents};
use crate::apply::placement;

/// One input file and its text.
#[derive(Debug, Clone)]
pub struct Input {
    /// Name for messages (path or `-`).
    pub name: String,
    /// The YAML or JSON text.
    pub text: String,
}

/// How to derive.
#[derive(Debug, Clone, Copy)]
pub struct DeriveOptions<'a> {
    /// Derive for this cluster instead of each spec's `lattice.dev/cluster` label.
    pub cluster: Option<&'a str>,
    /// SPIFFE trust domain of the mesh.
    pub trust_domain: &'a str,
    /// Cedar policies answering `AllowWildcard`; without them no wildcard opens anything.
    pub policies: Option<&'a PolicySetVersion>,
    /// Return the mesh explanation instead of the objects.
    pub explain_mesh: bool,
}

/// A parsed document with where it came from.
struct Located {
    file: String,
    index: usize,
    spec: Spec,
}

/// Derives every spec in `inputs` together (mesh resolved among them). All field errors of all
/// files are reported together.
pub fn derive_all(inputs: &[Input], options: DeriveOptions<'_>) -> Result<Value, CtlError> {
    let mut problems = Vec::new();
    let documents = read_documents(inputs, &mut problems);
    let services: Vec<&LatticeService> = documents
        .iter()
        .filter_map(|d| match &d.spec {
            Spec::Service(s) => Some(s),
            Spec::MeshMember(_) => None,
        })
        .collect();
    let members: Vec<&LatticeMeshMember> = documents
        .iter()
        .filter_map(|d| match &d.spec {
            Spec::MeshMember(m) => Some(m),
            Spec::Service(_) => None,
        })
        .collect();
    let peers = DeriveContext::default()
        .with_peers(services.iter().copied())
        .with_member_peers(members.iter().copied())
        .peers;

    let mut derived: Vec<(&Located, String, Derived)> = Vec::new();
    for doc in &documents {
        let cluster = match options.cluster {
            Some(c) => c.to_string(),
            None => placement(doc.spec.labels())
                .map_or_else(|_| DeriveContext::default().cluster, |c| c.to_string()),
        };
        let ctx = DeriveContext {
            cluster: cluster.clone(),
            trust_domain: options.trust_domain.to_string(),
            peers: peers.clone(),
            ..DeriveContext::default()
        };
        let result = match &doc.spec {
            Spec::Service(s) => derive_service(s, &ctx),
            Spec::MeshMember(m) => derive_mesh_member(m, &ctx),
        };
        match result {
            Ok(d) => derived.push((doc, cluster, d)),
            Err(DeriveError::Invalid(errors)) => problems.extend(errors.iter().map(|f| {
                format!(
                    "{}: document {}: {}: {}",
                    doc.file, doc.index, f.field, f.message
                )
            })),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(&problems));
    }

    let decide = |m: &lattice_derive::membership::MeshMembership| match options.policies {
        Some(policies) => wildcard::cedar(policies)(m),
        None => wildcard::deny_all(m),
    };
    let graph = ServiceGraph::build(
        options.trust_domain,
        derived.iter().map(|(_, _, d)| d.mesh.clone()),
        &decide,
    )
    .map_err(|e| invalid(&[e.to_string()]))?;
    if options.explain_mesh {
        return serde_json::to_value(explain(&graph)).map_err(|e| CtlError::Render(e.to_string()));
    }
    let mut results: Vec<Derived> = derived.iter().map(|(_, _, d)| d.clone()).collect();
    let shared = attach_mesh(&mut results, &graph, &MeshSettings::default());

    let mut items: Vec<Value> = derived
        .iter()
        .zip(&results)
        .map(|((doc, cluster, _), d)| {
            item(
                &format!(
                    "{}/{}/{}",
                    doc.spec.kind(),
                    doc.spec.namespace().unwrap_or(""),
                    doc.spec.name().unwrap_or("")
                ),
                cluster,
                &d.objects,
            )
        })
        .collect();
    items.extend(
        shared.iter().map(|(cluster, objects)| {
            item(&format!("{BASELINE_KIND}/-/{cluster}"), cluster, objects)
        }),
    );
    Ok(json!({ "items": items }))
}

fn invalid(problems: &[String]) -> CtlError {
    CtlError::Invalid(format!("invalid spec:\n  {}", problems.join("\n  ")))
}

/// Parses every input; problems are collected.
fn read_documents(inputs: &[Input], problems: &mut Vec<String>) -> Vec<Located> {
    let mut documents = Vec::new();
    for input in inputs {
        match parse_documents(&input.text) {
            Ok(parsed) => documents.extend(parsed.into_iter().map(|d| Located {
                file: input.name.clone(),
                index: d.index,
                spec: d.spec,
            })),
            Err(BodyError::Invalid(errors)) => problems.extend(errors.iter().map(|e| {
                format!(
                    "{}: document {}: {}: {}",
                    input.name, e.document, e.error.field, e.error.message
                )
            })),
            Err(other) => problems.push(format!("{}: {other}", input.name)),
        }
    }
    documents
}

/// One derived spec: its key, cluster and objects by layer.
fn item(spec: &str, cluster: &str, objects: &[DerivedObject]) -> Value {
    let mut by_layer: BTreeMap<ApplyLayer, Vec<Value>> = BTreeMap::new();
    for o in objects {
        by_layer.entry(o.layer).or_default().push(o.object.clone());
    }
    let layers: Vec<Value> = by_layer
        .into_iter()
        .map(|(layer, objects)| json!({ "name": layer.as_str(), "objects": objects }))
        .collect();
    json!({ "spec": spec, "cluster": cluster, "layers": layers })
}

/// Renders derived items: YAML documents with a comment per layer, or one JSON/YAML value. An
/// explanation (from `--explain-mesh`) renders as its summary text.
pub fn render(derived: &Value, format: OutputFormat) -> Result<String, CtlError> {
    if format != OutputFormat::Table {
        return super::output::structured(derived, format);
    }
    if derived.get("edges").is_some() {
        let explanation: lattice_derive::mesh::MeshExplanation =
            serde_json::from_value(derived.clone()).map_err(|e| CtlError::Render(e.to_string()))?;
        return Ok(explanation.to_string());
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

    fn example(file: &str) -> Input {
        let path = format!("{}/../examples/{file}", env!("CARGO_MANIFEST_DIR"));
        Input {
            name: file.into(),
            text: std::fs::read_to_string(path).unwrap(),
        }
    }

    fn options() -> DeriveOptions<'static> {
        DeriveOptions {
            cluster: None,
            trust_domain: "cluster.local",
            policies: None,
            explain_mesh: false,
        }
    }

    fn objects_of<'a>(derived: &'a Value, spec: &str) -> Vec<&'a Value> {
        let item = derived["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["spec"] == spec)
            .unwrap_or_else(|| panic!("no item {spec}"));
        item["layers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["objects"].as_array().unwrap())
            .collect()
    }

    #[test]
    fn derives_the_example_grouped_by_layer_with_its_mesh_policy_and_baseline() {
        let derived = derive_all(&[example("hello.yaml")], options()).unwrap();
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
        let kinds: Vec<&str> = objects_of(&derived, "LatticeService/demo/hello")
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"CiliumNetworkPolicy"), "{kinds:?}");
        assert!(
            !kinds.contains(&"AuthorizationPolicy"),
            "nobody calls hello"
        );
        let baseline = objects_of(&derived, "MeshBaseline/-/edge-1");
        assert_eq!(
            baseline.len(),
            4,
            "deny CCNP, probe CCNP, mesh deny, STRICT"
        );
        let text = render(&derived, OutputFormat::Table).unwrap();
        assert!(
            text.contains("layer workload") && text.contains("kind: Deployment"),
            "{text}"
        );
    }

    #[test]
    fn agreements_are_resolved_among_the_given_files_only() {
        // checkout alone: its outbound declarations are one-sided, nothing is opened.
        let alone = derive_all(&[example("checkout.yaml")], options()).unwrap();
        let cnp = objects_of(&alone, "LatticeService/commerce/checkout")
            .into_iter()
            .find(|o| o["kind"] == "CiliumNetworkPolicy")
            .unwrap();
        assert_eq!(
            cnp["spec"]["egress"].as_array().unwrap().len(),
            1,
            "DNS only"
        );

        // With payments, the agreement is active: payments admits checkout.
        let pair = derive_all(
            &[example("checkout.yaml"), example("payments.yaml")],
            options(),
        )
        .unwrap();
        let ap = objects_of(&pair, "LatticeService/commerce/payments")
            .into_iter()
            .find(|o| o["kind"] == "AuthorizationPolicy")
            .unwrap();
        assert_eq!(
            ap["spec"]["rules"][0]["from"][0]["source"]["principals"],
            json!(["cluster.local/ns/commerce/sa/checkout"])
        );
    }

    #[test]
    fn explain_mesh_lists_active_edges_and_one_sided_declarations() {
        let inputs = [
            example("checkout.yaml"),
            example("payments.yaml"),
            example("redis-mesh-member.yaml"),
        ];
        let explained = derive_all(
            &inputs,
            DeriveOptions {
                explain_mesh: true,
                ..options()
            },
        )
        .unwrap();
        let text = render(&explained, OutputFormat::Table).unwrap();
        assert!(
            text.contains("commerce/checkout -> commerce/payments  [both sides declared]"),
            "{text}"
        );
        assert!(
            text.contains("commerce/checkout -> commerce/redis  [both sides declared]"),
            "{text}"
        );
        assert!(text.contains("active edges (2)"), "{text}");

        // Without redis, checkout's declaration of it opens nothing, and says why.
        let explained = derive_all(
            &inputs[..2],
            DeriveOptions {
                explain_mesh: true,
                ..options()
            },
        )
        .unwrap();
        let text = render(&explained, OutputFormat::Table).unwrap();
        assert!(
            text.contains(
                "commerce/checkout -> commerce/redis  (commerce/redis is not a known service)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_service_and_a_member_with_one_name_are_refused() {
        let mut clash = example("redis-mesh-member.yaml");
        clash.text = clash.text.replace("name: redis\n", "name: payments\n");
        let err = derive_all(&[example("payments.yaml"), clash], options())
            .unwrap_err()
            .to_string();
        assert!(err.contains("commerce/payments is declared twice"), "{err}");
    }

    #[test]
    fn invalid_specs_list_every_field_error_with_the_file() {
        let mut bad = example("hello.yaml");
        bad.text = bad
            .text
            .replace("port: 8080", "port: 0")
            .replace("replicas: 2", "replicas: 2\n  colour: red");
        let err = derive_all(&[bad], options()).unwrap_err().to_string();
        assert!(err.contains("hello.yaml: document 0: spec"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }
}
