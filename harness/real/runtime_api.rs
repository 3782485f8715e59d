//! HAProxy's runtime API on its stats socket (`stats socket ... level
//! admin` in the rendered config): certificates, CA files and CRLs
//! replaced without a reload (`set ssl <what> <path>`, then `commit ssl
//! <what> <path>`). Used by `bench --during` and by `[[step]]` reloads
//! `via = "runtime-api"`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// One command, a connection each (as the non-interactive mode takes
/// them); its answer. Every read and write has a 5 s limit.
pub fn command(socket: &Path, command: &str) -> std::io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(command.as_bytes())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Why a replacement was not applied.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("HAProxy's runtime API socket {socket}: {source}")]
    Io {
        socket: String,
        #[source]
        source: std::io::Error,
    },
    #[error("HAProxy's runtime API refused the new {what}: {answer}")]
    Refused { what: String, answer: String },
}

/// `set ssl <what> <path>` with `payload` (PEM), then `commit ssl <what>
/// <path>`; `what` is `cert`, `ca-file` or `crl-file`.
pub fn replace(
    socket: &Path,
    what: &str,
    path: &Path,
    payload: &str,
) -> Result<(), RuntimeApiError> {
    let io = |source| RuntimeApiError::Io {
        socket: socket.display().to_string(),
        source,
    };
    let path = path.display();
    let set = command(
        socket,
        &format!("set ssl {what} {path} <<\n{}\n\n", payload.trim_end()),
    )
    .map_err(io)?;
    let commit = command(socket, &format!("commit ssl {what} {path}\n")).map_err(io)?;
    if commit.contains("Success") {
        Ok(())
    } else {
        Err(RuntimeApiError::Refused {
            what: what.to_string(),
            answer: format!("{} {}", set.trim(), commit.trim()),
        })
    }
}
