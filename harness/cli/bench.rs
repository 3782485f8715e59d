//! `bench`: handshake throughput against built-in gateways with large trust
//! stores, with ratios against the first (baseline) point.

use super::args;
use super::output::{progress_bar, runtime, write_or_print};
use anyhow::Result;
use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use mtls_harness::bench::{sweep, SweepOptions};
use mtls_harness::exit_codes;
use mtls_harness::interrupt::{CancelToken, GracefulScope};
use mtls_harness::observation::TlsVersion;
use std::path::PathBuf;
use std::time::Duration;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
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
    if let (Some(url), Some(pki)) = (&args.target, &args.pki) {
        return super::bench_target::bench_target(&args, url, pki);
    }
    // A signal stops the sweep; the points measured are still written.
    let _graceful = GracefulScope::enter();
    let opts = SweepOptions {
        cancel: CancelToken::global(),
        trust_anchors: args.trust_anchors,
        ca_names: args.ca_names,
        tls: args.tls,
        duration: args.duration,
        concurrency: args.concurrency,
    };
    let bar = progress_bar(1000);
    let shown = bar.clone();
    let run = runtime()?.block_on(sweep(&opts, move |anchors, done| {
        if done == 0.0 {
            shown.set_message(format!("{anchors} trust anchors"));
        }
        shown.set_position((done * 1000.0) as u64);
    }))?;
    bar.finish_and_clear();
    let text = match args.format {
        BenchFormat::Json => serde_json::to_string_pretty(&run.to_json())? + "\n",
        BenchFormat::Table => run.render_table(),
    };
    write_or_print(args.output.as_deref(), &text)?;
    Ok(if run.any_point_failed() {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    })
}
