//! `check-client` (issue 26): credential files written by `pki generate`,
//! each with one defect, are each named by their finding with exit 1; the
//! same credential without a defect, in every format, gives exit 0; a file
//! that cannot be read gives exit 2 and the reason. The files are checked
//! with OpenSSL too, so the formats are what they claim.

mod support;

use std::path::Path;

const SPEC: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "issuing"
role = "intermediate"
issuer = "root"
[[cert]]
name = "good"
role = "client"
issuer = "issuing"
pkcs12 = { password = "s3cret" }
[[cert]]
name = "legacy"
role = "client"
issuer = "issuing"
pkcs12 = { password = "s3cret", legacy = true }
[[cert]]
name = "rsa-pkcs1"
role = "client"
issuer = "issuing"
key = "rsa-2048"
key_format = "pkcs1"
[[cert]]
name = "ec-sec1"
role = "client"
issuer = "issuing"
key_format = "sec1"
[[cert]]
name = "encrypted"
role = "client"
issuer = "issuing"
key_encryption = { password = "s3cret" }
[[cert]]
name = "leaf-only"
role = "client"
issuer = "issuing"
chain_in_file = false
pkcs12 = { password = "s3cret" }
[[cert]]
name = "reversed"
role = "client"
issuer = "issuing"
chain_order = "reversed"
[[cert]]
name = "expired"
role = "client"
issuer = "issuing"
validity = "expired"
[[cert]]
name = "not-yet"
role = "client"
issuer = "issuing"
validity = "not-yet-valid"
[[cert]]
name = "server-eku"
role = "client"
issuer = "issuing"
defects = ["eku-server-only"]
[[cert]]
name = "revoked"
role = "client"
issuer = "issuing"
defects = ["revoked"]
[[cert]]
name = "mismatch"
role = "client"
issuer = "issuing"
defects = ["key-mismatch"]
"#;

