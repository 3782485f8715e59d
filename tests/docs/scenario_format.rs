//! `docs/scenario-format.md` is a contract, so its examples are real: every
//! TOML block carries a `<!-- check: ... -->` comment saying what it is, and
//! this file holds the doc to it.
//!
//! - `example NS/NAME.toml`: a complete scenario; it loads as `NS::NAME` and
//!   passes on every built-in gateway it runs on.
//! - `fragment NS/NAME.toml over NS/BASE.toml`: merged over that example,
//!   table by table (a key of the fragment replaces the base's); then as above.
//! - `bad NS/NAME.toml`: fails to load, with every line of the ```text block
//!   that follows in the error (library and `mtls-harness run`, exit code 2).
//! - `values KEY over NS/BASE.toml`: each first-column code span of the next
//!   table is a TOML value for the dotted KEY that loads in that example.
//! - `modes`, `alerts`, `resolves NS/NAME.toml`: the next table (paragraph)
//!   matches the profiles' modes, the alert list, the layered expectations.

use super::markdown::{blocks, code_spans, Block};
use mtls_harness::alert::ALERTS;
use mtls_harness::observation::TlsVersion;
use mtls_harness::oracle::Verdict;
use mtls_harness::runner::execute::{generate_pkis, run_all, RunOptions};
use mtls_harness::scenario::{load_catalog, load_file, modes_of, Scenario, PROFILES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const DOC: &str = include_str!("../../docs/scenario-format.md");

/// What a `<!-- check: ... -->` comment says about the block after it.
#[derive(Debug, Clone, PartialEq)]
enum Check {
    Example { file: String },
    Fragment { file: String, base: String },
    Bad { file: String },
    Values { key: String, base: String },
    Modes,
    Alerts,
    Resolves { file: String },
}

impl Check {
    fn parse(directive: &str, line: usize) -> Check {
        let words: Vec<&str> = directive.split_whitespace().collect();
        let owned = |s: &str| s.to_string();
        match words.as_slice() {
            ["example", file] => Check::Example { file: owned(file) },
            ["fragment", file, "over", base] => Check::Fragment {
                file: owned(file),
                base: owned(base),
            },
            ["bad", file] => Check::Bad { file: owned(file) },
            ["values", key, "over", base] => Check::Values {
                key: owned(key),
                base: owned(base),
            },
            ["modes"] => Check::Modes,
            ["alerts"] => Check::Alerts,
            ["resolves", file] => Check::Resolves { file: owned(file) },
            _ => panic!("scenario-format.md:{line}: unknown check `{directive}`"),
        }
    }
}

/// A check, the block it applies to and the block after that.
#[derive(Debug)]
struct Checked {
    check: Check,
    line: usize,
    block: Block,
    next: Option<Block>,
}

fn checks() -> Vec<Checked> {
    let all = blocks(DOC);
    let mut out = Vec::new();
    for (i, b) in all.iter().enumerate() {
        let Block::Comment { text, line } = b else {
            continue;
        };
        let Some(directive) = text.strip_prefix("check:") else {
            continue;
        };
        let block = all
            .get(i + 1)
            .unwrap_or_else(|| panic!("scenario-format.md:{line}: a check with nothing after it"))
            .clone();
        out.push(Checked {
            check: Check::parse(directive, *line),
            line: *line,
            block,
            next: all.get(i + 2).cloned(),
        });
    }
    out
}

fn toml_body(c: &Checked) -> &str {
    match &c.block {
        Block::Code { info, body, .. } if info == "toml" => body,
        other => panic!(
            "scenario-format.md:{}: {:?} must be followed by a ```toml block, found {other:?}",
            c.line, c.check
        ),
    }
}

fn table_rows(c: &Checked) -> &[Vec<String>] {
    match &c.block {
        Block::Table { rows, .. } => rows,
        other => panic!(
            "scenario-format.md:{}: {:?} must be followed by a table, found {other:?}",
            c.line, c.check
        ),
    }
}

/// The one code span of a cell (a table of values holds exactly one per cell).
fn span(cell: &str, line: usize) -> String {
    match code_spans(cell).as_slice() {
        [one] => one.clone(),
        _ => panic!("scenario-format.md:{line}: cell `{cell}` should hold one code span"),
    }
}

/// `over` applied to `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn parse_table(text: &str, what: &str) -> toml::Table {
    toml::from_str(text).unwrap_or_else(|e| panic!("{what} is not TOML: {e}"))
}

