//! Running scenarios: one case per scenario x profile x TLS version, bounded
//! concurrency, every case under a time limit.

use super::report::{AdjustedField, CaseResult, Interruption, RunReport};
use super::target::TargetBackend;
use crate::backend::{Backend, BuiltinGateway, CaseInput, Observing};
use crate::case::CaseError;
use crate::gateway::ProfileKind;
use crate::interrupt::CancelToken;
use crate::observation::TlsVersion;
use crate::oracle::{judge, Diff, Verdict};
use crate::pki::{Pki, PkiError};
use crate::real::client::RealClientKind;
use crate::real::{
    RealClient, RealClientOnRealGateway, RealGateway, RealKind, RealMiddleboxBackend,
};
use crate::scenario::schema::Expectation;
use crate::scenario::Scenario;
use crate::tls::Timeouts;
use std::sync::Arc;
use std::time::Instant;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only scenarios whose id matches one of these globs (feature `glob`).
    #[cfg(feature = "glob")]
    pub filter: Option<globset::GlobSet>,
    /// Only these profiles (still limited to those a scenario expects).
    pub profiles: Option<Vec<ProfileKind>>,
    /// Only these versions (still limited to the scenario's `server.tls`).
    pub tls: Option<Vec<TlsVersion>>,
    pub timeouts: Timeouts,
    /// Cases in flight at once.
    pub concurrency: usize,
    /// Built-in profiles or one real gateway.
    pub gateway: GatewaySelection,
    /// A real middlebox program in place of the built-in middlebox of the
    /// scenarios that have one (`run --middlebox real:*`).
    pub middlebox: Option<crate::real::middlebox::RealMiddlebox>,
    /// Write each case's client connections as pcapng (`run --capture`).
    pub capture: Option<super::captures::CaptureOptions>,
    /// Once cancelled, no case starts and the cases in flight are dropped
    /// (their real gateways stopped); the report says it was interrupted.
    pub cancel: CancelToken,
    /// Only this shard's cases (`run --shard K/N`).
    pub shard: Option<super::shard::Shard>,
    /// The built-in client, or a real client program (`run --client`).
    pub client: ClientSelection,
    /// A backend of the caller's own, in place of the one `gateway`,
    /// `client` and `middlebox` select.
    pub backend: Option<Arc<dyn Backend>>,
    /// Keep each finished case's observation in the report (JSON, HTML,
    /// `--trace` and a target's verdicts need it); `false` keeps only its
    /// one-line summary ([`CaseResult::slim`]), enough for the table and
    /// JUnit reports.
    pub keep_observations: bool,
}

/// Who makes the request (`run --client`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientSelection {
    /// The built-in client with the scenario's `[client] selection`.
    #[default]
    Builtin,
    /// A real client program: only scenarios whose selection policy it
    /// follows run, against the built-in gateways; the rest are SKIP.
    Real(RealClientKind),
}

impl ClientSelection {
    /// `builtin` or `real:<name>`.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "builtin" {
            return Some(ClientSelection::Builtin);
        }
        s.strip_prefix("real:")
            .and_then(RealClientKind::from_name)
            .map(ClientSelection::Real)
    }
}

/// Where the cases run.
#[derive(Debug, Clone, Default)]
pub enum GatewaySelection {
    /// The built-in profiles (every profile the scenario expects).
    #[default]
    Builtin,
    /// A real gateway process per case, judged by the expectations of
    /// [`RealKind::profile`] only.
    Real(RealKind),
    /// A gateway someone else runs, configured with a PKI from `pki
    /// generate`, judged by one profile's expectations.
    External(Arc<super::target::ExternalTarget>),
}

impl GatewaySelection {
    /// `builtin`, `real:nginx`, `real:haproxy`, `real:apache`, `real:openssl`.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "builtin" {
            return Some(GatewaySelection::Builtin);
        }
        s.strip_prefix("real:")
            .and_then(RealKind::from_name)
            .map(GatewaySelection::Real)
    }
}

/// A real client with a gateway other than the built-in ones, or with a real
/// middlebox: not built, every case SKIP with the reason.
#[derive(Debug)]
struct Unrunnable {
    gateway: Arc<dyn Backend>,
    client: RealClientKind,
}

