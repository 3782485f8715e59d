//! Real middleboxes between the client and a gateway (built-in or real):
//! tunnels (tinyproxy, squid), interceptors (mitmproxy, nginx without
//! `ssl_verify_client`) and TLS offloaders (stunnel, nginx, HAProxy, Apache),
//! each rendered
//! from a scenario's `[middlebox]` table into its own temporary prefix on
//! 127.0.0.1, started per case in its own process group and always stopped
//! (the group killed and the leader reaped, also on panic and interruption:
//! the group and the prefix are in the [`interrupt`] registry while they live).
//!
//! Each program is one file here implementing `MiddleboxProgram` and one line
//! in the registry below.

mod registry;

use crate::case::{client_spec, gateway_config, run_case, CaseError};
use crate::gateway::ProfileKind;
use crate::interrupt::{self, group_members, Registered, Registry};
use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::observation::{Observation, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{MiddleboxSpec, ScenarioFile};
use crate::tls::Timeouts;
use registry::real_middleboxes;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

// The registry: one line per real middlebox program, `Variant => module::Program`.
real_middleboxes! {
    /// tinyproxy: an HTTP CONNECT tunnel.
    Tinyproxy => tinyproxy::Tinyproxy,
    /// squid without bumping: an HTTP CONNECT tunnel.
    Squid => squid::Squid,
    /// mitmproxy's `mitmdump` in reverse mode: an interceptor.
    Mitmproxy => mitmproxy::Mitmproxy,
    /// squid with `ssl_bump`: an interceptor the client sends CONNECT to.
    SquidBump => squid_bump::SquidBump,
    /// stunnel: an offloader that cannot add headers (a chained `client = yes` service upstream).
    Stunnel => stunnel::Stunnel,
    /// nginx `proxy_pass https://`: an offloader (or an interceptor without `ssl_verify_client`).
    Nginx => nginx::Nginx,
    /// HAProxy: an offloader writing RFC 9440 `Client-Cert` or base64 DER.
    Haproxy => haproxy::Haproxy,
    /// Apache httpd mod_proxy: an offloader writing `%{SSL_CLIENT_CERT}s`.
    Apache => apache::Apache,
}

/// The command that installs every real middlebox on Debian/Ubuntu.
pub const INSTALL_HINT: &str =
    "apt-get install -y tinyproxy squid-openssl mitmproxy stunnel4 nginx";

/// How long a middlebox may take to listen (mitmproxy takes about 2 s on an
/// idle 2-core machine; polled, so this costs nothing when it is quick).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a middlebox has to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

impl fmt::Display for RealMiddlebox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "real:{}", self.name())
    }
}

impl RealMiddlebox {
    /// The middlebox named `name` (after `real:`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The installed executable.
    pub fn find_program(self) -> Result<PathBuf, crate::real::RealError> {
        super::kind::find_installed(self.program(), self.package())
    }

    /// Whether it can be configured as `spec` says; the reason otherwise.
    pub fn supports(self, spec: &MiddleboxSpec) -> Result<(), String> {
        if !self.kinds().contains(&spec.kind) {
            return Err(format!("{self} is no {} middlebox", spec.kind.name()));
        }
        let requests = spec
            .request_client_cert
            .unwrap_or(spec.kind.requests_client_cert());
        if spec.kind == MiddleboxKind::Intercept && requests {
            return Err(format!(
                "{self} as an interceptor asks the client for no certificate"
            ));
        }
        if let Some(h) = spec.header {
            if !self.headers().contains(&h) {
                return Err(format!("{self} cannot write a {} header", h.name()));
            }
        }
        if spec.kind == MiddleboxKind::Offload && !requests {
            return Err(format!(
                "{self}: an offloader that asks for no certificate is an interceptor"
            ));
        }
        Ok(())
    }
}

/// One real middlebox program.
pub(crate) trait MiddleboxProgram {
    /// The name after `real:`.
    const NAME: &'static str;
    /// The executable, looked for on `PATH` and in the sbin directories.
    const PROGRAM: &'static str;
    /// The Debian package that provides it.
    const PACKAGE: &'static str;
    /// The kinds it can be configured as.
    const KINDS: &'static [MiddleboxKind];
    /// The header formats it can write.
    const HEADERS: &'static [ForwardHeader] = &[];
    /// It needs a second local port (stunnel's chained upstream service).
    const SPARE_PORT: bool = false;
    /// The client sends it CONNECT although it terminates TLS (squid
    /// `ssl_bump`), as to a tunnel.
    const EXPLICIT_PROXY: bool = false;