/// Every scenario the doc shows as working: `(NS/NAME.toml, text)`.
fn examples() -> Vec<(String, String)> {
    let checks = checks();
    let mut out: Vec<(String, String)> = Vec::new();
    for c in &checks {
        if let Check::Example { file } = &c.check {
            out.push((file.clone(), toml_body(c).to_string()));
        }
    }
    for c in &checks {
        if let Check::Fragment { file, base } = &c.check {
            let (_, base_text) = out
                .iter()
                .find(|(f, _)| f == base)
                .unwrap_or_else(|| panic!("scenario-format.md:{}: no example {base}", c.line));
            let mut merged = parse_table(base_text, base);
            merge(&mut merged, &parse_table(toml_body(c), file));
            let text = toml::to_string(&merged).expect("a table serializes");
            out.push((file.clone(), text));
        }
    }
    assert!(out.len() >= 5, "the doc should show several examples");
    out
}

fn example(file: &str) -> String {
    examples()
        .into_iter()
        .find(|(f, _)| f == file)
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no example {file} in scenario-format.md"))
}

/// `NS/NAME.toml` -> `NS::NAME`.
fn id_of(file: &str) -> String {
    file.trim_end_matches(".toml").replace('/', "::")
}

/// A temporary directory holding `scenarios/<file>` for each file.
fn catalog(files: &[(String, String)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("scenarios");
    for (file, text) in files {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("NS/NAME.toml")).expect("mkdir");
        std::fs::write(&path, text).expect("write example");
    }
    (dir, root)
}

#[test]
fn every_toml_block_is_checked() {
    let all = blocks(DOC);
    for (i, b) in all.iter().enumerate() {
        if let Block::Code { info, line, .. } = b {
            let checked = i > 0
                && matches!(&all[i - 1], Block::Comment { text, .. } if text.starts_with("check:"));
            assert!(
                info != "toml" || checked,
                "scenario-format.md:{line}: a ```toml block without a `<!-- check: ... -->` comment before it"
            );
        }
    }
    // Parsing every directive also rejects unknown ones.
    assert!(checks().len() >= 10);
}

#[test]
fn examples_load_as_a_catalog_under_their_ids() {
    let files = examples();
    let (_dir, root) = catalog(&files);
    let loaded = load_catalog(&root).unwrap_or_else(|e| panic!("the examples load:\n{e}"));
    let mut want: Vec<String> = files.iter().map(|(f, _)| id_of(f)).collect();
    want.sort();
    let got: Vec<&str> = loaded.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(got, want);
    for (file, _) in &files {
        // Given alone (outside a catalog root), the parent folder names it.
        let alone = load_file(&root.join(file), None).expect("loads alone");
        assert_eq!(alone.id, id_of(file));
    }
}

#[test]
fn examples_pass_on_every_built_in_gateway_they_run_on() {
    let files = examples();
    let (_dir, root) = catalog(&files);
    let scenarios = load_catalog(&root).expect("the examples load");
    let selected: Vec<&Scenario> = scenarios.iter().collect();
    let pkis = generate_pkis(&selected).expect("the examples' PKIs generate");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(run_all(
        &selected,
        &pkis,
        &RunOptions::default(),
        |_, _, _| {},
    ));
    for s in &scenarios {
        let cases = report.results.iter().filter(|r| r.scenario == s.id).count();
        assert!(cases > 0, "{} ran no case", s.id);
    }
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{}: {}", r.case_name(), r.verdict))
        .collect();
    assert!(
        bad.is_empty(),
        "examples that do not pass:\n{}",
        bad.join("\n")
    );
}

/// Each bad example with the lines of its documented error.
fn bad_examples() -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for c in checks() {
        let Check::Bad { file } = &c.check else {
            continue;
        };
        let text = toml_body(&c).to_string();
        let expected = match &c.next {
            Some(Block::Code { info, body, .. }) if info == "text" => body
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>(),
            other => panic!(
                "scenario-format.md:{}: a bad example is followed by a ```text block with its error, found {other:?}",
                c.line
            ),
        };
        assert!(!expected.is_empty(), "{file}: empty error text");
        out.push((file.clone(), text, expected));
    }
    assert!(out.len() >= 3, "the doc should show several bad examples");
    out
}

