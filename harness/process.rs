//! The raw process-group primitives: signal a group, reap a leader that
//! exited, list what is left of a group. The only place the harness calls
//! `kill(2)` and `waitpid(2)`.
//!
//! The signal path ([`crate::interrupt`]) uses them to clean up without the
//! help of the code that started a group; `real::process::ProcessGroup`
//! builds the one type every real program is started and stopped with on
//! them.

/// Send `signal` (`libc::SIGTERM`, `libc::SIGKILL`) to process group
/// `pgid`. A group id that cannot be one (0, or beyond `i32`) is ignored:
/// `kill(0, ...)` would signal the harness's own group.
pub fn kill_group(pgid: u32, signal: i32) {
    if pgid == 0 || pgid > i32::MAX as u32 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no
    // memory is involved.
    unsafe {
        libc::kill(-(pgid as i32), signal);
    }
}

/// Reap `pid` (our child) if it has exited, without waiting; whether it is
/// still running. `false` also when it is not our child (any more): its
/// owner reaped it already.
pub fn reap_if_exited(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    let mut status = 0;
    // SAFETY: waitpid on a pid, non-blocking; `status` is a local. 0: still
    // running; -1: not our child.
    unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) == 0 }
}

/// Processes (pid, state) still alive in process group `pgid`, zombies
/// excluded (Linux: read from /proc). Empty when none or unknown.
pub fn group_members(pgid: u32) -> Vec<(u32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces and parens.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let cols: Vec<&str> = after.split_whitespace().collect();
        if cols.len() < 3 {
            continue;
        }
        let state = cols[0].chars().next().unwrap_or('?');
        if cols[2].parse::<u32>() == Ok(pgid) && state != 'Z' {
            out.push((pid, state));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    #[test]
    fn a_killed_group_is_reaped_and_empty() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_members(pid).len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(group_members(pid).len() >= 2, "sh and its sleeps");
        assert!(reap_if_exited(pid), "still running");
        kill_group(pid, libc::SIGKILL);
        while (reap_if_exited(pid) || !group_members(pid).is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(group_members(pid).is_empty());
        assert!(!reap_if_exited(pid), "reaped: not our child any more");
        // Reaped above: std has no status to give.
        assert!(child.wait().is_err());
    }

    #[test]
    fn no_group_is_signalled_for_an_impossible_id() {
        // Would be kill(0, SIGKILL): this test process's own group.
        kill_group(0, libc::SIGKILL);
        kill_group(u32::MAX, libc::SIGKILL);
    }
}
