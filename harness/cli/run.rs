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
use mtls_harness::runner::captures::CaptureOptions;
use mtls_harness::runner::target::{self as verdicts, preflight, TargetError};
use mtls_harness::runner::{execute, html, trace, ClientSelection, GatewaySelection, RunOptions};
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
    /// One self-contained page: the verdict matrix, each case's details, the
    /// fidelity table.
    Html,
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
    /// The report: a table for people, JSON or JUnit XML for tools, or an
    /// HTML page.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report here instead of stdout (table still prints a summary).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Where the cases run: the built-in profiles, or a real gateway process
    /// per case judged by the expectations of the profile it models.
    #[arg(long, default_value = "builtin", value_parser = args::gateway_selection())]
    pub gateway: GatewaySelection,
    /// Who makes the request: the built-in client, or a real client program
    /// against the built-in gateways; a real client runs only the scenarios
    /// whose `[client] selection` is the policy it follows (the others are
    /// SKIP with the reason; see docs/clients.md). With `--gateway
    /// real:apache` it runs the scenarios that ask for the certificate after
    /// the request, where it answers as the scenario's client does
    /// (docs/after-request.md).
    #[arg(long, default_value = "builtin", value_parser = args::client_selection())]
    pub client: ClientSelection,
    /// The middlebox of the scenarios that have one (`[middlebox]`): the
    /// built-in one, or a real program per case in front of the gateway
    /// (composable with `--gateway real:*`); a scenario whose middlebox the
    /// program cannot be is SKIP with the reason.
    #[arg(long, default_value = "builtin", value_parser = args::middlebox_selection())]
    pub middlebox: args::MiddleboxChoice,
    /// An external gateway (https://host:port) configured with the PKI in
    /// `--pki`; judged by the expectations of the single `--profile`.
    #[arg(long, requires = "pki")]
    pub target: Option<String>,
    /// With `--target`: the directory `pki generate` wrote, which the target
    /// trusts and whose server certificate it presents.
    #[arg(long, requires = "target")]
    pub pki: Option<PathBuf>,
    /// Your own gateway configuration (with `--gateway real:nginx`,
    /// `real:haproxy` or `real:apache`), with the files it includes: every
    /// directive kept; listen addresses (one loopback port per port),
    /// certificate/CA/CRL paths, pid, log and socket files and upstreams
    /// rewritten onto a fresh PKI, the run's directory and the harness's
    /// origin (each rewrite printed); the real program is started and the
    /// applicable scenarios run as with `--target` against its first TLS
    /// listener. With `real:haproxy`, repeat it (or name a directory: its
    /// `*.cfg` files in name order) as `haproxy -f` takes several.
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    pub gateway_config: Vec<PathBuf>,
    /// The directory that stands for the program's configuration directory
    /// (`/etc/nginx`, `/etc/haproxy`, `/etc/apache2`) for `--gateway-config`:
    /// an included path is looked up under it first, then on the machine
    /// [default: the directory of FILE]
    #[arg(long, value_name = "DIR", requires = "gateway_config")]
    pub config_root: Option<PathBuf>,
    /// How `--gateway-config` runs: in network and mount namespaces of the
    /// harness's own, every address, path and upstream kept as written (the
    /// default where the machine allows it: root), or rewritten onto
    /// loopback ports, the PKI and the run's directory
    #[arg(long, value_enum, default_value = "auto", requires = "gateway_config")]
    pub isolate: super::gateway_under_test::Isolate,
    /// What the configuration must do, route by route, for your clients
    /// (docs/policy-format.md), instead of the catalog: every TLS listener
    /// × route × TLS version × kind of client, each deviation one line.
    /// Exit 0 without a deviation, 1 with one, 2 when the config cannot
    /// start, the policy is bad, or no case ran.
    #[arg(long, value_name = "FILE", requires = "gateway_config")]
    pub policy: Option<PathBuf>,
    /// The profile mode the target (or `--gateway-config`) is configured
    /// with, e.g. `--profile nginx --mode optional`: its cases are judged by
    /// that mode's scenarios, and scenarios of another mode are not run
    /// (without it, the mode is told from the target's answers).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Cases in flight at once [default: 8 a core in process, 4 a core
    /// with a real gateway or client]
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub concurrency: Option<usize>,
    /// Per-stage timeout in seconds (connect, handshake, response).
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Never use colours.
    #[arg(long)]
    pub no_color: bool,
    /// Print each case's handshake transcript (the messages on the wire,
    /// decrypted with the client's keys) and gateway log after the report.
    #[arg(long)]
    pub trace: bool,
    /// Write one pcapng per case into DIR: the client's TCP connections
    /// with their TLS key log (Wireshark and tshark decrypt with no set-up).
    #[arg(long, value_name = "DIR")]
    pub capture: Option<PathBuf>,
    /// With `--capture`: only cases that failed or hung.
    #[arg(long, requires = "capture")]
    pub capture_failed: bool,
    /// With `--format html`: the fidelity page to show (Markdown written by
    /// `mtls-harness fidelity`); default: the one committed for the
    /// built-in catalog (docs/fidelity.md).
    #[arg(long, value_name = "FILE")]
    pub fidelity: Option<PathBuf>,
    /// List every scenario and profile not run, not only a count per reason.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Only shard K of N (e.g. 2/3): a stable split of the cases by name,
    /// for several CI machines; `report merge` joins their reports.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<mtls_harness::runner::shard::Shard>,
}

