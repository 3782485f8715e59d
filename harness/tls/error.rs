//! Why a TLS endpoint (gateway, client, middlebox) could not be set up or
//! could not finish a step it owns. Outcomes of a handshake are not errors:
//! they are observations (see `classify`).

use std::net::SocketAddr;

/// A TLS setup or I/O failure, with its cause kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("trust certificate #{index} is not usable as an anchor: {source}")]
    BadTrustAnchor {
        index: usize,
        #[source]
        source: webpki::Error,
    },
    #[error("CRL #{index} does not parse: {source}")]
    BadCrl {
        index: usize,
        #[source]
        source: webpki::Error,
    },
    /// A certificate named by the scenario (CA names, wallet) is not in the PKI.
    #[error("{field}: {source}")]
    Pki {
        field: &'static str,
        #[source]
        source: Box<crate::pki::PkiError>,
    },
    #[error("`{name}`: private key not usable: {source}")]
    UnusableKey {
        name: String,
        #[source]
        source: rustls::Error,
    },
    #[error("`{name}`: certificate does not parse: {detail}")]
    UnparseableCert { name: String, detail: String },
    #[error("no TLS version enabled")]
    NoVersions,
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// rustls refused a configuration step (`what`).
    #[error("{what}: {source}")]
    Config {
        what: &'static str,
        #[source]
        source: rustls::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: timed out")]
    TimedOut { what: String },
    #[error("proxy {proxy}: {source}")]
    Proxy {
        proxy: SocketAddr,
        #[source]
        source: hyper::Error,
    },
    #[error("proxy {proxy} refused CONNECT: {status}")]
    ConnectRefused {
        proxy: SocketAddr,
        status: hyper::StatusCode,
    },
    /// A record the harness seals itself (post-handshake refusal) cannot be
    /// built for this connection.
    #[error("cannot seal a TLS record: {0}")]
    Seal(&'static str),
    /// The profile's gateway does something here the built-in server cannot
    /// reproduce (the case is SKIP with this reason).
    #[error("{0}")]
    Unmodelled(&'static str),
    #[error("client closed before sending a request")]
    ClosedBeforeRequest,
}
