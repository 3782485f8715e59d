//! Handshake benchmarks: an in-memory handshake driver (no sockets; what
//! criterion measures) and a loopback load generator (what `bench` runs), on
//! gateways with large trust stores and CA-name lists. [`sweep()`] measures one
//! point per trust-store size; [`table`] shows the points against the first.

pub mod during;
pub mod floor_tcp;
pub mod keep_alive;
pub mod real;
pub mod s_time;
pub mod server;
pub mod sweep;
pub mod table;

pub use s_time::STimeStats;
pub use sweep::{sweep, BenchGateway, SweepOptions};
pub use table::{BenchPoint, BenchRun};

use crate::case::{client_spec, gateway_config};
use crate::gateway::ProfileKind;
use crate::observation::TlsVersion;
use crate::pki::{Pki, PkiError};
use crate::scenario::schema::{CaNamesPolicy, ScenarioFile};
use crate::tls::client::ClientSpec;
use crate::tls::server::GatewayConfig;
use crate::tls::Timeouts;
use rustls_pki_types::ServerName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a benchmark could not be set up or run. The messages name the step;
/// the cause is the error's source.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The benchmark's own scenario text did not parse (a bug here).
    #[error("the generated benchmark scenario")]
    Scenario(#[source] toml::de::Error),
    #[error("generating the benchmark PKI")]
    Pki(#[source] PkiError),
    /// The gateway or client configuration could not be built.
    #[error("configuring the benchmark {what}")]
    Case {
        what: &'static str,
        #[source]
        source: Box<crate::case::CaseError>,
    },
    #[error("configuring the benchmark {what}")]
    Config {
        what: &'static str,
        #[source]
        source: crate::tls::TlsError,
    },
    #[error("the client's server name")]
    ServerName(#[source] rustls_pki_types::InvalidDnsNameError),
    /// One side refused the in-memory handshake.
    #[error("in-memory handshake: {side}")]
    Handshake {
        side: &'static str,
        #[source]
        source: rustls::Error,
    },
    #[error("in-memory handshake: moving TLS records")]
    Records(#[source] std::io::Error),
    #[error("in-memory handshake did not finish in {0} flights")]
    Unfinished(usize),
    #[error("starting the benchmark gateway")]
    Gateway(#[source] crate::tls::TlsError),
    #[error("a load worker stopped")]
    Worker(#[source] tokio::task::JoinError),
    #[error("a load lane's thread ended without its result")]
    LanePanicked,
    #[error("no trust-store size to measure")]
    NoPoints,
    /// The real gateway could not be configured or started.
    #[error("the real gateway")]
    Real(#[source] Box<crate::real::RealError>),
    #[error("listening on 127.0.0.1")]
    Listen(#[source] std::io::Error),
    /// A handshake of the TCP floor failed (a bug here: both sides are the
    /// built-in configuration's).
    #[error("the TCP floor's handshake")]
    TcpFloor(#[source] std::io::Error),
    #[error("the TCP floor's handshake did not finish in 10 s")]
    TcpFloorTimeout,
    #[error("{0}")]
    DuringUnsupported(String),
    #[error("replacing the gateway's files")]
    DuringIo(#[source] std::io::Error),
    #[error("openssl s_time: {0}")]
    STime(String),
    #[error("openssl s_time")]
    STimeIo(#[source] std::io::Error),
    /// A point failed; which one, with why as the source.
    #[error("{trust_anchors} trust anchors")]
    Point {
        trust_anchors: usize,
        #[source]
        source: Box<BenchError>,
    },
}

/// A gateway and a client for one benchmark point.
pub struct BenchSetup {
    pub trust_anchors: usize,
    pub gateway: GatewayConfig,
    pub client: ClientSpec,
    /// Encoded size of the CA list the gateway sends (0 when off).
    pub ca_names_bytes: usize,
    /// The full list was cut at 16 KB, as Windows cuts it (a list that does
    /// not fit makes every handshake fail, which measures nothing).
    pub ca_names_truncated: bool,
    /// The client's certificate chain and key as PEM (for `openssl s_time`).
    pub client_pem: (String, String),
}

/// The scenario every benchmark point is built from: `trust_anchors`
/// trusted roots (fillers with realistic DNs first, the client's own root
/// `root` last: the worst place for a lookup), a server certificate `gw`
/// and the client `alice` issued by `root`; the CA-names policy is the
/// caller's.
pub fn bench_scenario(trust_anchors: usize) -> Result<ScenarioFile, BenchError> {
    let fillers = trust_anchors.saturating_sub(1);
    let bulk = if fillers > 0 {
        format!(
            "[[pki.bulk]]\nprefix = \"anchor\"\ncount = {fillers}\nsubject = \"CN=Benchmark Root CA {{n}},O=Example Trust Services,C=DE\"\n"
        )
    } else {
        String::new()
    };
    let trust = if fillers > 0 {
        "[\"anchor-*\", \"root\"]"
    } else {
        "[\"root\"]"
    };
    let text = format!(
        "description = \"bench\"\n[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[[pki.cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n{bulk}[server]\ncert = \"gw\"\ntrust = {trust}\n[client]\ncerts = [\"alice\"]\n"
    );
    toml::from_str(&text).map_err(BenchError::Scenario)
}

/// `trust_anchors` trusted roots (see [`bench_scenario`]), CA names sent
/// or not, the `strict` profile requiring a certificate, one TLS version.
pub fn setup(
    trust_anchors: usize,
    ca_names: bool,
    version: TlsVersion,
) -> Result<BenchSetup, BenchError> {
    let mut file = bench_scenario(trust_anchors)?;
    file.server.ca_names = if ca_names {
        // Cut where Windows cuts: a list near 64 KiB fits the encoding but
        // rustls clients refuse the flight ("message buffer full").
        CaNamesPolicy::TruncateBytes(16 * 1024)
    } else {
        CaNamesPolicy::Empty
    };
    let pki = Pki::generate(&file.pki).map_err(BenchError::Pki)?;
    setup_from(trust_anchors, &pki, &file, version)
}

/// The built-in gateway (`strict`) and the client for `file` and its PKI.
pub fn setup_from(
    trust_anchors: usize,
    pki: &Pki,
    file: &ScenarioFile,
    version: TlsVersion,
) -> Result<BenchSetup, BenchError> {
    let timeouts = Timeouts::default();
    let gateway = gateway_config(
        pki,
        &file.server,
        ProfileKind::Strict,
        vec![version],
        timeouts,
        None,
    )
    .map_err(|source| BenchError::Case {
        what: "gateway",
        source: Box::new(source),
    })?;
    let client = client_spec(pki, file, version, timeouts).map_err(|source| BenchError::Case {
        what: "client",
        source: Box::new(source),
    })?;
    let alice = pki.cert("alice").map_err(BenchError::Pki)?;
    Ok(BenchSetup {
        client_pem: (alice.chain_pem(), alice.key_pem()),
        trust_anchors,
        ca_names_bytes: gateway.ca_list.encoded_bytes(),
        ca_names_truncated: gateway.ca_list.truncated,
        gateway,
        client,
    })
}

/// Configurations for in-memory handshakes.
pub struct InMemory {
    pub client: Arc<rustls::ClientConfig>,
    pub server: Arc<rustls::ServerConfig>,
    pub name: ServerName<'static>,
}

impl BenchSetup {
    pub fn in_memory(&self) -> Result<InMemory, BenchError> {
        let server = crate::tls::server::gateway_tls(&self.gateway)
            .map_err(|source| BenchError::Config {
                what: "gateway",
                source,
            })?
            .config;
        let client = client_rustls_config(&self.client)?;
        let name = ServerName::try_from(self.client.server_name.clone())
            .map_err(BenchError::ServerName)?;
        Ok(InMemory {
            client,
            server,
            name,
        })
    }
}

/// The load client's configuration: lean, no resumption.
fn client_rustls_config(client: &ClientSpec) -> Result<Arc<rustls::ClientConfig>, BenchError> {
    client.load_config().map_err(|source| BenchError::Config {
        what: "client",
        source,
    })
}

/// A handshake takes a handful of flights; this many means a loop.
const MAX_FLIGHTS: usize = 64;

fn refused(side: &'static str) -> impl Fn(rustls::Error) -> BenchError {
    move |source| BenchError::Handshake { side, source }
}

/// One full handshake between a rustls client and server through memory
/// buffers. Returns whether the client sent a certificate.
pub fn handshake_in_memory(m: &InMemory) -> Result<bool, BenchError> {
    let mut client = rustls::ClientConnection::new(m.client.clone(), m.name.clone())
        .map_err(refused("client"))?;
    let mut server = rustls::ServerConnection::new(m.server.clone()).map_err(refused("server"))?;
    let mut buf = Vec::with_capacity(16 * 1024);
    for _ in 0..MAX_FLIGHTS {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(server.peer_certificates().is_some_and(|c| !c.is_empty()));
        }
        buf.clear();
        while client.wants_write() {
            client.write_tls(&mut buf).map_err(BenchError::Records)?;
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd).map_err(BenchError::Records)?;
            server.process_new_packets().map_err(refused("server"))?;
        }
        buf.clear();
        while server.wants_write() {
            server.write_tls(&mut buf).map_err(BenchError::Records)?;
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd).map_err(BenchError::Records)?;
            client.process_new_packets().map_err(refused("client"))?;
        }
    }
    Err(BenchError::Unfinished(MAX_FLIGHTS))
}

/// Results of a load run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadStats {
    pub handshakes: u64,
    pub errors: u64,
    /// Failed handshakes by kind: `alert <name> from server`, a canonical
    /// client error code (`HANDSHAKE_PAYLOAD_TOO_LARGE`), an io code
    /// (`CONNECTION_RESET`) or `TIMEOUT`.
    #[serde(default)]
    pub errors_by_kind: BTreeMap<String, u64>,
    pub first_error: Option<String>,
    pub wall_s: f64,
    pub handshakes_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// CPU (user + system) per handshake, client and server together: the
    /// harness process's (which holds the built-in gateway too) plus the
    /// real program's ([`Self::server_cpu_us_per_handshake`]).
    pub cpu_us_per_handshake: f64,
    /// The harness process's CPU per handshake (the load client; with a
    /// built-in gateway also the gateway, which runs in the same process).
    #[serde(default)]
    pub client_cpu_us_per_handshake: f64,
    /// A real gateway's CPU per handshake, from `/proc/PID/stat` summed over
    /// its process group; `None` for the built-in gateway (in process) and
    /// for an external target.
    #[serde(default)]
    pub server_cpu_us_per_handshake: Option<f64>,
}

impl LoadStats {
    /// Every handshake failed and each failure was an alert the server
    /// sent: the gateway refuses this configuration (nginx's internal_error
    /// for a CA list over 64 KiB), a finding rather than a broken run.
    pub fn refused_by_server(&self) -> bool {
        self.handshakes == 0
            && self.errors > 0
            && self
                .errors_by_kind
                .keys()
                .all(|k| k.starts_with("alert ") && k.ends_with(" from server"))
    }

    /// The one alert every handshake got, when [`Self::refused_by_server`].
    pub fn refusal(&self) -> Option<&str> {
        if !self.refused_by_server() || self.errors_by_kind.len() != 1 {
            return None;
        }
        self.errors_by_kind.keys().next().map(String::as_str)
    }
}

/// The harness process's CPU time (user + system), seconds.
pub fn cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_SELF)
}

/// The calling thread's CPU time (user + system), seconds: what an
/// in-memory handshake costs, whatever else the process runs.
pub fn thread_cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_THREAD)
}

fn rusage_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes into the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    if rc != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time (user + system, seconds) of every live process in group
/// `pgid`, from `/proc/PID/stat`: nginx's master and worker, Apache's
/// parent and children. A process that exited in between takes its time
/// with it (the gateways here keep their workers for the whole run).
pub fn group_cpu_seconds(pgid: u32) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    crate::interrupt::group_members(pgid)
        .into_iter()
        .filter_map(|(pid, _)| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // pid (comm) state ...: utime and stime are fields 14 and 15,
            // the 12th and 13th after the comm's closing parenthesis.
            let after = &stat[stat.rfind(')')? + 1..];
            let cols: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = cols.get(11)?.parse().ok()?;
            let stime: f64 = cols.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks)
        })
        .sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// The kind a failed handshake is counted under.
