//! The harness's revocation responder (`mtls_harness::revocation`) held to
//! OpenSSL: `openssl ocsp` queries it over HTTP and verifies every answer
//! (good, revoked, unknown; signed by the issuing CA, RSA and ECDSA; nonce
//! echoed), re-verifies the saved response offline (`-respin`), and sees
//! stale and malformed answers as such; `openssl crl` verifies the CRLs its
//! distribution points serve. Also: it binds 127.0.0.1 only, `down` refuses,
//! `hang` never answers (a client gives up at its own timeout), and nothing
//! is left listening once it is dropped.

mod support;

use mtls_harness::knobs::ResponderState;
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::revocation::{client, OcspVerdict, Responder, ResponderFailure};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SPEC: &str = r#"
[[cert]]
name = "root"
role = "root"
key = "rsa-2048"
[[cert]]
name = "sub"
role = "intermediate"
issuer = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "sub"
[[cert]]
name = "bob"
role = "client"
issuer = "sub"
defects = ["revoked"]
[[cert]]
name = "carol"
role = "client"
issuer = "sub"
"#;

fn pki() -> Pki {
    Pki::generate(&PkiSpec::from_toml(SPEC, "spec").expect("spec")).expect("pki")
}

/// `openssl`, or `None` after the skip policy's `SKIP` line (a failure
/// under CI).
fn openssl() -> Option<&'static str> {
    support::require("openssl").then_some("openssl")
}

struct Query {
    stdout: String,
    stderr: String,
    ok: bool,
}

/// `openssl ocsp` about `cert` (issued by `issuer`) at `url`, trusting the
/// issuer as the responder (`-VAfile`), saving the response to `out`.
fn openssl_ocsp(dir: &Path, cert: &str, issuer: &str, url: &str, out: &Path) -> Query {
    let f = |n: &str| dir.join(format!("{n}.crt")).display().to_string();
    let o = Command::new(openssl().expect("checked"))
        .args([
            "ocsp",
            "-issuer",
            &f(issuer),
            "-cert",
            &f(cert),
            "-url",
            url,
        ])
        .args(["-VAfile", &f(issuer), "-timeout", "5", "-respout"])
        .arg(out)
        .output()
        .expect("openssl runs");
    Query {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        ok: o.status.success(),
    }
}

#[test]
fn openssl_reads_and_verifies_every_answer_and_the_saved_response() {
    if openssl().is_none() {
        return;
    }
    let pki = pki();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("pki");
    pki.write_dir(&dir).expect("write");
    let responder =
        Responder::start(&pki, ResponderState::Up, &["carol".to_string()]).expect("responder");
    assert!(responder.addr().ip().is_loopback(), "{}", responder.addr());
    for (cert, issuer, status) in [
        ("alice", "sub", "good"),
        ("bob", "sub", "revoked"),
        ("carol", "sub", "unknown"),
        // Signed by the RSA root.
        ("sub", "root", "good"),
    ] {
        let saved = tmp.path().join(format!("{cert}.ocsp.der"));
        let q = openssl_ocsp(&dir, cert, issuer, &responder.ocsp_url(), &saved);
        let line = format!("{}: {status}", dir.join(format!("{cert}.crt")).display());
        assert!(q.ok, "{cert}: {}{}", q.stdout, q.stderr);
        assert!(q.stdout.contains(&line), "{cert}: {}", q.stdout);
        assert!(
            q.stderr.contains("Response verify OK"),
            "{cert}: {}",
            q.stderr
        );
        // OpenSSL sends a nonce and checks the echo.
        assert!(
            !q.stderr.to_lowercase().contains("nonce"),
            "{cert}: {}",
            q.stderr
        );
        assert!(!q.stdout.contains("WARNING"), "{cert}: {}", q.stdout);
        // The same response, verified again offline.
        let f = |n: &str| dir.join(format!("{n}.crt")).display().to_string();
        let o = Command::new("openssl")
            .args(["ocsp", "-respin"])
            .arg(&saved)
            .args([
                "-issuer",
                &f(issuer),
                "-cert",
                &f(cert),
                "-VAfile",
                &f(issuer),
            ])
            // A new request (new nonce) is built for -cert: no echo to check.
            .arg("-no_nonce")
            .output()
            .expect("openssl runs");
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert!(o.status.success(), "{cert} -respin: {out}{err}");
        assert!(err.contains("Response verify OK"), "{cert} -respin: {err}");
        assert!(out.contains(&line), "{cert} -respin: {out}");
    }
    // The built-in gateways' client reads the same answers.
    for (cert, issuer, want) in [
        ("alice", "sub", OcspVerdict::Good),
        ("bob", "sub", OcspVerdict::Revoked),
        ("carol", "sub", OcspVerdict::Unknown),
        ("sub", "root", OcspVerdict::Good),
    ] {
        let got = client::ocsp_status(
            &responder.ocsp_url(),
            &pki.cert(cert).unwrap().der,
            &pki.cert(issuer).unwrap().der,
            Duration::from_secs(5),
        );
        assert_eq!(got, Ok(want), "{cert}");
    }
    // Four from openssl, four from the built-in client.
    assert_eq!(responder.requests(), 8);
}

