//! `bench --during CHANGE --every D`: `bench`'s load against a real
//! gateway while its trust material changes on disk and the program
//! reloads by its own mechanism (nginx: SIGHUP to the master; Apache:
//! SIGUSR1, `apachectl -k graceful`; HAProxy: its runtime API, or SIGUSR2
//! to its master for `reload` (a new worker with `-sf`); Caddy: its
//! admin endpoint, `POST /load`). Beside the load a canary makes one
//! handshake every [`CANARY_EVERY`] and says what it saw, so each change's
//! time to effect is measured from the moment the files were replaced:
//!
//! - `reload`: nothing changes but the program's workers; the effect is
//!   the first new worker process in the program's group.
//! - `crl-update`: the CRL file alternates between one that lists the
//!   canary's certificate and an empty one; the effect is the canary's
//!   request answered the other way (200 or not).
//! - `cert-rotation`: the server certificate and key alternate between two
//!   certificates; the effect is the canary's first handshake that sees the
//!   new one, and a handshake that still sees the old one after that is a
//!   stale certificate served.
//! - `ca-rollover`: a second client CA (`new-ca`) alternates between
//!   trusted beside the first (the overlap of a rollover) and removed; the
//!   canary holds a certificate of the new CA, the load one of the old, so
//!   the effect is the canary's request answered the other way and the
//!   load must lose nothing.
//!
//! The load's certificate is never revoked, so a failed handshake is the
//! change's cost, not its effect.

use super::{BenchError, LoadStats};
use crate::observation::TlsVersion;
use crate::pki::{IssuedCert, Pki};
use crate::real::{RealKind, RealServer};
use crate::tls::client::ClientSpec;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Caddy's configuration file in its prefix (real/render/caddy.rs).
const CADDY_CONFIG: &str = "caddy.json";

/// How often the canary looks.
pub const CANARY_EVERY: Duration = Duration::from_millis(20);

/// What changes while the load runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum During {
    Reload,
    CrlUpdate,
    CertRotation,
    CaRollover,
}

impl During {
    pub fn name(self) -> &'static str {
        match self {
            During::Reload => "reload",
            During::CrlUpdate => "crl-update",
            During::CertRotation => "cert-rotation",
            During::CaRollover => "ca-rollover",
        }
    }
}

/// How a `--during` run goes.
#[derive(Debug, Clone)]
pub struct DuringOptions {
    pub gateway: RealKind,
    pub change: During,
    pub every: Duration,
    pub duration: Duration,
    pub concurrency: usize,
    pub tls: TlsVersion,
    /// Tell the program (signal, runtime API); `false`: only the files
    /// change.
    pub reload: bool,
}

/// One change and what it did.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRecord {
    /// Seconds from the load's start to the files replaced and the reload
    /// signalled.
    pub at_s: f64,
    /// What the files became.
    pub what: String,
    /// From the change to the canary's first observation of it; `None`
    /// when none came before the next change (or the end).
    pub effect_ms: Option<f64>,
    /// The load's failed handshakes from this change to the next.
    pub failed_handshakes: u64,
    /// Canary handshakes that saw the old server certificate after the
    /// first saw the new one (`cert-rotation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_after_rotation: Option<u64>,
}

/// A whole `--during` run.
#[derive(Debug, Clone, Serialize)]
pub struct DuringRun {
    pub gateway: String,
    pub change: During,
    pub tls: &'static str,
    pub every_s: f64,
    pub duration_s: f64,
    pub concurrency: usize,
    pub stats: LoadStats,
    pub changes: Vec<ChangeRecord>,
    /// The length of one [`Self::timeline`] step, seconds.
    pub timeline_step_s: f64,
    /// Per step of the load: (handshakes, failed handshakes).
    pub timeline: Vec<(u64, u64)>,
}