impl Backend for Unrunnable {
    fn label(&self, profile: ProfileKind) -> String {
        format!("{} + {}", self.gateway.label(profile), self.client)
    }

    fn judged_by(&self) -> Option<(String, ProfileKind)> {
        self.gateway.judged_by()
    }

    fn refuses(&self, _case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
        Some(format!(
            "{} runs against the built-in gateways, without a real middlebox",
            self.client
        ))
    }

    fn observe<'a>(&'a self, _case: CaseInput<'a>) -> Observing<'a> {
        Box::pin(async { unreachable!("an Unrunnable backend refuses every case first") })
    }
}

impl RunOptions {
    /// Where the cases run: [`RunOptions::backend`] when set, else the
    /// backend the gateway, client and middlebox selections make.
    pub fn backend(&self) -> Arc<dyn Backend> {
        if let Some(backend) = &self.backend {
            return backend.clone();
        }
        let gateway: Arc<dyn Backend> = match (&self.gateway, self.middlebox) {
            (GatewaySelection::Builtin, None) => Arc::new(BuiltinGateway),
            (GatewaySelection::Real(kind), None) => Arc::new(RealGateway(*kind)),
            (GatewaySelection::Builtin, Some(middlebox)) => Arc::new(RealMiddleboxBackend {
                middlebox,
                gateway: None,
            }),
            (GatewaySelection::Real(kind), Some(middlebox)) => Arc::new(RealMiddleboxBackend {
                middlebox,
                gateway: Some(RealGateway(*kind)),
            }),
            (GatewaySelection::External(target), middlebox) => Arc::new(TargetBackend {
                target: target.clone(),
                middlebox,
            }),
        };
        match (&self.gateway, self.client, self.middlebox) {
            (_, ClientSelection::Builtin, _) => gateway,
            (GatewaySelection::Builtin, ClientSelection::Real(kind), None) => {
                Arc::new(RealClient(kind))
            }
            (GatewaySelection::Real(gateway), ClientSelection::Real(client), None) => {
                Arc::new(RealClientOnRealGateway {
                    gateway: *gateway,
                    client,
                })
            }
            (_, ClientSelection::Real(client), _) => Arc::new(Unrunnable { gateway, client }),
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            #[cfg(feature = "glob")]
            filter: None,
            profiles: None,
            tls: None,
            timeouts: Timeouts::default(),
            concurrency: default_concurrency(),
            gateway: GatewaySelection::Builtin,
            middlebox: None,
            capture: None,
            cancel: CancelToken::global(),
            shard: None,
            client: ClientSelection::Builtin,
            backend: None,
            keep_observations: true,
        }
    }
}

/// Cases are mostly waiting on loopback I/O: a few per core keeps both busy.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 4
}

/// The default for `gateway` and `client`: twice [`default_concurrency`]
/// when everything runs in process. There a handful of cases spend a
/// second waiting out a hanging responder while holding their slot; with
/// 4 slots a core the catalog kept 1.5 of 2 cores busy, with 8 it keeps
/// 1.9 (`cargo run --release -- run`). A real program per case stays at 4
/// a core: each is a process group of its own.
pub fn default_concurrency_for(gateway: &GatewaySelection, client: ClientSelection) -> usize {
    match (gateway, client) {
        (GatewaySelection::Builtin, ClientSelection::Builtin) => default_concurrency() * 2,
        _ => default_concurrency(),
    }
}

/// One planned case.
#[derive(Debug, Clone)]
pub struct PlannedCase {
    pub scenario: usize,
    pub profile: ProfileKind,
    pub tls: TlsVersion,
}

/// The scenarios `opts` selects.
pub fn select<'a>(scenarios: &'a [Scenario], opts: &RunOptions) -> Vec<&'a Scenario> {
    #[cfg(feature = "glob")]
    let selected = |s: &&Scenario| opts.filter.as_ref().is_none_or(|f| f.is_match(&s.id));
    #[cfg(not(feature = "glob"))]
    let selected = |_: &&Scenario| {
        let _ = opts;
        true
    };
    scenarios.iter().filter(selected).collect()
}

/// The cases of one scenario, and the profiles it does not run on (with why).
#[derive(Debug, Clone, Default)]
pub struct ScenarioPlan {
    pub cases: Vec<(ProfileKind, TlsVersion)>,
    /// `(profile, reason)`
    pub not_run: Vec<(String, String)>,
}

