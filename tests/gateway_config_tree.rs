//! `run --gateway-config FILE` on configuration trees written the way teams
//! write them (issue 22): includes followed, a redirect listener beside the
//! TLS one, IPv6 listeners, upstreams that do not exist here served by the
//! harness's origin, users and paths of another machine. Each runs without
//! a hand edit, fails nothing the same config fails nowhere else, and
//! writes nothing outside the run's directories.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::run_bin;

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `(passed, failed, skipped)` of a JSON report.
fn counts(stdout: &str) -> (usize, usize, usize) {
    let json: Value = serde_json::from_str(stdout).expect("JSON report");
    let mut c = (0, 0, 0);
    for r in json["results"].as_array().expect("results") {
        match r["verdict"].as_str().unwrap_or_default() {
            "PASS" => c.0 += 1,
            "SKIP" => c.2 += 1,
            _ => c.1 += 1,
        }
    }
    c
}

/// What exists of `paths` now.
fn existing(paths: &[&str]) -> Vec<PathBuf> {
    paths
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect()
}

/// The run failed nothing, passed some cases, reported each of `said`, and
/// left the machine as `before` (watched paths) and `usual` (listings) were.
fn assert_ran_as_written(
    ran: &support::Ran,
    said: &[&str],
    watched: &[&str],
    before: &[PathBuf],
    usual: &[String],
) {
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let (passed, failed, _) = counts(&ran.stdout);
    assert_eq!(failed, 0, "{}", ran.stderr);
    assert!(passed >= 10, "{passed} passed: {}", ran.stderr);
    for said in said {
        assert!(ran.stderr.contains(said), "`{said}` in: {}", ran.stderr);
    }
    assert_eq!(existing(watched), before, "nothing written outside the run");
    assert_eq!(
        support::usual_directories(),
        usual,
        "the programs' usual directories are as they were"
    );
}

/// Run the catalog's validity and seed cases on `main`, `isolate` being
/// `rewrite` or `namespace`.
/// Whether this machine runs configurations in namespaces (root): said
/// loudly when not, and a failure under CI, which runs as root.
fn namespaces() -> bool {
    if support::expected_way() == "namespace" {
        return true;
    }
    assert!(
        !support::in_ci(),
        "CI runs as root with unshare, nsenter and ip"
    );
    eprintln!("SKIP: the namespace way needs root here");
    false
}

fn run_tree(main: &Path, gateway: &str, isolate: &str) -> support::Ran {
    run_bin(
        &[
            "run",
            CATALOG,
            "--gateway-config",
            &main.display().to_string(),
            "--gateway",
            gateway,
            "--isolate",
            isolate,
            "--format",
            "json",
            "--concurrency",
            "4",
            "--filter",
            "validity::*",
            "--filter",
            "seeds::*",
        ],
        Duration::from_secs(240),
    )
}

#[test]
fn an_nginx_tree_with_includes_a_redirect_listener_and_an_upstream_runs_as_written() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc-nginx");
    write(
        &etc,
        "nginx.conf",
        "user nginx-user-of-another-machine;\nworker_processes 1;\npid /run/nginx-tree-test.pid;\nevents { worker_connections 64; }\nhttp {\n  access_log /var/log/nginx/tree-test.access.log;\n  include /etc/nginx/conf.d/*.conf;\n}\n",
    );
    write(
        &etc,
        "conf.d/site.conf",
        r#"server {
  listen 80;
  listen [::]:80;
  return 301 https://$host$request_uri;
}
server {
  listen 443 ssl;
  listen [::]:443 ssl;
  server_name app.example.org;
  ssl_certificate /etc/letsencrypt/live/app.example.org/fullchain.pem;
  ssl_certificate_key /etc/letsencrypt/live/app.example.org/privkey.pem;
  include snippets/mtls-client.conf;
  location / {
    proxy_pass http://app-backend.internal:8080;
    proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
  }
}
"#,
    );
    write(
        &etc,
        "snippets/mtls-client.conf",
        "ssl_client_certificate /etc/nginx/ca/clients.pem;\nssl_crl /etc/nginx/ca/clients.crl;\nssl_verify_client on;\nssl_protocols TLSv1.2 TLSv1.3;\n",
    );
    let watched = [
        "/var/log/nginx/tree-test.access.log",
        "/run/nginx-tree-test.pid",
    ];
    let before = existing(&watched);
    let usual = support::usual_directories();
    // The whole tree was read and each change reported where it was made.
    let ran = run_tree(&etc.join("nginx.conf"), "real:nginx", "rewrite");
    let said = [
        "snippets/mtls-client.conf:1:",
        "conf.d/site.conf:14: `proxy_pass http://app-backend.internal:8080;` -> `proxy_pass http://127.0.0.1:",
        "listener 80 ->",
        "listener 443 -> 127.0.0.1:",
        "(TLS: the catalog runs here)",
        "# user nginx-user-of-another-machine;",
    ];
    assert_ran_as_written(&ran, &said, &watched, &before, &usual);
    // In namespaces: addresses, the PKI's paths and the upstream as written.
    if namespaces() {
        let ran = run_tree(&etc.join("nginx.conf"), "real:nginx", "namespace");
        let said = [
            "listener 80 -> 127.0.0.1:80 inside",
            "listener [::]:80 -> [::1]:80 inside",
            "listener 443 -> 127.0.0.1:443 inside, reached at 127.0.0.1:",
            "/etc/letsencrypt/live/app.example.org/fullchain.pem is bind-mounted onto the harness's gw.chain.pem",
            "/etc/nginx/ca/clients.crl is bind-mounted onto the harness's root.crl",
            "upstreams served as written by the harness's origin, inside: app-backend.internal:8080",
            "# user nginx-user-of-another-machine;",
            "the configuration runs in network and mount namespaces of its own",
        ];
        assert_ran_as_written(&ran, &said, &watched, &before, &usual);
        assert!(!ran.stderr.contains("`proxy_pass"), "{}", ran.stderr);
    }
}

