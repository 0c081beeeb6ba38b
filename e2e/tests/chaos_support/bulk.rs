//! The large revision of the agent-kill test: one LatticeService with 200 secret resources
//! (205 objects), its policy, and the fault point that kills the agent half way through applying
//! it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersion;
use kube::discovery::pinned_kind;

/// Secret resources of the bulk service: one ExternalSecret each, plus the workload's objects.
pub const BULK_SECRETS: usize = 200;
pub const BULK_NAMESPACE: &str = "chaos";
pub const BULK_NAME: &str = "bulk";
pub const BULK_CLUSTER: &str = "chaos-bulk";
/// The ExternalSecret kind the derivation emits.
pub const EXTERNAL_SECRET: (&str, &str) = ("external-secrets.io/v1", "ExternalSecret");

/// A service reading [`BULK_SECRETS`] secrets from store `vault-chaos`, each as an environment
/// variable (route 1: one ExternalSecret per secret resource).
pub fn bulk_service() -> String {
    let image = "ghcr.io/lattice-dev/hello@sha256:2b8d4f1c3e5a7b9d0f1e2c3a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";
    let mut variables = String::new();
    let mut resources = String::new();
    for i in 0..BULK_SECRETS {
        variables.push_str(&format!(
            "          SECRET_{i:03}: \"${{resources.s{i:03}.value}}\"\n"
        ));
        resources.push_str(&format!(
            "      s{i:03}:\n        type: secret\n        id: chaos/s{i:03}\n        params: {{ provider: vault-chaos, keys: [value] }}\n"
        ));
    }
    format!(
        "apiVersion: lattice.dev/v1alpha1
kind: LatticeService
metadata:
  name: {BULK_NAME}
  namespace: {BULK_NAMESPACE}
  labels:
    lattice.dev/cluster: {BULK_CLUSTER}
spec:
  replicas: 1
  workload:
    containers:
      main:
        image: {image}
        command: [\"/usr/local/bin/hello\"]
        variables:
{variables}        resources:
          requests: {{ cpu: 100m, memory: 64Mi }}
          limits: {{ cpu: 100m, memory: 64Mi }}
    service:
      ports:
        http: {{ port: 8080 }}
    resources:
{resources}"
    )
}

/// Permits `chaos/bulk` to read its secrets under `chaos/` in `vault-chaos`.
pub fn bulk_policy() -> String {
    format!(
        "apiVersion: lattice.dev/v1alpha1
kind: CedarPolicy
metadata:
  name: chaos-bulk-secrets
spec:
  description: The bulk service of the chaos test reads its secrets under chaos/.
  policies: |
    permit (
      principal == Lattice::Service::\"{BULK_NAMESPACE}/{BULK_NAME}\",
      action == Lattice::Action::\"AccessSecret\",
      resource
    )
    when {{ resource.provider == \"vault-chaos\" && resource.path like \"chaos/*\" }};
"
    )
}

/// The agent kills itself (fault point `apply:after-object:<n>`, SIGKILL) right after applying
/// this many objects of the revision: about half of it, all in the ExternalSecret layer, so the
/// kill always lands in the middle of the apply however fast or slow the machine is.
pub const KILL_AFTER: usize = BULK_SECRETS / 2;

/// The fault point that kills the agent after [`KILL_AFTER`] objects.
pub fn kill_point() -> String {
    format!("apply:after-object:{KILL_AFTER}")
}

/// The ExternalSecrets of the bulk namespace, name → uid.
pub async fn external_secret_uids(client: &Client) -> BTreeMap<String, String> {
    external_secret_objects(client)
        .await
        .into_iter()
        .filter_map(|o| Some((o.metadata.name?, o.metadata.uid?)))
        .collect()
}

/// The names of the ExternalSecrets in the bulk namespace.
pub async fn external_secrets(client: &Client) -> BTreeSet<String> {
    external_secret_objects(client)
        .await
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect()
}

async fn external_secret_objects(client: &Client) -> Vec<DynamicObject> {
    let gvk = GroupVersion::from_str(EXTERNAL_SECRET.0)
        .unwrap()
        .with_kind(EXTERNAL_SECRET.1);
    let (resource, _) = pinned_kind(client, &gvk).await.unwrap();
    Api::<DynamicObject>::namespaced_with(client.clone(), BULK_NAMESPACE, &resource)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}
