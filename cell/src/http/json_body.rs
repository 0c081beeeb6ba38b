//! A JSON body extractor whose rejections are API errors (`{code, message, field}`) naming the
//! offending field, instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest JSON body accepted by these endpoints.
const LIMIT: usize = 64 * 1024;

/// A deserialized JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let field = err.path().to_string();
        let message = err.into_inner().to_string();
        if field == "." {
            ApiError::bad_request(format!("invalid JSON body: {message}"))
        } else {
            ApiError::invalid_field(field, message)
        }
    })
}

async fn read(req: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), LIMIT)
        .await
        .map_err(|_| {
            ApiError::bad_request(format!(
                "the body is unreadable or larger than {LIMIT} bytes"
            ))
        })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read(req).await?;
        parse(&bytes).map(JsonBody)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        let bytes = read(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse(&bytes).map(|v| Some(JsonBody(v)))
    }
}
