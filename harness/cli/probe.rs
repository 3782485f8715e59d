//! `probe`: does a target ask for a certificate, which CA names does it send,
//! and why yours would not be sent.

use super::args::LogFormat;
use super::output::runtime;
use anyhow::{bail, Context, Result};
use clap::Args;
use mtls_harness::exit_codes;
use mtls_harness::probe::{probe as probe_target, ProbeOptions, TrustStoreSize};
use mtls_harness::tls::client::WalletEntry;
use mtls_harness::tls::Timeouts;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
#[command(after_long_help = exit_code_help())]
pub struct ProbeArgs {
    /// https://host:port
    pub url: String,
    /// Your client certificate (PEM; the chain may follow the leaf).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// A report for people, or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LogFormat,
    /// Per-stage timeout in seconds (connect, handshake, response); the two
    /// TLS versions are probed at once.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Write the probe's connections to FILE as pcapng, with their TLS key
    /// log (Wireshark and tshark decrypt with no set-up).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// The CA certificates (PEM bundle) the target trusts for client
    /// certificates, when you know them: a handshake that breaks where the
    /// CA names were due then says how big that list is.
    #[arg(long, value_name = "FILE")]
    pub trust_store: Option<PathBuf>,
}

/// The exit codes, in `probe --help` and docs/cli.md.
fn exit_code_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, meaning) in exit_codes::PROBE {
        s.push_str(&format!("  {code}  {meaning}\n"));
    }
    s
}

/// The certificate chain and key in the PEM files `--cert` and `--key` name.
fn load_identity(cert: &Path, key: &Path) -> Result<WalletEntry> {
    let chain: Vec<_> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("--cert {}: cannot read", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("--cert {}: not PEM certificates", cert.display()))?;
    if chain.is_empty() {
        bail!("--cert {}: no CERTIFICATE block", cert.display());
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("--key {}: no PEM private key", key.display()))?;
    let name = cert
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cert".into());
    WalletEntry::new(&name, chain, key_der).context("--cert/--key")
}

pub fn probe(args: ProbeArgs) -> Result<i32> {
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(load_identity(cert, key)?),
        _ => None,
    };
    let trust_store = match &args.trust_store {
        Some(path) => Some(TrustStoreSize::from_pem_file(path).context("--trust-store")?),
        None => None,
    };
    let t = Duration::from_secs(args.timeout);
    let opts = ProbeOptions {
        trust_store,
        url: args.url.clone(),
        identity,
        timeouts: Timeouts {
            connect: t,
            handshake: t,
            response: t,
        },
    };
    let sink = mtls_harness::tls::tap::CaptureSink::new();
    let report = runtime()?.block_on(sink.scope(probe_target(&opts)));
    if let Some(path) = &args.capture {
        mtls_harness::capture::write_pcapng(path, &sink.captures()).context("--capture")?;
    }
    let report = report?;
    match args.format {
        LogFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        LogFormat::Text => print!("{}", report.render()),
    }
    Ok(report.exit_code)
}
