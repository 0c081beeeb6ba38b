//! Shared by the end-to-end and fault tests: the example spec, variants of it, and reading the
//! objects it derives from a test cluster.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use lattice_e2e::bins::workspace_root;
use lattice_e2e::lattice::objects::{ObjectRef, applied_by, get_object};
use lattice_e2e::lattice::{Ctl, ServiceView, install_platform_crds, wait_for_phase};
use lattice_e2e::{ManagedProcess, TestCluster, wait_until};

/// Namespace and name of `examples/hello.yaml`, placed on cluster `edge-1`.
pub const NAMESPACE: &str = "demo";
pub const NAME: &str = "hello";
pub const CLUSTER: &str = "edge-1";
/// The field manager Lattice applies with.
pub const FIELD_MANAGER: &str = "lattice";
/// Upper bound for a delivery to settle on a loaded machine; turns a hang into a readable
/// failure, it times nothing.
pub const SETTLE: Duration = Duration::from_secs(180);

/// `examples/hello.yaml`.
pub fn hello_yaml() -> PathBuf {
    workspace_root().join("examples").join("hello.yaml")
}

/// `examples/policies/`: the CedarPolicies permitting what the examples need (Lattice denies by
/// default).
pub fn example_policies() -> PathBuf {
    workspace_root().join("examples").join("policies")
}

/// Applies `examples/policies/` with `latticectl apply -f DIR`, so the examples are authorized.
pub async fn permit_the_examples(ctl: &Ctl) {
    let applied = ctl.apply(&example_policies()).await.unwrap();
    assert!(
        applied.iter().all(|item| item["kind"] == "CedarPolicy"),
        "{applied:?}"
    );
}

/// Writes `examples/hello.yaml` with `from` replaced by `to` into `dir/name`.
pub fn hello_variant(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(hello_yaml()).unwrap();
    assert!(
        text.contains(from),
        "examples/hello.yaml no longer contains {from:?}"
    );
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

/// The Deployment, Service and ServiceAccount `demo/hello`, as far as they exist.
pub struct HelloObjects {
    pub deployment: Option<Deployment>,
    pub service: Option<Service>,
    pub service_account: Option<ServiceAccount>,
}

impl HelloObjects {
    pub async fn read(client: &Client) -> Self {
        Self {
            deployment: Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
                .get_opt(NAME)
                .await
                .unwrap(),
            service: Api::<Service>::namespaced(client.clone(), NAMESPACE)
                .get_opt(NAME)
                .await
                .unwrap(),
            service_account: Api::<ServiceAccount>::namespaced(client.clone(), NAMESPACE)
                .get_opt(NAME)
                .await
                .unwrap(),
        }
    }

    pub fn all_present(&self) -> bool {
        self.deployment.is_some() && self.service.is_some() && self.service_account.is_some()
    }

    pub fn none_present(&self) -> bool {
        self.deployment.is_none() && self.service.is_none() && self.service_account.is_none()
    }

    /// Metadata of the three, in a fixed order (for comparing uids and resource versions).
    pub fn metas(&self) -> Vec<&ObjectMeta> {
        let mut metas = Vec::new();
        metas.extend(self.deployment.as_ref().map(|o| o.meta()));
        metas.extend(self.service.as_ref().map(|o| o.meta()));
        metas.extend(self.service_account.as_ref().map(|o| o.meta()));
        metas
    }
}

/// Whether `manager` owns fields of the object through server-side apply.
pub fn meta_applied_by(meta: &ObjectMeta, manager: &str) -> bool {
    meta.managed_fields
        .iter()
        .flatten()
        .any(|f| f.manager.as_deref() == Some(manager) && f.operation.as_deref() == Some("Apply"))
}

/// Waits until the three objects of `hello` are all in the cluster.
pub async fn wait_for_hello_objects(client: &Client) -> HelloObjects {
    wait_until("demo/hello's objects in the cluster", SETTLE, || async {
        let objects = HelloObjects::read(client).await;
        Ok(objects.all_present().then_some(objects))
    })
    .await
    .unwrap()
}

/// Waits until none of the three objects of `hello` is in the cluster.
pub async fn wait_for_hello_objects_gone(client: &Client) {
    wait_until(
        "demo/hello's objects to leave the cluster",
        SETTLE,
        || async {
            Ok(HelloObjects::read(client)
                .await
                .none_present()
                .then_some(()))
        },
    )
    .await
    .unwrap();
}

/// A test cluster named `name` with every vendored CRD and Lattice's own installed, so every
/// object the derivation emits for `hello` can be applied (not only the Deployment, Service and
/// ServiceAccount these tests look at).
pub async fn workload_cluster(name: &str) -> TestCluster {
    let cluster = TestCluster::start(name).await.unwrap();
    install_platform_crds(&cluster).await.unwrap();
    cluster
}

/// Waits until `demo/hello` is Ready and returns its view; fails at once, with the status, if
/// it settles as Failed instead.
pub async fn wait_ready(ctl: &Ctl) -> ServiceView {
    let view = wait_for_phase(ctl, NAMESPACE, NAME, &["Ready", "Failed"], SETTLE)
        .await
        .unwrap();
    assert_eq!(view.phase, "Ready", "{view:#?}");
    view
}

/// Every object the agent reported for the service exists in the cluster and was applied by
/// Lattice's field manager. Returns the references checked.
pub async fn assert_reported_objects_are_applied(
    client: &Client,
    view: &ServiceView,
) -> Vec<ObjectRef> {
    let delivery = view
        .delivery()
        .expect("a delivery to the service's cluster");
    assert!(
        !delivery.objects.is_empty(),
        "the agent reported objects: {view:?}"
    );
    let mut checked = Vec::new();
    for result in &delivery.objects {
        assert_eq!(result.outcome, "Applied", "{result:?}");
        let object = get_object(client, &result.reference)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{:?} is not in the cluster", result.reference));
        assert!(
            applied_by(&object, FIELD_MANAGER),
            "{:?} is not applied by field manager {FIELD_MANAGER}: {:?}",
            result.reference,
            object.metadata.managed_fields
        );
        checked.push(result.reference.clone());
    }
    checked
}

/// Names of the objects of kind `K` in `namespace` that Lattice applied (any name): used to show
/// that nothing was created twice.
pub async fn lattice_objects<K>(client: &Client, namespace: &str) -> Vec<String>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let mut names: Vec<String> = Api::<K>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|o| meta_applied_by(o.meta(), FIELD_MANAGER))
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect();
    names.sort();
    names
}

/// Waits until `process` (one that was armed with `point`) has died, and checks it died at
/// `point`: killed by SIGKILL, its log's last run ending with the fault line.
pub async fn wait_killed_at(process: &ManagedProcess, point: &str) {
    let status = wait_until(&format!("a process to die at {point}"), SETTLE, || async {
        process.try_exit_status()
    })
    .await
    .unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed by SIGKILL at {point}: {status:?}"
    );
    let log = process.current_log();
    assert!(
        log.contains(&format!(
            "lattice-fault: killing this process at fault point {point}"
        )),
        "the log names the point {point}: {}",
        log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
}