fn error_kind(e: &std::io::Error) -> String {
    use crate::tls::classify;
    match classify::find_rustls_error(e) {
        Some(rustls::Error::AlertReceived(a)) => {
            format!("alert {} from server", classify::alert_name(*a))
        }
        Some(r) => classify::client_error_code(r),
        None => classify::io_error_code(e),
    }
}

/// What one lane's workers saw.
#[derive(Debug, Default)]
struct LaneResult {
    /// Latency of each completed handshake, ms.
    lat: Vec<f64>,
    kinds: BTreeMap<String, u64>,
    first_error: Option<String>,
    /// With a timeline: each handshake's end (seconds from the start) and
    /// whether it completed.
    events: Vec<(f64, bool)>,
}

impl LaneResult {
    fn merge(&mut self, other: LaneResult) {
        self.lat.extend(other.lat);
        self.events.extend(other.events);
        for (kind, n) in other.kinds {
            *self.kinds.entry(kind).or_insert(0) += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// The load's fixed part: whom to connect to, as whom, until when.
#[derive(Clone)]
struct LoadPlan {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
    handshake_timeout: Duration,
    started: Instant,
    duration: Duration,
    /// Record each handshake's end ([`LaneResult::events`]).
    timeline: bool,
}

impl LoadPlan {
    fn new(client: &ClientSpec, duration: Duration) -> Result<LoadPlan, BenchError> {
        let config = client_rustls_config(client)?;
        let name =
            ServerName::try_from(client.server_name.clone()).map_err(BenchError::ServerName)?;
        Ok(LoadPlan {
            connector: tokio_rustls::TlsConnector::from(config),
            name,
            handshake_timeout: client.timeouts.handshake,
            started: Instant::now(),
            duration,
            timeline: false,
        })
    }
}

/// `workers` handshake loops against `addr` on the current runtime until
/// the plan's deadline; the first worker reports progress when given.
async fn lane(
    addr: std::net::SocketAddr,
    plan: &LoadPlan,
    workers: usize,
    progress: Option<Arc<dyn Fn(f64) + Send + Sync>>,
) -> Result<LaneResult, BenchError> {
    let deadline = plan.started + plan.duration;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers.max(1) {
        let plan = plan.clone();
        let progress = if w == 0 { progress.clone() } else { None };
        set.spawn(async move {
            let mut seen = LaneResult {
                lat: Vec::with_capacity(4096),
                ..Default::default()
            };
            while Instant::now() < deadline {
                let t = Instant::now();
                let attempt = async {
                    let tcp = tokio::net::TcpStream::connect(addr).await?;
                    tcp.set_nodelay(true)?;
                    // Close with a reset: a FIN would leave this side in
                    // TIME_WAIT for 60 s, and once tens of thousands of
                    // loopback ports wait there each connect() searches
                    // longer (the same 1-anchor point cost 10% more at the
                    // end of a run than at its start). A zero linger never
                    // blocks the drop.
                    socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO))?;
                    plan.connector.connect(plan.name.clone(), tcp).await
                };
                let outcome = tokio::time::timeout(plan.handshake_timeout, attempt).await;
                if plan.timeline {
                    let at = plan.started.elapsed().as_secs_f64();
                    seen.events.push((at, matches!(outcome, Ok(Ok(_)))));
                }
                match outcome {
                    Ok(Ok(_tls)) => seen.lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Ok(Err(e)) => {
                        *seen.kinds.entry(error_kind(&e)).or_default() += 1;
                        seen.first_error.get_or_insert_with(|| e.to_string());
                    }
                    Err(_) => {
                        *seen.kinds.entry("TIMEOUT".into()).or_default() += 1;
                        seen.first_error
                            .get_or_insert_with(|| "handshake timed out".to_string());
                    }
                }
                if let Some(progress) = &progress {
                    let done = plan.started.elapsed().as_secs_f64() / plan.duration.as_secs_f64();
                    progress(done.min(1.0));
                }
            }
            seen
        });
    }
    let mut all = LaneResult::default();
    while let Some(r) = set.join_next().await {
        all.merge(r.map_err(BenchError::Worker)?);
    }
    Ok(all)
}

/// The figures of a load run from what its lanes saw and the CPU it took.
fn load_stats(
    mut seen: LaneResult,
    wall: f64,
    client_cpu: f64,
    server_cpu: Option<f64>,
) -> LoadStats {
    seen.lat.sort_by(|a, b| a.total_cmp(b));
    let n = seen.lat.len() as u64;
    let per = |cpu: f64| if n > 0 { cpu * 1e6 / n as f64 } else { 0.0 };
    LoadStats {
        handshakes: n,
        errors: seen.kinds.values().sum(),
        errors_by_kind: seen.kinds,
        first_error: seen.first_error,
        wall_s: wall,
        handshakes_per_s: n as f64 / wall,
        p50_ms: percentile(&seen.lat, 0.5),
        p90_ms: percentile(&seen.lat, 0.9),
        p99_ms: percentile(&seen.lat, 0.99),
        cpu_us_per_handshake: per(client_cpu + server_cpu.unwrap_or(0.0)),
        client_cpu_us_per_handshake: per(client_cpu),
        server_cpu_us_per_handshake: server_cpu.map(per),
    }
}

/// Full TCP + TLS handshakes against `addr` for `duration` with
/// `concurrency` workers on the current runtime (bounded in time; stops by
/// itself). Nothing per handshake but the handshake, its latency and, on
/// failure, its kind. `server_group`: the process group of a real gateway
/// whose CPU to read.
pub async fn load(
    addr: std::net::SocketAddr,
    client: &ClientSpec,
    duration: Duration,
    concurrency: usize,
    server_group: Option<u32>,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<LoadStats, BenchError> {
    let plan = LoadPlan::new(client, duration)?;
    let server_cpu0 = server_group.map(group_cpu_seconds);
    let cpu0 = cpu_seconds();
    let seen = lane(addr, &plan, concurrency, Some(Arc::new(progress))).await?;
    let wall = plan.started.elapsed().as_secs_f64();
    let client_cpu = cpu_seconds() - cpu0;
    let server_cpu = server_group
        .zip(server_cpu0)
        .map(|(g, before)| group_cpu_seconds(g) - before);
    Ok(load_stats(seen, wall, client_cpu, server_cpu))
}

/// [`load`] timed from `started` (shared with whatever else measures the
/// same run), with each handshake's end and outcome.
pub async fn load_timeline(
    addr: std::net::SocketAddr,
    client: &ClientSpec,
    duration: Duration,
    concurrency: usize,
    server_group: Option<u32>,
    started: Instant,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<(LoadStats, Vec<(f64, bool)>), BenchError> {
    let mut plan = LoadPlan::new(client, duration)?;
    plan.started = started;
    plan.timeline = true;
    let server_cpu0 = server_group.map(group_cpu_seconds);
    let cpu0 = cpu_seconds();
    let mut seen = lane(addr, &plan, concurrency, Some(Arc::new(progress))).await?;
    let wall = plan.started.elapsed().as_secs_f64();
    let client_cpu = cpu_seconds() - cpu0;
    let server_cpu = server_group
        .zip(server_cpu0)
        .map(|(g, before)| group_cpu_seconds(g) - before);
    let mut events = std::mem::take(&mut seen.events);
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok((load_stats(seen, wall, client_cpu, server_cpu), events))
}

/// [`load`] against the built-in gateway `config`, in lanes: one thread a
/// core (at most one a worker), each running its own gateway listener and
/// its share of the workers on a single-threaded runtime, so a handshake's
/// two sides never cross threads (each nginx worker owns its connections
/// the same way). CPU is the whole process's: the load and the gateway.
/// Dropping the future (an interrupted sweep) stops every lane at once and
/// joins its thread.
pub async fn load_builtin(
    config: Arc<rustls::ServerConfig>,
    gateway_timeout: Duration,
    client: &ClientSpec,
    duration: Duration,
    concurrency: usize,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<LoadStats, BenchError> {
    let concurrency = concurrency.max(1);
    let lanes = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(concurrency);
    let plan = LoadPlan::new(client, duration)?;
    let progress: Arc<dyn Fn(f64) + Send + Sync> = Arc::new(progress);
    let cpu0 = cpu_seconds();
    let (abort, aborted) = tokio::sync::watch::channel(false);
    let mut running = Lanes {
        abort,
        threads: Vec::with_capacity(lanes),
    };
    let mut results = Vec::with_capacity(lanes);
    for i in 0..lanes {
        // The workers spread evenly: 5 over 2 lanes is 3 and 2.
        let workers = concurrency / lanes + usize::from(i < concurrency % lanes);
        let (plan, config, mut aborted) = (plan.clone(), config.clone(), aborted.clone());
        let progress = (i == 0).then(|| progress.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BenchError::Listen)?;
        let thread = std::thread::Builder::new()
            .name(format!("bench-lane-{i}"))
            .spawn(move || {
                let seen = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .map_err(BenchError::Listen)?;
                    let addr = listener.local_addr().map_err(BenchError::Listen)?;
                    let (stop, stopped) = tokio::sync::watch::channel(false);
                    let gateway =
                        tokio::spawn(server::serve(listener, config, gateway_timeout, stopped));
                    let seen = tokio::select! {
                        seen = lane(addr, &plan, workers, progress) => seen,
                        _ = aborted.changed() => Ok(LaneResult::default()),
                    };
                    let _ = stop.send(true);
                    let _ = gateway.await;
                    seen
                });
                let _ = done.send(seen);
            })
            .map_err(BenchError::Listen)?;
        running.threads.push(thread);
        results.push(result);
    }
    let mut seen = LaneResult::default();
    for result in results {
        seen.merge(result.await.map_err(|_| BenchError::LanePanicked)??);
    }
    let wall = plan.started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    drop(running);
    Ok(load_stats(seen, wall, cpu, None))
}

/// The lanes of a [`load_builtin`] run: dropped, they are told to stop and
/// their threads are joined (they end within a handshake).
struct Lanes {
    abort: tokio::sync::watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Lanes {
    fn drop(&mut self) {
        let _ = self.abort.send(true);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The in-memory reference: one rustls client and server handshaking
/// through memory buffers on one thread.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct FloorStats {
    pub handshakes: u64,
    /// Thread CPU per handshake pair (client and server).
    pub cpu_us_per_handshake: f64,
}

/// Handshake pairs in memory on this thread for `duration` (at least
/// `min_handshakes`), measured in thread CPU time.
pub fn floor(
    m: &InMemory,
    duration: Duration,
    min_handshakes: u64,
) -> Result<FloorStats, BenchError> {
    let deadline = Instant::now() + duration;
    let cpu0 = thread_cpu_seconds();
    let mut n = 0u64;
    while n < min_handshakes || Instant::now() < deadline {
        handshake_in_memory(m)?;
        n += 1;
    }
    let cpu = thread_cpu_seconds() - cpu0;
    Ok(FloorStats {
        handshakes: n,
        cpu_us_per_handshake: cpu * 1e6 / n as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_handshake_sends_the_certificate_only_when_names_allow() {
        for names in [true, false] {
            let s = setup(10, names, TlsVersion::Tls13).unwrap();
            let m = s.in_memory().unwrap();
            // The bench client always sends (selection `always`), names or not.
            assert!(handshake_in_memory(&m).unwrap());
            assert_eq!(s.ca_names_bytes > 0, names);
        }
    }

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
