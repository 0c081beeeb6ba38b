//! Server-side apply of one manifest: field manager `lattice`, conflicts forced (the cell is the
//! source of truth for the fields it sets), and `fieldValidation=Strict`, so an unknown or
//! duplicated field is an error from the API server instead of being silently dropped. An object
//! a pivot created is taken over from the pivot's field manager after its first apply
//! ([`crate::apply::takeover`]).

use kube::api::{Patch, PatchParams};

use crate::apply::layers::{ApplyObject, ObjectFailure};
use crate::apply::plan::Manifest;
use crate::apply::resolver::ApiResolver;
use crate::apply::takeover::take_over_from_pivot;
use crate::kube_error::server_message;

/// Field manager of every object the agent applies.
pub const FIELD_MANAGER: &str = "lattice";

/// The patch parameters of every apply.
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER)
        .force()
        .validation_strict()
}

/// Applies `manifest`; a failure carries the API server's message.
pub async fn server_side_apply(
    resolver: &mut ApiResolver,
    manifest: &Manifest,
) -> Result<(), ObjectFailure> {
    let api = resolver
        .api_for(&manifest.object)
        .await
        .map_err(|e| ObjectFailure {
            message: e.to_string(),
        })?;
    let applied = api
        .patch(
            &manifest.object.name,
            &apply_params(),
            &Patch::Apply(&manifest.body),
        )
        .await
        .map_err(|e| ObjectFailure {
            message: server_message(&e),
        })?;
    // An object a pivot created becomes `lattice`'s alone (decision 0041). The apply itself
    // succeeded; if this fails, the next apply tries again.
    if let Err(e) = take_over_from_pivot(&api, &applied).await {
        tracing::warn!(object = %manifest.object, error = %server_message(&e), "could not drop the pivot's field ownership; retried at the next apply");
    }
    Ok(())
}

impl ApplyObject for ApiResolver {
    async fn apply_object(&mut self, manifest: &Manifest) -> Result<(), ObjectFailure> {
        server_side_apply(self, manifest).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::params::ValidationDirective;

    #[test]
    fn applies_as_lattice_forced_and_strict() {
        let p = apply_params();
        assert_eq!(p.field_manager.as_deref(), Some("lattice"));
        assert!(p.force);
        assert!(!p.dry_run);
        assert!(matches!(
            p.field_validation,
            Some(ValidationDirective::Strict)
        ));
    }
}
