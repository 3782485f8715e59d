//! `probe`'s exit codes (0 sent and accepted; 1 not sent, rejected, or
//! required and none given; 2 bad input or a target that cannot be judged)
//! against real `openssl s_server` in its client-authentication modes and
//! against `mtls-harness serve`.

mod support;

use std::path::PathBuf;
use support::run_bin;
use support::target::{probe, s_server, serve, PkiDir};

/// A server configuration (name, arguments) and the exit code expected for
/// each certificate.
type ServerRow = (
    &'static str,
    &'static [&'static str],
    &'static [(Given, i32)],
);

/// Which certificate the probe is given.
#[derive(Debug, Clone, Copy)]
enum Given {
    None,
    /// Issued by `root`, which every server below trusts.
    Alice,
    /// Issued by `other-root`.
    Mallory,
    /// Issued by `root`, expired.
    Carol,
}

fn identity(pki: &PkiDir, who: Given) -> Option<(PathBuf, PathBuf)> {
    let name = match who {
        Given::None => return None,
        Given::Alice => "alice",
        Given::Mallory => "mallory",
        Given::Carol => "carol",
    };
    Some((
        pki.file(&format!("{name}.crt")),
        pki.file(&format!("{name}.key")),
    ))
}

/// Probe `url` with each certificate and compare the exit codes; every
/// mismatch is collected with the probe's conclusion.
fn check(pki: &PkiDir, server: &str, url: &str, rows: &[(Given, i32)], wrong: &mut Vec<String>) {
    for &(who, want) in rows {
        let id = identity(pki, who);
        let ran = probe(url, id.as_ref().map(|(c, k)| (c.as_path(), k.as_path())), 5);
        let conclusion = ran
            .stdout
            .lines()
            .find(|l| l.contains("conclusion"))
            .unwrap_or("(no conclusion line)")
            .trim()
            .to_string();
        eprintln!(
            "{server:<60} {who:<8?} exit {} ({:.2} s): {conclusion}",
            ran.code,
            ran.elapsed.as_secs_f64()
        );
        if ran.code != want {
            wrong.push(format!(
                "{server} / {who:?}: exit {} instead of {want}: {conclusion}\n{}{}",
                ran.code, ran.stdout, ran.stderr
            ));
        }
    }
}

#[test]
fn exit_codes_against_real_openssl_s_server() {
    if !support::require("openssl") {
        return;
    }
    let pki = PkiDir::generate();
    use Given::*;
    let table: &[ServerRow] = &[
        // No client authentication: nothing is asked, so nothing is sent.
        ("no client auth", &[], &[(None, 0), (Alice, 1)]),
        // -verify: asks, does not insist; s_server ignores verify errors
        // unless -verify_return_error. The names are root's (-CAfile).
        (
            "-verify 1 -CAfile root",
            &["-verify", "1", "-CAfile", "root.crt"],
            &[(None, 0), (Alice, 0), (Mallory, 1)],
        ),
        // -Verify: a certificate is required.
        (
            "-Verify 1 -CAfile root",
            &["-Verify", "1", "-CAfile", "root.crt"],
            &[(None, 1), (Alice, 0), (Mallory, 1)],
        ),
        (
            "-Verify 1 -verify_return_error -CAfile root",
            &[
                "-Verify",
                "1",
                "-verify_return_error",
                "-CAfile",
                "root.crt",
            ],
            &[(None, 1), (Alice, 0), (Carol, 1)],
        ),
        // The CA list names only other-root; root (alice's issuer) is trusted
        // for verification only: browsers do not send alice.
        (
            "-Verify 1 CA list without the client's issuer",
            &[
                "-Verify",
                "1",
                "-verify_return_error",
                "-CAfile",
                "other-root.crt",
                "-verifyCAfile",
                "root.crt",
            ],
            &[(None, 1), (Alice, 1)],
        ),
        // Both roots named, only root trusted: mallory is sent, then refused.
        (
            "-Verify 1 CA list naming an untrusted issuer",
            &[
                "-Verify",
                "1",
                "-verify_return_error",
                "-CAfile",
                "both-roots.pem",
                "-verifyCAfile",
                "root.crt",
            ],
            &[(Alice, 0), (Mallory, 1)],
        ),
    ];
    let mut wrong = Vec::new();
    for (name, args, rows) in table {
        let (_server, url) = s_server(&pki, args);
        check(&pki, &format!("s_server {name}"), &url, rows, &mut wrong);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn exit_codes_against_mtls_harness_serve() {
    let pki = PkiDir::generate();
    use Given::*;
    let table: &[ServerRow] = &[
        (
            "strict, required",
            &["--cert", "gw", "--trust", "root", "--profile", "strict"],
            &[(None, 1), (Alice, 0), (Mallory, 1), (Carol, 1)],
        ),
        (
            "strict, client auth none",
            &[
                "--cert",
                "gw",
                "--trust",
                "root",
                "--profile",
                "strict",
                "--client-auth",
                "none",
            ],
            &[(None, 0), (Alice, 1)],
        ),
        // nginx `optional`: the missing certificate is fine at HTTP level.
        (
            "nginx optional",
            &[
                "--cert",
                "gw",
                "--trust",
                "root",
                "--profile",
                "nginx",
                "--mode",
                "optional",
            ],
            &[(None, 0), (Alice, 0), (Carol, 1)],
        ),
        // nginx `on`: 400 without a certificate.
        (
            "nginx on",
            &["--cert", "gw", "--trust", "root", "--profile", "nginx"],
            &[(None, 1), (Alice, 0)],
        ),
        // The names list only other-root, which signs no client we hold.
        (
            "strict, names other-root only",
            &[
                "--cert",
                "gw",
                "--trust",
                "root,other-root",
                "--profile",
                "strict",
                "--ca-names",
                "explicit:other-root",
            ],
            &[(Alice, 1), (Mallory, 0)],
        ),
        // An empty list: clients filtering by names offer any certificate.
        (
            "strict, empty CA list",
            &[
                "--cert",
                "gw",
                "--trust",
                "root",
                "--profile",
                "strict",
                "--ca-names",
                "empty",
            ],
            &[(None, 1), (Alice, 0)],
        ),
    ];
    let mut wrong = Vec::new();
    for (name, args, rows) in table {
        let (_server, url) = serve(&pki, args);
        check(&pki, &format!("serve {name}"), &url, rows, &mut wrong);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn bad_input_and_unreachable_targets_exit_2() {
    let pki = PkiDir::generate();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let wall = std::time::Duration::from_secs(60);
    let cert = pki.file("alice.crt").display().to_string();
    let key = pki.file("alice.key").display().to_string();
    let not_pem = pki.file("manifest.json").display().to_string();
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "not https",
            vec!["probe".into(), "http://127.0.0.1:1".into()],
        ),
        (
            "nothing listens",
            vec!["probe".into(), format!("https://{closed}")],
        ),
        (
            "--cert is not PEM",
            vec![
                "probe".into(),
                format!("https://{closed}"),
                "--cert".into(),
                not_pem.clone(),
                "--key".into(),
                key.clone(),
            ],
        ),
        (
            "--key is not PEM",
            vec![
                "probe".into(),
                format!("https://{closed}"),
                "--cert".into(),
                cert,
                "--key".into(),
                not_pem,
            ],
        ),
    ];
    for (what, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran = run_bin(&args, wall);
        assert_eq!(ran.code, 2, "{what}: {ran:?}");
        assert!(ran.stderr.contains("error:"), "{what}: {ran:?}");
    }
}
