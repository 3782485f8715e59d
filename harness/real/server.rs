//! Running a real gateway: start it in the foreground in its own temporary
//! prefix and process group, wait until it is ready, read its logs, and
//! always stop it (the whole group is killed and the leader reaped, also on
//! panic).

use super::{render, RealError, RealKind, RenderedGateway};
use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::scenario::schema::ServerSpec;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running real gateway. Dropping it stops it: SIGTERM to its process
/// group, then SIGKILL after a grace period, and the leader is reaped.
#[derive(Debug)]
pub struct RealServer {
    kind: RealKind,
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
    rendered: RenderedGateway,
    /// Released after the process is gone.
    _port: PortLease,
    // Last: removed after the process is gone.
    _prefix: tempfile::TempDir,
}

/// How long a gateway may take to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Ports handed to gateways of this process that are still running: a port
/// the kernel calls free may be one another gateway of ours was given a
/// moment ago and has not bound yet (tests and `fidelity` start several at
/// once); without this, two of them could be given the same port, and one
/// case would talk to the other's gateway.
static PORTS_IN_USE: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A port reserved for one gateway of this process until dropped.
#[derive(Debug)]
struct PortLease(u16);

impl Drop for PortLease {
    fn drop(&mut self) {
        PORTS_IN_USE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// A free port no other gateway of this process holds.
fn lease_port() -> Result<PortLease, RealError> {
    loop {
        let port = free_port()?;
        let mut in_use = PORTS_IN_USE.lock().unwrap_or_else(|p| p.into_inner());
        if in_use.insert(port) {
            return Ok(PortLease(port));
        }
    }
}

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
/// the check makes no connection the gateway would log; a JVM binds a
/// dual-stack socket, listed in /proc/net/tcp6 as ::ffff:127.0.0.1).
/// `None`: unknown.
fn listening(port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let v4 = format!("0100007F:{port:04X}");
    let v6 = format!("0000000000000000FFFF00000100007F:{port:04X}");
    let listed = |table: &str, want: &str| {
        table.lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1] == want && cols[3] == "0A"
        })
    };
    let table6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    Some(listed(&table, &v4) || listed(&table6, &v6))
}

/// The lines from the first that holds `marker`, stack frames left out: what
/// a program said when it refused its configuration.
fn excerpt(text: &str, marker: &str) -> String {
    let from = text.find(marker).unwrap_or(0);
    let start = text[..from].rfind('\n').map_or(0, |i| i + 1);
    text[start..]
        .lines()
        .filter(|l| !l.trim_start().starts_with("at ") && !l.trim().is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("\n")
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
        const ATTEMPTS: u32 = 3;
        let mut last = None;
        // A free port can be taken between finding and binding it: retry.
        for _ in 0..ATTEMPTS {
            match Self::start_once(kind, &program, pki, server, version).await {
                // Tomcat logs a BindException as SEVERE and keeps running.
                Err(RealError::Exited { log, .. } | RealError::Refused { log, .. })
                    if log.contains("in use") =>
                {
                    last = Some(log);
                }
                other => return other,
            }
        }
        Err(RealError::NoFreePort {
            kind,
            attempts: ATTEMPTS,
            log: last.unwrap_or_default(),
        })
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
        let lease = lease_port()?;
        let port = lease.0;
        let rendered = render(kind, pki, server, version, port, prefix.path())?;
        rendered.write()?;
        let open = |rel: &str| {
            let p = prefix.path().join(rel);
            std::fs::File::create(&p).map_err(|source| RealError::Io { path: p, source })
        };
        let mut cmd = Command::new(program);
        cmd.args(&rendered.args)
            .envs(rendered.env.iter().map(|(k, v)| (k, v)))
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
            _port: lease,
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
            if let Some((rel, text)) = &server.rendered.failure_marker {
                // Only what the program logged while starting: once ready,
                // the readiness handshake itself may be logged (Tomcat logs
                // an exception in a handshake as SEVERE too).
                let failed = std::fs::read(server.rendered.path(rel)).is_ok_and(|b| {
                    let log = String::from_utf8_lossy(&b);
                    let startup = match &server.rendered.ready_marker {
                        Some((ready_rel, ready)) if ready_rel == rel => {
                            log.find(ready.as_str()).map_or(&log[..], |at| &log[..at])
                        }
                        _ => &log[..],
                    };
                    startup.contains(text.as_str())
                });
                if failed {
                    let log = std::fs::read(server.rendered.path(rel))
                        .map(|b| excerpt(&String::from_utf8_lossy(&b), text))
                        .unwrap_or_default();
                    server.stop();
                    return Err(RealError::Refused { kind, log });
                }
            }
            if up && marked {
                // A program that listens before it speaks TLS (Tomcat) is
                // ready once a handshake gets an answer.
                if !server.rendered.ready_by_handshake
                    || crate::tls::client::answers_tls(addr, version, Duration::from_secs(2)).await
                {
                    return Ok(server);
                }
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
