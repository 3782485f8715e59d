//! The library's error categories. Each module owns its error enum; this is the
//! umbrella the CLI maps to exit codes.

use crate::exit_codes;

pub use crate::pki::PkiError;
pub use crate::scenario::ScenarioError;

/// Any error the library returns to the CLI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A server, client or process could not be set up.
    #[error("setup: {0}")]
    Setup(String),
}

impl Error {
    /// Every library error is bad input or a setup error (exit 2); scenario
    /// failures are verdicts, not errors.
    pub fn exit_code(&self) -> i32 {
        exit_codes::BAD_INPUT
    }
}
