//! `run --gateway-config FILE --gateway real:X`: the user's own config tree,
//! rewritten onto a fresh kit PKI, loopback ports and the harness's origin
//! (each rewrite printed), started as the real program, then run as a
//! `--target` against its first TLS listener.

use super::target_kit::write_kit;
use anyhow::{bail, Context, Result};
use mtls_harness::interrupt::{Registered, Registry};
use mtls_harness::real::netns::{self, Relay};
use mtls_harness::real::origin::Origin;
use mtls_harness::real::process::ProcessGroup;
use mtls_harness::real::user_config::{
    enter, Isolated, Listener, Preparation, PreparedConfig, Way,
};
use mtls_harness::real::RealKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long the gateway has to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How `run --gateway-config` ties the configuration to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Isolate {
    /// Namespaces where this machine allows them (root), else rewriting.
    #[default]
    Auto,
    /// The program in network and mount namespaces of the harness's own:
    /// listeners, PKI paths, logs and upstreams kept as written.
    Namespace,
    /// Listeners, PKI paths, logs and upstreams rewritten onto loopback
    /// ports, the PKI and the run's directory.
    Rewrite,
}

/// The running gateway; dropping it stops its process group (SIGTERM, then
/// SIGKILL after [`STOP_GRACE`]; the leader reaped), then its relay and
/// namespaces, and removes its files.
pub struct GatewayUnderTest {
    group: ProcessGroup,
    pub url: String,
    pub pki_dir: PathBuf,
    /// Every listener of the config that speaks TLS, where the harness
    /// reaches it.
    pub tls_listeners: Vec<Listener>,
    /// The configuration names a CRL file (rewritten onto the PKI's).
    pub loads_crl: bool,
    stderr: PathBuf,
    /// The upstream every proxied request of the config reaches.
    pub origin: Origin,
    /// The rewritten tree: each change, and what the run added around it.
    pub prepared: PreparedConfig,
    /// How the configuration runs, and what was set up for it.
    pub way: Way,
    pub way_notes: Vec<String>,
    _relay: Option<Relay>,
    _isolated: Option<Isolated>,
    run_dir: PathBuf,
    _dir_registered: Registered,
    _tmp: tempfile::TempDir,
}

/// Rewrite `file` (and what it includes, looked up under `config_root`,
/// default its directory) for `kind`, start it, and wait until its TLS
/// listener listens.
pub fn start(
    kind: RealKind,
    file: &Path,
    also: &[PathBuf],
    config_root: Option<&Path>,
    isolate: Isolate,
) -> Result<GatewayUnderTest> {
    start_with(
        kind,
        file,
        also,
        config_root,
        &["/".to_string()],
        isolate,
        |dir| write_kit(dir).map(|_| ()),
    )
}