impl DuringRun {
    /// A settings line, the load's figures, then one row per change.
    pub fn render_table(&self) -> String {
        let s = &self.stats;
        let mut t = format!(
            "{}, TLS {}, {} workers, {:?}, {} every {:.1}s\n{:.0} handshakes/s, {} handshakes, {} failed{}\n{:>6} {:>8} {:>10} {:>8} {:>7}  files\n",
            self.gateway,
            self.tls,
            self.concurrency,
            Duration::from_secs_f64(self.duration_s),
            self.change.name(),
            self.every_s,
            s.handshakes_per_s,
            s.handshakes,
            s.errors,
            if s.errors_by_kind.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    s.errors_by_kind
                        .iter()
                        .map(|(k, n)| format!("{k} x{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            "change",
            "at s",
            "effect ms",
            "failed",
            "stale",
        );
        for (i, c) in self.changes.iter().enumerate() {
            t.push_str(&format!(
                "{:>6} {:>8.2} {:>10} {:>8} {:>7}  {}\n",
                i + 1,
                c.at_s,
                c.effect_ms
                    .map_or_else(|| "-".to_string(), |e| format!("{e:.1}")),
                c.failed_handshakes,
                c.stale_after_rotation
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                c.what
            ));
        }
        t
    }
}

/// What the canary saw at one moment (seconds from the load's start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Its request was answered 200 (`crl-update`), or not.
    Served(bool),
    /// The server certificate it got: the first (0) or the second (1).
    Cert(u8),
    /// A worker process that was not there before the change.
    Workers(u64),
}

/// The scenario of a `--during` run: `root`, two server certificates, the
/// load's client `alice`, the canary `canary` (revoked: the CRL the
/// program starts with lists it) and, for `ca-rollover`, the CA `new-ca`
/// (not trusted at the start) and its client `newcomer`.
fn scenario() -> Result<crate::scenario::schema::ScenarioFile, BenchError> {
    let text = "description = \"bench --during\"\n\
        [[pki.cert]]\nname = \"root\"\nrole = \"root\"\n\
        [[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n\
        [[pki.cert]]\nname = \"gw-next\"\nrole = \"server\"\nissuer = \"root\"\n\
        [[pki.cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n\
        [[pki.cert]]\nname = \"canary\"\nrole = \"client\"\nissuer = \"root\"\ndefects = [\"revoked\"]\n\
        [[pki.cert]]\nname = \"new-ca\"\nrole = \"root\"\n\
        [[pki.cert]]\nname = \"newcomer\"\nrole = \"client\"\nissuer = \"new-ca\"\n\
        [server]\ncert = \"gw\"\ntrust = [\"root\"]\ncrls = [\"root\"]\n\
        [client]\ncerts = [\"alice\"]\n";
    toml::from_str(text).map_err(BenchError::Scenario)
}

/// Replace `path` whole (a temporary file renamed over it).
fn replace(path: &std::path::Path, text: &str) -> Result<(), BenchError> {
    let tmp = path.with_extension("next");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(BenchError::DuringIo)
}

/// How a program takes a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    /// A graceful reload by signal to the program's master.
    Signal(libc::c_int),
    /// HAProxy's runtime API: `set ssl crl-file` / `set ssl cert`, then
    /// `commit`, on its stats socket; no reload.
    RuntimeApi,
    /// Caddy's admin endpoint: `POST /load` with the configuration as on
    /// disk (what `caddy reload` does); no restart.
    AdminApi,
    /// The files replaced and nothing told (`--no-reload`): what a
    /// program does on its own when its files change.
    Nothing,
}

