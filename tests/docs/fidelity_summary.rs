//! The README's fidelity line states the totals of `docs/fidelity.md`
//! (`tests/fidelity.rs` regenerates both from the real gateways; this checks
//! them against each other without running anything).

use super::fidelity_doc::{
    marked, summary, FIDELITY_DOC, SUMMARY_BEGIN, SUMMARY_END, TABLE_BEGIN, TABLE_END,
};
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(agree, differ, n/a)` from the table's `N agree, N differ, N not applicable.` line.
fn totals_of(table: &str) -> (usize, usize, usize) {
    let line = table
        .lines()
        .find(|l| l.ends_with(" not applicable."))
        .expect("the table ends with its totals");
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("digits"))
        .collect();
    match numbers.as_slice() {
        [a, d, n] => (*a, *d, *n),
        _ => panic!("cannot read the totals line `{line}`"),
    }
}

#[test]
fn the_readme_summary_states_the_totals_of_the_fidelity_table() {
    let doc = read(FIDELITY_DOC);
    let table = &doc[marked(&doc, TABLE_BEGIN, TABLE_END, FIDELITY_DOC)];
    let (agree, differ, na) = totals_of(table);
    let rows = table.lines().filter(|l| l.starts_with("| `")).count();
    let gateways = table
        .lines()
        .next()
        .map_or(0, |header| header.matches("| real ").count());
    assert!(rows > 0 && gateways > 0, "{FIDELITY_DOC}: an empty table");
    assert_eq!(
        agree + differ + na,
        rows * gateways,
        "{FIDELITY_DOC}: the totals count every cell"
    );
    let readme = read("README.md");
    assert_eq!(
        &readme[marked(&readme, SUMMARY_BEGIN, SUMMARY_END, "README.md")],
        summary(agree, differ, na),
        "README.md's fidelity line is stale: run `UPDATE_DOCS=1 cargo test --test fidelity`"
    );
}
