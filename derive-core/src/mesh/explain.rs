//! What the graph opens and what it does not: every active edge, and every declaration the
//! other side has not matched, with the reason. `latticectl derive --explain-mesh` prints it, so
//! a change can be checked offline for the traffic it opens or closes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::graph::{Consent, Edge, ServiceGraph};
use crate::membership::ServiceKey;

/// Why a declaration opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unmatched {
    /// The caller declares a callee that is not a member of the graph.
    UnknownCallee,
    /// The callee does not declare the caller inbound (and accepts no wildcard).
    CalleeDidNotAgree,
    /// The callee accepts every caller, but Cedar `AllowWildcard` does not permit it.
    WildcardNotPermitted,
    /// The callee declares a caller that is not a member of the graph.
    UnknownCaller,
    /// The callee declares the caller inbound, but the caller does not declare the callee.
    CallerDidNotDeclare,
}

/// A declaration without its counterpart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneSided {
    /// The would-be caller.
    pub from: ServiceKey,
    /// The would-be callee.
    pub to: ServiceKey,
    /// What is missing.
    pub missing: Unmatched,
}

/// The active edges and unmatched declarations of a graph.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshExplanation {
    /// Active edges, by caller then callee.
    pub edges: Vec<Edge>,
    /// Declarations that open nothing, by caller then callee.
    pub one_sided: Vec<OneSided>,
}

/// Explains `graph`.
pub fn explain(graph: &ServiceGraph) -> MeshExplanation {
    let edges = graph.edges();
    let mut one_sided = Vec::new();
    for member in graph.members() {
        let key = member.key();
        for callee_key in &member.outbound {
            if *callee_key == key || graph.edge(&key, callee_key).is_some() {
                continue;
            }
            let missing = match graph.member(callee_key) {
                None => Unmatched::UnknownCallee,
                Some(callee)
                    if callee.allows_all_inbound && !graph.wildcard_permitted(callee_key) =>
                {
                    Unmatched::WildcardNotPermitted
                }
                Some(_) => Unmatched::CalleeDidNotAgree,
            };
            one_sided.push(OneSided {
                from: key.clone(),
                to: callee_key.clone(),
                missing,
            });
        }
        for caller_key in &member.inbound {
            let missing = match graph.member(caller_key) {
                None => Unmatched::UnknownCaller,
                Some(caller) if caller.outbound.binary_search(&key).is_err() => {
                    Unmatched::CallerDidNotDeclare
                }
                Some(_) => continue,
            };
            one_sided.push(OneSided {
                from: caller_key.clone(),
                to: key.clone(),
                missing,
            });
        }
    }
    one_sided.sort();
    MeshExplanation { edges, one_sided }
}

impl fmt::Display for MeshExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "active edges ({}):", self.edges.len())?;
        for edge in &self.edges {
            let how = match edge.consent {
                Consent::Declared => "both sides declared",
                Consent::Wildcard => "callee accepts every caller (Cedar AllowWildcard permits)",
            };
            writeln!(f, "  {} -> {}  [{how}]", edge.from, edge.to)?;
        }
        writeln!(f, "one-sided, opens nothing ({}):", self.one_sided.len())?;
        for o in &self.one_sided {
            let why = match o.missing {
                Unmatched::UnknownCallee => format!("{} is not a known service", o.to),
                Unmatched::CalleeDidNotAgree => {
                    format!("{} does not declare {} inbound", o.to, o.from)
                }
                Unmatched::WildcardNotPermitted => format!(
                    "{} accepts \"*\" but Cedar AllowWildcard does not permit it",
                    o.to
                ),
                Unmatched::UnknownCaller => format!("{} is not a known service", o.from),
                Unmatched::CallerDidNotDeclare => {
                    format!("{} does not declare {} outbound", o.from, o.to)
                }
            };
            writeln!(f, "  {} -> {}  ({why})", o.from, o.to)?;
        }
        Ok(())
    }
}
