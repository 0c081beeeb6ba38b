//! The operations of every workload kind of the table (`lattice_api::kinds`), as the router
//! routes them (`crate::http::workloads::routes`): list, list in a namespace, get, delete.

use lattice_api::kinds::{KindScope, WORKLOAD_KINDS, WorkloadKind};

use super::operations::{In, Ok, Operation, Param, Request};
use crate::http::workloads;

const NAMESPACE_QUERY: &[Param] = &[Param {
    name: "namespace",
    location: In::Query,
    kind: "string",
    description: "Only this namespace",
}];
const NAMESPACE: &[Param] = &[Param {
    name: "namespace",
    location: In::Path,
    kind: "string",
    description: "",
}];
const NAMESPACE_AND_NAME: &[Param] = &[
    Param {
        name: "namespace",
        location: In::Path,
        kind: "string",
        description: "",
    },
    Param {
        name: "name",
        location: In::Path,
        kind: "string",
        description: "",
    },
];
const NAME: &[Param] = &[Param {
    name: "name",
    location: In::Path,
    kind: "string",
    description: "",
}];

/// One route of a kind, with what it owns (built at run time from the table).
#[derive(Debug, Clone)]
pub struct KindRoute {
    row: &'static WorkloadKind,
    method: &'static str,
    path: String,
    summary: String,
    list_schema: String,
}

/// Every workload kind's routes, in the router's order.
pub fn routes() -> Vec<KindRoute> {
    WORKLOAD_KINDS
        .iter()
        .flat_map(|row| {
            workloads::routes(row)
                .into_iter()
                .map(move |(method, path)| KindRoute::new(row, method, path))
        })
        .collect()
}

impl KindRoute {
    fn new(row: &'static WorkloadKind, method: &'static str, path: String) -> Self {
        let kind = row.kind;
        let summary = match (method, path.ends_with("{name}")) {
            ("delete", _) => format!("Delete a {kind} (its objects are removed from its cluster)"),
            (_, true) => format!("A {kind} with its status"),
            _ if path.contains("{namespace}") => format!("{kind}s in a namespace"),
            _ => format!("{kind}s with their status"),
        };
        Self {
            row,
            method,
            path,
            summary,
            list_schema: format!("{kind}List"),
        }
    }

    /// The operation of this route.
    pub fn operation(&self) -> Operation<'_> {
        let one = self.path.ends_with("{name}");
        let namespaced = matches!(self.row.scope, KindScope::Namespaced);
        let params = match (one, namespaced, self.path.contains("{namespace}")) {
            (true, true, _) => NAMESPACE_AND_NAME,
            (true, false, _) => NAME,
            (false, _, true) => NAMESPACE,
            (false, true, false) => NAMESPACE_QUERY,
            (false, false, false) => &[],
        };
        let (ok, errors): (Ok<'_>, &'static [u16]) = match (self.method, one) {
            ("delete", _) => (
                Ok {
                    status: 202,
                    description: "Deletion accepted: the objects leave the cluster",
                    schema: None,
                },
                if namespaced {
                    &[401, 404]
                } else {
                    &[401, 404, 409]
                },
            ),
            (_, true) => (
                Ok {
                    status: 200,
                    description: "The spec with its status",
                    schema: Some(self.row.kind),
                },
                &[401, 404],
            ),
            _ => (
                Ok {
                    status: 200,
                    description: "The list",
                    schema: Some(&self.list_schema),
                },
                &[401],
            ),
        };
        Operation {
            method: self.method,
            path: &self.path,
            summary: &self.summary,
            request: Request::None,
            ok,
            other: &[],
            errors,
            params,
        }
    }
}
