//! Support for the tests that point the `mtls-harness` binary at a target:
//! child processes (real `openssl s_server`, `mtls-harness serve`) stopped by
//! process group when dropped, a PKI written to a temporary directory, and
//! the binary run with a hard wall limit so a hang fails instead of blocking.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mtls-harness");

/// The PKI every target test uses: `root` signs the server `gw` and the
/// client `alice`; `other-root` signs `mallory`; `carol` is expired.
pub const PKI: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "other-root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "root"
[[cert]]
name = "mallory"
role = "client"
issuer = "other-root"
[[cert]]
name = "carol"
role = "client"
issuer = "root"
validity = "expired"
"#;

/// `PKI` written by `mtls-harness pki generate` into a temporary directory
/// (removed on drop), plus `both-roots.pem`.
pub struct PkiDir {
    pub tmp: tempfile::TempDir,
}

impl PkiDir {
    pub fn generate() -> PkiDir {
        let tmp = tempfile::tempdir().expect("temp dir");
        let spec = tmp.path().join("pki.toml");
        std::fs::write(&spec, PKI).expect("spec written");
        let out = Command::new(BIN)
            .args(["pki", "generate"])
            .arg(&spec)
            .arg("--out")
            .arg(tmp.path().join("pki"))
            .output()
            .expect("pki generate runs");
        assert!(out.status.success(), "{out:?}");
        let dir = PkiDir { tmp };
        let both = [dir.file("root.crt"), dir.file("other-root.crt")]
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("root pem"))
            .collect::<String>();
        std::fs::write(dir.file("both-roots.pem"), both).expect("bundle written");
        dir
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("pki")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }
}

/// A child process in its own process group, killed (group and all) and
/// reaped on drop. Its stdout lines arrive on a channel.
pub struct Child {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Child {
    pub fn spawn(mut cmd: Command) -> Child {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Child {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first stdout line `pick` accepts, within `limit`.
    pub fn wait_line<T>(&mut self, limit: Duration, pick: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let got = pick(&line);
                    self.seen.push(line);
                    if let Some(v) = got {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no expected line from the child within {limit:?}; it printed: {:?}",
                    self.seen
                ),
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the group we created; no memory is touched.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn port_of(line: &str) -> Option<u16> {
    line.rsplit(':').next()?.trim().parse().ok()
}

/// `openssl` must be installed: CI or not, a missing one fails loudly.
pub fn require_openssl() {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "openssl is not installed: `apt-get install openssl` (ci/test does this){}",
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            " [CI=true]"
        } else {
            ""
        }
    );
}

/// A real `openssl s_server -www` on 127.0.0.1 with `gw`'s certificate and
/// `args`; its URL.
pub fn s_server(pki: &PkiDir, args: &[&str]) -> (Child, String) {
    require_openssl();
    let mut cmd = Command::new("openssl");
    cmd.current_dir(pki.dir())
        .args([
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-cert",
            "gw.crt",
            "-key",
            "gw.key",
            "-www",
        ])
        .args(args);
    let mut child = Child::spawn(cmd);
    let port = child.wait_line(Duration::from_secs(10), |l| {
        l.starts_with("ACCEPT").then(|| port_of(l)).flatten()
    });
    (child, format!("https://127.0.0.1:{port}"))
}

/// `mtls-harness serve` with `pki` and `args`; its URL.
pub fn serve(pki: &PkiDir, args: &[&str]) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--pki"]).arg(pki.dir()).args(args);
    let mut child = Child::spawn(cmd);
    let url = child.wait_line(Duration::from_secs(10), |l| {
        l.strip_prefix("listening on ").map(str::to_string)
    });
    (child, url)
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Run the binary with `args`; killed and failed if it is still running
/// after `wall` (a hang guard far above any timeout the test sets).
pub fn run_bin(args: &[&str], wall: Duration) -> Ran {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("out file"))
        .stderr(std::fs::File::create(&err).expect("err file"))
        .process_group(0)
        .spawn()
        .expect("binary starts");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > wall {
            // SAFETY: as in Child::drop.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            panic!(
                "`mtls-harness {}` did not end within {wall:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code().expect("exited, not signalled"),
        stdout: std::fs::read_to_string(out).unwrap_or_default(),
        stderr: std::fs::read_to_string(err).unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// `mtls-harness probe URL [--cert C --key K] --timeout T`.
pub fn probe(url: &str, cert: Option<(&Path, &Path)>, timeout_secs: u64) -> Ran {
    let t = timeout_secs.to_string();
    let mut args = vec!["probe", url, "--timeout", &t];
    let (c, k);
    if let Some((cert, key)) = cert {
        c = cert.display().to_string();
        k = key.display().to_string();
        args.extend(["--cert", &c, "--key", &k]);
    }
    run_bin(&args, Duration::from_secs(timeout_secs * 12 + 30))
}
