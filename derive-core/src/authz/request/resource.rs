//! Typed constructors for every resource type (so the pipeline fills exactly the attributes the
//! schema declares), and the parser `latticectl auth can-i` uses to read a resource argument.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{ResourceRef, ResourceType};
use crate::authz::gate::Gate;
use crate::syntax::image::{ImageReference, InvalidImageRef};

/// The direction of a mesh wildcard (`Lattice::Mesh` id and `direction` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeshDirection {
    /// `allowedCallers: ["*"]`: any workload may call this one.
    Inbound,
    /// `dependsAll: true`: this workload may call any workload that allows it.
    Outbound,
    /// `advertise.allowedServices: ["*"]`: exposed to every cluster of the mesh.
    Advertise,
}

impl MeshDirection {
    /// The id and attribute value: `inbound`, `outbound` or `advertise`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MeshDirection::Inbound => "inbound",
            MeshDirection::Outbound => "outbound",
            MeshDirection::Advertise => "advertise",
        }
    }
}

impl fmt::Display for MeshDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a resource could not be built from the given parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidResource {
    /// The image reference does not parse.
    #[error(transparent)]
    Image(#[from] InvalidImageRef),
    /// The resource id does not have the shape its type needs.
    #[error("invalid {type_name} id {id:?}: expected {expected}")]
    BadId {
        /// The resource type.
        type_name: ResourceType,
        /// The id as given.
        id: String,
        /// The expected shape.
        expected: &'static str,
    },
    /// A full uid names a type the gate is not asked about.
    #[error("{action} is asked about {expected}, not {given}")]
    WrongType {
        /// The gate.
        action: Gate,
        /// The resource type the gate takes.
        expected: ResourceType,
        /// The type named in the uid.
        given: String,
    },
}

/// Security override ids of the container category (deviations on one container).
const CONTAINER_OVERRIDES: [&str; 5] = [
    "privileged",
    "runAsRoot",
    "runAsRootGroup",
    "readWriteRootFilesystem",
    "allowPrivilegeEscalation",
];

/// Security override ids of the pod category (deviations on the whole pod).
const POD_OVERRIDES: [&str; 5] = [
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "automountServiceAccountToken",
];

impl ResourceRef {
    /// `Lattice::ImageRef::"<registry>/<repository>[:tag][@digest]"` from an image as written in a
    /// spec (normalised: `nginx` is `docker.io/library/nginx:latest`).
    pub fn image(reference: &str) -> Result<Self, InvalidResource> {
        Ok(Self::from_image(&reference.parse::<ImageReference>()?))
    }

    /// `Lattice::ImageRef` from an already parsed image reference.
    pub fn from_image(image: &ImageReference) -> Self {
        let mut r = Self::new(ResourceType::ImageRef, image.to_string())
            .with_attr("registry", image.registry.as_str())
            .with_attr("repository", image.repository.as_str());
        if let Some(tag) = &image.tag {
            r = r.with_attr("tag", tag.as_str());
        }
        if let Some(digest) = &image.digest {
            r = r.with_attr("digest", digest.as_str());
        }
        r
    }

    /// The resource in its canonical form: an image named as a spec wrote it (`nginx`) gets its
    /// normalised id (`docker.io/library/nginx:latest`), so policies and `can-i` name it one way;
    /// an image the parser refuses keeps its id and is judged on its attributes. Every other type
    /// is canonical as built.
    pub fn canonical(&self) -> Self {
        match self.type_name {
            ResourceType::ImageRef => match self.id.parse::<ImageReference>() {
                Ok(image) => Self {
                    id: image.to_string(),
                    ..self.clone()
                },
                Err(_) => self.clone(),
            },
            _ => self.clone(),
        }
    }

    /// `Lattice::SecretPath::"<provider>:<path>"`: the provider is part of the identity, so the
    /// same path in two stores is two resources.
    pub fn secret(provider: &str, path: &str) -> Self {
        Self::new(ResourceType::SecretPath, format!("{provider}:{path}"))
            .with_attr("provider", provider)
            .with_attr("path", path)
    }

