//! Real gateways: nginx, HAProxy, Apache httpd and `openssl s_server`, each
//! configured from a scenario's `[server]` table and PKI, started in the
//! foreground on 127.0.0.1 in its own temporary prefix, and always stopped
//! (its whole process group is killed and the leader reaped, also on panic).
//!
//! Each real kind is judged by the expectations of a built-in profile
//! ([`RealKind::profile`]): nginx -> nginx, HAProxy -> haproxy, Apache ->
//! apache, and `openssl s_server` -> haproxy: OpenSSL's handshake-level
//! verification with OpenSSL's own alerts, untouched. (`strict` would be
//! wrong: its alerts are rustls's. `apache` is close but not equal: mod_ssl
//! turns an expired CRL's certificate_expired into certificate_unknown, which
//! s_server and HAProxy do not; see `GatewayProfile::openssl_alert`.)
//!
//! `openssl s_server -www` answers 200 with its own status page, never the
//! "authenticated" text the other gateways are configured to return; the
//! runner ignores `body_contains` for `real:openssl` (status and alerts are
//! still judged).

pub mod render;

use crate::case::{client_spec, CaseError};
use crate::gateway::ProfileKind;
use crate::observation::{Observation, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{ScenarioFile, ServerSpec};
use crate::tls::Timeouts;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use render::{render, RenderedGateway};

/// Where Debian's apache2 keeps its modules (loaded by absolute path).
pub const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

/// The command that installs every real gateway on Debian/Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install -y nginx haproxy apache2 openssl";

/// A real gateway program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RealKind {
    Nginx,
    Haproxy,
    Apache,
    Openssl,
}

impl RealKind {
    pub const ALL: [RealKind; 4] = [
        RealKind::Nginx,
        RealKind::Haproxy,
        RealKind::Apache,
        RealKind::Openssl,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            RealKind::Nginx => "nginx",
            RealKind::Haproxy => "haproxy",
            RealKind::Apache => "apache",
            RealKind::Openssl => "openssl",
        }
    }

    /// `nginx` or `real:nginx`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.strip_prefix("real:").unwrap_or(name);
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The built-in profile whose expectations (and `[server.mode]` entry)
    /// this real gateway uses.
    pub const fn profile(self) -> ProfileKind {
        match self {
            RealKind::Nginx => ProfileKind::Nginx,
            RealKind::Haproxy => ProfileKind::Haproxy,
            RealKind::Apache => ProfileKind::Apache,
            // s_server verifies in the handshake and sends OpenSSL's alerts
            // unchanged: what the haproxy profile (`verify required`) models.
            RealKind::Openssl => ProfileKind::Haproxy,
        }
    }

    /// The executable's file name.
    pub const fn program(self) -> &'static str {
        match self {
            RealKind::Nginx => "nginx",
            RealKind::Haproxy => "haproxy",
            RealKind::Apache => "apache2",
            RealKind::Openssl => "openssl",
        }
    }

    /// The Debian package that provides it.
    pub const fn package(self) -> &'static str {
        match self {
            RealKind::Nginx => "nginx",
            RealKind::Haproxy => "haproxy",
            RealKind::Apache => "apache2",
            RealKind::Openssl => "openssl",
        }
    }

    /// The executable, from `PATH` or the sbin directories (not always on a
    /// non-root `PATH`).
    pub fn find_program(self) -> Result<PathBuf, RealError> {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
        dirs.into_iter()
            .map(|d| d.join(self.program()))
            .find(|p| p.is_file())
            .ok_or_else(|| RealError::MissingProgram {
                program: self.program().into(),
                install: format!("apt-get install -y {}", self.package()),
            })
    }
}

impl fmt::Display for RealKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "real:{}", self.name())
    }
}

/// Why a real gateway could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum RealError {
    #[error("`{program}` is not installed (install it with `{install}`)")]
    MissingProgram { program: String, install: String },
    /// The scenario asks for something this real gateway cannot be configured to do.
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Setup(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} exited during startup ({status}); its output:\n{log}")]
    Exited {
        kind: RealKind,
        status: String,
        log: String,
    },
    #[error("{kind} did not listen on {addr} within {secs} s; its output:\n{log}")]
    NotReady {
        kind: RealKind,
        addr: SocketAddr,
        secs: u64,
        log: String,
    },
}

impl From<RealError> for CaseError {
    fn from(e: RealError) -> Self {
        match e {
            RealError::Unsupported(why) => CaseError::Unsupported(why),
            other => CaseError::Setup(other.to_string()),
        }
    }
}

