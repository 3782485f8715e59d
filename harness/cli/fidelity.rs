//! `fidelity`: each scenario on the built-in profile and on the real gateway
//! it models, tabulated as agreement.

use super::output::{progress_bar, runtime, write_or_print};
use super::{args, catalog};
use anyhow::{Context, Result};
use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use mtls_harness::exit_codes;
use mtls_harness::interrupt::GracefulScope;
use mtls_harness::real::RealKind;
use mtls_harness::runner::{execute, fidelity, RunOptions};
use mtls_harness::tls::Timeouts;
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FidelityFormat {
    Markdown,
    Json,
}

#[derive(Args, Debug)]
pub struct FidelityArgs {
    /// Catalog directory (default: ./scenarios).
    pub dir: Option<PathBuf>,
    /// A Markdown table (as in the README) or JSON rows.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: FidelityFormat,
    /// Write the table here (whole or not at all) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Only scenarios whose id matches this glob (repeatable).
    #[arg(long, value_parser = globset::Glob::new)]
    pub filter: Vec<globset::Glob>,
    /// Comparisons in flight at once (each may start a real server).
    #[arg(long, default_value_t = 4, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub concurrency: usize,
}

pub fn fidelity(args: FidelityArgs) -> Result<i32> {
    // A signal stops the table; the comparisons that finished are written.
    let _graceful = GracefulScope::enter();
    for kind in RealKind::ALL {
        kind.find_program().with_context(|| kind.to_string())?;
    }
    let scenarios = catalog::load_catalog_or_default(args.dir)?;
    let opts = RunOptions {
        filter: args::glob_set(&args.filter)?,
        ..Default::default()
    };
    let selected = execute::select(&scenarios, &opts);
    if selected.is_empty() {
        eprintln!("no scenario selected");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let pkis = execute::generate_pkis(&selected)?;
    let bar = progress_bar(0);
    let rows = runtime()?.block_on(fidelity::fidelity(
        &selected,
        &pkis,
        &RealKind::ALL,
        Timeouts::default(),
        args.concurrency,
        |d, t| {
            bar.set_length(t as u64);
            bar.set_position(d as u64);
        },
    ));
    bar.finish_and_clear();
    let text = match args.format {
        FidelityFormat::Markdown => fidelity::markdown(&rows, &RealKind::ALL),
        FidelityFormat::Json => {
            serde_json::to_string_pretty(&rows.iter().map(|r| r.to_json()).collect::<Vec<_>>())?
                + "\n"
        }
    };
    write_or_print(args.output.as_deref(), &text)?;
    let (agree, differ, na) = fidelity::totals(&rows);
    eprintln!("{agree} agree, {differ} differ, {na} not applicable");
    if let Some((n, signal)) = fidelity::interrupted_cells(&rows) {
        eprintln!("partial table: interrupted by {signal}; {n} comparisons did not run");
    }
    Ok(if differ > 0 {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    })
}
