//! docs/pki-spec.md is a contract, so its examples must be real. Every fenced
//! block is checked:
//! - ```toml: a spec that generates and writes a directory;
//! - ```toml bad: a spec that fails, with exactly the errors of the ```text error
//!   block that follows (the spec file is called `spec.toml`);
//! - ```text files: exactly the files the ```toml block before it writes;
//! - ```toml scenario: a scenario file whose `[pki]` generates and whose
//!   certificate names resolve.
//!
//! Also: every key, role, key type, validity and defect the parser accepts is
//! documented, relative links resolve, and examples/pki.toml generates.

use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::scenario::schema::ScenarioFile;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/pki-spec.md")).expect("docs/pki-spec.md")
}

/// A fenced block: its info string, its text, the line of its opening fence.
struct Block {
    info: String,
    body: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    body: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.body.push_str(line);
                b.body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "unclosed code fence");
    out
}

/// Write `spec` to `DIR/spec.toml` and generate it; errors are rendered with
/// the path shown as `spec.toml`.
fn generate(dir: &Path, spec: &str) -> Result<Pki, String> {
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    Pki::generate_from_file(&path)
        .map(|(_, pki)| pki)
        .map_err(|e| {
            e.to_string()
                .replace(&path.display().to_string(), "spec.toml")
        })
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_is_real() {
    let blocks = blocks(&doc());
    let mut failures = Vec::new();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut last_written: Option<(usize, Vec<String>)> = None;
    for (i, b) in blocks.iter().enumerate() {
        *counts.entry(b.info.as_str()).or_default() += 1;
        let at = format!("docs/pki-spec.md:{} ({})", b.line, b.info);
        let tmp = tempfile::tempdir().unwrap();
        match b.info.as_str() {
            "toml" => match generate(tmp.path(), &b.body) {
                Ok(pki) => {
                    let out = tmp.path().join("out");
                    match pki.write_dir(&out) {
                        Ok(()) => last_written = Some((i, files_in(&out))),
                        Err(e) => failures.push(format!("{at}: cannot write: {e}")),
                    }
                }
                Err(e) => failures.push(format!("{at}: does not generate:\n{e}")),
            },
            "toml bad" => {
                let Some(next) = blocks.get(i + 1).filter(|n| n.info == "text error") else {
                    failures.push(format!("{at}: no ```text error block follows"));
                    continue;
                };
                match generate(tmp.path(), &b.body) {
                    Ok(_) => failures.push(format!("{at}: generates, but is shown as bad")),
                    Err(got) if got.trim_end() != next.body.trim_end() => failures.push(format!(
                        "{at}: the error is\n{got}\nbut the document shows\n{}",
                        next.body
                    )),
                    Err(_) => {}
                }
            }
            "text error" => {
                if i == 0 || blocks[i - 1].info != "toml bad" {
                    failures.push(format!("{at}: not after a ```toml bad block"));
                }
            }
            "text files" => match &last_written {
                Some((j, files)) if *j + 1 == i => {
                    let shown: Vec<String> = b.body.lines().map(str::to_string).collect();
                    if &shown != files {
                        failures.push(format!("{at}: shows {shown:?}, written: {files:?}"));
                    }
                }
                _ => failures.push(format!("{at}: not right after a good ```toml block")),
            },
            "toml scenario" => {
                let file: ScenarioFile = match toml::from_str(&b.body) {
                    Ok(f) => f,
                    Err(e) => {
                        failures.push(format!("{at}: not a scenario file: {e}"));
                        continue;
                    }
                };
                match Pki::generate_with_source(&file.pki, "scenario.toml", &b.body) {
                    Ok(pki) => {
                        let mut names = vec![file.server.cert.clone()];
                        names.extend(file.server.trust.iter().cloned());
                        names.extend(file.client.certs.iter().cloned());
                        if let Err(e) = pki.resolve(&names) {
                            failures.push(format!("{at}: {e}"));
                        }
                    }
                    Err(e) => failures.push(format!("{at}: [pki] does not generate: {e}")),
                }
            }
            other => failures.push(format!("{at}: unknown block kind `{other}`")),
        }
    }
    // The document must keep examples of each kind (a test of nothing passes).
    for kind in [
        "toml",
        "toml bad",
        "text error",
        "text files",
        "toml scenario",
    ] {
        if counts.get(kind).copied().unwrap_or(0) == 0 {
            failures.push(format!("no ```{kind} block"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The names serde lists in "expected one of `a`, `b`" for a bad `key = value`
/// in a `[[table]]` entry that otherwise reads (`defects` takes an array).
fn accepted(table: &str, base: &str, key: &str) -> Vec<String> {
    let value = if key == "defects" {
        "[\"zz-not-a-value\"]"
    } else {
        "\"zz-not-a-value\""
    };
    let src = format!("[[{table}]]\n{base}\n{key} = {value}\n");
    let err = PkiSpec::from_toml(&src, "probe.toml").expect_err("must be rejected");
    let text = err.to_string();
    let list = text
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no list of accepted values: {text}"));
    let names: Vec<String> = list
        .split(", ")
        .map(|s| s.trim().trim_matches('`').to_string())
        .collect();
    assert!(names.len() > 1, "{text}");
    names
}

#[test]
fn everything_the_parser_accepts_is_documented() {
    let doc = doc();
    let cert = "name = \"x\"\nrole = \"root\"";
    let bulk = "prefix = \"x\"\ncount = 1";
    let mut missing = Vec::new();
    // Keys: each has a row `| `key` |` in its table.
    for (table, base) in [("cert", cert), ("bulk", bulk)] {
        for key in accepted(table, base, "zz_unknown_key") {
            if !doc.contains(&format!("| `{key}` |")) {
                missing.push(format!("[[{table}]] key `{key}`"));
            }
        }
    }
    // Values: each defect and key type has a row; roles and validities appear.
    for value in accepted("cert", cert, "defects")
        .into_iter()
        .chain(accepted("cert", cert, "key"))
    {
        if !doc.contains(&format!("| `{value}`")) {
            missing.push(format!("row for `{value}`"));
        }
    }
    for value in accepted("cert", "name = \"x\"", "role")
        .into_iter()
        .chain(accepted("cert", cert, "validity"))
    {
        if !doc.contains(&format!("`{value}`")) {
            missing.push(format!("`{value}`"));
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

#[test]
fn relative_links_resolve() {
    let doc = doc();
    let mut broken = Vec::new();
    for part in doc.split("](").skip(1) {
        let target = part.split(')').next().unwrap_or_default();
        if target.starts_with('#') || target.contains("://") {
            continue;
        }
        let file = target.split('#').next().unwrap_or_default();
        if !root().join("docs").join(file).is_file() {
            broken.push(target.to_string());
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:?}");
    assert!(doc.contains("](openssl-vs-webpki.md)"));
}

#[test]
fn the_example_spec_generates() {
    let path = root().join("examples/pki.toml");
    let (_, pki) = Pki::generate_from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(pki.get("gw").is_some() && pki.get("alice").is_some());
}
