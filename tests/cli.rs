//! The `mtls-harness` binary: exit codes, error messages naming file and line,
//! output files, and `serve` against real curl.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::target::PkiDir;
use support::{command as bin, run};

/// The spec of the `pki generate` tests (the shared fixture for the others
/// is [`PkiDir`]).
const SPEC: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "root"
"#;

const SCENARIO: &str = r#"
description = "a good client certificate is accepted"
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
[server]
cert = "gw"
trust = ["root"]
[client]
certs = ["alice"]
[expect]
result = "SUCCESS"
http_status = 200
"#;

fn catalog(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn pki_generate_writes_the_promised_files_with_private_keys_0600() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = write(tmp.path(), "spec.toml", SPEC);
    let out = tmp.path().join("pki");
    let (code, stdout, stderr) = run(&[
        "pki",
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{stdout}{stderr}");
    for f in [
        "root.crt",
        "root.key",
        "gw.crt",
        "gw.chain.pem",
        "alice.key",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let mode = std::fs::metadata(out.join("alice.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // A second run into the now non-empty directory is refused and changes nothing.
    let (code, _, stderr) = run(&[
        "pki",
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 2);
    assert!(stderr.contains("not empty"), "{stderr}");
}

#[test]
fn pki_generate_names_file_line_and_field_of_a_bad_spec_and_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = SPEC.replace(
        "issuer = \"root\"\n[[cert]]\nname = \"alice\"",
        "issuer = \"nope\"\n[[cert]]\nname = \"alice\"",
    );
    let spec = write(tmp.path(), "bad.toml", &bad);
    let out = tmp.path().join("pki");
    let (code, _, stderr) = run(&[
        "pki",
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad.toml:8:"), "{stderr}");
    assert!(
        stderr.contains("issuer") && stderr.contains("nope"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be left behind");
}

#[test]
fn run_passes_a_good_catalog_and_writes_json_with_both_versions() {
    let cat = catalog(&[("basic/good.toml", SCENARIO)]);
    let report = cat.path().join("report.json");
    let (code, stdout, stderr) = run(&[
        "run",
        cat.path().to_str().unwrap(),
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let text = json.to_string();
    assert!(text.contains("basic::good"), "{text}");
    assert!(
        text.contains("\"1.2\"") && text.contains("\"1.3\""),
        "{text}"
    );
}

#[test]
fn a_wrong_expectation_exits_1_with_a_diff_naming_the_field() {
    let wrong = SCENARIO.replace("http_status = 200", "http_status = 418");
    let cat = catalog(&[("basic/wrong.toml", &wrong)]);
    let (code, stdout, _) = run(&["run", cat.path().to_str().unwrap(), "--no-color"]).into_parts();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("http_status=418"), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn a_malformed_file_exits_2_naming_file_and_line() {
    let bad = SCENARIO.replace("[client]", "[client]\nbogus_key = 1");
    let cat = catalog(&[("basic/bad.toml", &bad)]);
    let (code, _, stderr) = run(&["run", cat.path().to_str().unwrap()]).into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad.toml:"), "{stderr}");
    assert!(stderr.contains("bogus_key"), "{stderr}");
}

#[test]
fn a_filter_that_selects_nothing_exits_3() {
    let cat = catalog(&[("basic/good.toml", SCENARIO)]);
    let (code, _, stderr) = run(&[
        "run",
        cat.path().to_str().unwrap(),
        "--filter",
        "nothing::*",
    ])
    .into_parts();
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn bad_flags_exit_2() {
    let (code, _, stderr) = run(&["run", "--tls", "1.1"]).into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("1.1"), "{stderr}");
    let (code, _, _) = run(&["no-such-command"]).into_parts();
    assert_eq!(code, 2);
}

/// A spawned `serve` process, killed when dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(pki: &Path, profile: &str) -> Served {
    let mut child = bin()
        .args([
            "serve",
            "--pki",
            pki.to_str().unwrap(),
            "--cert",
            "gw",
            "--trust",
            "root",
            "--profile",
            profile,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        for _ in lines {}
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a first line within 20 s");
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    Served { child, url }
}

fn curl(url: &str, pki: &Path, with_cert: bool) -> (String, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "10",
        "--cacert",
        pki.join("root.crt").to_str().unwrap(),
        "-w",
        "\n%{http_code}",
    ]);
    if with_cert {
        cmd.args([
            "--cert",
            pki.join("alice.crt").to_str().unwrap(),
            "--key",
            pki.join("alice.key").to_str().unwrap(),
        ]);
    }
    let url = url.replace("127.0.0.1", "localhost");
    let out = cmd.arg(format!("{url}/")).output().expect("curl runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s_client(url: &str, pki: &Path, with_cert: bool) -> String {
    use std::io::Write;
    let port = url.rsplit(':').next().expect("port");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-servername",
        "localhost",
        "-quiet",
    ]);
    cmd.args(["-CAfile", pki.join("root.crt").to_str().unwrap()]);
    if with_cert {
        cmd.args([
            "-cert",
            pki.join("alice.crt").to_str().unwrap(),
            "-key",
            pki.join("alice.key").to_str().unwrap(),
        ]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request written");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("openssl s_client did not finish in 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_answers_curl_like_the_gateway_it_models_and_stops_on_sigterm() {
    if !support::require("curl") || !support::require("openssl") {
        return;
    }
    let fixture = PkiDir::generate();
    let pki = fixture.dir();

    let nginx = serve(&pki, "nginx");
    let (body, err) = curl(&nginx.url, &pki, false);
    assert!(body.ends_with("\n400"), "{body}{err}");
    assert!(
        body.contains("No required SSL certificate was sent"),
        "{body}"
    );
    let (body, err) = curl(&nginx.url, &pki, true);
    assert!(
        body.ends_with("\n200") && body.contains("authenticated"),
        "{body}{err}"
    );
    // openssl s_client gets the same answers as curl and the built-in clients.
    let out = s_client(&nginx.url, &pki, false);
    assert!(
        out.starts_with("HTTP/1.1 400") && out.contains("No required SSL certificate was sent"),
        "{out}"
    );
    let out = s_client(&nginx.url, &pki, true);
    assert!(
        out.starts_with("HTTP/1.1 200") && out.contains("authenticated"),
        "{out}"
    );
    drop(nginx);

    let iis = serve(&pki, "iis");
    let (body, _) = curl(&iis.url, &pki, false);
    assert!(
        body.ends_with("\n403") && body.contains("HTTP Error 403.7"),
        "{body}"
    );
    drop(iis);

    let mut layer7 = serve(&pki, "layer7");
    let (body, _) = curl(&layer7.url, &pki, false);
    assert!(
        body.ends_with("\n401") && body.contains("Authentication Required"),
        "{body}"
    );
    // SIGTERM stops it cleanly, with exit code 143 (128 + 15).
    let pid = layer7.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = layer7.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143));
}

const TARGET_SCENARIOS: &[(&str, &str)] = &[
    (
        "ext/no_cert.toml",
        "description = \"no certificate: nginx 400\"\n[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[server]\ncert = \"gw\"\ntrust = [\"root\"]\n[client]\ncerts = []\n[expect.gateway.nginx]\nhttp_status = 400\nbody_contains = \"No required SSL certificate was sent\"\n",
    ),
    (
        "ext/good_cert.toml",
        "description = \"alice from the PKI: 200\"\n[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[[pki.cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n[server]\ncert = \"gw\"\ntrust = [\"root\"]\n[client]\ncerts = [\"alice\"]\n[expect.gateway.nginx]\nhttp_status = 200\n",
    ),
];

#[test]
fn run_against_an_external_target_uses_its_pki_and_checks_it_first() {
    let fixture = PkiDir::generate();
    let pki = fixture.dir();
    let cat = catalog(TARGET_SCENARIOS);
    let served = serve(&pki, "nginx");
    let url = served.url.clone();

    let (code, stdout, stderr) = run(&[
        "run",
        cat.path().to_str().unwrap(),
        "--target",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--profile",
        "nginx",
        "--format",
        "json",
    ])
    .into_parts();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let text = json.to_string();
    assert!(
        text.contains("ext::no_cert") && text.contains("ext::good_cert"),
        "{text}"
    );
    assert!(!text.contains("\"FAIL\""), "{text}");

    // A PKI the target's certificate does not come from is refused up front.
    let other_pki = PkiDir::generate();
    let other = other_pki.dir();
    let (code, _, stderr) = run(&[
        "run",
        cat.path().to_str().unwrap(),
        "--target",
        &url,
        "--pki",
        other.to_str().unwrap(),
        "--profile",
        "nginx",
    ])
    .into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("does not verify") && stderr.contains("wrong --pki"),
        "{stderr}"
    );
    drop(served);

    // Nothing listening: a clear error naming the target.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = format!("https://{closed}");
    let (code, _, stderr) = run(&[
        "run",
        cat.path().to_str().unwrap(),
        "--target",
        &dead,
        "--pki",
        pki.to_str().unwrap(),
        "--profile",
        "nginx",
    ])
    .into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&dead), "{stderr}");
    // One profile, exactly.
    let (code, _, stderr) = run(&[
        "run",
        cat.path().to_str().unwrap(),
        "--target",
        &url,
        "--pki",
        pki.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("exactly one --profile"), "{stderr}");
}

#[test]
fn profile_and_gateway_names_come_from_the_registries() {
    use mtls_harness::gateway::ProfileKind;
    use mtls_harness::real::RealKind;
    let (code, _, stderr) = run(&["run", "--profile", "bogus"]).into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
    for kind in ProfileKind::ALL {
        assert!(stderr.contains(kind.name()), "{kind} not listed: {stderr}");
    }
    let (code, _, stderr) = run(&["run", "--gateway", "real:bogus"]).into_parts();
    assert_eq!(code, 2, "{stderr}");
    for kind in RealKind::ALL {
        assert!(
            stderr.contains(&kind.to_string()),
            "{kind} not listed: {stderr}"
        );
    }
    let (code, help, _) = run(&["run", "--help"]).into_parts();
    assert_eq!(code, 0);
    for kind in RealKind::ALL {
        assert!(
            help.contains(&kind.to_string()),
            "{kind} not in help: {help}"
        );
    }
}

#[test]
fn bench_rejects_bad_values_before_measuring() {
    let (code, _, stderr) = run(&["bench", "--duration", "5h"]).into_parts();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("5h") && stderr.contains("unit"), "{stderr}");
    let (code, _, stderr) = run(&["bench", "--trust-anchors", "1,0"]).into_parts();
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&["bench", "--format", "junit"]).into_parts();
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn bench_writes_points_with_ratios_against_the_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("bench.json");
    let (code, stdout, stderr) = run(&[
        "bench",
        "--trust-anchors",
        "1,20",
        "--duration",
        "200ms",
        "--concurrency",
        "2",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(json["baseline_trust_anchors"], 1, "{json}");
    let points = json["points"].as_array().expect("points");
    assert_eq!(points.len(), 2, "{json}");
    assert_eq!(points[0]["ratio_vs_baseline"], 1.0, "{json}");
    assert_eq!(points[1]["trust_anchors"], 20, "{json}");
    assert!(
        points[1]["stats"]["handshakes"].as_u64() > Some(0),
        "{json}"
    );
}

/// The issue's report: `openssl s_client -sess_in` resuming a TLS 1.2
/// session with `serve`. The record of the resumed connection says it was
/// resumed, that no certificate was asked for or sent on it, and the
/// gateway still serves the identity of the earlier handshake.
#[test]
fn serve_reports_a_resumed_session_as_resumed_with_no_certificate_exchanged() {
    if !support::require("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = PkiDir::generate();
    let pki = fixture.dir();
    let mut child = bin()
        .args(["serve", "--pki", pki.to_str().unwrap(), "--cert", "gw"])
        .args(["--trust", "root", "--profile", "nginx", "--tls", "1.2"])
        .args(["--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let served = Served {
        child,
        url: String::new(),
    };
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a line within 20 s")
    };
    let first = next();
    let port = first.rsplit(':').next().expect("port").to_string();
    let session = tmp.path().join("session.pem");
    let s_client = |session_flag: &str, with_cert: bool| {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args(["-tls1_2", "-ign_eof", "-CAfile"])
            .arg(pki.join("root.crt"))
            .arg(session_flag)
            .arg(&session);
        if with_cert {
            cmd.arg("-cert")
                .arg(pki.join("alice.crt"))
                .arg("-key")
                .arg(pki.join("alice.key"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin
                .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .expect("request");
        }
        let out = child.wait_with_output().expect("openssl output");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let full = s_client("-sess_out", true);
    assert!(full.contains("authenticated: CN=alice"), "{full}");
    let resumed = s_client("-sess_in", false);
    assert!(resumed.contains("Reused, TLSv1.2"), "{resumed}");
    assert!(resumed.contains("authenticated: CN=alice"), "{resumed}");
    let records: Vec<serde_json::Value> = (0..2)
        .map(|_| serde_json::from_str(&next()).expect("a JSON line"))
        .collect();
    assert_eq!(records[0]["resumed"], false, "{}", records[0]);
    assert_eq!(records[0]["certificate_requested"], true, "{}", records[0]);
    assert_eq!(
        records[0]["client_certificate_sent"], true,
        "{}",
        records[0]
    );
    assert_eq!(records[1]["resumed"], true, "{}", records[1]);
    assert_eq!(records[1]["certificate_requested"], false, "{}", records[1]);
    assert_eq!(
        records[1]["client_certificate_sent"], false,
        "{}",
        records[1]
    );
    assert_eq!(records[1]["http_status"], 200, "{}", records[1]);
    drop(served);
}

/// `ci/flake`'s comparison: two reports of the same catalog (the real run's
/// JSON) compare clean; a case whose outcome changed is printed, exit 1.
#[test]
fn the_flake_comparison_prints_cases_whose_outcome_changed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = |name: &str, extra: &str| {
        let path = tmp.path().join(name);
        let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let (code, _, stderr) = run(&[
            "run",
            catalog.to_str().unwrap(),
            "--filter",
            "seeds::001_*",
            "--format",
            "json",
            "--output",
            path.to_str().unwrap(),
        ])
        .into_parts();
        assert_eq!(code, 0, "{stderr}");
        if !extra.is_empty() {
            // The same run, but one case ended another way.
            let text = std::fs::read_to_string(&path).unwrap();
            let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
            json["results"][0]["observation"]["client_certificate_sent"] = serde_json::json!(!json
                ["results"][0]["observation"]["client_certificate_sent"]
                .as_bool()
                .unwrap());
            std::fs::write(&path, json.to_string()).unwrap();
        }
        path.to_str().unwrap().to_string()
    };
    let (a, b, c) = (
        report("a.json", ""),
        report("b.json", ""),
        report("c.json", "x"),
    );
    let (code, stdout, stderr) = run(&["__flake", &a, &b]).into_parts();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.ends_with("0 changed outcome\n"), "{stdout}");
    let (code, stdout, _) = run(&["__flake", &a, &b, &c]).into_parts();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("2 of 3 runs: PASS"), "{stdout}");
    assert!(stdout.ends_with("1 changed outcome\n"), "{stdout}");
}

/// A report written with `--output` is for others to read (a CI server
/// collecting JUnit, a colleague): it gets a plain file's mode (0644 under
/// umask 022), not the 0600 of the temp file it is written through.
#[test]
fn reports_are_written_with_a_plain_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("catalog");
    std::fs::create_dir(&dir).unwrap();
    let scenario = write(&dir, "good.toml", SCENARIO);
    let report = tmp.path().join("report.xml");
    let mut cmd = bin();
    cmd.args([
        "run",
        scenario.to_str().unwrap(),
        "--format",
        "junit",
        "--output",
        report.to_str().unwrap(),
    ]);
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let out = support::run_command(cmd, support::WALL);
    assert_eq!(out.code, 0, "{out:?}");
    let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "report mode {mode:o}");
}