/// Every case of `scenario` under `opts`, and the profiles it does not run on.
pub fn plan(scenario: &Scenario, opts: &RunOptions) -> ScenarioPlan {
    plan_on(scenario, opts, opts.backend().as_ref())
}

fn plan_on(scenario: &Scenario, opts: &RunOptions, backend: &dyn Backend) -> ScenarioPlan {
    let (run, not_run) = scenario.profiles_to_run();
    let single = backend.judged_by();
    let mut skipped: Vec<(String, String)> = match &single {
        None => not_run
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    "no expectation for this profile in the scenario".to_string(),
                )
            })
            .collect(),
        // One gateway: only its profile's expectations matter.
        Some((label, profile)) => {
            if run.iter().any(|p| *p == profile.name()) {
                Vec::new()
            } else {
                vec![(
                    label.clone(),
                    format!("no {profile} expectation in the scenario"),
                )]
            }
        }
    };
    let mut cases = Vec::new();
    for name in run {
        let Some(kind) = ProfileKind::from_name(name) else {
            continue;
        };
        if opts.profiles.as_ref().is_some_and(|ps| !ps.contains(&kind)) {
            skipped.push((name.to_string(), "not selected (--profile)".into()));
            continue;
        }
        if single.as_ref().is_some_and(|(_, p)| *p != kind) {
            continue;
        }
        for v in &scenario.file.server.tls {
            if opts.tls.as_ref().is_none_or(|t| t.contains(v)) {
                cases.push((kind, *v));
            }
        }
    }
    ScenarioPlan {
        cases,
        not_run: skipped,
    }
}

/// Generate each scenario's PKI (once per scenario); a PKI that cannot be
/// generated is bad input naming the scenario file.
pub fn generate_pkis(scenarios: &[&Scenario]) -> Result<Vec<Arc<Pki>>, PkiError> {
    scenarios
        .iter()
        .map(|s| {
            Pki::generate_with_source(&s.file.pki, &s.path.display().to_string(), &s.source)
                .map(Arc::new)
        })
        .collect()
}

/// Run one case on `backend` and judge it by `profile`'s expectations: the
/// one place a [`CaseResult`] is built. The backend may refuse the case
/// (SKIP with its reason), adjust the expectation (each adjustment is
/// reported with its reason) and add differences of its own.
pub async fn run_case(
    backend: &dyn Backend,
    scenario: &Scenario,
    pki: &Pki,
    profile: ProfileKind,
    tls: TlsVersion,
    timeouts: Timeouts,
) -> CaseResult {
    let started = Instant::now();
    let case = CaseInput::new(&scenario.file, pki, profile, tls, timeouts);
    let mut expected = scenario.expectation(profile.name(), tls);
    let result = |verdict, observation, adjusted| CaseResult {
        observation,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        adjusted,
        ..CaseResult::new(
            &scenario.id,
            &scenario.file.description,
            backend.label(profile),
            tls,
            verdict,
        )
    };
    if !scenario.file.steps.is_empty() && !backend.runs_steps() {
        let reason = "a scenario with [[step]] runs on the built-in gateways and the real ones the harness starts (it changes their files between connections)".to_string();
        return result(Verdict::Skip { reason }, None, Vec::new());
    }
    if let Some(reason) = backend.refuses(&case, &expected) {
        return result(Verdict::Skip { reason }, None, Vec::new());
    }
    let limit = timeouts.connect
        + timeouts.handshake
        + timeouts.response
        + std::time::Duration::from_secs(5)
        + backend.extra_time(&case);
    let (verdict, observation, adjusted) =
        match tokio::time::timeout(limit, backend.observe(case)).await {
            Err(_) => (
                Verdict::Hang {
                    stage: "case".into(),
                },
                None,
                Vec::new(),
            ),
            Ok(Err(CaseError::Unsupported(reason))) => (Verdict::Skip { reason }, None, Vec::new()),
            Ok(Err(setup)) => (
                Verdict::Fail {
                    diffs: vec![Diff {
                        field: "setup".into(),
                        expected: "a runnable case".into(),
                        got: crate::error_chain::of(&setup),
                    }],
                },
                None,
                Vec::new(),
            ),
            Ok(Ok(obs)) => {
                let adjusted = backend.adjust(&case, &mut expected);
                let mut verdict = if scenario.file.steps.is_empty() {
                    with_diffs(
                        judge(&expected, &obs),
                        backend.judge_more(&case, &expected, &obs),
                    )
                } else {
                    with_diffs(Verdict::Pass, step_diffs(backend, &case, scenario, &obs))
                };
                if let (true, Some(perf)) = (
                    backend.measures_performance(),
                    &scenario.file.expect.performance,
                ) {
                    verdict = with_performance(verdict, scenario, pki, tls, perf);
                }
                let adjusted = adjusted
                    .into_iter()
                    .map(|a| AdjustedField {
                        field: a.field.to_string(),
                        reason: a.reason.to_string(),
                    })
                    .collect();
                (verdict, Some(obs), adjusted)
            }
        };
    result(verdict, observation, adjusted)
}