    /// Add its config files and arguments to `out`.
    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox);
}

/// What a middlebox program renders from; every path is below `prefix`.
#[derive(Debug)]
pub(crate) struct MiddleboxJob<'a> {
    pub prefix: &'a Path,
    pub port: u16,
    /// A second free port on 127.0.0.1 (programs with `SPARE_PORT`).
    pub spare_port: u16,
    pub upstream: SocketAddr,
    /// The name the upstream's certificate carries (and SNI).
    pub upstream_name: &'a str,
    pub kind: MiddleboxKind,
    pub header: Option<ForwardHeader>,
    pub request_client_cert: bool,
    pub version: TlsVersion,
    /// Whether it authenticates upstream with `proxy.pem` / `proxy.key`.
    pub upstream_identity: bool,
}

impl MiddleboxJob<'_> {
    pub fn path(&self, rel: &str) -> String {
        self.prefix.join(rel).display().to_string()
    }
}

/// The files the harness writes for every program: the certificate shown to
/// clients, the CAs that verify clients and the upstream, and the proxy's
/// own upstream identity.
pub mod files {
    /// The certificate shown to clients, with its intermediates.
    pub const FRONT_CHAIN: &str = "front.pem";
    pub const FRONT_KEY: &str = "front.key";
    /// Chain and key in one file (mitmproxy `--certs`).
    pub const FRONT_COMBINED: &str = "front-combined.pem";
    /// The gateway's trust anchors: what an offloader verifies clients with.
    pub const CLIENT_CA: &str = "client-ca.pem";
    /// The root the gateway's certificate chains to.
    pub const UPSTREAM_CA: &str = "upstream-ca.pem";
    /// `[middlebox] upstream_cert`, with its intermediates.
    pub const PROXY_CHAIN: &str = "proxy.pem";
    pub const PROXY_KEY: &str = "proxy.key";
    /// Chain and key in one file (mitmproxy `client_certs`).
    pub const PROXY_COMBINED: &str = "proxy-combined.pem";
    /// The root of the gateway's certificate with its key: what an
    /// interceptor that mints certificates signs them with (the client
    /// trusts it).
    pub const SIGNING_CA: &str = "signing-ca.pem";
}

/// A rendered middlebox: its files and command line.
#[derive(Debug, Clone, Default)]
pub struct RenderedMiddlebox {
    /// (path relative to the prefix, contents)
    pub files: Vec<(String, String)>,
    pub dirs: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The main config file (relative), if the program has one.
    pub config_file: Option<String>,
    /// Log files (relative) whose new lines are the middlebox's log.
    pub logs: Vec<String>,
    /// Commands (argv) run in the prefix before it starts.
    pub setup: Vec<Vec<String>>,
    /// Files and directories (relative) its unprivileged workers must read
    /// and write when it runs as root and drops privileges to
    /// [`WORKER_USER`] (squid): handed to that user, still private to it
    /// (files 0600, directories 0700); the prefix is made traversable.
    pub shared: Vec<String>,
}

