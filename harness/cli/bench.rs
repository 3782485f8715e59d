//! `bench`: handshake throughput and CPU against the built-in gateway or
//! real ones with large trust stores, with ratios against the first
//! (baseline) point.

use super::args;
use super::output::{load_runtime, progress_bar, write_or_print};
use anyhow::{bail, Context, Result};
use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use mtls_harness::bench::{sweep, BenchGateway, SweepOptions};
use mtls_harness::exit_codes;
use mtls_harness::interrupt::{CancelToken, GracefulScope};
use mtls_harness::observation::TlsVersion;
use mtls_harness::runner::GatewaySelection;
use std::path::PathBuf;
use std::time::Duration;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchFormat {
    Table,
    Json,
}

/// A tool to compare the harness's load with (`--compare`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareWith {
    /// `openssl s_time -new` against the first point's gateway for the
    /// same time.
    #[value(name = "s_time")]
    STime,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The gateway loaded: the built-in one (in this process), or a real
    /// program started once per point with the point's trust store
    /// rendered into its configuration; its CPU is read from /proc.
    /// Repeatable: one sweep per gateway, one after the other (one line
    /// each in `--plot`).
    #[arg(long, default_value = "builtin", value_parser = args::gateway_selection())]
    pub gateway: Vec<GatewaySelection>,
    /// Also drive the built-in gateway's configuration and the client in
    /// memory (one thread, no sockets) for each point, and show each row's
    /// CPU per handshake as a multiple of it.
    #[arg(long)]
    pub floor: bool,
    /// Also run this load tool against the first point's gateway for the
    /// same time, and show the harness's handshake rate as a multiple of it.
    #[arg(long, value_enum)]
    pub compare: Option<CompareWith>,
    /// Exit 1 when a row's CPU per handshake exceeds R times the first
    /// row's (the cost ratio).
    #[arg(long, value_name = "R", value_parser = positive_ratio)]
    pub max_ratio: Option<f64>,
    /// Also draw handshakes/s against trust-store size into this SVG (one
    /// line per gateway; with `--output`, the table still goes there).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Trust-store sizes to measure; the first is the baseline.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,100,1000,10000",
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000)
    )]
    pub trust_anchors: Vec<usize>,
    /// Send the CA-names list (`on`) or an empty one (`off`).
    #[arg(long, default_value = "on", value_parser = args::on_off(), action = clap::ArgAction::Set)]
    pub ca_names: bool,
    /// The TLS version every handshake uses.
    #[arg(long, default_value = "1.3", value_parser = args::tls_version())]
    pub tls: TlsVersion,
    /// How long each point runs, e.g. 10s, 500ms.
    #[arg(long, default_value = "5s", value_parser = args::duration)]
    pub duration: Duration,
    /// Handshakes in flight at once (one worker each).
    #[arg(
        long,
        default_value_t = 4,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=256)
    )]
    pub concurrency: usize,
    /// A table with a settings line, or JSON with every statistic.
    #[arg(long, value_enum, default_value = "table")]
    pub format: BenchFormat,
    /// Write the result here (whole or not at all) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Load an external gateway (https://host:port) configured with the PKI in
    /// `--pki` instead of the built-in ones: one point, full TCP + TLS
    /// handshakes with a client certificate from that PKI.
    #[arg(long, requires = "pki")]
    pub target: Option<String>,
    /// With `--target`: the directory `pki generate` wrote, which the target
    /// trusts and whose server certificate it presents.
    #[arg(long, requires = "target")]
    pub pki: Option<PathBuf>,
    /// With `--target`: the client certificate to send (default: the PKI's
    /// first client certificate without defects).
    #[arg(long, requires = "target")]
    pub client: Option<String>,
    /// With `--target`: per-stage timeout in seconds for the preflight and
    /// for each handshake.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

pub fn bench(args: BenchArgs) -> Result<i32> {
    if args.target.is_some() {
        // One point against someone else's gateway: nothing to compare rows
        // with, no in-process gateway to take a floor of.
        for (set, flag) in [
            (args.floor, "--floor"),
            (args.plot.is_some(), "--plot"),
            (args.max_ratio.is_some(), "--max-ratio"),
            (
                args.gateway
                    .iter()
                    .any(|g| !matches!(g, GatewaySelection::Builtin)),
                "--gateway",
            ),
        ] {
            if set {
                bail!("{flag} does not apply to --target (one point against an external gateway)");
            }
        }
    }
    if let (Some(url), Some(pki)) = (&args.target, &args.pki) {
        return super::bench_target::bench_target(&args, url, pki);
    }
    // A signal stops the sweep; the points measured are still written.
    let _graceful = GracefulScope::enter();
    let mut gateways = Vec::new();
    for g in &args.gateway {
        gateways.push(match g {
            GatewaySelection::Builtin => BenchGateway::Builtin,
            GatewaySelection::Real(kind) => {
                kind.find_program()
                    .with_context(|| format!("--gateway {kind}"))?;
                BenchGateway::Real(*kind)
            }
            GatewaySelection::External(_) => bail!("--gateway: use --target URL --pki DIR"),
        });
    }
    let rt = load_runtime()?;
    let mut runs = Vec::new();
    for gateway in gateways {
        let opts = SweepOptions {
            gateway,
            floor: args.floor,
            compare_s_time: args.compare == Some(CompareWith::STime),
            cancel: CancelToken::global(),
            trust_anchors: args.trust_anchors.clone(),
            ca_names: args.ca_names,
            tls: args.tls,
            duration: args.duration,
            concurrency: args.concurrency,
        };
        if opts.cancel.is_cancelled() {
            break;
        }
        let bar = progress_bar(1000);
        let shown = bar.clone();
        let run = rt.block_on(sweep(&opts, move |anchors, done| {
            if done == 0.0 {
                shown.set_message(format!("{gateway}: {anchors} trust anchors"));
            }
            shown.set_position((done * 1000.0) as u64);
        }))?;
        bar.finish_and_clear();
        runs.push(run);
    }
    let text = match (args.format, &runs[..]) {
        (BenchFormat::Json, [one]) => serde_json::to_string_pretty(&one.to_json())? + "\n",
        (BenchFormat::Json, many) => {
            let runs: Vec<_> = many.iter().map(|r| r.to_json()).collect();
            serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))? + "\n"
        }
        (BenchFormat::Table, many) => many
            .iter()
            .map(|r| r.render_table())
            .collect::<Vec<_>>()
            .join("\n"),
    };
    write_or_print(args.output.as_deref(), &text)?;
    if let Some(path) = &args.plot {
        super::bench_plot::plot(path, &runs)?;
    }
    Ok(runs
        .iter()
        .map(|r| verdict(r, args.max_ratio))
        .max()
        .unwrap_or(exit_codes::SUCCESS))
}

/// The exit code: 1 when a point measured nothing or a row's cost ratio
/// exceeds `max_ratio` (each named on stderr).
pub fn verdict(run: &mtls_harness::bench::BenchRun, max_ratio: Option<f64>) -> i32 {
    let mut failed = run.any_point_failed();
    if let Some(max) = max_ratio {
        for (anchors, ratio) in run.over_max_ratio(max) {
            eprintln!(
                "FAIL: {anchors} anchors cost {ratio:.2}x the first row's CPU per handshake (--max-ratio {max})"
            );
            failed = true;
        }
    }
    if failed {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    }
}

/// A ratio bound: a finite number above 0.
fn positive_ratio(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err("expected a ratio above 0, e.g. 1.10".into()),
    }
}
