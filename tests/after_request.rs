//! A certificate asked for after the request, measured (issue 24): real
//! Apache asking in `<Location /admin/>` (renegotiation on TLS 1.2,
//! post-handshake authentication on TLS 1.3, HTTP_1_1_REQUIRED on h2)
//! against every real client that declares what it answers, with each of
//! its switches, a matching certificate, a non-matching one and none.
//!
//! The measured table must agree with every client's declared capability,
//! no Apache or client may survive, no directory may be left, and
//! `docs/after-request.md` must be what this run measured
//! (`UPDATE_DOCS=1 cargo test --test after_request` rewrites it).
//! A missing program is SKIP outside CI and a failure under CI.
//! `AFTER_REQUEST_DETAILS=1` prints what every client printed.

mod support;

use mtls_harness::observation::TlsVersion;
use mtls_harness::real::after_request::{
    disagreements, markdown, measure, plan, Outcome, Presented, Subject,
};
use mtls_harness::real::client::RealClientKind;
use mtls_harness::real::RealKind;
use std::path::Path;
use std::time::Instant;

/// Concurrent lanes (one Apache each): the machine has two cores.
const LANES: usize = 3;

/// The tests of this file one at a time: each checks that no process
/// group or directory of the global registry is left, which the other's
/// running programs would be.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check_doc(rel: &str, want: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, want).unwrap_or_else(|e| panic!("{rel}: {e}"));
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    let changed: Vec<String> = have
        .lines()
        .zip(want.lines())
        .filter(|(h, w)| h != w)
        .map(|(h, w)| format!("committed: {h}\nmeasured:  {w}"))
        .collect();
    assert!(
        have == want,
        "{rel} is stale: run `UPDATE_DOCS=1 cargo test --test after_request` and commit it\n{}",
        changed.join("\n")
    );
}

#[test]
fn the_after_request_table_is_measured_and_agrees_with_every_declaration() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !support::require_real(RealKind::Apache) {
        return;
    }
    let cases = plan();
    let mut kinds: Vec<RealClientKind> = Vec::new();
    for c in &cases {
        if let Subject::Real(k) = c.variant.subject {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    for k in &kinds {
        if !support::installed(k.executable().is_ok(), k.program(), k.package()) {
            return;
        }
    }
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let measured = rt
        .block_on(measure(&cases, LANES))
        .unwrap_or_else(|e| panic!("measuring: {e}"));
    eprintln!(
        "after_request: {} cases in {:.1} s",
        measured.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(measured.len(), cases.len());
    if std::env::var_os("AFTER_REQUEST_DETAILS").is_some() {
        for m in &measured {
            eprintln!(
                "{} [{}] {} TLS {} {}: {} -- {}",
                m.case.variant.subject.name(),
                m.case.variant.switches(),
                m.case.variant.alpn(),
                m.case.version.as_str(),
                m.case.presented.as_str(),
                m.result,
                m.result.detail
            );
        }
    }

    // Nothing left behind: every Apache and client stopped, every
    // directory removed.
    let (groups, dirs) = mtls_harness::interrupt::Registry::global().live();
    assert!(
        groups.is_empty(),
        "process groups still registered: {groups:?}"
    );
    assert!(dirs.is_empty(), "directories still registered: {dirs:?}");

    // Written first when updating, so a disagreement below can be read in
    // the page; checked for staleness last.
    let page = markdown(&measured);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        check_doc("docs/after-request.md", &page);
    }

    // What every declaration says is what was measured.
    let bad = disagreements(&measured);
    assert!(bad.is_empty(), "declared vs measured:\n{}", bad.join("\n"));

    // The check has teeth: a client that got the page with its matching
    // certificate, recorded as refused, is a disagreement.
    let mut tampered = measured.clone();
    let served = tampered
        .iter_mut()
        .find(|m| m.case.presented == Presented::Matching && m.result.outcome.served())
        .expect("some client got the page with its matching certificate");
    served.result.outcome = Outcome::Http {
        status: 403,
        page: false,
    };
    assert_eq!(disagreements(&tampered).len(), 1);

    // The named reports, measured: Go never answers on TLS 1.3, rustls on
    // neither version, curl on both.
    let served = |subject: Subject, version: TlsVersion| {
        measured.iter().any(|m| {
            m.case.variant.subject == subject
                && m.case.version == version
                && m.case.presented == Presented::Matching
                && m.result.outcome.served()
        })
    };
    assert!(!served(
        Subject::Real(RealClientKind::Go),
        TlsVersion::Tls13
    ));
    assert!(!served(Subject::Rustls, TlsVersion::Tls12));
    assert!(!served(Subject::Rustls, TlsVersion::Tls13));
    assert!(served(
        Subject::Real(RealClientKind::Curl),
        TlsVersion::Tls12
    ));
    assert!(served(
        Subject::Real(RealClientKind::Curl),
        TlsVersion::Tls13
    ));

    check_doc("docs/after-request.md", &page);
}

/// The catalog's scenarios that ask for the certificate after the request
/// on some profile.
fn after_request_scenarios() -> Vec<mtls_harness::scenario::Scenario> {
    use mtls_harness::gateway::ProfileKind;
    use mtls_harness::real::after_request::scenario::asks_after_request;
    let all = mtls_harness::scenario::load_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"),
    )
    .expect("catalog");
    all.into_iter()
        .filter(|s| asks_after_request(&s.file, ProfileKind::Apache))
        .collect()
}