impl RenderedMiddlebox {
    /// Write every file and directory below `prefix` (keys mode 0600).
    pub fn write(&self, prefix: &Path) -> Result<(), std::io::Error> {
        write(self, prefix)
            .map_err(|(path, e)| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

/// Why a real middlebox could not run.
#[derive(Debug, thiserror::Error)]
pub enum MiddleboxError {
    #[error(transparent)]
    Real(#[from] crate::real::RealError),
    #[error("{program}: {}: {source}", path.display())]
    Io {
        program: RealMiddlebox,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} exited during startup ({status}); its output:\n{log}")]
    Exited {
        program: RealMiddlebox,
        status: String,
        log: String,
    },
    #[error("{program} did not listen on 127.0.0.1:{port} within {secs} s; its output:\n{log}")]
    NotReady {
        program: RealMiddlebox,
        port: u16,
        secs: u64,
        log: String,
    },
    #[error("{0}: a certificate the scenario names: {1}")]
    Pki(&'static str, #[source] crate::pki::PkiError),
}

impl From<MiddleboxError> for CaseError {
    fn from(e: MiddleboxError) -> Self {
        match e {
            MiddleboxError::Real(r) => r.into(),
            other => CaseError::Setup(other.to_string()),
        }
    }
}

/// Render `program` for `spec` in front of `upstream` into `prefix`: the
/// shared PKI files and the program's own (nothing is written).
#[allow(clippy::too_many_arguments)]
pub fn render(
    program: RealMiddlebox,
    pki: &Pki,
    file: &ScenarioFile,
    spec: &MiddleboxSpec,
    upstream: SocketAddr,
    version: TlsVersion,
    port: u16,
    spare_port: u16,
    prefix: &Path,
) -> Result<RenderedMiddlebox, MiddleboxError> {
    let front = pki
        .cert(spec.cert.as_deref().unwrap_or(&file.server.cert))
        .map_err(|e| MiddleboxError::Pki("middlebox.cert", e))?;
    let server = pki
        .cert(&file.server.cert)
        .map_err(|e| MiddleboxError::Pki("server.cert", e))?;
    let root = pki
        .cert(server.root.as_deref().unwrap_or(&server.name))
        .map_err(|e| MiddleboxError::Pki("server.cert", e))?;
    let trust = pki
        .resolve(&file.server.trust)
        .map_err(|e| MiddleboxError::Pki("server.trust", e))?;
    let mut out = RenderedMiddlebox::default();
    let chain_pem = |c: &crate::pki::IssuedCert| -> String {
        c.chain_with_leaf()
            .iter()
            .map(|d| crate::pki::IssuedCert::pem_of(d))
            .collect()
    };
    let front_chain = chain_pem(front);
    out.files
        .push((files::FRONT_CHAIN.into(), front_chain.clone()));
    out.files.push((files::FRONT_KEY.into(), front.key_pem()));
    out.files.push((
        files::FRONT_COMBINED.into(),
        format!("{front_chain}{}", front.key_pem()),
    ));
    out.files.push((
        files::CLIENT_CA.into(),
        trust.iter().map(|c| c.cert_pem()).collect(),
    ));
    out.files.push((files::UPSTREAM_CA.into(), root.cert_pem()));
    out.files.push((
        files::SIGNING_CA.into(),
        format!("{}{}", root.cert_pem(), root.key_pem()),
    ));
    if let Some(name) = &spec.upstream_cert {
        let c = pki
            .cert(name)
            .map_err(|e| MiddleboxError::Pki("middlebox.upstream_cert", e))?;
        let chain = chain_pem(c);
        out.files.push((files::PROXY_CHAIN.into(), chain.clone()));
        out.files.push((files::PROXY_KEY.into(), c.key_pem()));
        out.files.push((
            files::PROXY_COMBINED.into(),
            format!("{chain}{}", c.key_pem()),
        ));
    }
    let job = MiddleboxJob {
        prefix,
        port,
        spare_port,
        upstream,
        upstream_name: "localhost",
        kind: spec.kind,
        header: spec.header,
        request_client_cert: spec
            .request_client_cert
            .unwrap_or(spec.kind.requests_client_cert()),
        version,
        upstream_identity: spec.upstream_cert.is_some(),
    };
    program.render_program(&job, &mut out);
    Ok(out)
}

/// A free port on 127.0.0.1 (free now; the program binds it).
fn free_port(program: RealMiddlebox) -> Result<u16, MiddleboxError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| MiddleboxError::Io {
            program,
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })
}

/// A running real middlebox. Dropping it stops it.
#[derive(Debug)]
pub struct RunningRealMiddlebox {
    program: RealMiddlebox,
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
    rendered: RenderedMiddlebox,
    startup: Duration,
    group: Option<Registered>,
    // Last: removed once the processes are gone, then unregistered.
    prefix: tempfile::TempDir,
    _prefix_registered: Registered,
}

/// Who holds a listening socket.
enum Holder {
    /// A process of the middlebox's group.
    Us,
    /// Another process (the port was taken in between).
    Someone,
    /// Nothing listens on 127.0.0.1 there (yet).
    Nobody,
    /// /proc cannot tell.
    Unknown,
}

/// Attempts at a free port (another process may take it in between).
const PORT_ATTEMPTS: u32 = 3;

impl RunningRealMiddlebox {
    /// Render, write and start `program` for the scenario's `[middlebox]`
    /// in front of `upstream`, and wait until it listens.
    pub async fn start(
        program: RealMiddlebox,
        pki: &Pki,
        file: &ScenarioFile,
        spec: &MiddleboxSpec,
        upstream: SocketAddr,
        version: TlsVersion,
    ) -> Result<Self, MiddleboxError> {
        let exe = program.find_program()?;
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            match Self::start_once(program, &exe, pki, file, spec, upstream, version).await {
                Err(MiddleboxError::Exited { log, .. })
                    if log.contains("in use") || log.contains("Address already") =>
                {
                    last = Some(log);
                }
                other => return other,
            }
        }
        Err(MiddleboxError::Exited {
            program,
            status: format!("no free port after {PORT_ATTEMPTS} attempts"),
            log: last.unwrap_or_default(),
        })
    }

    async fn start_once(
        program: RealMiddlebox,
        exe: &Path,
        pki: &Pki,
        file: &ScenarioFile,
        spec: &MiddleboxSpec,
        upstream: SocketAddr,
        version: TlsVersion,
    ) -> Result<Self, MiddleboxError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| MiddleboxError::Io {
                program,
                path,
                source,
            }
        };
        let (prefix, prefix_registered) = Registry::global()
            .create_temp_dir(&format!("mtls-middlebox-{}-", program.name()))
            .map_err(io(&std::env::temp_dir()))?;
        let port = free_port(program)?;
        let spare = if program.needs_spare_port() {
            free_port(program)?
        } else {
            0
        };
        let rendered = render(
            program,
            pki,
            file,
            spec,
            upstream,
            version,
            port,
            spare,
            prefix.path(),
        )?;
        write(&rendered, prefix.path()).map_err(|(p, e)| io(&p)(e))?;
        prepare(&rendered, prefix.path()).map_err(|(p, e)| io(&p)(e))?;
        let mut cmd =
            super::spawn::program_command(exe, &rendered.args, &rendered.env, prefix.path())
                .map_err(|(p, e)| io(&p)(e))?;
        let started = Instant::now();
        let (child, group) = Registry::global()
            .spawn_process_group(&mut cmd)
            .map_err(io(exe))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut running = RunningRealMiddlebox {
            program,
            pid: child.id(),
            child: Some(child),
            addr,
            rendered,
            startup: Duration::ZERO,
            group: Some(group),
            prefix,
            _prefix_registered: prefix_registered,
        };
        let deadline = started + START_TIMEOUT;
        loop {
            if let Some(child) = running.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    running.child = None;
                    let log = running.output();
                    running.stop();
                    return Err(MiddleboxError::Exited {
                        program,
                        status: status.to_string(),
                        log,
                    });
                }
            }
            // A connection that sends nothing: every program here takes it
            // as a client that went away.
            let probe = tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(addr),
            )
            .await;
            if matches!(probe, Ok(Ok(_))) {
                match running.listener() {
                    Holder::Us | Holder::Unknown => {
                        running.startup = started.elapsed();
                        return Ok(running);
                    }
                    // Another process took the port: a new one is tried.
                    Holder::Someone => {
                        running.stop();
                        return Err(MiddleboxError::Exited {
                            program,
                            status: "not started".into(),
                            log: format!("127.0.0.1:{port} already in use by another process"),
                        });
                    }
                    Holder::Nobody => {}
                }
            }
            if Instant::now() > deadline {
                let log = running.output();
                running.stop();
                return Err(MiddleboxError::NotReady {
                    program,
                    port,
                    secs: START_TIMEOUT.as_secs(),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Who holds the socket listening on 127.0.0.1 at our port.
    fn listener(&self) -> Holder {
        let port = format!("0100007F:{:04X}", self.addr.port());
        let Ok(tcp) = std::fs::read_to_string("/proc/net/tcp") else {
            return Holder::Unknown;
        };
        let Some(inode) = tcp.lines().skip(1).find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() > 9 && cols[1] == port && cols[3] == "0A")
                .then(|| format!("socket:[{}]", cols[9]))
        }) else {
            return Holder::Nobody;
        };
        let mut readable = false;
        for (pid, _) in group_members(self.pid) {
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            readable = true;
            for fd in fds.flatten() {
                if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == inode.as_str()) {
                    return Holder::Us;
                }
            }
        }
        if readable {
            Holder::Someone
        } else {
            Holder::Unknown
        }
    }

    pub fn program(&self) -> RealMiddlebox {
        self.program
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The temporary prefix its files are in (removed when it stops).
    pub fn prefix(&self) -> &Path {
        self.prefix.path()
    }

    /// From spawning to accepting connections.
    pub fn startup(&self) -> Duration {
        self.startup
    }

    pub fn rendered(&self) -> &RenderedMiddlebox {
        &self.rendered
    }

    /// What it wrote to its logs, stdout and stderr (the last lines).
    pub fn output(&self) -> String {
        let mut rels = self.rendered.logs.clone();
        rels.extend(["stdout.log".to_string(), "stderr.log".to_string()]);
        let mut out = String::new();
        for rel in rels {
            let Ok(b) = std::fs::read(self.prefix.path().join(&rel)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&b);
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if !lines.is_empty() {
                let tail = &lines[lines.len().saturating_sub(15)..];
                out.push_str(&format!("--- {rel}\n{}\n", tail.join("\n")));
            }
        }
        if out.is_empty() {
            out.push_str("(no output)\n");
        }
        out
    }

    /// Stop it: SIGTERM to the group, [`STOP_GRACE`] to exit, then SIGKILL;
    /// the leader is reaped and no member of the group is left. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            interrupt::kill_group(self.pid, libc::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            interrupt::kill_group(self.pid, libc::SIGKILL);
            let _ = child.wait();
        } else if self.group.is_some() {
            interrupt::kill_group(self.pid, libc::SIGKILL);
        }
        // Helpers that outlived the leader (squid's) are in the group too.
        let deadline = Instant::now() + STOP_GRACE;
        while self.group.is_some()
            && !group_members(self.pid).is_empty()
            && Instant::now() < deadline
        {
            interrupt::kill_group(self.pid, libc::SIGKILL);
            std::thread::sleep(Duration::from_millis(5));
        }
        self.group = None;
    }
}

