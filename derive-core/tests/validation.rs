//! One test per class of validation error: each names the field path and says what is allowed,
//! and every problem of a spec is reported at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{IMAGE, assert_error, errors, errors_in_ctx, errors_of, spec, workload};
use lattice_derive::{DeriveContext, derive_service};

#[test]
fn the_base_spec_of_these_tests_is_valid() {
    assert!(derive_service(&spec(&workload("", "")), &DeriveContext::default()).is_ok());
}

#[test]
fn names_and_namespaces_must_be_dns_labels() {
    let mut svc = spec(&workload("", ""));
    svc.metadata.name = Some("1-API".into());
    svc.metadata.namespace = None;
    let errors = errors(&svc);
    assert_error(&errors, "metadata.name", "DNS-1035 label");
    assert_error(&errors, "metadata.namespace", "is required");
}

#[test]
fn containers_are_required_and_named_as_dns_labels() {
    let errors = errors(&spec("  workload:\n    containers: {}\n"));
    assert_error(
        &errors,
        "spec.workload.containers",
        "at least one container",
    );
    let body = workload("", "").replace("      main:", "      Main_1:");
    assert_error(
        &errors_of(&body),
        "spec.workload.containers.Main_1",
        "DNS-1123 label",
    );
}

#[test]
fn malformed_images_are_refused() {
    let body = workload("", "").replace(IMAGE, "\"ghcr.io/Acme/API:\"");
    assert_error(
        &errors_of(&body),
        "spec.workload.containers.main.image",
        "not an image reference",
    );
}

#[test]
fn requests_are_required_and_limits_may_not_be_below_them() {
    let body = workload("", "").replace(
        "requests: {cpu: 100m, memory: 128Mi}",
        "requests: {cpu: 2x}\n          limits: {cpu: 50m, memory: 64Mi}",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.containers.main.resources.requests.cpu",
        "not a Kubernetes quantity",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.resources.requests.memory",
        "is required",
    );
    let body = workload("", "").replace(
        "requests: {cpu: 100m, memory: 128Mi}",
        "requests: {cpu: 100m, memory: 128Mi}\n          limits: {cpu: 50m}",
    );
    assert_error(
        &errors_of(&body),
        "spec.workload.containers.main.resources.limits.cpu",
        "below the request",
    );
}

#[test]
fn variable_names_must_be_environment_names() {
    let body = workload("        variables:\n          1BAD-NAME: x\n", "");
    assert_error(
        &errors_of(&body),
        "spec.workload.containers.main.variables.1BAD-NAME",
        "[A-Za-z_]",
    );
}

#[test]
fn file_paths_must_be_absolute_and_distinct_as_keys() {
    let body = workload(
        "        files:\n          etc/app.conf: {content: x}\n          /etc/a/b.conf: {content: x}\n          /etc/a-b.conf: {content: y}\n",
        "",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.containers.main.files.etc/app.conf",
        "absolute path",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.files./etc/a/b.conf",
        "collides with",
    );
}

#[test]
fn volume_mounts_must_name_a_declared_volume() {
    let body = workload(
        "        volumes:\n          /data: {source: \"${resources.db}\"}\n          /cache: {source: \"${resources.nothing}\"}\n          /x: {source: \"not-a-ref\"}\n",
        "    resources:\n      db: {type: secret, id: shop/db, params: {provider: vault}}\n",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.containers.main.volumes./data.source",
        "is a secret, not a volume",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.volumes./cache.source",
        "not declared",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.volumes./x.source",
        "${resources.<name>}",
    );
}

#[test]
fn probes_need_exactly_one_action_and_sane_thresholds() {
    let body = workload(
        "        livenessProbe: {periodSeconds: 0, successThreshold: 2}\n        readinessProbe:\n          httpGet: {path: ready}\n          exec: {command: [/bin/true]}\n",
        "",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.containers.main.livenessProbe",
        "exactly one of httpGet or exec",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.livenessProbe.periodSeconds",
        "at least 1",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.livenessProbe.successThreshold",
        "must be 1",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.readinessProbe",
        "exactly one",
    );
}

#[test]
fn http_probes_without_a_port_need_a_primary_port() {
    let body = workload("        startupProbe: {httpGet: {path: /started}}\n", "").replace(
        "        http: {port: 8080}",
        "        grpc: {port: 9000}\n        admin: {port: 9001}",
    );
    assert_error(
        &errors_of(&body),
        "spec.workload.containers.main.startupProbe.httpGet.port",
        "is required",
    );
}

#[test]
fn capabilities_are_named_without_the_cap_prefix() {
    let body = workload(
        "        securityContext: {capabilities: [CAP_NET_ADMIN, net_raw], runAsUser: -1}\n",
        "",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.containers.main.securityContext.capabilities[0]",
        "without CAP_",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.securityContext.capabilities[1]",
        "not a capability",
    );
    assert_error(
        &errors,
        "spec.workload.containers.main.securityContext.runAsUser",
        "negative",
    );
}

