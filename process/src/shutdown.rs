//! SIGINT and SIGTERM for a long-running Lattice process (cell, agent, demo).
//!
//! Registered up front, before the process announces itself (a ready line, a connection):
//! tokio installs a handler only when the signal stream is created, so a handler created lazily
//! inside a future leaves a window in which SIGTERM still has its default action and kills the
//! process instead of stopping it cleanly.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Both shutdown signals, registered when this is created.
#[derive(Debug)]
pub struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    /// Registers the handlers now. Must be called inside a tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves at the first SIGINT or SIGTERM received since [`Self::install`].
    pub async fn recv(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::process::{Signal as Raw, getpid, kill_process};

    /// SIGTERM sent right after `install`, before anything awaits, is received rather than
    /// killing the process (which would end this test binary with a signal).
    #[tokio::test]
    async fn a_sigterm_right_after_install_is_received_not_fatal() {
        let signals = ShutdownSignals::install().unwrap();
        kill_process(getpid(), Raw::TERM).unwrap();
        signals.recv().await;
    }
}
