//! Restricted Pod Security Standard defaults, and the spec's overrides applied on top of them.
//! Every override is also a Cedar `OverrideSecurity` question (see [`super::gates`]).

use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, SeccompProfile, SecurityContext,
};

use crate::spec::ContainerSecurity;

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_string(),
        ..Default::default()
    }
}

/// Pod-level settings required by the `restricted` Pod Security Standard.
pub(crate) fn restricted_pod() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}

/// Container-level settings: restricted defaults with the spec's overrides.
pub(crate) fn container(overrides: Option<&ContainerSecurity>) -> SecurityContext {
    let o = overrides.cloned().unwrap_or_default();
    let runs_as_root = o.run_as_user == Some(0);
    SecurityContext {
        allow_privilege_escalation: Some(o.allow_privilege_escalation.unwrap_or(false)),
        privileged: Some(o.privileged.unwrap_or(false)),
        read_only_root_filesystem: Some(o.read_only_root_filesystem.unwrap_or(true)),
        // uid 0 cannot start under runAsNonRoot, so asking for it implies lifting the check.
        run_as_non_root: Some(o.run_as_non_root.unwrap_or(!runs_as_root)),
        run_as_user: o.run_as_user,
        run_as_group: o.run_as_group,
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            add: (!o.capabilities.is_empty()).then(|| {
                let mut caps = o.capabilities.clone();
                caps.sort();
                caps.dedup();
                caps
            }),
        }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}
