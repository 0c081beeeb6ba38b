//! Rendering derived objects as the text `latticectl derive` prints: grouped by apply layer,
//! every object present exactly once, and readable back as the same objects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use lattice_derive::render::{Format, render};
use lattice_derive::{ApplyLayer, Derived, derive_service};
use serde_json::Value;

fn derived(files: &[&str]) -> Vec<Derived> {
    let ctx = common::context();
    files
        .iter()
        .map(|f| derive_service(&common::load(f), &ctx).unwrap())
        .collect()
}

fn all_objects(derived: &[Derived]) -> Vec<(ApplyLayer, Value)> {
    derived
        .iter()
        .flat_map(|d| d.objects.iter().map(|o| (o.layer, o.object.clone())))
        .collect()
}

#[test]
fn yaml_groups_every_object_by_layer_in_apply_order() {
    let derived = derived(&["search-autoscaled.yaml", "checkout.yaml"]);
    let text = render(&derived, Format::Yaml).unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("# layer")).collect();
    let count = |layer| {
        all_objects(&derived)
            .iter()
            .filter(|(l, _)| *l == layer)
            .count()
    };
    assert_eq!(
        headers,
        vec![
            format!(
                "# layer 1 of 3: infrastructure ({} objects)",
                count(ApplyLayer::Infrastructure)
            )
            .as_str(),
            "# layer 2 of 3: workload (2 objects)",
            "# layer 3 of 3: autoscaling (1 object)",
        ]
    );
    // Read the documents back: the same objects, all infrastructure first, then workloads,
    // then autoscalers; within a layer, in the order of the specs given.
    let docs: Vec<Value> = text
        .split("\n---\n")
        .skip(1)
        .map(|doc| {
            let doc: String = doc
                .lines()
                .filter(|l| !l.starts_with("# layer"))
                .collect::<Vec<_>>()
                .join("\n");
            serde_saphyr::from_str(&doc).unwrap()
        })
        .collect();
    let mut expected = all_objects(&derived);
    expected.sort_by_key(|(layer, _)| *layer);
    assert_eq!(
        docs,
        expected.into_iter().map(|(_, o)| o).collect::<Vec<_>>()
    );
}

#[test]
fn json_lists_layers_with_their_objects() {
    let derived = derived(&["hello.yaml"]);
    let text = render(&derived, Format::Json).unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    let layers = parsed["layers"].as_array().unwrap();
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["infrastructure", "workload"],
        "empty layers are left out"
    );
    let rendered: Vec<&Value> = layers
        .iter()
        .flat_map(|l| l["objects"].as_array().unwrap())
        .collect();
    let expected: Vec<Value> = derived[0]
        .objects
        .iter()
        .map(|o| o.object.clone())
        .collect();
    assert_eq!(rendered, expected.iter().collect::<Vec<_>>());
}

#[test]
fn nothing_to_render_is_empty_text() {
    assert_eq!(render(&[], Format::Yaml).unwrap(), "");
}
