//! Real Go `net/http` (crypto/tls), judged as the `go` profile.
//!
//! The server is `go_server.go` beside this file, built with the installed
//! Go toolchain (Debian `golang-go`) from the standard library alone: once
//! per process, into a cache directory keyed by the source and the Go
//! version (`$XDG_CACHE_HOME` or `~/.cache`, else the temp dir,
//! `mtls-harness/go-<hash>/`), so later runs start at once.
//!
//! - `-mode` is `tls.Config.ClientAuth`, one to one with the profile's
//!   modes (`none` when no certificate is asked for).
//! - `-client-ca` is `ClientCAs`: every trusted CA (and the filler CAs of an
//!   oversized list). Go sends the whole pool as CA names and has no other
//!   list; it has no CRL setting, so `[server] crls` are not loaded.
//! - It logs to stderr and prints `listening on` once it listens.
//!
//! It has no config file, hence no config check.

use super::{Job, RealProgram, RenderedGateway};
use crate::gateway::{self, go::GoMode, ProfileMode};
use crate::real::RealError;
use crate::real::bounded::{output_within, BUILD_LIMIT, SETUP_LIMIT};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub(crate) struct Go;

/// The Go server's source.
pub const SOURCE: &str = include_str!("go_server.go");
const GO_MOD: &str = "module mtlsharness/goserver\n\ngo 1.19\n";
const BINARY: &str = "mtls-go-server";

/// The Go client-CA pool file (trusted and filler CAs).
const CLIENT_CAS: &str = "go-client-cas.pem";

impl RealProgram for Go {
    const NAME: &'static str = "go";
    /// The toolchain that builds the server.
    const PROGRAM: &'static str = "go";
    const PACKAGE: &'static str = "golang-go";
    type Judge = gateway::go::Go;

    type Verify = GoMode;

    fn verify(mode: GoMode) -> Option<GoMode> {
        // Every mode is a `tls.ClientAuthType` of its own.
        Some(match mode {
            GoMode::RequireAndVerify => GoMode::RequireAndVerify,
            GoMode::VerifyIfGiven => GoMode::VerifyIfGiven,
            GoMode::Request => GoMode::Request,
            GoMode::RequireAny => GoMode::RequireAny,
        })
    }

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let version = match job.version {
            crate::observation::TlsVersion::Tls12 => "1.2",
            crate::observation::TlsVersion::Tls13 => "1.3",
        };
        out.args = vec![
            "-listen".into(),
            format!("127.0.0.1:{}", job.port),
            "-cert".into(),
            job.path(super::material::SERVER_CHAIN),
            "-key".into(),
            job.path(super::material::SERVER_KEY),
            "-tls".into(),
            version.into(),
            "-mode".into(),
            // `-mode` spells the profile's modes as they are named.
            job.verify.map_or("none", ProfileMode::name).into(),
        ];
        if job.verify.is_some() {
            let pool = job.material.whole_pool_pem();
            out.files.push((CLIENT_CAS.into(), pool, false));
            out.args.extend(["-client-ca".into(), job.path(CLIENT_CAS)]);
        }
        out.logs = vec!["stderr.log".into()];
        out.ready_marker = Some(("stderr.log".into(), "listening on".into()));
        Ok(())
    }

    fn check_args(_prefix: &Path) -> Option<Vec<String>> {
        None
    }

    fn executable() -> Result<PathBuf, RealError> {
        static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = built.as_ref().filter(|p| p.is_file()) {
            return Ok(path.clone());
        }
        let path = build()?;
        *built = Some(path.clone());
        Ok(path)
    }
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RealError + '_ {
    move |source| RealError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Build the server (or find it built for this source and Go version).
fn build() -> Result<PathBuf, RealError> {
    let go = super::super::kind::find_installed(Go::PROGRAM, Go::PACKAGE)?;
    let version = output_within(Command::new(&go).arg("version"), SETUP_LIMIT)?;
    let key = super::fnv(&[SOURCE.as_bytes(), GO_MOD.as_bytes(), &version.stdout]);
    let dir = super::cache_root().join(format!("go-{key:016x}"));
    let binary = dir.join(BINARY);
    if binary.is_file() {
        return Ok(binary);
    }
    let src = dir.join(format!("src-{}", std::process::id()));
    std::fs::create_dir_all(&src).map_err(io_error(&src))?;
    let main = src.join("main.go");
    std::fs::write(&main, SOURCE).map_err(io_error(&main))?;
    let module = src.join("go.mod");
    std::fs::write(&module, GO_MOD).map_err(io_error(&module))?;
    let staged = dir.join(format!("{BINARY}.{}", std::process::id()));
    let output = output_within(
        Command::new(&go)
            .args(["build", "-trimpath", "-o"])
            .arg(&staged)
            .arg(".")
            .current_dir(&src)
            // The standard library only: nothing is downloaded.
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "on")
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", dir.join("gocache"))
            .env("GOPATH", dir.join("gopath")),
        BUILD_LIMIT,
    );
    let _ = std::fs::remove_dir_all(&src);
    let output = output.inspect_err(|_| {
        let _ = std::fs::remove_file(&staged);
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&staged);
        return Err(RealError::Build {
            what: "the real:go server",
            status: output.status.to_string(),
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    // Atomic: a concurrent process sees no binary or a whole one.
    std::fs::rename(&staged, &binary).map_err(io_error(&binary))?;
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, setup};
    use crate::real::{render, RealKind};
    use std::path::Path;

    #[test]
    fn modes_and_the_whole_pool_go_to_the_flags() {
        for (mode, flag) in [
            ("require-and-verify", "require-and-verify"),
            ("verify-if-given", "verify-if-given"),
            ("request", "request"),
            ("require-any", "require-any"),
        ] {
            let (pki, server) = setup(&format!("mode = {{ go = \"{mode}\" }}\n"));
            let g = render(
                RealKind::Go,
                &pki,
                &server,
                TlsVersion::Tls12,
                1,
                Path::new("/p"),
            )
            .unwrap();
            let args = g.args.join(" ");
            assert!(args.contains(&format!("-mode {flag}")), "{args}");
            assert!(args.contains("-tls 1.2") && args.contains("-listen 127.0.0.1:1"));
            assert!(args.contains("-client-ca /p/go-client-cas.pem"), "{args}");
            // Both roots, though only root-a is named ("flagged"): Go sends its pool.
            assert_eq!(
                file(&g, "go-client-cas.pem")
                    .matches("BEGIN CERTIFICATE")
                    .count(),
                2
            );
        }
        let (pki, mut server) = setup("");
        server.client_auth = crate::scenario::schema::ClientAuth::None;
        let g = render(
            RealKind::Go,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            Path::new("/p"),
        )
        .unwrap();
        assert!(g.args.join(" ").contains("-mode none"));
        assert!(!g.args.iter().any(|a| a == "-client-ca"));
    }
}