#[test]
fn an_haproxy_config_with_a_plain_bind_a_backend_chroot_and_stats_socket_runs_as_written() {
    if !support::require("haproxy") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc-haproxy");
    write(
        &etc,
        "haproxy.cfg",
        r#"global
    log /dev/log local0
    chroot /var/lib/haproxy-tree-test
    stats socket /run/haproxy-tree-test/admin.sock mode 660 level admin
    user haproxy-user-of-another-machine
    pidfile /run/haproxy-tree-test.pid
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend www
    bind *:8080
    http-request redirect scheme https
frontend mtls
    bind *:8443 ssl crt /etc/haproxy/certs/site.pem ca-file /etc/haproxy/ca/clients.pem crl-file /etc/haproxy/ca/clients.crl verify required ssl-min-ver TLSv1.2
    http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]
    default_backend app
backend app
    server app1 10.0.12.21:8080 check
"#,
    );
    let watched = [
        "/run/haproxy-tree-test/admin.sock",
        "/run/haproxy-tree-test",
        "/run/haproxy-tree-test.pid",
        "/var/lib/haproxy-tree-test",
    ];
    let before = existing(&watched);
    let usual = support::usual_directories();
    let ran = run_tree(&etc.join("haproxy.cfg"), "real:haproxy", "rewrite");
    let said = [
        "listener *:8080 ->",
        "listener *:8443 -> 127.0.0.1:",
        "server app1 127.0.0.1:",
        "# chroot /var/lib/haproxy-tree-test",
    ];
    assert_ran_as_written(&ran, &said, &watched, &before, &usual);
    // In namespaces the chroot, the socket and the pid file are kept, on the
    // private tmpfs.
    if namespaces() {
        let ran = run_tree(&etc.join("haproxy.cfg"), "real:haproxy", "namespace");
        let said = [
            "listener *:8080 -> 127.0.0.1:8080 inside",
            "listener *:8443 -> 127.0.0.1:8443 inside, reached at 127.0.0.1:",
            "upstreams served as written by the harness's origin, inside: 10.0.12.21:8080",
            "# user haproxy-user-of-another-machine",
        ];
        assert_ran_as_written(&ran, &said, &watched, &before, &usual);
        assert!(!ran.stderr.contains("# chroot"), "{}", ran.stderr);
    }
}

