//! Interruption: what SIGINT, SIGTERM and SIGHUP stop, and how.
//!
//! Two halves. A [`CancelToken`] that long work checks: the runner stops
//! starting cases and drops the ones in flight, the bench stops measuring,
//! `serve` stops listening; each then writes what it has, marked
//! interrupted. And a registry of the live child process groups and
//! temporary directories ([`Registry`]), which the signal path can clean up without the
//! help of the code that created them: when no command is winding down
//! gracefully, or on a second signal (a second Ctrl-C kills at once), it
//! kills every registered group, reaps the leaders, removes every
//! registered directory and exits 128 + the signal number.
//!
//! The binary calls [`install`] first thing, before any thread exists: the
//! three signals are blocked in every thread and one watcher thread takes
//! them with `sigwait`, so no async-signal-safety puzzle arises and the
//! runtime's threads never see them. A child inherits the signal mask
//! across `exec` (the standard library does not reset it): every child is
//! started through [`unblock_signals_in_child`], or SIGTERM would never
//! reach it.

use crate::process::reap_if_exited;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A signal that interrupts the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Ctrl-C.
    Int,
    /// `kill`, a CI runner's timeout.
    Term,
    /// The terminal went away.
    Hup,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Int, Signal::Term, Signal::Hup];

    /// The signal's number on Linux.
    pub const fn number(self) -> i32 {
        match self {
            Signal::Hup => 1,
            Signal::Int => 2,
            Signal::Term => 15,
        }
    }

    pub fn from_number(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.number() == n)
    }

    /// `SIGINT`.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
        }
    }

    /// The exit code of a process it interrupted: 128 + its number, as a
    /// shell reports a process the signal killed.
    pub const fn exit_code(self) -> i32 {
        128 + self.number()
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Default)]
struct TokenState {
    /// The first signal's number; 0 while not cancelled.
    signal: AtomicI32,
    notify: tokio::sync::Notify,
}

/// Cancellation that work checks before starting more of itself and waits
/// on while it runs. Clones share one state. [`CancelToken::global`] is the
/// one the signal watcher cancels.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<TokenState>);

impl CancelToken {
    /// A token only [`Self::cancel`] cancels (tests, library users).
    pub fn new() -> Self {
        Self::default()
    }

    /// The process's token: cancelled by SIGINT, SIGTERM or SIGHUP once
    /// [`install`] ran, never otherwise.
    pub fn global() -> CancelToken {
        static GLOBAL: OnceLock<CancelToken> = OnceLock::new();
        GLOBAL.get_or_init(CancelToken::new).clone()
    }

    /// Cancel (the first signal is kept); wakes every waiter.
    pub fn cancel(&self, signal: Signal) {
        let _ =
            self.0
                .signal
                .compare_exchange(0, signal.number(), Ordering::SeqCst, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// The signal that cancelled it, if any.
    pub fn signal(&self) -> Option<Signal> {
        Signal::from_number(self.0.signal.load(Ordering::SeqCst))
    }

    pub fn is_cancelled(&self) -> bool {
        self.signal().is_some()
    }

    /// Resolves once cancelled (at once if it already is).
    pub async fn cancelled(&self) -> Signal {
        loop {
            let notified = self.0.notify.notified();
            if let Some(s) = self.signal() {
                return s;
            }
            notified.await;
        }
    }
}

/// Something the signal path cleans up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    /// A child's own process group (its id is the leader's pid, our child).
    ProcessGroup(u32),
    TempDir(PathBuf),
}

#[derive(Debug, Default)]
struct RegistryState {
    entries: Mutex<Vec<(u64, Resource)>>,
    next: AtomicU64,
    /// Set by [`Registry::clean_up`]: nothing new may start (the process
    /// is about to exit, and a directory made after the clean-up looked
    /// would stay behind).
    closed: std::sync::atomic::AtomicBool,
}

fn closed_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Interrupted,
        "interrupted: no new process or directory is started",
    )
}

/// The live child process groups and temporary directories. Clones share
/// one registry; [`Registry::global`] is the one the signal watcher cleans.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<RegistryState>);

