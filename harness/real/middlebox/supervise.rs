//! A real middlebox process: started per case in its own process group
//! and prefix (both in the interrupt registry), ready once it listens on
//! its port (and the socket is its own), always stopped.

use super::chown::prepare;
use super::program::{write, RenderedMiddlebox};
use super::render::render;
use super::{MiddleboxError, RealMiddlebox};
use crate::interrupt::{Registered, Registry};
use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::real::process::net::{listener_holder, Holder};
use crate::real::process::ProcessGroup;
use crate::scenario::schema::{MiddleboxSpec, ScenarioFile};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a middlebox may take to listen (mitmproxy takes about 2 s on an
/// idle 2-core machine; polled, so this costs nothing when it is quick).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a middlebox has to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

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
    /// The program's process group (stopped on drop, before the prefix
    /// goes).
    group: ProcessGroup,
    addr: SocketAddr,
    rendered: RenderedMiddlebox,
    startup: Duration,
    // Last: removed once the processes are gone, then unregistered.
    prefix: tempfile::TempDir,
    _prefix_registered: Registered,
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
            crate::real::spawn::program_command(exe, &rendered.args, &rendered.env, prefix.path())
                .map_err(|(p, e)| io(&p)(e))?;
        let started = Instant::now();
        let group = ProcessGroup::spawn(&mut cmd, STOP_GRACE).map_err(io(exe))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut running = RunningRealMiddlebox {
            program,
            group,
            addr,
            rendered,
            startup: Duration::ZERO,
            prefix,
            _prefix_registered: prefix_registered,
        };
        let deadline = started + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = running.group.try_wait() {
                let log = running.output();
                running.stop();
                return Err(MiddleboxError::Exited {
                    program,
                    status: status.to_string(),
                    log,
                });
            }
            // A connection that sends nothing: every program here takes it
            // as a client that went away.
            let probe = tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(addr),
            )
            .await;
            if matches!(probe, Ok(Ok(_))) {
                match listener_holder(running.pid(), port) {
                    Holder::Group | Holder::Unknown => {
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

    pub fn program(&self) -> RealMiddlebox {
        self.program
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> u32 {
        self.group.pid()
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

    /// Stop it: SIGTERM to the group, `STOP_GRACE` to exit, then SIGKILL;
    /// the leader is reaped and no member of the group is left. Idempotent.
    pub fn stop(&mut self) {
        self.group.stop();
    }
}

impl Drop for RunningRealMiddlebox {
    fn drop(&mut self) {
        self.stop();
    }
}
