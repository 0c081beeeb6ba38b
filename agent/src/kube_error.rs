//! Turning kube errors into the text reported to the cell and to people: the API server's own
//! message where there is one (that is what an operator can act on), the client error otherwise.

/// The API server's message for `err`, or the client-side error text.
pub fn server_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        kube::Error::Api(status) => {
            format!("API server answered {} {}", status.code, status.reason)
        }
        other => other.to_string(),
    }
}

/// True when `err` is the API server saying the object (or the API path) does not exist. An
/// unknown API group answers a plain-text 404 that carries no `NotFound` reason, hence the code.
pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.is_not_found() || status.code == 404)
}
