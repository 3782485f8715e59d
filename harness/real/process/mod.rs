//! A real program's process group: how every program the harness runs (a
//! gateway, a middlebox, a client, a setup or build command, `serve`'s
//! gateway under test) is started and stopped.
//!
//! [`ProcessGroup::spawn`] starts a command as the leader of a new process
//! group, with the signals the harness blocks for its own handling unblocked
//! again, registered in the [`interrupt`] registry in the same step (the
//! signal path can always kill it). [`ProcessGroup::stop`] sends SIGTERM to
//! the group, gives the leader its grace period, sends SIGKILL to whatever
//! is left, reaps the leader and waits until no member of the group is
//! alive; then the group leaves the registry. Dropping it stops it.
//!
//! `net` reads the host's TCP sockets from /proc/net (which socket
//! listens, which group holds it, whether a connection is closed) without
//! making a connection a program would log.

pub mod net;

use crate::interrupt::{self, Registered, Registry};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::time::{Duration, Instant};

pub use crate::process::{group_members, kill_group};

/// How long [`ProcessGroup::stop`] waits, after SIGKILL, for the last
/// member of the group to be gone.
pub const GONE_WITHIN: Duration = Duration::from_secs(5);

/// How often the waits poll.
const POLL: Duration = Duration::from_millis(5);

/// A child process leading its own process group, registered for the
/// signal path until it is stopped. Dropping it stops it.
#[derive(Debug)]
pub struct ProcessGroup {
    child: Child,
    pid: u32,
    /// The leader's exit status, once seen (it is reaped then).
    status: Option<ExitStatus>,
    /// How long the leader has to exit after SIGTERM.
    grace: Duration,
    /// The group in the interrupt registry; `None` once stopped.
    registered: Option<Registered>,
}

impl ProcessGroup {
    /// Start `cmd` as the leader of a new process group (its id is the
    /// leader's pid) with no signal blocked, and register the group in
    /// [`Registry::global`]. `grace`: how long [`Self::stop`] lets it exit
    /// after SIGTERM (zero: SIGKILL at once). Fails, unstarted, once the
    /// registry is closed (the harness is exiting on a signal).
    pub fn spawn(cmd: &mut Command, grace: Duration) -> std::io::Result<ProcessGroup> {
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        interrupt::unblock_signals_in_child(cmd);
        let (child, registered) = Registry::global().spawn_process_group(cmd)?;
        Ok(ProcessGroup {
            pid: child.id(),
            child,
            status: None,
            grace,
            registered: Some(registered),
        })
    }

    /// The leader's pid, which is the process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The leader's stdin, when `cmd` piped it (once).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// The leader's stdout, when `cmd` piped it (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The leader's stderr, when `cmd` piped it (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The leader's exit status if it has exited (it is reaped then),
    /// without waiting. The rest of the group may live on: it is still
    /// registered, and [`Self::stop`] still kills it.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Wait up to `limit` for the leader to exit. `None`: it is still
    /// running (or cannot be waited for).
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            match self.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => return None,
            }
        }
    }

    /// Processes of the group still alive (none once it is stopped).
    pub fn members(&self) -> Vec<(u32, char)> {
        group_members(self.pid)
    }

    /// Stop the group: SIGTERM, the grace period for the leader to exit,
    /// then SIGKILL to whatever is left; the leader is reaped and, for up
    /// to [`GONE_WITHIN`], no member of the group is left; then it leaves
    /// the registry. The leader's exit status, if it could be had.
    /// Idempotent. Blocks (from async code, in `spawn_blocking`).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.stop_within(self.grace)
    }

    /// [`Self::stop`] without the grace period: SIGKILL at once.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        self.stop_within(Duration::ZERO)
    }

    fn stop_within(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.registered.is_none() {
            return self.status;
        }
        if self.status.is_none() && !grace.is_zero() {
            kill_group(self.pid, libc::SIGTERM);
            // `None`: still running after the grace period (SIGKILL next).
            let _ = self.wait_timeout(grace);
        }
        kill_group(self.pid, libc::SIGKILL);
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        // Members that outlived the leader (a squid helper, a browser's
        // renderer) are in the group too.
        let deadline = Instant::now() + GONE_WITHIN;
        while !group_members(self.pid).is_empty() && Instant::now() < deadline {
            kill_group(self.pid, libc::SIGKILL);
            std::thread::sleep(POLL);
        }
        // Only now: the group id may be reused once it is empty.
        self.registered = None;
        self.status
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_kills_the_whole_group_and_unregisters_it() {
        let mut cmd = Command::new("sh");
        // The leader ignores SIGTERM: only SIGKILL ends it.
        cmd.args(["-c", "trap '' TERM; sleep 30 & sleep 30"]);
        let mut group = ProcessGroup::spawn(&mut cmd, Duration::from_millis(200)).unwrap();
        let pid = group.pid();
        let deadline = Instant::now() + Duration::from_secs(5);
        while group.members().len() < 2 && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        assert!(group.members().len() >= 2, "sh and its sleeps");
        assert!(Registry::global().live().0.contains(&pid));
        assert_eq!(group.try_wait().unwrap(), None);
        let status = group.stop().expect("reaped");
        assert!(!status.success());
        assert!(group_members(pid).is_empty());
        assert!(!Registry::global().live().0.contains(&pid));
        // Idempotent.
        assert_eq!(group.stop(), Some(status));
    }

    #[test]
    fn a_leader_that_exited_is_reaped_and_its_group_still_killed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & exit 3"]);
        let mut group = ProcessGroup::spawn(&mut cmd, Duration::from_secs(5)).unwrap();
        let pid = group.pid();
        let status = group
            .wait_timeout(Duration::from_secs(5))
            .expect("the leader exits");
        assert_eq!(status.code(), Some(3));
        // Its `sleep` is left, in the group.
        assert!(!group_members(pid).is_empty());
        drop(group);
        assert!(group_members(pid).is_empty());
        assert!(!Registry::global().live().0.contains(&pid));
    }
}
