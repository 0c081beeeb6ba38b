//! `latticectl derive`: derivation offline, with no cell — the same strict parsing, and with
//! `--policies` the same Cedar decisions the cell's derivation loop makes (`authorized_derivation`
//! for the gates, `AllowWildcard` for mesh wildcards), so a denied spec fails here with the cell's
//! message. Prints the objects grouped by apply layer.
//!
//! All given specs (`LatticeService`s and `LatticeMeshMember`s) are derived together: they are
//! each other's peers, and the bilateral mesh is resolved among them, so each member's output
//! holds its mesh policy and each cluster gets its baseline (`MeshBaseline/-/<cluster>`). With
//! `--explain-mesh`, the active edges and the one-sided declarations are printed instead, so a
//! user can see offline which traffic a change opens or closes.

use std::path::PathBuf;

use lattice_derive::authz::{PolicyDocument, PolicySetVersion};
use lattice_derive::membership::MeshMembership;
use lattice_derive::mesh::{
    BASELINE_KIND, MeshSettings, ServiceGraph, attach_mesh, explain, wildcard,
};
use lattice_derive::{ApplyLayer, DeriveContext, DeriveError, Derived, DerivedObject};
use serde_json::{Value, json};

use super::client::CtlError;
use super::inputs::{Input, read_inputs};
use super::output::OutputFormat;
use lattice_api::documents::{
    BodyError, Documents, parse_documents, parse_policy, placement, placement_of, split_documents,
};
use lattice_api::kinds::{SharedSpec, workload_kind};

/// The flags of `latticectl derive` besides the files.
#[derive(Debug, Clone, Copy)]
pub struct DeriveFlags<'a> {
    /// `--cluster`: derive for this cluster instead of the `lattice.dev/cluster` label.
    pub cluster: Option<&'a str>,
    /// `--trust-domain`.
    pub trust_domain: &'a str,
    /// `--policies` files; none means no Cedar gates.
    pub policies: &'a [PathBuf],
    /// `--explain-mesh`.
    pub explain_mesh: bool,
}

/// Runs `derive -f FILE...`: reads the files (and policies), derives them together, renders.
pub fn run(
    files: &[PathBuf],
    flags: DeriveFlags<'_>,
    format: OutputFormat,
) -> Result<String, CtlError> {
    let policies = if flags.policies.is_empty() {
        None
    } else {
        Some(load_policies(&read_inputs(flags.policies)?)?)
    };
    let derived = derive_all(
        &read_inputs(files)?,
        DeriveOptions {
            cluster: flags.cluster,
            trust_domain: flags.trust_domain,
            policies: policies.as_ref(),
            explain_mesh: flags.explain_mesh,
        },
    )?;
    render(&derived, format)
}

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

/// How to derive.
#[derive(Debug, Clone, Copy)]
pub struct DeriveOptions<'a> {
    /// Derive for this cluster instead of each spec's `lattice.dev/cluster` label.
    pub cluster: Option<&'a str>,
    /// SPIFFE trust domain of the mesh.
    pub trust_domain: &'a str,
    /// Cedar policies answering the gates and `AllowWildcard`; without them no gate is asked and
    /// no wildcard opens anything.
    pub policies: Option<&'a PolicySetVersion>,
    /// Return the mesh explanation instead of the objects.
    pub explain_mesh: bool,
}

/// A parsed spec with where it came from.
struct Located {
    file: String,
    index: usize,
    spec: SharedSpec,
}

impl Located {
    /// `<kind>/<namespace>/<name>`.
    fn key(&self) -> String {
        let meta = self.spec.metadata();
        format!(
            "{}/{}/{}",
            self.spec.kind(),
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or("")
        )
    }
}

