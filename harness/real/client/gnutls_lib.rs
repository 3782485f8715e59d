//! libgnutls's own client-certificate selection (no retrieve callback),
//! measured with a small C program against the installed library.
//!
//! - Wallet: `gnutls_certificate_set_x509_key_file(chain, key)` once per
//!   certificate in wallet order. The program is `gnutls_lib_client.c`
//!   beside this file, built with `cc ... -lgnutls` once per source and
//!   compiler into `~/.cache/mtls-harness/gnutls-lib-client-<hash>/`.
//! - Version: a priority string with only the case's version.
//! - Result: `HTTP <status>` and the page, or `ERROR` and GnuTLS's error.

use super::cache::{built, Build};
use super::{read_script_output, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::AfterRequest;
use crate::knobs::SelectionPolicy;
use std::path::PathBuf;
use std::sync::Mutex;

pub(crate) struct GnutlsLib;

const SOURCE: &str = include_str!("gnutls_lib_client.c");

impl RealClient for GnutlsLib {
    const NAME: &'static str = "gnutls-lib";
    const FAMILY: &'static str = "libgnutls";
    const PROGRAM: &'static str = "cc";
    const PACKAGE: &'static str = "libgnutls28-dev";
    const POLICY: SelectionPolicy = SelectionPolicy::GnutlsDefault;
    const WALLET: &'static str = "PEM, `gnutls_certificate_set_x509_key_file` once per certificate in wallet order, no retrieve callback (a C program built once per source and compiler)";
    const EVIDENCE: &'static str = "lib/auth/cert.c `find_x509_client_cert`: no issuers and one certificate sends it; otherwise the first certificate issued by one of the server's names, in the server's order; measured with GnuTLS 3.7";
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Err(
        "its C program always requests `/` over HTTP/1.0 and handles no rehandshake; `gnutls-cli` measures the same library",
    );

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let mut args = job.program_args([job.port.to_string()]);
        args.extend(job.pem_wallet_args());
        Ok(ClientCommand::of(Self::executable()?, args))
    }

    fn read(_success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        read_script_output(stdout, stderr)
    }

    fn executable() -> Result<PathBuf, RealClientError> {
        static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
        let cc = crate::real::kind::find_installed(Self::PROGRAM, "gcc")
            .map_err(RealClientError::Missing)?;
        built(
            &BUILT,
            Build {
                what: "the real:gnutls-lib client",
                name: "gnutls-lib-client",
                toolchain: &cc,
                version_args: &["--version"],
                files: &[("client.c", SOURCE)],
                build: &["-O1", "-o", "{out}", "client.c", "-lgnutls"],
                env: &[],
                product: "mtls-gnutls-lib",
            },
        )
    }
}
