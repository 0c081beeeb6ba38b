//! Support for the mesh verification tests: a seeded topology generator and interpreters that
//! read generated Istio and Cilium objects back.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod interpret;
pub mod topology;

use interpret::{Pod, Policies, cilium_allows, istio_allows};

/// HBONE, the port ambient mesh traffic arrives on.
pub const HBONE: u16 = 15008;

/// What a layer's objects say about one ordered pair, over every port of the callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every port admitted.
    Allowed,
    /// No port admitted.
    Denied,
    /// Some ports admitted and some not: never intended.
    Partial,
}

impl Verdict {
    /// Folds per-port answers.
    pub fn of(answers: impl IntoIterator<Item = bool>) -> Self {
        let answers: Vec<bool> = answers.into_iter().collect();
        if answers.iter().all(|a| *a) {
            Verdict::Allowed
        } else if answers.iter().all(|a| !*a) {
            Verdict::Denied
        } else {
            Verdict::Partial
        }
    }

    /// The verdict of an expectation.
    pub fn expected(allowed: bool) -> Self {
        if allowed {
            Verdict::Allowed
        } else {
            Verdict::Denied
        }
    }
}

/// The Istio verdict for `source` calling `dest` on each of `ports`.
pub fn istio_verdict(objects: &Policies<'_>, source: &Pod, dest: &Pod, ports: &[u16]) -> Verdict {
    Verdict::of(
        ports
            .iter()
            .map(|p| istio_allows(objects, source, dest, *p)),
    )
}

/// The Cilium verdict for `source` calling `dest` on each of `ports` and on HBONE.
pub fn cilium_verdict(objects: &Policies<'_>, source: &Pod, dest: &Pod, ports: &[u16]) -> Verdict {
    Verdict::of(
        ports
            .iter()
            .chain(std::iter::once(&HBONE))
            .map(|p| cilium_allows(objects, source, dest, *p, "TCP")),
    )
}