#[test]
fn stale_and_malformed_answers_are_seen_as_such_by_openssl_and_the_built_in_client() {
    if openssl().is_none() {
        return;
    }
    let pki = pki();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("pki");
    pki.write_dir(&dir).expect("write");
    let (alice, sub) = (
        &pki.cert("alice").unwrap().der,
        &pki.cert("sub").unwrap().der,
    );

    let stale = Responder::start(&pki, ResponderState::Stale, &[]).expect("responder");
    let q = openssl_ocsp(
        &dir,
        "alice",
        "sub",
        &stale.ocsp_url(),
        &tmp.path().join("s.der"),
    );
    assert!(q.stderr.contains("Response verify OK"), "{}", q.stderr);
    assert!(
        q.stdout.contains("Status times invalid"),
        "openssl should flag the expired response: {}{}",
        q.stdout,
        q.stderr
    );
    let got = client::ocsp_status(&stale.ocsp_url(), alice, sub, Duration::from_secs(5));
    assert_eq!(got, Err(ResponderFailure::Stale));

    let malformed = Responder::start(&pki, ResponderState::Malformed, &[]).expect("responder");
    let q = openssl_ocsp(
        &dir,
        "alice",
        "sub",
        &malformed.ocsp_url(),
        &tmp.path().join("m.der"),
    );
    assert!(
        !q.ok,
        "openssl must not accept it: {}{}",
        q.stdout, q.stderr
    );
    assert!(!q.stdout.contains(": good"), "{}", q.stdout);
    let got = client::ocsp_status(&malformed.ocsp_url(), alice, sub, Duration::from_secs(5));
    assert!(
        matches!(got, Err(ResponderFailure::Malformed(_))),
        "{got:?}"
    );
}