/// A running real gateway. Dropping it stops it: SIGTERM to its process
/// group, then SIGKILL after a grace period, and the leader is reaped.
#[derive(Debug)]
pub struct RealServer {
    kind: RealKind,
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
    rendered: RenderedGateway,
    // Last: removed after the process is gone.
    _prefix: tempfile::TempDir,
}

/// How long a gateway may take to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

fn free_port() -> Result<u16, RealError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| RealError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| RealError::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })
}

/// Whether something listens on 127.0.0.1:`port` (from /proc/net/tcp, so
/// the check makes no connection the gateway would log). `None`: unknown.
fn listening(port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = format!("0100007F:{port:04X}");
    Some(table.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() > 3 && cols[1] == want && cols[3] == "0A"
    }))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl RealServer {
    /// Render, write and start `kind` for `server`, pinned to `version`, and
    /// wait until it listens.
    pub async fn start(
        kind: RealKind,
        pki: &Pki,
        server: &ServerSpec,
        version: TlsVersion,
    ) -> Result<RealServer, RealError> {
        let program = kind.find_program()?;
        let mut last = None;
        // A free port can be taken between finding and binding it: retry.
        for _ in 0..3 {
            match Self::start_once(kind, &program, pki, server, version).await {
                Err(RealError::Exited { log, .. }) if log.contains("in use") => {
                    last = Some(log);
                }
                other => return other,
            }
        }
        Err(RealError::Setup(format!(
            "{kind}: no free port after 3 attempts: {}",
            last.unwrap_or_default()
        )))
    }

    async fn start_once(
        kind: RealKind,
        program: &Path,
        pki: &Pki,
        server: &ServerSpec,
        version: TlsVersion,
    ) -> Result<RealServer, RealError> {
        let prefix = tempfile::Builder::new()
            .prefix(&format!("mtls-real-{}-", kind.name()))
            .tempdir()
            .map_err(|source| RealError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let port = free_port()?;
        let rendered = render(kind, pki, server, version, port, prefix.path())?;
        rendered.write()?;
        let open = |rel: &str| {
            let p = prefix.path().join(rel);
            std::fs::File::create(&p).map_err(|source| RealError::Io { path: p, source })
        };
        let mut cmd = Command::new(program);
        cmd.args(&rendered.args)
            .current_dir(prefix.path())
            .stdin(Stdio::null())
            .stdout(open("stdout.log")?)
            .stderr(open("stderr.log")?);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Own process group: stopping kills every process it forked.
            cmd.process_group(0);
        }
        let child = cmd.spawn().map_err(|source| RealError::Io {
            path: program.to_path_buf(),
            source,
        })?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut server = RealServer {
            kind,
            pid: child.id(),
            child: Some(child),
            addr,
            rendered,
            _prefix: prefix,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = server.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    server.child = None;
                    let log = server.startup_log();
                    server.kill_group();
                    return Err(RealError::Exited {
                        kind,
                        status: status.to_string(),
                        log,
                    });
                }
            }
            let up = match listening(port) {
                Some(up) => up,
                None => tokio::time::timeout(
                    Duration::from_millis(200),
                    tokio::net::TcpStream::connect(addr),
                )
                .await
                .is_ok_and(|r| r.is_ok()),
            };
            let marked = server
                .rendered
                .ready_marker
                .as_ref()
                .is_none_or(|(rel, text)| {
                    std::fs::read(server.rendered.path(rel))
                        .is_ok_and(|b| String::from_utf8_lossy(&b).contains(text.as_str()))
                });
            if up && marked {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let log = server.startup_log();
                server.stop();
                return Err(RealError::NotReady {
                    kind,
                    addr,
                    secs: START_TIMEOUT.as_secs(),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn kind(&self) -> RealKind {
        self.kind
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn rendered(&self) -> &RenderedGateway {
        &self.rendered
    }

    fn read_logs(&self) -> Vec<(String, String)> {
        let mut rels: Vec<String> = self.rendered.logs.clone();
        for extra in ["stdout.log", "stderr.log"] {
            if !rels.iter().any(|r| r == extra) {
                rels.push(extra.into());
            }
        }
        rels.into_iter()
            .filter_map(|rel| {
                let text = std::fs::read(self.rendered.path(&rel)).ok()?;
                Some((rel, String::from_utf8_lossy(&text).into_owned()))
            })
            .collect()
    }

    fn startup_log(&self) -> String {
        let mut out = String::new();
        for (rel, text) in self.read_logs() {
            let t = tail(&text, 15);
            if !t.is_empty() {
                out.push_str(&format!("--- {rel}\n{t}\n"));
            }
        }
        if out.is_empty() {
            out.push_str("(no output)\n");
        }
        out
    }

    /// Sizes of the log files now: pass to [`Self::log_since`].
    pub fn log_mark(&self) -> Vec<usize> {
        self.rendered
            .logs
            .iter()
            .map(|rel| std::fs::metadata(self.rendered.path(rel)).map_or(0, |m| m.len() as usize))
            .collect()
    }

    /// What the gateway logged since `mark` (the gateway log of one request).
    pub fn log_since(&self, mark: &[usize]) -> String {
        let mut lines = Vec::new();
        for (i, rel) in self.rendered.logs.iter().enumerate() {
            let Ok(bytes) = std::fs::read(self.rendered.path(rel)) else {
                continue;
            };
            let from = mark.get(i).copied().unwrap_or(0).min(bytes.len());
            let text = String::from_utf8_lossy(&bytes[from..]);
            lines.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            );
        }
        lines.join("\n")
    }

    #[cfg(unix)]
    fn kill_group_with(&self, signal: i32) {
        // SAFETY: kill(2) with a negative pid signals our child's own process
        // group (created by process_group(0)); no memory is involved.
        unsafe {
            libc::kill(-(self.pid as i32), signal);
        }
    }

    fn kill_group(&self) {
        #[cfg(unix)]
        self.kill_group_with(libc::SIGKILL);
    }

    /// Stop the gateway: SIGTERM to the group, up to 5 s to exit, then
    /// SIGKILL; the leader is always reaped. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            self.kill_group();
            return;
        };
        #[cfg(unix)]
        self.kill_group_with(libc::SIGTERM);
        #[cfg(not(unix))]
        let _ = child.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        // Anything the leader left behind in its group.
        self.kill_group();
    }

    /// Stop without blocking the async runtime's worker.
    pub async fn shutdown(mut self) {
        let _ = tokio::task::spawn_blocking(move || self.stop()).await;
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Processes (pid, state) still alive in process group `pgid`, zombies
/// excluded (Linux: read from /proc). Empty when none or unknown.
pub fn group_members(pgid: u32) -> Vec<(u32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces and parens.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let cols: Vec<&str> = after.split_whitespace().collect();
        if cols.len() < 3 {
            continue;
        }
        let state = cols[0].chars().next().unwrap_or('?');
        if cols[2].parse::<u32>() == Ok(pgid) && state != 'Z' {
            out.push((pid, state));
        }
    }
    out
}

/// Run one case against a real gateway: start it from the scenario's
/// `[server]`, make one request with the scenario's client, stop it.
/// `on_start` sees the running server (its pid, say) before the request.
pub async fn run_case_real(
    pki: &Pki,
    file: &ScenarioFile,
    kind: RealKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    run_case_real_with(pki, file, kind, version, timeouts, |_| {}).await
}

/// As [`run_case_real`], calling `on_start` with the running server.
pub async fn run_case_real_with(
    pki: &Pki,
    file: &ScenarioFile,
    kind: RealKind,
    version: TlsVersion,
    timeouts: Timeouts,
    on_start: impl FnOnce(&RealServer),
) -> Result<Observation, CaseError> {
    if file.middlebox.is_some() {
        return Err(CaseError::Unsupported(
            "middleboxes ([middlebox]) are not built for real gateways".into(),
        ));
    }
    let client = client_spec(pki, file, version, timeouts)?;
    let server = RealServer::start(kind, pki, &file.server, version).await?;
    on_start(&server);
    let mark = server.log_mark();
    let (mut obs, local) = client.exchange_with_local_addr(server.addr()).await;
    // Gateways write their log line after answering: give them a moment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = server.log_since(&mark);
    // Apache and HAProxy name the client's address: keep this connection's
    // lines when they do (Apache logs its own startup lines meanwhile).
    let log = match local {
        Some(local) => {
            let needle = format!("127.0.0.1:{}", local.port());
            let mine: Vec<&str> = log.lines().filter(|l| l.contains(&needle)).collect();
            if mine.is_empty() {
                log
            } else {
                mine.join("\n")
            }
        }
        None => log,
    };
    if !log.is_empty() {
        obs.gateway_log = Some(log);
    }
    if let Some(seen) = obs.ca_names.as_mut() {
        // The real server sends what its names file holds; whether that was
        // cut to a budget is the harness's doing, known from the config.
        seen.truncated = server.rendered().ca_names_truncated;
    }
    server.shutdown().await;
    Ok(obs)
}
