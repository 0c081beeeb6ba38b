//! Stages 2 and 3, derive and authorize: the pure core. The same function the offline
//! `latticectl derive --policies FILE` runs, so a denial reads the same in both.

use lattice_derive::{AuthorizedDerivation, DeriveError, authorized_derivation};

use super::input::ReconcileInput;

/// Derives the spec of `input` and answers its Cedar questions with the live policy set.
pub fn run(input: &ReconcileInput) -> AuthorizedDerivation {
    match &input.service {
        Ok(service) => authorized_derivation(service, &input.context, &input.policies.policies),
        Err(errors) => AuthorizedDerivation {
            questions: Vec::new(),
            result: Err(DeriveError::Invalid(errors.clone())),
        },
    }
}
