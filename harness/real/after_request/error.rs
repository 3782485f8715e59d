//! Why a measurement could not be made (not what it measured).

use crate::real::client::RealClientError;
use crate::real::RealError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AfterRequestError {
    #[error("the measurement PKI: {0}")]
    Pki(#[from] crate::pki::PkiError),
    #[error("Apache asking after the request: {0}")]
    Server(#[source] Box<RealError>),
    #[error("{client}: {source}")]
    Client {
        client: String,
        #[source]
        source: Box<RealClientError>,
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

impl From<RealError> for AfterRequestError {
    fn from(e: RealError) -> Self {
        AfterRequestError::Server(Box::new(e))
    }
}

impl AfterRequestError {
    /// `client`'s program could not be prepared or run.
    pub fn client(client: impl std::fmt::Display, source: RealClientError) -> Self {
        AfterRequestError::Client {
            client: client.to_string(),
            source: Box::new(source),
        }
    }
}
