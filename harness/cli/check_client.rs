//! `check-client`: is your own client credential one a client would load
//! and send, and the server accept?

use super::args::LogFormat;
use super::output::runtime;
use anyhow::{Context, Result};
use clap::Args;
use mtls_harness::credential::{self, CheckInputs, CredentialError};
use mtls_harness::exit_codes;
use mtls_harness::probe::{probe as probe_target, ProbeOptions};
use mtls_harness::tls::client::WalletEntry;
use mtls_harness::tls::Timeouts;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
#[command(after_long_help = exit_code_help())]
pub struct CheckClientArgs {
    /// The client certificate: a PEM certificate or chain (the key may
    /// follow in the same file), or a PKCS#12 file (.p12/.pfx) holding
    /// certificate, chain and key.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The private key, when not in `--cert`: PEM, PKCS#8 (encrypted or
    /// not), PKCS#1 or SEC1.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The environment variable holding the password of an encrypted key or
    /// a PKCS#12 file (never on the command line: it would show in `ps`).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Also probe this target (https://host:port[/path]) with the
    /// credential: would clients send it (its CA names), does it accept it.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// A policy file (docs/policy-format.md): the subject and SANs must be
    /// one of its identities.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// A CRL (PEM or DER) to look the chain's serial numbers up in.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// CA certificates (PEM) where the chain's issuers may be found, to
    /// tell an intermediate left out of the file from a root (the PEM files
    /// beside `--cert` are read too).
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// A report for people, or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LogFormat,
    /// Per-stage timeout in seconds: `--target`'s probe, and the CRL and
    /// OCSP URLs of the certificates that are on loopback (no other host
    /// is contacted).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// The exit codes, in `check-client --help` and docs/cli.md.
fn exit_code_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, meaning) in exit_codes::CHECK_CLIENT {
        s.push_str(&format!("  {code}  {meaning}\n"));
    }
    s
}

fn crls(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Vec<u8>)>, CredentialError> {
    let mut out = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| CredentialError::Crl {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let ders: Vec<Vec<u8>> = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            CertificateRevocationListDer::pem_slice_iter(&bytes)
                .map(|c| c.map(|c| c.as_ref().to_vec()))
                .collect::<Result<_, _>>()
                .map_err(|e| CredentialError::Crl {
                    path: path.clone(),
                    reason: format!("not a PEM CRL: {e}"),
                })?
        } else {
            vec![bytes]
        };
        if ders.is_empty() {
            return Err(CredentialError::Crl {
                path: path.clone(),
                reason: "no X509 CRL block".into(),
            });
        }
        for der in ders {
            x509_parser::parse_x509_crl(&der).map_err(|e| CredentialError::Crl {
                path: path.clone(),
                reason: format!("not a CRL: {e}"),
            })?;
            out.push((path.clone(), der));
        }
    }
    Ok(out)
}

fn issuers(ca: &[PathBuf], cert: &Path) -> Result<Vec<CertificateDer<'static>>, CredentialError> {
    let mut out = credential::check::certificates_beside(cert);
    for path in ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|i| i.collect::<Result<_, _>>())
            .map_err(|e| CredentialError::Ca {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        out.extend(certs);
    }
    Ok(out)
}

pub fn check_client(args: CheckClientArgs) -> Result<i32> {
    let password = credential::read::password_from_env(args.password_env.as_deref())?;
    let cred = credential::read_credential(&args.cert, args.key.as_deref(), password.as_deref())?;
    let mut inputs = CheckInputs::new(crls(&args.crl)?, issuers(&args.ca, &args.cert)?);
    let mut report = credential::report(&cred, &inputs);
    // Revocation where the certificates say, on loopback only.
    let online = credential::online::ask(
        &cred,
        report.leaf,
        &inputs.issuers,
        Duration::from_secs(args.timeout),
    );
    if !online.crls.is_empty() {
        inputs.crls.extend(online.crls);
        report = credential::report(&cred, &inputs);
    }
    report.findings.extend(online.findings);
    report.notes.extend(online.notes);
    if let Some(path) = &args.policy {
        let policy = mtls_harness::policy::Policy::load(path)
            .map_err(|e| CredentialError::Policy(e.to_string()))?;
        let leaf = report.leaf_subject().unwrap_or_default();
        report
            .findings
            .extend(credential::policy_findings(&cred, &leaf, &policy));
    }
    if let Some(url) = &args.target {
        let key = cred.key.as_ref().map(|k| k.clone_key()).ok_or_else(|| {
            CredentialError::Target("the credential has no usable key to probe with".into())
        })?;
        let identity = WalletEntry::new(
            &report.leaf_subject().unwrap_or_default(),
            credential::leaf_first(&cred, report.leaf),
            key,
        )
        .map_err(|e| CredentialError::Target(e.to_string()))?;
        let t = Duration::from_secs(args.timeout);
        let opts = ProbeOptions {
            url: url.clone(),
            identity: Some(identity),
            timeouts: Timeouts {
                connect: t,
                handshake: t,
                response: t,
            },
            trust_store: None,
        };
        let probed = runtime()?
            .block_on(probe_target(&opts))
            .map_err(|e| CredentialError::Target(e.to_string()))?;
        if probed.exit_code == exit_codes::PROBE_BROKEN {
            return Err(CredentialError::Target(format!("{url}: {}", probed.cause)).into());
        }
        report.findings.extend(credential::target_findings(&probed));
    }
    match args.format {
        LogFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).context("the report")?
        ),
        LogFormat::Text => print!("{}", report.render()),
    }
    Ok(report.exit_code())
}