pub fn run(args: RunArgs) -> Result<i32> {
    // A signal stops the run; the cases that finished are still reported.
    let _graceful = GracefulScope::enter();
    if let GatewaySelection::Real(kind) = &args.gateway {
        kind.find_program()
            .with_context(|| format!("--gateway {kind}"))?;
    }
    if let args::MiddleboxChoice(Some(mb)) = &args.middlebox {
        mb.find_program()
            .with_context(|| format!("--middlebox {mb}"))?;
    }
    let t = Duration::from_secs(args.timeout);
    let timeouts = Timeouts {
        connect: t,
        handshake: t,
        response: t,
    };
    if args.mode.is_some() && args.target.is_none() && args.gateway_config.is_empty() {
        bail!("--mode says how a --target or --gateway-config is configured; the built-in gateways take their mode from each scenario");
    }
    let rt = runtime()?;
    let config_files = config_files(&args)?;
    if let (Some(policy), Some((file, also))) = (&args.policy, &config_files) {
        return run_policy(&args, policy, file, also, timeouts, &rt);
    }
    // Kept alive for the whole run; dropping it stops the gateway.
    let mut _own_gateway = None;
    let gateway = if let Some((file, also)) = &config_files {
        let GatewaySelection::Real(kind) = &args.gateway else {
            bail!("--gateway-config needs --gateway real:nginx, real:haproxy or real:apache");
        };
        let file = file.as_path();
        let profile = match args.profile[..] {
            [p] => p,
            [] => kind.profile(),
            _ => bail!("--gateway-config takes at most one --profile"),
        };
        let mode = declared_mode(profile, args.mode.as_deref())?;
        let started = super::gateway_under_test::start(
            *kind,
            file,
            also,
            args.config_root.as_deref(),
            args.isolate,
        )?;
        if let Some(output) = &args.output {
            let kept = started.keep_beside(output)?;
            eprintln!("the rewritten tree is kept in {}", kept.display());
        }
        let mut target = rt
            .block_on(preflight(&started.url, &started.pki_dir, profile, timeouts))
            .map_err(|e| naming_the_flag(e, Flag::GatewayConfig(file)))?;
        target.facts.declared_mode = mode;
        _own_gateway = Some(started);
        GatewaySelection::External(Arc::new(target))
    } else {
        match (&args.target, &args.pki) {
            (Some(url), Some(dir)) => {
                if let GatewaySelection::Real(kind) = &args.gateway {
                    bail!("--target and --gateway {kind} exclude each other");
                }
                let [profile] = args.profile[..] else {
                    bail!("--target needs exactly one --profile (whose expectations the target is judged by)");
                };
                let mode = declared_mode(profile, args.mode.as_deref())?;
                let mut target = rt
                    .block_on(preflight(url, dir, profile, timeouts))
                    .map_err(|e| naming_the_flag(e, Flag::Target))?;
                target.facts.declared_mode = mode;
                GatewaySelection::External(Arc::new(target))
            }
            _ => args.gateway.clone(),
        }
    };
    let mut opts = RunOptions {
        timeouts,
        gateway,
        client: args.client,
        filter: args::glob_set(&args.filter)?,
        middlebox: args.middlebox.0,
        ..Default::default()
    };
    opts.concurrency = args
        .concurrency
        .unwrap_or_else(|| execute::default_concurrency_for(&opts.gateway, opts.client));
    opts.shard = args.shard;
    if let GatewaySelection::External(t) = &opts.gateway {
        opts.profiles = Some(vec![t.profile]);
    } else if !args.profile.is_empty() {
        opts.profiles = Some(args.profile.clone());
    }
    if !args.tls.is_empty() {
        opts.tls = Some(args.tls.clone());
    }
    if let Some(dir) = &args.capture {
        let capture = CaptureOptions::new(dir.clone(), args.capture_failed);
        capture.create_dir().context("--capture")?;
        opts.capture = Some(capture);
    }
    // Only the JSON and HTML reports, `--trace` and a target's verdicts read
    // observations after the run: otherwise each finished case is kept as
    // its one-line summary.
    opts.keep_observations = matches!(args.format, Format::Json | Format::Html)
        || args.trace
        || matches!(opts.gateway, GatewaySelection::External(_));
    // Flags first: a bad flag is reported even when the catalog is missing.
    let scenarios = catalog::load_scenarios(&args.paths)?;
    let selected = execute::select(&scenarios, &opts);
    if selected.is_empty() {
        eprintln!("no scenario selected");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let bar = progress_bar(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let report = rt.block_on(execute::run_catalog(&selected, &opts, |r, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(r.scenario.clone());
    }));
    bar.finish_and_clear();
    let report = report?;
    if let Some(i) = &report.interrupted {
        eprintln!("{i}");
    } else if report.results.is_empty() && args.shard.is_none() {
        eprintln!("no case selected (check --profile / --tls)");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let color =
        !args.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let target_facts = match &opts.gateway {
        GatewaySelection::External(t) => Some((t.facts.clone(), t.profile)),
        _ => None,
    };
    let behaviours = target_facts
        .as_ref()
        .map(|(facts, _)| verdicts::behaviours(&report, facts));
    let mut text = match args.format {
        Format::Table => {
            let mut text = String::new();
            if let (Some((facts, profile)), Some(b)) = (&target_facts, &behaviours) {
                text.push_str(&verdicts::render_facts(facts));
                text.push_str(&verdicts::render(b, profile.name()));
                text.push('\n');
            }
            text + &report.render_table_with(color && args.output.is_none(), args.verbose)
        }
        Format::Json => {
            let mut json = report.to_json();
            if let (Some(b), Some(obj)) = (&behaviours, json.as_object_mut()) {
                obj.insert("behaviours".into(), serde_json::to_value(b)?);
            }
            if let Some(capture) = &opts.capture {
                with_capture_paths(&mut json, capture);
            }
            serde_json::to_string_pretty(&json)? + "\n"
        }
        Format::Junit => report.to_junit(),
        Format::Html => {
            let (markdown, source) = match &args.fidelity {
                Some(path) => (
                    std::fs::read_to_string(path)
                        .with_context(|| format!("--fidelity {}", path.display()))?,
                    format!("fidelity table from {}", path.display()),
                ),
                None => (
                    html::BUILTIN_FIDELITY_MARKDOWN.to_string(),
                    "fidelity table of the built-in catalog as committed in docs/fidelity.md (tests/fidelity.rs keeps it current against real nginx, HAProxy, Apache and openssl)".to_string(),
                ),
            };
            let page_dir = args
                .output
                .as_deref()
                .map(|p| p.parent().unwrap_or(std::path::Path::new(".")))
                .unwrap_or(std::path::Path::new("."));
            html::render_html(&html::HtmlReport {
                report: &report,
                scenarios: &selected,
                captures: opts.capture.as_ref(),
                page_dir: Some(page_dir),
                fidelity_markdown: &markdown,
                fidelity_source: source,
            })
        }
    };
    if args.trace {
        let traces = trace::render_traces(&report);
        if args.format == Format::Table {
            text.push('\n');
            text.push_str(&traces);
        } else {
            eprint!("{traces}");
        }
    }
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
    if let Some(capture) = &opts.capture {
        let written = capture.written.lock().expect("captures lock").len();
        eprintln!("{written} captures written to {}", capture.dir.display());
        let errors = capture.errors.lock().expect("captures lock").clone();
        if !errors.is_empty() {
            bail!("--capture: {}", errors.join("; "));
        }
    }
    Ok(report.exit_code())
}

/// Each JSON result gets `"capture": "<file>"` where one was written.
fn with_capture_paths(json: &mut serde_json::Value, capture: &CaptureOptions) {
    let Some(results) = json["results"].as_array_mut() else {
        return;
    };
    for r in results {
        let name = format!(
            "{} [{} TLS{}]",
            r["scenario"].as_str().unwrap_or_default(),
            r["profile"].as_str().unwrap_or_default(),
            r["tls"].as_str().unwrap_or_default()
        );
        if let (Some(path), Some(obj)) = (capture.file_for(&name), r.as_object_mut()) {
            obj.insert(
                "capture".into(),
                serde_json::Value::String(path.display().to_string()),
            );
        }
    }
}

/// Which option brought the target in.
enum Flag<'a> {
    Target,
    /// The harness wrote the PKI and started the program: a wrong PKI or an
    /// unanswered handshake is the user's configuration.
    GatewayConfig(&'a std::path::Path),
}

/// A preflight error, prefixed with the option the user should look at.
fn naming_the_flag(e: TargetError, used: Flag<'_>) -> anyhow::Error {
    let flag = match (&used, &e) {
        (Flag::GatewayConfig(file), _) => format!("--gateway-config {}", file.display()),
        (Flag::Target, TargetError::Pki(_) | TargetError::NoRootCa { .. }) => "--pki".into(),
        (Flag::Target, TargetError::WrongPki { .. }) => "wrong --pki?".into(),
        (Flag::Target, _) => "--target".into(),
    };
    anyhow::Error::new(e).context(flag)
}

/// The `--gateway-config` files: the first, and (HAProxy) the others in
/// the order `haproxy -f` reads them, a directory standing for its `*.cfg`
/// files in name order.
fn config_files(args: &RunArgs) -> Result<Option<(PathBuf, Vec<PathBuf>)>> {
    if args.gateway_config.is_empty() {
        return Ok(None);
    }
    let haproxy = matches!(
        args.gateway,
        GatewaySelection::Real(mtls_harness::real::RealKind::Haproxy)
    );
    let mut files = Vec::new();
    for path in &args.gateway_config {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        if !haproxy {
            bail!(
                "--gateway-config {}: a directory (only HAProxy reads a directory of *.cfg files); name the main file",
                path.display()
            );
        }
        let mut cfgs: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("--gateway-config {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "cfg"))
            .collect();
        cfgs.sort();
        if cfgs.is_empty() {
            bail!("--gateway-config {}: no *.cfg file in it", path.display());
        }
        files.extend(cfgs);
    }
    if files.len() > 1 && !haproxy {
        bail!("--gateway-config is given {} times: only HAProxy takes several files (-f); nginx and Apache follow their main file's includes", files.len());
    }
    let first = files.remove(0);
    Ok(Some((first, files)))
}

/// `run --gateway-config FILE --policy POLICY`.
fn run_policy(
    args: &RunArgs,
    policy_file: &std::path::Path,
    file: &std::path::Path,
    also: &[PathBuf],
    timeouts: Timeouts,
    rt: &tokio::runtime::Runtime,
) -> Result<i32> {
    use mtls_harness::policy::Policy;
    use mtls_harness::runner::policy::{
        policy_pki, run_policy, write_gateway_files, ConfigFacts, PolicyListener,
    };
    let GatewaySelection::Real(kind) = &args.gateway else {
        bail!("--gateway-config needs --gateway real:nginx, real:haproxy or real:apache");
    };
    let policy = Policy::load(policy_file).context("--policy")?;
    let pki = policy_pki(&policy).context("--policy: the identities' certificates")?;
    let routes: Vec<String> = policy.route.iter().map(|r| r.path.clone()).collect();
    let started = super::gateway_under_test::start_with(
        *kind,
        file,
        also,
        args.config_root.as_deref(),
        &routes,
        args.isolate,
        |dir| write_gateway_files(&pki, dir).context("the policy's PKI"),
    )?;
    if let Some(output) = &args.output {
        let kept = started.keep_beside(output)?;
        eprintln!("the rewritten tree is kept in {}", kept.display());
    }
    // One socket, one listener: a port two server blocks share is tested once.
    let mut listeners: Vec<PolicyListener> = Vec::new();
    for l in &started.tls_listeners {
        if !listeners.iter().any(|p| p.addr == l.addr) {
            listeners.push(PolicyListener {
                name: l.original.clone(),
                addr: l.addr,
            });
        }
    }
    let report = rt
        .block_on(run_policy(
            &policy,
            &pki,
            &listeners,
            &started.origin,
            ConfigFacts::new(started.loads_crl)
                .with_after_request(started.prepared.after_request.clone()),
            timeouts,
        ))
        .context("--policy")?;
    let configuration = started.json();
    drop(started);
    let text = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(
                &serde_json::json!({ "policy": report, "configuration": configuration }),
            )? + "\n"
        }
        _ => report.render(),
    };
    super::output::write_or_print(args.output.as_deref(), &text)?;
    if report.cases == 0 {
        eprintln!("error: --policy {}: no case ran", policy_file.display());
    }
    Ok(report.exit_code())
}

/// `--mode` checked against `profile`'s modes.
fn declared_mode(profile: ProfileKind, mode: Option<&str>) -> Result<Option<&'static str>> {
    let Some(mode) = mode else {
        return Ok(None);
    };
    match profile.modes().iter().find(|m| **m == mode) {
        Some(m) => Ok(Some(m)),
        None if profile.modes().is_empty() => {
            bail!("--mode {mode}: the {profile} profile has no modes")
        }
        None => bail!(
            "--mode {mode}: not a mode of the {profile} profile (one of: {})",
            profile.modes().join(", ")
        ),
    }
}
