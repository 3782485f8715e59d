//! `run`: the scenario catalog against the built-in gateways, a real gateway
//! process per case, or an external target.

use super::output::{progress_bar, runtime, write_atomically};
use super::{args, catalog};
use anyhow::{bail, Context, Result};
use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use mtls_harness::exit_codes;
use mtls_harness::gateway::ProfileKind;
use mtls_harness::interrupt::GracefulScope;
use mtls_harness::observation::TlsVersion;
use mtls_harness::runner::target::{preflight, TargetError};
use mtls_harness::runner::{execute, GatewaySelection, RunOptions};
use mtls_harness::tls::Timeouts;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Junit,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Catalog directory or scenario files (default: ./scenarios).
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose id matches this glob (repeatable).
    #[arg(long, value_parser = globset::Glob::new)]
    pub filter: Vec<globset::Glob>,
    /// Only this profile (repeatable).
    #[arg(long, value_parser = args::profile())]
    pub profile: Vec<ProfileKind>,
    /// Only this TLS version (repeatable).
    #[arg(long, value_parser = args::tls_version())]
    pub tls: Vec<TlsVersion>,
    /// The report: a table for people, JSON or JUnit XML for tools.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report here instead of stdout (table still prints a summary).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Where the cases run: the built-in profiles, or a real gateway process
    /// per case judged by the expectations of the profile it models.
    #[arg(long, default_value = "builtin", value_parser = args::gateway_selection())]
    pub gateway: GatewaySelection,
    /// An external gateway (https://host:port) configured with the PKI in
    /// `--pki`; judged by the expectations of the single `--profile`.
    #[arg(long, requires = "pki")]
    pub target: Option<String>,
    /// With `--target`: the directory `pki generate` wrote, which the target
    /// trusts and whose server certificate it presents.
    #[arg(long, requires = "target")]
    pub pki: Option<PathBuf>,
    /// Cases in flight at once.
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub concurrency: Option<usize>,
    /// Per-stage timeout in seconds (connect, handshake, response).
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Never use colours.
    #[arg(long)]
    pub no_color: bool,
}

pub fn run(args: RunArgs) -> Result<i32> {
    // A signal stops the run; the cases that finished are still reported.
    let _graceful = GracefulScope::enter();
    if let GatewaySelection::Real(kind) = &args.gateway {
        kind.find_program()
            .with_context(|| format!("--gateway {kind}"))?;
    }
    let t = Duration::from_secs(args.timeout);
    let timeouts = Timeouts {
        connect: t,
        handshake: t,
        response: t,
    };
    let rt = runtime()?;
    let gateway = match (&args.target, &args.pki) {
        (Some(url), Some(dir)) => {
            if let GatewaySelection::Real(kind) = &args.gateway {
                bail!("--target and --gateway {kind} exclude each other");
            }
            let [profile] = args.profile[..] else {
                bail!("--target needs exactly one --profile (whose expectations the target is judged by)");
            };
            let target = rt
                .block_on(preflight(url, dir, profile, timeouts))
                .map_err(naming_the_flag)?;
            GatewaySelection::External(Arc::new(target))
        }
        _ => args.gateway.clone(),
    };
    let mut opts = RunOptions {
        timeouts,
        gateway,
        filter: args::glob_set(&args.filter)?,
        ..Default::default()
    };
    if let Some(c) = args.concurrency {
        opts.concurrency = c;
    }
    if !args.profile.is_empty() {
        opts.profiles = Some(args.profile.clone());
    }
    if !args.tls.is_empty() {
        opts.tls = Some(args.tls.clone());
    }
    // Flags first: a bad flag is reported even when the catalog is missing.
    let scenarios = catalog::load_scenarios(&args.paths)?;
    let selected = execute::select(&scenarios, &opts);
    if selected.is_empty() {
        eprintln!("no scenario selected");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let pkis = execute::generate_pkis(&selected)?;
    let bar = progress_bar(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let report = rt.block_on(execute::run_all(
        &selected,
        &pkis,
        &opts,
        |r, done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(r.scenario.clone());
        },
    ));
    bar.finish_and_clear();
    if let Some(i) = &report.interrupted {
        eprintln!("{i}");
    } else if report.results.is_empty() {
        eprintln!("no case selected (check --profile / --tls)");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let color =
        !args.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = match args.format {
        Format::Table => report.render_table(color && args.output.is_none()),
        Format::Json => serde_json::to_string_pretty(&report.to_json())? + "\n",
        Format::Junit => report.to_junit(),
    };
    match &args.output {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            println!("{}", report.summary());
            if let Some(i) = &report.interrupted {
                println!("PARTIAL REPORT: {i}");
            }
            println!("report written to {}", path.display());
        }
        None => {
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(report.exit_code())
}

/// A preflight error, prefixed with the flag the user should look at.
fn naming_the_flag(e: TargetError) -> anyhow::Error {
    let flag = match &e {
        TargetError::Pki(_) | TargetError::NoRootCa { .. } => "--pki",
        TargetError::WrongPki { .. } => "wrong --pki?",
        _ => "--target",
    };
    anyhow::Error::new(e).context(flag)
}
