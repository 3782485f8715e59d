//! What every [`RealKind`] shares (the enum itself is generated from the
//! registry of programs in `render/mod.rs`, one line per program).

use super::{RealError, RealKind};
use std::fmt;
use std::path::PathBuf;

impl RealKind {
    /// `nginx` or `real:nginx`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.strip_prefix("real:").unwrap_or(name);
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The executable to start: the installed program, or for a program
    /// the harness builds (real:go), the built file.
    pub fn find_program(self) -> Result<PathBuf, RealError> {
        self.executable()
    }
}

/// An installed executable, from `PATH` or the sbin directories (not always
/// on a non-root `PATH`).
pub(crate) fn find_installed(program: &str, package: &str) -> Result<PathBuf, RealError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| RealError::MissingProgram {
            program: program.into(),
            install: format!("apt-get install -y {package}"),
        })
}

impl fmt::Display for RealKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "real:{}", self.name())
    }
}
