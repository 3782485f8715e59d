//! mtls-harness: a test harness and conformance suite for mutual TLS
//! (client-certificate) authentication.
//!
//! The pipeline for one scenario: `scenario file -> PkiSpec -> Pki -> Gateway
//! [-> Middlebox] <- Client -> Observation -> Oracle -> Verdict`.

pub mod case;
pub mod errors;
pub mod exit_codes;
pub mod gateway;
pub mod observation;
pub mod oracle;
pub mod pki;
pub mod real;
pub mod runner;
pub mod scenario;
pub mod source;
pub mod tls;

pub use errors::Error;
pub use observation::{Observation, Side, TlsVersion};
