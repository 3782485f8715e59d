//! Bad PKI specs: each gives one clear message naming the file, the line and
//! the field. Lines are asserted exactly.

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
            message: "field `cert[0].colour`: unknown field `colour`, expected one of `name`, `role`, `subject`, `issuer`, `key`, `signs_client_certs`, `defects`, `validity`, `not_before`, `not_after`, `sans`, `path_len`, `permitted_dns`, `cross_signed_by`",
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
