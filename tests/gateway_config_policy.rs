//! `run --gateway-config FILE --policy POLICY` (issue 22) on real nginx and
//! HAProxy: the configurations in `tests/policies/` are written as teams
//! write them (an allow-list decided after the handshake, a forwarded
//! certificate header, an upstream that does not exist here); each run must
//! give its exit code and exactly its deviation classes, the same on a
//! second run.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use support::run_bin;

fn file(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/policies")
        .join(name)
        .display()
        .to_string()
}

/// Exit code and `(class, tls)` of each deviation.
fn policy_run(
    config: &str,
    gateway: &str,
    policy: &str,
) -> (i32, BTreeSet<(String, String)>, Value) {
    let ran = run_bin(
        &[
            "run",
            "--gateway-config",
            &file(config),
            "--gateway",
            gateway,
            "--policy",
            &file(policy),
            "--format",
            "json",
        ],
        Duration::from_secs(120),
    );
    let json: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", ran.stdout, ran.stderr));
    let classes = json["policy"]["deviations"]
        .as_array()
        .expect("deviations")
        .iter()
        .map(|d| {
            (
                d["class"].as_str().unwrap_or_default().to_string(),
                d["tls"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (ran.code, classes, json)
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn nginx_without_a_crl_accepts_revoked_certificates_and_nothing_else_deviates() {
    if !support::require("nginx") {
        return;
    }
    for _ in 0..2 {
        let (code, classes, json) =
            policy_run("nginx-no-crl.conf", "real:nginx", "nginx-policy.toml");
        assert_eq!(code, 1, "{json}");
        assert_eq!(classes, set(&[("revoked", "1.2")]), "{json}");
        let d = &json["policy"]["deviations"][0];
        assert_eq!(d["listener"], "443");
        assert_eq!(d["route"], "/");
        assert_eq!(d["expected"], "refused");
        assert!(
            d["hint"]
                .as_str()
                .unwrap_or_default()
                .starts_with("no CRL is loaded"),
            "{json}"
        );
        // The allow-list, the forwarded header and the public route hold:
        // 1 public case and 10 on `/`, TLS 1.2 only (nginx 1.22).
        assert_eq!(json["policy"]["cases"], 11, "{json}");
    }
}

#[test]
fn nginx_with_its_crl_meets_the_policy() {
    if !support::require("nginx") {
        return;
    }
    let (code, classes, json) = policy_run("nginx-crl.conf", "real:nginx", "nginx-policy.toml");
    assert_eq!(code, 0, "{json}");
    assert!(classes.is_empty(), "{json}");
}

#[test]
fn haproxy_meets_the_policy_and_a_missing_header_rule_is_named() {
    if !support::require("haproxy") {
        return;
    }
    let (code, classes, json) = policy_run("haproxy.cfg", "real:haproxy", "haproxy-policy.toml");
    assert_eq!(code, 0, "{json}");
    assert!(classes.is_empty(), "{json}");
    assert_eq!(json["policy"]["cases"], 20, "{json}");
    let (code, classes, json) = policy_run(
        "haproxy-no-header.cfg",
        "real:haproxy",
        "haproxy-policy.toml",
    );
    assert_eq!(code, 1, "{json}");
    let mut want = BTreeSet::new();
    for tls in ["1.2", "1.3"] {
        for class in ["allowed", "allowed_via_intermediate", "forged_header"] {
            want.insert((class.to_string(), tls.to_string()));
        }
    }
    assert_eq!(classes, want, "{json}");
}

#[test]
fn apache_meets_the_policy_and_without_its_allow_list_admits_the_denied() {
    if !support::require("apache2") {
        return;
    }
    let (code, classes, json) = policy_run("apache.conf", "real:apache", "apache-policy.toml");
    assert_eq!(code, 0, "{json}");
    assert!(classes.is_empty(), "{json}");
    // `Listen 443` and `<VirtualHost *:443>` are one socket: one listener.
    assert_eq!(json["policy"]["cases"], 20, "{json}");
    let (code, classes, json) = policy_run(
        "apache-no-allow-list.conf",
        "real:apache",
        "apache-policy.toml",
    );
    assert_eq!(code, 1, "{json}");
    assert_eq!(
        classes,
        set(&[("denied", "1.2"), ("denied", "1.3")]),
        "{json}"
    );
}

#[test]
fn a_bad_policy_is_exit_2_naming_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[identity]]\nname = \"ops\"\nsubject = \"CN=ops\"\n\n[[route]]\npath = \"/\"\nallow = [\"ops\", \"dev\"]\n",
    )
    .unwrap();
    let ran = run_bin(
        &[
            "run",
            "--gateway-config",
            &file("nginx-crl.conf"),
            "--gateway",
            "real:nginx",
            "--policy",
            &bad.display().to_string(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("bad.toml:7: `route[0].allow[1]`: no [[identity]] is named `dev`"),
        "{}",
        ran.stderr
    );
}