    /// `Lattice::SecurityOverride::"<id>"` with its category derived from the id:
    /// `capability:<CAP>` → capability; `privileged`, `runAsRoot`, `runAsRootGroup`,
    /// `readWriteRootFilesystem`, `allowPrivilegeEscalation` → container; `hostNetwork`,
    /// `hostPID`, `hostIPC`, `shareProcessNamespace`, `automountServiceAccountToken` → pod;
    /// `seccomp:<profile>`, `apparmor:<profile>` → profile; `allowedBinary:<path or *>` → binary.
    pub fn security_override(override_id: &str) -> Result<Self, InvalidResource> {
        let category = security_category(override_id).ok_or_else(|| InvalidResource::BadId {
            type_name: ResourceType::SecurityOverride,
            id: override_id.to_string(),
            expected: "capability:<CAP>, seccomp:<profile>, apparmor:<profile>, \
                       allowedBinary:<path|*>, or one of privileged, runAsRoot, runAsRootGroup, \
                       readWriteRootFilesystem, allowPrivilegeEscalation, hostNetwork, hostPID, \
                       hostIPC, shareProcessNamespace, automountServiceAccountToken",
        })?;
        Ok(Self::new(ResourceType::SecurityOverride, override_id)
            .with_attr("category", category)
            .with_attr("override_id", override_id))
    }

    /// `Lattice::ExternalEndpoint::"<host>:<port>"` (IPv6 hosts in brackets).
    pub fn external_endpoint(host: &str, port: u16, protocol: &str) -> Self {
        let id = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Self::new(ResourceType::ExternalEndpoint, id)
            .with_attr("host", host)
            .with_attr("port", i64::from(port))
            .with_attr("protocol", protocol)
    }

    /// `Lattice::Volume::"<namespace>/<volume_id>"`, a shared volume owned by another workload.
    pub fn volume(namespace: &str, volume_id: &str) -> Self {
        Self::new(ResourceType::Volume, format!("{namespace}/{volume_id}"))
            .with_attr("namespace", namespace)
            .with_attr("volume_id", volume_id)
    }

    /// `Lattice::Mesh::"<direction>"`.
    pub fn mesh(direction: MeshDirection) -> Self {
        Self::new(ResourceType::Mesh, direction.as_str()).with_attr("direction", direction.as_str())
    }

    /// `Lattice::Cluster::"<name>"` with its facts; `environment` only when the cluster has one.
    pub fn cluster(name: &str, region: &str, tier: &str, environment: Option<&str>) -> Self {
        let r = Self::new(ResourceType::Cluster, name)
            .with_attr("region", region)
            .with_attr("tier", tier);
        match environment {
            Some(env) => r.with_attr("environment", env),
            None => r,
        }
    }

