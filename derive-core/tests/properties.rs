//! Property tests over generated specs: derivation is deterministic (byte-identical output, also
//! after the spec round-trips through YAML), no secret reference or template ever lands in a
//! ConfigMap, and every derived object carries the owner labels in the spec's namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use lattice_derive::render::{Format, render};
use lattice_derive::spec::{
    AutoscalingSpec, ContainerSpec, FileSpec, LatticeServiceSpec, PortSpec, ResourceDeclaration,
    ResourceParams, ResourceQuantities, ResourceRequirements, ResourceType, ServicePorts,
    WorkloadSpec,
};
use lattice_derive::{DeriveContext, Derived, LatticeService, derive_service, labels};
use proptest::prelude::*;

const IMAGE: &str =
    "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const SECRETS: [&str; 3] = ["db", "stripe", "flags"];
const KEYS: [&str; 3] = ["password", "api-key", "token"];

/// A piece of a generated value.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Secret(usize, usize),
    PeerHost,
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[a-z0-9{}:/@ .\"$-]{0,10}".prop_map(Piece::Text),
        (0..SECRETS.len(), 0..KEYS.len()).prop_map(|(s, k)| Piece::Secret(s, k)),
        Just(Piece::PeerHost),
    ]
}

fn value() -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(piece(), 1..4)
}

