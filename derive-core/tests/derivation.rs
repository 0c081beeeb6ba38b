//! Behaviour of the derivation pipeline, one rule per test: the secret routes, layers, PDB and
//! rollout rules, autoscaling, config hashing, gate questions, runtime allowlist, mesh
//! membership and resource demand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{IMAGE, spec, workload};

use lattice_derive::authz::{AttrValue, Gate};
use lattice_derive::pipeline::ENV_SECRETS_ANNOTATION;
use lattice_derive::{ApplyLayer, DeriveContext, Derived, LatticeService, derive_service, labels};
use serde_json::{Value, json};

fn derive(svc: &LatticeService) -> Derived {
    derive_service(svc, &DeriveContext::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn derive_example(file: &str) -> Derived {
    derive_service(&common::load(file), &common::context()).unwrap()
}

fn deployment(d: &Derived) -> &Value {
    &d.of_kind("Deployment").next().unwrap().object
}

fn container<'a>(d: &'a Derived, name: &str) -> &'a Value {
    deployment(d)["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

#[test]
fn checkout_uses_each_of_the_five_secret_routes() {
    let d = derive_example("checkout.yaml");
    let api = container(&d, "api");
    // Route 1: a pure reference reads the resource's synced Secret by key.
    assert!(api["env"].as_array().unwrap().contains(&json!({
        "name": "STRIPE_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "checkout-stripe", "key": "api-key"}}
    })));
    let stripe = &d.find("ExternalSecret", "checkout-stripe").unwrap().object["spec"];
    assert_eq!(
        stripe["data"],
        json!([{"secretKey": "api-key", "remoteRef": {"key": "commerce/stripe", "property": "api-key"}}])
    );
    assert_eq!(stripe["refreshInterval"], "24h");
    // Route 2: a mixed value becomes a templated ExternalSecret read with envFrom.
    let env_eso = &d
        .find("ExternalSecret", "checkout-api-env-eso")
        .unwrap()
        .object["spec"];
    assert_eq!(env_eso["target"]["template"]["engineVersion"], "v2");
    assert_eq!(
        env_eso["target"]["template"]["data"]["DATABASE_URL"],
        "postgres://checkout:{{ .orders_db_password }}@orders-db.commerce.svc:5432/orders?sslmode=require"
    );
    assert_eq!(
        env_eso["data"],
        json!([{"secretKey": "orders_db_password", "remoteRef": {"key": "commerce/orders-db", "property": "password"}}])
    );
    assert!(
        api["envFrom"]
            .as_array()
            .unwrap()
            .contains(&json!({"secretRef": {"name": "checkout-api-env-eso"}}))
    );
    // Route 3: a file with secrets gets its own templated ExternalSecret, mounted read-only at
    // its exact path.
    let file_es = d
        .find(
            "ExternalSecret",
            "checkout-api-file-etc-checkout-config.yaml",
        )
        .unwrap();
    let template = file_es.object["spec"]["target"]["template"]["data"]["etc-checkout-config.yaml"]
        .as_str()
        .unwrap();
    assert!(template.contains("password: \"{{ .orders_db_password }}\""));
    assert!(template.contains("endpoint: \"http://payments.commerce.svc.cluster.local:8080\""));
    let mount = api["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/etc/checkout/config.yaml")
        .unwrap();
    assert_eq!(mount["readOnly"], true);
    assert_eq!(mount["subPath"], "etc-checkout-config.yaml");
    // Route 4: registry credentials become a dockerconfigjson Secret in imagePullSecrets.
    let registry = &d
        .find("ExternalSecret", "checkout-registry")
        .unwrap()
        .object["spec"]["target"];
    assert_eq!(
        registry["template"]["type"],
        "kubernetes.io/dockerconfigjson"
    );
    assert_eq!(
        deployment(&d)["spec"]["template"]["spec"]["imagePullSecrets"],
        json!([{"name": "checkout-registry"}])
    );
    // Route 5: a secret without keys is imported whole.
    let flags = &d
        .find("ExternalSecret", "checkout-feature-flags")
        .unwrap()
        .object["spec"];
    assert_eq!(
        flags["dataFrom"],
        json!([{"extract": {"key": "commerce/feature-flags"}}])
    );
    assert!(flags.get("data").is_none());
    // Plain values (with the peer's URL resolved) go to the ConfigMap.
    let cm = &d.find("ConfigMap", "checkout-api-env").unwrap().object["data"];
    assert_eq!(
        cm,
        &json!({
            "LOG_FORMAT": "json",
            "PAYMENTS_URL": "http://payments.commerce.svc.cluster.local:8080",
            "REDIS_ADDR": "redis.commerce.svc.cluster.local:6379",
        })
    );
}

#[test]
fn external_secrets_are_labelled_with_their_service_for_revocation_cleanup() {
    let d = derive_example("checkout.yaml");
    for es in d.of_kind("ExternalSecret") {
        assert_eq!(
            es.object["metadata"]["labels"][labels::SERVICE_LABEL],
            "checkout",
            "{}",
            es.name()
        );
    }
}

#[test]
fn env_consumed_secrets_are_named_on_the_deployment_and_file_secrets_are_not() {
    let d = derive_example("checkout.yaml");
    assert_eq!(
        deployment(&d)["metadata"]["annotations"][ENV_SECRETS_ANNOTATION],
        "checkout-api-env-eso,checkout-feature-flags,checkout-stripe"
    );
}

#[test]
fn user_template_braces_are_escaped_and_dollar_dollar_stays_literal() {
    let body = workload(
        "        variables:\n          LITERAL: \"$${resources.db.password}\"\n        files:\n          /etc/app.tmpl: {content: \"{{ .Values }} pw=${resources.db.password}\"}\n",
        "    resources:\n      db: {type: secret, id: shop/db, params: {provider: vault, keys: [password]}}\n",
    );
    let d = derive(&spec(&body));
    let cm = &d.find("ConfigMap", "api-main-env").unwrap().object["data"];
    assert_eq!(cm["LITERAL"], "${resources.db.password}");
    let es = d
        .find("ExternalSecret", "api-main-file-etc-app.tmpl")
        .unwrap();
    assert_eq!(
        es.object["spec"]["target"]["template"]["data"]["etc-app.tmpl"],
        "{{ \"{{\" }} .Values }} pw={{ .db_password }}"
    );
}

#[test]
fn objects_are_tagged_with_their_apply_layer() {
    let d = derive_example("search-autoscaled.yaml");
    let layer_of = |kind: &str| d.of_kind(kind).next().unwrap().layer;
    assert_eq!(layer_of("Deployment"), ApplyLayer::Workload);
    assert_eq!(layer_of("ScaledObject"), ApplyLayer::Autoscaling);
    for kind in [
        "ServiceAccount",
        "Service",
        "PodDisruptionBudget",
        "VMServiceScrape",
        "TracingPolicyNamespaced",
    ] {
        assert_eq!(layer_of(kind), ApplyLayer::Infrastructure, "{kind}");
    }
    let layers: Vec<ApplyLayer> = d.objects.iter().map(|o| o.layer).collect();
    assert!(layers.is_sorted(), "objects are ordered by layer");
}

#[test]
fn a_pdb_keeps_all_but_one_replica_from_two_replicas_up() {
    for (replicas, expected) in [(1, None), (2, Some(1)), (5, Some(4))] {
        let d = derive(&spec(&format!(
            "  replicas: {replicas}\n{}",
            workload("", "")
        )));
        let min = d
            .find("PodDisruptionBudget", "api")
            .map(|p| p.object["spec"]["minAvailable"].as_i64().unwrap());
        assert_eq!(min, expected, "replicas {replicas}");
    }
}

#[test]
fn rollouts_surge_without_dropping_pods_unless_a_single_node_volume_is_owned() {
    let d = derive(&spec(&workload("", "")));
    assert_eq!(
        deployment(&d)["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "100%"}})
    );
    let rwo = workload(
        "        volumes:\n          /data: {source: \"${resources.data}\"}\n",
        "    resources:\n      data: {type: volume, params: {size: 10Gi}}\n",
    );
    let d = derive(&spec(&rwo));
    assert_eq!(
        deployment(&d)["spec"]["strategy"],
        json!({"type": "Recreate"})
    );
    let pvc = d.find("PersistentVolumeClaim", "api-data").unwrap();
    assert_eq!(pvc.object["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    assert_eq!(
        pvc.object["spec"]["resources"]["requests"]["storage"],
        "10Gi"
    );
}

#[test]
fn autoscaled_deployments_leave_replicas_to_the_autoscaler() {
    let d = derive(&spec(&format!(
        "  autoscaling: {{maxReplicas: 6}}\n{}",
        workload("", "")
    )));
    assert!(deployment(&d)["spec"].get("replicas").is_none());
    let so = &d.of_kind("ScaledObject").next().unwrap().object["spec"];
    assert_eq!(so["minReplicaCount"], 1);
    assert_eq!(so["maxReplicaCount"], 6);
    assert_eq!(
        so["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"})
    );
    assert_eq!(
        so["triggers"],
        json!([{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}])
    );
    assert!(
        d.find("PodDisruptionBudget", "api").is_none(),
        "one replica minimum: no PDB"
    );
    assert_eq!(d.demand.replicas, 6, "quota is reserved for maxReplicas");
}

#[test]
fn custom_metrics_become_a_prometheus_trigger_scoped_to_the_service_pods() {
    let d = derive_example("search-autoscaled.yaml");
    let so = &d.of_kind("ScaledObject").next().unwrap().object["spec"];
    assert_eq!(
        so["triggers"][1]["metadata"]["query"],
        "sum(http_requests_in_flight{namespace=\"catalog\",pod=~\"search-[a-z0-9]+-[a-z0-9]+\"})"
    );
    assert_eq!(so["triggers"][1]["metadata"]["threshold"], "40");
    assert_eq!(so["triggers"][1]["metricType"], "AverageValue");
}

#[test]
fn the_config_hash_follows_configuration_not_replicas() {
    let hash = |s: &LatticeService| {
        deployment(&derive(s))["spec"]["template"]["metadata"]["annotations"]
            [labels::CONFIG_HASH_ANNOTATION]
            .as_str()
            .unwrap()
            .to_string()
    };
    let base = spec(&workload("        variables: {MODE: fast}\n", ""));
    let changed = spec(&workload("        variables: {MODE: slow}\n", ""));
    let scaled = spec(&format!(
        "  replicas: 4\n{}",
        workload("        variables: {MODE: fast}\n", "")
    ));
    assert_ne!(hash(&base), hash(&changed));
    assert_eq!(hash(&base), hash(&scaled));
}

#[test]
fn restricted_pod_security_is_the_default() {
    let d = derive(&spec(&workload("", "")));
    let pod = &deployment(&d)["spec"]["template"]["spec"];
    assert_eq!(
        pod["securityContext"],
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(
        pod["containers"][0]["securityContext"],
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"}
        })
    );
    assert_eq!(
        pod["containers"][0]["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": 8080})
    );
    assert_eq!(
        pod["containers"][0]["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": 8080})
    );
    assert_eq!(
        pod["containers"][0]["resources"]["limits"],
        json!({"cpu": "100m", "memory": "128Mi"}),
        "limits default to requests"
    );
}

