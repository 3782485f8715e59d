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
//! change's cost, not its effect. Beside the handshakes, a few keep-alive
//! connections send a request every few milliseconds
//! ([`super::keep_alive`]): a request that fails on an established
//! connection is the change's cost too.

use super::keep_alive::{KeepAliveStats, RequestEvent};
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

/// The gateway of a `--during` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuringGateway {
    /// The built-in gateway (`strict`), its configuration swapped whole on
    /// a reload.
    Builtin,
    Real(RealKind),
}

impl std::fmt::Display for DuringGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DuringGateway::Builtin => f.write_str("builtin"),
            DuringGateway::Real(kind) => kind.fmt(f),
        }
    }
}

/// How a `--during` run goes.
#[derive(Debug, Clone)]
pub struct DuringOptions {
    pub gateway: DuringGateway,
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
    /// Requests on established keep-alive connections from this change to
    /// the next that got no 200.
    pub failed_requests: u64,
    /// Keep-alive connections the server closed between two requests from
    /// this change to the next.
    pub closed_by_server: u64,
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
    /// The requests on established connections beside the load.
    pub keep_alive: KeepAliveStats,
    /// Of [`Self::keep_alive`]'s failed requests, those before the first
    /// change: what the gateway does to keep-alive connections under this
    /// load without any change (a server that closes an idle connection as
    /// a request arrives fails it).
    pub failed_requests_before_changes: u64,
    /// When each of those failed, seconds from the start (the plot marks
    /// them).
    pub failed_requests_at_s: Vec<f64>,
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
        let k = &self.keep_alive;
        let mut t = format!(
            "{}, TLS {}, {} workers, {:?}, {} every {:.1}s\n{:.0} handshakes/s, {} handshakes, {} failed{}\n{} requests on {} keep-alive connections, {} failed{} ({} before the first change), {} connections closed by the server between requests\n{:>6} {:>8} {:>10} {:>8} {:>7} {:>10} {:>7}  files\n",
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
            k.requests,
            k.connections,
            k.failed,
            if k.failures_by_kind.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    k.failures_by_kind
                        .iter()
                        .map(|(why, n)| format!("{why} x{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            self.failed_requests_before_changes,
            k.closed_by_server,
            "change",
            "at s",
            "effect ms",
            "failed",
            "stale",
            "failed req",
            "closed",
        );
        for (i, c) in self.changes.iter().enumerate() {
            t.push_str(&format!(
                "{:>6} {:>8.2} {:>10} {:>8} {:>7} {:>10} {:>7}  {}\n",
                i + 1,
                c.at_s,
                c.effect_ms
                    .map_or_else(|| "-".to_string(), |e| format!("{e:.1}")),
                c.failed_handshakes,
                c.stale_after_rotation
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                c.failed_requests,
                c.closed_by_server,
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
    /// Worker processes that were not there before the change (a real
    /// program), or a configuration newly swapped in that a connection was
    /// accepted with (the built-in gateway).
    Renewed(u64),
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
    /// The built-in gateway: a configuration built from the files and
    /// swapped in whole; connections in flight keep theirs.
    Swap,
    /// The files replaced and nothing told (`--no-reload`): what a
    /// program does on its own when its files change.
    Nothing,
}

impl Mechanism {
    fn of(gateway: DuringGateway, change: During, reload: bool) -> Result<Mechanism, BenchError> {
        let kind = match gateway {
            _ if change == During::Reload && !reload => {
                return Err(BenchError::DuringUnsupported(
                    "--during reload --no-reload changes nothing".into(),
                ))
            }
            DuringGateway::Builtin if reload => return Ok(Mechanism::Swap),
            DuringGateway::Builtin => return Ok(Mechanism::Nothing),
            DuringGateway::Real(kind) => kind,
        };
        match (kind, change) {
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
                "--during with {other}: the built-in gateway, real:nginx (SIGHUP), real:apache (graceful), real:haproxy (runtime API, SIGUSR2) and real:caddy (admin API) take changes here so far"
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
            Mechanism::Swap => "then a reload (a configuration from the files, swapped in)",
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

/// The gateway a `--during` run loads.
enum Gateway {
    Real(Box<RealServer>),
    Builtin(super::server::SwappingGateway),
}

impl Gateway {
    fn addr(&self) -> std::net::SocketAddr {
        match self {
            Gateway::Real(s) => s.addr(),
            Gateway::Builtin(g) => g.addr(),
        }
    }

    /// The process group whose CPU is the server's (none: this process).
    fn group(&self) -> Option<u32> {
        match self {
            Gateway::Real(s) => Some(s.pid()),
            Gateway::Builtin(_) => None,
        }
    }

    /// Counts what a reload renews since the last call: new worker
    /// processes of a real program, new configurations of the built-in
    /// gateway that a connection was accepted with.
    fn renewals(&self) -> Box<dyn FnMut() -> u64 + Send> {
        match self {
            Gateway::Real(s) => {
                let pid = s.pid();
                let workers = move || -> Vec<u32> {
                    crate::process::group_members(pid)
                        .into_iter()
                        .map(|(p, _)| p)
                        .filter(|p| *p != pid)
                        .collect()
                };
                let mut known = workers();
                Box::new(move || {
                    let now = workers();
                    let new = now.iter().filter(|p| !known.contains(p)).count() as u64;
                    known = now;
                    new
                })
            }
            Gateway::Builtin(g) => {
                let configs = g.configs();
                let mut known = configs.served_generation();
                Box::new(move || {
                    let now = configs.served_generation();
                    let new = now.saturating_sub(known);
                    known = now;
                    new
                })
            }
        }
    }

    async fn shutdown(self) {
        match self {
            Gateway::Real(s) => s.shutdown().await,
            Gateway::Builtin(g) => g.shutdown().await,
        }
    }
}

/// The built-in gateway's configuration for `server` (the `strict`
/// profile, what `bench` loads).
fn builtin_config(
    pki: &Pki,
    server: &crate::scenario::schema::ServerSpec,
    tls: TlsVersion,
) -> Result<Arc<rustls::ServerConfig>, BenchError> {
    let gateway = crate::case::gateway_config(
        pki,
        server,
        crate::gateway::ProfileKind::Strict,
        vec![tls],
        crate::tls::Timeouts::default(),
        None,
    )
    .map_err(|source| BenchError::Case {
        what: "gateway",
        source: Box::new(source),
    })?;
    crate::tls::server::gateway_tls(&gateway)
        .map(|t| t.config)
        .map_err(|source| BenchError::Config {
            what: "gateway",
            source,
        })
}

/// The two CRLs `crl-update` alternates between (DER): the one the PKI
/// published (listing the canary) and an empty one.
struct Crls {
    with_canary: rustls_pki_types::CertificateRevocationListDer<'static>,
    empty: rustls_pki_types::CertificateRevocationListDer<'static>,
}

impl Crls {
    fn of(pki: &Pki) -> Result<Crls, BenchError> {
        let root = pki.cert("root").map_err(BenchError::Pki)?;
        let empty = crate::pki::sign_crl(
            &root.der,
            &root.key_pkcs8,
            root.key_type,
            time::OffsetDateTime::now_utc(),
            false,
            &[],
        )
        .map_err(|e| BenchError::DuringIo(std::io::Error::other(e)))?;
        Ok(Crls {
            with_canary: pki.crl("root").cloned().ok_or_else(|| {
                BenchError::DuringUnsupported("the PKI published no CRL for root".into())
            })?,
            empty,
        })
    }

    /// The k-th change's CRL and how to say it: the empty one first.
    fn for_change(
        &self,
        k: u32,
    ) -> (
        &rustls_pki_types::CertificateRevocationListDer<'static>,
        &'static str,
    ) {
        if k % 2 == 1 {
            (&self.empty, "an empty CRL")
        } else {
            (&self.with_canary, "a CRL listing the canary")
        }
    }

    fn pem(der: &[u8]) -> String {
        IssuedCert::pem_of(der).replace("CERTIFICATE", "X509 CRL")
    }
}

/// The k-th change's server certificate: `gw-next` first, then `gw` again.
fn server_cert_for_change(k: u32) -> &'static str {
    if k % 2 == 1 {
        "gw-next"
    } else {
        "gw"
    }
}

/// The k-th `ca-rollover` change's `[server]`: `new-ca` trusted beside
/// `root` (the overlap) first, then removed.
fn rollover_for_change(
    k: u32,
    server: &crate::scenario::schema::ServerSpec,
) -> (crate::scenario::schema::ServerSpec, &'static str) {
    let mut spec = server.clone();
    if k % 2 == 1 {
        // Its CRL too: with a CRL loaded, OpenSSL wants one for every CA of
        // the chain (and rustls's verifier refuses an unknown status).
        spec.trust.push("new-ca".into());
        spec.crls.push("new-ca".into());
        (spec, "new-ca trusted beside root")
    } else {
        (spec, "new-ca removed")
    }
}

/// What makes each change on a real program: its files replaced in its
/// prefix, then its mechanism told.
struct RealChanger {
    kind: RealKind,
    mechanism: Mechanism,
    prefix: std::path::PathBuf,
    listen: crate::real::render::Listen,
    pid: u32,
    pki: Pki,
    server: crate::scenario::schema::ServerSpec,
    tls: TlsVersion,
    crls: Crls,
}

impl RealChanger {
    /// Make change `k` (from 1); when it was on disk (seconds from
    /// `started`) and what it was.
    async fn apply(
        &self,
        k: u32,
        change: During,
        started: Instant,
    ) -> Result<(f64, String), BenchError> {
        let (prefix, mechanism) = (&self.prefix, self.mechanism);
        // What to tell the runtime API, once the files are on disk.
        let mut pending: Vec<(&str, std::path::PathBuf, String)> = Vec::new();
        // What to load through Caddy's admin API: its configuration, as
        // rendered anew (`ca-rollover`) or as on disk.
        let mut admin_config: Option<String> = None;
        let what = match change {
            During::Reload => "unchanged".to_string(),
            During::CrlUpdate => {
                let (crl, what) = self.crls.for_change(k);
                let crl = Crls::pem(crl);
                let path = prefix.join(crate::real::render::CRL);
                replace(&path, &crl)?;
                if mechanism == Mechanism::RuntimeApi {
                    pending.push(("crl-file", path, crl));
                }
                what.to_string()
            }
            During::CertRotation => {
                let next = self
                    .pki
                    .cert(server_cert_for_change(k))
                    .map_err(BenchError::Pki)?;
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
                // The program's files rendered anew with the trust the
                // change gives (its config file stays the same).
                let (spec, what) = rollover_for_change(k, &self.server);
                let files = crate::real::render::render_listening(
                    self.kind,
                    &self.pki,
                    &spec,
                    self.tls,
                    self.listen,
                    prefix,
                )
                .map_err(|e| BenchError::Real(Box::new(e)))?;
                admin_config = files
                    .config_file
                    .as_ref()
                    .and_then(|c| files.files.iter().find(|(r, _, _)| r == c))
                    .map(|(rel, text, _)| replace(&prefix.join(rel), text).map(|()| text.clone()))
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
                what.to_string()
            }
        };
        // The change is on disk now: its time to effect counts from here.
        let at_s = started.elapsed().as_secs_f64();
        let socket = prefix.join(crate::real::render::HAPROXY_ADMIN_SOCKET);
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
            // SAFETY: kill(2) on the gateway's master, which this run
            // started.
            unsafe { libc::kill(self.pid as i32, signal) };
        }
        Ok((at_s, what))
    }
}

/// What makes each change on the built-in gateway: the model of the files
/// on disk (the PKI's CRLs as published, `[server]`'s certificate and
/// trust) changed, then, on a reload, a configuration built from it and
/// swapped in; without one the gateway keeps what it loaded (the model of
/// every program here: none watches its files).
struct BuiltinChanger {
    configs: Arc<super::server::SwappableConfig>,
    reload: bool,
    pki: Pki,
    /// `[server]` as at the start, and as on disk now.
    first: crate::scenario::schema::ServerSpec,
    server: crate::scenario::schema::ServerSpec,
    tls: TlsVersion,
    crls: Crls,
}

impl BuiltinChanger {
    /// Make change `k` (from 1); when it was on disk (seconds from
    /// `started`) and what it was.
    fn apply(
        &mut self,
        k: u32,
        change: During,
        started: Instant,
    ) -> Result<(f64, String), BenchError> {
        let what = match change {
            During::Reload => "unchanged".to_string(),
            During::CrlUpdate => {
                let (crl, what) = self.crls.for_change(k);
                self.pki = self.pki.with_crl("root", crl.clone());
                what.to_string()
            }
            During::CertRotation => {
                let next = server_cert_for_change(k);
                self.server.cert = next.to_string();
                format!("server certificate {next}")
            }
            During::CaRollover => {
                let (spec, what) = rollover_for_change(k, &self.first);
                self.server = spec;
                what.to_string()
            }
        };
        let at_s = started.elapsed().as_secs_f64();
        if self.reload {
            self.configs
                .swap(builtin_config(&self.pki, &self.server, self.tls)?);
        }
        Ok((at_s, what))
    }
}

/// Run the load against `opts.gateway` with a change every `opts.every`.
pub async fn during(
    opts: &DuringOptions,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<DuringRun, BenchError> {
    let mechanism = Mechanism::of(opts.gateway, opts.change, opts.reload)?;
    let file = scenario()?;
    let pki = Pki::generate(&file.pki).map_err(BenchError::Pki)?;
    let crls = Crls::of(&pki)?;
    let gateway = match opts.gateway {
        DuringGateway::Real(kind) => Gateway::Real(Box::new(
            RealServer::start(kind, &pki, &file.server, opts.tls)
                .await
                .map_err(|e| BenchError::Real(Box::new(e)))?,
        )),
        DuringGateway::Builtin => Gateway::Builtin(
            super::server::SwappingGateway::start(
                builtin_config(&pki, &file.server, opts.tls)?,
                crate::tls::Timeouts::default().handshake,
            )
            .await
            .map_err(BenchError::Listen)?,
        ),
    };
    let s = super::setup_from(1, &pki, &file, opts.tls)?;
    let canary_spec = canary_client(&s.client, &pki, opts.change)?;
    let gw = pki.cert("gw").map_err(BenchError::Pki)?.clone();
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
        gateway.addr(),
        opts.change,
        gateway.renewals(),
        gw.der.to_vec(),
        started,
        observations.clone(),
        stop.clone(),
    ));
    // The changes, on their own task: the files replaced, then the program
    // told by its mechanism.
    enum Changer {
        Real(Box<RealChanger>),
        Builtin(Box<BuiltinChanger>),
    }
    let mut changer = match &gateway {
        Gateway::Real(server) => Changer::Real(Box::new(RealChanger {
            kind: server.kind(),
            mechanism,
            prefix: server.rendered().prefix.clone(),
            listen: match server.rendered().inherited_fd {
                Some(_) => crate::real::render::Listen::Inherited {
                    port: server.rendered().port,
                },
                None => crate::real::render::Listen::Port(server.rendered().port),
            },
            pid: server.pid(),
            pki: pki.clone(),
            server: file.server.clone(),
            tls: opts.tls,
            crls,
        })),
        Gateway::Builtin(g) => Changer::Builtin(Box::new(BuiltinChanger {
            configs: g.configs(),
            reload: mechanism == Mechanism::Swap,
            pki: pki.clone(),
            first: file.server.clone(),
            server: file.server.clone(),
            tls: opts.tls,
            crls,
        })),
    };
    let changes = {
        let (every, duration, change) = (opts.every, opts.duration, opts.change);
        tokio::spawn(async move {
            let mut done: Vec<(f64, String)> = Vec::new();
            let mut k = 1u32;
            while every * k < duration {
                tokio::time::sleep_until((started + every * k).into()).await;
                let (at_s, what) = match &mut changer {
                    Changer::Real(c) => c.apply(k, change, started).await?,
                    Changer::Builtin(c) => c.apply(k, change, started)?,
                };
                done.push((at_s, format!("{what}, {}", mechanism.describe())));
                k += 1;
            }
            Ok::<_, BenchError>(done)
        })
    };
    let keep_alive = {
        let connector =
            tokio_rustls::TlsConnector::from(s.client.load_config().map_err(|source| {
                BenchError::Config {
                    what: "keep-alive client",
                    source,
                }
            })?);
        let name = rustls_pki_types::ServerName::try_from(s.client.server_name.clone())
            .map_err(BenchError::ServerName)?;
        (0..super::keep_alive::CONNECTIONS)
            .map(|_| {
                tokio::spawn(super::keep_alive::run(
                    connector.clone(),
                    name.clone(),
                    gateway.addr(),
                    started,
                    started + opts.duration,
                ))
            })
            .collect::<Vec<_>>()
    };
    let load = super::load_timeline(
        gateway.addr(),
        &s.client,
        opts.duration,
        opts.concurrency,
        gateway.group(),
        started,
        progress,
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = canary.await;
    let mut requests: Vec<(f64, RequestEvent)> = Vec::new();
    for k in keep_alive {
        requests.extend(k.await.map_err(BenchError::Worker)?);
    }
    requests.sort_by(|a, b| a.0.total_cmp(&b.0));
    let done = changes.await.map_err(BenchError::Worker)??;
    gateway.shutdown().await;
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
        changes: records(
            &done,
            &seen,
            &events,
            &requests,
            opts.duration.as_secs_f64(),
        ),
        keep_alive: KeepAliveStats::of(super::keep_alive::CONNECTIONS, &requests),
        failed_requests_at_s: requests
            .iter()
            .filter(|(_, e)| matches!(e, RequestEvent::Failed(_)))
            .map(|(t, _)| *t)
            .collect(),
        failed_requests_before_changes: in_window(
            &requests,
            0.0,
            done.first().map_or(f64::INFINITY, |(t, _)| *t),
            |e| matches!(e, RequestEvent::Failed(_)),
        ),
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
    mut renewals: Box<dyn FnMut() -> u64 + Send>,
    first_cert: Vec<u8>,
    started: Instant,
    seen: Arc<Mutex<Vec<(f64, Seen)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let observed = match change {
            During::Reload => {
                let new = renewals();
                (new > 0).then_some(Seen::Renewed(new))
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
        // When it was seen: at the end of the canary's handshake, so one
        // begun before a change and answered after it counts after it (the
        // change's `at_s` is taken before the program is told).
        let t = started.elapsed().as_secs_f64();
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
    requests: &[(f64, RequestEvent)],
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
                    Seen::Renewed(_) => true,
                    Seen::Served(served) => *served == (k % 2 == 1),
                    Seen::Cert(c) => *c == u8::from(k % 2 == 1),
                })
                .filter(|(_, o)| previous_took || matches!(o, Seen::Renewed(_)));
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
                failed_handshakes: in_window(events, *at, until, |ok| !ok),
                stale_after_rotation: stale,
                failed_requests: in_window(requests, *at, until, |e| {
                    matches!(e, RequestEvent::Failed(_))
                }),
                closed_by_server: in_window(requests, *at, until, |e| {
                    *e == RequestEvent::ClosedBetween
                }),
            }
        })
        .collect()
}

/// How many of `events` from `from` up to `until` are `which`.
fn in_window<T>(events: &[(f64, T)], from: f64, until: f64, which: impl Fn(&T) -> bool) -> u64 {
    events
        .iter()
        .filter(|(t, e)| *t >= from && *t < until && which(e))
        .count() as u64
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
        let requests = vec![
            (
                1.2,
                RequestEvent::Failed("connection closed before the response".into()),
            ),
            (1.3, RequestEvent::ClosedBetween),
            (2.4, RequestEvent::Served),
        ];
        let r = records(&done, &seen, &events, &requests, 3.0);
        assert_eq!((r[0].failed_requests, r[0].closed_by_server), (1, 1));
        assert_eq!((r[1].failed_requests, r[1].closed_by_server), (0, 0));
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
        let r = records(&done, &seen, &[], &[], 3.0);
        assert_eq!(r[0].effect_ms, None);
        assert_eq!(r[1].effect_ms, None);
    }
}