impl Drop for RunningRealMiddlebox {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write(r: &RenderedMiddlebox, prefix: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    for d in &r.dirs {
        let p = prefix.join(d);
        std::fs::create_dir_all(&p).map_err(|e| (p, e))?;
    }
    for (rel, contents) in &r.files {
        let p = prefix.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| (parent.to_path_buf(), e))?;
        }
        std::fs::write(&p, contents).map_err(|e| (p.clone(), e))?;
        if rel.ends_with(".key") || rel.ends_with("combined.pem") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| (p.clone(), e))?;
        }
    }
    Ok(())
}

/// The user squid's workers run as when it starts as root (Debian's
/// `cache_effective_user` default).
pub const WORKER_USER: &str = "proxy";

/// How long one setup command (squid's certificate database) may take.
const SETUP_LIMIT: Duration = Duration::from_secs(60);

/// Run the setup commands, then hand to the unprivileged workers what they
/// need.
fn prepare(r: &RenderedMiddlebox, prefix: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    use std::os::unix::fs::PermissionsExt;
    for argv in &r.setup {
        let Some((exe, args)) = argv.split_first() else {
            continue;
        };
        let mut cmd = Command::new(exe);
        cmd.args(args).current_dir(prefix);
        let out = crate::real::bounded::output_within(&mut cmd, SETUP_LIMIT)
            .map_err(|e| (PathBuf::from(exe), std::io::Error::other(e.to_string())))?;
        if !out.status.success() {
            let msg = format!(
                "{} failed ({}): {}",
                argv.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return Err((PathBuf::from(exe), std::io::Error::other(msg)));
        }
    }
    // SAFETY: geteuid has no preconditions.
    if r.shared.is_empty() || unsafe { libc::geteuid() } != 0 {
        // Not root: the workers run as this user and already own it all.
        return Ok(());
    }
    let (uid, gid) = worker_ids().ok_or_else(|| {
        (
            PathBuf::from(WORKER_USER),
            std::io::Error::other(format!("no user `{WORKER_USER}` for the workers")),
        )
    })?;
    let set = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .and_then(|()| std::os::unix::fs::chown(p, Some(uid), Some(gid)))
            .map_err(|e| (p.to_path_buf(), e))
    };
    std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| (prefix.to_path_buf(), e))?;
    for rel in &r.shared {
        let mut stack = vec![prefix.join(rel)];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                set(&p, 0o700)?;
                for e in std::fs::read_dir(&p).map_err(|e| (p.clone(), e))?.flatten() {
                    stack.push(e.path());
                }
            } else if p.exists() {
                set(&p, 0o600)?;
            }
        }
    }
    Ok(())
}

