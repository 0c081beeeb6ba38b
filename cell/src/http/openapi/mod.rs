//! The OpenAPI 3.1 document of the REST API, generated with `utoipa`: the schemas of the request
//! and answer bodies from the Rust types (`lattice_api`, `#[derive(ToSchema)]`), the operations
//! from [`operations::OPERATIONS`] and the kinds table. Served at `/openapi.json` and checked in
//! as `docs/openapi.json`; a test fails when the two differ (`UPDATE_OPENAPI=1` rewrites the
//! file). Decision 0053.

pub mod kinds;
pub mod operations;
pub mod schemas;

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, Required, ResponseBuilder,
};

use operations::{In, Operation, Request};

/// Title, version and description of the document.
const TITLE: &str = "Lattice cell API";
const DESCRIPTION: &str = "Clusters, enrolment tokens, LatticeService, LatticeMeshMember, LatticeCluster, CedarPolicy, LatticeQuota, LatticeComplianceProfile and LatticeFleetPolicy specs (apiVersion lattice.dev/v1alpha1), declared namespaces, the can-i question, cost rates, showback and the compliance report. Served over HTTPS. Admin routes need `Authorization: Bearer <token>`. Every error answer is an `ErrorBody` `{code, message, field, details}`.";

/// The document as served (pretty JSON with a final newline, as checked in).
pub static DOCUMENT_JSON: LazyLock<String> = LazyLock::new(|| {
    // Serializing the document's own types to JSON cannot fail.
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
});

/// `GET /openapi.json`.
pub async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT_JSON.as_str(),
    )
}

/// Builds the document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new().build();
    let kind_routes = kinds::routes();
    let kind_operations = kind_routes.iter().map(kinds::KindRoute::operation);
    for op in operations::OPERATIONS
        .iter()
        .copied()
        .chain(kind_operations)
    {
        paths.add_path_operation(op.path, vec![method(op.method)], operation(&op));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(TITLE)
                .version("v1")
                .description(Some(DESCRIPTION)),
        )
        .paths(paths)
        .components(Some(schemas::components()))
        .build()
}

fn method(name: &str) -> HttpMethod {
    match name {
        "post" => HttpMethod::Post,
        "put" => HttpMethod::Put,
        "delete" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// Admin routes are every `/v1/` route (the router puts them behind the bearer token).
fn needs_admin(path: &str) -> bool {
    path.starts_with("/v1/")
}

fn json_of(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}

fn operation(op: &Operation<'_>) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new().summary(Some(op.summary));
    for param in op.params {
        let (location, required) = match param.location {
            In::Path => (ParameterIn::Path, Required::True),
            In::Query => (ParameterIn::Query, Required::False),
        };
        let kind = if param.kind == "boolean" {
            Type::Boolean
        } else {
            Type::String
        };
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(param.name)
                .parameter_in(location)
                .required(required)
                .description((!param.description.is_empty()).then_some(param.description))
                .schema(Some(ObjectBuilder::new().schema_type(kind))),
        );
    }
    let body = match op.request {
        Request::None => None,
        Request::Json(schema) => Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_of(schema))
                .build(),
        ),
        Request::YamlOrJson(schema) => {
            let json = match schema {
                Some(schema) => json_of(schema),
                None => ContentBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .description(Some("A document, or an array of documents"))
                            .build(),
                    ))
                    .build(),
            };
            let yaml = ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/yaml", yaml)
                    .content("application/json", json)
                    .build(),
            )
        }
    };
    builder = builder.request_body(body);
    let mut ok = ResponseBuilder::new().description(op.ok.description);
    if let Some(schema) = op.ok.schema {
        ok = ok.content("application/json", json_of(schema));
    }
    builder = builder.response(op.ok.status.to_string(), ok.build());
    for (status, description) in op.other {
        builder = builder.response(
            status.to_string(),
            ResponseBuilder::new().description(*description).build(),
        );
    }
    for status in op.errors {
        builder = builder.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(error_description(*status))
                .content("application/json", json_of("ErrorBody"))
                .build(),
        );
    }
    if needs_admin(op.path) {
        builder = builder.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    builder.build()
}

/// What an error status means on every route.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Malformed request",
        401 => "Missing or wrong bearer token",
        404 => "Not found",
        409 => "Conflict with the current state",
        422 => "Invalid: the message and `details` name the fields",
        503 => "The cell cannot reach its database",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn checked_in() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
    }

    /// `docs/openapi.json` is the generated document; `UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn the_checked_in_document_is_the_generated_one() {
        let path = checked_in();
        let generated = DOCUMENT_JSON.as_str();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, generated).unwrap();
            return;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{} differs from the document the cell generates; run `UPDATE_OPENAPI=1 cargo test -p lattice-cell --lib openapi` and commit it",
            path.display()
        );
    }

    #[test]
    fn the_document_lists_exactly_the_routes_of_the_router() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT_JSON).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        let routed: BTreeSet<(String, String)> = routes()
            .iter()
            .map(|(m, p, _)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, routed);
    }

    #[test]
    fn admin_routes_and_only_they_declare_bearer_security() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT_JSON).unwrap();
        for (method, path, admin) in &routes() {
            let op = &doc["paths"][path.as_str()][*method];
            assert_eq!(op.get("security").is_some(), *admin, "{method} {path}");
        }
    }

    #[test]
    fn every_reference_resolves_and_errors_have_the_code_message_field_shape() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT_JSON).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (at, _) in DOCUMENT_JSON.match_indices("#/components/schemas/") {
            let rest = &DOCUMENT_JSON[at + "#/components/schemas/".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            assert!(schemas.contains_key(name), "no schema {name}");
        }
        let error = &schemas["ErrorBody"];
        for field in ["code", "message", "field", "details"] {
            assert!(error["properties"].get(field).is_some(), "{error}");
        }
        assert_eq!(error["required"], serde_json::json!(["message"]), "{error}");
    }
}
