//! Running scenarios: one case per scenario x profile x TLS version, bounded
//! concurrency, every case under a time limit.

use super::report::{CaseResult, Interruption, RunReport};
use crate::case::{run_case, CaseError};
use crate::gateway::ProfileKind;
use crate::interrupt::CancelToken;
use crate::observation::TlsVersion;
use crate::oracle::{judge, Diff, Verdict};
use crate::pki::{Pki, PkiError};
use crate::real::client::{run_case_real_client, RealClientKind};
use crate::real::{run_case_real, RealKind};
use crate::scenario::Scenario;
use crate::tls::Timeouts;
use std::sync::Arc;
use std::time::Instant;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only scenarios whose id matches one of these globs.
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
    External(Arc<crate::case::ExternalTarget>),
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

    /// The name reports show in the profile column for a case of `profile`.
    pub fn case_label(&self, profile: ProfileKind) -> String {
        match self {
            GatewaySelection::Builtin => profile.name().to_string(),
            GatewaySelection::Real(kind) => format!("{kind} ({profile})"),
            GatewaySelection::External(t) => format!("{} ({profile})", t.url),
        }
    }

    /// The one profile whose expectations apply, when not every built-in runs.
    fn single_profile(&self) -> Option<(String, ProfileKind)> {
        match self {
            GatewaySelection::Builtin => None,
            GatewaySelection::Real(kind) => Some((kind.to_string(), kind.profile())),
            GatewaySelection::External(t) => Some((t.url.clone(), t.profile)),
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
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
    scenarios
        .iter()
        .filter(|s| opts.filter.as_ref().is_none_or(|f| f.is_match(&s.id)))
        .collect()
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
    let (run, not_run) = scenario.profiles_to_run();
    let single = opts.gateway.single_profile();
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

/// Run one case on the built-in profile and judge it.
pub async fn run_one(
    scenario: &Scenario,
    pki: &Pki,
    profile: ProfileKind,
    tls: TlsVersion,
    timeouts: Timeouts,
) -> CaseResult {
    run_one_on(
        scenario,
        pki,
        profile,
        tls,
        timeouts,
        &GatewaySelection::Builtin,
    )
    .await
}

/// Run one case on `gateway` (built-in or a real process) and judge it by
/// `profile`'s expectations.
pub async fn run_one_on(
    scenario: &Scenario,
    pki: &Pki,
    profile: ProfileKind,
    tls: TlsVersion,
    timeouts: Timeouts,
    gateway: &GatewaySelection,
) -> CaseResult {
    run_one_with(
        scenario,
        pki,
        profile,
        tls,
        timeouts,
        Actors {
            gateway,
            client: ClientSelection::Builtin,
            middlebox: None,
        },
    )
    .await
}

/// Who takes part in a case besides the scenario's own built-in pieces:
/// the gateway, the client (`run --client`) and a real middlebox in place
/// of the scenario's built-in one (`run --middlebox`).
#[derive(Debug, Clone, Copy)]
pub struct Actors<'a> {
    pub gateway: &'a GatewaySelection,
    pub client: ClientSelection,
    pub middlebox: Option<crate::real::middlebox::RealMiddlebox>,
}

/// Run one case with `actors` and judge it by `profile`'s expectations. A
/// real client runs against the built-in gateway of `profile` without a
/// middlebox (any other combination is not built: SKIP with the reason).
pub async fn run_one_with(
    scenario: &Scenario,
    pki: &Pki,
    profile: ProfileKind,
    tls: TlsVersion,
    timeouts: Timeouts,
    actors: Actors<'_>,
) -> CaseResult {
    use crate::real::middlebox::{run_case_via, Origin};
    let Actors {
        gateway,
        client,
        middlebox,
    } = actors;
    let started = Instant::now();
    let mut limit = timeouts.connect
        + timeouts.handshake
        + timeouts.response
        + std::time::Duration::from_secs(5);
    let case = async {
        match (gateway, client, middlebox) {
            (GatewaySelection::Builtin, ClientSelection::Real(kind), None) => {
                run_case_real_client(pki, &scenario.file, profile, tls, timeouts, kind).await
            }
            (_, ClientSelection::Real(kind), _) => Err(CaseError::Unsupported(format!(
                "{kind} runs against the built-in gateways, without a real middlebox"
            ))),
            (GatewaySelection::Builtin, _, Some(mb)) => {
                run_case_via(
                    pki,
                    &scenario.file,
                    Origin::Builtin(profile),
                    mb,
                    tls,
                    timeouts,
                )
                .await
            }
            (GatewaySelection::Real(kind), _, Some(mb)) => {
                run_case_via(pki, &scenario.file, Origin::Real(*kind), mb, tls, timeouts).await
            }
            (GatewaySelection::External(_), _, Some(mb)) if scenario.file.middlebox.is_some() => {
                Err(CaseError::Unsupported(format!(
                    "{mb} runs in front of a built-in or real gateway, not an external target"
                )))
            }
            (GatewaySelection::Builtin, _, _) => {
                run_case(pki, &scenario.file, profile, tls, timeouts).await
            }
            (GatewaySelection::Real(kind), _, _) => {
                run_case_real(pki, &scenario.file, *kind, tls, timeouts).await
            }
            (GatewaySelection::External(target), _, _) => {
                super::adapt::run_case(target, scenario, profile, tls, timeouts).await
            }
        }
    };
    if middlebox.is_some() && scenario.file.middlebox.is_some() {
        // Starting and stopping the middlebox.
        limit += crate::real::middlebox::START_TIMEOUT + std::time::Duration::from_secs(5);
    }
    if matches!(gateway, GatewaySelection::Real(_)) {
        // Starting and stopping the process.
        limit += crate::real::START_TIMEOUT
            + crate::real::LOG_TIMEOUT
            + std::time::Duration::from_secs(5);
    }
    if let ClientSelection::Real(kind) = client {
        let expected = scenario.expectation(profile.name(), tls);
        if expected.client_error.is_some()
            || expected.alert_sent_by == Some(crate::observation::Side::Client)
        {
            // A failure of the built-in client's own TLS library (rustls's
            // 64 KiB message limit, say) says nothing of another library.
            return CaseResult {
                scenario: scenario.id.clone(),
                description: scenario.file.description.clone(),
                profile: format!("{} + {kind}", gateway.case_label(profile)),
                tls,
                verdict: Verdict::Skip {
                    reason: format!(
                        "the expectation is a failure of the built-in (rustls) client itself, not of {kind}"
                    ),
                },
                observation: None,
                duration_ms: 0.0,
                not_run_reason: None,
            };
        }
        // Starting the program (a browser) and the gateway's last records.
        limit +=
            crate::real::client::client_timeout(kind, timeouts) + std::time::Duration::from_secs(5);
    }
    let outcome = tokio::time::timeout(limit, case).await;
    let (verdict, observation) = match outcome {
        Err(_) => (
            Verdict::Hang {
                stage: "case".into(),
            },
            None,
        ),
        Ok(Err(CaseError::Unsupported(why))) => (Verdict::Skip { reason: why }, None),
        Ok(Err(setup)) => (
            Verdict::Fail {
                diffs: vec![Diff {
                    field: "setup".into(),
                    expected: "a runnable case".into(),
                    got: setup.to_string(),
                }],
            },
            None,
        ),
        Ok(Ok(obs)) => {
            let mut expected = scenario.expectation(profile.name(), tls);
            if matches!(client, ClientSelection::Real(_)) {
                // The alert a real client received is known only by the
                // gateway's record (and the program's text): the outcome,
                // the certificate sent and the status are what is judged.
                expected.client_error = None;
            }
            if matches!(gateway, GatewaySelection::Real(RealKind::Openssl)) {
                // s_server -www answers with its own status page: the body
                // text cannot match (see crate::real).
                expected.body_contains = None;
            }
            if let GatewaySelection::External(target) = gateway {
                expected = super::adapt::for_target(expected);
                let mut verdict = judge(&expected, &obs);
                let extra =
                    super::adapt::ca_names_diff(&scenario.file, &expected, &target.facts, &obs);
                if let Some(diff) = extra {
                    verdict = match verdict {
                        Verdict::Pass => Verdict::Fail { diffs: vec![diff] },
                        Verdict::Fail { mut diffs } => {
                            diffs.push(diff);
                            Verdict::Fail { diffs }
                        }
                        other => other,
                    };
                }
                return CaseResult {
                    scenario: scenario.id.clone(),
                    description: scenario.file.description.clone(),
                    profile: gateway.case_label(profile),
                    tls,
                    verdict,
                    observation: Some(obs),
                    duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                    not_run_reason: None,
                };
            }
            let mut verdict = judge(&expected, &obs);
            if let Some(perf) = &scenario.file.expect.performance {
                verdict = with_performance(verdict, scenario, pki, tls, perf, gateway);
            }
            (verdict, Some(obs))
        }
    };
    CaseResult {
        scenario: scenario.id.clone(),
        description: scenario.file.description.clone(),
        profile: match client {
            ClientSelection::Builtin => gateway.case_label(profile),
            ClientSelection::Real(kind) => format!("{} + {kind}", gateway.case_label(profile)),
        },
        tls,
        verdict,
        observation,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        not_run_reason: None,
    }
}

/// `verdict` with the scenario's `[expect.performance]` bounds checked: on
/// the built-in gateway only (a real program or a target is loaded with
/// `bench`); a missed bound is a FAIL naming both figures.
fn with_performance(
    verdict: Verdict,
    scenario: &Scenario,
    pki: &Pki,
    tls: TlsVersion,
    perf: &crate::scenario::schema::PerformanceExpectation,
    gateway: &GatewaySelection,
) -> Verdict {
    if !matches!(gateway, GatewaySelection::Builtin) {
        return verdict;
    }
    // CPU-bound for a fraction of a second: off the async workers' hands.
    let measure = || super::performance::measure(pki, &scenario.file, tls, perf);
    let measured = crate::tls::blocking(measure);
    let diffs = match measured {
        Ok(figures) => super::performance::judge(perf, &figures),
        Err(e) => {
            // The whole chain: "in-memory handshake: server: <why>".
            let mut got = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                got.push_str(&format!(": {s}"));
                source = s.source();
            }
            vec![Diff {
                field: "performance".into(),
                expected: "a measurable baseline and scenario".into(),
                got,
            }]
        }
    };
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

/// Run every selected case; `on_result` sees each result as it finishes
/// (progress). PKIs must come from [`generate_pkis`] for the same scenarios.
pub async fn run_all(
    scenarios: &[&Scenario],
    pkis: &[Arc<Pki>],
    opts: &RunOptions,
    mut on_result: impl FnMut(&CaseResult, usize, usize),
) -> RunReport {
    let started = Instant::now();
    let mut report = RunReport::default();
    let mut planned = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let ScenarioPlan { cases, not_run } = plan(s, opts);
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
                        let label = opts.gateway.case_label(*profile);
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
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for case in planned {
        let scenario = (*scenarios[case.scenario]).clone();
        let pki = pkis[case.scenario].clone();
        let permit = semaphore.clone();
        let timeouts = opts.timeouts;
        let gateway = opts.gateway.clone();
        let middlebox = opts.middlebox;
        let capture = opts.capture.clone();
        let cancel = opts.cancel.clone();
        let client = opts.client;
        set.spawn(async move {
            let _permit = permit.acquire_owned().await.expect("semaphore open");
            // Interrupted: start nothing more; a case in flight is dropped
            // (a real gateway's drop stops its process group).
            if cancel.is_cancelled() {
                return None;
            }
            let case = run_one_with(
                &scenario,
                &pki,
                case.profile,
                case.tls,
                timeouts,
                Actors {
                    gateway: &gateway,
                    client,
                    middlebox,
                },
            );
            let case = async move {
                match capture {
                    None => case.await,
                    Some(capture) => {
                        let sink = crate::tls::tap::CaptureSink::new();
                        let result = sink.scope(case).await;
                        capture.keep(&result, &sink.captures());
                        result
                    }
                }
            };
            tokio::select! {
                r = case => Some(r),
                _ = cancel.cancelled() => None,
            }
        });
    }
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(None) => {}
            Ok(Some(result)) => {
                done += 1;
                on_result(&result, done, total);
                report.results.push(result);
            }
            Err(e) => {
                done += 1;
                let result = CaseResult {
                    scenario: "<internal>".into(),
                    description: String::new(),
                    profile: String::new(),
                    tls: TlsVersion::Tls13,
                    verdict: Verdict::Fail {
                        diffs: vec![Diff {
                            field: "internal".into(),
                            expected: "case completes".into(),
                            got: e.to_string(),
                        }],
                    },
                    observation: None,
                    duration_ms: 0.0,
                    not_run_reason: None,
                };
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
