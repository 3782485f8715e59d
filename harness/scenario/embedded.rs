//! The built-in catalog, embedded at build time (`build.rs`): what runs
//! when no catalog directory is given, with no source tree at hand.

use super::load::scenario_id;
use super::{Scenario, ScenarioError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// The built-in catalog's files: (path below `scenarios/`, text).
pub fn files() -> &'static [(&'static str, &'static str)] {
    EMBEDDED
}

/// Load the built-in catalog (ids and messages as if read from
/// `scenarios/`), sorted by id.
pub fn load_builtin() -> Result<Vec<Scenario>, ScenarioError> {
    let root = Path::new("scenarios");
    let mut by_id = BTreeMap::new();
    let mut errors = Vec::new();
    for (rel, text) in EMBEDDED {
        let path: PathBuf = root.join(rel);
        let loaded = scenario_id(&path, Some(root))
            .and_then(|id| Scenario::from_source(&id, &path, text.to_string()));
        match loaded {
            Ok(s) => {
                by_id.insert(s.id.clone(), s);
            }
            Err(e) => errors.push(e),
        }
    }
    match ScenarioError::collect(errors) {
        Some(e) => Err(e),
        None => Ok(by_id.into_values().collect()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_catalog_is_the_scenarios_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let from_dir = super::super::load_catalog(&dir).expect("catalog loads");
        let embedded = super::load_builtin().expect("embedded catalog loads");
        assert!(embedded.len() > 100, "{} scenarios", embedded.len());
        let ids = |v: &[super::Scenario]| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&embedded), ids(&from_dir));
        for (a, b) in embedded.iter().zip(&from_dir) {
            assert_eq!(a.source, b.source, "{}", a.id);
        }
    }
}
