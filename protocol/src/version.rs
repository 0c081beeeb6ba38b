//! Protocol versioning: the version travels in `EnrollRequest` and `Hello`, and a peer speaking a
//! version this build does not support is refused with an error that says both versions.

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Oldest protocol version this build still accepts.
pub const MIN_SUPPORTED_PROTOCOL_VERSION: u32 = 1;

/// A peer asked for a protocol version this build does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported protocol version {requested}: this build supports {min}..={max}; upgrade the older side"
)]
pub struct UnsupportedVersion {
    /// The version the peer sent.
    pub requested: u32,
    /// Oldest supported version.
    pub min: u32,
    /// Newest supported version.
    pub max: u32,
}

/// Accepts `requested` if this build supports it.
pub fn check_protocol_version(requested: u32) -> Result<u32, UnsupportedVersion> {
    if (MIN_SUPPORTED_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&requested) {
        Ok(requested)
    } else {
        Err(UnsupportedVersion {
            requested,
            min: MIN_SUPPORTED_PROTOCOL_VERSION,
            max: PROTOCOL_VERSION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_version_is_accepted() {
        assert_eq!(
            check_protocol_version(PROTOCOL_VERSION),
            Ok(PROTOCOL_VERSION)
        );
    }

    #[test]
    fn zero_and_future_versions_are_refused_with_both_versions_named() {
        let err = check_protocol_version(0).unwrap_err();
        assert_eq!(err.requested, 0);
        let err = check_protocol_version(PROTOCOL_VERSION + 1).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("{}", PROTOCOL_VERSION + 1)),
            "{text}"
        );
        assert!(text.contains(&format!("..={PROTOCOL_VERSION}")), "{text}");
    }
}