impl Registry {
    /// A registry of its own (tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// The process's registry.
    pub fn global() -> Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new).clone()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Resource)>> {
        self.0.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(&self, resource: Resource) -> Registered {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed);
        self.entries().push((id, resource));
        Registered {
            registry: self.clone(),
            id,
        }
    }

    /// Register child process group `pgid` (the leader is our child, made
    /// the leader of its own group). Drop the registration right after
    /// reaping the leader and killing what is left of the group.
    pub fn register_process_group(&self, pgid: u32) -> Registered {
        self.register(Resource::ProcessGroup(pgid))
    }

    /// Register a temporary directory; drop the registration once it is
    /// removed.
    pub fn register_temp_dir(&self, path: &Path) -> Registered {
        self.register(Resource::TempDir(path.to_path_buf()))
    }

    /// Spawn `cmd` (set up to make its child the leader of a new process
    /// group) and register that group in one step: the signal path, which
    /// takes the same lock, never finds the child started but unregistered.
    pub fn spawn_process_group(
        &self,
        cmd: &mut std::process::Command,
    ) -> std::io::Result<(std::process::Child, Registered)> {
        let mut entries = self.entries();
        if self.0.closed.load(Ordering::SeqCst) {
            return Err(closed_error());
        }
        let child = cmd.spawn()?;
        let id = self.0.next.fetch_add(1, Ordering::Relaxed);
        entries.push((id, Resource::ProcessGroup(child.id())));
        drop(entries);
        let registered = Registered {
            registry: self.clone(),
            id,
        };
        Ok((child, registered))
    }

    /// Create a temporary directory (`prefix` then random characters, in
    /// the temp dir) and register it in one step.
    pub fn create_temp_dir(
        &self,
        prefix: &str,
    ) -> std::io::Result<(tempfile::TempDir, Registered)> {
        let mut entries = self.entries();
        if self.0.closed.load(Ordering::SeqCst) {
            return Err(closed_error());
        }
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let id = self.0.next.fetch_add(1, Ordering::Relaxed);
        entries.push((id, Resource::TempDir(dir.path().to_path_buf())));
        drop(entries);
        let registered = Registered {
            registry: self.clone(),
            id,
        };
        Ok((dir, registered))
    }

    /// The process groups and directories registered now.
    pub fn live(&self) -> (Vec<u32>, Vec<PathBuf>) {
        let mut groups = Vec::new();
        let mut dirs = Vec::new();
        for (_, r) in self.entries().iter() {
            match r {
                Resource::ProcessGroup(g) => groups.push(*g),
                Resource::TempDir(d) => dirs.push(d.clone()),
            }
        }
        (groups, dirs)
    }

    /// Close the registry (nothing new starts), kill every registered
    /// process group (SIGKILL), reap the leaders and wait until no member
    /// of the groups is left (for up to `within`: a killed process may
    /// still be writing into its directory), then remove every registered
    /// directory. Registrations stay until their owners drop them.
    pub fn clean_up(&self, within: Duration) {
        let (groups, dirs) = {
            let _entries = self.entries();
            self.0.closed.store(true, Ordering::SeqCst);
            drop(_entries);
            self.live()
        };
        for &g in &groups {
            kill_group(g, libc::SIGKILL);
        }
        let deadline = Instant::now() + within;
        let mut waiting = groups;
        while !waiting.is_empty() && Instant::now() < deadline {
            waiting.retain(|&pid| reap_if_exited(pid) || !group_members(pid).is_empty());
            if !waiting.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        for d in dirs {
            // A file created while the tree was being removed fails the
            // last rmdir: once more.
            if std::fs::remove_dir_all(&d).is_err() {
                let _ = std::fs::remove_dir_all(&d);
            }
        }
    }
}

/// A registration; dropping it (once the owner cleaned up by itself)
/// removes it from the registry.
#[derive(Debug)]
#[must_use = "dropping the registration at once unregisters the resource"]
pub struct Registered {
    registry: Registry,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.entries().retain(|(id, _)| *id != self.id);
    }
}

// The primitives the clean-up is made of, at the paths they had before
// `process` held them.
pub use crate::process::{group_members, kill_group};

/// [`Registry::register_process_group`] on the global registry.
pub fn register_process_group(pgid: u32) -> Registered {
    Registry::global().register_process_group(pgid)
}

/// [`Registry::register_temp_dir`] on the global registry.
pub fn register_temp_dir(path: &Path) -> Registered {
    Registry::global().register_temp_dir(path)
}

static GRACEFUL: AtomicUsize = AtomicUsize::new(0);

/// While one is alive, the first signal only cancels
/// [`CancelToken::global`]: the command winds down by itself (stops
/// starting work, stops its children, writes its partial report). Without
/// one, the first signal cleans up and exits at once.
#[derive(Debug)]
#[must_use = "the scope ends when dropped"]
pub struct GracefulScope(());

impl GracefulScope {
    pub fn enter() -> GracefulScope {
        GRACEFUL.fetch_add(1, Ordering::SeqCst);
        GracefulScope(())
    }
}

impl Drop for GracefulScope {
    fn drop(&mut self) {
        GRACEFUL.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why the signal watcher could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("blocking SIGINT, SIGTERM and SIGHUP: {0}")]
    Mask(#[source] std::io::Error),
    #[error("starting the signal watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in Signal::ALL {
            libc::sigaddset(&mut set, s.number());
        }
        set
    }
}

