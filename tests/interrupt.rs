//! Interrupting `run --gateway real:*` at a random moment: the binary exits
//! 130 (SIGINT) or 143 (SIGTERM), writes its partial report marked
//! interrupted, and leaves no gateway process (by pid and by process group)
//! and no temporary directory; a second SIGINT kills at once and still
//! leaves nothing. Each run gets a TMPDIR of its own, so what is left is
//! exactly what this run left: the directories in it, and the processes
//! whose command line or working directory points into it.

mod support;

use mtls_harness::interrupt::Signal;
use mtls_harness::real::{group_members, RealKind};
use rand::Rng;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `(pid, process group)` of every live process whose command line or
/// working directory is below `dir` (zombies have neither).
fn processes_under(dir: &Path) -> Vec<(u32, u32)> {
    let needle = dir.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if !(cmdline.contains(&needle) || cwd.starts_with(dir)) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let cols: Vec<&str> = after.split_whitespace().collect();
        if cols.first() == Some(&"Z") {
            continue;
        }
        if let Some(pgid) = cols.get(2).and_then(|c| c.parse().ok()) {
            out.push((pid, pgid));
        }
    }
    out
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Until the run made its first temporary directory (a gateway, a
/// namespace): the run must still be going, within 120 s.
fn wait_for_a_temp_dir(child: &mut Child, tmp: &Path, what: &str) {
    let started = Instant::now();
    while entries(tmp).is_empty() {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "{what}: the run ended before its first temporary directory"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: no temporary directory within 120 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What the ended child wrote on stderr.
fn read_stderr(child: &mut Child) -> String {
    use std::io::Read;
    let mut s = String::new();
    let _ = child.stderr.take().expect("stderr").read_to_string(&mut s);
    s
}

fn send(child: &Child, signal: Signal) {
    // SAFETY: kill(2) on our own child's pid.
    let r = unsafe { libc::kill(child.id() as i32, signal.number()) };
    assert_eq!(r, 0, "kill {}", signal.name());
}

fn wait(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if started.elapsed() > within {
            let _ = child.kill();
            panic!("the harness did not exit within {within:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Start `run --gateway real:<kind>` on the whole catalog, wait until its
/// first gateway runs, then a random moment more, send `signals` (10 ms
/// apart: the watcher has taken the first, the run is still stopping), and
/// check what is left. Returns the harness's stderr; `None` if `kind` is
/// not installed (the skip policy).
fn interrupt_run(kind: RealKind, signals: &[Signal]) -> Option<String> {
    if !support::require_real(kind) {
        return None;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let report = root.path().join("report.json");
    let mut child = support::command()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TMPDIR", &tmp)
        .args(["run", "--gateway", &kind.to_string(), "--format", "json"])
        .arg("--output")
        .arg(&report)
        .args(["--concurrency", "4"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mtls-harness");
    wait_for_a_temp_dir(&mut child, &tmp, &kind.to_string());
    let delay = Duration::from_millis(rand::thread_rng().gen_range(0..1000));
    std::thread::sleep(delay);
    let seen = processes_under(&tmp);
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "{kind}: the run finished before the signal ({delay:?} after the first gateway); \
         the catalog is too small to interrupt"
    );
    for (i, s) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
        send(&child, *s);
    }
    let status = wait(&mut child, Duration::from_secs(60));
    let stderr = read_stderr(&mut child);
    let what = format!(
        "{kind}, {} {delay:?} after the first gateway started ({} gateway processes then)",
        signals
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" + "),
        seen.len()
    );
    assert_eq!(
        status.code(),
        Some(signals[0].exit_code()),
        "{what}: exit status {status}; stderr:\n{stderr}"
    );
    let left = processes_under(&tmp);
    assert!(left.is_empty(), "{what}: processes left: {left:?}");
    // The gateways' own groups (led by a gateway seen). A child caught
    // between fork and exec is still in the harness's group (it has changed
    // directory, not yet group): its pid is checked above.
    let led = |g: u32| seen.iter().any(|(p, _)| *p == g);
    for (pid, pgid) in seen.iter().filter(|(_, g)| led(*g)) {
        let members = group_members(*pgid);
        assert!(
            members.is_empty(),
            "{what}: process group {pgid} (of {pid}) still has {members:?}"
        );
    }
    let dirs = entries(&tmp);
    assert!(
        dirs.is_empty(),
        "{what}: temporary directories left: {dirs:?}"
    );

    // Killed at once by a second signal, the report may not have been
    // written; when it was, it is whole and says so.
    if signals.len() == 1 || report.exists() {
        let text = std::fs::read_to_string(&report)
            .unwrap_or_else(|e| panic!("{what}: no partial report: {e}; stderr:\n{stderr}"));
        let json: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
        assert_eq!(json["interrupted"]["signal"], signals[0].name(), "{what}");
        assert_eq!(json["summary"]["interrupted"], true, "{what}");
        assert_eq!(json["exit_code"], signals[0].exit_code(), "{what}");
        let planned = json["interrupted"]["planned"].as_u64().expect("planned");
        let completed = json["interrupted"]["completed"]
            .as_u64()
            .expect("completed");
        assert!(completed < planned, "{what}: {completed} of {planned}");
        assert_eq!(
            json["results"].as_array().map(Vec::len),
            Some(completed as usize),
            "{what}"
        );
    }
    Some(stderr)
}

#[test]
fn sigint_during_real_nginx_run_leaves_nothing_and_exits_130() {
    interrupt_run(RealKind::Nginx, &[Signal::Int]);
}

#[test]
fn sigint_during_real_haproxy_run_leaves_nothing_and_exits_130() {
    interrupt_run(RealKind::Haproxy, &[Signal::Int]);
}

#[test]
fn sigint_during_real_apache_run_leaves_nothing_and_exits_130() {
    interrupt_run(RealKind::Apache, &[Signal::Int]);
}

#[test]
fn sigint_during_real_openssl_run_leaves_nothing_and_exits_130() {
    interrupt_run(RealKind::Openssl, &[Signal::Int]);
}

#[test]
fn sigterm_exits_143_and_leaves_nothing() {
    interrupt_run(RealKind::Nginx, &[Signal::Term]);
}

#[test]
fn sighup_exits_129_and_leaves_nothing() {
    interrupt_run(RealKind::Haproxy, &[Signal::Hup]);
}

#[test]
fn a_second_sigint_kills_at_once_and_still_leaves_nothing() {
    // Apache forks worker processes: the whole group must go. The second
    // signal must find the run still stopping (else the graceful path was
    // all that ran): a few tries.
    for _ in 0..5 {
        let Some(stderr) = interrupt_run(RealKind::Apache, &[Signal::Int, Signal::Int]) else {
            return;
        };
        if stderr.contains("SIGINT again: killing every child process now") {
            return;
        }
    }
    panic!("in 5 runs, the run had always stopped before the second SIGINT");
}

#[test]
fn sigterm_during_fidelity_leaves_nothing_and_writes_a_partial_table() {
    for kind in RealKind::ALL {
        if !support::require_real(kind) {
            return;
        }
    }
    let root = tempfile::tempdir().expect("tempdir");
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let table = root.path().join("fidelity.md");
    let mut child = support::command()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TMPDIR", &tmp)
        .arg("fidelity")
        .arg("--output")
        .arg(&table)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mtls-harness");
    let started = Instant::now();
    while entries(&tmp).is_empty() {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "fidelity ended early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no gateway started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(rand::thread_rng().gen_range(0..1000)));
    send(&child, Signal::Term);
    let status = wait(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(143));
    assert_eq!(processes_under(&tmp), vec![]);
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new());
    let text = std::fs::read_to_string(&table).expect("partial table written");
    assert!(
        text.contains("**Partial table: interrupted by SIGTERM;"),
        "{text}"
    );
}

#[test]
fn sigint_during_bench_writes_the_points_measured_and_exits_130() {
    let root = tempfile::tempdir().expect("tempdir");
    let out = root.path().join("bench.json");
    let mut child = support::command()
        .args(["bench", "--trust-anchors", "1,100", "--duration", "30s"])
        .args(["--format", "json", "--output"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mtls-harness");
    std::thread::sleep(Duration::from_millis(500));
    send(&child, Signal::Int);
    // Well before the 30 s the first point would take.
    let status = wait(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(130));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("JSON");
    assert_eq!(json["interrupted"], "SIGINT");
    assert_eq!(json["points"].as_array().map(Vec::len), Some(0));
}

/// The namespaces' holders (`unshare … sleep 2147483647`) alive now.
fn namespace_holders() -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).replace('\0', " ").trim() == "sleep 2147483647" {
            out.push(pid);
        }
    }
    out
}

#[test]
fn sigint_during_a_gateway_config_run_in_namespaces_leaves_nothing() {
    if !support::require_real(RealKind::Haproxy) {
        return;
    }
    if support::expected_way() != "namespace" {
        assert!(
            !support::in_ci(),
            "CI runs as root with unshare, nsenter and ip"
        );
        eprintln!("SKIP: the namespace way needs root here");
        return;
    }
    let holders_before = namespace_holders();
    let root = tempfile::tempdir().expect("tempdir");
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policies/haproxy.cfg");
    let mut child = support::command()
        .env("TMPDIR", &tmp)
        .arg("run")
        .arg("--gateway-config")
        .arg(&config)
        .args(["--gateway", "real:haproxy", "--isolate", "namespace"])
        .args(["--format", "json", "--concurrency", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mtls-harness");
    wait_for_a_temp_dir(&mut child, &tmp, "gateway-config in namespaces");
    // Anywhere from the namespaces' setup to the cases.
    let delay = Duration::from_millis(rand::thread_rng().gen_range(0..200));
    std::thread::sleep(delay);
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the run finished within {delay:?}: too short to interrupt"
    );
    send(&child, Signal::Int);
    let status = wait(&mut child, Duration::from_secs(60));
    let stderr = read_stderr(&mut child);
    assert_eq!(status.code(), Some(130), "{delay:?}: {stderr}");
    let left = processes_under(&tmp);
    assert!(left.is_empty(), "{delay:?}: processes left: {left:?}");
    let holders: Vec<u32> = namespace_holders()
        .into_iter()
        .filter(|p| !holders_before.contains(p))
        .collect();
    assert!(
        holders.is_empty(),
        "{delay:?}: namespace holders left: {holders:?}"
    );
    assert!(entries(&tmp).is_empty(), "{delay:?}: {:?}", entries(&tmp));
}