#[test]
fn distribution_points_serve_crls_openssl_verifies_current_or_stale() {
    if openssl().is_none() {
        return;
    }
    let pki = pki();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("pki");
    pki.write_dir(&dir).expect("write");
    let sub = pki.cert("sub").unwrap();
    let bob_serial = {
        let (_, c) = x509_parser::parse_x509_certificate(&pki.cert("bob").unwrap().der).unwrap();
        c.tbs_certificate.raw_serial().to_vec()
    };
    for (mode, expired) in [(ResponderState::Up, false), (ResponderState::Stale, true)] {
        let responder = Responder::start(&pki, mode, &[]).expect("responder");
        let (_, subject) = x509_parser::parse_x509_certificate(&sub.der).unwrap();
        let der = client::fetch_crl(
            &responder.crl_base_url(),
            subject.tbs_certificate.subject.as_raw(),
            Duration::from_secs(5),
        )
        .expect("CRL served");
        let (_, crl) = x509_parser::parse_x509_crl(&der).expect("a CRL");
        assert!(crl
            .iter_revoked_certificates()
            .any(|r| r.raw_serial() == bob_serial.as_slice()));
        let next = crl.next_update().expect("nextUpdate").timestamp();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(next < now, expired, "{mode:?}");
        let path = tmp.path().join(format!("{mode:?}.crl"));
        std::fs::write(&path, &der).unwrap();
        let o = Command::new("openssl")
            .args(["crl", "-inform", "DER", "-noout", "-in"])
            .arg(&path)
            .arg("-CAfile")
            .arg(dir.join("sub.crt"))
            .output()
            .expect("openssl runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("verify OK"), "{mode:?}: {err}");
    }
}

#[test]
fn down_refuses_hang_holds_until_the_client_gives_up_and_nothing_stays_listening() {
    let pki = pki();
    let (alice, sub) = (
        &pki.cert("alice").unwrap().der,
        &pki.cert("sub").unwrap().der,
    );

    let down = Responder::start(&pki, ResponderState::Down, &[]).expect("responder");
    assert!(down.addr().ip().is_loopback());
    let got = client::ocsp_status(&down.ocsp_url(), alice, sub, Duration::from_secs(5));
    assert_eq!(got, Err(ResponderFailure::Refused));

    let hang = Responder::start(&pki, ResponderState::Hang, &[]).expect("responder");
    assert!(hang.addr().ip().is_loopback());
    let addr = hang.addr();
    let got = client::ocsp_status(&hang.ocsp_url(), alice, sub, Duration::from_millis(300));
    assert_eq!(got, Err(ResponderFailure::TimedOut));
    assert_eq!(
        hang.requests(),
        1,
        "the hanging responder accepted the query"
    );
    drop(hang);
    let after = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2));
    assert!(
        after.is_err(),
        "the responder still listens on {addr} after it was dropped"
    );
}

/// `openssl x509 -text` of `der`.
fn x509_text(der: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.der");
    std::fs::write(&path, der).expect("write");
    let o = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .expect("openssl runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn spec_ocsp_url_and_crl_distribution_points_are_written_as_openssl_reads_them() {
    if openssl().is_none() {
        return;
    }
    let spec = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "root"
ocsp_url = "http://127.0.0.1:8080/ocsp"
crl_distribution_points = ["http://127.0.0.1:8080/crl/root.crl", "http://crl.example.test/b.crl"]
"#;
    let pki = Pki::generate(&PkiSpec::from_toml(spec, "spec").expect("spec")).expect("pki");
    let alice = pki.cert("alice").expect("alice");
    let text = x509_text(&alice.der);
    assert!(
        text.contains("Authority Information Access")
            && text.contains("OCSP - URI:http://127.0.0.1:8080/ocsp"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 CRL Distribution Points")
            && text.contains("URI:http://127.0.0.1:8080/crl/root.crl")
            && text.contains("URI:http://crl.example.test/b.crl"),
        "{text}"
    );
    assert_eq!(
        client::ocsp_url_of(&alice.der).as_deref(),
        Some("http://127.0.0.1:8080/ocsp")
    );
    assert_eq!(client::crl_urls_of(&alice.der).len(), 2);
    // Without the keys, nothing of the kind.
    let root = pki.cert("root").expect("root");
    assert_eq!(client::ocsp_url_of(&root.der), None);
    assert!(client::crl_urls_of(&root.der).is_empty());
}

#[test]
fn a_bad_revocation_url_is_an_error_naming_file_line_and_field() {
    let spec = "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[cert]]\nname = \"a\"\nrole = \"client\"\nissuer = \"root\"\nocsp_url = \"ldap://x/y\"\ncrl_distribution_points = [\"not a url\"]\n";
    let parsed = PkiSpec::from_toml(spec, "s.toml").expect("parses");
    let err = Pki::validate_spec(&parsed, "s.toml", spec)
        .expect_err("bad URLs")
        .to_string();
    assert!(
        err.contains("s.toml:8: field `cert[1].ocsp_url`") && err.contains("only http://"),
        "{err}"
    );
    assert!(
        err.contains("s.toml:9: field `cert[1].crl_distribution_points`")
            && err.contains("not a URL"),
        "{err}"
    );
}

#[test]
fn re_signed_certificates_name_the_running_responder_and_still_verify() {
    if openssl().is_none() {
        return;
    }
    let pki = pki();
    let responder = Responder::start(&pki, ResponderState::Up, &[]).expect("responder");
    let url = responder.ocsp_url();
    let with = pki
        .with_revocation_urls(|_, _| mtls_harness::pki::urls::RevocationUrls {
            ocsp: Some(url.clone()),
            crl: vec![format!("{}x.crl", responder.crl_base_url())],
        })
        .expect("re-signed");
    let (old, new) = (pki.cert("alice").unwrap(), with.cert("alice").unwrap());
    assert_ne!(old.der, new.der);
    assert_eq!(old.serial, new.serial);
    assert_eq!(old.key_pkcs8, new.key_pkcs8);
    let sub = with.cert("sub").unwrap();
    assert_eq!(
        new.chain,
        vec![sub.der.clone()],
        "the chain is the re-signed one"
    );
    assert_eq!(client::ocsp_url_of(&sub.der).as_deref(), Some(url.as_str()));
    assert!(x509_text(&new.der).contains(&format!("OCSP - URI:{url}")));
    // OpenSSL verifies the re-signed chain to the (unchanged) root.
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, pem: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, pem).expect("write");
        p
    };
    let root = write("root.pem", with.cert("root").unwrap().cert_pem());
    let untrusted = write("sub.pem", sub.cert_pem());
    let leaf = write("alice.pem", new.cert_pem());
    let o = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&root)
        .arg("-untrusted")
        .arg(&untrusted)
        .arg(&leaf)
        .output()
        .expect("openssl runs");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The URL read from the certificate reaches the responder, which knows
    // the serial: good for alice, revoked for bob.
    let timeout = Duration::from_secs(5);
    let ask = |name: &str| {
        let c = with.cert(name).unwrap();
        let url = client::ocsp_url_of(&c.der).expect("AIA");
        client::ocsp_status(&url, &c.der, &sub.der, timeout).expect("answer")
    };
    assert_eq!(ask("alice"), OcspVerdict::Good);
    assert_eq!(ask("bob"), OcspVerdict::Revoked);
}

