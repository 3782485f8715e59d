//! Running a real gateway: start it in the foreground in its own temporary
//! prefix and process group, on a socket no other case can take, wait until
//! it is ready, read its logs, and always stop it (the whole group is killed
//! and the leader reaped, also on panic and on interruption: the group and
//! the prefix are in the [`interrupt`] registry while they live).
//!
//! The socket: a program that can inherit one ([`Listener::Inherited`])
//! gets a socket the harness bound and listens on, as descriptor
//! [`INHERITED_FD`]; the port is never free in between. One that binds its
//! port itself gets a free port, and is ready only once a handshake on that
//! port shows this case's own server certificate; a port another process
//! took (the program failed to bind, or someone else's server answers) is
//! retried with another one, never judged.

use super::identity::presented_certificate;
use super::process::net::{listener_holder, listening, server_closed, Holder};
use super::process::ProcessGroup;
use super::render::{render_listening, Listen, Listener, INHERITED_FD};
use super::{RealError, RealKind, RenderedGateway};
use crate::interrupt::{Registered, Registry};
use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::scenario::schema::ServerSpec;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running real gateway. Dropping it stops it: SIGTERM to its process
/// group, then SIGKILL after a grace period, and the leader is reaped.
#[derive(Debug)]
pub struct RealServer {
    kind: RealKind,
    /// The program's process group (stopped on drop).
    group: ProcessGroup,
    addr: SocketAddr,
    rendered: RenderedGateway,
    // Last: removed after the process is gone, then unregistered.
    _prefix: tempfile::TempDir,
    _prefix_registered: Registered,
}

/// How long a gateway may take to become ready. Readiness is polled, so this
/// costs nothing when the program is quick; it is generous because a loaded
/// 2-core machine once took Apache 10 s to load 2,000 CA names.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the gateway may take to finish logging a connection once the
/// client is done with it.
pub const LOG_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a gateway has to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Attempts at a free port for a program that binds its port itself.
const PORT_ATTEMPTS: u32 = 5;

fn listen_error(source: std::io::Error) -> RealError {
    RealError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    }
}

