//! curl (libcurl with OpenSSL).
//!
//! - Wallet: `--cert` takes one identity (the chain file: leaf and the
//!   intermediates, `SSL_CTX_use_certificate_chain_file`) and `--key`; the
//!   harness gives it the wallet's first certificate.
//! - Version: `--tlsv1.X --tls-max 1.X`.
//! - Result: `-w '%{http_code}'` on stdout, the page in a file, or curl's
//!   error on stderr (code `000`).

use super::{last_lines, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Alpn, Answer, OverH2};
use crate::knobs::SelectionPolicy;

pub(crate) struct Curl;

const BODY: &str = "curl-body.txt";

impl RealClient for Curl {
    const NAME: &'static str = "curl";
    const FAMILY: &'static str = "curl";
    const PROGRAM: &'static str = "curl";
    const PACKAGE: &'static str = "curl";
    const POLICY: SelectionPolicy = SelectionPolicy::Always;
    const WALLET: &'static str = "PEM chain and key (`--cert`, `--key`): one identity, the wallet's first";
    const EVIDENCE: &'static str = "OpenSSL's client sends the configured certificate whatever the CA names (no client_cert_cb: `SSL_CTX_use_certificate`); measured: sent to a server naming only another root";
    /// libcurl's OpenSSL backend calls `SSL_set_post_handshake_auth(ssl, 1)`
    /// (lib/vtls/openssl.c) and leaves renegotiation to OpenSSL, which
    /// accepts a server's; on a stream reset with HTTP_1_1_REQUIRED it
    /// retries on a new HTTP/1.1 connection (lib/http2.c).
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::Always,
        post_handshake_auth: Answer::Always,
        over_h2: OverH2::RetriesOverHttp11,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let v = job.version_number();
        let mut args: Vec<String> = vec![
            "-sS".into(),
            "--max-time".into(),
            job.timeout.as_secs().max(1).to_string(),
            "--cacert".into(),
            job.server_ca.display().to_string(),
            format!("--tlsv{v}"),
            "--tls-max".into(),
            v.into(),
            "-o".into(),
            job.dir.join(BODY).display().to_string(),
            "-w".into(),
            "%{http_code}".into(),
        ];
        if let Some(first) = job.wallet.first() {
            args.extend([
                "--cert".into(),
                first.chain.display().to_string(),
                "--key".into(),
                first.key.display().to_string(),
            ]);
        }
        match job.after_request.alpn {
            None => {}
            Some(Alpn::Http11) => args.push("--http1.1".into()),
            Some(Alpn::H2) => args.push("--http2".into()),
        }
        for (name, value) in job.headers {
            args.extend(["-H".into(), format!("{name}: {value}")]);
        }
        if let Some(to) = job.connect_to {
            // `::HOST:PORT`: every host and port of the URL goes there.
            let host = match to.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            args.extend(["--connect-to".into(), format!("::{host}:{}", to.port())]);
        }
        args.push(job.url.clone());
        Ok(ClientCommand::of(Self::executable()?, args))
    }

    fn read(_success: bool, stdout: &str, stderr: &str, job: &ClientJob<'_>) -> ClientReport {
        match stdout.trim().parse::<u16>() {
            Ok(status) if status != 0 => ClientReport {
                http: Some((
                    status,
                    std::fs::read_to_string(job.dir.join(BODY)).unwrap_or_default(),
                )),
                ..Default::default()
            },
            _ => ClientReport {
                error: Some(last_lines(stderr)),
                ..Default::default()
            },
        }
    }
}
