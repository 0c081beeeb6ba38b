//! Which fields of an object drifted. Pure functions over JSON, unit-tested:
//! [`desired_differences`] is the cheap first look (every field the desired manifest sets, compared
//! with the live object; fields only the live object has belong to the API server or to other
//! managers and are not drift), and [`changed_paths`] compares the live object with what a
//! server-side apply would make of it (a dry run), which is the authoritative answer: it sees
//! through the API server's normalisation (`0.5` CPU stored as `500m`) and through field
//! ownership (a field another manager owns is not changed by our apply).

use serde_json::{Map, Value};

/// Metadata the API server maintains; never drift.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
];

/// Paths of the fields `desired` sets whose value in `live` is absent or different, in document
/// order (`spec.template.spec.containers[name=web].image`). Only labels and annotations of the
/// metadata are compared; `status` never is. A list whose items all have a `name` is matched by
/// name (items only the live object has are someone else's); any other list must be equal.
pub fn desired_differences(desired: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (Value::Object(d), Value::Object(l)) = (desired, live) else {
        if desired != live {
            out.push(String::new());
        }
        return out;
    };
    for (key, value) in d {
        match key.as_str() {
            "status" | "apiVersion" | "kind" => {}
            "metadata" => {
                for part in ["labels", "annotations"] {
                    if let Some(want) = value.get(part) {
                        let have = l.get("metadata").and_then(|m| m.get(part));
                        subset(&join("metadata", part), want, have, &mut out);
                    }
                }
            }
            _ => subset(key, value, l.get(key), &mut out),
        }
    }
    out
}

fn subset(path: &str, want: &Value, have: Option<&Value>, out: &mut Vec<String>) {
    let Some(have) = have else {
        // A desired null or empty container with nothing live is the API server dropping it.
        if !is_empty(want) {
            out.push(path.to_string());
        }
        return;
    };
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (key, value) in w {
                subset(&join(path, key), value, h.get(key), out);
            }
        }
        (Value::Array(w), Value::Array(h)) if named_items(w) => {
            for item in w {
                let name = item.get("name");
                let path = format!(
                    "{path}[name={}]",
                    name.and_then(Value::as_str).unwrap_or("")
                );
                let live = name.and_then(|n| named(h, n));
                subset(&path, item, live, out);
            }
        }
        (Value::Array(w), Value::Array(h)) => {
            if w.len() != h.len() {
                out.push(path.to_string());
                return;
            }
            for (i, (a, b)) in w.iter().zip(h).enumerate() {
                subset(&format!("{path}[{i}]"), a, Some(b), out);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            if a.as_f64() != b.as_f64() {
                out.push(path.to_string());
            }
        }
        (a, b) => {
            if a != b {
                out.push(path.to_string());
            }
        }
    }
}

fn named_items(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("name").is_some_and(Value::is_string))
}

fn named<'a>(items: &'a [Value], name: &Value) -> Option<&'a Value> {
    items.iter().find(|i| i.get("name") == Some(name))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Paths where `before` and `after` differ (either side), ignoring `status` and the metadata the
/// API server maintains, sorted. Used on the live object and the dry-run result of the desired apply:
/// what is listed is exactly what the correction changes.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    for key in keys(b, a) {
        match key {
            "status" => {}
            "metadata" => {
                let mb = b.get(key).and_then(Value::as_object).unwrap_or(&empty);
                let ma = a.get(key).and_then(Value::as_object).unwrap_or(&empty);
                for k in keys(mb, ma) {
                    if !SERVER_METADATA.contains(&k) {
                        both(&join("metadata", k), mb.get(k), ma.get(k), &mut out);
                    }
                }
            }
            _ => both(key, b.get(key), a.get(key), &mut out),
        }
    }
    out.sort();
    out
}

fn keys<'a>(a: &'a Map<String, Value>, b: &'a Map<String, Value>) -> Vec<&'a str> {
    let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
    keys.extend(b.keys().map(String::as_str).filter(|k| !a.contains_key(*k)));
    keys
}