impl Mechanism {
    fn of(kind: RealKind, change: During, reload: bool) -> Result<Mechanism, BenchError> {
        match (kind, change) {
            (_, During::Reload) if !reload => Err(BenchError::DuringUnsupported(
                "--during reload --no-reload changes nothing".into(),
            )),
            (RealKind::Caddy, During::CrlUpdate) => Err(BenchError::DuringUnsupported(
                "--during crl-update with real:caddy: Caddy (Go's crypto/tls) loads no CRL".into(),
            )),
            (RealKind::Caddy, During::Reload) => Err(BenchError::DuringUnsupported(
                "--during reload with real:caddy: it has no worker processes a reload replaces, so the canary cannot see one; cert-rotation and ca-rollover go through its admin endpoint".into(),
            )),
            (RealKind::Nginx | RealKind::Apache | RealKind::Haproxy | RealKind::Caddy, _)
                if !reload =>
            {
                Ok(Mechanism::Nothing)
            }
            (RealKind::Caddy, _) => Ok(Mechanism::AdminApi),
            // nginx: SIGHUP to the master starts new workers with the new
            // configuration and lets the old ones finish their connections.
            (RealKind::Nginx, _) => Ok(Mechanism::Signal(libc::SIGHUP)),
            // Apache: SIGUSR1 is `-k graceful`.
            (RealKind::Apache, _) => Ok(Mechanism::Signal(libc::SIGUSR1)),
            (RealKind::Haproxy, During::CrlUpdate | During::CertRotation | During::CaRollover) => {
                Ok(Mechanism::RuntimeApi)
            }
            // HAProxy in master-worker mode: SIGUSR2 to the master, which
            // re-executes itself with -sf <old workers>.
            (RealKind::Haproxy, During::Reload) => Ok(Mechanism::Signal(libc::SIGUSR2)),
            (other, _) => Err(BenchError::DuringUnsupported(format!(
                "--during with {other}: real:nginx (SIGHUP), real:apache (graceful), real:haproxy (runtime API) and real:caddy (admin API) take changes here so far"
            ))),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Mechanism::Signal(libc::SIGHUP) => "then SIGHUP",
            Mechanism::Signal(libc::SIGUSR2) => "then SIGUSR2 (a new worker with -sf)",
            Mechanism::Signal(_) => "then a graceful restart",
            Mechanism::RuntimeApi => "through the runtime API, no reload",
            Mechanism::AdminApi => "through the admin API (POST /load), no restart",
            Mechanism::Nothing => "no reload",
        }
    }
}

/// [`crate::real::runtime_api::replace`], as a bench error.
fn runtime_api_replace(
    socket: &std::path::Path,
    what: &str,
    path: &std::path::Path,
    payload: &str,
) -> Result<(), BenchError> {
    crate::real::runtime_api::replace(socket, what, path, payload)
        .map_err(|e| BenchError::DuringUnsupported(e.to_string()))
}

