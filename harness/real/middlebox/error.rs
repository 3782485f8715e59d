//! Why a real middlebox could not run.

use super::RealMiddlebox;
use crate::case::CaseError;
use std::path::PathBuf;

/// Why a real middlebox could not run.
#[derive(Debug, thiserror::Error)]
pub enum MiddleboxError {
    #[error(transparent)]
    Real(#[from] crate::real::RealError),
    #[error("{program}: {}: {source}", path.display())]
    Io {
        program: RealMiddlebox,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} exited during startup ({status}); its output:\n{log}")]
    Exited {
        program: RealMiddlebox,
        status: String,
        log: String,
    },
    #[error("{program} did not listen on 127.0.0.1:{port} within {secs} s; its output:\n{log}")]
    NotReady {
        program: RealMiddlebox,
        port: u16,
        secs: u64,
        log: String,
    },
    #[error("{0}: a certificate the scenario names: {1}")]
    Pki(&'static str, #[source] crate::pki::PkiError),
}

impl From<MiddleboxError> for CaseError {
    fn from(e: MiddleboxError) -> Self {
        match e {
            MiddleboxError::Real(r) => r.into(),
            other => CaseError::setup(other),
        }
    }
}
