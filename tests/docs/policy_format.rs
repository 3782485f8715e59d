//! docs/policy-format.md: its whole policy loads and its mistakes fail with
//! the error printed under them.

use super::markdown::{blocks, Block};
use mtls_harness::policy::Policy;
use std::path::Path;

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/policy-format.md"))
        .expect("docs/policy-format.md")
}

/// `(check kind, toml, the text block after it)` for every checked block.
fn checked() -> Vec<(String, String, Option<String>, usize)> {
    let all = blocks(&doc());
    let mut out = Vec::new();
    for (i, b) in all.iter().enumerate() {
        let Block::Comment { text, .. } = b else {
            continue;
        };
        let Some(kind) = text.trim().strip_prefix("check: ") else {
            continue;
        };
        let Some(Block::Code { info, body, line }) = all.get(i + 1) else {
            panic!("policy-format.md: `check: {kind}` is not followed by a code block");
        };
        assert_eq!(info, "toml", "policy-format.md:{line}");
        let after = match all.get(i + 2) {
            Some(Block::Code { info, body, .. }) if info == "text" => Some(body.trim().to_string()),
            _ => None,
        };
        out.push((kind.trim().to_string(), body.clone(), after, *line));
    }
    out
}

#[test]
fn the_whole_policy_loads() {
    let good: Vec<_> = checked().into_iter().filter(|c| c.0 == "policy").collect();
    assert!(!good.is_empty());
    for (_, text, _, line) in good {
        Policy::from_toml(&text, Path::new("policy.toml"))
            .unwrap_or_else(|e| panic!("policy-format.md:{line}: {e}"));
    }
}

#[test]
fn each_mistake_fails_with_the_documented_error() {
    let bad: Vec<_> = checked()
        .into_iter()
        .filter(|c| c.0 == "bad-policy")
        .collect();
    assert!(bad.len() >= 3, "several mistakes are shown");
    for (_, text, expected, line) in bad {
        let expected = expected
            .unwrap_or_else(|| panic!("policy-format.md:{line}: no ```text block with the error"));
        let err = Policy::from_toml(&text, Path::new("policy.toml"))
            .expect_err(&format!("policy-format.md:{line} must not load"))
            .to_string();
        assert!(
            err.starts_with(&expected),
            "policy-format.md:{line}: documented\n  {expected}\ngot\n  {err}"
        );
    }
}

#[test]
fn every_key_of_the_schema_is_documented() {
    let doc = doc();
    for key in [
        "name",
        "subject",
        "san_uri",
        "san_dns",
        "san_email",
        "issuer",
        "path",
        "host",
        "public",
        "allow",
        "expect",
        "upstream",
        "allowed",
        "denied",
        "no_certificate",
        "rejected",
        "header",
        "format",
        "body_contains",
    ] {
        assert!(
            doc.contains(&format!("`{key}`")),
            "`{key}` is not documented"
        );
    }
    for class in mtls_harness::policy::CaseClass::ALL {
        assert!(
            doc.contains(&format!("`{}`", class.name())),
            "case class `{}` is not documented",
            class.name()
        );
    }
}