/// Run the load against `opts.gateway` with a change every `opts.every`.
pub async fn during(
    opts: &DuringOptions,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<DuringRun, BenchError> {
    let mechanism = Mechanism::of(opts.gateway, opts.change, opts.reload)?;
    let file = scenario()?;
    let pki = Pki::generate(&file.pki).map_err(BenchError::Pki)?;
    let server = RealServer::start(opts.gateway, &pki, &file.server, opts.tls)
        .await
        .map_err(|e| BenchError::Real(Box::new(e)))?;
    let prefix = server.rendered().prefix.clone();
    let s = super::setup_from(1, &pki, &file, opts.tls)?;
    let canary_spec = canary_client(&s.client, &pki, opts.change)?;
    let cert = |name: &str| pki.cert(name).map_err(BenchError::Pki);
    let gw = cert("gw")?.clone();
    let gw_next = cert("gw-next")?.clone();
    let root = cert("root")?.clone();
    let crl_with = pki
        .crl("root")
        .map(|c| IssuedCert::pem_of(c).replace("CERTIFICATE", "X509 CRL"))
        .unwrap_or_default();
    let crl_without = crate::pki::sign_crl(
        &root.der,
        &root.key_pkcs8,
        root.key_type,
        time::OffsetDateTime::now_utc(),
        false,
        &[],
    )
    .map(|c| IssuedCert::pem_of(&c).replace("CERTIFICATE", "X509 CRL"))
    .map_err(|e| BenchError::DuringIo(std::io::Error::other(e)))?;
    let pid = server.pid();
    let started = Instant::now();
    let observations: Arc<Mutex<Vec<(f64, Seen)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let connector =
        tokio_rustls::TlsConnector::from(canary_spec.load_config().map_err(|source| {
            BenchError::Config {
                what: "canary",
                source,
            }
        })?);
    let name = rustls_pki_types::ServerName::try_from(canary_spec.server_name.clone())
        .map_err(BenchError::ServerName)?;
    let canary = tokio::spawn(canary(
        connector,
        name,
        server.addr(),
        opts.change,
        pid,
        gw.der.to_vec(),
        started,
        observations.clone(),
        stop.clone(),
    ));
    // The changes, on their own task: file replaced, then the signal (or
    // the runtime API told).
    let changes = {
        let (every, duration, change) = (opts.every, opts.duration, opts.change);
        let socket = prefix.join(crate::real::render::HAPROXY_ADMIN_SOCKET);
        let (kind, tls, server_spec, pki) =
            (opts.gateway, opts.tls, file.server.clone(), pki.clone());
        let listen = match server.rendered().inherited_fd {
            Some(_) => crate::real::render::Listen::Inherited {
                port: server.rendered().port,
            },
            None => crate::real::render::Listen::Port(server.rendered().port),
        };
        tokio::spawn(async move {
            let mut done: Vec<(f64, String)> = Vec::new();
            let mut k = 1u32;
            while every * k < duration {
                let at = started + every * k;
                tokio::time::sleep_until(at.into()).await;
                // What to tell the runtime API, once the files are on disk.
                let mut pending: Vec<(&str, std::path::PathBuf, String)> = Vec::new();
                // What to load through Caddy's admin API: its configuration,
                // as rendered anew (`ca-rollover`) or as on disk.
                let mut admin_config: Option<String> = None;
                let what = match change {
                    During::Reload => "unchanged".to_string(),
                    During::CrlUpdate => {
                        let (crl, what) = if k % 2 == 1 {
                            (&crl_without, "an empty CRL")
                        } else {
                            (&crl_with, "a CRL listing the canary")
                        };
                        let path = prefix.join(crate::real::render::CRL);
                        replace(&path, crl)?;
                        if mechanism == Mechanism::RuntimeApi {
                            pending.push(("crl-file", path, crl.clone()));
                        }
                        what.to_string()
                    }
                    During::CertRotation => {
                        let next = if k % 2 == 1 { &gw_next } else { &gw };
                        replace(
                            &prefix.join(crate::real::render::SERVER_KEY),
                            &next.key_pem(),
                        )?;
                        replace(
                            &prefix.join(crate::real::render::SERVER_CHAIN),
                            &next.chain_pem(),
                        )?;
                        if mechanism == Mechanism::RuntimeApi {
                            let pem = next.chain_pem() + &next.key_pem();
                            let path = prefix.join(crate::real::render::HAPROXY_SERVER_PEM);
                            replace(&path, &pem)?;
                            pending.push(("cert", path, pem));
                        }
                        format!("server certificate {}", next.name)
                    }
                    During::CaRollover => {
                        // The program's files rendered anew with the trust
                        // the change gives (its config file stays the same).
                        let mut spec = server_spec.clone();
                        let overlap = k % 2 == 1;
                        if overlap {
                            // Its CRL too: with a CRL loaded, OpenSSL wants
                            // one for every CA of the chain.
                            spec.trust.push("new-ca".into());
                            spec.crls.push("new-ca".into());
                        }
                        let files = crate::real::render::render_listening(
                            kind, &pki, &spec, tls, listen, &prefix,
                        )
                        .map_err(|e| BenchError::Real(Box::new(e)))?;
                        admin_config = files
                            .config_file
                            .as_ref()
                            .and_then(|c| files.files.iter().find(|(r, _, _)| r == c))
                            .map(|(rel, text, _)| {
                                replace(&prefix.join(rel), text).map(|()| text.clone())
                            })
                            .transpose()?;
                        for (rel, text, _) in &files.files {
                            use crate::real::render::{CA_NAMES, CA_VERIFY, CRL, TRUST};
                            let api = match rel.as_str() {
                                CA_NAMES | CA_VERIFY => Some("ca-file"),
                                CRL => Some("crl-file"),
                                TRUST => None,
                                _ => continue,
                            };
                            let path = prefix.join(rel);
                            replace(&path, text)?;
                            if let (Mechanism::RuntimeApi, Some(api)) = (mechanism, api) {
                                pending.push((api, path, text.clone()));
                            }
                        }
                        if overlap {
                            "new-ca trusted beside root".to_string()
                        } else {
                            "new-ca removed".to_string()
                        }
                    }
                };
                // The change is on disk now: its time to effect counts from
                // here.
                let at_s = started.elapsed().as_secs_f64();
                for (what, path, payload) in &pending {
                    runtime_api_replace(&socket, what, path, payload)?;
                }
                if mechanism == Mechanism::AdminApi {
                    let config = match admin_config {
                        Some(c) => c,
                        None => std::fs::read_to_string(prefix.join(CADDY_CONFIG))
                            .map_err(BenchError::DuringIo)?,
                    };
                    crate::real::admin_api::load(
                        &prefix.join(crate::real::render::CADDY_ADMIN_SOCKET),
                        &config,
                    )
                    .await
                    .map_err(|e| BenchError::DuringUnsupported(e.to_string()))?;
                }
                if let Mechanism::Signal(signal) = mechanism {
                    // SAFETY: kill(2) on the gateway's master, which this
                    // run started.
                    unsafe { libc::kill(pid as i32, signal) };
                }
                done.push((at_s, format!("{what}, {}", mechanism.describe())));
                k += 1;
            }
            Ok::<_, BenchError>(done)
        })
    };
    let load = super::load_timeline(
        server.addr(),
        &s.client,
        opts.duration,
        opts.concurrency,
        Some(pid),
        started,
        progress,
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = canary.await;
    let done = changes.await.map_err(BenchError::Worker)??;
    server.shutdown().await;
    let (stats, events) = load?;
    let seen = std::mem::take(&mut *observations.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(DuringRun {
        gateway: opts.gateway.to_string(),
        change: opts.change,
        tls: opts.tls.as_str(),
        every_s: opts.every.as_secs_f64(),
        duration_s: opts.duration.as_secs_f64(),
        concurrency: opts.concurrency,
        timeline_step_s: TIMELINE_STEP.as_secs_f64(),
        timeline: timeline(&events, opts.duration),
        changes: records(&done, &seen, &events, opts.duration.as_secs_f64()),
        stats,
    })
}

/// The canary's client: `canary` for `crl-update`, `newcomer` for
/// `ca-rollover`, else the load's.
fn canary_client(load: &ClientSpec, pki: &Pki, change: During) -> Result<ClientSpec, BenchError> {
    let mut spec = load.clone();
    let name = match change {
        During::CrlUpdate => Some("canary"),
        During::CaRollover => Some("newcomer"),
        During::Reload | During::CertRotation => None,
    };
    if let Some(name) = name {
        let canary = pki.cert(name).map_err(BenchError::Pki)?;
        spec.wallet = crate::tls::client::WalletEntry::from_issued(canary, true)
            .map(|w| vec![w])
            .map_err(|source| BenchError::Config {
                what: "canary",
                source,
            })?;
    }
    Ok(spec)
}

/// One canary connection: the server certificate it got and whether its
/// request was answered 200 (`None`: no handshake).
async fn look(
    connector: &tokio_rustls::TlsConnector,
    name: &rustls_pki_types::ServerName<'static>,
    addr: std::net::SocketAddr,
) -> Option<(Vec<u8>, bool)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
        let _ = tcp.set_nodelay(true);
        let mut tls = connector.connect(name.clone(), tcp).await.ok()?;
        let cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec())?;
        let served = async {
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            let mut head = [0u8; 12];
            tls.read_exact(&mut head).await.ok()?;
            Some(&head[9..12] == b"200")
        }
        .await
        .unwrap_or(false);
        Some((cert, served))
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()
        .flatten()
}

#[allow(clippy::too_many_arguments)]
async fn canary(
    connector: tokio_rustls::TlsConnector,
    name: rustls_pki_types::ServerName<'static>,
    addr: std::net::SocketAddr,
    change: During,
    pid: u32,
    first_cert: Vec<u8>,
    started: Instant,
    seen: Arc<Mutex<Vec<(f64, Seen)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let workers = |pid: u32| -> Vec<u32> {
        crate::interrupt::group_members(pid)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| *p != pid)
            .collect()
    };
    let mut known = workers(pid);
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let t = started.elapsed().as_secs_f64();
        let observed = match change {
            During::Reload => {
                let now = workers(pid);
                let new = now.iter().filter(|p| !known.contains(p)).count() as u64;
                known = now;
                (new > 0).then_some(Seen::Workers(new))
            }
            During::CrlUpdate | During::CaRollover => Some(Seen::Served(
                look(&connector, &name, addr)
                    .await
                    .is_some_and(|(_, served)| served),
            )),
            During::CertRotation => look(&connector, &name, addr)
                .await
                .map(|(cert, _)| Seen::Cert(u8::from(cert != first_cert))),
        };
        if let Some(o) = observed {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push((t, o));
        }
        tokio::time::sleep(CANARY_EVERY).await;
    }
}

