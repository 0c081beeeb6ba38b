//! The REST API's operations, one row per route that is not a workload kind's (those come from
//! the kinds table, `super::kinds`): what each takes and answers, by schema name. The schemas are
//! the Rust types' (`super::schemas`). A test checks that the rows and the router's routes are
//! the same set.

/// Where a parameter goes.
#[derive(Debug, Clone, Copy)]
pub enum In {
    /// In the path template.
    Path,
    /// In the query string.
    Query,
}

/// One parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name.
    pub name: &'static str,
    /// Where.
    pub location: In,
    /// JSON type of its value (`string`, `boolean`).
    pub kind: &'static str,
    /// What it does (empty: nothing to say).
    pub description: &'static str,
}

/// The body an operation takes.
#[derive(Debug, Clone, Copy)]
pub enum Request {
    /// None.
    None,
    /// JSON of this schema.
    Json(&'static str),
    /// YAML text, or JSON of this schema (`None`: any document or array of documents).
    YamlOrJson(Option<&'static str>),
}

/// The success answer.
#[derive(Debug, Clone, Copy)]
pub struct Ok<'a> {
    /// Status code.
    pub status: u16,
    /// For people.
    pub description: &'a str,
    /// Schema name of the JSON body, if it has one.
    pub schema: Option<&'a str>,
}

/// One operation (borrowed: the kinds' rows are built at run time, `super::kinds`).
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// `get`, `post`, `put` or `delete`.
    pub method: &'a str,
    /// Path template, as routed.
    pub path: &'a str,
    /// What it does.
    pub summary: &'a str,
    /// Its body.
    pub request: Request,
    /// Its success answer.
    pub ok: Ok<'a>,
    /// Other answers without a body (e.g. `503` of `/healthz`).
    pub other: &'static [(u16, &'static str)],
    /// Error statuses it can answer, each with the `ErrorBody` shape.
    pub errors: &'static [u16],
    /// Its parameters.
    pub params: &'static [Param],
}

