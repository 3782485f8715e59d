//! TLS: the built-in gateway server, the clients, CA-name lists, chain
//! verification and error classification.

pub mod alert_rewrite;
pub mod ca_names;
pub mod classify;
pub mod client;
pub mod post_handshake;
pub mod server;
pub mod verify;

use std::time::Duration;

/// The crypto provider everywhere: ring (it builds much faster than aws-lc-rs
/// on small machines and gives the same results here).
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Install ring as the process default (reqwest's `rustls-no-provider` needs
/// one). Safe to call many times.
pub fn install_default_provider() {
    let _ = provider().install_default();
}

/// Per-stage time limits: a silent peer is a HANG, never a stuck test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub handshake: Duration,
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            handshake: Duration::from_secs(5),
            response: Duration::from_secs(5),
        }
    }
}
