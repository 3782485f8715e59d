//! `run --gateway-config FILE --gateway real:X` on hand-written nginx and
//! HAProxy files gives the same verdicts, case for case, as `run --target`
//! against the same program started by hand with the same file pointed at a
//! `target-kit` PKI.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{run_bin, Child};

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A hand-written config; `{port}`, `{kit}` and `{run}` are filled in.
fn nginx_file() -> &'static str {
    r#"worker_processes 1;
pid {run}/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path {run};
  server {
    listen {port} ssl;
    ssl_certificate {kit}/gw.chain.pem;
    ssl_certificate_key {kit}/gw.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_verify_client on;
    ssl_client_certificate {kit}/root.crt;
    ssl_crl {kit}/root.crl;
    location / { return 200 "hello $ssl_client_s_dn\n"; }
  }
}
"#
}

fn haproxy_file() -> &'static str {
    r#"global
    pidfile {run}/haproxy.pid
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend gw
    bind {port} ssl crt {kit}/gw.pem ca-file {kit}/root.crt crl-file {kit}/root.crl verify required ssl-min-ver TLSv1.2
    http-request return status 200 content-type text/plain string "hello"
"#
}

fn apache_file() -> &'static str {
    r#"ServerRoot "{run}"
ServerName localhost
PidFile "{run}/apache.pid"
DefaultRuntimeDir "{run}"
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
DirectoryIndex index.html
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
ErrorLog "{run}/error.log"
SSLSessionCache none
Listen {port} https
DocumentRoot "{www}"
<Directory "{www}">
  Require all granted
</Directory>
<VirtualHost {vhost}>
  ServerName localhost
  SSLEngine on
  SSLProtocol -all +TLSv1.2 +TLSv1.3
  SSLCertificateFile "{kit}/gw.chain.pem"
  SSLCertificateKeyFile "{kit}/gw.key"
  SSLVerifyClient require
  SSLVerifyDepth 3
  SSLCACertificateFile "{kit}/root.crt"
  SSLCARevocationFile "{kit}/root.crl"
  SSLCARevocationCheck leaf
</VirtualHost>
"#
}

fn fill(template: &str, port: &str, kit: &Path, run: &Path) -> String {
    let vhost = if port.contains(':') {
        port.to_string()
    } else {
        format!("*:{port}")
    };
    template
        .replace("{vhost}", &vhost)
        .replace("{port}", port)
        .replace("{kit}", &kit.display().to_string())
        .replace("{run}", &run.display().to_string())
}

/// `(scenario, tls) -> verdict` of a JSON report, and the counts.
fn verdicts(stdout: &str) -> (BTreeMap<(String, String), String>, [usize; 3]) {
    let json: Value = serde_json::from_str(stdout).expect("JSON report");
    let mut out = BTreeMap::new();
    let mut counts = [0; 3];
    for r in json["results"].as_array().expect("results") {
        let v = r["verdict"].as_str().unwrap_or_default().to_string();
        match v.as_str() {
            "PASS" => counts[0] += 1,
            "SKIP" => counts[2] += 1,
            _ => counts[1] += 1,
        }
        out.insert(
            (
                r["scenario"].as_str().unwrap_or_default().to_string(),
                r["tls"].as_str().unwrap_or_default().to_string(),
            ),
            v,
        );
    }
    (out, counts)
}

