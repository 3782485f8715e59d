//! `bench`: handshake throughput and CPU against the built-in gateway or
//! real ones with large trust stores, with ratios against the first
//! (baseline) point.

use super::bench_args::{BenchArgs, BenchFormat, CompareWith, DuringArg, FloorKind};
use super::output::{load_runtime, progress_bar, write_or_print};
use anyhow::{bail, Context, Result};
use mtls_harness::bench::{sweep, BenchGateway, SweepOptions};
use mtls_harness::exit_codes;
use mtls_harness::interrupt::{CancelToken, GracefulScope};
use mtls_harness::runner::GatewaySelection;

pub fn bench(args: BenchArgs) -> Result<i32> {
    if args.target.is_some() {
        // One point against someone else's gateway: nothing to compare rows
        // with, no in-process gateway to take a floor of.
        for (set, flag) in [
            (!args.floor.is_empty(), "--floor"),
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
    if let Some(change) = args.during {
        return during(&args, change);
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
            floor: args.floor.contains(&FloorKind::Memory),
            tcp_floor: args.floor.contains(&FloorKind::Tcp),
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

/// `bench --during CHANGE --gateway real:X`.
fn during(args: &BenchArgs, change: DuringArg) -> Result<i32> {
    use mtls_harness::bench::during::{During, DuringGateway, DuringOptions};
    for (set, flag) in [
        (!args.floor.is_empty(), "--floor"),
        (args.compare.is_some(), "--compare"),
        (args.max_ratio.is_some(), "--max-ratio"),
    ] {
        if set {
            bail!("{flag} does not apply to --during (one gateway, one trust anchor, changes over time)");
        }
    }
    let kind = match args.gateway[..] {
        [GatewaySelection::Builtin] => DuringGateway::Builtin,
        [GatewaySelection::Real(kind)] => {
            kind.find_program()
                .with_context(|| format!("--gateway {kind}"))?;
            DuringGateway::Real(kind)
        }
        _ => bail!("--during takes one --gateway: builtin, real:nginx, real:apache, real:haproxy or real:caddy"),
    };
    if args.every >= args.duration {
        bail!(
            "--every {:?} is not shorter than --duration {:?}: no change would be made",
            args.every,
            args.duration
        );
    }
    let opts = DuringOptions {
        gateway: kind,
        change: match change {
            DuringArg::Reload => During::Reload,
            DuringArg::CrlUpdate => During::CrlUpdate,
            DuringArg::CertRotation => During::CertRotation,
            DuringArg::CaRollover => During::CaRollover,
        },
        every: args.every,
        duration: args.duration,
        concurrency: args.concurrency,
        tls: args.tls,
        reload: !args.no_reload,
    };
    let rt = load_runtime()?;
    let bar = progress_bar(1000);
    bar.set_message(format!(
        "{kind}: {} every {:?}",
        opts.change.name(),
        opts.every
    ));
    let shown = bar.clone();
    let run = rt.block_on(mtls_harness::bench::during::during(&opts, move |done| {
        shown.set_position((done * 1000.0) as u64);
    }))?;
    bar.finish_and_clear();
    let text = match args.format {
        BenchFormat::Json => serde_json::to_string_pretty(&run)? + "\n",
        BenchFormat::Table => run.render_table(),
    };
    write_or_print(args.output.as_deref(), &text)?;
    if let Some(path) = &args.plot {
        super::bench_plot::plot_during(path, &run)?;
    }
    Ok(if run.stats.handshakes == 0 {
        eprintln!("FAIL: no handshake completed during the run");
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    })
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
