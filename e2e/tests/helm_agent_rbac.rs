//! The agent chart's RBAC is what the agent needs and no more (issue 18): every kind
//! derive-core derives for the examples, the mesh baseline, PolicyReports, every kind the
//! Cluster API pivot moves and every kind a compliance probe may name is allowed to the chart's
//! ServiceAccount by a real API server's authorizer (SubjectAccessReview), impersonation and
//! RBAC escalation are not; and a real agent running as that ServiceAccount (a token for it from
//! the API server's TokenRequest) converges `examples/hello.yaml` and puts back a deleted object.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{Api, DeleteParams, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::pinned_kind;
use lattice_derive::compliance::kinds::KNOWN_KINDS;
use lattice_derive::compliance::policy_report::POLICY_REPORT_API_VERSION;
use lattice_derive::mesh::MeshSettings;
use lattice_derive::mesh::baseline::baseline;
use lattice_derive::pivot::membership::{MOVED_CORE_KINDS, MOVED_GROUPS};
use lattice_e2e::examples::derive_examples;
use lattice_e2e::helm::{apply_strict, template};
use lattice_e2e::lattice::{Agent, AgentOptions, Cell};
use lattice_e2e::{TestCluster, wait_until};
use serde_json::{Value, json};
use support::*;

/// The release: `helm install lattice-agent deploy/charts/lattice-agent -n lattice-system`.
const RELEASE: &str = "lattice-agent";
const NAMESPACE_OF_AGENT: &str = "lattice-system";
const USER: &str = "system:serviceaccount:lattice-system:lattice-agent";
const GROUPS: [&str; 3] = [
    "system:serviceaccounts",
    "system:serviceaccounts:lattice-system",
    "system:authenticated",
];
/// What the agent does to the objects it applies: server-side apply, prune, drift watch.
const APPLY_VERBS: [&str; 6] = ["get", "list", "watch", "create", "patch", "delete"];
const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

/// Renders the agent chart with its defaults and applies only its identity and RBAC (the
/// ServiceAccount, ClusterRole and ClusterRoleBinding) to `cluster`.
async fn install_chart_rbac(cluster: &TestCluster) {
    let client = cluster.client().await.unwrap();
    let namespace: Namespace =
        serde_json::from_value(json!({ "metadata": { "name": NAMESPACE_OF_AGENT } })).unwrap();
    Api::<Namespace>::all(client.clone())
        .patch(
            NAMESPACE_OF_AGENT,
            &PatchParams::apply("helm-test"),
            &Patch::Apply(&namespace),
        )
        .await
        .unwrap();
    let objects: Vec<Value> = template(
        "lattice-agent",
        RELEASE,
        NAMESPACE_OF_AGENT,
        &["cell.url=https://cell.example.com:50051"],
        &[],
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|o| {
        matches!(
            o["kind"].as_str(),
            Some("ServiceAccount" | "ClusterRole" | "ClusterRoleBinding")
        )
    })
    .collect();
    assert_eq!(objects.len(), 3, "{objects:?}");
    assert_eq!(objects[0]["metadata"]["name"], RELEASE);
    let rejections = apply_strict(&client, NAMESPACE_OF_AGENT, &objects)
        .await
        .unwrap();
    assert!(rejections.is_empty(), "{}", rejections.join("\n"));
}

/// Whether the API server's authorizer allows `verb` on `group`/`resource` (and `subresource`)
/// to the chart's ServiceAccount.
async fn allowed(client: &kube::Client, verb: &str, group: &str, resource: &str) -> bool {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": USER,
            "groups": GROUPS,
            "resourceAttributes": {
                "verb": verb,
                "group": group,
                "resource": resource,
                "subresource": subresource,
            }
        }
    }))
    .unwrap();
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    answer.status.is_some_and(|s| s.allowed)
}

/// `(group, plural resource)` of `kind` in `api_version`, from the API server's discovery.
async fn resource_of(client: &kube::Client, api_version: &str, kind: &str) -> (String, String) {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (resource, _) = pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
        .await
        .unwrap_or_else(|e| panic!("{kind} ({api_version}) is not served: {e}"));
    (resource.group, resource.plural)
}

