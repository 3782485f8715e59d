//! Online revocation: OCSP and CRL distribution points as gateways really
//! use them, with the harness's own responder on 127.0.0.1.
//!
//! - [`Responder`]: the PKI's OCSP responder and CRL server in one, `up`,
//!   `down` (connection refused), `hang` (accepts, never answers), `stale`
//!   (an expired OCSP response or CRL) or `malformed` (not DER).
//! - [`client`]: what a built-in gateway does with it: an OCSP query or a
//!   CRL fetch, bounded by the gateway's timeout.
//! - [`der`]: the OCSP messages (RFC 6960).
//!
//! Layer 2 beside `tls`: it needs the PKI and nothing above; `tls` asks it.

pub mod client;
pub mod der;
mod http;
mod responder;

pub use client::{OcspVerdict, ResponderFailure};
pub use responder::Responder;

/// Why a responder could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error("binding the revocation responder on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    #[error("certificate `{0}` does not parse")]
    Cert(String),
    #[error("signing for CA `{name}`: {source}")]
    Sign {
        name: String,
        #[source]
        source: rcgen::Error,
    },
}

/// The file name (without `.crl`) an issuer's CRL is served under: the
/// SHA-256 of its subject name, hex (what a gateway can compute from the
/// certificate it checks).
pub fn crl_path(issuer_subject: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, issuer_subject)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