fn render_value(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            // A `$` before `{resources.` would be an escape; keep generated text plain.
            Piece::Text(t) => t.replace('$', "S"),
            Piece::Secret(s, k) => format!("${{resources.{}.{}}}", SECRETS[*s], KEYS[*k]),
            Piece::PeerHost => "${resources.peer.host}".to_string(),
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Generated {
    name: String,
    variables: Vec<BTreeMap<String, Vec<Piece>>>,
    files: Vec<BTreeMap<String, Vec<Piece>>>,
    stores: Vec<usize>,
    replicas: u32,
    autoscale: Option<(u32, u32)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    let container = (
        prop::collection::btree_map("[A-Z][A-Z_]{0,6}", value(), 0..5),
        prop::collection::btree_map("/etc/app/[a-z]{1,6}\\.conf", value(), 0..3),
    );
    (
        "[a-z][a-z0-9]{0,10}",
        prop::collection::vec(container, 1..3),
        prop::collection::vec(0usize..2, SECRETS.len()),
        1u32..6,
        prop::option::of((1u32..4, 4u32..10)),
    )
        .prop_map(|(name, containers, stores, replicas, autoscale)| {
            let (variables, files) = containers.into_iter().unzip();
            Generated {
                name,
                variables,
                files,
                stores,
                replicas,
                autoscale,
            }
        })
}

fn build(g: &Generated) -> LatticeService {
    let containers = g
        .variables
        .iter()
        .zip(&g.files)
        .enumerate()
        .map(|(i, (vars, files))| {
            let container = ContainerSpec {
                image: IMAGE.to_string(),
                command: Some(vec!["/app/run".to_string()]),
                variables: vars
                    .iter()
                    .map(|(k, v)| (k.clone(), render_value(v)))
                    .collect(),
                files: files
                    .iter()
                    .map(|(path, v)| {
                        let file = FileSpec {
                            content: render_value(v),
                            mode: None,
                        };
                        (path.clone(), file)
                    })
                    .collect(),
                resources: Some(ResourceRequirements {
                    requests: Some(ResourceQuantities {
                        cpu: Some("100m".into()),
                        memory: Some("64Mi".into()),
                    }),
                    limits: None,
                }),
                ..Default::default()
            };
            (
                if i == 0 {
                    "main".to_string()
                } else {
                    format!("side{i}")
                },
                container,
            )
        })
        .collect();
    let mut resources: BTreeMap<String, ResourceDeclaration> = SECRETS
        .iter()
        .zip(&g.stores)
        .map(|(name, store)| {
            let params = ResourceParams {
                provider: Some(format!("store-{store}")),
                keys: Some(KEYS.iter().map(|k| k.to_string()).collect()),
                ..Default::default()
            };
            let decl = ResourceDeclaration {
                type_: ResourceType::Secret,
                direction: None,
                id: Some(format!("team/{name}")),
                namespace: None,
                params: Some(params),
            };
            (name.to_string(), decl)
        })
        .collect();
    resources.insert(
        "peer".to_string(),
        ResourceDeclaration {
            type_: ResourceType::Service,
            direction: None,
            id: None,
            namespace: None,
            params: None,
        },
    );
    let mut svc = LatticeService::new(
        &g.name,
        LatticeServiceSpec {
            replicas: g.autoscale.is_none().then_some(g.replicas),
            autoscaling: g.autoscale.map(|(min, max)| AutoscalingSpec {
                min_replicas: Some(min),
                max_replicas: max,
                metrics: Vec::new(),
            }),
            workload: WorkloadSpec {
                containers,
                service: Some(ServicePorts {
                    ports: BTreeMap::from([(
                        "http".to_string(),
                        PortSpec {
                            port: 8080,
                            target_port: None,
                            protocol: None,
                        },
                    )]),
                }),
                resources,
            },
            ..Default::default()
        },
    );
    svc.metadata.namespace = Some("team".to_string());
    svc
}

fn derive(svc: &LatticeService) -> Result<Derived, lattice_derive::DeriveError> {
    derive_service(svc, &DeriveContext::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_same_input_gives_byte_identical_output(g in generated()) {
        let svc = build(&g);
        let first = derive(&svc);
        let second = derive(&svc.clone());
        // Also after the spec travels as YAML, as it does from latticectl to the cell.
        let reparsed: LatticeService = serde_saphyr::from_str(&serde_saphyr::to_string(&svc).unwrap()).unwrap();
        let third = derive(&reparsed);
        match (first, second, third) {
            (Ok(a), Ok(b), Ok(c)) => {
                let a_json = serde_json::to_string(&a).unwrap();
                prop_assert_eq!(&a_json, &serde_json::to_string(&b).unwrap());
                prop_assert_eq!(&a_json, &serde_json::to_string(&c).unwrap());
                prop_assert_eq!(render(&[a], Format::Yaml).unwrap(), render(&[c], Format::Yaml).unwrap());
            }
            (Err(a), Err(b), Err(c)) => {
                prop_assert_eq!(&a, &b);
                prop_assert_eq!(&a, &c);
            }
            (a, b, c) => prop_assert!(false, "outcomes differ: {:?} / {:?} / {:?}", a.is_ok(), b.is_ok(), c.is_ok()),
        }
    }

    #[test]
    fn no_secret_reference_or_template_lands_in_a_config_map(g in generated()) {
        let svc = build(&g);
        let Ok(derived) = derive(&svc) else { return Ok(()) };
        // Variables are per container: the same name may be a secret in one container and plain
        // text in another, so each container's ConfigMaps are checked against its own secrets.
        let container_name = |i: usize| if i == 0 { "main".to_string() } else { format!("side{i}") };
        let secret_vars: Vec<(String, &String)> = g.variables.iter().enumerate().flat_map(|(i, vars)| {
            let container = container_name(i);
            vars.iter()
                .filter(|(_, v)| v.iter().any(|p| matches!(p, Piece::Secret(..))))
                .map(move |(k, _)| (container.clone(), k))
        }).collect();
        for cm in derived.of_kind("ConfigMap") {
            for (key, value) in cm.object["data"].as_object().unwrap() {
                let value = value.as_str().unwrap();
                prop_assert!(!value.contains("${resources."), "{} holds a reference: {key}={value}", cm.name());
                prop_assert!(!value.contains("{{ ."), "{} holds a secret template: {key}={value}", cm.name());
                let leaked = secret_vars.iter().any(|(container, var)| {
                    *var == key && cm.name().starts_with(&format!("{}-{container}-", g.name))
                });
                prop_assert!(!leaked, "{} holds secret variable {key}", cm.name());
            }
        }
        // And every secret-bearing variable did reach its own container some other way.
        let deployment = derived.find("Deployment", &g.name).unwrap();
        let containers = deployment.object["spec"]["template"]["spec"]["containers"].as_array().unwrap();
        for (container, var) in &secret_vars {
            let spec = containers.iter().find(|c| c["name"] == container.as_str()).unwrap();
            let via_key = serde_json::to_string(spec).unwrap().contains(&format!("\"name\":\"{var}\""));
            let via_template = derived.of_kind("ExternalSecret").any(|es| es.object["spec"]["target"]["template"]["data"].get(var.as_str()).is_some());
            prop_assert!(via_key || via_template, "secret variable {var} of {container} is not delivered");
        }
    }

    #[test]
    fn every_object_carries_the_owner_labels(g in generated()) {
        let svc = build(&g);
        let Ok(derived) = derive(&svc) else { return Ok(()) };
        let owner = labels::owner_labels("LatticeService", &g.name);
        for o in &derived.objects {
            prop_assert_eq!(o.namespace(), "team");
            for (k, v) in &owner {
                prop_assert_eq!(o.object["metadata"]["labels"][k].as_str(), Some(v.as_str()), "{} {} lacks {}", o.kind(), o.name(), k);
            }
        }
    }
}

/// The properties above skip specs that fail validation (values mixing two stores); this guards
/// against a generator drift that would make them vacuous.
#[test]
fn the_generator_mostly_produces_valid_specs() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let valid = (0..400)
        .filter(|_| {
            let g = generated().new_tree(&mut runner).unwrap().current();
            derive(&build(&g)).is_ok()
        })
        .count();
    assert!(valid > 200, "only {valid} of 400 generated specs are valid");
}
