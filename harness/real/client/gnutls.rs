//! `gnutls-cli`.
//!
//! - Wallet: `--x509certfile` (leaf and intermediates) and `--x509keyfile`:
//!   one identity, the wallet's first.
//! - Version: `--priority NORMAL:-VERS-ALL:+VERS-TLS1.X`.
//! - Result: an HTTP/1.1 request on its standard input, kept open until it
//!   exits (at the end of its input it stops sending before the answer);
//!   the response on stdout among its `- ...` status lines, errors on
//!   stderr (`*** Fatal error: ...`).

use super::{last_lines, read_raw_http, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Answer, OverH2};
use crate::knobs::SelectionPolicy;

pub(crate) struct Gnutls;

impl RealClient for Gnutls {
    const NAME: &'static str = "gnutls";
    const FAMILY: &'static str = "GnuTLS";
    const PROGRAM: &'static str = "gnutls-cli";
    const PACKAGE: &'static str = "gnutls-bin";
    const POLICY: SelectionPolicy = SelectionPolicy::Always;
    const WALLET: &'static str = "PEM (`--x509certfile`, `--x509keyfile`): one identity, the wallet's first";
    const EVIDENCE: &'static str = "gnutls-cli installs its own certificate callback (`cert_callback` in src/cli.c), which returns the loaded certificate whatever the CA names; measured. libgnutls's default selection without a callback is different (see docs/clients.md)";
    /// Measured (GnuTLS 3.7 against Apache 2.4 with OpenSSL 3.0):
    /// gnutls-cli takes part in a server's renegotiation and sends its
    /// certificate, but when the certificate is accepted the new handshake
    /// fails on its side ("An unexpected TLS packet was received"), so the
    /// page never comes; by hand, with `SSLSessionTickets off` the same
    /// renegotiation completes and the page comes (the unexpected packet is
    /// the NewSessionTicket OpenSSL sends in the renegotiation). It offers
    /// post-handshake authentication only with `--post-handshake-auth`
    /// (`GNUTLS_POST_HANDSHAKE_AUTH`, src/cli.c). It writes the request as
    /// raw HTTP/1.1 and offers no ALPN.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::SendsThenFails(
            "\"An unexpected TLS packet was received\" after the new handshake",
        ),
        post_handshake_auth: Answer::WithOption("`--post-handshake-auth`"),
        over_h2: OverH2::NotOffered,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let mut args: Vec<String> = vec![
            "--x509cafile".into(),
            job.server_ca.display().to_string(),
            "--priority".into(),
            format!("NORMAL:-VERS-ALL:+VERS-TLS{}", job.version_number()),
            "--port".into(),
            job.port.to_string(),
        ];
        if job.after_request.post_handshake_auth {
            args.push("--post-handshake-auth".into());
        }
        if let Some(first) = job.wallet.first() {
            args.extend([
                "--x509certfile".into(),
                first.chain.display().to_string(),
                "--x509keyfile".into(),
                first.key.display().to_string(),
            ]);
        }
        args.push("localhost".into());
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
            None => {
                let all = format!("{stdout}\n{stderr}");
                // The alert it received, when it names one (`*** Received
                // alert [48]: CA is unknown`): what follows it varies.
                let error = all
                    .lines()
                    .find(|l| l.starts_with("*** Received alert ["))
                    .map(|l| l.trim_start_matches("*** ").to_string())
                    .unwrap_or_else(|| last_lines(&all));
                ClientReport {
                    error: Some(error),
                    ..Default::default()
                }
            }
        }
    }
}