fn same_results(program: &str, gateway: &str, profile: &str, template: &str, command: &[&str]) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let kit = tmp.path().join("kit");
    let made = run_bin(
        &["target-kit", "--out", &kit.display().to_string()],
        Duration::from_secs(30),
    );
    assert_eq!(made.code, 0, "{made:?}");
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).expect("run dir");
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).expect("www dir");
    std::fs::write(www.join("index.html"), "hello\n").expect("page");
    let template = template.replace("{www}", &www.display().to_string());
    let template = template.as_str();

    // By hand: the file with the kit's paths, started by the test.
    let port = free_port();
    let by_hand = tmp.path().join(format!("{program}.conf"));
    let addr = format!("127.0.0.1:{port}");
    std::fs::write(&by_hand, fill(template, &addr, &kit, &run)).expect("config");
    let mut cmd = Command::new(support::find_program(program).expect("installed"));
    for a in command {
        cmd.arg(
            a.replace("{conf}", &by_hand.display().to_string())
                .replace("{run}", &run.display().to_string()),
        );
    }
    let child = Child::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "{program} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("https://{addr}");
    let target = run_bin(
        &[
            "run",
            CATALOG,
            "--target",
            &url,
            "--pki",
            &kit.display().to_string(),
            "--profile",
            profile,
            "--format",
            "json",
            "--concurrency",
            "4",
        ],
        Duration::from_secs(180),
    );
    drop(child);
    assert_eq!(
        target.code,
        0,
        "{}\nfailed cases: {:#?}",
        target.stderr,
        failed_cases(&target.stdout)
    );

    // The user's file as it sits in their repository: other paths, another
    // port; the harness rewrites them. Its run directory is one this test
    // names and nothing creates (the program would, at start, were a path
    // left unrewritten): a sibling of the test's own temporary directory.
    let their_run = tmp.path().with_extension(format!("{program}-their-run"));
    assert!(!their_run.exists(), "{} is new", their_run.display());
    let theirs = tmp.path().join(format!("theirs-{program}.conf"));
    std::fs::write(
        &theirs,
        // HAProxy's `bind` takes `[addr]:port`; nginx and Apache a bare port.
        fill(
            template,
            if program == "haproxy" { ":443" } else { "443" },
            Path::new("/etc/gateway/tls"),
            &their_run,
        ),
    )
    .expect("config");
    let own = run_bin(
        &[
            "run",
            CATALOG,
            "--gateway-config",
            &theirs.display().to_string(),
            "--gateway",
            gateway,
            "--format",
            "json",
            "--concurrency",
            "4",
        ],
        Duration::from_secs(180),
    );
    assert_eq!(own.code, 0, "{}", own.stderr);
    // Every path the program creates at start (nginx's temp directories,
    // Apache's ServerRoot, logs) was rewritten into the run's directory:
    // nothing of the user's own paths appears on the machine.
    if their_run.exists() {
        let _ = std::fs::remove_dir_all(&their_run);
        panic!(
            "{program} created the user's {} on the machine: {}",
            their_run.display(),
            own.stderr
        );
    }
    for d in ["/etc/gateway/tls/root.crt", "/etc/gateway/tls/root.crl"] {
        assert!(
            own.stderr.contains(d),
            "the rewrite of {d} is reported: {}",
            own.stderr
        );
    }
    let (a, counts_a) = verdicts(&target.stdout);
    let (b, counts_b) = verdicts(&own.stdout);
    eprintln!("{program}: --target {counts_a:?}, --gateway-config {counts_b:?} (pass, fail, skip)");
    assert_eq!(counts_a[1], 0, "{program} by hand fails nothing");
    assert!(counts_a[0] >= 30);
    assert_eq!(a, b, "{program}: --gateway-config differs from --target");
}

#[test]
fn nginx_own_config_matches_the_same_nginx_as_a_target() {
    if !support::require("nginx") {
        return;
    }
    same_results(
        "nginx",
        "real:nginx",
        "nginx",
        nginx_file(),
        &["-c", "{conf}", "-p", "{run}", "-g", "daemon off;"],
    );
}

#[test]
fn haproxy_own_config_matches_the_same_haproxy_as_a_target() {
    if !support::require("haproxy") {
        return;
    }
    same_results(
        "haproxy",
        "real:haproxy",
        "haproxy",
        haproxy_file(),
        &["-f", "{conf}", "-db"],
    );
}

#[test]
fn apache_own_config_matches_the_same_apache_as_a_target() {
    if !support::require("apache2") {
        return;
    }
    same_results(
        "apache2",
        "real:apache",
        "apache",
        apache_file(),
        &["-f", "{conf}", "-DFOREGROUND"],
    );
}

/// The cases of a JSON report whose verdict is neither PASS nor SKIP, for the
/// message of a failed assertion.
fn failed_cases(report: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(verdict) = map.get("verdict") {
                    let text = verdict.to_string();
                    if !text.contains("PASS") && !text.contains("SKIP") {
                        let mut line = v.to_string();
                        line.truncate(600);
                        out.push(line);
                    }
                    return;
                }
                map.values().for_each(|x| walk(x, out));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(report) {
        walk(&v, &mut out);
    }
    out
}