#[test]
fn parameters_must_belong_to_the_resource_type() {
    let body = workload(
        "",
        "    resources:\n      data: {type: volume, params: {size: 1Gi, keys: [a]}}\n      db: {type: secret, id: x, direction: inbound, namespace: other, params: {provider: vault, size: 1Gi}}\n",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.resources.data.params.keys",
        "does not apply to a volume resource (only to secret)",
    );
    assert_error(
        &errors,
        "spec.workload.resources.db.params.size",
        "only to volume",
    );
    assert_error(
        &errors,
        "spec.workload.resources.db.direction",
        "only to service and external-service",
    );
    assert_error(
        &errors,
        "spec.workload.resources.db.namespace",
        "only to service",
    );
}

#[test]
fn secrets_need_a_path_a_provider_and_well_formed_keys() {
    let body = workload(
        "",
        "    resources:\n      db: {type: secret, params: {keys: [ok, \"bad key\", ok], refreshInterval: 1day}}\n      empty: {type: secret, id: x, params: {provider: vault, keys: []}}\n",
    );
    let errors = errors_of(&body);
    assert_error(&errors, "spec.workload.resources.db.id", "is required");
    assert_error(
        &errors,
        "spec.workload.resources.db.params.provider",
        "no default SecretProvider",
    );
    assert_error(
        &errors,
        "spec.workload.resources.db.params.keys[1]",
        "not a Secret key",
    );
    assert_error(
        &errors,
        "spec.workload.resources.db.params.keys[2]",
        "listed twice",
    );
    assert_error(
        &errors,
        "spec.workload.resources.db.params.refreshInterval",
        "not a duration",
    );
    assert_error(
        &errors,
        "spec.workload.resources.empty.params.keys",
        "must not be empty",
    );
}

#[test]
fn a_default_secret_provider_satisfies_secrets_that_name_none() {
    let body = workload(
        "",
        "    resources:\n      db: {type: secret, id: shop/db}\n",
    );
    let ctx = DeriveContext {
        default_secret_provider: Some("vault-prod".into()),
        ..DeriveContext::default()
    };
    assert!(derive_service(&spec(&body), &ctx).is_ok());
}

#[test]
fn external_services_are_outbound_with_valid_endpoint_urls() {
    let body = workload(
        "",
        "    resources:\n      s3: {type: external-service, direction: inbound, params: {endpoints: {s3: \"s3.amazonaws.com\", db: \"tcp://db.example.com\"}}}\n      none: {type: external-service}\n",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.resources.s3.direction",
        "only called (outbound)",
    );
    assert_error(
        &errors,
        "spec.workload.resources.s3.params.endpoints.s3",
        "must start with a scheme",
    );
    assert_error(
        &errors,
        "spec.workload.resources.s3.params.endpoints.db",
        "explicit port",
    );
    assert_error(
        &errors,
        "spec.workload.resources.none.params.endpoints",
        "is required",
    );
}

#[test]
fn volumes_are_owned_with_a_size_or_shared_by_id() {
    let body = workload(
        "",
        "    resources:\n      a: {type: volume}\n      b: {type: volume, id: shared, params: {accessMode: ReadWriteMany}}\n      c: {type: volume, id: Bad_Id, params: {size: 0}}\n",
    );
    let errors = errors_of(&body);
    assert_error(&errors, "spec.workload.resources.a", "needs params.size");
    assert_error(
        &errors,
        "spec.workload.resources.b.params.accessMode",
        "only to an owned volume",
    );
    assert_error(&errors, "spec.workload.resources.c.id", "DNS-1123 label");
    assert_error(
        &errors,
        "spec.workload.resources.c.params.size",
        "greater than zero",
    );
}

#[test]
fn gpus_need_a_count_one_resource_and_a_primary_container() {
    let body = workload(
        "",
        "    resources:\n      gpu: {type: gpu}\n      more: {type: gpu, params: {count: 1, model: \"H100 80GB\"}}\n",
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.resources.gpu.params.count",
        "is required",
    );
    assert_error(
        &errors,
        "spec.workload.resources.more.params.model",
        "not a node label value",
    );
    assert_error(
        &errors,
        "spec.workload.resources",
        "at most one gpu resource",
    );
    let two = workload("", "    resources:\n      gpu: {type: gpu, params: {count: 1}}\n").replace("      main:", "      sidecar:\n        image: IMG\n        resources: {requests: {cpu: 10m, memory: 16Mi}}\n      api:").replace("IMG", IMAGE);
    assert_error(
        &errors_of(&two),
        "spec.workload.resources.gpu",
        "name one container `main`",
    );
}

