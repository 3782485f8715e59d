//! Bad PKI specs: each mistake gives one clear message naming the file, the
//! line and the field, and a spec with several mistakes reports every one of
//! them. Lines are asserted exactly.

mod support;

use mtls_harness::pki::{Pki, PkiError};

struct Case {
    what: &'static str,
    spec: &'static str,
    /// Expected 1-based line.
    line: usize,
    /// Expected message after `PATH:LINE` (`:COL` for parse errors is checked separately).
    message: &'static str,
}

fn run(spec: &str) -> (String, PkiError) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-spec.toml");
    std::fs::write(&path, spec).unwrap();
    let err = Pki::generate_from_file(&path).expect_err("bad spec must be refused");
    (path.display().to_string(), err)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "unknown key",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\ncolour = \"red\"\n",
            line: 4,
            message: "field `cert[0].colour`: unknown field `colour`, expected one of `name`, `role`, `subject`, `issuer`, `key`, `signs_client_certs`, `defects`, `validity`, `not_before`, `not_after`, `sans`, `path_len`, `permitted_dns`, `cross_signed_by`, `ocsp_url`, `crl_distribution_points`, `key_format`, `key_encryption`, `pkcs12`, `chain_in_file`, `chain_order`",
        },
        Case {
            what: "unknown issuer",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"nope\"\n",
            line: 8,
            message: "field `cert[1].issuer`: unknown issuer `nope`",
        },
        Case {
            what: "issuer cycle",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"a\"\nrole = \"intermediate\"\nissuer = \"b\"\n\n[[cert]]\nname = \"b\"\nrole = \"intermediate\"\nissuer = \"a\"\n",
            line: 8,
            message: "field `cert[1].issuer`: issuer cycle `a` -> `b` -> `a` (every chain must end at a root)",
        },
        Case {
            what: "duplicate name",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nrole = \"root\"\nname = \"root\"\n",
            line: 7,
            message: "field `cert[1].name`: duplicate name `root`",
        },
        Case {
            what: "issuer is a leaf",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n\n[[cert]]\nname = \"bob\"\nrole = \"client\"\nissuer = \"alice\"\n",
            line: 13,
            message: "field `cert[2].issuer`: issuer `alice` is a client certificate, not a CA (root or intermediate)",
        },
        Case {
            what: "bad date",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\nnot_before = \"2020-01-01T00:00:00Z\"\nnot_after = \"next tuesday\"\n",
            line: 10,
            message: "field `cert[1].not_after`: `next tuesday` is not an RFC 3339 date such as 2020-01-01T00:00:00Z (the 'year' component could not be parsed)",
        },
        Case {
            what: "unknown defect",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\ndefects = [\"revoked\", \"frobnicated\"]\n",
            line: 9,
            message: "field `cert[1].defects`: unknown variant `frobnicated`, expected one of `ca-flag-false`, `basic-constraints-absent`, `no-key-cert-sign`, `eku-server-only`, `no-eku`, `path-len-exceeded`, `name-constraints-violated`, `revoked`, `crl-expired`, `key-mismatch`, `self-signed-leaf`, `cross-signed`",
        },
        Case {
            what: "root with an issuer",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"root2\"\nrole = \"root\"\nissuer = \"root\"\n",
            line: 8,
            message: "field `cert[1].issuer`: a root is self-signed: remove `issuer` or use role = \"intermediate\"",
        },
        Case {
            what: "unknown key type",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\nkey = \"rsa-1024\"\n",
            line: 4,
            message: "field `cert[0].key`: unknown variant `rsa-1024`, expected one of `ecdsa-p256`, `ecdsa-p384`, `ed25519`, `rsa-2048`, `rsa-3072`, `rsa-4096`",
        },
        Case {
            what: "unknown validity",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\nvalidity = \"stale\"\n",
            line: 4,
            message: "field `cert[0].validity`: unknown variant `stale`, expected one of `valid`, `expired`, `not-yet-valid`",
        },
        Case {
            what: "bulk prefix equals a cert name",
            spec: "[[cert]]\nname = \"filler\"\nrole = \"root\"\n\n[[bulk]]\nprefix = \"filler\"\ncount = 3\n",
            line: 6,
            message: "field `bulk[0].prefix`: prefix `filler` is also the name of a certificate: both would write `filler.key`",
        },
        Case {
            what: "revoked under a bulk issuer",
            spec: "[[bulk]]\nprefix = \"filler\"\ncount = 2\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"filler-00001\"\ndefects = [\"revoked\"]\n",
            line: 9,
            message: "field `cert[0].defects`: `revoked` changes the issuer, but `filler-00001` is a [[bulk]] filler CA; issue `alice` from a [[cert]] CA",
        },
        Case {
            what: "CA cross-signed by itself",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"sub\"\nrole = \"intermediate\"\nissuer = \"root\"\ndefects = [\"cross-signed\"]\ncross_signed_by = \"sub\"\n",
            line: 10,
            message: "field `cert[1].cross_signed_by`: `sub` cannot cross-sign itself: name another CA",
        },
        Case {
            what: "issued by its own cross certificate",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"other\"\nrole = \"root\"\n\n[[cert]]\nname = \"sub\"\nrole = \"intermediate\"\nissuer = \"sub-cross\"\ndefects = [\"cross-signed\"]\ncross_signed_by = \"other\"\n",
            line: 12,
            message: "field `cert[2].issuer`: `sub` names its own cross certificate `sub-cross` as issuer (a cycle)",
        },
        Case {
            what: "non-ASCII SAN",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\n\n[[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\nsans = [\"localhost\", \"bücher.test\"]\n",
            line: 9,
            message: "field `cert[1].sans`: SAN `bücher.test` is not ASCII (write an internationalised name as punycode, `xn--...`)",
        },
        Case {
            what: "two bulk tables with one prefix",
            spec: "[[bulk]]\nprefix = \"filler\"\ncount = 3\n\n[[bulk]]\nprefix = \"filler\"\ncount = 100000\n",
            line: 6,
            message: "field `bulk[1].prefix`: duplicate prefix `filler` (also bulk[0]): both would write `filler.bundle.pem`",
        },
        Case {
            what: "revoked root",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\ndefects = [\"revoked\"]\n",
            line: 4,
            message: "field `cert[0].defects`: `revoked` goes on an issued certificate (its issuer's CRL shows it), but `root` has no issuer",
        },
        Case {
            what: "eku defect on a CA",
            spec: "[[cert]]\nname = \"root\"\nrole = \"root\"\ndefects = [\"eku-server-only\"]\n",
            line: 4,
            message: "field `cert[0].defects`: `eku-server-only` applies to client or server certificates",
        },
    ]
}

#[test]
fn bad_specs_name_file_line_and_field() {
    let mut failures = Vec::new();
    for c in cases() {
        let (path, err) = run(c.spec);
        let text = err.to_string();
        let line = match &err {
            PkiError::Parse { line, .. } | PkiError::Invalid { line, .. } => *line,
            other => {
                failures.push(format!("[{}] not a spec error: {other:?}", c.what));
                continue;
            }
        };
        if line != Some(c.line) {
            failures.push(format!(
                "[{}] line {line:?}, expected {}: {text}",
                c.what, c.line
            ));
        }
        let prefix = format!("{path}:{}", c.line);
        let Some(rest) = text.strip_prefix(&prefix) else {
            failures.push(format!(
                "[{}] does not start with `{prefix}`: {text}",
                c.what
            ));
            continue;
        };
        // Parse errors add a column: `PATH:LINE:COL: ...`.
        let rest = match rest.strip_prefix(": ") {
            Some(r) => r,
            None => rest
                .strip_prefix(':')
                .map(|r| r.trim_start_matches(|ch: char| ch.is_ascii_digit()))
                .and_then(|r| r.strip_prefix(": "))
                .unwrap_or(rest),
        };
        if rest != c.message {
            failures.push(format!(
                "[{}] message {rest:?}, expected {:?}",
                c.what, c.message
            ));
        }
        if text.lines().count() != 1 {
            failures.push(format!("[{}] more than one line: {text}", c.what));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One mistake of a spec with several: where it is and what is said.
struct Expected {
    line: usize,
    field: &'static str,
    message: &'static str,
}

/// Every error of `err` is `PATH:LINE: field `F`: M` (parse errors add
/// `:COL`); compare them, in order, with `expected`.
fn check_all(path: &str, err: &PkiError, expected: &[Expected]) -> Vec<String> {
    let mut failures = Vec::new();
    let got: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
    if got.len() != expected.len() {
        failures.push(format!(
            "{} errors, expected {}:\n{err}",
            got.len(),
            expected.len()
        ));
    }
    for (e, text) in expected.iter().zip(&got) {
        let prefix = format!("{path}:{}", e.line);
        let rest = text.strip_prefix(&prefix).map(|r| {
            // `:COL` of a parse error.
            r.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit())
        });
        let want = format!(" field `{}`: {}", e.field, e.message);
        if rest != Some(want.as_str()) {
            failures.push(format!("got      {text}\nexpected {prefix}:{want}"));
        }
    }
    if expected.len() > 1
        && !err
            .to_string()
            .starts_with(&format!("{} errors:\n", expected.len()))
    {
        failures.push(format!("no `N errors:` header: {err}"));
    }
    failures
}

const SEVERAL_MISTAKES: &str = r#"[[cert]]
name = "root"
role = "root"
subject = "CN=Root,C=DEU"

[[cert]]
name = "sub"
role = "intermediate"
issuer = "nope"

[[cert]]
name = "alice"
role = "client"
issuer = "root"
not_after = "soon"
defects = [
  "revoked",
  "ca-flag-false",
]

[[bulk]]
prefix = "filler"
count = 0
"#;

#[test]
fn a_spec_with_several_mistakes_reports_each_with_its_line_and_field() {
    let (path, err) = run(SEVERAL_MISTAKES);
    let failures = check_all(
        &path,
        &err,
        &[
            Expected {
                line: 4,
                field: "cert[0].subject",
                message: "country `DEU` must be two letters",
            },
            Expected {
                line: 9,
                field: "cert[1].issuer",
                message: "unknown issuer `nope`",
            },
            Expected {
                line: 15,
                field: "cert[2].not_after",
                message: "`soon` is not an RFC 3339 date such as 2020-01-01T00:00:00Z (the 'year' component could not be parsed)",
            },
            Expected {
                line: 18,
                field: "cert[2].defects",
                message: "`ca-flag-false` applies to CA certificates (root or intermediate)",
            },
            Expected {
                line: 23,
                field: "bulk[0].count",
                message: "count must be 1..=200000, not 0",
            },
        ],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_mistakes_in_several_entries_are_all_reported() {
    let spec = "[[cert]]\nname = \"root\"\nrole = \"rot\"\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\ndefects = [\"revoke\"]\n\n[[bulk]]\nprefix = \"filler\"\ncount = 3\ncolour = \"red\"\n";
    let (path, err) = run(spec);
    let failures = check_all(
        &path,
        &err,
        &[
            Expected {
                line: 3,
                field: "cert[0].role",
                message: "unknown variant `rot`, expected one of `root`, `intermediate`, `client`, `server`",
            },
            Expected {
                line: 9,
                field: "cert[1].defects",
                message: "unknown variant `revoke`, expected one of `ca-flag-false`, `basic-constraints-absent`, `no-key-cert-sign`, `eku-server-only`, `no-eku`, `path-len-exceeded`, `name-constraints-violated`, `revoked`, `crl-expired`, `key-mismatch`, `self-signed-leaf`, `cross-signed`",
            },
            Expected {
                line: 14,
                field: "bulk[0].colour",
                message: "unknown field `colour`, expected one of `prefix`, `role`, `count`, `issuer`, `signs_client_certs`, `subject`",
            },
        ],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn one_mistake_is_one_error_not_a_cascade() {
    // An invalid name is still a name: what refers to it is not "unknown".
    let spec = "[[cert]]\nname = \"root ca\"\nrole = \"root\"\n\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root ca\"\n";
    let (path, err) = run(spec);
    let failures = check_all(
        &path,
        &err,
        &[Expected {
            line: 2,
            field: "cert[0].name",
            message: "`root ca` is not a usable name (letters, digits, '-', '_', '.'; used as a file stem)",
        }],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pki_generate_exits_2_listing_every_mistake_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("several.toml");
    std::fs::write(&spec, SEVERAL_MISTAKES).unwrap();
    let out = dir.path().join("out");
    let run = support::run(&[
        "pki",
        "generate",
        &spec.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    let stderr = run.stderr;
    assert_eq!(run.code, 2, "{stderr}");
    assert!(stderr.contains("5 errors:"), "{stderr}");
    for at in [
        ":4: field `cert[0].subject`",
        ":9: field `cert[1].issuer`",
        ":15: field `cert[2].not_after`",
        ":18: field `cert[2].defects`",
        ":23: field `bulk[0].count`",
    ] {
        assert!(
            stderr.contains(&format!("several.toml{at}")),
            "{at} missing:\n{stderr}"
        );
    }
    assert!(!out.exists(), "nothing may be written");
}
