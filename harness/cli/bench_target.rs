//! `bench --target URL --pki DIR`: the load generator against a gateway
//! someone else runs, after the same preflight as `run --target` (an
//! unreachable, silent or non-TLS target is named, exit 2, before any load)
//! and one request with the load's certificate (a target that refuses it is
//! named, exit 2: on TLS 1.3 a load would count refused handshakes as done).

use super::bench_args::{BenchArgs, BenchFormat, CompareWith};
use super::output::{load_runtime, progress_bar, write_or_print};
use anyhow::{bail, Context, Result};
use mtls_harness::bench::load;
use mtls_harness::exit_codes;
use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::Side;
use mtls_harness::pki::Role;
use mtls_harness::runner::target::preflight;
use mtls_harness::scenario::schema::SelectionPolicy;
use mtls_harness::tls::client::{ClientKind, ClientSpec, WalletEntry};
use mtls_harness::tls::Timeouts;
use std::path::Path;
use std::time::Duration;

pub fn bench_target(args: &BenchArgs, url: &str, pki_dir: &Path) -> Result<i32> {
    let t = Duration::from_secs(args.timeout);
    let timeouts = Timeouts {
        connect: t,
        handshake: t,
        response: t,
    };
    let rt = load_runtime()?;
    // The profile only matters to scenarios; the preflight checks reachability
    // and the PKI.
    let target = rt
        .block_on(preflight(url, pki_dir, ProfileKind::Strict, timeouts))
        .context("--target")?;
    let pki = &target.pki;
    let cert = match &args.client {
        Some(name) => pki.cert(name).context("--client")?,
        None => match pki
            .certs()
            .iter()
            .find(|c| c.role == Role::Client && c.defects.is_empty() && c.bulk.is_none())
        {
            Some(c) => c,
            None => bail!(
                "--pki {}: no client certificate without defects (name one with --client)",
                pki_dir.display()
            ),
        },
    };
    let wallet = WalletEntry::from_issued(cert, true).context("--client")?;
    let roots = pki
        .certs()
        .iter()
        .filter(|c| c.issuer.is_none() && c.role.is_ca())
        .map(|c| c.der.clone())
        .collect();
    let client = ClientSpec {
        wallet: vec![wallet],
        selection: SelectionPolicy::Always,
        server_roots: roots,
        versions: vec![args.tls],
        server_name: target.server_name.clone(),
        timeouts,
        kind: ClientKind::Raw,
        headers: Vec::new(),
        via_tunnel: None,
        accept_any_server_cert: false,
        request_path: "/".into(),
    };
    // One request first: on TLS 1.3 the client's side of a handshake is
    // complete before the server has looked at the certificate, so against
    // a target that refuses it every handshake of the load would count as
    // done. A refusal is a setup error, named before any load.
    let first = rt.block_on(client.exchange(target.addr));
    if let Some(alert) = first.alert.as_ref().filter(|a| a.sent_by == Side::Server) {
        bail!(
            "{url} refuses client certificate `{}` on TLS {}: alert {} from the server. \
             A load of refused handshakes measures nothing; name one it trusts with --client",
            cert.name,
            args.tls,
            alert.description
        );
    }
    let bar = progress_bar(1000);
    let shown = bar.clone();
    let stats = rt.block_on(load(
        target.addr,
        &client,
        args.duration,
        args.concurrency,
        None,
        move |done| shown.set_position((done * 1000.0) as u64),
    ))?;
    let compared = match args.compare {
        Some(CompareWith::STime) => Some(rt.block_on(mtls_harness::bench::s_time::s_time(
            target.addr,
            args.tls,
            &cert.chain_pem(),
            &cert.key_pem(),
            args.duration,
            0,
        ))?),
        None => None,
    };
    let s_time_line = compared
        .map(|s| {
            format!(
                "\nopenssl s_time: {:.1} handshakes/s ({} in {:.1} s); the harness's load is {:.2}x\n",
                s.handshakes_per_s,
                s.connections,
                s.wall_s,
                stats.handshakes_per_s / s.handshakes_per_s.max(f64::MIN_POSITIVE)
            )
        })
        .unwrap_or_default();
    bar.finish_and_clear();
    let text = match args.format {
        BenchFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "target": url,
                "tls": args.tls.as_str(),
                "client": cert.name,
                "duration_s": args.duration.as_secs_f64(),
                "concurrency": args.concurrency,
                "stats": stats,
                "s_time": compared,
            }))? + "\n"
        }
        BenchFormat::Table => format!(
            "bench {url}: TLS {}, client {}, {:?} per point, concurrency {}\n\n\
             | handshakes/s | p50 ms | p90 ms | p99 ms | CPU us/handshake | handshakes | errors |\n\
             |---:|---:|---:|---:|---:|---:|---:|\n\
             | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {} | {} |\n{}{}{}",
            args.tls,
            cert.name,
            args.duration,
            args.concurrency,
            stats.handshakes_per_s,
            stats.p50_ms,
            stats.p90_ms,
            stats.p99_ms,
            stats.cpu_us_per_handshake,
            stats.handshakes,
            stats.errors,
            stats
                .first_error
                .as_deref()
                .map(|e| format!("\nfirst error: {e}\n"))
                .unwrap_or_default(),
            if stats.errors_by_kind.is_empty() {
                String::new()
            } else {
                format!("errors by kind: {:?}\n", stats.errors_by_kind)
            },
            s_time_line
        ),
    };
    write_or_print(args.output.as_deref(), &text)?;
    Ok(if stats.handshakes == 0 {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    })
}