/// `pki generate` of [`SPEC`] into `dir/pki`.
fn generate(dir: &Path) -> std::path::PathBuf {
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = dir.join("pki");
    let (code, _, err) = support::run(&[
        "pki",
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    out
}

/// `check-client` with `args` and `PW=s3cret` in its environment.
fn check(args: &[&str]) -> (i32, String, String) {
    let mut cmd = support::command();
    cmd.arg("check-client").args(args).env("PW", "s3cret");
    support::run_command(cmd, std::time::Duration::from_secs(60)).into_parts()
}

fn pem_pair(dir: &Path, name: &str) -> Vec<String> {
    vec![
        "--cert".into(),
        dir.join(format!("{name}.chain.pem")).display().to_string(),
        "--key".into(),
        dir.join(format!("{name}.key")).display().to_string(),
        "--password-env".into(),
        "PW".into(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn each_defect_is_named_and_a_good_credential_passes_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = generate(tmp.path());
    // No defect: exit 0, in PEM (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8)
    // and PKCS#12 (modern and legacy).
    for name in ["good", "rsa-pkcs1", "ec-sec1", "encrypted", "legacy"] {
        let (code, out, err) = check(&args(&pem_pair(&pki, name)));
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(out.contains("OK: no finding"), "{name}: {out}");
    }
    let p12 = pki.join("good.p12");
    let (code, out, err) = check(&["--cert", p12.to_str().unwrap(), "--password-env", "PW"]);
    assert_eq!(code, 0, "good.p12: {out}{err}");
    assert!(out.contains("a PKCS#12 file (PBES2/AES)"), "{out}");
    // Stacks without a PKCS#12 loader are quoted from the measured grid.
    assert!(
        out.contains("note: Python ssl: Python's ssl loads PEM only"),
        "{out}"
    );
    // Legacy encryption: the stacks the grid measured failing on it.
    let p12 = pki.join("legacy.p12");
    let (code, out, err) = check(&["--cert", p12.to_str().unwrap(), "--password-env", "PW"]);
    assert_eq!(code, 1, "legacy.p12: {out}{err}");
    assert!(out.contains("legacy encryption (RC2-40-CBC)"), "{out}");
    assert!(
        out.contains("FINDING unreadable-by: curl and Node https cannot read"),
        "{out}"
    );
    let formats = [
        ("rsa-pkcs1", "PKCS#1 (RSA PRIVATE KEY)"),
        ("ec-sec1", "SEC1 (EC PRIVATE KEY)"),
        ("encrypted", "an encrypted PKCS#8 PEM key"),
    ];
    for (name, said) in formats {
        let (_, out, _) = check(&args(&pem_pair(&pki, name)));
        assert!(out.contains(said), "{name}: {out}");
    }
    // One defect each: its finding, exit 1.
    let crl = pki.join("issuing.crl");
    for (name, finding, extra) in [
        ("leaf-only", "chain-incomplete", None),
        ("reversed", "chain-out-of-order", None),
        ("expired", "expired", None),
        ("not-yet", "not-yet-valid", None),
        ("server-eku", "no-client-auth-eku", None),
        ("mismatch", "key-mismatch", None),
        ("revoked", "revoked", Some(crl.to_str().unwrap())),
    ] {
        let mut a = pem_pair(&pki, name);
        if let Some(crl) = extra {
            a.extend(["--crl".to_string(), crl.to_string()]);
        }
        let (code, out, err) = check(&args(&a));
        assert_eq!(code, 1, "{name}: {out}{err}");
        let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("FINDING ")).collect();
        assert_eq!(findings.len(), 1, "{name}: {out}");
        assert!(
            findings[0].starts_with(&format!("FINDING {finding}: "))
                && findings[0].contains(". Fix: "),
            "{name}: {out}"
        );
    }
    // The leaf alone in a PKCS#12 file too; and as JSON.
    let p12 = pki.join("leaf-only.p12");
    let (code, out, err) = check(&[
        "--cert",
        p12.to_str().unwrap(),
        "--password-env",
        "PW",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["findings"][0]["kind"], "chain-incomplete",
        "{report}"
    );
    assert_eq!(report["container"]["kind"], "pkcs12", "{report}");
    // Revocation is not judged without a CRL: the revoked one passes then.
    let (code, out, _) = check(&args(&pem_pair(&pki, "revoked")));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn unreadable_files_and_passwords_exit_2_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = generate(tmp.path());
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = tmp.path().join("missing.pem");
    let good = pki.join("good.chain.pem");
    let enc_key = pki.join("encrypted.key");
    let p12 = pki.join("good.p12");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cert", missing.to_str().unwrap()], "missing.pem"),
        (
            vec!["--cert", garbage.to_str().unwrap()],
            "neither PEM nor PKCS#12",
        ),
        (
            vec![
                "--cert",
                good.to_str().unwrap(),
                "--key",
                enc_key.to_str().unwrap(),
            ],
            "needs a password: give --password-env VAR",
        ),
        (
            vec![
                "--cert",
                p12.to_str().unwrap(),
                "--password-env",
                "NOT_SET_ANYWHERE",
            ],
            "--password-env NOT_SET_ANYWHERE: the variable is not set",
        ),
        (vec!["--cert", p12.to_str().unwrap()], "needs a password"),
        (
            vec![
                "--cert",
                good.to_str().unwrap(),
                "--key",
                garbage.to_str().unwrap(),
            ],
            "no PRIVATE KEY block",
        ),
    ];
    for (a, reason) in cases {
        let (code, out, err) = check(&a);
        assert_eq!(code, 2, "{a:?}: {out}{err}");
        assert!(err.contains(reason), "{a:?}: {err}");
    }
    // A wrong password.
    let mut cmd = support::command();
    cmd.args([
        "check-client",
        "--cert",
        p12.to_str().unwrap(),
        "--password-env",
        "PW",
    ])
    .env("PW", "wrong");
    let (code, _, err) = support::run_command(cmd, std::time::Duration::from_secs(60)).into_parts();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not open with the password"), "{err}");
}

/// The files are what they claim, as OpenSSL reads them: the legacy
/// PKCS#12 needs OpenSSL 3's legacy provider, the modern one does not.
#[test]
fn openssl_reads_the_formats_as_written() {
    if !support::require("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = generate(tmp.path());
    let openssl = |a: &[&str]| {
        std::process::Command::new("openssl")
            .args(a)
            .output()
            .expect("openssl runs")
    };
    let path = |f: &str| pki.join(f).display().to_string();
    for (key, extra) in [
        ("rsa-pkcs1.key", None),
        ("ec-sec1.key", None),
        ("encrypted.key", Some("pass:s3cret")),
    ] {
        let k = path(key);
        let mut a = vec!["pkey", "-in", k.as_str(), "-noout"];
        if let Some(p) = extra {
            a.extend(["-passin", p]);
        }
        let o = openssl(&a);
        assert!(
            o.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let modern = path("good.p12");
    let o = openssl(&[
        "pkcs12",
        "-in",
        &modern,
        "-passin",
        "pass:s3cret",
        "-nokeys",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let legacy = path("legacy.p12");
    let o = openssl(&[
        "pkcs12",
        "-in",
        &legacy,
        "-passin",
        "pass:s3cret",
        "-nokeys",
    ]);
    let version = String::from_utf8_lossy(&openssl(&["version"]).stdout).to_string();
    if version.starts_with("OpenSSL 3") {
        assert!(!o.status.success(), "OpenSSL 3 read RC2-40 without -legacy");
        assert!(String::from_utf8_lossy(&o.stderr).contains("RC2-40-CBC"));
        let o = openssl(&[
            "pkcs12",
            "-legacy",
            "-in",
            &legacy,
            "-passin",
            "pass:s3cret",
            "-nokeys",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// `--target`: against `serve` trusting `root` (and listing both roots as
/// CA names, or only `other-root`), alice's credential passes, mallory's is
/// refused, and alice's issuer missing from the CA names is named.
#[test]
fn a_target_names_an_issuer_missing_from_its_ca_names_and_a_refusal() {
    use support::target::{serve, PkiDir};
    let pki = PkiDir::generate();
    let chain = pki.file("alice.chain.pem");
    let key = pki.file("alice.key");
    let (all, url) = serve(&pki, &["--cert", "gw", "--trust", "root,other-root"]);
    let (code, out, err) = check(&[
        "--cert",
        chain.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--target",
        &url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let mallory = pki.file("mallory.chain.pem");
    let mallory_key = pki.file("mallory.key");
    let (_only_root, url_root) = serve(&pki, &["--cert", "gw", "--trust", "root"]);
    let (code, out, err) = check(&[
        "--cert",
        mallory.to_str().unwrap(),
        "--key",
        mallory_key.to_str().unwrap(),
        "--target",
        &url_root,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FINDING issuer-not-in-ca-names: ")
            || out.contains("FINDING target-refuses: "),
        "{out}"
    );
    let (_other_names, url_other) = serve(
        &pki,
        &[
            "--cert",
            "gw",
            "--trust",
            "root,other-root",
            "--ca-names",
            "explicit:other-root",
        ],
    );
    let (code, out, err) = check(&[
        "--cert",
        chain.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--target",
        &url_other,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FINDING issuer-not-in-ca-names: "), "{out}");
    // A target nothing listens on: exit 2, named.
    drop(all);
    let (code, _, err) = check(&[
        "--cert",
        chain.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--target",
        &url,
        "--timeout",
        "2",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--target"), "{err}");
}

/// A Java keystore (JKS), made from the modern PKCS#12 file with the JDK's
/// keytool, is read through keytool: no finding, and the leaf alone in it
/// is named.
#[test]
fn a_jks_keystore_is_read_where_a_jdk_is_installed() {
    if !support::require("keytool") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = generate(tmp.path());
    for (name, expect) in [("good", 0), ("leaf-only", 1)] {
        let p12 = pki.join(format!("{name}.p12"));
        // Beside the PKI's files, where the missing intermediate is found.
        let jks = pki.join(format!("{name}.jks"));
        let out = std::process::Command::new("keytool")
            .args(["-importkeystore", "-noprompt", "-srcstoretype", "PKCS12"])
            .arg("-srckeystore")
            .arg(&p12)
            .args(["-deststoretype", "JKS", "-destkeystore"])
            .arg(&jks)
            .args(["-srcstorepass", "s3cret", "-deststorepass", "s3cret"])
            .env("JAVA_TOOL_OPTIONS", "-XX:-UsePerfData")
            .output()
            .expect("keytool runs");
        assert!(out.status.success(), "{out:?}");
        let (code, out, err) = check(&["--cert", jks.to_str().unwrap(), "--password-env", "PW"]);
        assert_eq!(code, expect, "{name}: {out}{err}");
        assert!(out.contains("a Java keystore (JKS)"), "{out}");
        if expect == 1 {
            assert!(out.contains("FINDING chain-incomplete: "), "{out}");
        }
    }
}

/// A revoked certificate whose CRL distribution point is on loopback is
/// named without `--crl`: the CRL is fetched from there (and only there).
#[test]
fn a_loopback_crl_distribution_point_is_asked() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("spec.toml");
    std::fs::write(
        &spec,
        format!(
            "[[cert]]\nname = \"root\"\nrole = \"root\"\n\
             [[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\ndefects = [\"revoked\"]\n\
             crl_distribution_points = [\"http://127.0.0.1:{port}/root.crl\"]\n"
        ),
    )
    .unwrap();
    let out = tmp.path().join("pki");
    let (code, _, err) = support::run(&[
        "pki",
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    // The distribution point: every request gets the CRL (PEM, as written).
    let crl = std::fs::read(out.join("root.crl")).unwrap();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    listener.set_nonblocking(false).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                crl.len()
            );
            let _ = stream.write_all(&crl);
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let chain = out.join("alice.chain.pem");
    let key = out.join("alice.key");
    let (code, out, err) = check(&[
        "--cert",
        chain.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FINDING revoked: "), "{out}");
    assert!(
        out.contains(&format!("http://127.0.0.1:{port}/root.crl")),
        "{out}"
    );
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

/// `--policy`: a certificate whose subject is one of the policy's
/// identities passes; another subject is named with the identities the
/// policy knows; an identity's SAN missing from the certificate is named.
#[test]
fn a_policy_names_a_subject_it_does_not_know_and_a_missing_san() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("spec.toml");
    std::fs::write(
        &spec,
        "[[cert]]\nname = \"root\"\nrole = \"root\"\n\
         [[cert]]\nname = \"ops\"\nrole = \"client\"\nissuer = \"root\"\nsubject = \"CN=ops-laptop-17,OU=SRE,O=Example Corp,C=DE\"\n\
         [[cert]]\nname = \"stranger\"\nrole = \"client\"\nissuer = \"root\"\nsubject = \"CN=stranger,O=Elsewhere\"\n",
    )
    .unwrap();
    let out = tmp.path().join("pki");
    let (code, _, err) = support::run(&[
        "pki",
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let policy =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policies/nginx-policy.toml");
    let run = |name: &str, policy: &Path| {
        let chain = out.join(format!("{name}.chain.pem"));
        let key = out.join(format!("{name}.key"));
        check(&[
            "--cert",
            chain.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ])
    };
    let (code, out_ops, err) = run("ops", &policy);
    assert_eq!(code, 0, "{out_ops}{err}");
    let (code, text, err) = run("stranger", &policy);
    assert_eq!(code, 1, "{text}{err}");
    assert!(
        text.contains("FINDING policy-mismatch: the subject"),
        "{text}"
    );
    assert!(text.contains("CN=ci-runner,O=Example Corp,C=DE"), "{text}");
    // The same identity with a SAN the certificate lacks.
    let with_san = tmp.path().join("policy.toml");
    std::fs::write(
        &with_san,
        "[[identity]]\nname = \"ops\"\nsubject = \"CN=ops-laptop-17,OU=SRE,O=Example Corp,C=DE\"\nsan_dns = [\"ops-laptop-17.example.org\"]\n\
         [[route]]\npath = \"/\"\nallow = [\"ops\"]\n[route.expect]\nallowed = { status = 200 }\ndenied = { status = 403 }\nno_certificate = { status = 403 }\nrejected = \"refused\"\n",
    )
    .unwrap();
    let (code, text, err) = run("ops", &with_san);
    assert_eq!(code, 1, "{text}{err}");
    assert!(
        text.contains("lacks the SANs the policy expects: ops-laptop-17.example.org"),
        "{text}"
    );
    // A policy that does not load: exit 2, named.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[[identity]]\nnam = 1\n").unwrap();
    let (code, _, err) = run("ops", &bad);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--policy"), "{err}");
}

/// OpenSSL's traditional key encryption (`Proc-Type: 4,ENCRYPTED`),
/// AES-256-CBC on a PKCS#1 key and DES-EDE3-CBC on a SEC1 key as `openssl
/// rsa -aes256 -traditional` and `openssl ec -des3` write them: decrypted,
/// matched against the certificate; a wrong password is exit 2.
#[test]
fn traditional_key_encryption_is_decrypted() {
    if !support::require("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = generate(tmp.path());
    for (name, cmd, cipher) in [("rsa-pkcs1", "rsa", "-aes256"), ("ec-sec1", "ec", "-des3")] {
        let plain = pki.join(format!("{name}.key"));
        let trad = tmp.path().join(format!("{name}.trad.key"));
        let mut args = vec![
            cmd,
            "-in",
            plain.to_str().unwrap(),
            cipher,
            "-passout",
            "pass:s3cret",
        ];
        if cmd == "rsa" {
            args.push("-traditional");
        }
        args.extend(["-out", trad.to_str().unwrap()]);
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = std::fs::read_to_string(&trad).unwrap();
        assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{text}");
        let chain = pki.join(format!("{name}.chain.pem"));
        let (code, out, err) = check(&[
            "--cert",
            chain.to_str().unwrap(),
            "--key",
            trad.to_str().unwrap(),
            "--password-env",
            "PW",
        ]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(out.contains("traditional encryption"), "{out}");
        // Another certificate with this key: the match is checked.
        let other = pki.join("good.chain.pem");
        let (code, out, _) = check(&[
            "--cert",
            other.to_str().unwrap(),
            "--key",
            trad.to_str().unwrap(),
            "--password-env",
            "PW",
        ]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FINDING key-mismatch: "), "{out}");
        let mut cmd = support::command();
        cmd.args([
            "check-client",
            "--cert",
            chain.to_str().unwrap(),
            "--key",
            trad.to_str().unwrap(),
            "--password-env",
            "PW",
        ])
        .env("PW", "wrong");
        let (code, _, err) =
            support::run_command(cmd, std::time::Duration::from_secs(60)).into_parts();
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("does not decrypt with the password"), "{err}");
    }
}