/// The uid and gid of [`WORKER_USER`].
fn worker_ids() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(WORKER_USER).ok()?;
    // SAFETY: getpwnam reads a NUL-terminated name; the record is copied out
    // at once (no other thread of ours calls getpwnam).
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: non-null, as checked.
    let pw = unsafe { &*pw };
    Some((pw.pw_uid, pw.pw_gid))
}

/// Which gateway a middlebox case runs in front of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A built-in gateway profile.
    Builtin(ProfileKind),
    /// A real gateway process.
    Real(crate::real::RealKind),
}

/// Run one case with `program` as the scenario's middlebox in front of
/// `origin`. A scenario without `[middlebox]` runs as it would without one.
pub async fn run_case_via(
    pki: &Pki,
    file: &ScenarioFile,
    origin: Origin,
    program: RealMiddlebox,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    run_case_via_with(pki, file, origin, program, version, timeouts, |_| {}).await
}

/// As [`run_case_via`], calling `on_start` with the running middlebox.
pub async fn run_case_via_with(
    pki: &Pki,
    file: &ScenarioFile,
    origin: Origin,
    program: RealMiddlebox,
    version: TlsVersion,
    timeouts: Timeouts,
    on_start: impl FnOnce(&RunningRealMiddlebox),
) -> Result<Observation, CaseError> {
    let Some(spec) = &file.middlebox else {
        return match origin {
            Origin::Builtin(profile) => run_case(pki, file, profile, version, timeouts).await,
            Origin::Real(kind) => {
                crate::real::run_case_real(pki, file, kind, version, timeouts).await
            }
        };
    };
    program.supports(spec).map_err(CaseError::Unsupported)?;
    let mut client = client_spec(pki, file, version, timeouts)?;
    match origin {
        Origin::Builtin(profile) => {
            let config = gateway_config(
                pki,
                &file.server,
                profile,
                vec![version],
                timeouts,
                spec.upstream_cert.as_deref(),
            )?;
            let gateway = crate::tls::server::start(config)
                .await
                .map_err(|e| match e {
                    crate::tls::TlsError::Unmodelled(why) => CaseError::Unsupported(why.into()),
                    other => CaseError::Tls {
                        field: "server",
                        source: other,
                    },
                })?;
            let mb = match RunningRealMiddlebox::start(
                program,
                pki,
                file,
                spec,
                gateway.addr(),
                version,
            )
            .await
            {
                Ok(mb) => mb,
                Err(e) => {
                    gateway.shutdown().await;
                    return Err(e.into());
                }
            };
            on_start(&mb);
            let target = through(&mut client, program, spec, mb.addr(), gateway.addr());
            let mut obs = client
                .exchange_connections(target, file.client.connections)
                .await
                .0;
            drop(mb);
            let record = gateway.last_record(Duration::from_secs(3)).await;
            if let Some(log) = record.map(|r| r.log).filter(|l| !l.is_empty()) {
                obs.gateway_log = Some(log);
            }
            gateway.shutdown().await;
            Ok(obs)
        }
        Origin::Real(kind) => {
            let server = crate::real::RealServer::start(kind, pki, &file.server, version).await?;
            let mark = server.log_mark();
            let mb = RunningRealMiddlebox::start(program, pki, file, spec, server.addr(), version)
                .await?;
            on_start(&mb);
            let target = through(&mut client, program, spec, mb.addr(), server.addr());
            let mut obs = client
                .exchange_connections(target, file.client.connections)
                .await
                .0;
            drop(mb);
            let log = server.log_since(&mark);
            if !log.is_empty() {
                obs.gateway_log = Some(log);
            }
            server.shutdown().await;
            Ok(obs)
        }
    }
}

/// Where the client connects: through a tunnel to the gateway, or to the
/// terminating middlebox itself.
fn through(
    client: &mut crate::tls::client::ClientSpec,
    program: RealMiddlebox,
    spec: &MiddleboxSpec,
    middlebox: SocketAddr,
    gateway: SocketAddr,
) -> SocketAddr {
    if spec.kind == MiddleboxKind::Tunnel || program.explicit_proxy() {
        client.via_tunnel = Some(middlebox);
        gateway
    } else {
        middlebox
    }
}
