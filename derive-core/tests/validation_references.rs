//! Validation of references and of what they resolve to: undeclared resources and keys, peer
//! ports, one store per value, derived-name collisions, and all problems reported together.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{IMAGE, assert_error, errors, errors_of, spec, workload};

#[test]
fn references_must_name_declared_resources_and_keys() {
    let body = workload(
        "        variables:\n          A: \"${resources.nope.key}\"\n          B: \"${resources.db.token}\"\n          C: \"${resources.data.path}\"\n          D: \"${resources.payments.address}\"\n          E: \"${resources.db}\"\n          F: \"${resources.db.password\"\n          G: \"${resources.aws.gcs}\"\n",
        "    resources:\n      db: {type: secret, id: shop/db, params: {provider: vault, keys: [password]}}\n      data: {type: volume, params: {size: 1Gi}}\n      payments: {type: service}\n      aws: {type: external-service, params: {endpoints: {s3: \"https://s3.amazonaws.com\"}}}\n",
    );
    let errors = errors_of(&body);
    let field = |v: &str| format!("spec.workload.containers.main.variables.{v}");
    assert_error(&errors, &field("A"), "resource \"nope\" is not declared");
    assert_error(&errors, &field("B"), "key \"token\" is not declared");
    assert_error(&errors, &field("B"), "(declared: password)");
    assert_error(&errors, &field("C"), "a volume resource has no values");
    assert_error(&errors, &field("D"), "provides host, port and url");
    assert_error(&errors, &field("E"), "needs a key");
    assert_error(&errors, &field("F"), "unterminated reference");
    assert_error(
        &errors,
        &field("G"),
        "not an endpoint of aws (endpoints: s3)",
    );
}

#[test]
fn a_peer_port_must_be_known_to_resolve() {
    let body = workload(
        "        variables:\n          PAYMENTS: \"${resources.payments.url}\"\n",
        "    resources:\n      payments: {type: service}\n",
    );
    assert_error(
        &errors_of(&body),
        "spec.workload.containers.main.variables.PAYMENTS",
        "derive it together with that service's spec",
    );
}

#[test]
fn one_value_draws_on_one_secret_store() {
    let body = workload(
        "        variables:\n          DSN: \"${resources.a.user}:${resources.b.password}@db\"\n        files:\n          /etc/app.conf: {content: \"${resources.a.user} ${resources.b.password}\"}\n",
        "    resources:\n      a: {type: secret, id: x, params: {provider: vault-eu, keys: [user]}}\n      b: {type: secret, id: y, params: {provider: aws-sm, keys: [password]}}\n",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.containers.main.variables.DSN",
        "more than one store: \"aws-sm\" (via b) and \"vault-eu\" (via a)",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.files./etc/app.conf.content",
        "more than one store",
    );
}

#[test]
fn derived_object_names_may_not_collide() {
    // A secret resource named `main-env` becomes ExternalSecret `api-main-env`... and the
    // container's plain variables become ConfigMap `api-main-env`: different kinds, no clash.
    // A resource named `main-env-eso` would clash with the templated env ExternalSecret.
    let body = workload(
        "        variables:\n          URL: \"x${resources.main-env-eso.k}\"\n",
        "    resources:\n      main-env-eso: {type: secret, id: x, params: {provider: vault, keys: [k]}}\n",
    );
    assert_error(
        &errors_of(&body),
        "spec.workload",
        "two derived ExternalSecrets would both be named \"api-main-env-eso\"",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let body = workload("", "")
        .replace(IMAGE, "\"\"")
        .replace("cpu: 100m", "cpu: lots");
    let mut svc = spec(&body);
    svc.metadata.namespace = Some("Shop".into());
    let errors = errors(&svc);
    assert_error(&errors, "metadata.namespace", "DNS-1123 label");
    assert_error(&errors, "spec.workload.containers.main.image", "empty");
    assert_error(
        &errors,
        "spec.workload.containers.main.resources.requests.cpu",
        "quantity",
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
}
