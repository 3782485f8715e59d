//! What the integration tests share: the built binary and a hard-limited way
//! to run it ([`run`], [`run_bin`], [`run_command`]), child processes stopped
//! by process group ([`Child`]), the one skip policy for programs a test
//! needs ([`require`], [`require_real`]), and the fixtures in the
//! submodules: [`target`] (one PKI written by `pki generate`, real
//! `openssl s_server`, `mtls-harness serve`, `probe`) and [`situations`]
//! (the gateway matrices' PKI and situations).
//!
//! Each test binary declares `mod support;` and uses part of it.
//!
//! # Skip policy
//!
//! A test that needs a program which is not installed:
//! - outside CI prints `SKIP <test>: <program> is not installed (apt-get
//!   install <package>)` to stderr and returns early (it passes);
//! - under CI ([`in_ci`]) fails, naming the program and the package.

// Each test binary uses part of this module.
#![allow(dead_code)]

pub mod situations;
pub mod target;

use mtls_harness::real::RealKind;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The built `mtls-harness` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mtls-harness")
}

/// A `Command` for the built binary.
pub fn command() -> Command {
    Command::new(bin())
}

/// Whether the tests run under CI: the `CI` environment variable is `true`
/// (in any case, as GitHub Actions, GitLab and most CI systems set it) or
/// `1`. Anything else, or unset, is not CI.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::args()
            .next()
            .unwrap_or_else(|| "this test".into()),
    }
}

/// The one skip policy: `found` says whether `what` (from the Debian
/// package `package`) is installed. If it is not, outside CI prints a loud
/// `SKIP` line and returns `false` (the test returns early); under CI fails.
#[track_caller]
pub fn installed(found: bool, what: &str, package: &str) -> bool {
    if found {
        return true;
    }
    let test = test_name();
    assert!(
        !in_ci(),
        "{test}: {what} is not installed (apt-get install {package}; ci/test installs it) [CI]"
    );
    eprintln!("\nSKIP {test}: {what} is not installed (apt-get install {package})\n");
    false
}

/// The Debian package that provides `program`.
fn package_of(program: &str) -> &str {
    match program {
        "chromium-browser" => "chromium",
        "go" => "golang-go",
        "java" => "openjdk-17-jdk-headless",
        _ => program,
    }
}

/// `program` on `PATH` or in the sbin directories (not always on a
/// non-root `PATH`).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Whether `program` is installed, under the skip policy ([`installed`]):
/// `if !support::require("nginx") { return; }`.
#[track_caller]
pub fn require(program: &str) -> bool {
    installed(
        find_program(program).is_some(),
        program,
        package_of(program),
    )
}

/// Whether the real gateway `kind` can be started, under the skip policy.
#[track_caller]
pub fn require_real(kind: RealKind) -> bool {
    installed(
        kind.find_program().is_ok(),
        &kind.to_string(),
        kind.package(),
    )
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Ran {
    /// `(exit code, stdout, stderr)`.
    pub fn into_parts(self) -> (i32, String, String) {
        (self.code, self.stdout, self.stderr)
    }
}

/// The wall limit of [`run`]: far above any run a test makes, so only a
/// hang reaches it.
pub const WALL: Duration = Duration::from_secs(600);

/// Run the binary with `args` under [`WALL`].
pub fn run(args: &[&str]) -> Ran {
    run_bin(args, WALL)
}

/// Run the binary with `args`; killed and failed if it is still running
/// after `wall` (a hang guard far above any timeout the test sets).
pub fn run_bin(args: &[&str], wall: Duration) -> Ran {
    let mut cmd = command();
    cmd.args(args);
    run_command(cmd, wall)
}

/// Run `cmd` (stdin empty, stdout and stderr captured) in its own process
/// group; killed (group and all) and failed if it is still running after
/// `wall`. A process killed by a signal fails the test.
pub fn run_command(mut cmd: Command, wall: Duration) -> Ran {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("out file"))
        .stderr(std::fs::File::create(&err).expect("err file"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > wall {
            kill_group(child.id());
            let _ = child.wait();
            panic!("{shown} did not end within {wall:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status
            .code()
            .unwrap_or_else(|| panic!("{shown} was killed by a signal: {status}")),
        stdout: std::fs::read_to_string(out).unwrap_or_default(),
        stderr: std::fs::read_to_string(err).unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

fn kill_group(pid: u32) {
    // SAFETY: kill(2) on a process group the harness created; no memory is
    // touched.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
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

    /// The child's process id (also its process group's).
    pub fn id(&self) -> u32 {
        self.child.id()
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
        kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// The program's usual directories, listed: `/run` at its top level, the
/// others two levels deep. A run must leave them as it found them.
pub fn usual_directories() -> Vec<String> {
    fn list(dir: &std::path::Path, depth: usize, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            out.push(path.display().to_string());
            if depth > 1 && path.is_dir() && !path.is_symlink() {
                list(&path, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    list(std::path::Path::new("/run"), 1, &mut out);
    for dir in [
        "/etc/nginx",
        "/etc/haproxy",
        "/etc/apache2",
        "/var/log/nginx",
        "/var/log/haproxy",
        "/var/log/apache2",
        "/var/www",
        "/var/lib/haproxy",
    ] {
        list(std::path::Path::new(dir), 2, &mut out);
    }
    out.sort();
    out
}

/// The way `run --gateway-config` runs a configuration on this machine by
/// default: in namespaces as root (with unshare, nsenter and ip), else
/// rewritten.
pub fn expected_way() -> &'static str {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = ["unshare", "nsenter", "ip"]
        .iter()
        .all(|p| find_program(p).is_some() || std::path::Path::new("/usr/sbin").join(p).is_file());
    if root && tools {
        "namespace"
    } else {
        "rewritten"
    }
}