/// `--target https://host:port/admin/` asks for `/admin/`, not `/`.
#[test]
fn a_target_url_keeps_its_path() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc-nginx");
    write(
        &etc,
        "nginx.conf",
        r#"worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 443 ssl;
    ssl_certificate /etc/nginx/tls/gw.pem;
    ssl_certificate_key /etc/nginx/tls/gw.key;
    ssl_client_certificate /etc/nginx/tls/ca.pem;
    ssl_verify_client on;
    location = / { return 404; }
    location /admin/ { return 200 "admin\n"; }
  }
}
"#,
    );
    // The same config through --gateway-config asks for `/`: nginx's 404.
    let ran = run_tree(&etc.join("nginx.conf"), "real:nginx", "auto");
    assert_eq!(ran.code, 1, "GET / is answered 404: {}", ran.stderr);
    // Started by hand at the URL with the path.
    let kit = tmp.path().join("kit");
    let made = run_bin(
        &["target-kit", "--out", &kit.display().to_string()],
        Duration::from_secs(30),
    );
    assert_eq!(made.code, 0, "{made:?}");
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = tmp.path().join("by-hand.conf");
    let text = std::fs::read_to_string(etc.join("nginx.conf"))
        .unwrap()
        .replace("listen 443 ssl", &format!("listen 127.0.0.1:{port} ssl"))
        .replace(
            "/etc/nginx/tls/gw.pem",
            &kit.join("gw.chain.pem").display().to_string(),
        )
        .replace(
            "/etc/nginx/tls/gw.key",
            &kit.join("gw.key").display().to_string(),
        )
        .replace(
            "/etc/nginx/tls/ca.pem",
            &kit.join("root.crt").display().to_string(),
        )
        .replace(
            "worker_processes 1;",
            &format!(
                "worker_processes 1;\npid {}/nginx.pid;\nerror_log stderr;",
                run.display()
            ),
        );
    std::fs::write(&conf, text).unwrap();
    let mut cmd = std::process::Command::new(support::find_program("nginx").unwrap());
    cmd.arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(&run)
        .args(["-e", "stderr", "-g", "daemon off;"]);
    let _nginx = support::Child::spawn(cmd);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nginx did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ran = run_bin(
        &[
            "run",
            CATALOG,
            "--target",
            &format!("https://127.0.0.1:{port}/admin/"),
            "--pki",
            &kit.display().to_string(),
            "--profile",
            "nginx",
            "--format",
            "json",
            "--filter",
            "validity::*",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let (passed, failed, _) = counts(&ran.stdout);
    assert_eq!(failed, 0);
    assert!(passed >= 5, "{passed}");
}

/// An allow-list decided after the handshake (a `map` on the subject and an
/// `if`): the report says the configuration refused the harness's subject,
/// never that the target does not trust the root, and claims nothing about
/// a CRL it could not tell.
#[test]
fn a_refusal_after_the_handshake_is_the_configs_own_decision() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc-nginx");
    write(
        &etc,
        "nginx.conf",
        r#"worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  map $ssl_client_s_dn $allowed_client {
    default 0;
    "CN=ops-laptop-17,OU=SRE,O=Example Corp,C=DE" 1;
  }
  server {
    listen 443 ssl;
    ssl_certificate /etc/nginx/tls/gw.pem;
    ssl_certificate_key /etc/nginx/tls/gw.key;
    ssl_client_certificate /etc/nginx/tls/ca.pem;
    ssl_verify_client optional;
    location / {
      if ($ssl_client_verify != SUCCESS) { return 403; }
      if ($allowed_client = 0) { return 403; }
      return 200 "hello\n";
    }
  }
}
"#,
    );
    let ran = run_bin(
        &[
            "run",
            CATALOG,
            "--gateway-config",
            &etc.join("nginx.conf").display().to_string(),
            "--gateway",
            "real:nginx",
            "--filter",
            "validity::*",
        ],
        Duration::from_secs(120),
    );
    let out = format!("{}\n{}", ran.stdout, ran.stderr);
    assert!(
        out.contains("valid certificates are refused after the handshake (http 403"),
        "{out}"
    );
    assert!(out.contains("the configuration itself refused it"), "{out}");
    assert!(!out.contains("does not trust the root"), "{out}");
    assert!(!out.contains(": loaded ("), "{out}");
}

/// A configuration the program refuses: the error quotes the program with
/// the user's own file and line, not the rewritten copy's.
#[test]
fn a_startup_error_names_the_users_own_file_and_line() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc-nginx");
    write(
        &etc,
        "nginx.conf",
        "events {}\nhttp {\n  include /etc/nginx/sites-enabled/*;\n}\n",
    );
    write(
        &etc,
        "sites-enabled/app",
        "server {\n  listen 443 ssl;\n  ssl_certificate /x.pem;\n  ssl_certificate_key /x.key;\n  ssl_verify_clinet on;\n}\n",
    );
    let ran = run_bin(
        &[
            "run",
            CATALOG,
            "--gateway-config",
            &etc.join("nginx.conf").display().to_string(),
            "--gateway",
            "real:nginx",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let users_line = format!("{}:5", etc.join("sites-enabled/app").display());
    assert!(
        ran.stderr
            .contains("unknown directive \"ssl_verify_clinet\"")
            && ran.stderr.contains(&users_line),
        "`{users_line}` in: {}",
        ran.stderr
    );
}

/// `--mode optional`: the configuration is judged by the optional mode's
/// scenarios, the default mode's are not run (and say why); without it the
/// secure default's cases judge it and fail.
#[test]
fn a_declared_mode_judges_the_config_by_that_modes_scenarios() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc-nginx");
    write(
        &etc,
        "nginx.conf",
        r#"worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 443 ssl;
    ssl_certificate /etc/nginx/tls/gw.pem;
    ssl_certificate_key /etc/nginx/tls/gw.key;
    ssl_client_certificate /etc/nginx/tls/ca.pem;
    ssl_verify_client optional;
    location / { return 200 "hello $ssl_client_verify\n"; }
  }
}
"#,
    );
    let conf = etc.join("nginx.conf").display().to_string();
    let base = [
        "run",
        CATALOG,
        "--gateway-config",
        &conf,
        "--gateway",
        "real:nginx",
    ];
    let with_mode: Vec<&str> = base.iter().copied().chain(["--mode", "optional"]).collect();
    let ran = run_bin(&with_mode, Duration::from_secs(120));
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("modes::nginx_optional_no_certificate_200"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("needs nginx mode `on`; the target is configured `optional` (--mode)"),
        "{}",
        ran.stdout
    );
    let ran = run_bin(&base, Duration::from_secs(120));
    assert_eq!(ran.code, 1, "the default mode's cases fail: {}", ran.stdout);
    let bad: Vec<&str> = base.iter().copied().chain(["--mode", "nope"]).collect();
    let ran = run_bin(&bad, Duration::from_secs(60));
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(
            "--mode nope: not a mode of the nginx profile (one of: on, optional, optional_no_ca)"
        ),
        "{}",
        ran.stderr
    );
}
