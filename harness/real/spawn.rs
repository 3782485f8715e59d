//! How the harness starts a long-running real program (a gateway, a
//! middlebox): in the directory it was rendered into, its output to
//! `stdout.log` and `stderr.log` there. [`super::process::ProcessGroup`]
//! then starts it in a process group of its own, so that stopping it kills
//! everything it forked, with the signals the harness blocks for its own
//! handling unblocked again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The command for `program`; `Err` names the log file that could not be
/// created.
pub(crate) fn program_command(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    dir: &Path,
) -> Result<Command, (PathBuf, std::io::Error)> {
    let open = |rel: &str| {
        let p = dir.join(rel);
        std::fs::File::create(&p).map_err(|e| (p, e))
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(open("stdout.log")?)
        .stderr(open("stderr.log")?);
    Ok(cmd)
}