#[tokio::test]
async fn the_chart_cluster_role_allows_every_kind_the_agent_handles_and_nothing_more() {
    let cluster = workload_cluster("helm-rbac").await;
    install_chart_rbac(&cluster).await;
    let client = cluster.client().await.unwrap();

    // (group, resource) → verbs the agent needs.
    let mut needs: BTreeSet<(String, String, &str)> = BTreeSet::new();
    fn need(
        needs: &mut BTreeSet<(String, String, &'static str)>,
        (group, resource): (String, String),
        verbs: &[&'static str],
    ) {
        for verb in verbs {
            needs.insert((group.clone(), resource.clone(), verb));
        }
    }
    // Everything derivation emits for the examples, the mesh baseline and the compliance
    // reports: applied, pruned and watched for drift.
    let mut emitted: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, derived) in derive_examples().unwrap() {
        for object in &derived.objects {
            emitted.insert((object.api_version().to_owned(), object.kind().to_owned()));
        }
    }
    for object in baseline(&MeshSettings::default(), &json!({})) {
        emitted.insert((object.api_version().to_owned(), object.kind().to_owned()));
    }
    for kind in ["PolicyReport", "ClusterPolicyReport"] {
        emitted.insert((POLICY_REPORT_API_VERSION.to_owned(), kind.to_owned()));
    }
    // The agent's own objects: credentials and revisions (Secrets), inventories (ConfigMaps),
    // the namespaces it creates.
    for kind in ["Secret", "ConfigMap", "Namespace"] {
        emitted.insert(("v1".to_owned(), kind.to_owned()));
    }
    assert!(emitted.len() > 20, "{emitted:?}");
    for (api_version, kind) in &emitted {
        need(
            &mut needs,
            resource_of(&client, api_version, kind).await,
            &APPLY_VERBS,
        );
    }
    // Compliance inventories and heartbeats read every kind a probe may name (nodes, pods...).
    for known in KNOWN_KINDS {
        need(
            &mut needs,
            resource_of(&client, known.api_version, known.kind).await,
            &READ_VERBS,
        );
    }
    // A pivot moves every kind of the Cluster API groups (status included) and the cluster's
    // core Secrets and ConfigMaps.
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let mut moved_kinds = 0;
    for group in discovery
        .groups()
        .filter(|g| MOVED_GROUPS.contains(&g.name()))
    {
        for (resource, _) in group.recommended_resources() {
            moved_kinds += 1;
            for verb in ["get", "list", "create", "patch", "delete"] {
                needs.insert((resource.group.clone(), resource.plural.clone(), verb));
            }
            needs.insert((
                resource.group.clone(),
                format!("{}/status", resource.plural),
                "patch",
            ));
        }
    }
    assert!(moved_kinds >= 8, "the Cluster API CRDs are installed");
    for kind in MOVED_CORE_KINDS {
        need(
            &mut needs,
            resource_of(&client, "v1", kind).await,
            &APPLY_VERBS,
        );
    }

    let mut denied = Vec::new();
    for (group, resource, verb) in &needs {
        if !allowed(&client, verb, group, resource).await {
            let group = if group.is_empty() { "core" } else { group };
            denied.push(format!("{verb} {resource} ({group})"));
        }
    }
    assert!(
        denied.is_empty(),
        "the chart's ClusterRole (deploy/charts/lattice-agent/templates/clusterrole.yaml) denies \
         what the agent needs:\n{}",
        denied.join("\n")
    );

    // Nothing beyond: no impersonation, no RBAC escalation, no pods/exec, no writes to nodes
    // or pods, no reading of what it never handles.
    for (verb, group, resource) in [
        ("impersonate", "", "users"),
        ("impersonate", "", "serviceaccounts"),
        ("impersonate", "", "groups"),
        ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
        ("bind", "rbac.authorization.k8s.io", "clusterroles"),
        ("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
        ("create", "", "pods"),
        ("create", "", "pods/exec"),
        ("delete", "", "nodes"),
        ("patch", "", "nodes"),
        ("update", "apps", "deployments"),
        ("update", "cluster.x-k8s.io", "clusters"),
        ("get", "certificates.k8s.io", "certificatesigningrequests"),
        (
            "create",
            "apiextensions.k8s.io",
            "customresourcedefinitions",
        ),
    ] {
        assert!(
            !allowed(&client, verb, group, resource).await,
            "the chart's ClusterRole allows {verb} {resource}.{group}, which the agent never does"
        );
    }
}

#[tokio::test]
async fn an_agent_under_the_chart_rbac_converges_a_service_and_corrects_drift() {
    let cluster = workload_cluster(CLUSTER).await;
    install_chart_rbac(&cluster).await;
    // The agent's identity: a token of the chart's ServiceAccount from a TokenRequest, what a
    // pod's projected ServiceAccount token is.
    let kubeconfig = cluster
        .service_account_kubeconfig(NAMESPACE_OF_AGENT, RELEASE, 3600)
        .await
        .unwrap();
    let whoami = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        whoami.contains("token:") && !whoami.contains("client-certificate"),
        "{whoami}"
    );
    let cell = Cell::start().await.unwrap();
    let ctl = cell.ctl().unwrap();
    permit_the_examples(&ctl).await;
    let options = AgentOptions {
        kubeconfig: Some(kubeconfig),
        ..AgentOptions::default()
    };
    let agent = Agent::register(&cell, &cluster, options).await.unwrap();
    let admin = cluster.client().await.unwrap();

    ctl.apply(&hello_yaml()).await.unwrap();
    let view = wait_ready(&ctl).await;
    let applied = assert_reported_objects_are_applied(&admin, &view).await;
    assert!(applied.len() >= 3, "{applied:?}");
    let before = wait_for_hello_objects(&admin).await;

    // Drift: the Service deleted behind Lattice's back comes back, re-created by the agent.
    let services = Api::<Service>::namespaced(admin.clone(), NAMESPACE);
    services
        .delete(NAME, &DeleteParams::default())
        .await
        .unwrap();
    let old_uid = before.service.unwrap().metadata.uid;
    wait_until("the deleted Service to be put back", SETTLE, || async {
        Ok(services
            .get_opt(NAME)
            .await?
            .filter(|s| s.metadata.uid != old_uid)
            .map(|_| ()))
    })
    .await
    .unwrap();

    let log = agent.log();
    assert!(
        !log.contains("forbidden") && !log.contains("Forbidden"),
        "the agent was refused something under the chart's RBAC:\n{log}"
    );
}
