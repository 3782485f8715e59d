//! Every link of the README and of `docs/*.md` points at something that
//! exists in the repository (and at a heading that exists, for `#anchors`),
//! and none leaves it: no `../` out of the repository, no absolute paths, and
//! web links only to a few public references (RFCs, vendor documentation).

use super::markdown::{anchors, links};
use std::path::{Component, Path, PathBuf};

/// Hosts a document may link to: standards and the gateways' own docs.
const ALLOWED_HOSTS: &[&str] = &[
    "www.rfc-editor.org",
    "datatracker.ietf.org",
    "learn.microsoft.com",
    "nginx.org",
    "docs.haproxy.org",
    "httpd.apache.org",
    "docs.openssl.org",
    "www.envoyproxy.io",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file in docs/, relative to the root.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    let mut in_docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    in_docs.sort();
    docs.extend(in_docs);
    docs
}

/// `base/rel` without `.` and `..`, or None if it climbs above the root.
fn inside_repo(base: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Why `target`, linked from `doc`, is not acceptable (None: fine).
fn problem(doc: &Path, target: &str) -> Option<String> {
    if let Some(rest) = target
        .strip_prefix("https://")
        .or_else(|| target.strip_prefix("http://"))
    {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        return (!target.starts_with("https://") || !ALLOWED_HOSTS.contains(&host)).then(|| {
            format!("leaves the repository (web links: https to {ALLOWED_HOSTS:?} only)")
        });
    }
    if target.contains("://") || target.starts_with("mailto:") || target.starts_with('/') {
        return Some("leaves the repository".into());
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        doc.to_path_buf()
    } else {
        match inside_repo(doc.parent().unwrap_or(Path::new("")), path) {
            Some(f) => f,
            None => return Some("climbs out of the repository".into()),
        }
    };
    let full = root().join(&file);
    if !full.exists() {
        return Some(format!("{} does not exist", file.display()));
    }
    match anchor {
        Some(a) if full.extension().is_some_and(|e| e == "md") => {
            let text = std::fs::read_to_string(&full).expect("readable");
            (!anchors(&text).iter().any(|h| h == a))
                .then(|| format!("{} has no heading for #{a}", file.display()))
        }
        _ => None,
    }
}

#[test]
fn every_link_points_inside_the_repository_at_something_that_exists() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(root().join(&doc)).expect("readable");
        for link in links(&text) {
            seen += 1;
            if let Some(why) = problem(&doc, &link.target) {
                problems.push(format!(
                    "{}:{}: {}: {why}",
                    doc.display(),
                    link.line,
                    link.target
                ));
            }
        }
    }
    assert!(seen > 10, "only {seen} links found: is the parser broken?");
    assert!(problems.is_empty(), "bad links:\n{}", problems.join("\n"));
}

#[test]
fn the_readme_links_every_document_in_docs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let linked: Vec<String> = links(&readme).into_iter().map(|l| l.target).collect();
    for doc in documents().into_iter().skip(1) {
        let rel = doc.to_string_lossy().into_owned();
        assert!(
            linked
                .iter()
                .any(|t| t.split('#').next() == Some(rel.as_str())),
            "README.md does not link {rel}"
        );
    }
}

#[test]
fn links_that_leave_the_repository_are_caught() {
    let doc = Path::new("docs/x.md");
    for bad in [
        "../../shared/DESIGN.md",
        "/work/shared/DESIGN.md",
        "https://example.com/",
        "http://www.rfc-editor.org/rfc/rfc8446",
        "file:///etc/passwd",
        "nothing-here.md",
        "../README.md#no-such-heading",
    ] {
        assert!(problem(doc, bad).is_some(), "{bad} should be refused");
    }
    for good in [
        "../README.md",
        "scenario-format.md#expect",
        "https://www.rfc-editor.org/rfc/rfc8446",
    ] {
        assert_eq!(problem(doc, good), None, "{good}");
    }
}