/// A socket bound to a free port on 127.0.0.1 and listening.
fn bound_listener() -> Result<TcpListener, RealError> {
    TcpListener::bind("127.0.0.1:0").map_err(listen_error)
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

/// Whether a process of group `pgid` holds the socket listening on
/// 127.0.0.1:`port`. `None`: it cannot be told (nothing listens, or the
/// descriptors cannot be read).
fn group_holds_listener(pgid: u32, port: u16) -> Option<bool> {
    match listener_holder(pgid, port) {
        Holder::Group => Some(true),
        Holder::Someone => Some(false),
        Holder::Nobody | Holder::Unknown => None,
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Give the child `listener` as descriptor [`INHERITED_FD`] (without
/// close-on-exec; every other descriptor of ours keeps it).
fn pass_listener(cmd: &mut Command, listener: &TcpListener) {
    use std::os::unix::io::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = listener.as_raw_fd();
    // SAFETY: runs in the forked child before exec, after its stdio is in
    // place; dup2 and fcntl are async-signal-safe and touch only the
    // child's descriptor table.
    unsafe {
        cmd.pre_exec(move || {
            let r = if fd == INHERITED_FD {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC)
            } else {
                libc::dup2(fd, INHERITED_FD)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl RealServer {
    /// Render, write and start `kind` for `server`, pinned to `version`, and
    /// wait until it is ready.
    pub async fn start(
        kind: RealKind,
        pki: &Pki,
        server: &ServerSpec,
        version: TlsVersion,
    ) -> Result<RealServer, RealError> {
        Self::start_trying(kind, pki, server, version, &[]).await
    }

    /// [`Self::start`], a program that binds its port trying `ports` first
    /// (then free ones): how the tests stage a collision.
    async fn start_trying(
        kind: RealKind,
        pki: &Pki,
        server: &ServerSpec,
        version: TlsVersion,
        ports: &[u16],
    ) -> Result<RealServer, RealError> {
        let own_cert = pki
            .cert(&server.cert)
            .map_err(RealError::ServerCert)?
            .der
            .to_vec();
        let render = |listen: Listen, prefix: &Path| {
            render_listening(kind, pki, server, version, listen, prefix)
        };
        Self::start_with(kind, &own_cert, version, ports, &render).await
    }

    /// Start `kind` from a configuration `render` writes for a listening
    /// socket and a prefix (not a scenario's `[server]`: the after-request
    /// measurements' Apache), with everything [`Self::start`] does: its own
    /// prefix and process group, a port proven by a handshake that shows
    /// `own_cert` (DER) on `version`, retried when taken.
    pub(crate) async fn start_rendered(
        kind: RealKind,
        own_cert: &[u8],
        version: TlsVersion,
        render: &(dyn Fn(Listen, &Path) -> Result<RenderedGateway, RealError> + Sync),
    ) -> Result<RealServer, RealError> {
        Self::start_with(kind, own_cert, version, &[], render).await
    }

    async fn start_with(
        kind: RealKind,
        own_cert: &[u8],
        version: TlsVersion,
        ports: &[u16],
        render: &(dyn Fn(Listen, &Path) -> Result<RenderedGateway, RealError> + Sync),
    ) -> Result<RealServer, RealError> {
        let program = kind.find_program()?;
        if kind.listener() == Listener::Inherited {
            return Self::start_once(kind, &program, own_cert, version, None, render).await;
        }
        let mut last = None;
        for attempt in 0..PORT_ATTEMPTS {
            let port = ports.get(attempt as usize).copied();
            match Self::start_once(kind, &program, own_cert, version, port, render).await {
                // Tomcat logs a BindException as SEVERE and keeps running.
                Err(RealError::Exited { log, .. } | RealError::Refused { log, .. })
                    if log.contains("in use") =>
                {
                    last = Some(log);
                }
                Err(e @ RealError::PortTaken { .. }) => last = Some(e.to_string()),
                other => return other,
            }
        }
        Err(RealError::NoFreePort {
            kind,
            attempts: PORT_ATTEMPTS,
            log: last.unwrap_or_default(),
        })
    }

    async fn start_once(
        kind: RealKind,
        program: &Path,
        own_cert: &[u8],
        version: TlsVersion,
        port: Option<u16>,
        render: &(dyn Fn(Listen, &Path) -> Result<RenderedGateway, RealError> + Sync),
    ) -> Result<RealServer, RealError> {
        let (prefix, prefix_registered) = Registry::global()
            .create_temp_dir(&format!("mtls-real-{}-", kind.name()))
            .map_err(|source| RealError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let (listener, listen) = match kind.listener() {
            Listener::Inherited => {
                let l = bound_listener()?;
                let port = l.local_addr().map_err(listen_error)?.port();
                (Some(l), Listen::Inherited { port })
            }
            Listener::BindsPort => {
                // Free now; the program binds it later (and the identity
                // check below catches anyone who took it in between).
                let port = match port {
                    Some(p) => p,
                    None => bound_listener()?.local_addr().map_err(listen_error)?.port(),
                };
                (None, Listen::Port(port))
            }
        };
        let port = listen.port();
        let rendered = render(listen, prefix.path())?;
        rendered.write()?;
        let mut cmd =
            super::spawn::program_command(program, &rendered.args, &rendered.env, prefix.path())
                .map_err(|(path, source)| RealError::Io { path, source })?;
        if let (Some(l), Some(_)) = (&listener, rendered.inherited_fd) {
            pass_listener(&mut cmd, l);
        }
        let group = ProcessGroup::spawn(&mut cmd, STOP_GRACE).map_err(|source| RealError::Io {
            path: program.to_path_buf(),
            source,
        })?;
        // The child holds the socket now.
        drop(listener);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut server = RealServer {
            kind,
            group,
            addr,
            rendered,
            _prefix: prefix,
            _prefix_registered: prefix_registered,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.group.try_wait() {
                let log = server.startup_log();
                // Whatever it left in its group.
                server.group.kill();
                return Err(RealError::Exited {
                    kind,
                    status: status.to_string(),
                    log,
                });
            }
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
            let marked = server
                .rendered
                .ready_marker
                .as_ref()
                .is_none_or(|(rel, text)| {
                    std::fs::read(server.rendered.path(rel))
                        .is_ok_and(|b| String::from_utf8_lossy(&b).contains(text.as_str()))
                });
            let up = marked
                && match server.rendered.inherited_fd {
                    // Our own socket: listening since before the start.
                    Some(_) => true,
                    None => server.proven(own_cert, version).await?,
                };
            if up {
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

    /// For a program that binds its port: whether the server on it is this
    /// case's. It must listen; the listening socket must be held by a
    /// process of our group (from /proc, no connection); and a handshake
    /// must show `own_cert`. A server whose configuration makes it abort
    /// before its certificate (an oversized CA list) proves itself by the
    /// socket alone. Another certificate or another holder: the port is
    /// someone else's ([`RealError::PortTaken`]). The probe's log lines
    /// are written before this returns (it waits for the server to close
    /// the probe), so none is taken for the case's.
    async fn proven(&mut self, own_cert: &[u8], version: TlsVersion) -> Result<bool, RealError> {
        let port = self.addr.port();
        if listening(port) == Some(false) {
            return Ok(false);
        }
        let holds = group_holds_listener(self.pid(), port);
        if holds == Some(false) {
            return Err(self.port_taken());
        }
        let probe = presented_certificate(self.addr, version, Duration::from_secs(2)).await;
        if let Some(local) = probe.local {
            self.wait_closed(local).await;
        }
        match probe.certificate {
            Some(presented) if presented != own_cert => Err(self.port_taken()),
            Some(_) => Ok(true),
            None => Ok(holds == Some(true)),
        }
    }

    fn port_taken(&mut self) -> RealError {
        let log = self.startup_log();
        self.stop();
        RealError::PortTaken {
            kind: self.kind,
            addr: self.addr,
            log,
        }
    }

    /// Wait (polling, up to [`LOG_TIMEOUT`]) until the gateway closed its
    /// end of the connection from `client`: nginx, HAProxy, Apache and
    /// s_server write what they log about a connection before closing it.
    /// Without /proc/net/tcp (not Linux) there is nothing to wait on.
    async fn wait_closed(&self, client: SocketAddr) {
        let deadline = Instant::now() + LOG_TIMEOUT;
        while Instant::now() < deadline {
            if server_closed(self.addr, client) != Some(false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// What the gateway logged about the connection from `client` since
    /// `mark`, once it closed that connection (or [`LOG_TIMEOUT`] passed).
    pub async fn log_of_connection(&self, mark: &[usize], client: Option<SocketAddr>) -> String {
        // Never connected (no client address): nothing to wait for.
        if let Some(client) = client {
            self.wait_closed(client).await;
        }
        self.log_since(mark)
    }

    pub fn kind(&self) -> RealKind {
        self.kind
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> u32 {
        self.group.pid()
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

    /// Stop the gateway: SIGTERM to the group, up to 5 s to exit, then
    /// SIGKILL; the leader is always reaped. Idempotent.
    pub fn stop(&mut self) {
        self.group.stop();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::schema::ScenarioFile;

    fn case() -> (Pki, ServerSpec) {
        let file: ScenarioFile = toml::from_str(
            r#"
description = "port"
[[pki.cert]]
name = "root"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[server]
cert = "gw"
trust = ["root"]
"#,
        )
        .expect("scenario");
        (Pki::generate(&file.pki).expect("pki"), file.server)
    }

    fn installed(kind: RealKind) -> bool {
        match kind.find_program() {
            Ok(_) => true,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{kind}: {e}"),
            Err(e) => {
                eprintln!("SKIPPED (not installed): {kind}: {e}");
                false
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inheriting_programs_serve_the_socket_the_harness_bound() {
        let (pki, server) = case();
        for kind in RealKind::ALL
            .into_iter()
            .filter(|k| k.listener() == Listener::Inherited)
        {
            if !installed(kind) {
                continue;
            }
            let s = RealServer::start(kind, &pki, &server, TlsVersion::Tls13)
                .await
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(s.rendered().inherited_fd, Some(INHERITED_FD), "{kind}");
            assert_eq!(
                group_holds_listener(s.pid(), s.addr().port()),
                Some(true),
                "{kind}"
            );
            s.shutdown().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_port_someone_else_holds_is_retried_never_judged() {
        let (pki, server) = case();
        for kind in RealKind::ALL
            .into_iter()
            .filter(|k| k.listener() == Listener::BindsPort)
        {
            if !installed(kind) {
                continue;
            }
            // Another server (another certificate) holds the first port.
            let other = bound_listener().unwrap();
            let taken = other.local_addr().unwrap().port();
            let s = RealServer::start_trying(kind, &pki, &server, TlsVersion::Tls13, &[taken])
                .await
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_ne!(s.addr().port(), taken, "{kind}");
            assert_eq!(
                group_holds_listener(s.pid(), s.addr().port()),
                Some(true),
                "{kind}"
            );
            let presented =
                presented_certificate(s.addr(), TlsVersion::Tls13, Duration::from_secs(5)).await;
            assert_eq!(
                presented.certificate.as_deref(),
                Some(pki.cert("gw").unwrap().der.as_ref()),
                "{kind}"
            );
            // Not ours: the holder is not in the gateway's group.
            assert_eq!(group_holds_listener(s.pid(), taken), Some(false), "{kind}");
            s.shutdown().await;
        }
    }
}
