//! Before a program starts: its setup commands (squid's certificate
//! database), and what its unprivileged workers must own when it runs as
//! root and drops privileges (squid).

use super::program::RenderedMiddlebox;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The user squid's workers run as when it starts as root (Debian's
/// `cache_effective_user` default).
pub const WORKER_USER: &str = "proxy";

/// How long one setup command (squid's certificate database) may take.
const SETUP_LIMIT: Duration = Duration::from_secs(60);

/// Run the setup commands, then hand to the unprivileged workers what they
/// need.
pub(super) fn prepare(
    r: &RenderedMiddlebox,
    prefix: &Path,
) -> Result<(), (PathBuf, std::io::Error)> {
    use std::os::unix::fs::PermissionsExt;
    for argv in &r.setup {
        let Some((exe, args)) = argv.split_first() else {
            continue;
        };
        let mut cmd = Command::new(exe);
        cmd.args(args).current_dir(prefix);
        let out = crate::real::bounded::output_within(&mut cmd, SETUP_LIMIT)
            .map_err(|e| (PathBuf::from(exe), std::io::Error::other(e.to_string())))?;
        if !out.status.success() {
            let msg = format!(
                "{} failed ({}): {}",
                argv.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return Err((PathBuf::from(exe), std::io::Error::other(msg)));
        }
    }
    // SAFETY: geteuid has no preconditions.
    if r.shared.is_empty() || unsafe { libc::geteuid() } != 0 {
        // Not root: the workers run as this user and already own it all.
        return Ok(());
    }
    let (uid, gid) = worker_ids().ok_or_else(|| {
        (
            PathBuf::from(WORKER_USER),
            std::io::Error::other(format!("no user `{WORKER_USER}` for the workers")),
        )
    })?;
    let set = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .and_then(|()| std::os::unix::fs::chown(p, Some(uid), Some(gid)))
            .map_err(|e| (p.to_path_buf(), e))
    };
    std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| (prefix.to_path_buf(), e))?;
    for rel in &r.shared {
        let mut stack = vec![prefix.join(rel)];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                set(&p, 0o700)?;
                for e in std::fs::read_dir(&p).map_err(|e| (p.clone(), e))?.flatten() {
                    stack.push(e.path());
                }
            } else if p.exists() {
                set(&p, 0o600)?;
            }
        }
    }
    Ok(())
}

/// The uid and gid of [`WORKER_USER`].
fn worker_ids() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(WORKER_USER).ok()?;
    // SAFETY: getpwnam reads a NUL-terminated name; the record is copied out
    // at once (no other thread of ours calls getpwnam).
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: non-null, as checked.
    let pw = unsafe { &*pw };
    Some((pw.pw_uid, pw.pw_gid))
}