    /// Reads the resource argument of `latticectl auth can-i` for `gate`: either a full uid
    /// (`Lattice::SecretPath::"vault:payments/stripe"`) or a bare id (`vault:payments/stripe`),
    /// and derives the attributes from the id:
    ///
    /// - `ImageRef`: the image reference (normalised);
    /// - `SecretPath`: `<provider>:<path>`;
    /// - `SecurityOverride`: an override id (category derived as in [`Self::security_override`]);
    /// - `ExternalEndpoint`: `[<protocol>://]<host>:<port>`; without a scheme the protocol is
    ///   `https` for port 443, `http` for port 80 and `tcp` otherwise;
    /// - `Volume`: `<namespace>/<volume_id>`;
    /// - `Mesh`: `inbound`, `outbound` or `advertise`;
    /// - `Cluster`: the cluster name, with region `unknown` and tier `standard` (callers that know
    ///   the cluster's facts should build it with [`Self::cluster`] instead).
    pub fn parse_for(gate: Gate, text: &str) -> Result<Self, InvalidResource> {
        let expected = gate.resource_type();
        let id = match text.strip_prefix("Lattice::") {
            Some(rest) => {
                let (type_name, quoted) = rest.split_once("::").unwrap_or((rest, ""));
                if type_name != expected.as_str() {
                    return Err(InvalidResource::WrongType {
                        action: gate,
                        expected,
                        given: format!("Lattice::{type_name}"),
                    });
                }
                unquote(quoted).ok_or_else(|| InvalidResource::BadId {
                    type_name: expected,
                    id: text.to_string(),
                    expected: "a uid of the form Lattice::<Type>::\"<id>\"",
                })?
            }
            None => text.to_string(),
        };
        let bad = |shape: &'static str| InvalidResource::BadId {
            type_name: expected,
            id: id.clone(),
            expected: shape,
        };
        match expected {
            ResourceType::ImageRef => Self::image(&id),
            ResourceType::SecretPath => match id.split_once(':') {
                Some((provider, path)) if !provider.is_empty() && !path.is_empty() => {
                    Ok(Self::secret(provider, path))
                }
                _ => Err(bad("<provider>:<path>")),
            },
            ResourceType::SecurityOverride => Self::security_override(&id),
            ResourceType::ExternalEndpoint => {
                parse_endpoint(&id).ok_or_else(|| bad("[<protocol>://]<host>:<port>"))
            }
            ResourceType::Volume => match id.split_once('/') {
                Some((ns, vol)) if !ns.is_empty() && !vol.is_empty() => Ok(Self::volume(ns, vol)),
                _ => Err(bad("<namespace>/<volume_id>")),
            },
            ResourceType::Mesh => match id.as_str() {
                "inbound" => Ok(Self::mesh(MeshDirection::Inbound)),
                "outbound" => Ok(Self::mesh(MeshDirection::Outbound)),
                "advertise" => Ok(Self::mesh(MeshDirection::Advertise)),
                _ => Err(bad("inbound, outbound or advertise")),
            },
            ResourceType::Cluster if !id.is_empty() => {
                Ok(Self::cluster(&id, "unknown", "standard", None))
            }
            ResourceType::Cluster => Err(bad("a cluster name")),
        }
    }
}

/// The category of a known security override id.
fn security_category(id: &str) -> Option<&'static str> {
    let prefixed = |prefix: &str| {
        id.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    };
    if prefixed("capability:") {
        Some("capability")
    } else if prefixed("seccomp:") || prefixed("apparmor:") {
        Some("profile")
    } else if prefixed("allowedBinary:") {
        Some("binary")
    } else if CONTAINER_OVERRIDES.contains(&id) {
        Some("container")
    } else if POD_OVERRIDES.contains(&id) {
        Some("pod")
    } else {
        None
    }
}