/// [`start`], the PKI written by `write_pki` (the
/// [`mtls_harness::real::user_config`] layout) instead of the kit's, and a
/// page for each of `routes` where a served directory does not exist here.
pub fn start_with(
    kind: RealKind,
    file: &Path,
    also: &[PathBuf],
    config_root: Option<&Path>,
    routes: &[String],
    isolate: Isolate,
    write_pki: impl FnOnce(&Path) -> Result<()>,
) -> Result<GatewayUnderTest> {
    kind.find_program()
        .with_context(|| format!("--gateway {kind}"))?;
    let config_root = match config_root {
        Some(dir) => dir.to_path_buf(),
        None => file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    };
    if !config_root.is_dir() {
        bail!("--config-root {}: not a directory", config_root.display());
    }
    let tmp = tempfile::Builder::new()
        .prefix("mtls-harness-gateway-config-")
        .tempdir()
        .context("temporary directory")?;
    let dir_registered = Registry::global().register_temp_dir(tmp.path());
    let pki_dir = tmp.path().join("pki");
    write_pki(&pki_dir)?;
    let mut origin = Origin::start().context("the origin on 127.0.0.1")?;
    let (first, why_not) = match (isolate, netns::available()) {
        (Isolate::Rewrite, _) => (Way::Rewrite, None),
        (_, Ok(())) => (Way::Namespace, None),
        (Isolate::Namespace, Err(why)) => bail!("--isolate namespace: {why}"),
        (Isolate::Auto, Err(why)) => (Way::Rewrite, Some(why)),
    };
    let mut way = first;
    let mut way_notes: Vec<String> = why_not
        .map(|w| format!("no namespaces here ({w}): the configuration runs rewritten"))
        .into_iter()
        .collect();
    let (prepared, run_dir, isolated) = loop {
        let run_dir = tmp.path().join(format!("run-{}", way.name()));
        std::fs::create_dir_all(&run_dir).context("run directory")?;
        let mut free_port = || {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
        };
        let prepared = Preparation {
            kind,
            file,
            also,
            config_root: &config_root,
            pki: &pki_dir,
            run_dir: &run_dir,
            // Inside the namespace, the origin's rewritten-upstream socket is
            // on the namespace's loopback (a free port of the machine's is as
            // good a choice as any there).
            origin: Some(match way {
                Way::Rewrite => origin.addr(),
                Way::Namespace => std::net::SocketAddr::from(([127, 0, 0, 1], free_port()?)),
            }),
            routes,
            way,
        }
        .prepare(&mut free_port)
        .with_context(|| format!("--gateway-config {}", file.display()))?;
        let Some(plan) = &prepared.namespace else {
            break (prepared, run_dir, None);
        };
        match enter(plan, &run_dir.join("ns")) {
            Ok(isolated) => break (prepared, run_dir, Some(isolated)),
            Err(e) if isolate == Isolate::Auto => {
                way_notes.push(format!(
                    "the namespaces could not be set up ({}): the configuration runs rewritten",
                    mtls_harness::error_chain::of(&e)
                ));
                way = Way::Rewrite;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("--isolate namespace")),
        }
    };
    if let Some(isolated) = &isolated {
        way_notes.extend(isolated.notes.iter().cloned());
    }
    for r in &prepared.rewrites {
        eprintln!(
            "{}:{}: `{}` -> `{}`",
            r.file.display(),
            r.line,
            r.before,
            r.after
        );
    }
    let Some(tested) = prepared.tls_listener().cloned() else {
        bail!(
            "--gateway-config {}: no listener speaks TLS (nginx `listen … ssl`, HAProxy `bind … ssl`, Apache `Listen … https` or a virtual host with `SSLEngine on`)",
            file.display()
        );
    };
    // In namespaces, each TLS listener is reached through a relay from a
    // loopback port of the machine.
    let mut isolated = isolated;
    let relay = match &mut isolated {
        Some(iso) => {
            let mut targets: Vec<std::net::SocketAddr> = Vec::new();
            for l in prepared.listeners.iter().filter(|l| l.tls) {
                if !targets.contains(&l.addr) {
                    targets.push(l.addr);
                }
            }
            let listeners = std::mem::take(&mut iso.origin_listeners);
            origin
                .also_serve(listeners)
                .context("the origin inside the namespace")?;
            Some(
                Relay::start(iso.gateway.handle(), &targets)
                    .context("the relay into the namespace")?,
            )
        }
        None => None,
    };
    let reached =
        |addr: std::net::SocketAddr| relay.as_ref().and_then(|r| r.outside(addr)).unwrap_or(addr);
    for l in &prepared.listeners {
        let at = match &relay {
            Some(_) if l.tls => format!("{} inside, reached at {}", l.addr, reached(l.addr)),
            Some(_) => format!("{} inside", l.addr),
            None => l.addr.to_string(),
        };
        eprintln!(
            "{}:{}: listener {} -> {at}{}",
            l.file.display(),
            l.line,
            l.original,
            if l.addr == tested.addr {
                " (TLS: the catalog runs here)"
            } else if l.tls {
                " (TLS: not tested in this run)"
            } else {
                ""
            }
        );
    }
    for note in prepared.notes.iter().chain(&way_notes) {
        eprintln!("{note}");
    }
    if way == Way::Rewrite {
        eprintln!("upstreams -> the harness's origin on {}", origin.addr());
    }
    match way {
        Way::Namespace => eprintln!(
            "the configuration runs in network and mount namespaces of its own (the changes above, in {}); no packet leaves them",
            run_dir.join("conf").display()
        ),
        Way::Rewrite => eprintln!(
            "the configuration runs rewritten (the changes above, in {}), not in a namespace of its own",
            run_dir.join("conf").display()
        ),
    }
    let inner = prepared.command(kind, &run_dir)?;
    let mut cmd = match &isolated {
        Some(iso) => {
            let mut c = iso.gateway.command(inner.get_program());
            c.args(inner.get_args());
            for (k, v) in inner.get_envs() {
                match v {
                    Some(v) => c.env(k, v),
                    None => c.env_remove(k),
                };
            }
            if let Some(dir) = inner.get_current_dir() {
                c.current_dir(dir);
            }
            c
        }
        None => inner,
    };
    // `daemon` and `pid` rewritten where the tree has them; otherwise said
    // here (nginx's compiled-in pid file is /run/nginx.pid).
    let says = |directive: &str| {
        prepared.files.iter().any(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .any(|l| l.split_whitespace().next() == Some(directive))
        })
    };
    if kind == RealKind::Nginx {
        let mut global = String::new();
        if !says("daemon") {
            global.push_str("daemon off;");
        }
        if !says("pid") {
            global.push_str(&format!(" pid {};", run_dir.join("nginx.pid").display()));
        }
        if !global.is_empty() {
            cmd.args(["-g", global.trim()]);
        }
    }
    let stderr = run_dir.join("stderr.log");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).context("stderr file")?);
    let group = ProcessGroup::spawn(&mut cmd, STOP_GRACE)
        .with_context(|| format!("cannot start {kind}"))?;
    let port = tested.addr.port();
    let inside = isolated.as_ref().map(|i| i.gateway.handle());
    let tls_listeners = prepared
        .listeners
        .iter()
        .filter(|l| l.tls)
        .map(|l| Listener {
            addr: reached(l.addr),
            ..l.clone()
        })
        .collect();
    let mut gateway = GatewayUnderTest {
        group,
        url: format!("https://{}", reached(tested.addr)),
        pki_dir,
        tls_listeners,
        loads_crl: prepared
            .rewrites
            .iter()
            .any(|r| r.after.contains("root.crl"))
            || prepared.namespace.as_ref().is_some_and(|n| {
                n.mounts
                    .iter()
                    .any(|(_, source)| source.ends_with("root.crl"))
            }),
        stderr,
        origin,
        prepared: prepared.clone(),
        way,
        way_notes,
        _relay: relay,
        _isolated: isolated,
        run_dir: run_dir.clone(),
        _dir_registered: dir_registered,
        _tmp: tmp,
    };
    let listening = |addr: std::net::SocketAddr| match &inside {
        Some(ns) => ns.connect(addr).is_ok(),
        None => TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = gateway.group.try_wait() {
            let err = std::fs::read_to_string(&gateway.stderr).unwrap_or_default();
            bail!(
                "--gateway-config {}: {kind} exited ({status}) before listening: {}",
                file.display(),
                prepared.in_users_terms(err.trim())
            );
        }
        if listening(tested.addr) {
            break;
        }
        if Instant::now() > deadline {
            let err = std::fs::read_to_string(&gateway.stderr).unwrap_or_default();
            bail!(
                "--gateway-config {}: {kind} did not listen on {} (port {port}) within 10 s: {}",
                file.display(),
                tested.addr,
                prepared.in_users_terms(err.trim())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(gateway)
}

impl GatewayUnderTest {
    /// Keep a copy of the rewritten tree beside the report `output`
    /// (`<output>.config/`), for the user to read after the run; its
    /// directory.
    pub fn keep_beside(&self, output: &Path) -> Result<PathBuf> {
        let mut name = output.as_os_str().to_owned();
        name.push(".config");
        let dest = PathBuf::from(name);
        if dest.exists() {
            std::fs::remove_dir_all(&dest)
                .with_context(|| format!("{}: cannot replace", dest.display()))?;
        }
        copy_tree(&self.run_dir.join("conf"), &dest)
            .with_context(|| format!("{}: cannot write the rewritten tree", dest.display()))?;
        Ok(dest)
    }

    /// The configuration's changes and notes, for a JSON report.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "way": self.way.name(),
            "changes": self.prepared.rewrites.iter().map(|r| serde_json::json!({
                "file": r.file.display().to_string(),
                "line": r.line,
                "before": r.before,
                "after": r.after,
            })).collect::<Vec<_>>(),
            "notes": self.prepared.notes.iter().chain(&self.way_notes).collect::<Vec<_>>(),
            "listeners": self.prepared.listeners.iter().map(|l| serde_json::json!({
                "file": l.file.display().to_string(),
                "line": l.line,
                "original": l.original,
                "tls": l.tls,
            })).collect::<Vec<_>>(),
            "after_request": self.prepared.after_request,
        })
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}