#[test]
fn autoscaling_bounds_and_metrics_are_checked() {
    let body = format!(
        "  replicas: 2\n  autoscaling:\n    minReplicas: 5\n    maxReplicas: 3\n    metrics:\n      - {{type: cpu, target: 150}}\n      - {{type: memory, target: 70, metric: rss}}\n      - {{type: custom, metric: \"rate(x[5m])\", target: 0}}\n      - {{type: custom, target: 3}}\n      - {{type: cpu, target: 60}}\n{}",
        workload("", "")
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.replicas",
        "must not be set together with spec.autoscaling",
    );
    assert_error(&errors, "spec.autoscaling.minReplicas", "above maxReplicas");
    assert_error(
        &errors,
        "spec.autoscaling.metrics[0].target",
        "between 1 and 100",
    );
    assert_error(
        &errors,
        "spec.autoscaling.metrics[1].metric",
        "only to type custom",
    );
    assert_error(
        &errors,
        "spec.autoscaling.metrics[2].metric",
        "not a Prometheus metric name",
    );
    assert_error(
        &errors,
        "spec.autoscaling.metrics[2].target",
        "positive number",
    );
    assert_error(
        &errors,
        "spec.autoscaling.metrics[3].metric",
        "is required for type custom",
    );
    assert_error(&errors, "spec.autoscaling.metrics[4]", "listed twice");
}

#[test]
fn custom_metrics_need_the_cluster_metrics_stack() {
    let body = format!(
        "  autoscaling:\n    maxReplicas: 4\n    metrics: [{{type: custom, metric: queue_depth, target: 10}}]\n{}",
        workload("", "")
    );
    let mut ctx = DeriveContext::default();
    ctx.monitoring.enabled = false;
    assert_error(
        &errors_in_ctx(&spec(&body), &ctx),
        "spec.autoscaling.metrics[0]",
        "MonitoringRequired",
    );
}

#[test]
fn ports_have_kubernetes_port_names_and_are_exposed_once() {
    let body = workload("", "").replace("        http: {port: 8080}", "        http: {port: 8080}\n        web: {port: 8080}\n        a-very-long-port-name: {port: 9000}\n        zero: {port: 0}");
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.workload.service.ports.web.port",
        "exposed twice",
    );
    assert_error(
        &errors,
        "spec.workload.service.ports.a-very-long-port-name",
        "at most 15",
    );
    assert_error(
        &errors,
        "spec.workload.service.ports.zero.port",
        "between 1 and 65535",
    );
}

#[test]
fn ingress_routes_need_host_names_and_a_tcp_port() {
    let body = format!(
        "{}  ingress:\n    routes:\n      public: {{hosts: [localhost, \"*.shop.example\"], port: admin, path: api}}\n      empty: {{hosts: []}}\n",
        workload("", "")
    );
    let errors = errors_of(&body);
    assert_error(
        &errors,
        "spec.ingress.routes.public.hosts[0]",
        "fully qualified",
    );
    assert_error(&errors, "spec.ingress.routes.public.port", "not a port");
    assert_error(&errors, "spec.ingress.routes.public.path", "start with '/'");
    assert_error(
        &errors,
        "spec.ingress.routes.empty.hosts",
        "at least one host",
    );
    assert!(
        !errors
            .iter()
            .any(|e| e.field == "spec.ingress.routes.public.hosts[1]"),
        "wildcard hosts are allowed"
    );
}

#[test]
fn metrics_endpoints_name_an_existing_port_and_a_valid_interval() {
    let body = format!(
        "{}  observability:\n    metrics: {{port: prom, path: metrics}}\n    scrapeInterval: fast\n",
        workload("", "")
    );
    let errors = errors_of(&body);
    assert_error(&errors, "spec.observability.metrics.port", "not a port");
    assert_error(&errors, "spec.observability.metrics.path", "start with '/'");
    assert_error(
        &errors,
        "spec.observability.scrapeInterval",
        "not a duration",
    );
}

#[test]
fn allowed_binaries_are_absolute_paths() {
    let body = format!(
        "{}  runtime:\n    allowedBinaries: [sh, /bin/sh, /bin/sh]\n",
        workload("", "")
    );
    let errors = errors_of(&body);
    assert_error(&errors, "spec.runtime.allowedBinaries[0]", "absolute path");
    assert_error(&errors, "spec.runtime.allowedBinaries[2]", "listed twice");
}

#[test]
fn image_pull_secrets_name_secret_resources_with_a_docker_config() {
    let body = format!(
        "  imagePullSecrets: [registry, missing, cache]\n{}",
        workload(
            "",
            "    resources:\n      registry: {type: secret, id: x, params: {provider: vault, keys: [token], secretType: Opaque}}\n      cache: {type: volume, params: {size: 1Gi}}\n"
        )
    );
    let errors = errors_of(&body);
    assert_error(&errors, "spec.imagePullSecrets[1]", "not declared");
    assert_error(&errors, "spec.imagePullSecrets[2]", "is a volume resource");
    assert_error(
        &errors,
        "spec.workload.resources.registry.params.keys",
        ".dockerconfigjson",
    );
    assert_error(
        &errors,
        "spec.workload.resources.registry.params.secretType",
        "cannot be a registry credential",
    );
}
