//! The API for your own `cargo test`: a [`Pki`](crate::pki::Pki) built in Rust, a built-in
//! [`Gateway`] or a [`Client`] in one line each, assertions on the
//! [`Observation`](crate::observation::Observation), and the whole catalog judging your own server
//! ([`Conformance`], with the [`TargetKit`] to configure it). Everything is
//! in [`crate::prelude`].
//!
//! Lists of names (`trust`, `wallet`, `crls`, ...) take arrays, vectors or
//! iterators of `&str` or `String`; `<prefix>-*` stands for every filler of
//! a `[[bulk]]` table ([`crate::pki::PkiBuilder::bulk_roots`]).

mod client;
mod conformance;
mod gateway;
mod kit;

pub use client::Client;
pub use conformance::{Conformance, ConformanceReport, Scope};
pub use gateway::{CaNameList, CertRef, Connection, Gateway, GatewayBuilder};
pub use kit::{KitFiles, TargetKit, KIT_PKI};

/// Why an API call failed (a test's `?`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    #[error(transparent)]
    Case(#[from] crate::case::CaseError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Target(#[from] crate::runner::target::TargetError),
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The builder was given something it cannot use.
    #[error("{0}")]
    Usage(String),
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            what: "I/O".into(),
            source,
        }
    }
}

/// A list of names as every builder takes it.
pub(crate) fn names<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    names.into_iter().map(|s| s.as_ref().to_string()).collect()
}

/// The self-signed roots of `pki` that are not bulk fillers.
pub(crate) fn roots_of(pki: &crate::pki::Pki) -> Vec<String> {
    pki.certs()
        .iter()
        .filter(|c| c.issuer.is_none() && c.role.is_ca() && c.bulk.is_none())
        .map(|c| c.name.clone())
        .collect()
}