#[test]
fn bad_examples_fail_with_the_documented_error() {
    for (file, text, expected) in bad_examples() {
        let (dir, root) = catalog(&[(file.clone(), text)]);
        let err = load_catalog(&root).expect_err(&format!("{file} must not load"));
        assert_eq!(err.errors().len(), 1, "{file}: one error expected: {err}");
        let shown = err
            .to_string()
            .replace(&format!("{}/", dir.path().display()), "");
        for line in &expected {
            assert!(
                shown.contains(line.as_str()),
                "{file}: the documented error\n  {line}\nis not in\n  {shown}"
            );
        }
    }
}

#[test]
fn the_cli_exits_2_on_each_bad_example_with_the_documented_error() {
    for (file, text, expected) in bad_examples() {
        let (dir, _root) = catalog(&[(file.clone(), text)]);
        let mut cmd = crate::support::command();
        cmd.args(["run", "scenarios"]).current_dir(dir.path());
        let out = crate::support::run_command(cmd, crate::support::WALL);
        let stderr = out.stderr;
        assert_eq!(out.code, 2, "{file}: {stderr}");
        for line in &expected {
            assert!(
                stderr.contains(&format!("error: {line}")) || stderr.contains(line.as_str()),
                "{file}: `{line}` not in stderr:\n{stderr}"
            );
        }
    }
}

