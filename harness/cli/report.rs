//! `report merge`: join the reports of several machines into one.

use super::output::write_or_print;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mtls_harness::exit_codes;
use mtls_harness::runner::merge::merge_texts;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Merge reports of one kind: `run --format json` or `--format junit`
    /// reports of `run --shard K/N` (cases joined, counts and exit code
    /// recomputed), or `bench --format json` rows from several load
    /// machines (summed per trust-store size).
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The reports, all of one kind.
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report here (whole or not at all) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub fn report(args: ReportArgs) -> Result<i32> {
    match args.command {
        ReportCommand::Merge(m) => {
            let texts = m
                .reports
                .iter()
                .map(|p| std::fs::read_to_string(p).with_context(|| p.display().to_string()))
                .collect::<Result<Vec<_>>>()?;
            let merged = merge_texts(&texts).context("report merge")?;
            write_or_print(m.output.as_deref(), &merged)?;
            Ok(exit_codes::SUCCESS)
        }
    }
}