/// `"text"` → `text`, undoing `\"` and `\\` escapes.
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `[<protocol>://]<host>:<port>` → an external endpoint resource.
fn parse_endpoint(text: &str) -> Option<ResourceRef> {
    let (protocol, rest) = match text.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() => (Some(scheme), rest),
        Some(_) => return None,
        None => (None, text),
    };
    let (host, port) = rest.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = u16::from_str(port).ok()?;
    if host.is_empty() || host.contains('/') {
        return None;
    }
    let protocol = protocol.unwrap_or(match port {
        443 => "https",
        80 => "http",
        _ => "tcp",
    });
    Some(ResourceRef::external_endpoint(host, port, protocol))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::authz::request::AttrValue;

    fn attr<'a>(r: &'a ResourceRef, key: &str) -> &'a AttrValue {
        &r.attrs[key]
    }

    #[test]
    fn typed_constructors_fill_every_attribute_and_the_id() {
        let s = ResourceRef::secret("vault", "payments/stripe");
        assert_eq!(
            s.to_string(),
            r#"Lattice::SecretPath::"vault:payments/stripe""#
        );
        assert_eq!(attr(&s, "path"), &AttrValue::from("payments/stripe"));
        let e = ResourceRef::external_endpoint("api.stripe.com", 443, "https");
        assert_eq!(e.id, "api.stripe.com:443");
        assert_eq!(attr(&e, "port"), &AttrValue::Long(443));
        assert_eq!(
            ResourceRef::external_endpoint("::1", 8080, "tcp").id,
            "[::1]:8080"
        );
        let c = ResourceRef::cluster("prod-eu", "eu-west-1", "critical", Some("prod"));
        assert_eq!(c.attrs.len(), 3);
        assert_eq!(ResourceRef::cluster("dev", "r", "t", None).attrs.len(), 2);
    }

    #[test]
    fn security_override_categories() {
        for (id, category) in [
            ("capability:NET_ADMIN", "capability"),
            ("privileged", "container"),
            ("runAsRoot", "container"),
            ("hostNetwork", "pod"),
            ("seccomp:Localhost", "profile"),
            ("apparmor:Unconfined", "profile"),
            ("allowedBinary:*", "binary"),
            ("allowedBinary:/usr/bin/curl", "binary"),
        ] {
            let r = ResourceRef::security_override(id).unwrap();
            assert_eq!(attr(&r, "category"), &AttrValue::from(category), "{id}");
            assert_eq!(attr(&r, "override_id"), &AttrValue::from(id));
        }
        for bad in ["capability:", "root", "", "Privileged"] {
            assert!(
                ResourceRef::security_override(bad).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn can_i_arguments_parse_as_uid_or_bare_id() {
        let full = ResourceRef::parse_for(
            Gate::AccessSecret,
            r#"Lattice::SecretPath::"vault:payments/stripe""#,
        )
        .unwrap();
        let bare = ResourceRef::parse_for(Gate::AccessSecret, "vault:payments/stripe").unwrap();
        assert_eq!(full, bare);
        assert_eq!(full, ResourceRef::secret("vault", "payments/stripe"));

        let ep =
            ResourceRef::parse_for(Gate::AccessExternalEndpoint, "grpc://10.0.0.1:9000").unwrap();
        assert_eq!(attr(&ep, "protocol"), &AttrValue::from("grpc"));
        let ep =
            ResourceRef::parse_for(Gate::AccessExternalEndpoint, "api.stripe.com:443").unwrap();
        assert_eq!(attr(&ep, "protocol"), &AttrValue::from("https"));
        let img = ResourceRef::parse_for(Gate::DeployImage, "nginx:1.25").unwrap();
        assert_eq!(img.id, "docker.io/library/nginx:1.25");
        assert_eq!(
            ResourceRef::parse_for(Gate::AllowWildcard, "inbound").unwrap(),
            ResourceRef::mesh(MeshDirection::Inbound)
        );
        assert_eq!(
            ResourceRef::parse_for(Gate::AccessVolume, r#"Lattice::Volume::"data/models""#)
                .unwrap(),
            ResourceRef::volume("data", "models")
        );
    }

    #[test]
    fn can_i_arguments_that_do_not_fit_the_gate_are_refused() {
        assert!(matches!(
            ResourceRef::parse_for(Gate::AccessSecret, r#"Lattice::Volume::"a/b""#),
            Err(InvalidResource::WrongType { .. })
        ));
        for (gate, text) in [
            (Gate::AccessSecret, "no-provider"),
            (Gate::AccessSecret, r#"Lattice::SecretPath::vault:x"#),
            (Gate::AccessExternalEndpoint, "api.stripe.com"),
            (Gate::AccessExternalEndpoint, "host:99999"),
            (Gate::AccessVolume, "novolume"),
            (Gate::AllowWildcard, "sideways"),
            (Gate::AccessCluster, ""),
        ] {
            assert!(
                matches!(
                    ResourceRef::parse_for(gate, text),
                    Err(InvalidResource::BadId { .. })
                ),
                "{gate} {text:?} accepted"
            );
        }
    }
}
