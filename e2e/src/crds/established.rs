//! Following CRDs until they are Established, reading only their names and conditions.
//!
//! A CRD object is large (the schema: up to 1.3 MB of JSON for one upstream CRD). Decoding every
//! apply response and watch event into the full `CustomResourceDefinition` type costs seconds in
//! a debug build, so the harness talks to the CRD endpoint through this small view: serde skips
//! the `spec` without building it.

use std::borrow::Cow;
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::core::ClusterResourceScope;
use kube::runtime::watcher::watch_object;
use serde::Deserialize;

use crate::HarnessError;

/// A `CustomResourceDefinition` as seen by the harness: metadata and status conditions only.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct CrdConditions {
    metadata: ObjectMeta,
    #[serde(default)]
    status: Option<CrdStatus>,
}

#[derive(Clone, Debug, Deserialize)]
struct CrdStatus {
    // The API server sends `null` before any condition is set.
    #[serde(default)]
    conditions: Option<Vec<CustomResourceDefinitionCondition>>,
}

impl CrdConditions {
    fn condition(&self, type_: &str) -> Option<&CustomResourceDefinitionCondition> {
        self.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == type_)
    }

    /// Whether the API server serves the CRD's resources.
    pub(crate) fn is_established(&self) -> bool {
        self.condition("Established")
            .is_some_and(|c| c.status == "True")
    }
}

impl kube::Resource for CrdConditions {
    type DynamicType = ();
    type Scope = ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "CustomResourceDefinition".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "apiextensions.k8s.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "customresourcedefinitions".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Follows one CRD until its `Established` condition is true; fails fast if its names are refused.
pub(crate) async fn wait_established(
    api: &Api<CrdConditions>,
    name: &str,
) -> Result<(), HarnessError> {
    let mut updates = std::pin::pin!(watch_object(api.clone(), name));
    while let Some(crd) = updates.try_next().await? {
        let Some(crd) = crd else { continue };
        if crd.is_established() {
            return Ok(());
        }
        if let Some(refused) = crd
            .condition("NamesAccepted")
            .filter(|c| c.status == "False")
        {
            return Err(HarnessError::CrdNotAccepted {
                name: name.to_owned(),
                reason: refused.reason.clone().unwrap_or_default(),
                message: refused.message.clone().unwrap_or_default(),
            });
        }
    }
    Err(HarnessError::Timeout {
        what: format!("CRD {name} to become Established"),
        waited: Duration::ZERO,
        details: ": the watch ended".to_owned(),
    })
}

/// The names among `names` that are not Established (for a timeout message).
pub(crate) async fn not_established(api: &Api<CrdConditions>, names: &[String]) -> Vec<String> {
    let mut pending = Vec::new();
    for name in names {
        let established = api
            .get_opt(name)
            .await
            .ok()
            .flatten()
            .is_some_and(|crd| crd.is_established());
        if !established {
            pending.push(name.clone());
        }
    }
    pending
}