fn run_with(
    scenarios: &[mtls_harness::scenario::Scenario],
    opts: &mtls_harness::runner::RunOptions,
) -> mtls_harness::runner::report::RunReport {
    use mtls_harness::runner::execute::{generate_pkis, run_all};
    let scenarios: Vec<&mtls_harness::scenario::Scenario> = scenarios.iter().collect();
    let pkis = generate_pkis(&scenarios).expect("pkis");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(run_all(&scenarios, &pkis, opts, |_, _, _| {}));
    rt.shutdown_timeout(std::time::Duration::from_secs(30));
    report
}

/// Every scenario that asks after the request passes on the built-in
/// profiles, and on real Apache and real Tomcat with every real client
/// whose declared answer (the table above) is the scenario's client's; each
/// of its cases on either runs with at least one real client, and no run
/// leaves a process or a directory behind.
#[test]
fn every_after_request_scenario_passes_built_in_and_on_real_apache_and_tomcat_with_the_clients_that_answer_so(
) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    use mtls_harness::interrupt::CancelToken;
    use mtls_harness::oracle::Verdict;
    use mtls_harness::runner::execute::{ClientSelection, GatewaySelection};
    use mtls_harness::runner::RunOptions;
    let scenarios = after_request_scenarios();
    assert!(
        scenarios.len() >= 5,
        "the catalog's after-request scenarios: {:?}",
        scenarios.iter().map(|s| &s.id).collect::<Vec<_>>()
    );

    let builtin = run_with(
        &scenarios,
        &RunOptions {
            cancel: CancelToken::new(),
            ..RunOptions::default()
        },
    );
    let s = builtin.summary();
    assert_eq!(s.failed + s.hung + s.skipped, 0, "built-in: {s}");
    // Apache (and lighttpd, judged as Apache) on both versions, and IIS
    // where the scenario names it.
    assert!(
        builtin.results.len() >= scenarios.len() * 4,
        "built-in cases: {}",
        builtin.results.len()
    );

    let gateways = mtls_harness::real::after_request::scenario::ASKS_AFTER_REQUEST;
    if !gateways.into_iter().all(support::require_real) {
        return;
    }
    let clients: Vec<RealClientKind> = RealClientKind::ALL
        .into_iter()
        .filter(|k| !k.is_browser() && k.after_request().is_ok())
        .collect();
    for k in &clients {
        if !support::installed(k.executable().is_ok(), k.program(), k.package()) {
            return;
        }
    }
    // (gateway, scenario, TLS version) -> the clients it ran with.
    let mut ran: std::collections::BTreeMap<(RealKind, String, &'static str), Vec<String>> =
        Default::default();
    for gateway in gateways {
        let profile = gateway.profile();
        let judged = |s: &&mtls_harness::scenario::Scenario| {
            s.profiles_to_run().0.contains(&profile.name())
                && mtls_harness::real::after_request::scenario::asks_after_request(&s.file, profile)
        };
        for s in scenarios.iter().filter(judged) {
            for v in &s.file.server.tls {
                ran.insert((gateway, s.id.clone(), v.as_str()), Vec::new());
            }
        }
    }
    for (gateway, client) in gateways
        .into_iter()
        .flat_map(|g| clients.iter().map(move |c| (g, *c)))
    {
        let report = run_with(
            &scenarios,
            &RunOptions {
                gateway: GatewaySelection::Real(gateway),
                client: ClientSelection::Real(client),
                concurrency: 2,
                cancel: CancelToken::new(),
                ..RunOptions::default()
            },
        );
        for r in &report.results {
            assert!(
                matches!(r.verdict, Verdict::Pass | Verdict::Skip { .. }),
                "{client} on {gateway}: {} TLS {}: {:?} {}",
                r.scenario,
                r.tls.as_str(),
                r.verdict,
                r.observed.clone().unwrap_or_default()
            );
            if r.verdict == Verdict::Pass {
                ran.get_mut(&(gateway, r.scenario.clone(), r.tls.as_str()))
                    .expect("a planned case")
                    .push(client.to_string());
            }
        }
    }
    let unrun: Vec<_> = ran.iter().filter(|(_, c)| c.is_empty()).collect();
    assert!(unrun.is_empty(), "cases no real client ran: {unrun:?}");
    let (groups, dirs) = mtls_harness::interrupt::Registry::global().live();
    assert!(groups.is_empty(), "process groups left: {groups:?}");
    assert!(dirs.is_empty(), "directories left: {dirs:?}");
}
