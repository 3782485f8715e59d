//! `list`: scenario ids with their descriptions.

use super::catalog;
use anyhow::Result;
use clap::Args;
use mtls_harness::exit_codes;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Catalog directory (default: ./scenarios).
    pub dir: Option<PathBuf>,
}

pub fn list(args: ListArgs) -> Result<i32> {
    let scenarios = catalog::load_catalog_or_default(args.dir)?;
    if scenarios.is_empty() {
        eprintln!("no scenario found");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let width = scenarios.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for s in &scenarios {
        let seed = s
            .file
            .seed
            .as_deref()
            .map(|x| format!(" [seed {x}]"))
            .unwrap_or_default();
        println!("{:width$}  {}{seed}", s.id, s.file.description);
    }
    Ok(exit_codes::SUCCESS)
}