#[test]
fn a_spec_without_gated_features_asks_only_deploy_image() {
    let d = derive(&spec(&workload("", "")));
    let actions: Vec<Gate> = d.authz_requests.iter().map(|r| r.action).collect();
    assert_eq!(actions, vec![Gate::DeployImage]);
    let request = &d.authz_requests[0];
    assert_eq!(
        request.principal.entity_uid().to_string(),
        "Lattice::Service::\"shop/api\""
    );
    assert_eq!(
        request.resource.entity_uid().to_string(),
        format!("Lattice::ImageRef::\"{IMAGE}\"")
    );
    assert_eq!(
        request.resource.attrs["registry"],
        AttrValue::from("ghcr.io")
    );
}

#[test]
fn tags_overrides_and_unknown_entrypoints_each_raise_their_gate() {
    let body = workload(
        "        securityContext: {capabilities: [NET_ADMIN], runAsUser: 0, readOnlyRootFilesystem: false}\n      sidecar:\n        image: docker.io/envoyproxy/envoy:v1.31.0\n        resources: {requests: {cpu: 50m, memory: 64Mi}}\n",
        "",
    );
    let body = format!("{body}  runtime: {{hostNetwork: true}}\n");
    let d = derive(&spec(&body));
    let asked: Vec<(Gate, String)> = d
        .authz_requests
        .iter()
        .map(|r| (r.action, r.resource.id.clone()))
        .collect();
    let envoy = "docker.io/envoyproxy/envoy:v1.31.0".to_string();
    assert_eq!(
        asked,
        vec![
            (Gate::DeployImage, envoy.clone()),
            (Gate::DeployImage, IMAGE.to_string()),
            (Gate::AllowTagReference, envoy),
            (Gate::OverrideSecurity, "allowedBinary:*".into()),
            (Gate::OverrideSecurity, "capability:NET_ADMIN".into()),
            (Gate::OverrideSecurity, "hostNetwork".into()),
            (Gate::OverrideSecurity, "readWriteRootFilesystem".into()),
            (Gate::OverrideSecurity, "runAsRoot".into()),
        ]
    );
    let unknown = d
        .authz_requests
        .iter()
        .find(|r| r.resource.id == "allowedBinary:*")
        .unwrap();
    assert_eq!(
        unknown.fields,
        vec!["spec.workload.containers.sidecar.command"]
    );
    assert_eq!(
        unknown.resource.attrs["category"],
        AttrValue::from("binary")
    );
    assert!(
        d.of_kind("TracingPolicyNamespaced").next().is_none(),
        "no allowlist with an unknown entrypoint"
    );
    let root = container(&d, "main");
    assert_eq!(root["securityContext"]["runAsUser"], 0);
    assert_eq!(root["securityContext"]["runAsNonRoot"], false);
    assert_eq!(
        root["securityContext"]["capabilities"]["add"],
        json!(["NET_ADMIN"])
    );
}

