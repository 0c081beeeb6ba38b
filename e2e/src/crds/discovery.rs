//! Waiting until the API server's discovery lists a CRD's resources.
//!
//! `Established` is written before every part of the API server has caught up: the handler for
//! the new resource and the discovery documents follow from informers a moment later, and a
//! request in that window gets a 404. Like envtest, the harness therefore also waits until
//! `/apis/<group>/<version>` lists every served resource, so a test can use a CRD as soon as
//! `install_crds` returns.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use serde_json::Value;

use super::files::CrdDocument;
use crate::HarnessError;

/// `(group, version)` → plural resource names the API server must list.
pub(crate) type ServedResources = BTreeMap<(String, String), BTreeSet<String>>;

/// The group-versions and plurals the CRD documents ask the API server to serve.
pub(crate) fn served_resources(documents: &[CrdDocument]) -> ServedResources {
    let mut served = ServedResources::new();
    for (_, crd) in documents {
        let spec = &crd["spec"];
        let (Some(group), Some(plural)) =
            (spec["group"].as_str(), spec["names"]["plural"].as_str())
        else {
            continue; // the API server refuses such a CRD; the apply reported it already
        };
        let versions = spec["versions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for version in versions.iter().filter(|v| v["served"] == Value::Bool(true)) {
            if let Some(name) = version["name"].as_str() {
                served
                    .entry((group.to_owned(), name.to_owned()))
                    .or_default()
                    .insert(plural.to_owned());
            }
        }
    }
    served
}

/// Polls discovery until every group-version lists all its expected plurals.
pub(crate) async fn wait_discoverable(
    client: &kube::Client,
    served: &ServedResources,
) -> Result<(), HarnessError> {
    for ((group, version), plurals) in served {
        let path = format!("/apis/{group}/{version}");
        loop {
            let request = http::Request::get(&path)
                .body(Vec::new())
                .map_err(kube::Error::HttpError)?;
            // A 404 only means "not yet": the group-version appears with its first resource.
            let listed: BTreeSet<String> = match client.request::<APIResourceList>(request).await {
                Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                Err(kube::Error::Api(status)) if status.code == 404 => BTreeSet::new(),
                Err(err) => return Err(err.into()),
            };
            if plurals.is_subset(&listed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// What discovery does not list yet (for a timeout message).
pub(crate) async fn not_discoverable(
    client: &kube::Client,
    served: &ServedResources,
) -> Vec<String> {
    let mut missing = Vec::new();
    for ((group, version), plurals) in served {
        let listed: BTreeSet<String> =
            match http::Request::get(format!("/apis/{group}/{version}")).body(Vec::new()) {
                Ok(request) => client
                    .request::<APIResourceList>(request)
                    .await
                    .map(|list| list.resources.into_iter().map(|r| r.name).collect())
                    .unwrap_or_default(),
                Err(_) => BTreeSet::new(),
            };
        missing.extend(
            plurals
                .difference(&listed)
                .map(|plural| format!("{plural}.{group}/{version}")),
        );
    }
    missing
}