/// A case of a scenario with an online check: the certificates it uses
/// name the responder it started (OCSP or CDP, as the check asks), an
/// explicit URL of the spec is kept, and a `crl-file` case changes nothing.
#[test]
fn a_case_re_signs_the_scenario_certificates_with_its_responder() {
    use mtls_harness::scenario::schema::ScenarioFile;
    let scenario = |check: &str, extra: &str| -> ScenarioFile {
        toml::from_str(&format!(
            r#"description = "x"
[[pki.cert]]
name = "root"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[[pki.cert]]
name = "alice"
role = "client"
issuer = "root"
{extra}
[server]
cert = "gw"
trust = ["root"]
crls = ["root"]
[client]
certs = ["alice"]
[revocation]
check = "{check}"
[expect]
result = "SUCCESS"
"#
        ))
        .expect("scenario")
    };
    let file = scenario("ocsp", "");
    let pki = Pki::generate(&file.pki).expect("pki");
    let (responder, _, reissued) =
        mtls_harness::case::start_responder(&pki, &file).expect("responder");
    let (responder, reissued) = (responder.expect("started"), reissued.expect("re-signed"));
    let alice = reissued.cert("alice").unwrap();
    assert_eq!(
        client::ocsp_url_of(&alice.der),
        Some(responder.ocsp_url()),
        "alice names the case's OCSP responder"
    );
    assert!(client::crl_urls_of(&alice.der).is_empty());
    assert_eq!(
        client::ocsp_url_of(&reissued.cert("root").unwrap().der),
        None,
        "a root is never re-signed"
    );

    let file = scenario("crl-distribution-point", "");
    let pki = Pki::generate(&file.pki).expect("pki");
    let (responder, _, reissued) =
        mtls_harness::case::start_responder(&pki, &file).expect("responder");
    let (responder, reissued) = (responder.expect("started"), reissued.expect("re-signed"));
    let alice = reissued.cert("alice").unwrap();
    let urls = client::crl_urls_of(&alice.der);
    assert_eq!(urls.len(), 1, "{urls:?}");
    assert!(urls[0].starts_with(&responder.crl_base_url()), "{urls:?}");
    let crl = client::fetch_crl_url(&urls[0], Duration::from_secs(5)).expect("the CRL is there");
    assert_eq!(&crl[..], pki.crl("root").expect("root's CRL").as_ref());

    let file = scenario("ocsp", r#"ocsp_url = "http://ocsp.example.test/""#);
    let pki = Pki::generate(&file.pki).expect("pki");
    let (_responder, _, reissued) =
        mtls_harness::case::start_responder(&pki, &file).expect("responder");
    let alice = reissued.expect("re-signed");
    assert_eq!(
        client::ocsp_url_of(&alice.cert("alice").unwrap().der).as_deref(),
        Some("http://ocsp.example.test/"),
        "an explicit ocsp_url wins"
    );

    let file = scenario("crl-file", "");
    let pki = Pki::generate(&file.pki).expect("pki");
    let (responder, _, reissued) =
        mtls_harness::case::start_responder(&pki, &file).expect("no responder");
    assert!(responder.is_none() && reissued.is_none());
}

/// A gateway waiting on a silent responder holds none of the async
/// workers: on a two-worker runtime (this kind of machine), the seed
/// scenarios on the same profiles all finish while six gateways (nginx,
/// Apache and IIS ask; TLS 1.2 and 1.3) wait out their responder. Before,
/// each wait blocked a worker for the whole timeout inside the handshake
/// callback, and every other case of the run waited with it.
#[test]
fn gateways_waiting_on_a_silent_responder_hold_no_async_worker() {
    use mtls_harness::gateway::ProfileKind;
    use mtls_harness::interrupt::CancelToken;
    use mtls_harness::runner::execute::{generate_pkis, run_all, select};
    use mtls_harness::runner::RunOptions;
    use mtls_harness::scenario::load_catalog;

    const WAITING: &str = "revocation::ocsp_responder_hang";
    let mut scenarios =
        load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).expect("catalog");
    for s in scenarios.iter_mut().filter(|s| s.id == WAITING) {
        let r = s.file.revocation.as_mut().expect("[revocation]");
        assert_eq!(r.responder, Some(ResponderState::Hang), "{WAITING} hangs");
        // Long enough that no quick case comes near it on a loaded machine.
        r.timeout_secs = Some(4);
    }
    let mut globs = globset::GlobSetBuilder::new();
    globs.add(globset::Glob::new(WAITING).expect("glob"));
    globs.add(globset::Glob::new("seeds::*").expect("glob"));
    let opts = RunOptions {
        filter: Some(globs.build().expect("globset")),
        profiles: Some(vec![
            ProfileKind::Nginx,
            ProfileKind::Apache,
            ProfileKind::Iis,
        ]),
        concurrency: 256,
        cancel: CancelToken::new(),
        ..RunOptions::default()
    };
    let selected = select(&scenarios, &opts);
    let pkis = generate_pkis(&selected).expect("pkis");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut finished = Vec::new();
    let report = rt.block_on(run_all(&selected, &pkis, &opts, |r, _, _| {
        finished.push(r.scenario.clone());
    }));
    let s = report.summary();
    assert_eq!(s.failed + s.hung, 0, "{s}");
    let waiting = finished.iter().filter(|id| *id == WAITING).count();
    assert_eq!(
        waiting, 6,
        "nginx, Apache, IIS x TLS 1.2, 1.3: {finished:?}"
    );
    let quick = finished.len() - waiting;
    assert!(quick >= 20, "the seed cases ran: {finished:?}");
    let first_waiting = finished.iter().position(|id| id == WAITING).expect("ran");
    assert_eq!(
        first_waiting, quick,
        "every quick case finished before the first gateway gave up on its responder: {finished:?}"
    );
}