/// Each change's effect, failures and stale certificates.
fn records(
    done: &[(f64, String)],
    seen: &[(f64, Seen)],
    events: &[(f64, bool)],
    end: f64,
) -> Vec<ChangeRecord> {
    // The files alternate, so a change after one the program never took
    // asks for the state it still has: not a measurement of this change.
    let mut previous_took = true;
    done.iter()
        .enumerate()
        .map(|(i, (at, what))| {
            let until = done.get(i + 1).map_or(end, |(t, _)| *t);
            let window = || seen.iter().filter(move |(t, _)| *t >= *at && *t < until);
            // What the change makes the canary see: the CRL's k-th change
            // serves the canary when k is odd (it starts revoked), and so
            // does the k-th CA change (its CA starts untrusted); the k-th
            // rotation shows the second certificate when k is odd.
            let k = i + 1;
            let effect = window()
                .find(|(_, o)| match o {
                    Seen::Workers(_) => true,
                    Seen::Served(served) => *served == (k % 2 == 1),
                    Seen::Cert(c) => *c == u8::from(k % 2 == 1),
                })
                .filter(|(_, o)| previous_took || matches!(o, Seen::Workers(_)));
            previous_took = effect.is_some();
            let stale = match (effect, window().next()) {
                (Some((te, Seen::Cert(new))), _) => Some(
                    window()
                        .filter(|(t, o)| *t > *te && matches!(o, Seen::Cert(c) if c != new))
                        .count() as u64,
                ),
                (_, Some((_, Seen::Cert(_)))) => Some(0),
                _ => None,
            };
            ChangeRecord {
                at_s: *at,
                what: what.clone(),
                effect_ms: effect.map(|(t, _)| (t - at) * 1000.0),
                failed_handshakes: events
                    .iter()
                    .filter(|(t, ok)| !ok && *t >= *at && *t < until)
                    .count() as u64,
                stale_after_rotation: stale,
            }
        })
        .collect()
}

