//! Go's `crypto/tls` (`net/http` client).
//!
//! - Wallet: `tls.Config.Certificates`, one `tls.LoadX509KeyPair(chain,
//!   key)` per certificate in wallet order, no `GetClientCertificate`: Go's
//!   own selection. The client is `go_client.go` beside this file, built
//!   with the installed toolchain from the standard library alone, once per
//!   source and Go version into `~/.cache/mtls-harness/go-client-<hash>/`.
//! - Version: `MinVersion = MaxVersion`.
//! - Result: `HTTP <status>` and the page, or `ERROR` and Go's error.

use super::cache::{built, Build};
use super::{read_script_output, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Alpn, Answer, OverH2};
use crate::knobs::SelectionPolicy;
use std::path::PathBuf;
use std::sync::Mutex;

pub(crate) struct Go;

const SOURCE: &str = include_str!("go_client.go");
const GO_MOD: &str = "module mtlsharness/goclient\n\ngo 1.19\n";

impl RealClient for Go {
    const NAME: &'static str = "go";
    const FAMILY: &'static str = "Go";
    const PROGRAM: &'static str = "go";
    const PACKAGE: &'static str = "golang-go";
    const POLICY: SelectionPolicy = SelectionPolicy::MatchIssuerOrAnyIfEmpty;
    const WALLET: &'static str = "PEM, `tls.Config.Certificates` in wallet order (a Go program built once per source and toolchain)";
    const EVIDENCE: &'static str = "crypto/tls `getClientCertificate`: with no AcceptableCAs the first certificate, else the first whose chain has an issuer among them, else none (handshake_client.go); measured with Go 1.19";
    /// crypto/tls has no post-handshake authentication (golang/go#40521)
    /// and refuses renegotiation unless `Config.Renegotiation` allows it
    /// (handshake_client.go `handleRenegotiation`: "tls: no
    /// renegotiation"); net/http's HTTP/2 reports the stream reset.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::WithOption("`Renegotiation: tls.RenegotiateOnceAsClient`"),
        post_handshake_auth: Answer::Never,
        over_h2: OverH2::FailsWithStreamError,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let mut args = job.program_args([job.url.clone()]);
        args.extend(job.pem_wallet_args());
        let mut cmd = ClientCommand::of(Self::executable()?, args);
        if job.after_request.renegotiation {
            cmd.env.push(("MTLS_GO_RENEGOTIATION".into(), "once".into()));
        }
        if job.after_request.alpn == Some(Alpn::H2) {
            cmd.env.push(("MTLS_GO_HTTP2".into(), "1".into()));
        }
        Ok(cmd)
    }

    fn read(_success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        read_script_output(stdout, stderr)
    }

    fn executable() -> Result<PathBuf, RealClientError> {
        static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
        let go = crate::real::kind::find_installed(Self::PROGRAM, Self::PACKAGE)
            .map_err(RealClientError::Missing)?;
        let cache = crate::real::render::cache_root().join("go-client-build");
        built(
            &BUILT,
            Build {
                what: "the real:go client",
                name: "go-client",
                toolchain: &go,
                version_args: &["version"],
                files: &[("main.go", SOURCE), ("go.mod", GO_MOD)],
                build: &["build", "-trimpath", "-o", "{out}", "."],
                env: &[
                    ("GOPROXY", "off".into()),
                    ("GOFLAGS", "-mod=mod".into()),
                    ("GO111MODULE", "on".into()),
                    ("CGO_ENABLED", "0".into()),
                    ("GOCACHE", cache.join("gocache").display().to_string()),
                    ("GOPATH", cache.join("gopath").display().to_string()),
                ],
                product: "mtls-go-client",
            },
        )
    }
}
