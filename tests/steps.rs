//! `[[step]]` scenarios (issue 25): connections and changes against one
//! running gateway. Every `steps::*` scenario passes on the built-in
//! gateways and on every real gateway that can run it (reloads on nginx,
//! Apache and HAProxy by signal, HAProxy by its runtime API, Caddy by its
//! admin endpoint; unannounced changes on all), each connection judged;
//! the model has teeth (without the reload, the revoked client is still
//! served, on the built-in gateway and on real nginx); nothing is left
//! running. A missing program is SKIP outside CI and a failure under CI.

mod support;

use mtls_harness::interrupt::CancelToken;
use mtls_harness::oracle::Verdict;
use mtls_harness::real::RealKind;
use mtls_harness::runner::execute::{generate_pkis, run_all, GatewaySelection};
use mtls_harness::runner::report::RunReport;
use mtls_harness::runner::RunOptions;
use mtls_harness::scenario::schema::StepAction;
use mtls_harness::scenario::{load_catalog, Scenario};
use std::path::Path;

/// The tests of this file one at a time: the last checks that nothing of
/// the global registry is left, which the other's run would hold.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn step_scenarios() -> Vec<Scenario> {
    load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
        .expect("catalog")
        .into_iter()
        .filter(|s| !s.file.steps.is_empty())
        .collect()
}

fn run(scenarios: &[Scenario], gateway: GatewaySelection) -> RunReport {
    let scenarios: Vec<&Scenario> = scenarios.iter().collect();
    let pkis = generate_pkis(&scenarios).expect("pkis");
    let opts = RunOptions {
        gateway,
        concurrency: 2,
        cancel: CancelToken::new(),
        ..RunOptions::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(run_all(&scenarios, &pkis, &opts, |_, _, _| {}));
    rt.shutdown_timeout(std::time::Duration::from_secs(30));
    report
}

fn failures(report: &RunReport) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Skip { .. }))
        .map(|r| {
            format!(
                "{} {} TLS {}: {:?}",
                r.scenario,
                r.profile,
                r.tls.as_str(),
                r.verdict
            )
        })
        .collect()
}

fn passed(report: &RunReport) -> usize {
    report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count()
}

/// Each case's observation holds every step, each connection observed.
fn every_step_observed(report: &RunReport, scenarios: &[Scenario]) {
    for r in report.results.iter().filter(|r| r.verdict == Verdict::Pass) {
        let s = scenarios.iter().find(|s| s.id == r.scenario).expect("ran");
        let obs = r.observation.as_ref().expect("kept");
        assert_eq!(obs.steps.len(), s.file.steps.len(), "{}", r.scenario);
        for (seen, spec) in obs.steps.iter().zip(&s.file.steps) {
            assert_eq!(
                seen.observation.is_some(),
                spec.action == StepAction::Connect,
                "{} step {}",
                r.scenario,
                seen.step
            );
        }
    }
}

/// The CRL scenario without its reload step.
fn without_reload(scenarios: &[Scenario]) -> Vec<Scenario> {
    let mut s = scenarios
        .iter()
        .find(|s| s.id == "steps::crl_revoked_on_disk_accepted_until_reload")
        .expect("in the catalog")
        .clone();
    s.file.steps.retain(|st| st.action != StepAction::Reload);
    vec![s]
}

#[test]
fn step_scenarios_pass_on_the_built_in_gateways_and_a_missing_reload_is_caught() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let scenarios = step_scenarios();
    assert!(scenarios.len() >= 6, "{}", scenarios.len());
    let report = run(&scenarios, GatewaySelection::Builtin);
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert!(passed(&report) >= 30, "{} passed", passed(&report));
    every_step_observed(&report, &scenarios);

    // Without the reload the refused client is served: the last step fails,
    // named by its number.
    let report = run(&without_reload(&scenarios), GatewaySelection::Builtin);
    let failed = failures(&report);
    assert_eq!(failed.len(), report.results.len(), "{failed:#?}");
    assert!(failed.iter().all(|f| f.contains("step 4")), "{failed:#?}");
}

#[test]
fn step_scenarios_pass_on_every_real_gateway_that_can_run_them() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !RealKind::ALL.into_iter().all(support::require_real) {
        return;
    }
    let scenarios = step_scenarios();
    // nginx, Apache and HAProxy reload by signal, HAProxy also through its
    // runtime API,
    // Caddy through its admin endpoint; every program runs the changes
    // nobody tells it about.
    for kind in RealKind::ALL {
        let at_least = match kind {
            RealKind::Nginx | RealKind::Apache => 12,
            RealKind::Haproxy => 18,
            RealKind::Caddy => 8,
            _ => 4,
        };
        let report = run(&scenarios, GatewaySelection::Real(kind));
        assert!(
            failures(&report).is_empty(),
            "{kind}: {:#?}",
            failures(&report)
        );
        assert!(
            passed(&report) >= at_least,
            "{kind}: {} passed",
            passed(&report)
        );
        every_step_observed(&report, &scenarios);
    }
    // Real nginx, too, serves the revoked client until it reloads.
    let report = run(
        &without_reload(&scenarios),
        GatewaySelection::Real(RealKind::Nginx),
    );
    let failed = failures(&report);
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(failed.iter().all(|f| f.contains("step 4")), "{failed:#?}");
    let (groups, dirs) = mtls_harness::interrupt::Registry::global().live();
    assert!(groups.is_empty(), "process groups left: {groups:?}");
    assert!(dirs.is_empty(), "directories left: {dirs:?}");
}