/// Each connect step's observation judged by its `[step.expect]`, the
/// differences named by step (`step 4: alert`); a step that did not run or
/// hung is one difference.
fn step_diffs(
    backend: &dyn Backend,
    case: &CaseInput<'_>,
    scenario: &Scenario,
    obs: &crate::observation::Observation,
) -> Vec<Diff> {
    let mut diffs = Vec::new();
    for i in 0..scenario.file.steps.len() {
        let n = i + 1;
        let Some(mut expected) = scenario.step_expectation(i, case.profile.name(), case.tls) else {
            continue;
        };
        backend.adjust(case, &mut expected);
        let seen = obs
            .steps
            .iter()
            .find(|s| s.step == n)
            .and_then(|s| s.observation.as_deref());
        let Some(seen) = seen else {
            diffs.push(Diff {
                field: format!("step {n}"),
                expected: "a connection".into(),
                got: "the step did not run".into(),
            });
            continue;
        };
        match judge(&expected, seen) {
            Verdict::Pass => {}
            Verdict::Fail { diffs: found } => diffs.extend(found.into_iter().map(|d| Diff {
                field: format!("step {n}: {}", d.field),
                ..d
            })),
            Verdict::Hang { stage } => diffs.push(Diff {
                field: format!("step {n}"),
                expected: "an answer".into(),
                got: format!("hang ({stage})"),
            }),
            Verdict::Skip { reason } => diffs.push(Diff {
                field: format!("step {n}"),
                expected: "a judged connection".into(),
                got: reason,
            }),
        }
    }
    diffs
}

/// `verdict` with `diffs` added: a PASS with any becomes a FAIL.
fn with_diffs(verdict: Verdict, diffs: Vec<Diff>) -> Verdict {
    match (verdict, diffs.is_empty()) {
        (v, true) => v,
        (Verdict::Pass, false) => Verdict::Fail { diffs },
        (Verdict::Fail { diffs: mut d }, false) => {
            d.extend(diffs);
            Verdict::Fail { diffs: d }
        }
        (v, false) => v,
    }
}

/// `verdict` with the scenario's `[expect.performance]` bounds checked (on
/// a backend that measures them in process: the built-in gateway; a real
/// program or a target is loaded with `bench`); a missed bound is a FAIL
/// naming both figures.
fn with_performance(
    verdict: Verdict,
    scenario: &Scenario,
    pki: &Pki,
    tls: TlsVersion,
    perf: &crate::scenario::schema::PerformanceExpectation,
) -> Verdict {
    // CPU-bound for a fraction of a second: off the async workers' hands.
    let measure = || super::performance::measure(pki, &scenario.file, tls, perf);
    let diffs = match crate::tls::blocking(measure) {
        Ok(figures) => super::performance::judge(perf, &figures),
        // The whole chain: "in-memory handshake: server: <why>".
        Err(e) => vec![Diff {
            field: "performance".into(),
            expected: "a measurable baseline and scenario".into(),
            got: crate::error_chain::of(&e),
        }],
    };
    with_diffs(verdict, diffs)
}

/// The result of a case whose scenario's PKI could not be generated.
fn pki_failure(
    scenario: &Scenario,
    backend: &dyn Backend,
    case: &PlannedCase,
    why: String,
) -> CaseResult {
    let verdict = Verdict::Fail {
        diffs: vec![Diff {
            field: "pki".into(),
            expected: "a PKI generated from the scenario".into(),
            got: why,
        }],
    };
    CaseResult::new(
        &scenario.id,
        &scenario.file.description,
        backend.label(case.profile),
        case.tls,
        verdict,
    )
}

