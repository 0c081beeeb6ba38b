//! The OpenAPI 3 document of the REST API, hand-written (`openapi.json`) and checked against the
//! router's route table by a test, so it cannot silently drift.

use axum::http::header;
use axum::response::IntoResponse;

/// The document.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_lists_exactly_the_routes_of_the_router() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
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
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        for (method, path, admin) in &routes() {
            let op = &doc["paths"][path.as_str()][*method];
            assert_eq!(op.get("security").is_some(), *admin, "{method} {path}");
        }
    }
}
