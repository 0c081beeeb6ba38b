//! Endpoint URLs of `external-service` resources (`https://s3.eu-west-1.amazonaws.com`,
//! `tcp://10.0.4.12:5432`): scheme, host and port are what the mesh and Cedar need.

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// `http`, `https`, `grpc`, `tcp` or `tls`.
    pub protocol: String,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
}

/// Why a string is not an endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an endpoint URL: {problem}")]
pub struct InvalidEndpoint {
    /// The string given.
    pub given: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl Endpoint {
    /// Parses `scheme://host[:port][/path]`. `http` defaults to port 80 and `https` to 443;
    /// `grpc`, `tcp` and `tls` need an explicit port.
    pub fn parse(s: &str) -> Result<Self, InvalidEndpoint> {
        let fail = |problem| InvalidEndpoint {
            given: s.to_string(),
            problem,
        };
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            fail("it must start with a scheme: http://, https://, grpc://, tcp:// or tls://")
        })?;
        let default_port = match scheme {
            "http" => Some(80),
            "https" => Some(443),
            "grpc" | "tcp" | "tls" => None,
            _ => return Err(fail("the scheme must be http, https, grpc, tcp or tls")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(fail(
                "credentials do not belong in an endpoint URL; use a secret resource",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| fail("an IPv6 host needs a closing ']'"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':'))
        {
            return Err(fail("the host must be a DNS name or an IP address"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| fail("the port must be 1-65535"))?,
            None => default_port
                .ok_or_else(|| fail("grpc, tcp and tls endpoints need an explicit port"))?,
        };
        Ok(Self {
            protocol: scheme.to_string(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_default_ports() {
        let e = Endpoint::parse("https://s3.eu-west-1.amazonaws.com/bucket").unwrap();
        assert_eq!(
            (e.protocol.as_str(), e.host.as_str(), e.port),
            ("https", "s3.eu-west-1.amazonaws.com", 443)
        );
        let e = Endpoint::parse("tcp://10.0.4.12:5432").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("10.0.4.12", 5432));
        let e = Endpoint::parse("https://[2001:db8::1]:8443").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("2001:db8::1", 8443));
    }

    #[test]
    fn malformed_endpoints_are_refused() {
        for bad in [
            "s3.amazonaws.com",
            "ftp://x",
            "tcp://db",
            "https://",
            "https://u:p@h",
            "http://h:0",
            "http://h:x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
