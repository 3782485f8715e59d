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
