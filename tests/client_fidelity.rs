//! The client fidelity table (`docs/client-fidelity.md`): every selection
//! scenario x every real client x TLS 1.2 and 1.3 against the built-in
//! gateway, compared with the policy that models the client. No cell may
//! differ, a deliberately wrong policy must make cells differ, no program
//! may survive, and the generated pages must be current
//! (`UPDATE_DOCS=1 cargo test --test client_fidelity` rewrites them).

use mtls_harness::knobs::SelectionPolicy;
use mtls_harness::observation::TlsVersion;
use mtls_harness::real::client::{clients_markdown, RealClientKind, INSTALL_HINT};
use mtls_harness::runner::client_fidelity::{
    client_fidelity, client_fidelity_markdown, selection_scenarios, ClientCell,
};
use mtls_harness::runner::execute::generate_pkis;
use mtls_harness::scenario::{load_catalog, Scenario};
use mtls_harness::tls::Timeouts;
use std::path::Path;

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some()
}

fn check_doc(rel: &str, want: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if updating() {
        std::fs::write(&path, want).unwrap_or_else(|e| panic!("{rel}: {e}"));
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have, want,
        "{rel} is stale: run `UPDATE_DOCS=1 cargo test --test client_fidelity`"
    );
}

/// Every real client must be installed: CI or not, a missing one fails
/// loudly (ci/test installs them).
fn require_clients() {
    for kind in RealClientKind::ALL {
        if let Err(e) = kind.executable() {
            panic!("{kind}: {e} (install with `{INSTALL_HINT}`; ci/test does)");
        }
    }
}

fn catalog() -> Vec<Scenario> {
    load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).expect("catalog")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The processes a real client may leave behind, by executable name.
const WATCHED: &[&str] = &[
    "chromium",
    "chrome",
    "firefox-esr",
    "firefox",
    "java",
    "mtls-go-client",
    "gnutls-cli",
    "curl",
    "node",
];

/// Our own descendants whose executable is one of [`WATCHED`].
fn watched_processes() -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let comm = stat
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(c, _)| c.to_string())
            .unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start())
            .unwrap_or("");
        if state.starts_with('Z')
            || !WATCHED
                .iter()
                .any(|w| comm.starts_with(&w[..w.len().min(15)]))
        {
            continue;
        }
        // Anyone's descendant counts only if it was started from this test
        // process: walk the parents.
        let mut p = pid;
        for _ in 0..64 {
            let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                break;
            };
            let ppid: u32 = s
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            if ppid == me {
                out.push((pid, comm.clone()));
                break;
            }
            if ppid <= 1 {
                break;
            }
            p = ppid;
        }
    }
    out
}

/// Browser processes anywhere on the machine (an orphan is re-parented to
/// init, so it would escape [`watched_processes`]).
fn browser_processes_anywhere() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains("mtls-client-"))
        })
        .count()
}

fn run_cells(
    scenarios: &[&Scenario],
    clients: &[RealClientKind],
    model: impl Fn(RealClientKind) -> SelectionPolicy,
) -> Vec<ClientCell> {
    let pkis = generate_pkis(scenarios).expect("PKIs");
    runtime().block_on(client_fidelity(
        scenarios,
        &pkis,
        clients,
        &TlsVersion::ALL,
        model,
        Timeouts::default(),
        4,
    ))
}

fn differing(cells: &[ClientCell]) -> Vec<String> {
    cells
        .iter()
        .filter(|c| !c.agrees())
        .map(|c| {
            format!(
                "{} {} {}: model `{}` {} vs real {}",
                c.scenario,
                c.client,
                c.tls,
                c.model.as_str(),
                c.expected.short(),
                c.real.short()
            )
        })
        .collect()
}

#[test]
fn every_selection_scenario_agrees_with_every_real_client_and_nothing_survives() {
    require_clients();
    let scenarios = catalog();
    let all: Vec<&Scenario> = scenarios.iter().collect();
    let selected = selection_scenarios(&all);
    assert!(
        selected.len() >= 8,
        "{} selection scenarios",
        selected.len()
    );
    let before = watched_processes();
    let anywhere_before = browser_processes_anywhere();
    let cells = run_cells(&selected, &RealClientKind::ALL, RealClientKind::policy);
    let after = watched_processes();
    assert!(before.is_empty(), "before: {before:?}");
    assert!(
        after.is_empty(),
        "real client processes survived: {after:?}"
    );
    assert_eq!(
        browser_processes_anywhere(),
        anywhere_before,
        "processes with a client directory on their command line survived"
    );
    eprintln!(
        "client fidelity: {} cells, {} agree; processes before {}, after {}",
        cells.len(),
        cells.iter().filter(|c| c.agrees()).count(),
        before.len(),
        after.len()
    );
    let differ = differing(&cells);
    assert!(differ.is_empty(), "cells differ:\n{}", differ.join("\n"));
    check_doc(
        "docs/client-fidelity.md",
        &client_fidelity_markdown(&cells, NOTE),
    );
}

/// What the generated page says about its own coverage.
const NOTE: &str = "Every cell runs in CI (`tests/client_fidelity.rs`).";

#[test]
fn a_wrong_policy_for_one_client_makes_the_table_differ() {
    require_clients();
    let scenarios = catalog();
    let all: Vec<&Scenario> = scenarios.iter().collect();
    let two = selection_scenarios(&all)
        .into_iter()
        .filter(|s| s.file.client.certs.len() >= 2)
        .collect::<Vec<_>>();
    assert!(!two.is_empty(), "a two-identity selection scenario");
    // Python sends the last loaded; model it as `always` (the first).
    let cells = run_cells(&two, &[RealClientKind::Python], |_| SelectionPolicy::Always);
    let differ = differing(&cells);
    assert!(
        !differ.is_empty(),
        "modelling Python as `always` must differ somewhere: {cells:#?}"
    );
}

#[test]
fn the_clients_page_is_current() {
    check_doc("docs/clients.md", &clients_markdown());
}