#[test]
fn documented_values_load() {
    let mut checked = 0;
    for c in checks() {
        let Check::Values { key, base } = &c.check else {
            continue;
        };
        let base_text = example(base);
        for row in table_rows(&c).iter().skip(1) {
            let value = span(&row[0], c.line);
            let parsed = parse_table(&format!("v = {value}"), &value);
            let mut doc = parse_table(&base_text, base);
            let mut table = &mut doc;
            let parts: Vec<&str> = key.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                table = table
                    .entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(Default::default()))
                    .as_table_mut()
                    .expect("a table");
            }
            table.insert(parts[parts.len() - 1].to_string(), parsed["v"].clone());
            let text = toml::to_string(&doc).expect("serializes");
            let (_dir, root) = catalog(&[("values/v.toml".into(), text)]);
            if let Err(e) = load_catalog(&root) {
                panic!(
                    "scenario-format.md:{}: {key} = {value} does not load:\n{e}",
                    c.line
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} documented values");
}

#[test]
fn the_modes_table_is_the_profiles_modes() {
    let c = checks()
        .into_iter()
        .find(|c| c.check == Check::Modes)
        .expect("a modes table");
    let mut profiles = Vec::new();
    for row in table_rows(&c).iter().skip(1) {
        let profile = span(&row[0], c.line);
        let documented = code_spans(&row[1]);
        let modes = modes_of(&profile).unwrap_or_else(|| panic!("no profile `{profile}`"));
        assert_eq!(documented, modes, "modes of {profile} (first = default)");
        profiles.push(profile);
    }
    assert_eq!(profiles, PROFILES, "every profile, in report order");
}

#[test]
fn the_alert_list_is_the_known_alerts() {
    let c = checks()
        .into_iter()
        .find(|c| c.check == Check::Alerts)
        .expect("an alert list");
    let Block::Paragraph { text, .. } = &c.block else {
        panic!("scenario-format.md:{}: alerts are a paragraph", c.line);
    };
    let known: Vec<&str> = ALERTS.iter().map(|a| a.name).collect();
    assert_eq!(code_spans(text), known);
}

/// A JSON scalar as the doc writes it.
fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn resolved_expectations_follow_the_layering() {
    let mut rows_checked = 0;
    for c in checks() {
        let Check::Resolves { file } = &c.check else {
            continue;
        };
        let (_dir, root) = catalog(&[(file.clone(), example(file))]);
        let scenario = load_file(&root.join(file), Some(&root)).expect("loads");
        let rows = table_rows(&c);
        let fields: Vec<String> = rows[0][2..].iter().map(|h| span(h, c.line)).collect();
        for row in &rows[1..] {
            let profile = span(&row[0], c.line);
            let tls = span(&row[1], c.line);
            let version = TlsVersion::ALL
                .into_iter()
                .find(|v| v.as_str() == tls)
                .unwrap_or_else(|| panic!("TLS `{tls}`"));
            assert!(
                scenario.profiles_to_run().0.contains(&profile.as_str()),
                "{file}: {profile} does not run"
            );
            let resolved =
                serde_json::to_value(scenario.expectation(&profile, version)).expect("serializes");
            for (field, cell) in fields.iter().zip(&row[2..]) {
                let got = resolved.get(field).map(shown);
                let want = (cell != "-").then(|| span(cell, c.line));
                assert_eq!(got, want, "{file}: {profile} TLS {tls}: {field}");
            }
            rows_checked += 1;
        }
    }
    assert!(rows_checked >= 5, "only {rows_checked} resolved rows");
}

/// The fields serde knows for the table at `at`, from the error an unknown
/// key there gives (`unknown field .., expected one of `a`, `b``).
fn fields_of(text: &str, at: &str) -> Vec<String> {
    let err =
        mtls_harness::scenario::Scenario::from_source("p::p", Path::new("p.toml"), text.into())
            .expect_err("an unknown key is an error")
            .to_string();
    let expected = err
        .split_once("expected")
        .unwrap_or_else(|| panic!("{at}: no field list in `{err}`"))
        .1;
    let fields = code_spans(expected);
    assert!(!fields.is_empty(), "{at}: no field list in `{err}`");
    fields
}

/// The blocks under the heading `title`, up to the next heading of its level.
fn section(title: &str) -> String {
    let all = blocks(DOC);
    let start = all
        .iter()
        .position(|b| matches!(b, Block::Heading { text, .. } if text == title))
        .unwrap_or_else(|| panic!("no heading `{title}`"));
    let Block::Heading { level, .. } = all[start] else {
        unreachable!()
    };
    let mut text = String::new();
    for b in &all[start + 1..] {
        match b {
            Block::Heading { level: l, .. } if *l <= level => break,
            Block::Heading { text: t, .. } => text.push_str(t),
            Block::Paragraph { text: t, .. } | Block::Comment { text: t, .. } => text.push_str(t),
            Block::Code { body, .. } => text.push_str(body),
            Block::Table { rows, .. } => {
                for r in rows {
                    text.push_str(&r.join(" | "));
                    text.push('\n');
                }
            }
        }
        text.push('\n');
    }
    text
}

const PROBE_BASE: &str = r#"description = "probe"
[[pki.cert]]
name = "root"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[server]
cert = "gw"
"#;

#[test]
fn every_key_of_every_table_is_documented() {
    let probes: BTreeMap<&str, (&str, String)> = [
        (
            "top level",
            ("Top level", format!("zz_unknown = 1\n{PROBE_BASE}")),
        ),
        (
            "[pki]",
            ("`[pki]`", format!("{PROBE_BASE}[pki]\nzz_unknown = 1\n")),
        ),
        (
            "[server]",
            ("`[server]`", format!("{PROBE_BASE}zz_unknown = 1\n")),
        ),
        (
            "[client]",
            (
                "`[client]`",
                format!("{PROBE_BASE}[client]\nzz_unknown = 1\n"),
            ),
        ),
        (
            "[middlebox]",
            (
                "`[middlebox]`",
                format!("{PROBE_BASE}[middlebox]\nkind = \"tunnel\"\nzz_unknown = 1\n"),
            ),
        ),
        (
            "[expect]",
            (
                "`[expect]`",
                format!("{PROBE_BASE}[expect]\nzz_unknown = 1\n"),
            ),
        ),
        (
            "[[step]]",
            (
                "`[[step]]`",
                format!("{PROBE_BASE}[[step]]\naction = \"connect\"\nzz_unknown = 1\n"),
            ),
        ),
        (
            "[expect.ca_names]",
            (
                "`[expect]`",
                format!("{PROBE_BASE}[expect.ca_names]\nzz_unknown = 1\n"),
            ),
        ),
    ]
    .into_iter()
    .collect();
    for (table, (heading, text)) in probes {
        let documented = code_spans(&section(heading));
        for field in fields_of(&text, table) {
            let quoted = format!("\"{field}\"");
            assert!(
                documented.iter().any(|s| *s == field || *s == quoted),
                "{table} key `{field}` is not documented under `{heading}` in scenario-format.md"
            );
        }
    }
}
