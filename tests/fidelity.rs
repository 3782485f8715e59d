//! The fidelity table (`docs/fidelity.md`) is what the catalog really gives:
//! every scenario on the built-in profile and on the real gateway it models
//! (nginx, haproxy, apache2, openssl s_server, lighttpd, a Go net/http
//! server, Caddy, Tomcat). No cell may differ; the
//! table and the README's one-line summary of it must be current.
//! `UPDATE_DOCS=1 cargo test --test fidelity` rewrites both (`UPDATE_README=1`,
//! the old name, still works).

#[path = "docs/fidelity_doc.rs"]
mod fidelity_doc;

use fidelity_doc::{
    marked, summary, FIDELITY_DOC, SUMMARY_BEGIN, SUMMARY_END, TABLE_BEGIN, TABLE_END,
};
use mtls_harness::real::RealKind;
use mtls_harness::runner::execute::generate_pkis;
use mtls_harness::runner::fidelity::{fidelity, markdown, totals, Fidelity};
use mtls_harness::scenario::load_catalog;
use mtls_harness::tls::Timeouts;
use std::path::Path;

/// Whether to rewrite the generated parts instead of comparing them.
fn updating() -> bool {
    ["UPDATE_DOCS", "UPDATE_README"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// Compare the part of `rel` between `begin` and `end` with `want`, or
/// rewrite it when updating.
fn check_generated(root: &Path, rel: &str, begin: &str, end: &str, want: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let range = marked(&text, begin, end, rel);
    if updating() {
        let updated = format!("{}{want}{}", &text[..range.start], &text[range.end..]);
        std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{rel}: {e}"));
    } else {
        assert_eq!(
            &text[range], want,
            "{rel} is stale: run `UPDATE_DOCS=1 cargo test --test fidelity`"
        );
    }
}

#[test]
fn every_runnable_scenario_agrees_with_the_real_gateways_and_the_docs_are_current() {
    for kind in RealKind::ALL {
        if let Err(e) = kind.find_program() {
            panic!(
                "{kind}: {e} (install with `{}`; ci/test does)",
                mtls_harness::real::INSTALL_HINT
            );
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios = load_catalog(&root.join("scenarios")).expect("catalog loads");
    let selected: Vec<_> = scenarios.iter().collect();
    let pkis = generate_pkis(&selected).expect("PKIs");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(fidelity(
        &selected,
        &pkis,
        &RealKind::ALL,
        Timeouts::default(),
        4,
        |_, _| {},
    ));
    let (agree, differ, not_applicable) = totals(&rows);
    let differing: Vec<String> = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(move |(k, f)| (r, k, f)))
        .filter(|(_, _, f)| matches!(f, Fidelity::Differ { .. }))
        .map(|(r, k, f)| format!("{} on {k}: {f:?}", r.scenario))
        .collect();
    assert!(
        differing.is_empty(),
        "{differ} cells differ:\n{}",
        differing.join("\n")
    );
    assert!(
        agree >= 100,
        "only {agree} cells ran against a real gateway"
    );

    let table = markdown(&rows, &RealKind::ALL);
    check_generated(root, FIDELITY_DOC, TABLE_BEGIN, TABLE_END, &table);
    check_generated(
        root,
        "README.md",
        SUMMARY_BEGIN,
        SUMMARY_END,
        &summary(agree, differ, not_applicable),
    );
}