/// A rough rank of how long a scenario's cases take, for ordering only:
/// a performance measurement runs rounds of handshakes for a second or
/// two; a hanging responder is waited out for the scenario's timeout.
fn expected_wait(scenario: &Scenario) -> u64 {
    let file = &scenario.file;
    if file.expect.performance.is_some() {
        return u64::MAX;
    }
    match &file.revocation {
        Some(r) if r.responder == Some(crate::knobs::ResponderState::Hang) => {
            r.timeout_secs.unwrap_or(2)
        }
        _ => 0,
    }
}

/// Whether a scenario's cases spend most of their time waiting, not
/// computing: a gateway waiting out a hanging responder. They take their
/// own slots, so a catalog with many of them does not leave the cores idle
/// while every slot waits (five copies of the catalog: 40 such cases held
/// all 16 slots for their first seconds).
fn mostly_waits(scenario: &Scenario) -> bool {
    scenario.file.expect.performance.is_none() && expected_wait(scenario) > 0
}

/// Run every selected case with PKIs the caller generated
/// ([`generate_pkis`], for the same scenarios); `on_result` sees each result
/// as it finishes (progress).
pub async fn run_all(
    scenarios: &[&Scenario],
    pkis: &[Arc<Pki>],
    opts: &RunOptions,
    on_result: impl FnMut(&CaseResult, usize, usize),
) -> RunReport {
    run_planned(scenarios, Some(pkis), opts, on_result).await
}

