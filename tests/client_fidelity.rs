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

/// The tests count their own client processes: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
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
    "mtls-gnutls-lib",
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

/// What a browser or a client run leaves in the temporary directory:
/// Chromium killed at its picker left an `org.chromium.Chromium.*`
/// directory (its singleton socket) there, before its TMPDIR became the
/// run's own directory.
fn browser_leftovers() -> Vec<std::ffi::OsString> {
    std::fs::read_dir(std::env::temp_dir())
        .expect("read the temporary directory")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| {
            let n = n.to_string_lossy();
            n.starts_with("org.chromium.") || n.starts_with("mtls-client-")
        })
        .collect()
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
    let _serial = serial();
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
    // Every program but the browsers on every cell; the browsers (about a
    // second and a half each on 2 cores) on the cells that prove each of
    // their behaviours: nothing when no issuer matches, the matching one of
    // two, one certificate and two on an empty list, seed 000.
    let (browsers, programs): (Vec<RealClientKind>, Vec<RealClientKind>) = RealClientKind::ALL
        .into_iter()
        .partition(|k| k.is_browser());
    let mut cells = run_cells(&selected, &programs, RealClientKind::policy);
    let browser_scenarios: Vec<&Scenario> = selected
        .iter()
        .copied()
        .filter(|s| BROWSER_CELLS.contains(&s.id.as_str()))
        .collect();
    assert_eq!(
        browser_scenarios.len(),
        BROWSER_CELLS.len(),
        "{BROWSER_CELLS:?}"
    );
    cells.extend(run_cells(
        &browser_scenarios,
        &browsers,
        RealClientKind::policy,
    ));
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

/// The scenarios the browsers run in CI.
const BROWSER_CELLS: &[&str] = &[
    "selection::match_issuer_no_match_in_wallet",
    "selection::match_issuer_picks_matching_cert_from_wallet",
    "selection::empty_list_two_identities_first_sent",
    "selection::list_names_other_root_openssl_style_sends_anyway",
    "ca_names::empty_list_any_if_empty_sends",
    "seeds::000_unflagged_ca_browser_sends_nothing",
];

/// What the generated page says about its own coverage.
const NOTE: &str = "Every cell runs in CI (`tests/client_fidelity.rs`). The browsers take about \
a second and a half per cell on 2 cores, so they run on the cells that prove each of their \
behaviours (nothing when no issuer matches, the matching one of two, one and two certificates \
on an empty list, seed 000); their other cells are `-`. The whole grid of the browsers, measured \
by hand on this machine, agreed on all 76 cells.";

#[test]
fn a_wrong_policy_for_one_client_makes_the_table_differ() {
    let _serial = serial();
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

#[test]
fn a_browser_left_at_its_certificate_picker_is_a_hang_with_the_reason_and_leaves_nothing_as_prompt_models(
) {
    let _serial = serial();
    require_clients();
    use mtls_harness::gateway::ProfileKind;
    use mtls_harness::real::client::observe_real_client_with;
    let scenarios = catalog();
    let s = scenarios
        .iter()
        .find(|s| s.id == "ca_names::empty_list_any_if_empty_sends")
        .expect("scenario");
    let pki = generate_pkis(&[s]).expect("PKI").remove(0);
    let quick = Timeouts {
        connect: std::time::Duration::from_secs(1),
        handshake: std::time::Duration::from_secs(1),
        response: std::time::Duration::from_secs(1),
    };
    let before = watched_processes();
    let anywhere_before = browser_processes_anywhere();
    let tmp_before = browser_leftovers();
    let rt = runtime();
    let browsers: Vec<RealClientKind> = RealClientKind::ALL
        .into_iter()
        .filter(|k| k.is_browser())
        .collect();
    let observed = rt.block_on(async {
        let mut handles = Vec::new();
        for &k in &browsers {
            let pki = pki.clone();
            let file = s.file.clone();
            handles.push(tokio::spawn(async move {
                observe_real_client_with(
                    &pki,
                    &file,
                    ProfileKind::Nginx,
                    TlsVersion::Tls13,
                    quick,
                    k,
                    false,
                )
                .await
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.expect("joined"));
        }
        out
    });
    for (k, obs) in browsers.iter().zip(observed) {
        let obs = obs.unwrap_or_else(|e| panic!("{k}: {e}"));
        let hang = obs
            .hang
            .clone()
            .unwrap_or_else(|| panic!("{k} did not hang: {obs:?}"));
        assert!(hang.contains("certificate picker"), "{k}: {hang}");
        assert!(!obs.client_certificate_sent, "{k} sent a certificate");
    }
    // The built-in client following `prompt` on `file`, against nginx.
    let prompt_model = |pki: &mtls_harness::pki::Pki,
                        file: &mtls_harness::scenario::schema::ScenarioFile,
                        timeouts: Timeouts| {
        let mut prompt = file.clone();
        prompt.client.selection = SelectionPolicy::Prompt;
        rt.block_on(mtls_harness::case::run_case(
            pki,
            &prompt,
            ProfileKind::Nginx,
            TlsVersion::Tls13,
            timeouts,
        ))
        .expect("built-in prompt client")
    };
    // It models that wait: it reports the picker at once and sends nothing.
    let model = prompt_model(&pki, &s.file, quick);
    assert_eq!(model.hang, None);
    assert_eq!(model.client_error.as_deref(), Some("CERTIFICATE_PICKER"));
    assert!(!model.client_certificate_sent);
    // When nothing matches, the picker is not shown: no certificate, no hang.
    let none = scenarios
        .iter()
        .find(|s| s.id == "selection::match_issuer_no_match_in_wallet")
        .expect("scenario");
    let pki = generate_pkis(&[none]).expect("PKI").remove(0);
    for &k in &browsers {
        let obs = rt
            .block_on(observe_real_client_with(
                &pki,
                &none.file,
                ProfileKind::Nginx,
                TlsVersion::Tls13,
                Timeouts::default(),
                k,
                false,
            ))
            .unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(obs.hang, None, "{k}");
        assert!(!obs.client_certificate_sent, "{k}");
        assert_eq!(obs.http.map(|h| h.status), Some(400), "{k}");
    }
    // And so does `prompt` when nothing matches: no picker, nothing sent.
    let model = prompt_model(&pki, &none.file, Timeouts::default());
    assert_eq!(model.client_error, None);
    assert!(!model.client_certificate_sent);
    assert_eq!(model.http.map(|h| h.status), Some(400));
    assert_eq!(watched_processes(), before, "browser processes survived");
    assert_eq!(browser_processes_anywhere(), anywhere_before);
    let left: Vec<_> = browser_leftovers()
        .into_iter()
        .filter(|n| !tmp_before.contains(n))
        .collect();
    assert!(left.is_empty(), "left in the temporary directory: {left:?}");
}
