//! `bench`'s arguments, apart from the command so that both its ways of
//! running (`bench.rs`: the built-in or real gateways; `bench_target.rs`:
//! `--target`) use them without importing each other.

use super::args;
use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use mtls_harness::observation::TlsVersion;
use mtls_harness::runner::GatewaySelection;
use std::path::PathBuf;
use std::time::Duration;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchFormat {
    Table,
    Json,
}

/// What changes while the load runs (`--during`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuringArg {
    /// The program reloads by its own mechanism, nothing else changes.
    Reload,
    /// The CRL file alternates between one that lists the canary's
    /// certificate and an empty one; then the reload.
    CrlUpdate,
    /// The server certificate and key alternate between two; then the
    /// reload.
    CertRotation,
    /// A second client CA alternates between trusted beside the first (a
    /// rollover's overlap) and removed; the load's clients, of the first,
    /// must lose nothing; then the reload.
    CaRollover,
}

/// A floor to measure each point against (`--floor`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloorKind {
    /// The rustls pair in memory.
    Memory,
    /// A tokio-rustls pair over loopback TCP.
    Tcp,
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
    /// Also measure a floor for each point and show each row's CPU per
    /// handshake as a multiple of it: `memory` (the default of a bare
    /// `--floor`): the built-in gateway's configuration and the client in
    /// memory, one thread, no sockets; `tcp`: a minimal tokio-rustls client
    /// and server pair in this process over loopback TCP, one handshake at
    /// a time (the floor of any harness that uses sockets). Both:
    /// `--floor memory,tcp`.
    #[arg(
        long,
        value_enum,
        num_args = 0..=1,
        default_missing_value = "memory",
        value_delimiter = ','
    )]
    pub floor: Vec<FloorKind>,
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
    /// Load one gateway (the built-in one, whose reload swaps in a
    /// configuration built from the files, or `--gateway
    /// real:nginx|real:apache|real:haproxy|real:caddy`; one trust anchor)
    /// while this changes every `--every`: each change's time to effect
    /// (seen by a canary handshake every 20 ms), the failed handshakes
    /// until the next change, the requests that failed on established
    /// keep-alive connections (two, a request every 10 ms each), and for
    /// `cert-rotation` the stale certificates served after it.
    #[arg(long, value_enum)]
    pub during: Option<DuringArg>,
    /// With `--during`: how often the change is made, e.g. 2s.
    #[arg(long, default_value = "2s", value_parser = args::duration, requires = "during")]
    pub every: Duration,
    /// With `--during crl-update|cert-rotation|ca-rollover`: replace the
    /// files and do not tell the program (no signal, no runtime or admin
    /// API): whether it picks the change up on its own.
    #[arg(long, requires = "during")]
    pub no_reload: bool,
    /// With `--target`: per-stage timeout in seconds for the preflight and
    /// for each handshake.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// A ratio bound that is not a finite number above 0.
#[derive(Debug, thiserror::Error)]
#[error("expected a ratio above 0, e.g. 1.10")]
struct NotARatio;

/// A ratio bound: a finite number above 0.
fn positive_ratio(raw: &str) -> Result<f64, NotARatio> {
    match raw.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(NotARatio),
    }
}
