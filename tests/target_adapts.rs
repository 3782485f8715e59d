//! `run --target` against a real nginx configured by hand (not by the
//! harness's renderer), with the PKI `target-kit` writes: the correct
//! configuration passes every applicable scenario and skips the rest with
//! reasons; each misconfiguration (optional_no_ca, the CRL not loaded,
//! another CA trusted) fails exactly on the behaviour it changes, and the
//! verdict lines name it.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{run_bin, Child};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The configuration a user writes by hand from the kit's lines; `variant`
/// changes one thing.
fn nginx_conf(dir: &Path, kit: &Path, port: u16, variant: Variant) -> String {
    let k = |f: &str| kit.join(f).display().to_string();
    let d = dir.display();
    let verify = match variant {
        Variant::OptionalNoCa => "optional_no_ca",
        _ => "on",
    };
    let ca = match variant {
        Variant::OtherCa => k("other-root.crt"),
        _ => k("root.crt"),
    };
    let crl = match variant {
        Variant::NoCrl => String::new(),
        _ => format!("ssl_crl {};", k("root.crl")),
    };
    format!(
        r#"worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log stderr;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d};
  proxy_temp_path {d};
  fastcgi_temp_path {d};
  uwsgi_temp_path {d};
  scgi_temp_path {d};
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {gw};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_verify_client {verify};
    ssl_client_certificate {ca};
    {crl}
    location / {{ return 200 "hello $ssl_client_s_dn\n"; }}
  }}
}}
"#,
        gw = k("gw.chain.pem"),
        key = k("gw.key"),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Correct,
    OptionalNoCa,
    NoCrl,
    OtherCa,
}

/// What one run against one configuration gave.
struct Outcome {
    passed: usize,
    failed: Vec<(String, String, Value)>,
    skipped: Vec<(String, String)>,
    /// Behaviours whose verdict is a mismatch, with their lines.
    mismatched: Vec<(String, String)>,
    json: Value,
}