/// Block SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread
/// started after it) and start the watcher thread that takes them. Call it
/// before any other thread starts. What the watcher does:
///
/// - first signal: cancel [`CancelToken::global`]; if no [`GracefulScope`]
///   is open, clean up ([`Registry::clean_up`]) and exit 128 + signal;
/// - second signal: clean up and exit 128 + the first signal at once.
pub fn install() -> Result<(), InstallError> {
    let set = signal_set();
    // SAFETY: pthread_sigmask on the calling thread with a valid set.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(InstallError::Mask(std::io::Error::from_raw_os_error(r)));
    }
    std::thread::Builder::new()
        .name("signal-watcher".into())
        .spawn(move || watch(set))
        .map_err(InstallError::Thread)?;
    Ok(())
}

/// Make `cmd`'s child start with no signal blocked: the mask [`install`]
/// set is inherited across `exec`, and a gateway that cannot receive
/// SIGTERM only dies by SIGKILL, after the grace period.
pub fn unblock_signals_in_child(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the forked child before exec; sigemptyset and
    // pthread_sigmask only touch a local set and the calling thread's mask
    // (async-signal-safe, no allocation, no lock).
    unsafe {
        cmd.pre_exec(|| {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            match libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) {
                0 => Ok(()),
                e => Err(std::io::Error::from_raw_os_error(e)),
            }
        });
    }
}

fn watch(set: libc::sigset_t) {
    let token = CancelToken::global();
    loop {
        let mut number = 0;
        // SAFETY: sigwait with a valid set of signals blocked in every thread.
        if unsafe { libc::sigwait(&set, &mut number) } != 0 {
            continue;
        }
        let Some(signal) = Signal::from_number(number) else {
            continue;
        };
        let first = token.signal();
        token.cancel(signal);
        match first {
            None if GRACEFUL.load(Ordering::SeqCst) > 0 => {
                eprintln!(
                    "\n{signal}: stopping (no new work; children stopped, temporary directories removed, partial report written); {signal} again to kill at once"
                );
            }
            None => exit_now(signal),
            Some(first) => {
                eprintln!("\n{signal} again: killing every child process now");
                exit_now(first);
            }
        }
    }
}

fn exit_now(signal: Signal) -> ! {
    Registry::global().clean_up(Duration::from_secs(2));
    std::process::exit(signal.exit_code());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        assert_eq!(Signal::Int.exit_code(), 130);
        assert_eq!(Signal::Term.exit_code(), 143);
        assert_eq!(Signal::Hup.exit_code(), 129);
        for s in Signal::ALL {
            assert_eq!(Signal::from_number(s.number()), Some(s));
        }
    }

    #[tokio::test]
    async fn a_token_keeps_the_first_signal_and_wakes_waiters() {
        let token = CancelToken::new();
        assert!(!token.is_cancelled());
        let waiter = tokio::spawn({
            let t = token.clone();
            async move { t.cancelled().await }
        });
        tokio::task::yield_now().await;
        token.cancel(Signal::Term);
        token.cancel(Signal::Int);
        assert_eq!(waiter.await.unwrap(), Signal::Term);
        assert_eq!(token.signal(), Some(Signal::Term));
        assert_eq!(token.cancelled().await, Signal::Term);
        // Independent of the global token.
        assert!(CancelToken::global().signal().is_none());
    }

    /// The blocked-signal mask of process `pid` (`SigBlk` in /proc).
    fn blocked(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("SigBlk:")).unwrap();
        u64::from_str_radix(line["SigBlk:".len()..].trim(), 16).unwrap()
    }

    #[test]
    fn children_start_with_no_signal_blocked() {
        // What `install` does to the main thread, here to this thread only.
        let set = signal_set();
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: this thread's mask, restored below.
        assert_eq!(
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) },
            0
        );
        let spawn = |unblock: bool| {
            let mut cmd = std::process::Command::new("sleep");
            cmd.arg("30");
            if unblock {
                unblock_signals_in_child(&mut cmd);
            }
            let mut child = cmd.spawn().unwrap();
            // The mask is the child's once it runs `sleep`.
            std::thread::sleep(Duration::from_millis(100));
            let mask = blocked(child.id());
            child.kill().unwrap();
            child.wait().unwrap();
            mask
        };
        let (inherited, reset) = (spawn(false), spawn(true));
        // SAFETY: restores this thread's mask.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        let ours = (1u64 << (libc::SIGINT - 1)) | (1u64 << (libc::SIGTERM - 1));
        assert_eq!(
            inherited & ours,
            ours,
            "std passes the mask on: {inherited:x}"
        );
        assert_eq!(reset, 0);
    }

    #[test]
    fn clean_up_kills_registered_groups_and_removes_registered_dirs() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::write(dir.join("key.pem"), "secret").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        let registry = Registry::new();
        let group = registry.register_process_group(pid);
        let tmp = registry.register_temp_dir(&dir);
        assert_eq!(registry.live(), (vec![pid], vec![dir.clone()]));
        registry.clean_up(Duration::from_secs(2));
        assert!(!dir.exists());
        // Reaped by the clean-up: not our child any more.
        assert!(child.try_wait().is_err() || child.try_wait().unwrap().is_some());
        drop((group, tmp));
        assert_eq!(registry.live(), (vec![], vec![]));
    }
}