/// Every operation that is not a workload kind's.
pub const OPERATIONS: &[Operation<'static>] = &[
    Operation {
        method: "get",
        path: "/healthz",
        summary: "Liveness and database reachability",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Healthy",
            schema: None,
        },
        other: &[(503, "Database unavailable")],
        errors: &[],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics (text)",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "OpenMetrics text",
            schema: None,
        },
        other: &[],
        errors: &[],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "OpenAPI 3 document",
            schema: None,
        },
        other: &[],
        errors: &[],
        params: &[],
    },
    Operation {
        method: "post",
        path: "/v1/clusters",
        summary: "Register a cluster",
        request: Request::Json("CreateCluster"),
        ok: Ok {
            status: 201,
            description: "Created",
            schema: Some("ClusterView"),
        },
        other: &[],
        errors: &[400, 401, 409, 422],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/clusters",
        summary: "List clusters with connection state",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Clusters",
            schema: Some("ClusterList"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/clusters/{name}",
        summary: "One cluster",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The cluster",
            schema: Some("ClusterView"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "post",
        path: "/v1/clusters/{name}/tokens",
        summary: "Create a one-time enrolment token",
        request: Request::Json("CreateToken"),
        ok: Ok {
            status: 201,
            description: "Token (shown once)",
            schema: Some("TokenCreated"),
        },
        other: &[],
        errors: &[401, 404, 422],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "post",
        path: "/v1/clusters/{name}/revoke",
        summary: "Revoke every certificate of a cluster and end its live agent session; the agent needs a new enrolment token to come back",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Revoked",
            schema: Some("ClusterRevoked"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "post",
        path: "/v1/apply",
        summary: "Apply LatticeService and CedarPolicy documents (YAML or JSON, mixed), all or nothing; each service is reconciled and its resulting status returned; LatticeMeshMember, LatticeQuota, LatticeComplianceProfile, LatticeFleetPolicy and Namespace documents too; services are admitted against quota",
        request: Request::YamlOrJson(None),
        ok: Ok {
            status: 200,
            description: "Applied",
            schema: Some("ApplyResponse"),
        },
        other: &[],
        errors: &[400, 401, 422],
        params: &[Param {
            name: "strict",
            location: In::Query,
            kind: "boolean",
            description: "Refuse CedarPolicies with semantic-analysis findings (422) instead of returning them as warnings",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/cedarpolicies",
        summary: "Every CedarPolicy (highest priority first) and the live policy set version",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The policies",
            schema: Some("CedarPolicyList"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/cedarpolicies/{name}",
        summary: "One CedarPolicy with its status (policy ids, counts, analysis findings)",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The policy",
            schema: Some("CedarPolicy"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "delete",
        path: "/v1/cedarpolicies/{name}",
        summary: "Delete a CedarPolicy: a new policy set version; the specs whose decisions can change are re-derived before the answer",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Deleted",
            schema: Some("PolicyDeleted"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "post",
        path: "/v1/authorization/can-i",
        summary: "May a principal perform an action on a resource? Answered by the live policy set, with the reason",
        request: Request::Json("CanIRequest"),
        ok: Ok {
            status: 200,
            description: "The answer (allowed or not)",
            schema: Some("CanIAnswer"),
        },
        other: &[],
        errors: &[400, 401, 422],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/namespaces",
        summary: "Namespaces declared to the cell with their labels",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The namespaces",
            schema: Some("NamespaceList"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "delete",
        path: "/v1/namespaces/{namespace}",
        summary: "Forget a declared namespace; its workloads leave its team",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Deleted",
            schema: None,
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "namespace",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/latticequotas",
        summary: "Quotas with their status computed from the reservation ledger",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The quotas",
            schema: Some("LatticeQuotaList"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/latticequotas/{name}",
        summary: "One quota with its status",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The quota",
            schema: Some("LatticeQuota"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "delete",
        path: "/v1/latticequotas/{name}",
        summary: "Delete a quota; admitted workloads keep their reservations, waiting ones are retried",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Deleted",
            schema: None,
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/cost/rates",
        summary: "The cost rates (the defaults until set)",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The rates",
            schema: Some("CostRates"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "put",
        path: "/v1/cost/rates",
        summary: "Replace the cost rates (YAML or JSON)",
        request: Request::YamlOrJson(Some("CostRates")),
        ok: Ok {
            status: 200,
            description: "The rates stored",
            schema: Some("CostRates"),
        },
        other: &[],
        errors: &[400, 401, 422],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/showback",
        summary: "Estimated hourly and monthly cost of admitted workloads by team, namespace or cluster",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The report",
            schema: Some("ShowbackReport"),
        },
        other: &[],
        errors: &[401, 422],
        params: &[
            Param {
                name: "by",
                location: In::Query,
                kind: "string",
                description: "",
            },
            Param {
                name: "format",
                location: In::Query,
                kind: "string",
                description: "",
            },
        ],
    },
    Operation {
        method: "post",
        path: "/v1/clusters/{name}/pivot",
        summary: "Start a pivot: move the cluster's Cluster API objects from its managing cluster to the cluster itself (docs/pivot.md). Answers at once; follow it with GET /v1/clusters/{name}/pivots",
        request: Request::None,
        ok: Ok {
            status: 202,
            description: "Started",
            schema: Some("PivotStarted"),
        },
        other: &[],
        errors: &[401, 404, 409],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "post",
        path: "/v1/clusters/{name}/unpivot",
        summary: "Start an unpivot: move a pivoted cluster's Cluster API objects back to its managing cluster (spec.managedBy), the pivot's state machine with source and target swapped (docs/pivot.md \"Unpivot\"). At its end the LatticeCluster is placed on the managing cluster again (phase Provisioned) and may be deleted. Answers at once; follow it with GET /v1/clusters/{name}/pivots",
        request: Request::None,
        ok: Ok {
            status: 202,
            description: "Started",
            schema: Some("PivotStarted"),
        },
        other: &[],
        errors: &[401, 404, 409],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/clusters/{name}/pivots",
        summary: "The cluster's pivots and unpivots, newest first: direction, phase, batch i of n, objects moved, error and the latest events",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The pivots",
            schema: Some("PivotList"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/latticecomplianceprofiles",
        summary: "Compliance profiles as applied, with their generation and last scheduled evaluation",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The profiles",
            schema: Some("LatticeComplianceProfileList"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/latticecomplianceprofiles/{name}",
        summary: "One compliance profile",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The profile",
            schema: Some("LatticeComplianceProfile"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "delete",
        path: "/v1/latticecomplianceprofiles/{name}",
        summary: "Delete a compliance profile; evaluation stops, its results stay in the history until the retention prunes them",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Deleted",
            schema: None,
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/fleetpolicies",
        summary: "Fleet policies as applied, each with its generation, its revision (the same on every cluster) and per cluster the last delivery",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The fleet policies",
            schema: Some("LatticeFleetPolicyList"),
        },
        other: &[],
        errors: &[401],
        params: &[],
    },
    Operation {
        method: "get",
        path: "/v1/fleetpolicies/{name}",
        summary: "One fleet policy",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The fleet policy",
            schema: Some("LatticeFleetPolicy"),
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "delete",
        path: "/v1/fleetpolicies/{name}",
        summary: "Delete a fleet policy: one commit; every connected cluster's session then removes its objects, and a cluster connecting later no longer receives it",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "Deleted",
            schema: None,
        },
        other: &[],
        errors: &[401, 404],
        params: &[Param {
            name: "name",
            location: In::Path,
            kind: "string",
            description: "",
        }],
    },
    Operation {
        method: "get",
        path: "/v1/compliance",
        summary: "The compliance report: current outcome per profile, cluster and control; failing results with evidence; result changes (e.g. fail -> pass) with times over the window",
        request: Request::None,
        ok: Ok {
            status: 200,
            description: "The report",
            schema: Some("ComplianceReport"),
        },
        other: &[],
        errors: &[401, 422],
        params: &[
            Param {
                name: "profile",
                location: In::Query,
                kind: "string",
                description: "Only this profile",
            },
            Param {
                name: "cluster",
                location: In::Query,
                kind: "string",
                description: "Only this cluster",
            },
            Param {
                name: "since",
                location: In::Query,
                kind: "string",
                description: "Trend window back from now: 90s, 30m, 12h, 7d",
            },
        ],
    },
];
