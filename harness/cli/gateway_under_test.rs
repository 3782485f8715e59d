//! `run --gateway-config FILE --gateway real:X`: the user's own config tree,
//! rewritten onto a fresh kit PKI, loopback ports and the harness's origin
//! (each rewrite printed), started as the real program, then run as a
//! `--target` against its first TLS listener.

use super::target_kit::write_kit;
use anyhow::{bail, Context, Result};
use mtls_harness::interrupt::{Registered, Registry};
use mtls_harness::real::origin::Origin;
use mtls_harness::real::process::ProcessGroup;
use mtls_harness::real::user_config::{Listener, Preparation, PreparedConfig};
use mtls_harness::real::RealKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long the gateway has to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The running gateway; dropping it stops its process group (SIGTERM, then
/// SIGKILL after [`STOP_GRACE`]; the leader reaped) and removes its files.
pub struct GatewayUnderTest {
    group: ProcessGroup,
    pub url: String,
    pub pki_dir: PathBuf,
    /// Every listener of the config that speaks TLS, where it is now.
    pub tls_listeners: Vec<Listener>,
    /// The configuration names a CRL file (rewritten onto the PKI's).
    pub loads_crl: bool,
    stderr: PathBuf,
    /// The upstream every proxied request of the config reaches.
    pub origin: Origin,
    /// The rewritten tree: each change, and what the run added around it.
    pub prepared: PreparedConfig,
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
) -> Result<GatewayUnderTest> {
    start_with(kind, file, also, config_root, &["/".to_string()], |dir| {
        write_kit(dir).map(|_| ())
    })
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
    let run_dir = tmp.path().join("run");
    std::fs::create_dir_all(&run_dir).context("run directory")?;
    let origin = Origin::start().context("the origin on 127.0.0.1")?;
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
        origin: Some(origin.addr()),
        routes,
    }
    .prepare(&mut free_port)
    .with_context(|| format!("--gateway-config {}", file.display()))?;
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
    for l in &prepared.listeners {
        eprintln!(
            "{}:{}: listener {} -> {}{}",
            l.file.display(),
            l.line,
            l.original,
            l.addr,
            if l.addr == tested.addr {
                " (TLS: the catalog runs here)"
            } else if l.tls {
                " (TLS: not tested in this run)"
            } else {
                ""
            }
        );
    }
    for note in &prepared.notes {
        eprintln!("{note}");
    }
    eprintln!("upstreams -> the harness's origin on {}", origin.addr());
    // Network and mount namespaces would keep every address as written;
    // this run rewrites instead, and says so.
    eprintln!(
        "the configuration runs rewritten (the changes above, in {}), not in a namespace of its own",
        run_dir.join("conf").display()
    );
    let mut cmd = prepared.command(kind, &run_dir)?;
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
    let mut gateway = GatewayUnderTest {
        group,
        url: format!("https://{}", tested.addr),
        pki_dir,
        tls_listeners: prepared
            .listeners
            .iter()
            .filter(|l| l.tls)
            .cloned()
            .collect(),
        loads_crl: prepared
            .rewrites
            .iter()
            .any(|r| r.after.contains("root.crl")),
        stderr,
        origin,
        prepared: prepared.clone(),
        run_dir: run_dir.clone(),
        _dir_registered: dir_registered,
        _tmp: tmp,
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
        if TcpStream::connect_timeout(&tested.addr, Duration::from_millis(500)).is_ok() {
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
            "way": "rewritten",
            "changes": self.prepared.rewrites.iter().map(|r| serde_json::json!({
                "file": r.file.display().to_string(),
                "line": r.line,
                "before": r.before,
                "after": r.after,
            })).collect::<Vec<_>>(),
            "notes": self.prepared.notes,
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
