//! `__flake REPORT...` (hidden, for `ci/flake`): compare JSON run reports of
//! the same catalog and print every case whose outcome changed.

use anyhow::{Context, Result};
use clap::Args;
use mtls_harness::exit_codes;
use mtls_harness::runner::flake::outcome_changes;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FlakeArgs {
    /// JSON reports (`run --format json --output`) of the same runs, in order.
    #[arg(required = true, num_args = 2..)]
    pub reports: Vec<PathBuf>,
}

pub fn flake(args: FlakeArgs) -> Result<i32> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| path.display().to_string())?;
        reports.push(json);
    }
    let cases = reports
        .iter()
        .filter_map(|r| r["results"].as_array().map(Vec::len))
        .max()
        .unwrap_or(0);
    let changes = outcome_changes(&reports)?;
    for c in &changes {
        println!("{c}");
    }
    println!(
        "{} runs, {cases} cases, {} changed outcome",
        reports.len(),
        changes.len()
    );
    Ok(if changes.is_empty() {
        exit_codes::SUCCESS
    } else {
        exit_codes::SCENARIO_FAILED
    })
}
