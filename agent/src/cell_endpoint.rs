//! How the agent reaches the cell: an `https://host:port` URL, TLS verifying the cell with the
//! CA the agent trusts, and (for the session) the agent's client certificate. Timeouts and HTTP/2
//! keep-alives detect a dead path in tens of seconds instead of waiting for TCP.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Uri};

/// Time allowed for TCP + TLS connection set-up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of HTTP/2 pings on an otherwise idle connection.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// A ping unanswered for this long closes the connection.
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// A validated cell URL (`https://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellUrl(String);

/// The `--cell` value is not a usable URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellUrlError {
    /// Not a URL.
    #[error("--cell {0:?} is not a URL; expected https://HOST:PORT")]
    NotAUrl(String),
    /// Not https.
    #[error("--cell {0:?} must use https:// (the agent only talks to the cell over TLS)")]
    NotHttps(String),
    /// No host.
    #[error("--cell {0:?} has no host; expected https://HOST:PORT")]
    NoHost(String),
}

impl FromStr for CellUrl {
    type Err = CellUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uri: Uri = s
            .parse()
            .map_err(|_| CellUrlError::NotAUrl(s.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(CellUrlError::NotHttps(s.to_string()));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(CellUrlError::NoHost(s.to_string()));
        }
        Ok(Self(s.trim_end_matches('/').to_string()))
    }
}

impl fmt::Display for CellUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// TLS that verifies the cell against every certificate in `ca_pems`.
pub fn server_tls<'a>(ca_pems: impl IntoIterator<Item = &'a str>) -> ClientTlsConfig {
    ClientTlsConfig::new().ca_certificates(ca_pems.into_iter().map(Certificate::from_pem))
}

/// An endpoint for `cell` with `tls` and the agent's connection timeouts.
pub fn endpoint(cell: &CellUrl, tls: ClientTlsConfig) -> Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(cell.0.clone())?
        .tls_config(tls)?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .tcp_nodelay(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host_are_accepted() {
        assert_eq!(
            "https://cell.example:8443/"
                .parse::<CellUrl>()
                .unwrap()
                .to_string(),
            "https://cell.example:8443"
        );
        assert!("https://127.0.0.1:8443".parse::<CellUrl>().is_ok());
        assert!(matches!(
            "http://cell:8443".parse::<CellUrl>(),
            Err(CellUrlError::NotHttps(_))
        ));
        assert!(matches!(
            "cell:8443".parse::<CellUrl>(),
            Err(CellUrlError::NotHttps(_))
        ));
        assert!(matches!(
            "not a url".parse::<CellUrl>(),
            Err(CellUrlError::NotAUrl(_))
        ));
    }
}
