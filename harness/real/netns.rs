//! Network (and mount) namespaces the harness creates for a program it
//! runs, so the program keeps the addresses and paths of its own
//! configuration while no packet leaves the namespace and nothing it
//! writes lands on the machine.
//!
//! A [`Namespace`] is held by a `sleep` started with `unshare(1)`; the
//! program and the setup commands enter it with `nsenter(1)`. The harness
//! reaches into it without a route: a socket made on a thread that joined
//! the namespace (`setns(2)`, per thread for network namespaces) belongs to
//! the namespace whichever thread uses it afterwards. [`Relay`] offers each
//! listener of the namespace on a loopback port of the machine that way.

use super::bounded::{output_within, BoundedError};
use super::process::ProcessGroup;
use std::fs::File;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one setup command may take.
const SETUP_LIMIT: Duration = Duration::from_secs(10);
/// How long a connection into the namespace may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);

/// Why a namespace could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("`unshare` could not start")]
    Spawn(#[source] std::io::Error),
    #[error("the namespace did not appear within 2 s (unshare: {0})")]
    NotCreated(String),
    #[error("in the namespace, `{command}` failed: {stderr}")]
    Setup { command: String, stderr: String },
    #[error(transparent)]
    Bounded(#[from] BoundedError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether this process may create network and mount namespaces: root
/// with `unshare(1)`, `nsenter(1)` and `ip(8)`.
pub fn available() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root (network and mount namespaces need CAP_SYS_ADMIN)".into());
    }
    for program in ["unshare", "nsenter", "ip", "mount"] {
        if which(program).is_none() {
            return Err(format!("`{program}` is not installed"));
        }
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A network namespace (with a mount namespace of its own when asked),
/// alive while this value is; dropping it stops its holder.
pub struct Namespace {
    holder: ProcessGroup,
    pid: u32,
    net: Arc<File>,
    mount: bool,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace").field("pid", &self.pid).finish()
    }
}

impl Namespace {
    /// A new network namespace with its loopback up; with `mount`, a
    /// private mount namespace too.
    pub fn create(mount: bool) -> Result<Namespace, NamespaceError> {
        let mut cmd = Command::new("unshare");
        cmd.arg("--net");
        if mount {
            cmd.args(["--mount", "--propagation", "private"]);
        }
        cmd.args(["sleep", "2147483647"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut holder =
            ProcessGroup::spawn(&mut cmd, Duration::ZERO).map_err(NamespaceError::Spawn)?;
        let pid = holder.pid();
        let own = std::fs::read_link("/proc/self/ns/net").ok();
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Ok(Some(status)) = holder.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = holder.take_stderr() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                return Err(NamespaceError::NotCreated(format!(
                    "{status}: {}",
                    err.trim()
                )));
            }
            let now = std::fs::read_link(&path).ok();
            if now.is_some() && now != own {
                break;
            }
            if Instant::now() > deadline {
                return Err(NamespaceError::NotCreated("still the machine's".into()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let net = File::open(&path).map_err(|source| NamespaceError::Io {
            path: path.clone(),
            source,
        })?;
        let ns = Namespace {
            holder,
            pid,
            net: Arc::new(net),
            mount,
        };
        ns.run(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The holder's pid (`ip link … netns PID` takes it).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `program` to be run inside the namespace(s).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t").arg(self.pid.to_string()).arg("--net");
        if self.mount {
            cmd.arg("--mount");
        }
        cmd.arg("--").arg(program);
        cmd
    }

    /// Run a setup command inside; its stderr is the error.
    pub fn run(&self, args: &[&str]) -> Result<(), NamespaceError> {
        let mut cmd = self.command(args[0]);
        cmd.args(&args[1..]);
        let out = output_within(&mut cmd, SETUP_LIMIT)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(NamespaceError::Setup {
                command: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// A handle to reach into the namespace from any thread.
    pub fn handle(&self) -> NetHandle {
        NetHandle {
            net: self.net.clone(),
        }
    }

    /// Whether the holder still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.holder.try_wait(), Ok(None))
    }
}

/// Makes sockets inside a network namespace.
#[derive(Clone, Debug)]
pub struct NetHandle {
    net: Arc<File>,
}

impl NetHandle {
    /// Run `f` on a fresh thread that joined the namespace.
    fn inside<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let net = self.net.clone();
        std::thread::Builder::new()
            .name("netns".into())
            .spawn(move || {
                // SAFETY: setns on this thread only, with an open namespace
                // file; the thread ends when `f` returns.
                if unsafe { libc::setns(net.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                f()
            })?
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread panicked")))
    }

    /// A listener on `addr` inside the namespace.
    pub fn bind(&self, addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
        self.inside(move || std::net::TcpListener::bind(addr))
    }

    /// A connection to `addr` inside the namespace.
    pub fn connect(&self, addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
        self.inside(move || std::net::TcpStream::connect_timeout(&addr, CONNECT_LIMIT))
    }
}

/// Each listener of a namespace offered on a loopback port of the machine:
/// bytes copied both ways, a reset passed on as a reset. Dropping it stops
/// it (its thread joined).
pub struct Relay {
    /// (on the machine, in the namespace)
    pub pairs: Vec<(SocketAddr, SocketAddr)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    /// Relay each of `targets` (addresses inside the namespace of `ns`)
    /// from a free port of 127.0.0.1.
    pub fn start(ns: NetHandle, targets: &[SocketAddr]) -> std::io::Result<Relay> {
        let mut listeners = Vec::new();
        let mut pairs = Vec::new();
        for target in targets {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.set_nonblocking(true)?;
            pairs.push((l.local_addr()?, *target));
            listeners.push((l, *target));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("relay".into())
            .spawn(move || runtime.block_on(relay(ns, listeners, stopped)))?;
        Ok(Relay {
            pairs,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where `target` is offered on the machine.
    pub fn outside(&self, target: SocketAddr) -> Option<SocketAddr> {
        self.pairs
            .iter()
            .find(|(_, t)| *t == target)
            .map(|(o, _)| *o)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn relay(
    ns: NetHandle,
    listeners: Vec<(std::net::TcpListener, SocketAddr)>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (l, target) in listeners {
        let Ok(l) = tokio::net::TcpListener::from_std(l) else {
            continue;
        };
        let ns = ns.clone();
        tasks.spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = l.accept().await {
                let ns = ns.clone();
                connections.spawn(async move {
                    let _ = client.set_nodelay(true);
                    let inside = tokio::task::spawn_blocking(move || ns.connect(target)).await;
                    let Ok(Ok(inside)) = inside else {
                        // Nothing listens there: as a refused connection.
                        let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
                        return;
                    };
                    let _ = inside.set_nonblocking(true);
                    let Ok(mut inside) = tokio::net::TcpStream::from_std(inside) else {
                        return;
                    };
                    let _ = inside.set_nodelay(true);
                    let mut client = client;
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut inside).await {
                        if e.kind() == std::io::ErrorKind::ConnectionReset {
                            // The program reset its side: so does the relay.
                            let _ =
                                socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
                        }
                    }
                });
            }
        });
    }
    let _ = (&mut stopped).await;
    tasks.abort_all();
}

/// A file of the run directory to bind-mount (or an overlay's upper and
/// work directories) lives under `dir`.
pub fn overlay_dirs(dir: &Path, top: &Path) -> (PathBuf, PathBuf) {
    let name = top
        .to_string_lossy()
        .trim_start_matches('/')
        .replace('/', "_");
    (
        dir.join(format!("{name}.upper")),
        dir.join(format!("{name}.work")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Namespaces need root: elsewhere this says so, and under CI fails.
    fn can_run() -> bool {
        match available() {
            Ok(()) => true,
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("CI runs as root with unshare, nsenter and ip: {why}")
            }
            Err(why) => {
                eprintln!("SKIP: namespaces are not available here: {why}");
                false
            }
        }
    }

    #[test]
    fn a_namespace_has_no_route_out_and_the_relay_reaches_in() {
        if !can_run() {
            return;
        }
        let ns = Namespace::create(false).expect("namespace");
        let inside = ns.handle();
        // TEST-NET-1: no route leads anywhere from inside.
        let out = inside
            .connect("192.0.2.1:443".parse().unwrap())
            .expect_err("no route out");
        assert_eq!(out.raw_os_error(), Some(libc::ENETUNREACH), "{out}");
        // A listener inside, on the loopback of the namespace only.
        let listener = inside.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let relay = Relay::start(inside, &[addr]).unwrap();
        let outside = relay.outside(addr).unwrap();
        let mut client = std::net::TcpStream::connect(outside).unwrap();
        client.write_all(b"ping").unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        accepted.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }
}