fn run_against(kit: &Path, variant: Variant) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), kit, port, variant)).expect("conf written");
    let mut cmd = Command::new(support::find_program("nginx").expect("installed"));
    cmd.arg("-c").arg(&conf).arg("-p").arg(dir.path());
    let _nginx = Child::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
        .is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://127.0.0.1:{port}");
    let kit_s = kit.display().to_string();
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let ran = run_bin(
        &[
            "run",
            catalog,
            "--target",
            &url,
            "--pki",
            &kit_s,
            "--profile",
            "nginx",
            "--format",
            "json",
            "--timeout",
            "5",
            "--concurrency",
            "4",
        ],
        Duration::from_secs(180),
    );
    assert!(
        ran.code == 0 || ran.code == 1,
        "{variant:?}: exit {}: {}",
        ran.code,
        ran.stderr
    );
    let json: Value = serde_json::from_str(&ran.stdout).expect("JSON report");
    let mut out = Outcome {
        passed: 0,
        failed: Vec::new(),
        skipped: Vec::new(),
        mismatched: Vec::new(),
        json: json.clone(),
    };
    for r in json["results"].as_array().expect("results") {
        let id = r["scenario"].as_str().unwrap_or_default().to_string();
        let tls = r["tls"].as_str().unwrap_or_default().to_string();
        match r["verdict"].as_str() {
            Some("PASS") => out.passed += 1,
            Some("SKIP") => {
                let reason = r["reason"].as_str().unwrap_or_default().to_string();
                out.skipped.push((id, reason));
            }
            _ => out.failed.push((id, tls, r.clone())),
        }
    }
    for b in json["behaviours"].as_array().expect("behaviours") {
        if b["matches"] == Value::Bool(false) {
            out.mismatched.push((
                b["behaviour"].as_str().unwrap_or_default().to_string(),
                b["line"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    eprintln!(
        "{variant:?}: {} passed, {} failed, {} skipped; mismatched: {:?}",
        out.passed,
        out.failed.len(),
        out.skipped.len(),
        out.mismatched
    );
    out
}

fn mismatched_names(o: &Outcome) -> BTreeSet<&str> {
    o.mismatched.iter().map(|(b, _)| b.as_str()).collect()
}

fn served(case: &Value) -> bool {
    case["observation"]["http"]["status"]
        .as_u64()
        .is_some_and(|s| (200..300).contains(&s))
}

fn describe(failed: &[(String, String, Value)]) -> Vec<String> {
    failed
        .iter()
        .map(|(id, tls, c)| format!("{id} TLS {tls}: {}", c["outcome"]))
        .collect()
}

#[test]
fn hand_written_nginx_passes_and_each_misconfiguration_fails_where_it_changes() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let kit = tmp.path().join("kit");
    let made = run_bin(
        &[
            "target-kit",
            "--out",
            &kit.display().to_string(),
            "--for",
            "nginx",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(made.code, 0, "{made:?}");
    assert!(
        made.stdout.contains("ssl_verify_client on;"),
        "{}",
        made.stdout
    );
    assert!(
        kit.join("root.crl").exists(),
        "the kit writes the root's CRL"
    );

    // Correctly configured: nothing fails; what does not apply is skipped
    // with the exact mismatch.
    let good = run_against(&kit, Variant::Correct);
    assert!(good.failed.is_empty(), "{:#?}", describe(&good.failed));
    assert!(good.passed >= 30, "only {} passed", good.passed);
    assert!(good.mismatched.is_empty(), "{:?}", good.mismatched);
    assert!(good.skipped.iter().all(|(_, r)| !r.is_empty()));
    assert!(
        good.skipped.iter().any(
            |(id, r)| id == "ca_names::empty_list_match_issuer_sends_nothing"
                && r == "needs CA names = an empty list; the target sends 1 name: CN=root"
        ),
        "{:#?}",
        good.skipped
    );
    // The defects are on the wire: the expired case sent a certificate that
    // is expired, and was refused for it.
    let ok_lines: Vec<_> = good.json["behaviours"]
        .as_array()
        .expect("behaviours")
        .iter()
        .filter(|b| b["matches"] == Value::Bool(true))
        .map(|b| b["behaviour"].as_str().unwrap_or_default().to_string())
        .collect();
    for b in [
        "valid certificate",
        "no certificate",
        "expired",
        "untrusted",
        "revoked",
        "wrong EKU",
        "CA names",
    ] {
        assert!(
            ok_lines.iter().any(|l| l == b),
            "{b} not judged ok: {ok_lines:?}"
        );
    }

    // optional_no_ca: a client without a certificate, and one of any CA,
    // are served; nothing else changes.
    let optional = run_against(&kit, Variant::OptionalNoCa);
    assert_eq!(
        mismatched_names(&optional),
        BTreeSet::from(["no certificate", "untrusted"]),
        "{:?}",
        optional.mismatched
    );
    assert!(!optional.failed.is_empty());
    for (id, tls, case) in &optional.failed {
        assert!(
            served(case),
            "{id} TLS {tls} failed but was not served: {case}"
        );
    }
    assert!(
        optional.json["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(
                |r| r["scenario"] == "modes::nginx_optional_no_ca_untrusted_200"
                    && r["verdict"] == "PASS"
            ),
        "the optional_no_ca scenarios run and pass on an optional_no_ca target"
    );

    // The CRL not loaded: only the revoked certificate is served.
    let no_crl = run_against(&kit, Variant::NoCrl);
    assert_eq!(mismatched_names(&no_crl), BTreeSet::from(["revoked"]));
    assert!(
        no_crl.mismatched[0]
            .1
            .starts_with("revoked certificates are accepted: no CRL loaded"),
        "{}",
        no_crl.mismatched[0].1
    );
    let ids: BTreeSet<_> = no_crl.failed.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["revocation::revoked_leaf"]),
        "{:#?}",
        describe(&no_crl.failed)
    );

    // ssl_client_certificate naming another CA: valid certificates are
    // refused and the CA names are not the root's.
    let other = run_against(&kit, Variant::OtherCa);
    assert_eq!(
        mismatched_names(&other),
        BTreeSet::from(["valid certificate", "CA names"]),
        "{:?}",
        other.mismatched
    );
    for (id, tls, case) in &other.failed {
        let expected_success = case["diffs"].as_array().is_some_and(|d| {
            d.iter()
                .any(|d| d["field"] == "http_status" && d["expected"] == "200")
        });
        // A browser without automatic selection shows its picker only when
        // the CA names list its issuer: with another CA named it sends
        // nothing, the CA-names behaviour that changed.
        let expected_picker = case["diffs"].as_array().is_some_and(|d| {
            d.iter()
                .any(|d| d["field"] == "client_error" && d["expected"] == "CERTIFICATE_PICKER")
        }) && case["observation"]["client_certificate_sent"] == false;
        assert!(
            (expected_success || expected_picker) && !served(case),
            "{id} TLS {tls}: only valid certificates and CA-name selection should change: {case}"
        );
    }
}

/// The README's "Testing your own gateway" walk-through, as written (its
/// nginx.conf block run by bash, port aside): nothing fails.
#[test]
fn readme_walk_through_works_as_written() {
    if !support::require("nginx") {
        return;
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let block = readme
        .split("<!-- own-gateway-nginx:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- own-gateway-nginx:end -->").next())
        .expect("the README marks its nginx.conf block");
    let port = free_port().to_string();
    let script: String = block
        .lines()
        .map(|l| l.strip_prefix("   ").unwrap_or(l))
        .filter(|l| !l.starts_with("```"))
        .map(|l| l.replace("8443", &port) + "\n")
        .collect();
    assert!(readme.contains("mtls-harness target-kit --out kit --for nginx --port 8443"));
    assert!(readme
        .contains("mtls-harness run --target https://localhost:8443 --pki kit --profile nginx"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let kit = tmp.path().join("kit");
    let made = run_bin(
        &[
            "target-kit",
            "--out",
            &kit.display().to_string(),
            "--for",
            "nginx",
            "--port",
            &port,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(made.code, 0, "{made:?}");
    let wrote = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(tmp.path())
        .env("PWD", tmp.path())
        .output()
        .expect("bash runs");
    assert!(wrote.status.success(), "{wrote:?}");
    // The example writes nothing on the machine (nginx's compiled-in
    // access log is /var/log/nginx/access.log).
    let machine_log = || {
        std::fs::metadata("/var/log/nginx/access.log")
            .map(|m| m.len())
            .ok()
    };
    let log_before = machine_log();
    let mut cmd = Command::new(support::find_program("nginx").expect("installed"));
    cmd.arg("-c")
        .arg(tmp.path().join("nginx.conf"))
        .arg("-p")
        .arg(tmp.path());
    let _nginx = Child::spawn(cmd);
    let port_n: u16 = port.parse().expect("port");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&([127, 0, 0, 1], port_n).into(), Duration::from_secs(1))
        .is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://localhost:{port}");
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let ran = run_bin(
        &[
            "run",
            catalog,
            "--target",
            &url,
            "--pki",
            &kit.display().to_string(),
            "--profile",
            "nginx",
        ],
        Duration::from_secs(180),
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains(" 0 failed"), "{}", ran.stdout);
    assert!(ran.stdout.contains("ok        revoked:"), "{}", ran.stdout);
    assert!(
        tmp.path().join("access.log").is_file(),
        "the example logs into its own directory"
    );
    assert_eq!(
        machine_log(),
        log_before,
        "/var/log/nginx/access.log untouched"
    );
}
