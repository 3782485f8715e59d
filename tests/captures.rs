//! Captures open in tshark (Debian's `tshark`, installed by `ci/test`) with
//! no set-up: the pcapng's Decryption Secrets Block is what lets tshark read
//! the TLS 1.3 CertificateRequest and the client's Certificate. Each test
//! needs tshark; without it a test says so loudly, and under `CI=true` fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The tshark binary, or `None` (outside CI) after saying the test cannot run.
fn tshark(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("tshark"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !in_ci(),
            "{test}: tshark is not installed [CI=true]: ci/test installs the Debian package `tshark`"
        );
        eprintln!(
            "\n*** {test}: NOT RUN: tshark is not installed (apt-get install tshark; ci/test does) ***\n"
        );
    }
    found
}

/// A real gateway program, or `None` (outside CI) after saying so.
fn program(test: &str, name: &str) -> bool {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(name).is_file());
    if !found {
        assert!(!in_ci(), "{test}: {name} is not installed [CI=true]");
        eprintln!("\n*** {test}: NOT RUN: {name} is not installed ***\n");
    }
    found
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
    let out = Command::new(env!("CARGO_BIN_EXE_mtls-harness"))
        .arg("run")
        .args(args)
        .arg("--capture")
        .arg(dir)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mtls-harness runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
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
    let test = "seed_003_tls13_capture";
    let Some(tshark) = tshark(test) else { return };
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
    let test = "real_nginx_capture";
    let Some(tshark) = tshark(test) else { return };
    if !program(test, "nginx") {
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
    let test = "probe_capture";
    let Some(tshark) = tshark(test) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n",
    )
    .expect("spec");
    let pki = dir.path().join("pki");
    let bin = env!("CARGO_BIN_EXE_mtls-harness");
    let ok = Command::new(bin)
        .args(["pki", "generate"])
        .arg(&spec)
        .arg("--out")
        .arg(&pki)
        .status()
        .expect("pki generate");
    assert!(ok.success());
    let mut serve = Command::new(bin)
        .args([
            "serve",
            "--cert",
            "gw",
            "--trust",
            "root",
            "--profile",
            "nginx",
            "--pki",
        ])
        .arg(&pki)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    let url = {
        use std::io::BufRead;
        let stdout = serve.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("first line");
        // serve prints a line per connection: keep reading until it stops.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        line.trim()
            .strip_prefix("listening on ")
            .expect("listening line")
            .to_string()
    };
    let file = dir.path().join("probe.pcapng");
    let probed = Command::new(bin)
        .args(["probe", &url, "--capture"])
        .arg(&file)
        .output()
        .expect("probe");
    let _ = serve.kill();
    let _ = serve.wait();
    // nginx `on` requires a certificate and none was given: probe exit 1.
    assert_eq!(
        probed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&probed.stderr)
    );
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
