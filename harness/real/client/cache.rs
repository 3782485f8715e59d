//! Programs the harness builds for a real client (the Go client, the Java
//! client's class), once per source and toolchain, into the cache shared
//! with the real gateways (`~/.cache/mtls-harness/`).

use super::RealClientError;
use crate::real::bounded::{output_within, BUILD_LIMIT, SETUP_LIMIT};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RealClientError + '_ {
    move |source| RealClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to build: `files` written into a source directory, then `build`
/// (program and arguments, `{out}` replaced by the staged output path) run
/// there with `env`; the output is `product` below the cache directory.
pub(crate) struct Build<'a> {
    pub what: &'static str,
    /// The cache directory's name prefix (`go-client`).
    pub name: &'static str,
    pub toolchain: &'a Path,
    /// Arguments that print the toolchain's version (part of the key).
    pub version_args: &'a [&'a str],
    pub files: &'a [(&'a str, &'a str)],
    pub build: &'a [&'a str],
    pub env: &'a [(&'a str, String)],
    /// The built file or directory's name.
    pub product: &'a str,
}

/// Build once per process (and once per source and toolchain on disk).
pub(crate) fn built(
    memo: &Mutex<Option<PathBuf>>,
    spec: Build<'_>,
) -> Result<PathBuf, RealClientError> {
    let mut done = memo.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = done.as_ref().filter(|p| p.exists()) {
        return Ok(p.clone());
    }
    let version = output_within(
        Command::new(spec.toolchain).args(spec.version_args),
        SETUP_LIMIT,
    )?;
    let mut parts: Vec<&[u8]> = vec![&version.stdout, &version.stderr];
    for (n, s) in spec.files {
        parts.push(n.as_bytes());
        parts.push(s.as_bytes());
    }
    let key = crate::real::render::fnv(&parts);
    let dir = crate::real::render::cache_root().join(format!("{}-{key:016x}", spec.name));
    let product = dir.join(spec.product);
    if product.exists() {
        *done = Some(product.clone());
        return Ok(product);
    }
    let src = dir.join(format!("src-{}", std::process::id()));
    std::fs::create_dir_all(&src).map_err(io(&src))?;
    for (n, s) in spec.files {
        let p = src.join(n);
        std::fs::write(&p, s).map_err(io(&p))?;
    }
    let staged = dir.join(format!("{}.{}", spec.product, std::process::id()));
    let args: Vec<String> = spec
        .build
        .iter()
        .map(|a| a.replace("{out}", &staged.display().to_string()))
        .collect();
    let output = output_within(
        Command::new(spec.toolchain)
            .args(&args)
            .current_dir(&src)
            .envs(spec.env.iter().map(|(k, v)| (k, v))),
        BUILD_LIMIT,
    );
    let _ = std::fs::remove_dir_all(&src);
    let output = output.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&staged);
        let _ = std::fs::remove_file(&staged);
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staged);
        let _ = std::fs::remove_file(&staged);
        return Err(RealClientError::Build {
            what: spec.what,
            status: output.status.to_string(),
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    // Another process may have finished the same build: either is fine.
    if std::fs::rename(&staged, &product).is_err() && !product.exists() {
        return Err(RealClientError::Prepare {
            what: format!("{} into {}", spec.what, product.display()),
            log: "rename failed".into(),
        });
    }
    let _ = std::fs::remove_dir_all(&staged);
    *done = Some(product.clone());
    Ok(product)
}
