//! `run --gateway-config FILE --gateway real:X`: the user's own config,
//! rewritten onto a fresh kit PKI and a free port (each rewrite printed),
//! started as the real program, then run as a `--target`.

use super::target_kit::write_kit;
use anyhow::{bail, Context, Result};
use mtls_harness::interrupt::{Registered, Registry};
use mtls_harness::real::process::ProcessGroup;
use mtls_harness::real::user_config::{command, rewrite};
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
    stderr: PathBuf,
    _dir_registered: Registered,
    _tmp: tempfile::TempDir,
}

/// Rewrite `file` for `kind`, start it, and wait until it listens.
pub fn start(kind: RealKind, file: &Path) -> Result<GatewayUnderTest> {
    kind.find_program()
        .with_context(|| format!("--gateway {kind}"))?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("--gateway-config {}: cannot read", file.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix("mtls-harness-gateway-config-")
        .tempdir()
        .context("temporary directory")?;
    let dir_registered = Registry::global().register_temp_dir(tmp.path());
    let pki_dir = tmp.path().join("pki");
    write_kit(&pki_dir)?;
    let run_dir = tmp.path().join("run");
    std::fs::create_dir_all(&run_dir).context("run directory")?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("a free port on 127.0.0.1")?
        .port();
    let rewritten = rewrite(kind, file, &text, port, &pki_dir, &run_dir)
        .with_context(|| format!("--gateway-config {}", file.display()))?;
    for r in &rewritten.rewrites {
        eprintln!(
            "{}:{}: `{}` -> `{}`",
            file.display(),
            r.line,
            r.before,
            r.after
        );
    }
    let name = file.file_name().map_or_else(
        || "gateway.conf".into(),
        |n| n.to_string_lossy().to_string(),
    );
    let conf = run_dir.join(name);
    std::fs::write(&conf, &rewritten.text)
        .with_context(|| format!("{}: cannot write", conf.display()))?;
    let mut cmd = command(kind, &conf, &run_dir)?;
    if kind == RealKind::Nginx
        && !rewritten
            .text
            .lines()
            .any(|l| l.trim_start().starts_with("daemon"))
    {
        cmd.args(["-g", "daemon off;"]);
    }
    let stderr = run_dir.join("stderr.log");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).context("stderr file")?);
    let group = ProcessGroup::spawn(&mut cmd, STOP_GRACE)
        .with_context(|| format!("cannot start {kind}"))?;
    let mut gateway = GatewayUnderTest {
        group,
        url: format!("https://127.0.0.1:{port}"),
        pki_dir,
        stderr,
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
                err.trim()
            );
        }
        let addr = ([127, 0, 0, 1], port).into();
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            let err = std::fs::read_to_string(&gateway.stderr).unwrap_or_default();
            bail!(
                "--gateway-config {}: {kind} did not listen on 127.0.0.1:{port} within 10 s: {}",
                file.display(),
                err.trim()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(gateway)
}
