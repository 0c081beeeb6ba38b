//! Free TCP ports on 127.0.0.1 for the servers a test starts.
//!
//! A port is found by binding port 0 and releasing it, so another process can still take it
//! before our server binds it: callers that start servers must retry on "address already in use"
//! (the cluster code does). Within this process a port is never handed out twice, so parallel
//! tests in one test binary do not race each other.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, OnceLock};

use crate::HarnessError;

/// How many times to ask the kernel for a port this process has not handed out yet.
const MAX_PICKS: usize = 64;

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A currently free TCP port on 127.0.0.1 that this process has not handed out before.
pub fn try_free_port() -> Result<u16, HarnessError> {
    for _ in 0..MAX_PICKS {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|source| HarnessError::io("binding a free port on 127.0.0.1", source))?;
        let port = listener
            .local_addr()
            .map_err(|source| HarnessError::io("reading the bound port", source))?
            .port();
        // A poisoned lock only means another test panicked while holding it; the set is still valid.
        let mut ports = handed_out()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ports.insert(port) {
            return Ok(port);
        }
    }
    Err(HarnessError::PortsExhausted {
        process: "free_port".to_owned(),
        attempts: MAX_PICKS as u32,
    })
}

/// A currently free TCP port on 127.0.0.1 that this process has not handed out before.
///
/// # Panics
/// When the loopback interface cannot bind a socket at all — the machine cannot run the tests.
/// Use [`try_free_port`] to handle that as an error.
pub fn free_port() -> u16 {
    match try_free_port() {
        Ok(port) => port,
        Err(err) => panic!("no free port on 127.0.0.1: {err}"),
    }
}
