//! Scenario files: schema, loading, validation, expectation resolution.

pub mod embedded;
mod expect;
pub mod load;
pub(crate) mod locate;
pub mod schema;
mod validate;

use schema::ScenarioFile;
use std::path::PathBuf;

pub use embedded::load_builtin;
pub use load::{load_catalog, load_file};

/// One loaded, validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// `<namespace>::<name>`.
    pub id: String,
    pub path: PathBuf,
    /// The file's text, kept to point errors found later at a line.
    pub source: String,
    pub file: ScenarioFile,
}

pub use crate::alert::is_known as is_known_alert;
use crate::gateway::ProfileKind;

/// The gateway profiles, in report order (the registry's names).
pub const PROFILES: [&str; ProfileKind::ALL.len()] = ProfileKind::NAMES;

/// The `[server.mode]` values `profile` accepts (empty: the profile has no
/// modes), or `None` for an unknown profile. The gateway registry owns them.
pub fn modes_of(profile: &str) -> Option<&'static [&'static str]> {
    ProfileKind::from_name(profile).map(ProfileKind::modes)
}

/// The field reports a scenario can reproduce (`seed = "..."`).
pub const SEEDS: [&str; 4] = ["000", "001", "002", "003"];

/// A scenario file or catalog that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, a wrong type or an unknown key; `rendered` is `PATH:LINE:COL: message`.
    #[error("{rendered}")]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        rendered: String,
    },
    /// The file parsed but says something impossible (unknown cert, bad alert, ...).
    #[error("{}{}: `{key}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        /// Dotted key path, e.g. `server.trust` or `expect.gateway.nginx`.
        key: String,
        message: String,
    },
    /// The path does not give a usable `<namespace>::<name>` id.
    #[error("{}: {message}", path.display())]
    BadPath { path: PathBuf, message: String },
    /// Two files map to the same id.
    #[error("{}: duplicate scenario id `{id}` (also {})", path.display(), first.display())]
    DuplicateId {
        id: String,
        path: PathBuf,
        first: PathBuf,
    },
    /// Several errors, each listed on its own line.
    #[error("{} errors:\n{}", errors.len(), list_errors(errors))]
    Many { errors: Vec<ScenarioError> },
}

fn list_errors(errors: &[ScenarioError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ScenarioError {
    /// One error as itself, several as [`ScenarioError::Many`] (flattened).
    pub(crate) fn collect(errors: Vec<ScenarioError>) -> Option<ScenarioError> {
        let mut flat = Vec::with_capacity(errors.len());
        for e in errors {
            match e {
                ScenarioError::Many { errors } => flat.extend(errors),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(ScenarioError::Many { errors: flat }),
        }
    }

    /// The individual errors (one, or each of a `Many`).
    pub fn errors(&self) -> Vec<&ScenarioError> {
        match self {
            ScenarioError::Many { errors } => errors.iter().collect(),
            other => vec![other],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_has_a_mode_entry() {
        for p in PROFILES {
            assert!(modes_of(p).is_some(), "{p} has no PROFILE_MODES entry");
        }
        assert_eq!(
            modes_of("nginx"),
            Some(&["on", "optional", "optional_no_ca"][..])
        );
        assert_eq!(modes_of("squid"), None);
    }

    #[test]
    fn many_errors_flatten_and_list_each() {
        let e = |k: &str| ScenarioError::Invalid {
            path: "a.toml".into(),
            line: Some(3),
            key: k.into(),
            message: "bad".into(),
        };
        assert!(ScenarioError::collect(vec![]).is_none());
        let one = ScenarioError::collect(vec![e("x")]).expect("one error");
        assert_eq!(one.to_string(), "a.toml:3: `x`: bad");
        let inner = ScenarioError::Many {
            errors: vec![e("y"), e("z")],
        };
        let many = ScenarioError::collect(vec![e("x"), inner]).expect("errors");
        assert_eq!(many.errors().len(), 3);
        assert_eq!(
            many.to_string(),
            "3 errors:\n  a.toml:3: `x`: bad\n  a.toml:3: `y`: bad\n  a.toml:3: `z`: bad"
        );
    }
}