#[test]
fn one_question_per_resource_lists_every_field_that_raised_it() {
    let body = workload("", "").replace(
        "    service:",
        &format!("      worker:\n        image: {IMAGE}\n        command: [/app/worker]\n        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}\n    service:"),
    );
    let d = derive(&spec(&body));
    assert_eq!(d.authz_requests.len(), 1);
    assert_eq!(
        d.authz_requests[0].fields,
        vec![
            "spec.workload.containers.main.image",
            "spec.workload.containers.worker.image"
        ]
    );
}

#[test]
fn the_binary_allowlist_holds_commands_exec_probes_and_declared_binaries() {
    let body = format!(
        "{}  runtime: {{allowedBinaries: [/bin/sh, /app/api]}}\n",
        workload(
            "        livenessProbe: {exec: {command: [/app/health]}}\n",
            ""
        )
    );
    let d = derive(&spec(&body));
    let policy = d
        .find("TracingPolicyNamespaced", "allow-binaries-api")
        .unwrap();
    let kprobe = &policy.object["spec"]["kprobes"][0];
    assert_eq!(kprobe["call"], "security_bprm_check");
    assert_eq!(
        kprobe["selectors"][0]["matchArgs"][0]["values"],
        json!(["/app/api", "/app/health", "/bin/sh"])
    );
    assert_eq!(
        kprobe["selectors"][0]["matchActions"],
        json!([{"action": "Sigkill"}])
    );
    let binaries: Vec<&str> = d
        .authz_requests
        .iter()
        .filter(|r| r.action == Gate::OverrideSecurity)
        .map(|r| r.resource.id.as_str())
        .collect();
    assert_eq!(
        binaries,
        vec!["allowedBinary:/bin/sh"],
        "only binaries the spec does not run itself are asked"
    );
}

