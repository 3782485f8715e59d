//! Scenario paths given on the command line, resolved to scenarios.

use anyhow::{bail, Result};
use mtls_harness::scenario::{load_builtin, load_catalog, load_file, Scenario};
use std::path::{Path, PathBuf};

/// Every scenario in `paths` (catalog directories or scenario files), or in
/// the default catalog when there are none: ./scenarios, else the built-in
/// catalog embedded in the binary (no source tree needed).
pub fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>> {
    if paths.is_empty() {
        let here = Path::new("scenarios");
        return Ok(if here.is_dir() {
            load_catalog(here)?
        } else {
            load_builtin()?
        });
    }
    let mut all = Vec::new();
    for p in paths {
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
