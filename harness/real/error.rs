//! Why a real gateway could not be configured or started.

use super::RealKind;
use crate::case::CaseError;
use crate::gateway::ProfileKind;
use crate::pki::PkiError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a real gateway could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum RealError {
    #[error("`{program}` is not installed (install it with `{install}`)")]
    MissingProgram { program: String, install: String },
    /// The scenario asks for something this real gateway cannot be
    /// configured to do: the case is SKIP with this reason.
    #[error("{0}")]
    Unsupported(#[from] Unsupported),
    #[error("server.cert: {0}")]
    ServerCert(#[source] PkiError),
    #[error("server.trust: {0}")]
    Trust(#[source] PkiError),
    /// The scenario's `ca_names` policy could not be applied.
    #[error("{0}")]
    CaNames(#[source] crate::tls::TlsError),
    #[error("server.crls: `{issuer}` is not a CA of this PKI that publishes a CRL")]
    NoCrl { issuer: String },
    /// `[server.mode]` names no mode of the profile that judges this gateway.
    #[error("server.mode: {0}")]
    Mode(#[source] crate::gateway::ModeError),
    #[error("filler CA key: {0}")]
    FillerKey(#[source] rcgen::Error),
    #[error("filler CA `{subject}`: {source}")]
    FillerCa {
        subject: String,
        #[source]
        source: FillerCaError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A build command did not start or ran over its time limit.
    #[error(transparent)]
    Bounded(#[from] crate::real::bounded::BoundedError),
    /// A program the harness builds (real:go) did not build.
    #[error("building {what} failed ({status}):\n{log}")]
    Build {
        what: &'static str,
        status: String,
        log: String,
    },
    #[error("{kind} exited during startup ({status}); its output:\n{log}")]
    Exited {
        kind: RealKind,
        status: String,
        log: String,
    },
    /// The program refused its configuration but kept running.
    #[error("{kind} refused its configuration; its output:\n{log}")]
    Refused { kind: RealKind, log: String },
    #[error("{kind} did not listen on {addr} within {secs} s; its output:\n{log}")]
    NotReady {
        kind: RealKind,
        addr: SocketAddr,
        secs: u64,
        log: String,
    },
    /// Another server answers on the port the gateway was to bind: the
    /// handshake there did not show this case's server certificate.
    #[error(
        "{kind}: {addr} is another server's (it presented another certificate); its output:\n{log}"
    )]
    PortTaken {
        kind: RealKind,
        addr: SocketAddr,
        log: String,
    },
    /// Every port tried was taken before the gateway could bind it.
    #[error("{kind}: no free port after {attempts} attempts: {log}")]
    NoFreePort {
        kind: RealKind,
        attempts: u32,
        /// What the gateway said the last time.
        log: String,
    },
}

/// What a real gateway cannot be configured to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error(
        "server.trust_forwarded_header = {header}: real gateways are not configured to trust \
         forwarding headers"
    )]
    ForwardedHeaderTrust { header: &'static str },
    #[error(
        "CA name `{subject}` is not a trusted CA certificate: a real gateway sends the names of \
         the CA certificates it loads (an untrusted explicit name cannot be expressed)"
    )]
    UntrustedCaName { subject: String },
    /// The real program has no equivalent of this mode of its profile.
    #[error("{kind} cannot be configured for {profile} mode `{mode}`")]
    Mode {
        kind: RealKind,
        profile: ProfileKind,
        mode: &'static str,
    },
    #[error("server.trust is empty: real gateways need a CA file to verify client certificates")]
    EmptyTrust,
    /// `[server] resumption` on a program whose renderer does not set it.
    #[error("{kind} is not configured for `server.resumption` (its renderer keeps the program's default)")]
    Resumption { kind: RealKind },
    /// A limit of one program, explained in that program's terms.
    #[error("{0}")]
    Program(&'static str),
    /// `[revocation] check` that the program's judge makes but its renderer
    /// does not configure.
    #[error("{kind} is not configured for `revocation.check = \"{check}\"` (its judge checks it; the renderer does not)")]
    Revocation { kind: RealKind, check: &'static str },
}

/// Why a filler CA certificate (for `extra-filler` / `fill-to-bytes` names)
/// could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FillerCaError {
    #[error(transparent)]
    Certificate(#[from] rcgen::Error),
    #[error(transparent)]
    Parse(#[from] x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// The name a server sends is the certificate's subject: it must be the
    /// filler name byte for byte, or the list sizes drift.
    #[error("subject encodes differently from the filler name")]
    SubjectMismatch,
}

impl From<RealError> for CaseError {
    fn from(e: RealError) -> Self {
        match e {
            RealError::Unsupported(why) => CaseError::Unsupported(why.to_string()),
            other => CaseError::setup(other),
        }
    }
}
