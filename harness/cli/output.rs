//! What several commands share to print and write: reports written whole or
//! not at all, progress bars only on a terminal, the tokio runtime.

use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Write via a temp file in the same directory and rename: never a partial file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // A report is for others to read (a CI server, a colleague): the mode
    // a plain create gives (0666 less the umask), not a temp file's 0600.
    use std::os::unix::fs::PermissionsExt;
    let mut tmp = tempfile::Builder::new()
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot write here", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("{}: cannot write", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// `text` to `output` (atomically) or to stdout.
pub fn write_or_print(output: Option<&Path>, text: &str) -> Result<()> {
    match output {
        Some(p) => write_atomically(p, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// The runtime a load generator runs on: this one thread. The handshakes
/// in flight interleave on it with no task moved between threads (on the
/// two-worker runtime the same load cost 10 to 35% more CPU per handshake);
/// the built-in gateway under load has a thread of its own
/// (`bench/server.rs`), a real gateway its own processes.
pub fn load_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The runtime the async library calls run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
