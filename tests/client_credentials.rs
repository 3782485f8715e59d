//! The per-stack credential grid (issue 26): each real client stack is
//! given each credential file (PEM with PKCS#8, PKCS#1, SEC1 and encrypted
//! PKCS#8 keys, PKCS#12 modern and legacy, an incomplete chain, a reversed
//! one, a key of another certificate) and what it does is measured against
//! a built-in gateway. The measurement must be what `DECLARED` says (what
//! `check-client` quotes), and docs/client-credentials.md must show it
//! (`UPDATE_DOCS=1` rewrites the table). A missing program is SKIP outside
//! CI and a failure under CI.

mod support;

use mtls_harness::real::credential_grid::{declared, measure, render, Stack};
use std::path::Path;

const BEGIN: &str = "<!-- credential-grid:begin -->\n";
const END: &str = "<!-- credential-grid:end -->";

#[test]
fn every_stack_loads_and_sends_what_is_declared_and_the_doc_shows_it() {
    let stacks: Vec<Stack> = Stack::ALL
        .into_iter()
        .filter(|s| support::require(s.program().0))
        .collect();
    if stacks.len() < Stack::ALL.len() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cells = rt.block_on(measure(&stacks, tmp.path())).expect("measured");
    assert_eq!(
        cells.len(),
        stacks.len() * mtls_harness::real::credential_grid::Variant::ALL.len()
    );
    let wrong: Vec<String> = cells
        .iter()
        .filter(|c| declared(c.stack, c.variant) != Some(c.class))
        .map(|c| {
            format!(
                "{} / {}: measured {} ({}), declared {:?}",
                c.stack.name(),
                c.variant.describe(),
                c.class.as_str(),
                c.detail,
                declared(c.stack, c.variant)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The document shows the classes measured (details vary by version:
    // only the class column is compared).
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/client-credentials.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("the grid's begin marker");
    let (_, tail) = rest.split_once(END).expect("the grid's end marker");
    let fresh = format!("{head}{BEGIN}{}{END}{tail}", render(&cells));
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap();
    } else {
        let classes = |text: &str| -> Vec<String> {
            text.split(BEGIN)
                .nth(1)
                .and_then(|t| t.split(END).next())
                .unwrap_or("")
                .lines()
                .map(|l| {
                    l.split('|')
                        .map(|c| c.split(':').next().unwrap_or("").trim().to_string())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        };
        assert_eq!(
            classes(&doc),
            classes(&fresh),
            "docs/client-credentials.md is stale: regenerate it with `UPDATE_DOCS=1 cargo test --test client_credentials`"
        );
    }
}
