//! Command-line interface (clap). Handlers return the process exit code;
//! errors become exit code 2 in `main`.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use mtls_harness::exit_codes;
use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::TlsVersion;
use mtls_harness::pki::Pki;
use mtls_harness::runner::{execute, GatewaySelection, RunOptions};
use mtls_harness::scenario::schema::{CaNamesPolicy, ClientAuth, ServerSpec};
use mtls_harness::scenario::{load_catalog, Scenario};
use mtls_harness::tls::Timeouts;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "mtls-harness",
    version,
    about = "Test harness and conformance suite for mutual TLS (client-certificate) authentication"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the scenario catalog against the built-in gateways.
    Run(RunArgs),
    /// List scenario ids with their descriptions.
    List {
        /// Catalog directory (default: ./scenarios).
        dir: Option<PathBuf>,
    },
    /// Show a scenario, its PKI and what each profile is expected to do.
    Explain {
        /// Scenario id, e.g. `seeds::flagged_ca_names_401`.
        id: String,
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// PKI tools.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Run one built-in gateway for your own client to connect to.
    Serve(ServeArgs),
    /// Write the config (and PKI files) a real gateway gets for a scenario:
    /// what `run --gateway real:X` starts, for you to diff against yours.
    GatewayConfig(GatewayConfigArgs),
    /// Diagnose a target: does it ask for a certificate, which CA names, why
    /// yours would not be sent.
    Probe(ProbeArgs),
    /// Handshake throughput against built-in gateways with large trust
    /// stores, with ratios against the first (baseline) point.
    Bench(BenchArgs),
    /// Run each scenario on the built-in profile and on the real gateway it
    /// models (nginx, haproxy, apache2, openssl s_server) and tabulate agreement.
    Fidelity(FidelityArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FidelityFormat {
    Markdown,
    Json,
}

#[derive(Args, Debug)]
pub struct FidelityArgs {
    /// Catalog directory (default: ./scenarios).
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: FidelityFormat,
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Only scenarios whose id matches this glob (repeatable).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Comparisons in flight at once (each may start a real server).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Trust-store sizes to measure; the first is the baseline.
    #[arg(long, value_delimiter = ',', default_value = "1,100,1000,10000")]
    pub trust_anchors: Vec<usize>,
    /// Send the CA-names list (`on`) or an empty one (`off`).
    #[arg(long, default_value = "on")]
    pub ca_names: String,
    #[arg(long, default_value = "1.3")]
    pub tls: String,
    /// How long each point runs, e.g. 10s, 500ms.
    #[arg(long, default_value = "5s")]
    pub duration: String,
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GatewayConfigArgs {
    /// nginx | haproxy | apache | openssl
    pub gateway: String,
    /// Scenario id (looked up in --catalog) or a scenario file.
    #[arg(long)]
    pub scenario: String,
    /// Catalog directory (default: ./scenarios).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Output directory (must not exist or be empty); the config's paths point into it.
    #[arg(long)]
    pub out: PathBuf,
    /// TLS version to pin: 1.2 or 1.3 (default: the scenario's first).
    #[arg(long)]
    pub tls: Option<String>,
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// https://host:port
    pub url: String,
    /// Your client certificate (PEM; the chain may follow the leaf).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: LogFormat,
    /// Per-stage timeout in seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Generate the certificates, keys and CRLs of a PKI spec into DIR.
    Generate {
        spec: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

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
    #[arg(long)]
    pub filter: Vec<String>,
    /// Only this profile (repeatable): strict, nginx, layer7, iis, apache, haproxy, envoy.
    #[arg(long)]
    pub profile: Vec<String>,
    /// Only this TLS version (repeatable): 1.2 or 1.3.
    #[arg(long)]
    pub tls: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report here instead of stdout (table still prints a summary).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// `builtin` (default), or a real gateway process per case: `real:nginx`,
    /// `real:haproxy`, `real:apache`, `real:openssl` (judged by the nginx,
    /// haproxy, apache and haproxy expectations).
    #[arg(long, default_value = "builtin")]
    pub gateway: String,
    /// An external gateway (https://host:port) configured with the PKI in
    /// `--pki`; judged by the expectations of the single `--profile`.
    #[arg(long, requires = "pki")]
    pub target: Option<String>,
    /// With `--target`: the directory `pki generate` wrote, which the target
    /// trusts and whose server certificate it presents.
    #[arg(long, requires = "target")]
    pub pki: Option<PathBuf>,
    /// Cases in flight at once.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Per-stage timeout in seconds (connect, handshake, response).
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Never use colours.
    #[arg(long)]
    pub no_color: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A directory written by `pki generate`.
    #[arg(long)]
    pub pki: PathBuf,
    /// The server certificate's name in the PKI.
    #[arg(long)]
    pub cert: String,
    /// Trusted CA names, comma-separated (`<prefix>-*` for a bulk table).
    #[arg(long, value_delimiter = ',')]
    pub trust: Vec<String>,
    #[arg(long, default_value = "strict")]
    pub profile: String,
    /// Profile mode (nginx: on|optional|optional_no_ca, apache: per-server|per-directory, ...).
    #[arg(long)]
    pub mode: Option<String>,
    #[arg(long, default_value = "required")]
    pub client_auth: String,
    /// all-trusted | flagged | empty | truncate:BYTES | filler:N | fill-to:BYTES | explicit:a,b
    #[arg(long, default_value = "all-trusted")]
    pub ca_names: String,
    /// 1.2 or 1.3 (repeatable; default both).
    #[arg(long)]
    pub tls: Vec<String>,
    /// Load this issuer's CRL (repeatable).
    #[arg(long)]
    pub crl: Vec<String>,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// The catalog used when none is named: ./scenarios, else the one shipped
/// with the source tree.
fn default_catalog() -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
    }
}

fn parse_versions(raw: &[String]) -> Result<Vec<TlsVersion>> {
    raw.iter()
        .map(|v| TlsVersion::parse(v).with_context(|| format!("--tls: `{v}` is not 1.2 or 1.3")))
        .collect()
}

fn parse_profiles(raw: &[String]) -> Result<Vec<ProfileKind>> {
    raw.iter()
        .map(|p| {
            ProfileKind::from_name(p).with_context(|| {
                format!("--profile: unknown profile `{p}` (known: strict, nginx, layer7, iis, apache, haproxy, envoy)")
            })
        })
        .collect()
}

fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>> {
    let paths = if paths.is_empty() {
        vec![default_catalog()]
    } else {
        paths.to_vec()
    };
    let mut all = Vec::new();
    for p in &paths {
        if p.is_dir() {
            all.extend(load_catalog(p).map_err(|e| anyhow::anyhow!("{e}"))?);
        } else if p.is_file() {
            all.push(
                mtls_harness::scenario::load_file(p, None).map_err(|e| anyhow::anyhow!("{e}"))?,
            );
        } else {
            bail!(
                "{}: no such scenario file or catalog directory",
                p.display()
            );
        }
    }
    Ok(all)
}

pub fn run(args: RunArgs) -> Result<i32> {
    let Some(gateway) = GatewaySelection::parse(&args.gateway) else {
        bail!(
            "--gateway {}: expected builtin, real:nginx, real:haproxy, real:apache or real:openssl",
            args.gateway
        );
    };
    if let GatewaySelection::Real(kind) = gateway {
        kind.find_program()
            .map_err(|e| anyhow::anyhow!("--gateway {kind}: {e}"))?;
    }
    let gateway = match (&args.target, &args.pki) {
        (Some(url), Some(dir)) => {
            if args.gateway != "builtin" {
                bail!("--target and --gateway {} exclude each other", args.gateway);
            }
            let profile = match parse_profiles(&args.profile)?.as_slice() {
                [one] => *one,
                _ => bail!("--target needs exactly one --profile (whose expectations the target is judged by)"),
            };
            GatewaySelection::External(std::sync::Arc::new(external_target(
                url,
                dir,
                profile,
                args.timeout,
            )?))
        }
        _ => gateway,
    };
    let mut opts = RunOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(args.timeout),
            handshake: Duration::from_secs(args.timeout),
            response: Duration::from_secs(args.timeout),
        },
        gateway,
        ..Default::default()
    };
    if let Some(c) = args.concurrency {
        if c == 0 {
            bail!("--concurrency must be at least 1");
        }
        opts.concurrency = c;
    }
    if !args.filter.is_empty() {
        let mut b = globset::GlobSetBuilder::new();
        for f in &args.filter {
            b.add(globset::Glob::new(f).with_context(|| format!("--filter `{f}` is not a glob"))?);
        }
        opts.filter = Some(b.build()?);
    }
    if !args.profile.is_empty() {
        opts.profiles = Some(parse_profiles(&args.profile)?);
    }
    if !args.tls.is_empty() {
        opts.tls = Some(parse_versions(&args.tls)?);
    }
    // Flags first: a bad flag is reported even when the catalog is missing.
    let scenarios = load_scenarios(&args.paths)?;
    let selected = execute::select(&scenarios, &opts);
    if selected.is_empty() {
        eprintln!("no scenario selected");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let pkis = execute::generate_pkis(&selected).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tty = std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new(0);
    if !tty {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
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
    if report.results.is_empty() {
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
            println!("report written to {}", path.display());
        }
        None => {
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(report.exit_code())
}

/// Write via a temp file in the same directory and rename: never a partial file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("{}: cannot write here", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.persist(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

pub fn list(dir: Option<PathBuf>) -> Result<i32> {
    let scenarios = load_scenarios(&dir.into_iter().collect::<Vec<_>>())?;
    if scenarios.is_empty() {
        eprintln!("no scenario found");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let width = scenarios.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for s in &scenarios {
        let seed = s
            .file
            .seed
            .as_deref()
            .map(|x| format!(" [seed {x}]"))
            .unwrap_or_default();
        println!("{:width$}  {}{seed}", s.id, s.file.description);
    }
    Ok(exit_codes::SUCCESS)
}

pub fn explain(id: &str, catalog: Option<PathBuf>) -> Result<i32> {
    let scenarios = load_scenarios(&catalog.into_iter().collect::<Vec<_>>())?;
    let Some(s) = scenarios.iter().find(|s| s.id == id) else {
        let close: Vec<&str> = scenarios
            .iter()
            .filter(|s| s.id.contains(id) || id.contains(s.id.split("::").last().unwrap_or("")))
            .map(|s| s.id.as_str())
            .take(5)
            .collect();
        bail!(
            "no scenario `{id}`{}",
            if close.is_empty() {
                String::new()
            } else {
                format!(" (did you mean: {})", close.join(", "))
            }
        );
    };
    println!("{}  ({})", s.id, s.path.display());
    println!("  {}", s.file.description);
    if let Some(seed) = &s.file.seed {
        println!("  reproduces field report {seed}");
    }
    println!("\nPKI:");
    for c in &s.file.pki.cert {
        let issuer = c
            .issuer
            .as_deref()
            .map(|i| format!(" issued by {i}"))
            .unwrap_or_else(|| " self-signed".into());
        let defects = if c.defects.is_empty() {
            String::new()
        } else {
            format!(
                "  defects: {}",
                c.defects
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let validity = c
            .validity
            .map(|v| format!("  validity: {v:?}"))
            .unwrap_or_default();
        println!(
            "  {:<20} {:<12}{issuer}{defects}{validity}",
            c.name,
            c.role.as_str()
        );
    }
    for b in &s.file.pki.bulk {
        println!("  {}-* ({} filler {}s)", b.prefix, b.count, b.role.as_str());
    }
    let srv = &s.file.server;
    println!(
        "\nServer: cert {}, client_auth {:?}, trust [{}], ca_names {:?}, TLS {}",
        srv.cert,
        srv.client_auth,
        srv.trust.join(", "),
        srv.ca_names,
        srv.tls
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join("+")
    );
    let cl = &s.file.client;
    println!(
        "Client: wallet [{}], selection {}",
        cl.certs.join(", "),
        cl.selection.as_str()
    );
    println!("\nExpected per profile:");
    let (run, not_run) = s.profiles_to_run();
    for p in run {
        for v in &srv.tls {
            let e = s.expectation(p, *v);
            println!("  {p:<8} TLS {v}: {}", serde_json::to_string(&e)?);
        }
    }
    if !not_run.is_empty() {
        println!("  not run on: {}", not_run.join(", "));
    }
    Ok(exit_codes::SUCCESS)
}

pub fn pki_generate(spec: &Path, out: &Path) -> Result<i32> {
    let started = std::time::Instant::now();
    let (_, pki) = Pki::generate_from_file(spec).map_err(|e| anyhow::anyhow!("{e}"))?;
    pki.write_dir(out).map_err(|e| anyhow::anyhow!("{e}"))?;
    let named = pki.certs().iter().filter(|c| c.bulk.is_none()).count();
    println!(
        "wrote {} certificates ({} named, {} bulk) to {} in {:.0} ms",
        pki.certs().len(),
        named,
        pki.certs().len() - named,
        out.display(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(exit_codes::SUCCESS)
}

fn parse_ca_names(raw: &str) -> Result<CaNamesPolicy> {
    let number = |v: &str, what: &str| {
        v.parse::<usize>()
            .with_context(|| format!("--ca-names {what}:{v}: not a number"))
    };
    Ok(match raw.split_once(':') {
        None => match raw {
            "all-trusted" => CaNamesPolicy::AllTrusted,
            "flagged" => CaNamesPolicy::Flagged,
            "empty" => CaNamesPolicy::Empty,
            other => bail!("--ca-names `{other}`: expected all-trusted | flagged | empty | truncate:BYTES | filler:N | fill-to:BYTES | explicit:a,b"),
        },
        Some(("truncate", v)) => CaNamesPolicy::TruncateBytes(number(v, "truncate")?),
        Some(("filler", v)) => CaNamesPolicy::ExtraFiller(number(v, "filler")?),
        Some(("fill-to", v)) => CaNamesPolicy::FillToBytes(number(v, "fill-to")?),
        Some(("explicit", v)) => CaNamesPolicy::Explicit(v.split(',').map(str::to_string).collect()),
        Some((k, _)) => bail!("--ca-names `{k}:...`: unknown policy"),
    })
}

pub fn serve(args: ServeArgs) -> Result<i32> {
    let pki = Pki::load_dir(&args.pki).map_err(|e| anyhow::anyhow!("--pki: {e}"))?;
    let profile = ProfileKind::from_name(&args.profile)
        .with_context(|| format!("--profile: unknown profile `{}`", args.profile))?;
    let client_auth = match args.client_auth.as_str() {
        "none" => ClientAuth::None,
        "optional" => ClientAuth::Optional,
        "required" => ClientAuth::Required,
        other => bail!("--client-auth `{other}`: expected none | optional | required"),
    };
    let versions = if args.tls.is_empty() {
        TlsVersion::ALL.to_vec()
    } else {
        parse_versions(&args.tls)?
    };
    let listen: std::net::SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen `{}` is not an address such as 127.0.0.1:0",
            args.listen
        )
    })?;
    let mut mode = std::collections::BTreeMap::new();
    if let Some(m) = &args.mode {
        mode.insert(profile.name().to_string(), m.clone());
    }
    let server = ServerSpec {
        cert: args.cert.clone(),
        client_auth,
        trust: args.trust.clone(),
        ca_names: parse_ca_names(&args.ca_names)?,
        tls: versions.clone(),
        crls: args.crl.clone(),
        trust_forwarded_header: None,
        trusted_proxies: Vec::new(),
        mode,
        send_chain: None,
    };
    let mut config = mtls_harness::case::gateway_config(
        &pki,
        &server,
        profile,
        versions,
        Timeouts::default(),
        None,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    config.listen = listen;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let gateway = mtls_harness::tls::server::start(config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("listening on {}", gateway.url());
        std::io::stdout().flush()?;
        let mut events = gateway.subscribe();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                ev = events.recv() => match ev {
                    Ok(rec) => {
                        let line = match args.log_format {
                            LogFormat::Json => serde_json::to_string(&rec)?,
                            LogFormat::Text => format!(
                                "{} tls={} cert_sent={} alert={} http={} | {}",
                                rec.peer,
                                rec.tls_version.map_or("-".into(), |v| v.to_string()),
                                rec.client_certificate_sent.map_or("-".into(), |b| b.to_string()),
                                rec.alert.as_deref().unwrap_or("-"),
                                rec.http_status.map_or("-".into(), |s| s.to_string()),
                                rec.log
                            ),
                        };
                        println!("{line}");
                        std::io::stdout().flush()?;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("({n} connection records dropped)"),
                    Err(_) => break,
                },
            }
        }
        gateway.shutdown().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(exit_codes::SUCCESS)
}

pub fn gateway_config(args: GatewayConfigArgs) -> Result<i32> {
    use mtls_harness::real::{render, RealKind};
    let Some(kind) = RealKind::from_name(&args.gateway) else {
        bail!(
            "gateway-config {}: expected nginx, haproxy, apache or openssl",
            args.gateway
        );
    };
    let as_path = Path::new(&args.scenario);
    let scenario = if as_path.is_file() {
        mtls_harness::scenario::load_file(as_path, None).map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        let scenarios = load_scenarios(&args.catalog.into_iter().collect::<Vec<_>>())?;
        scenarios
            .into_iter()
            .find(|s| s.id == args.scenario)
            .with_context(|| format!("--scenario {}: no such scenario id or file", args.scenario))?
    };
    let version = match &args.tls {
        Some(v) => {
            TlsVersion::parse(v).with_context(|| format!("--tls {v}: expected 1.2 or 1.3"))?
        }
        None => *scenario
            .file
            .server
            .tls
            .first()
            .context("the scenario's server.tls is empty")?,
    };
    if args.out.exists()
        && std::fs::read_dir(&args.out)
            .with_context(|| format!("{}: cannot read", args.out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{}: output directory exists and is not empty",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let out = args
        .out
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", args.out.display()))?;
    let pki = Pki::generate_with_source(
        &scenario.file.pki,
        &scenario.path.display().to_string(),
        &scenario.source,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rendered = render(kind, &pki, &scenario.file.server, version, args.port, &out)
        .map_err(|e| anyhow::anyhow!("{kind} cannot express {}: {e}", scenario.id))?;
    rendered.write().map_err(|e| anyhow::anyhow!("{e}"))?;
    // The whole PKI too: the client certificates to test the gateway with.
    pki.write_dir(&out.join("pki"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = rendered.write_start_script(&scenario.id)?;
    println!(
        "wrote {kind} config for {} (TLS {version}, 127.0.0.1:{}) to {}",
        scenario.id,
        args.port,
        out.display()
    );
    if let Some(cfg) = &rendered.config_file {
        println!("  config: {}", out.join(cfg).display());
    }
    println!("  start:  {}", start.display());
    println!(
        "  PKI:    {} (client certificates to test with)",
        out.join("pki").display()
    );
    println!("  judged by the {} profile's expectations", kind.profile());
    Ok(exit_codes::SUCCESS)
}

pub fn probe(args: ProbeArgs) -> Result<i32> {
    use rustls_pki_types::pem::PemObject;
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("--cert {}: cannot read", cert.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("--cert {}: not PEM certificates", cert.display()))?;
            if chain.is_empty() {
                bail!("--cert {}: no CERTIFICATE block", cert.display());
            }
            let key_der = rustls_pki_types::PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("--key {}: no PEM private key", key.display()))?;
            let name = cert
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "cert".into());
            Some(
                mtls_harness::tls::client::WalletEntry::new(&name, chain, key_der)
                    .map_err(|e| anyhow::anyhow!("--cert/--key: {e}"))?,
            )
        }
        _ => None,
    };
    let t = Duration::from_secs(args.timeout);
    let opts = mtls_harness::probe::ProbeOptions {
        url: args.url.clone(),
        identity,
        timeouts: Timeouts {
            connect: t,
            handshake: t,
            response: t,
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt
        .block_on(mtls_harness::probe::probe(&opts))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match args.format {
        LogFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        LogFormat::Text => print!("{}", report.render()),
    }
    Ok(exit_codes::SUCCESS)
}

fn parse_duration(raw: &str) -> Result<Duration> {
    let (num, unit) = raw.trim().split_at(
        raw.trim()
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(raw.trim().len()),
    );
    let n: f64 = num
        .parse()
        .with_context(|| format!("--duration `{raw}`: expected e.g. 10s or 500ms"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => bail!("--duration `{raw}`: unit must be ms, s or m"),
    };
    if !(0.05..=3600.0).contains(&secs) {
        bail!("--duration `{raw}`: must be between 50ms and 1h");
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn bench(args: BenchArgs) -> Result<i32> {
    use mtls_harness::bench::{load, setup};
    let names = match args.ca_names.as_str() {
        "on" => true,
        "off" => false,
        other => bail!("--ca-names `{other}`: expected on or off"),
    };
    let version = TlsVersion::parse(&args.tls)
        .with_context(|| format!("--tls `{}` is not 1.2 or 1.3", args.tls))?;
    let duration = parse_duration(&args.duration)?;
    if args.trust_anchors.is_empty()
        || args.trust_anchors.contains(&0)
        || args.trust_anchors.iter().any(|&n| n > 100_000)
    {
        bail!("--trust-anchors: sizes must be 1..=100000");
    }
    if args.concurrency == 0 || args.concurrency > 256 {
        bail!("--concurrency must be 1..=256");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tty = std::io::stderr().is_terminal();
    let mut rows = Vec::new();
    for &n in &args.trust_anchors {
        let s =
            setup(n, names, version).map_err(|e| anyhow::anyhow!("setting up {n} anchors: {e}"))?;
        let bar = indicatif::ProgressBar::new(1000);
        if !tty {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_message(format!("{n} trust anchors"));
        let b2 = bar.clone();
        let stats = rt.block_on(async {
            let gateway = mtls_harness::tls::server::start(s.gateway.clone())
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            let stats = load(
                gateway.addr(),
                &s.client,
                duration,
                args.concurrency,
                move |f| b2.set_position((f * 1000.0) as u64),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            gateway.shutdown().await;
            Ok::<_, anyhow::Error>(stats)
        })?;
        bar.finish_and_clear();
        rows.push((n, s.ca_names_bytes, s.ca_names_truncated, stats));
    }
    let base = rows[0].3.handshakes_per_s.max(f64::MIN_POSITIVE);
    let json = serde_json::json!({
        "tls": version.as_str(),
        "ca_names": names,
        "duration_s": duration.as_secs_f64(),
        "concurrency": args.concurrency,
        "baseline_trust_anchors": rows[0].0,
        "points": rows.iter().map(|(n, bytes, over, st)| serde_json::json!({
            "trust_anchors": n, "ca_names_bytes": bytes, "ca_names_truncated": over,
            "ratio_vs_baseline": st.handshakes_per_s / base, "stats": st,
        })).collect::<Vec<_>>(),
    });
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&json)? + "\n",
        Format::Junit => bail!("--format junit is for `run`; bench writes table or json"),
        Format::Table => {
            let mut t = format!(
                "TLS {}, CA names {}, {} workers, {:?} per point; baseline = {} anchors\n{:>8} {:>10} {:>9} {:>8} {:>8} {:>8} {:>10} {:>7} {:>6}\n",
                version, args.ca_names, args.concurrency, duration, rows[0].0,
                "anchors", "names B", "hs/s", "p50 ms", "p90 ms", "p99 ms", "cpu us/hs", "errors", "ratio"
            );
            for (n, bytes, over, st) in &rows {
                let b = if *over {
                    format!("{bytes} cut")
                } else {
                    bytes.to_string()
                };
                t.push_str(&format!(
                    "{:>8} {:>10} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>10.0} {:>7} {:>6.2}\n",
                    n,
                    b,
                    st.handshakes_per_s,
                    st.p50_ms,
                    st.p90_ms,
                    st.p99_ms,
                    st.cpu_us_per_handshake,
                    st.errors,
                    st.handshakes_per_s / base
                ));
            }
            t
        }
    };
    match &args.output {
        Some(p) => write_atomically(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    let failed = rows.iter().any(|(_, _, _, st)| st.handshakes == 0);
    Ok(if failed {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    })
}

pub fn fidelity(args: FidelityArgs) -> Result<i32> {
    use mtls_harness::real::RealKind;
    use mtls_harness::runner::fidelity;
    for kind in RealKind::ALL {
        kind.find_program()
            .map_err(|e| anyhow::anyhow!("real:{kind}: {e}"))?;
    }
    let scenarios = load_scenarios(&args.dir.into_iter().collect::<Vec<_>>())?;
    let mut opts = RunOptions::default();
    if !args.filter.is_empty() {
        let mut b = globset::GlobSetBuilder::new();
        for f in &args.filter {
            b.add(globset::Glob::new(f).with_context(|| format!("--filter `{f}` is not a glob"))?);
        }
        opts.filter = Some(b.build()?);
    }
    let selected = execute::select(&scenarios, &opts);
    if selected.is_empty() {
        eprintln!("no scenario selected");
        return Ok(exit_codes::NO_SCENARIO_SELECTED);
    }
    let pkis = execute::generate_pkis(&selected).map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(fidelity::fidelity(
        &selected,
        &pkis,
        &RealKind::ALL,
        Timeouts::default(),
        args.concurrency,
        |d, t| {
            bar.set_length(t as u64);
            bar.set_position(d as u64);
        },
    ));
    bar.finish_and_clear();
    let text = match args.format {
        FidelityFormat::Markdown => fidelity::markdown(&rows, &RealKind::ALL),
        FidelityFormat::Json => {
            serde_json::to_string_pretty(&rows.iter().map(|r| r.to_json()).collect::<Vec<_>>())?
                + "\n"
        }
    };
    match &args.output {
        Some(p) => write_atomically(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    let (agree, differ, na) = fidelity::totals(&rows);
    eprintln!("{agree} agree, {differ} differ, {na} not applicable");
    Ok(if differ > 0 {
        exit_codes::SCENARIO_FAILED
    } else {
        exit_codes::SUCCESS
    })
}

/// Resolve and check an external target before any scenario runs: reachable,
/// speaking TLS, presenting a certificate from the given PKI.
fn external_target(
    url: &str,
    dir: &Path,
    profile: ProfileKind,
    timeout: u64,
) -> Result<mtls_harness::case::ExternalTarget> {
    use mtls_harness::observation::Handshake;
    let pki = Pki::load_dir(dir).map_err(|e| anyhow::anyhow!("--pki: {e}"))?;
    let t = Duration::from_secs(timeout);
    let timeouts = Timeouts {
        connect: t,
        handshake: t,
        response: t,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (addr, server_name) = rt
        .block_on(mtls_harness::probe::resolve(url, timeouts))
        .map_err(|e| anyhow::anyhow!("--target: {e}"))?;
    // Trust every root of the PKI, send no certificate: the handshake must get
    // as far as the server's certificate, and that must verify.
    let roots: Vec<_> = pki
        .certs()
        .iter()
        .filter(|c| c.issuer.is_none() && c.role.is_ca())
        .map(|c| c.der.clone())
        .collect();
    if roots.is_empty() {
        bail!("--pki {}: has no root CA", dir.display());
    }
    let client = mtls_harness::tls::client::ClientSpec {
        wallet: Vec::new(),
        selection: mtls_harness::scenario::schema::SelectionPolicy::Never,
        server_roots: roots,
        versions: TlsVersion::ALL.to_vec(),
        server_name: server_name.clone(),
        timeouts,
        kind: mtls_harness::tls::client::ClientKind::Raw,
        headers: Vec::new(),
        via_tunnel: None,
        accept_any_server_cert: false,
    };
    let obs = rt.block_on(client.exchange(addr));
    if let Some(stage) = &obs.hang {
        bail!("--target {url}: no answer ({stage} timed out after {timeout} s)");
    }
    if let Some(code) = &obs.client_error {
        let detail = obs.client_error_detail.clone().unwrap_or_default();
        if code.starts_with("INVALID_CERTIFICATE") {
            bail!("--target {url}: its certificate does not verify against the roots of {} ({detail}): wrong --pki?", dir.display());
        }
        if obs.handshake.is_none() {
            bail!("--target {url}: {detail}");
        }
        if obs.handshake == Some(Handshake::Aborted)
            && !obs.certificate_requested
            && obs.alert.is_none()
        {
            bail!("--target {url}: TLS failed before any scenario ran: {detail}");
        }
    }
    Ok(mtls_harness::case::ExternalTarget {
        url: url.to_string(),
        addr,
        server_name,
        pki,
        profile,
    })
}
