//! Generated reference pages are current: each is regenerated from the code
//! and compared with the committed file. `UPDATE_DOCS=1 cargo test --test
//! docs_generated` rewrites them.

use std::path::Path;

fn check(rel: &str, generated: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("{rel}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{rel} is stale: run `UPDATE_DOCS=1 cargo test --test docs_generated` and commit it"
    );
}

#[test]
fn profiles_md_is_generated_from_the_registry() {
    let page = mtls_harness::docs::profiles_markdown();
    // Every registered profile and every one of its modes is on the page.
    for kind in mtls_harness::gateway::ProfileKind::ALL {
        assert!(page.contains(&format!("\n## {}\n", kind.name())), "{kind}");
        for mode in kind.modes() {
            assert!(page.contains(&format!("`{mode}`")), "{kind} {mode}");
        }
    }
    check("docs/profiles.md", &page);
}
