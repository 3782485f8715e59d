//! Why a measurement could not be made (not what it measured).

use crate::real::client::RealClientError;
use crate::real::RealError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AfterRequestError {
    #[error("the measurement PKI: {0}")]
    Pki(#[from] crate::pki::PkiError),
    #[error("Apache asking after the request: {0}")]
    Server(#[from] RealError),
    #[error("{client}: {source}")]
    Client {
        client: String,
        #[source]
        source: RealClientError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the harness's rustls client: {0}")]
    Tls(#[from] crate::tls::TlsError),
}