#[test]
fn secrets_endpoints_and_shared_volumes_raise_their_gates() {
    let d = derive_example("invoice-archiver.yaml");
    let endpoint = d
        .authz_requests
        .iter()
        .find(|r| r.resource.id == "api.taxservice.example.com:8443")
        .unwrap();
    assert_eq!(endpoint.action, Gate::AccessExternalEndpoint);
    assert_eq!(endpoint.resource.attrs["port"], AttrValue::Long(8443));
    assert_eq!(
        endpoint.resource.attrs["protocol"],
        AttrValue::from("https")
    );
    let secret = d
        .authz_requests
        .iter()
        .find(|r| r.action == Gate::AccessSecret)
        .unwrap();
    assert_eq!(
        secret.resource.entity_uid().to_string(),
        "Lattice::SecretPath::\"vault-prod:billing/aws-archiver\""
    );
    let d = derive_example("media-transcoder.yaml");
    let volume = d
        .authz_requests
        .iter()
        .find(|r| r.action == Gate::AccessVolume)
        .unwrap();
    assert_eq!(volume.resource.id, "media/media-library");
    let owner = derive_example("media-ingest.yaml");
    assert!(
        !owner
            .authz_requests
            .iter()
            .any(|r| r.action == Gate::AccessVolume),
        "owning a volume needs no gate"
    );
}