fn both(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<String>) {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for key in keys(b, a) {
                both(&join(path, key), b.get(key), a.get(key), out);
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) if named_items(b) && named_items(a) => {
            let mut names: Vec<&Value> = b.iter().filter_map(|i| i.get("name")).collect();
            names.extend(
                a.iter()
                    .filter_map(|i| i.get("name"))
                    .filter(|n| !b.iter().any(|i| i.get("name") == Some(*n))),
            );
            for name in names {
                let path = format!("{path}[name={}]", name.as_str().unwrap_or(""));
                both(&path, named(b, name), named(a, name), out);
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) if b.len() == a.len() => {
            for (i, (x, y)) in b.iter().zip(a).enumerate() {
                both(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (b, a) => {
            if b != a {
                out.push(path.to_string());
            }
        }
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier (label names).
fn join(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop",
                         "labels": {"app.kubernetes.io/managed-by": "lattice"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [
                         {"name": "web", "image": "web:1", "args": ["--port", "80"],
                          "resources": {"requests": {"cpu": 1}}}]}}}
        })
    }

    fn live() -> Value {
        let mut live = desired();
        live["metadata"]["uid"] = json!("u-1");
        live["metadata"]["resourceVersion"] = json!("7");
        live["metadata"]["labels"]["added-by-someone"] = json!("x");
        live["spec"]["replicas"] = json!(5);
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
        live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] =
            json!(1.0);
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({"name": "istio-proxy", "image": "proxy:1"}));
        live["status"] = json!({"replicas": 5});
        live
    }

    #[test]
    fn fields_only_the_live_object_has_are_not_drift() {
        assert_eq!(
            desired_differences(&desired(), &live()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_edited_image_is_named_by_its_container() {
        let mut live = live();
        live["spec"]["template"]["spec"]["containers"][1]["image"] = json!("web:evil");
        assert_eq!(
            desired_differences(&desired(), &live),
            vec!["spec.template.spec.containers[name=web].image"]
        );
    }

    #[test]
    fn removed_labels_scalar_lists_and_containers_are_drift() {
        let mut live = live();
        live["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("app.kubernetes.io/managed-by");
        live["spec"]["template"]["spec"]["containers"][1]["args"] = json!(["--port"]);
        assert_eq!(
            desired_differences(&desired(), &live),
            vec![
                "metadata.labels[\"app.kubernetes.io/managed-by\"]",
                "spec.template.spec.containers[name=web].args"
            ]
        );
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .remove(1);
        assert_eq!(
            desired_differences(&desired(), &live).last().unwrap(),
            "spec.template.spec.containers[name=web]"
        );
    }

    #[test]
    fn name_and_status_are_not_compared_and_empty_desired_values_need_nothing_live() {
        let desired = json!({"metadata": {"name": "a"}, "spec": {"x": {}, "y": null},
                             "status": {"ready": true}});
        let live = json!({"metadata": {"name": "other"}, "spec": {}});
        assert!(desired_differences(&desired, &live).is_empty());
    }

    #[test]
    fn changed_paths_ignore_server_metadata_and_status_and_see_both_sides() {
        let before = live();
        let mut after = live();
        after["metadata"]["resourceVersion"] = json!("8");
        after["metadata"]["generation"] = json!(3);
        after["status"] = json!({"replicas": 1});
        assert!(changed_paths(&before, &after).is_empty());
        after["spec"]["template"]["spec"]["containers"][1]["image"] = json!("web:2");
        after["metadata"]["annotations"] = json!({"a": "b"});
        after["spec"].as_object_mut().unwrap().remove("replicas");
        after["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-v"]);
        assert_eq!(
            changed_paths(&before, &after),
            vec![
                "metadata.annotations",
                "spec.replicas",
                "spec.template.spec.containers[name=istio-proxy].args",
                "spec.template.spec.containers[name=web].image"
            ]
        );
        // Named items are matched by name, wherever they are; one only on one side is a change.
        let mut reordered = live();
        reordered["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .reverse();
        assert!(changed_paths(&before, &reordered).is_empty());
        reordered["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        assert_eq!(
            changed_paths(&before, &reordered),
            vec!["spec.template.spec.containers[name=web]"]
        );
    }
}
