//! Shared parts of the agent's integration tests: a test PKI and a protocol peer (a small cell
//! speaking `AgentService` over real TLS).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod cell;
pub mod fault_child;
pub mod k8s;
pub mod pki;
pub mod process;