#[test]
fn mesh_membership_states_both_sides_and_external_hosts() {
    let checkout = derive_example("checkout.yaml").mesh;
    let payments = derive_example("payments.yaml").mesh;
    assert_eq!(
        checkout
            .outbound
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>(),
        vec!["payments", "redis"]
    );
    assert!(checkout.inbound.is_empty());
    assert_eq!(
        payments
            .inbound
            .iter()
            .map(|k| (k.namespace.as_str(), k.name.as_str()))
            .collect::<Vec<_>>(),
        vec![("commerce", "checkout")]
    );
    assert_eq!(
        checkout.identity.principal(),
        "cluster.local/ns/commerce/sa/checkout"
    );
    assert_eq!(checkout.ports[0].target_port, 8080);
    let archiver = derive_example("invoice-archiver.yaml").mesh;
    let hosts: Vec<(&str, u16, &str)> = archiver
        .external
        .iter()
        .map(|e| (e.host.as_str(), e.port, e.protocol.as_str()))
        .collect();
    assert_eq!(
        hosts,
        vec![
            ("s3.eu-west-1.amazonaws.com", 443, "https"),
            ("api.taxservice.example.com", 8443, "https")
        ]
    );
    let ledger = derive_example("ledger.yaml").mesh;
    assert_eq!(ledger.ingress[0].hosts, vec!["ledger.acme.example"]);
    assert_eq!(ledger.ingress[0].port, "http");
}

#[test]
fn a_both_direction_dependency_is_caller_and_callee_across_namespaces() {
    let body = workload(
        "",
        "    resources:\n      audit: {type: service, direction: both, namespace: compliance}\n",
    );
    let mesh = derive(&spec(&body)).mesh;
    assert_eq!(mesh.inbound, mesh.outbound);
    assert_eq!(mesh.outbound[0].namespace, "compliance");
}

#[test]
fn demand_is_replicas_times_pod_requests_with_gpus() {
    let d = derive_example("checkout.yaml").demand;
    assert_eq!(
        (d.replicas, d.cpu_millicores, d.memory_bytes),
        (3, 1500, 3 * 512 * 1024 * 1024)
    );
    let d = derive_example("media-transcoder.yaml").demand;
    assert_eq!(
        (d.per_pod.cpu_millicores, d.gpus, d.gpu_model.as_deref()),
        (2000, 1, Some("NVIDIA-L4"))
    );
    let transcoder = derive_example("media-transcoder.yaml");
    assert_eq!(
        container(&transcoder, "main")["resources"]["limits"]["nvidia.com/gpu"],
        "1"
    );
}

#[test]
fn service_port_and_url_resolve_from_the_peer_spec() {
    let caller = spec(&workload(
        "        variables:\n          PAYMENTS_URL: \"${resources.payments.url}\"\n          PAYMENTS_PORT: \"${resources.payments.port}\"\n",
        "    resources:\n      payments: {type: service}\n",
    ));
    let payments = common::load("payments.yaml");
    let mut peer = payments.clone();
    peer.metadata.namespace = Some("shop".into());
    let ctx = DeriveContext::default().with_peers([&peer]);
    let d = derive_service(&caller, &ctx).unwrap();
    let data = &d.find("ConfigMap", "api-main-env").unwrap().object["data"];
    assert_eq!(
        data["PAYMENTS_URL"],
        "http://payments.shop.svc.cluster.local:8080"
    );
    assert_eq!(data["PAYMENTS_PORT"], "8080");
}

#[test]
fn service_references_resolve_across_namespaces() {
    let body = workload(
        "        variables:\n          AUDIT_HOST: \"${resources.audit.host}\"\n",
        "    resources:\n      audit: {type: service, namespace: compliance}\n",
    );
    let d = derive(&spec(&body));
    assert_eq!(
        d.find("ConfigMap", "api-main-env").unwrap().object["data"]["AUDIT_HOST"],
        "audit.compliance.svc.cluster.local"
    );
}

#[test]
fn metrics_ports_get_a_scrape_and_other_services_do_not() {
    let d = derive_example("ledger.yaml");
    let scrape = &d.find("VMServiceScrape", "ledger").unwrap().object["spec"];
    assert_eq!(
        scrape["endpoints"],
        json!([{"port": "metrics", "path": "/metrics", "interval": "15s"}])
    );
    assert_eq!(
        scrape["selector"]["matchLabels"]["app.kubernetes.io/name"],
        "ledger"
    );
    assert!(
        derive_example("hello.yaml")
            .of_kind("VMServiceScrape")
            .next()
            .is_none()
    );
}