/// Derives every spec in `inputs` together (mesh resolved among them). All problems of all
/// files are reported together.
pub fn derive_all(inputs: &[Input], options: DeriveOptions<'_>) -> Result<Value, CtlError> {
    let mut problems = Vec::new();
    let documents = read_documents(inputs, &mut problems);
    let peers = DeriveContext::default()
        .with_peers(documents.iter().map(|d| &*d.spec))
        .peers;

    let mut derived: Vec<(&Located, String, Derived)> = Vec::new();
    for doc in &documents {
        let cluster = match options.cluster {
            Some(c) => c.to_string(),
            // The `lattice.dev/cluster` label, or a LatticeCluster's `spec.managedBy`.
            None => workload_kind(doc.spec.kind())
                .map_or_else(
                    || placement(doc.spec.metadata().labels.as_ref()),
                    |row| placement_of(row, doc.spec.as_ref()),
                )
                .map_or_else(|_| DeriveContext::default().cluster, |c| c.to_string()),
        };
        let ctx = DeriveContext {
            cluster: cluster.clone(),
            trust_domain: options.trust_domain.to_string(),
            peers: peers.clone(),
            ..DeriveContext::default()
        };
        let result = match options.policies {
            Some(p) => doc.spec.authorized_derivation(&ctx, p).result,
            None => doc.spec.derive(&ctx),
        };
        match result {
            Ok(d) => derived.push((doc, cluster, d)),
            Err(DeriveError::Denied(denial)) => problems.push(format!(
                "{}: document {}: PolicyAuthorized=False ({}): {}",
                doc.file,
                doc.index,
                denial.condition_reason(),
                denial.message()
            )),
            Err(e) => problems.extend(e.field_errors().iter().map(|f| {
                format!(
                    "{}: document {}: {}: {}",
                    doc.file, doc.index, f.field, f.message
                )
            })),
        }
    }
    if !problems.is_empty() {
        return Err(cannot_derive(&problems));
    }

    let decide = |m: &MeshMembership| match options.policies {
        Some(policies) => wildcard::cedar(policies)(m),
        None => wildcard::deny_all(m),
    };
    // Only kinds that take part in the mesh are members of the graph (not a LatticeCluster).
    let graph = ServiceGraph::build(
        options.trust_domain,
        derived
            .iter()
            .filter(|(doc, _, _)| workload_kind(doc.spec.kind()).is_none_or(|row| row.mesh))
            .map(|(_, _, d)| d.mesh.clone()),
        &decide,
    )
    .map_err(|e| cannot_derive(&[e.to_string()]))?;
    if options.explain_mesh {
        return serde_json::to_value(explain(&graph)).map_err(|e| CtlError::Render(e.to_string()));
    }
    let mut results: Vec<Derived> = derived.iter().map(|(_, _, d)| d.clone()).collect();
    let shared = attach_mesh(&mut results, &graph, &MeshSettings::default());

    let mut items: Vec<Value> = derived
        .iter()
        .zip(&results)
        .map(|((doc, cluster, _), d)| item(&doc.key(), cluster, &d.objects))
        .collect();
    items.extend(
        shared.iter().map(|(cluster, objects)| {
            item(&format!("{BASELINE_KIND}/-/{cluster}"), cluster, objects)
        }),
    );
    Ok(json!({ "items": items }))
}

fn cannot_derive(problems: &[String]) -> CtlError {
    CtlError::Invalid(format!("cannot derive:\n  {}", problems.join("\n  ")))
}

/// Parses every input (services and mesh members; a CedarPolicy belongs in `--policies`);
/// problems are collected.
fn read_documents(inputs: &[Input], problems: &mut Vec<String>) -> Vec<Located> {
    let mut documents = Vec::new();
    for input in inputs {
        match parse_documents(&input.text) {
            Ok(Documents {
                workloads,
                policies,
                quotas,
                namespaces,
                compliance_profiles,
                fleet_policies,
            }) => {
                problems.extend(policies.iter().map(|p| {
                    format!(
                        "{}: document {}: kind: a CedarPolicy is not a workload; pass policy files with --policies",
                        input.name, p.index
                    )
                }));
                problems.extend(
                    quotas
                        .iter()
                        .map(|(i, _)| (*i, "LatticeQuota"))
                        .chain(namespaces.iter().map(|(i, _)| (*i, "Namespace")))
                        .chain(
                            compliance_profiles
                                .iter()
                                .map(|(i, _)| (*i, "LatticeComplianceProfile")),
                        )
                        .chain(
                            fleet_policies
                                .iter()
                                .map(|(i, _)| (*i, "LatticeFleetPolicy")),
                        )
                        .map(|(index, kind)| {
                            format!(
                                "{}: document {index}: kind: a {kind} is not a workload",
                                input.name
                            )
                        }),
                );
                documents.extend(workloads.into_iter().map(|d| Located {
                    file: input.name.clone(),
                    index: d.index,
                    spec: d.spec,
                }));
            }
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
    let layers: Vec<Value> = ApplyLayer::ALL
        .into_iter()
        .map(|layer| {
            let objects: Vec<Value> = objects
                .iter()
                .filter(|o| o.layer == layer)
                .map(|o| o.object.clone())
                .collect();
            (layer, objects)
        })
        .filter(|(_, objects)| !objects.is_empty())
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
    fn a_lattice_cluster_derives_for_its_managing_cluster_outside_the_mesh() {
        let derived = derive_all(&[example("clusters/edge-3.yaml")], options()).unwrap();
        let items = derived["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "no MeshBaseline: {derived}");
        assert_eq!(items[0]["spec"], "LatticeCluster//edge-3");
        assert_eq!(items[0]["cluster"], "edge-1");
        let kinds: Vec<&str> = objects_of(&derived, "LatticeCluster//edge-3")
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"Cluster"), "{kinds:?}");
        assert!(!kinds.contains(&"CiliumNetworkPolicy"), "{kinds:?}");
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

    fn policies(text: &str) -> Input {
        Input {
            name: "policies.yaml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn with_policies_a_denied_spec_fails_naming_the_gate_and_a_permitted_one_derives() {
        let empty = load_policies(&[]).unwrap();
        let err = derive_all(
            &[example("hello.yaml")],
            DeriveOptions {
                policies: Some(&empty),
                ..options()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("hello.yaml: document 0: PolicyAuthorized=False (DeployImageDenied): Lattice::Service::\"demo/hello\" may not DeployImage"),
            "{err}"
        );
        let images = policies(include_str!("../../examples/policies/platform-images.yaml"));
        let set = load_policies(&[images]).unwrap();
        assert!(
            derive_all(
                &[example("hello.yaml")],
                DeriveOptions {
                    policies: Some(&set),
                    ..options()
                }
            )
            .is_ok()
        );
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
