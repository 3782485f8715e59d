//! mtls-harness: a test harness and conformance suite for mutual TLS
//! (client-certificate) authentication.
//!
//! The pipeline for one scenario: `scenario file -> PkiSpec -> Pki -> Gateway
//! [-> Middlebox] <- Client -> Observation -> Oracle -> Verdict`.
//!
//! Use it from your own tests (`use mtls_harness::prelude::*`): a PKI with
//! deliberate defects, a built-in gateway that answers as nginx, IIS or
//! Envoy would, clients that choose a certificate as browsers or curl do,
//! and the whole catalog judging your own server ([`api::Conformance`]).
//! With `default-features = false` the library comes without the command
//! line's crates.
//!
//! ```
//! use mtls_harness::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mtls_harness::api::Error> {
//! let pki = Pki::builder()
//!     .root("flagged-root").signs_client_certs()
//!     .root("other-root")
//!     .server("gw", "flagged-root")
//!     .client("alice", "other-root")
//!     .build()?;
//! // A Layer7-style gateway lists only the CAs flagged as signing client certificates.
//! let gw = Gateway::builtin(Profile::Layer7).pki(&pki).cert("gw")
//!     .trust(["flagged-root", "other-root"]).ca_names(CaNames::Flagged)
//!     .start().await?;
//! let obs = Client::browser().pki(&pki).wallet(["alice"]).get(&gw.url()).await;
//! assert!(!obs.client_certificate_sent); // alice's issuer is not among the CA names
//! obs.assert_status(401);
//! # Ok(())
//! # }
//! ```
//!
//! Underneath, a case is data: a scenario file (`scenario`), run end to end
//! by `case::run_case` and judged by `oracle`; `runner` runs catalogs.

pub mod alert;
pub mod api;
pub mod backend;
pub mod bench;
pub mod capture;
pub mod case;
pub mod credential;
/// The generated pages (`docs/*.md`) the command line writes and checks.
#[cfg(feature = "cli")]
pub mod docs;
pub mod error_chain;
pub mod exit_codes;
pub mod gateway;
pub mod interrupt;
pub mod knobs;
pub mod observation;
pub mod oracle;
pub mod pki;
pub mod policy;
pub mod prelude;
pub mod probe;
pub mod process;
pub mod real;
pub mod revocation;
pub mod runner;
pub mod scenario;
pub mod source;
pub mod steps;
pub mod tls;

pub use observation::{Observation, Side, TlsVersion};
