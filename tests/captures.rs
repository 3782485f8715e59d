//! Captures open in tshark (Debian's `tshark`, installed by `ci/test`) with
//! no set-up: the pcapng's Decryption Secrets Block is what lets tshark read
//! the TLS 1.3 CertificateRequest and the client's Certificate. Each test
//! needs tshark; without it a test is skipped loudly, and under CI fails
//! (`support::require`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::target::{serve, PkiDir};

/// The tshark binary, or `None` after the skip policy's `SKIP` line (a
/// failure under CI).
fn tshark() -> Option<PathBuf> {
    support::require("tshark")
        .then(|| support::find_program("tshark"))
        .flatten()
}

/// `tshark -r file <args>`: stdout, failing the test on an error.
fn run_tshark(bin: &Path, file: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("-r")
        .arg(file)
        // No user profile or preferences: what a fresh install shows.
        .env("WIRESHARK_CONFIG_DIR", std::env::temp_dir())
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `mtls-harness run <args> --capture DIR --format json`: the JSON report.
fn run_with_capture(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut cmd = support::command();
    cmd.arg("run")
        .args(args)
        .arg("--capture")
        .arg(dir)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let out = support::run_command(cmd, support::WALL);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("JSON report")
}

/// The value of `attr` (tshark's `id-at-commonName`, our `CN`) in a name.
fn common_name<'a>(name: &'a str, attr: &str) -> Option<&'a str> {
    let start = name.find(&format!("{attr}="))? + attr.len() + 1;
    let rest = &name[start..];
    let end = rest.find([',', ')']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The pcapng without its Decryption Secrets Blocks (type 0x0a).
fn without_secrets(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut dropped = 0;
    while rest.len() >= 12 {
        let kind = u32::from_le_bytes(rest[..4].try_into().expect("4"));
        let len = u32::from_le_bytes(rest[4..8].try_into().expect("4")) as usize;
        if kind == 0x0a {
            dropped += 1;
        } else {
            out.extend_from_slice(&rest[..len]);
        }
        rest = &rest[len..];
    }
    assert_eq!(dropped, 1, "one Decryption Secrets Block");
    out
}

#[test]
fn seed_003_tls13_capture_shows_the_truncated_names_and_the_empty_certificate() {
    let Some(tshark) = tshark() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let id = "seeds::003_iis_405_roots_truncated_client_root_last";
    let report = run_with_capture(dir.path(), &["--filter", id, "--tls", "1.3"]);
    let case = &report["results"][0];
    assert_eq!(case["verdict"], "PASS");
    let file = PathBuf::from(
        case["capture"]
            .as_str()
            .expect("the report names the capture"),
    );
    assert!(file.starts_with(dir.path()));
    let seen = &case["observation"]["ca_names"];
    let subjects: Vec<&str> = seen["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .map(|s| s.as_str().expect("str"))
        .collect();
    assert_eq!(seen["truncated"], true, "seed 003: IIS cut the list");

    // The CertificateRequest, from the capture alone.
    let request = run_tshark(
        &tshark,
        &file,
        &[
            "-Y",
            "tls.handshake.type == 13",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
            "-e",
            "tls.handshake.dnames_len",
        ],
    );
    let fields: Vec<&str> = request.trim().split('\t').collect();
    assert_eq!(fields.len(), 2, "one CertificateRequest: {request:?}");
    let server_port = fields[0];
    assert_eq!(
        fields[1],
        seen["encoded_bytes"].to_string(),
        "the names' length on the wire is the truncated list's"
    );
    assert!(seen["encoded_bytes"].as_u64().expect("n") <= 16 * 1024);
    let detail = run_tshark(&tshark, &file, &["-Y", "tls.handshake.type == 13", "-V"]);
    let names: Vec<&str> = detail
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Distinguished Name: "))
        .collect();
    // tshark lists at most 100 names, then says the tree is truncated.
    assert_eq!(names.len(), subjects.len().min(100), "{detail}");
    if subjects.len() > 100 {
        assert!(detail.contains("Tree view truncated"));
    }
    for (wire, ours) in names.iter().zip(&subjects) {
        assert_eq!(
            common_name(wire, "id-at-commonName"),
            common_name(ours, "CN"),
            "{wire} vs {ours}"
        );
    }
    // The client's root, listed last in the server's store of 406, was cut.
    assert!(subjects.len() < 406, "{} names", subjects.len());
    assert!(!subjects.contains(&"CN=client-root"));
    assert!(names
        .iter()
        .all(|n| common_name(n, "id-at-commonName") != Some("client-root")));

    // The client's Certificate: empty, and only readable decrypted.
    let certs = run_tshark(
        &tshark,
        &file,
        &[
            "-Y",
            "tls.handshake.type == 11",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
            "-e",
            "tls.handshake.certificates_length",
        ],
    );
    let from_client: Vec<&str> = certs
        .lines()
        .filter(|l| !l.starts_with(&format!("{server_port}\t")))
        .collect();
    assert_eq!(from_client.len(), 1, "{certs}");
    assert!(
        from_client[0].ends_with("\t0"),
        "empty Certificate: {certs}"
    );
    let status = run_tshark(
        &tshark,
        &file,
        &[
            "-Y",
            "http.response",
            "-T",
            "fields",
            "-e",
            "http.response.code",
        ],
    );
    assert_eq!(status.trim(), "403");

    // Without the secrets block, TLS 1.3 hides both messages.
    let bare = dir.path().join("no-secrets.pcapng");
    std::fs::write(&bare, without_secrets(&std::fs::read(&file).expect("read"))).expect("write");
    let hidden = run_tshark(
        &tshark,
        &bare,
        &["-Y", "tls.handshake.type == 13 || tls.handshake.type == 11"],
    );
    assert_eq!(hidden.trim(), "", "without keys nothing decodes");
}

#[test]
fn real_nginx_capture_decrypts_with_its_key_log() {
    let Some(tshark) = tshark() else { return };
    if !support::require_real(mtls_harness::real::RealKind::Nginx) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let report = run_with_capture(
        dir.path(),
        &[
            "--gateway",
            "real:nginx",
            "--filter",
            "seeds::002_nginx_untrusted_certificate_400",
            "--tls",
            "1.3",
        ],
    );
    let case = &report["results"][0];
    assert_eq!(case["verdict"], "PASS", "{case}");
    let file = PathBuf::from(case["capture"].as_str().expect("capture"));
    let fields = |filter: &str, fields: &[&str]| {
        let mut args = vec!["-Y", filter, "-T", "fields"];
        for f in fields {
            args.extend(["-e", f]);
        }
        run_tshark(&tshark, &file, &args)
    };
    let request = fields(
        "tls.handshake.type == 13",
        &["tcp.srcport", "tls.handshake.dnames_len"],
    );
    let (server_port, names_len) = request.trim().split_once('\t').expect("one request");
    assert_eq!(
        names_len,
        case["observation"]["ca_names"]["encoded_bytes"].to_string(),
        "nginx's CertificateRequest as observed: {request}"
    );
    // mallory's certificate is sent (and refused at HTTP level: 400).
    let certs = fields(
        "tls.handshake.type == 11",
        &["tcp.srcport", "tls.handshake.certificates_length"],
    );
    let client: Vec<&str> = certs
        .lines()
        .filter(|l| !l.starts_with(&format!("{server_port}\t")))
        .collect();
    assert_eq!(client.len(), 1, "{certs}");
    assert_ne!(client[0].split('\t').nth(1), Some("0"), "{certs}");
    assert_eq!(
        fields("http.response", &["http.response.code"]).trim(),
        "400"
    );
}

#[test]
fn probe_capture_holds_every_probe_connection() {
    let Some(tshark) = tshark() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = PkiDir::generate();
    // serve prints a line per connection; its reader keeps reading them.
    let (serve, url) = serve(
        &pki,
        &["--cert", "gw", "--trust", "root", "--profile", "nginx"],
    );
    let file = dir.path().join("probe.pcapng");
    let probed = support::run(&["probe", &url, "--capture", &file.display().to_string()]);
    drop(serve);
    // nginx `on` requires a certificate and none was given: probe exit 1.
    assert_eq!(probed.code, 1, "{}", probed.stderr);
    let out = run_tshark(
        &tshark,
        &file,
        &[
            "-Y",
            "tls.handshake.type == 13",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tls.handshake.version",
            "-e",
            "tls.handshake.dnames_len",
        ],
    );
    // One connection per TLS version without a certificate: both requests
    // read from the capture, the TLS 1.3 one only thanks to the key log.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_ne!(
        lines[0].split('\t').next(),
        lines[1].split('\t').next(),
        "two TCP streams"
    );
    let responses = run_tshark(
        &tshark,
        &file,
        &[
            "-Y",
            "http.response",
            "-T",
            "fields",
            "-e",
            "http.response.code",
        ],
    );
    assert_eq!(
        responses.lines().filter(|l| *l == "400").count(),
        2,
        "{responses}"
    );
}
