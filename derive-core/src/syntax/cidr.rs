//! IP ranges (`10.20.0.0/16`, `2001:db8::/32`) of non-mesh egress rules.

use std::fmt;
use std::net::IpAddr;

/// A parsed IP range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    /// The address as written (host bits are kept; Cilium accepts them).
    pub address: IpAddr,
    /// Prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

/// Why a string is not an IP range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an IP range such as 10.20.0.0/16 or 2001:db8::/32")]
pub struct InvalidCidr {
    /// The string given.
    pub given: String,
}

impl Cidr {
    /// Parses `address/prefix`.
    pub fn parse(s: &str) -> Result<Self, InvalidCidr> {
        let fail = || InvalidCidr {
            given: s.to_string(),
        };
        let (address, prefix) = s.split_once('/').ok_or_else(fail)?;
        let address: IpAddr = address.parse().map_err(|_| fail())?;
        let prefix: u8 = prefix.parse().map_err(|_| fail())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(fail());
        }
        Ok(Self { address, prefix })
    }

    /// The single-address range of `address`: `/32` or `/128`.
    pub fn host(address: IpAddr) -> Self {
        let prefix = if address.is_ipv4() { 32 } else { 128 };
        Self { address, prefix }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_render() {
        assert_eq!(
            Cidr::parse("10.20.0.0/16").unwrap().to_string(),
            "10.20.0.0/16"
        );
        assert_eq!(Cidr::parse("2001:db8::/32").unwrap().prefix, 32);
        assert_eq!(
            Cidr::host("10.0.4.12".parse().unwrap()).to_string(),
            "10.0.4.12/32"
        );
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "::/129", "10.0.0.0/-1"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
