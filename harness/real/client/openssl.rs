//! `openssl s_client`.
//!
//! - Wallet: `-cert` (the leaf), `-key`, `-cert_chain` (the intermediates):
//!   one identity, the wallet's first.
//! - Version: `-tls1_2` / `-tls1_3`.
//! - Result: an HTTP/1.1 request on its standard input (`-quiet`: no
//!   session dump, the connection is read until the server closes it); the
//!   response on stdout, OpenSSL's error on stderr.

use super::{last_lines, read_raw_http, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Answer, OverH2};
use crate::knobs::SelectionPolicy;

pub(crate) struct Openssl;

impl RealClient for Openssl {
    const NAME: &'static str = "openssl";
    const FAMILY: &'static str = "OpenSSL";
    const PROGRAM: &'static str = "openssl";
    const PACKAGE: &'static str = "openssl";
    const POLICY: SelectionPolicy = SelectionPolicy::Always;
    const WALLET: &'static str = "PEM (`-cert`, `-key`, `-cert_chain`): one identity, the wallet's first";
    const EVIDENCE: &'static str = "s_client installs no client_cert_cb: libssl sends the configured certificate whatever the CA names (it only prints them as `Acceptable client certificate CA names`); measured";
    /// OpenSSL's client accepts a server's renegotiation (secure
    /// renegotiation, RFC 5746); it offers `post_handshake_auth` only with
    /// `-enable_pha` (apps/s_client.c `SSL_set_post_handshake_auth`). It
    /// writes the request as raw HTTP/1.1 and offers no ALPN.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::Always,
        post_handshake_auth: Answer::WithOption("`-enable_pha`"),
        over_h2: OverH2::NotOffered,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let mut args: Vec<String> = vec![
            "s_client".into(),
            "-connect".into(),
            format!("127.0.0.1:{}", job.port),
            "-servername".into(),
            "localhost".into(),
            "-CAfile".into(),
            job.server_ca.display().to_string(),
            "-verify_return_error".into(),
            "-quiet".into(),
            match job.version {
                crate::observation::TlsVersion::Tls12 => "-tls1_2".into(),
                crate::observation::TlsVersion::Tls13 => "-tls1_3".into(),
            },
        ];
        if job.after_request.post_handshake_auth {
            args.push("-enable_pha".into());
        }
        if let Some(first) = job.wallet.first() {
            args.extend([
                "-cert".into(),
                first.leaf.display().to_string(),
                "-key".into(),
                first.key.display().to_string(),
            ]);
            if let Some(i) = &first.intermediates {
                args.extend(["-cert_chain".into(), i.display().to_string()]);
            }
        }
        Ok(ClientCommand {
            program: Self::executable()?,
            args,
            stdin: Some(job.raw_request()),
            ..Default::default()
        })
    }

    fn read(_success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        match read_raw_http(stdout) {
            Some(http) => ClientReport {
                http: Some(http),
                ..Default::default()
            },
            None => ClientReport {
                error: Some(last_lines(stderr)),
                ..Default::default()
            },
        }
    }
}
