//! Which version of a Cluster API group to read and write: `v1beta2` when the API server
//! serves it (the version `lattice_derive` derives and `docs/pivot.md` reads), else the group's
//! preferred version. Decided per group, from discovery.

use kube::Client;
use kube::core::ApiResource;
use kube::discovery::{self, ApiCapabilities, ApiGroup};

use crate::kube_error::is_not_found;
use crate::pivot::error::StepError;

/// The version preferred when served.
pub const PREFERRED_VERSION: &str = "v1beta2";

/// The version of `group` to use: `v1beta2` when served, else the group's preferred one.
pub fn chosen_version(group: &ApiGroup) -> &str {
    if group.versions().any(|v| v == PREFERRED_VERSION) {
        PREFERRED_VERSION
    } else {
        group.preferred_version_or_latest()
    }
}

/// The resources of `group` at its [`chosen_version`].
pub fn chosen_resources(group: &ApiGroup) -> Vec<(ApiResource, ApiCapabilities)> {
    group.versioned_resources(chosen_version(group))
}

/// The resource serving `kind` in `group`, at the group's chosen version.
pub async fn resource_of(
    client: &Client,
    group: &str,
    kind: &str,
) -> Result<ApiResource, StepError> {
    let not_served = || StepError::NotServed {
        group: group.to_string(),
    };
    let served = match discovery::group(client, group).await {
        Ok(served) => served,
        Err(kube::Error::Discovery(_)) => return Err(not_served()),
        Err(e) if is_not_found(&e) => return Err(not_served()),
        Err(e) => return Err(StepError::api("discovering", group, &e)),
    };
    chosen_resources(&served)
        .into_iter()
        .map(|(resource, _)| resource)
        .find(|resource| resource.kind == kind)
        .ok_or_else(|| StepError::NotServed {
            group: format!("{kind} in {group}/{}", chosen_version(&served)),
        })
}
