//! mtls-harness: a test harness and conformance suite for mutual TLS
//! (client-certificate) authentication.
//!
//! The pipeline for one scenario: `scenario file -> PkiSpec -> Pki -> Gateway
//! [-> Middlebox] <- Client -> Observation -> Oracle -> Verdict`.
//!
//! Use it from your own tests: describe a case as data, run it against a
//! built-in gateway, assert on the observation.
//!
//! ```
//! use mtls_harness::{case::run_case, gateway::ProfileKind, pki::Pki, tls::Timeouts, TlsVersion};
//! use mtls_harness::scenario::schema::ScenarioFile;
//!
//! let file: ScenarioFile = toml::from_str(r#"
//!     description = "a Layer7-style gateway lists only flagged CAs (seed 000)"
//!     [[pki.cert]]
//!     name = "flagged-root"
//!     role = "root"
//!     signs_client_certs = true
//!     [[pki.cert]]
//!     name = "other-root"
//!     role = "root"
//!     [[pki.cert]]
//!     name = "gw"
//!     role = "server"
//!     issuer = "flagged-root"
//!     [[pki.cert]]
//!     name = "alice"
//!     role = "client"
//!     issuer = "other-root"
//!     [server]
//!     cert = "gw"
//!     trust = ["flagged-root", "other-root"]
//!     ca_names = "flagged"
//!     [client]
//!     certs = ["alice"]
//!     selection = "match-issuer"
//! "#).unwrap();
//! let pki = Pki::generate(&file.pki).unwrap();
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let obs = rt
//!     .block_on(run_case(&pki, &file, ProfileKind::Layer7, TlsVersion::Tls13, Timeouts::default()))
//!     .unwrap();
//! assert!(!obs.client_certificate_sent); // alice's issuer is not among the CA names
//! assert_eq!(obs.http.unwrap().status, 401);
//! ```

pub mod alert;
pub mod api;
pub mod backend;
pub mod bench;
pub mod capture;
pub mod case;
pub mod docs;
pub mod error_chain;
pub mod exit_codes;
pub mod gateway;
pub mod interrupt;
pub mod knobs;
pub mod observation;
pub mod oracle;
pub mod pki;
pub mod prelude;
pub mod probe;
pub mod process;
pub mod real;
pub mod revocation;
pub mod runner;
pub mod scenario;
pub mod source;
pub mod tls;

pub use observation::{Observation, Side, TlsVersion};