/// The timeline's step.
pub const TIMELINE_STEP: Duration = Duration::from_millis(100);

/// Handshakes and failures per [`TIMELINE_STEP`] of the load.
fn timeline(events: &[(f64, bool)], duration: Duration) -> Vec<(u64, u64)> {
    let step = TIMELINE_STEP.as_secs_f64();
    let steps = (duration.as_secs_f64() / step).ceil().max(1.0) as usize;
    let mut out = vec![(0u64, 0u64); steps];
    for (t, ok) in events {
        let i = ((*t / step) as usize).min(out.len() - 1);
        if *ok {
            out[i].0 += 1;
        } else {
            out[i].1 += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_failures_and_stale_certificates_per_change() {
        let done = vec![(1.0, "a".to_string()), (2.0, "b".to_string())];
        // Change 1 (odd): the second certificate appears at 1.05 s, the old
        // one is seen once more at 1.10 s; change 2: the first again at 2.2 s.
        let seen = vec![
            (0.5, Seen::Cert(0)),
            (1.01, Seen::Cert(0)),
            (1.05, Seen::Cert(1)),
            (1.10, Seen::Cert(0)),
            (2.2, Seen::Cert(0)),
        ];
        let events = vec![(0.2, true), (1.5, false), (2.5, true)];
        let r = records(&done, &seen, &events, 3.0);
        assert!((r[0].effect_ms.unwrap() - 50.0).abs() < 1e-6, "{r:?}");
        assert_eq!(r[0].stale_after_rotation, Some(1));
        assert_eq!(r[0].failed_handshakes, 1);
        assert!((r[1].effect_ms.unwrap() - 200.0).abs() < 1e-6, "{r:?}");
        assert_eq!(r[1].stale_after_rotation, Some(0));
        assert_eq!(r[1].failed_handshakes, 0);
        let steps = timeline(&events, Duration::from_secs(3));
        assert_eq!(steps.len(), 30);
        assert_eq!((steps[2], steps[15], steps[25]), ((1, 0), (0, 1), (1, 0)));
        assert_eq!(steps.iter().map(|(a, b)| a + b).sum::<u64>(), 3);
        // A program that never takes the first change still shows the
        // state the second asks for: that is not the second's effect.
        let seen = vec![(1.5, Seen::Served(false)), (2.5, Seen::Served(false))];
        let r = records(&done, &seen, &[], 3.0);
        assert_eq!(r[0].effect_ms, None);
        assert_eq!(r[1].effect_ms, None);
    }
}
