//! `gateway-config`: the config (and PKI files) a real gateway gets for a
//! scenario, what `run --gateway real:X` starts, for you to diff against yours.

use super::{args, catalog};
use anyhow::{bail, Context, Result};
use clap::Args;
use mtls_harness::exit_codes;
use mtls_harness::observation::TlsVersion;
use mtls_harness::pki::Pki;
use mtls_harness::real::{render, RealKind};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct GatewayConfigArgs {
    /// The real gateway.
    #[arg(value_parser = args::real_gateway())]
    pub gateway: RealKind,
    /// Scenario id (looked up in --catalog) or a scenario file.
    #[arg(long)]
    pub scenario: String,
    /// Catalog directory (default: ./scenarios).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Output directory (must not exist or be empty); the config's paths point into it.
    #[arg(long)]
    pub out: PathBuf,
    /// TLS version to pin (default: the scenario's first).
    #[arg(long, value_parser = args::tls_version())]
    pub tls: Option<TlsVersion>,
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
    /// Also write the config of this real middlebox for the scenario's
    /// `[middlebox]`, in front of the gateway, into OUT/middlebox.
    #[arg(long, value_parser = args::middlebox_selection())]
    pub middlebox: Option<args::MiddleboxChoice>,
    /// The middlebox's port (127.0.0.1; stunnel also uses the next one).
    #[arg(long, default_value_t = 8444)]
    pub middlebox_port: u16,
}

pub fn gateway_config(args: GatewayConfigArgs) -> Result<i32> {
    let kind = args.gateway;
    let as_path = Path::new(&args.scenario);
    let scenario = if as_path.is_file() {
        mtls_harness::scenario::load_file(as_path, None)?
    } else {
        let scenarios = catalog::load_catalog_or_default(args.catalog)?;
        scenarios
            .into_iter()
            .find(|s| s.id == args.scenario)
            .with_context(|| format!("--scenario {}: no such scenario id or file", args.scenario))?
    };
    // Checked before anything is written.
    let middlebox = match args.middlebox {
        Some(args::MiddleboxChoice(Some(mb))) => {
            let spec =
                scenario.file.middlebox.as_ref().with_context(|| {
                    format!("--middlebox {mb}: {} has no [middlebox]", scenario.id)
                })?;
            mb.supports(spec)
                .map_err(|why| anyhow::anyhow!("--middlebox {mb}: {why}"))?;
            Some(mb)
        }
        _ => None,
    };
    let version = match args.tls {
        Some(v) => v,
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
    )?;
    let rendered = render(kind, &pki, &scenario.file.server, version, args.port, &out)
        .with_context(|| format!("{kind} cannot express {}", scenario.id))?;
    rendered.write()?;
    // The whole PKI too: the client certificates to test the gateway with.
    pki.write_dir(&out.join("pki"))?;
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
    if let (Some(mb), Some(spec)) = (middlebox, &scenario.file.middlebox) {
        let dir = out.join("middlebox");
        let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let r = mtls_harness::real::middlebox::render(
            mb,
            &pki,
            &scenario.file,
            spec,
            upstream,
            version,
            args.middlebox_port,
            args.middlebox_port.wrapping_add(1),
            &dir,
        )?;
        r.write(&dir)?;
        let quoted: Vec<String> = r
            .args
            .iter()
            .map(|a| shlex::try_quote(a).map_or_else(|_| a.clone(), |q| q.into_owned()))
            .collect();
        println!(
            "wrote {mb} ({}) config in front of it (127.0.0.1:{}) to {}",
            spec.kind.name(),
            args.middlebox_port,
            dir.display()
        );
        if let Some(cfg) = &r.config_file {
            println!("  config: {}", dir.join(cfg).display());
        }
        println!(
            "  start:  cd {} && {} {}",
            dir.display(),
            mb.program(),
            quoted.join(" ")
        );
    }
    Ok(exit_codes::SUCCESS)
}
