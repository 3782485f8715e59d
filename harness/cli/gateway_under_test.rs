//! `run --gateway-config FILE --gateway real:X`: the user's own config,
//! rewritten onto a fresh kit PKI and a free port (each rewrite printed),
//! started as the real program, then run as a `--target`.

use super::target_kit::write_kit;
use anyhow::{bail, Context, Result};
use mtls_harness::interrupt::{Registered, Registry};
use mtls_harness::real::user_config::{command, rewrite};
use mtls_harness::real::RealKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The running gateway; dropping it stops its process group and removes
/// its files.
pub struct GatewayUnderTest {
    child: Child,
    pub url: String,
    pub pki_dir: PathBuf,
    stderr: PathBuf,
    _group: Registered,
    _dir_registered: Registered,
    _tmp: tempfile::TempDir,
}

impl Drop for GatewayUnderTest {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this process created.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; whatever is left of the group.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
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
        .stderr(std::fs::File::create(&stderr).context("stderr file")?)
        .process_group(0);
    mtls_harness::interrupt::unblock_signals_in_child(&mut cmd);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {kind}"))?;
    let group = Registry::global().register_process_group(child.id());
    let mut gateway = GatewayUnderTest {
        child,
        url: format!("https://127.0.0.1:{port}"),
        pki_dir,
        stderr,
        _group: group,
        _dir_registered: dir_registered,
        _tmp: tmp,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = gateway.child.try_wait() {
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
