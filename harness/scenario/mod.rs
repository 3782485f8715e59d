//! Scenario files: schema, loading, validation.

pub mod schema;

/// A scenario file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}