/// Run every selected case, each scenario's PKI generated when its first
/// case starts (off the async workers, so generation runs on both cores
/// alongside the cases) and dropped when its last case ends: memory follows
/// the cases in flight, not the catalog. `on_result` sees each result as it
/// finishes. A PKI that cannot be generated is bad input naming the
/// scenario file: the first such error is returned once the run ends.
pub async fn run_catalog(
    scenarios: &[&Scenario],
    opts: &RunOptions,
    on_result: impl FnMut(&CaseResult, usize, usize),
) -> Result<RunReport, PkiError> {
    let failed = Arc::new(std::sync::Mutex::new(None));
    let report = run_planned_with(scenarios, None, opts, on_result, failed.clone()).await;
    let error = failed.lock().expect("PKI error lock").take();
    match error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// One scenario as its cases share it: the PKI made once, by the first case
/// that needs it, and freed with the last case that holds the slot.
struct ScenarioSlot {
    scenario: Scenario,
    pki: tokio::sync::OnceCell<Arc<Pki>>,
}

impl ScenarioSlot {
    async fn pki(&self, failed: &std::sync::Mutex<Option<PkiError>>) -> Result<Arc<Pki>, String> {
        let s = &self.scenario;
        let generated = self
            .pki
            .get_or_try_init(|| async {
                crate::tls::blocking(|| {
                    Pki::generate_with_source(&s.file.pki, &s.path.display().to_string(), &s.source)
                })
                .map(Arc::new)
            })
            .await;
        match generated {
            Ok(pki) => Ok(pki.clone()),
            Err(e) => {
                let text = crate::error_chain::of(&e);
                failed.lock().expect("PKI error lock").get_or_insert(e);
                Err(text)
            }
        }
    }
}

async fn run_planned(
    scenarios: &[&Scenario],
    pkis: Option<&[Arc<Pki>]>,
    opts: &RunOptions,
    on_result: impl FnMut(&CaseResult, usize, usize),
) -> RunReport {
    let failed = Arc::new(std::sync::Mutex::new(None));
    run_planned_with(scenarios, pkis, opts, on_result, failed).await
}

async fn run_planned_with(
    scenarios: &[&Scenario],
    pkis: Option<&[Arc<Pki>]>,
    opts: &RunOptions,
    mut on_result: impl FnMut(&CaseResult, usize, usize),
    failed: Arc<std::sync::Mutex<Option<PkiError>>>,
) -> RunReport {
    let started = Instant::now();
    let backend = opts.backend();
    let mut report = RunReport::default();
    let mut planned = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let ScenarioPlan { cases, not_run } = plan_on(s, opts, backend.as_ref());
        if opts.shard.is_none_or(|shard| shard.owns(&s.id)) {
            for (p, reason) in not_run {
                report.not_run.push((s.id.clone(), p, reason));
            }
        }
        planned.extend(
            cases
                .into_iter()
                .filter(|(profile, tls)| {
                    opts.shard.is_none_or(|shard| {
                        let label = backend.label(*profile);
                        shard.owns(&format!("{} [{label} TLS{tls}]", s.id))
                    })
                })
                .map(|(profile, tls)| PlannedCase {
                    scenario: i,
                    profile,
                    tls,
                }),
        );
    }
    // The cases known to take long (a performance measurement, a gateway
    // waiting out a hanging responder) start first, so the short ones fill
    // the cores around them instead of leaving a tail of one or two.
    planned.sort_by_key(|c| std::cmp::Reverse(expected_wait(scenarios[c.scenario])));
    let total = planned.len();
    let slots: Vec<Arc<ScenarioSlot>> = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Arc::new(ScenarioSlot {
                scenario: (*s).clone(),
                pki: match pkis {
                    Some(given) => tokio::sync::OnceCell::new_with(Some(given[i].clone())),
                    None => tokio::sync::OnceCell::new(),
                },
            })
        })
        .collect();
    let working = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let waiting = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for case in planned {
        let slot = slots[case.scenario].clone();
        let failed = failed.clone();
        let permit = if mostly_waits(scenarios[case.scenario]) {
            waiting.clone()
        } else {
            working.clone()
        };
        let timeouts = opts.timeouts;
        let backend = backend.clone();
        let capture = opts.capture.clone();
        let cancel = opts.cancel.clone();
        set.spawn(async move {
            let _permit = permit.acquire_owned().await.expect("semaphore open");
            // Interrupted: start nothing more; a case in flight is dropped
            // (a real gateway's drop stops its process group).
            if cancel.is_cancelled() {
                return None;
            }
            let case = async move {
                let scenario = &slot.scenario;
                match slot.pki(&failed).await {
                    Ok(pki) => {
                        run_case(
                            backend.as_ref(),
                            scenario,
                            &pki,
                            case.profile,
                            case.tls,
                            timeouts,
                        )
                        .await
                    }
                    Err(why) => pki_failure(scenario, backend.as_ref(), &case, why),
                }
            };
            // Boxed once started: a waiting task holds only its captures, not
            // the state of a whole case (about 15 KB each; every planned case
            // is spawned at once, so that was 15 KB a case of the catalog).
            let case = Box::pin(async move {
                match capture {
                    None => case.await,
                    Some(capture) => {
                        let sink = crate::tls::tap::CaptureSink::new();
                        let result = sink.scope(case).await;
                        capture.keep(&result, &sink.captures());
                        result
                    }
                }
            });
            tokio::select! {
                r = case => Some(r),
                _ = cancel.cancelled() => None,
            }
        });
    }
    // Each scenario (and its PKI) now lives only as long as its cases.
    drop(slots);
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(None) => {}
            Ok(Some(mut result)) => {
                done += 1;
                on_result(&result, done, total);
                if !opts.keep_observations {
                    result.slim();
                }
                report.results.push(result);
            }
            Err(e) => {
                done += 1;
                let verdict = Verdict::Fail {
                    diffs: vec![Diff {
                        field: "internal".into(),
                        expected: "case completes".into(),
                        got: e.to_string(),
                    }],
                };
                let result = CaseResult::new("<internal>", "", "", TlsVersion::Tls13, verdict);
                on_result(&result, done, total);
                report.results.push(result);
            }
        }
    }
    if let Some(signal) = opts.cancel.signal() {
        report.interrupted = Some(Interruption {
            signal: signal.name().into(),
            planned: total,
            completed: report.results.len(),
        });
    }
    report.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::Observation;

    fn catalog(ids: &[&str]) -> Vec<Scenario> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let all = crate::scenario::load_catalog(&dir).expect("the catalog loads");
        ids.iter()
            .map(|id| {
                all.iter()
                    .find(|s| s.id == *id)
                    .unwrap_or_else(|| panic!("{id} is in the catalog"))
                    .clone()
            })
            .collect()
    }

    /// A backend of a library user's own: the built-in gateway, but it
    /// refuses TLS 1.2 and does not judge the page's text.
    #[derive(Debug)]
    struct Picky;

    impl Backend for Picky {
        fn label(&self, profile: ProfileKind) -> String {
            format!("picky ({profile})")
        }
        fn judged_by(&self) -> Option<(String, ProfileKind)> {
            Some(("picky".into(), ProfileKind::Nginx))
        }
        fn refuses(&self, case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
            (case.tls == TlsVersion::Tls12).then(|| "picky speaks TLS 1.3 only".into())
        }
        fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
            BuiltinGateway.observe(case)
        }
        fn adjust(
            &self,
            _case: &CaseInput<'_>,
            expected: &mut Expectation,
        ) -> Vec<crate::backend::Adjustment> {
            match expected.body_contains.take() {
                Some(_) => vec![crate::backend::Adjustment {
                    field: "body_contains",
                    reason: "picky serves its own page",
                }],
                None => Vec::new(),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_callers_backend_runs_the_cases_and_reports_what_it_refused_and_adjusted() {
        let scenarios = catalog(&["seeds::002_nginx_no_certificate_400"]);
        let selected: Vec<&Scenario> = scenarios.iter().collect();
        let opts = RunOptions {
            backend: Some(Arc::new(Picky)),
            ..RunOptions::default()
        };
        let report = run_catalog(&selected, &opts, |_, _, _| {})
            .await
            .expect("PKIs generate");
        let by_tls = |v: TlsVersion| {
            report
                .results
                .iter()
                .find(|r| r.tls == v)
                .unwrap_or_else(|| panic!("a TLS {v} case: {:#?}", report.results))
        };
        let refused = by_tls(TlsVersion::Tls12);
        assert_eq!(
            refused.verdict,
            Verdict::Skip {
                reason: "picky speaks TLS 1.3 only".into()
            }
        );
        let ran = by_tls(TlsVersion::Tls13);
        assert_eq!(ran.profile, "picky (nginx)");
        assert_eq!(ran.verdict, Verdict::Pass, "{ran:#?}");
        assert_eq!(
            ran.adjusted,
            [AdjustedField {
                field: "body_contains".into(),
                reason: "picky serves its own page".into()
            }]
        );
        assert!(report
            .results
            .iter()
            .all(|r| r.profile.starts_with("picky")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_case_waiting_out_a_silent_responder_does_not_hold_the_only_working_slot() {
        let scenarios = catalog(&[
            "revocation::ocsp_responder_hang",
            "seeds::002_nginx_no_certificate_400",
        ]);
        let selected: Vec<&Scenario> = scenarios.iter().collect();
        let opts = RunOptions {
            concurrency: 1,
            profiles: Some(vec![ProfileKind::Nginx]),
            tls: Some(vec![TlsVersion::Tls13]),
            ..RunOptions::default()
        };
        let mut order = Vec::new();
        let report = run_catalog(&selected, &opts, |r, _, _| order.push(r.scenario.clone()))
            .await
            .expect("PKIs generate");
        assert_eq!(report.results.len(), 2, "{:#?}", report.results);
        // The hanging responder's case starts first (long cases do) but
        // waits in its own slot: the other case finishes meanwhile.
        assert_eq!(
            order,
            [
                "seeds::002_nginx_no_certificate_400",
                "revocation::ocsp_responder_hang"
            ]
        );
    }

    #[test]
    fn a_slim_result_reads_as_the_full_one_in_the_table_and_junit() {
        let obs = Observation {
            alert: Some(crate::observation::AlertSeen {
                description: "certificate_required".into(),
                sent_by: crate::observation::Side::Server,
            }),
            ..Observation::default()
        };
        let mut full = CaseResult::new("a::b", "", "nginx", TlsVersion::Tls13, Verdict::Pass);
        full.observation = Some(obs);
        let mut slim = full.clone();
        slim.slim();
        assert!(slim.observation.is_none());
        assert_eq!(slim.outcome(), full.outcome());
        assert!(
            full.outcome().contains("certificate_required"),
            "{}",
            full.outcome()
        );
        let report = |r: &CaseResult| RunReport {
            results: vec![r.clone()],
            ..RunReport::default()
        };
        assert_eq!(
            report(&slim).render_table(false),
            report(&full).render_table(false)
        );
        assert_eq!(report(&slim).to_junit(), report(&full).to_junit());
    }
}
