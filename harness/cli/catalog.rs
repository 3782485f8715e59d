//! Scenario paths given on the command line, resolved to scenarios.

use anyhow::{bail, Result};
use mtls_harness::scenario::{load_catalog, load_file, Scenario};
use std::path::{Path, PathBuf};

/// The catalog used when none is named: ./scenarios, else the one shipped
/// with the source tree.
fn default_catalog() -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
    }
}

/// Every scenario in `paths` (catalog directories or scenario files), or in
/// the default catalog when there are none.
pub fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>> {
    let paths = if paths.is_empty() {
        vec![default_catalog()]
    } else {
        paths.to_vec()
    };
    let mut all = Vec::new();
    for p in &paths {
        if p.is_dir() {
            all.extend(load_catalog(p)?);
        } else if p.is_file() {
            all.push(load_file(p, None)?);
        } else {
            bail!(
                "{}: no such scenario file or catalog directory",
                p.display()
            );
        }
    }
    Ok(all)
}

/// The scenarios of `catalog` (or the default catalog).
pub fn load_catalog_or_default(catalog: Option<PathBuf>) -> Result<Vec<Scenario>> {
    load_scenarios(&catalog.into_iter().collect::<Vec<_>>())
}
