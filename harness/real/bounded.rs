//! A short helper command (`openssl pkcs12`, `certutil`, `pk12util`, a
//! toolchain's version, `go build`, `javac`) run to completion under a time
//! limit: in its own process group, registered for the signal path, killed
//! as a group when it is over (a compiler's children go with it).

use super::process::ProcessGroup;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A setup command (a wallet file, an NSS database, a version query).
pub const SETUP_LIMIT: Duration = Duration::from_secs(60);
/// A build the harness makes once per source and toolchain (`go build` of
/// the standard library on a cold cache takes minutes on 2 cores).
pub const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Why a bounded command gave no output.
#[derive(Debug, thiserror::Error)]
pub enum BoundedError {
    #[error("`{command}` could not be started: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` did not finish within {limit:?}; it was killed with its process group")]
    TimedOut { command: String, limit: Duration },
}

/// `cmd` as one line: the program and its arguments.
fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run `cmd` (stdin empty) and collect its output, as
/// [`Command::output`], but kill its process group after `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Result<Output, BoundedError> {
    let command = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut group =
        ProcessGroup::spawn(cmd, Duration::ZERO).map_err(|source| BoundedError::Spawn {
            command: command.clone(),
            source,
        })?;
    // Read both pipes while it runs: a full pipe would stall it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        group
            .take_stdout()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        group
            .take_stderr()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = group.wait_timeout(limit);
    // Whatever is left of the group (a compiler's workers) goes with it,
    // so the pipes close and the readers finish.
    group.kill();
    let Some(status) = status else {
        return Err(BoundedError::TimedOut { command, limit });
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_over_its_limit_is_killed_with_a_named_error() {
        let mut cmd = Command::new("sh");
        // The child's own child must go too (the pipes would stay open).
        cmd.args(["-c", "sleep 30 & sleep 30"]);
        let err = output_within(&mut cmd, Duration::from_millis(300)).expect_err("over its limit");
        let text = err.to_string();
        assert!(text.contains("`sh -c sleep 30 & sleep 30`"), "{text}");
        assert!(text.contains("did not finish within 300ms"), "{text}");
    }

    #[test]
    fn a_command_within_its_limit_gives_its_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = output_within(&mut cmd, SETUP_LIMIT).expect("ran");
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
