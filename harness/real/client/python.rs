//! Python's `ssl` module (`http.client` over an `ssl.SSLContext`).
//!
//! - Wallet: `SSLContext.load_cert_chain(chain, key)` once per certificate,
//!   in wallet order. OpenSSL's `SSL_CTX` holds one certificate per key
//!   type, so each call replaces the one before: the last loaded is sent.
//! - Version: `minimum_version = maximum_version`.
//! - Result: the script prints `HTTP <status>` and the page, or `ERROR`
//!   and the exception.

use super::{read_script_output, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Answer, OverH2};
use crate::knobs::SelectionPolicy;

pub(crate) struct Python;

const SCRIPT: &str = r#"
import http.client, ssl, sys
import os
port, path = int(sys.argv[1]), sys.argv[2]
version, ca, timeout = sys.argv[3], sys.argv[4], float(sys.argv[5])
pairs = sys.argv[6:]
try:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = v
    ctx.maximum_version = v
    ctx.load_verify_locations(ca)
    if os.environ.get("MTLS_POST_HANDSHAKE_AUTH") == "1":
        ctx.post_handshake_auth = True
    for i in range(0, len(pairs), 2):
        ctx.load_cert_chain(pairs[i], pairs[i + 1])
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=timeout)
    conn.request("GET", path)
    r = conn.getresponse()
    sys.stdout.write("HTTP %d\n%s" % (r.status, r.read().decode("utf-8", "replace")))
except Exception as e:
    sys.stdout.write("ERROR %s: %s\n" % (type(e).__name__, e))
    sys.exit(1)
"#;

impl RealClient for Python {
    const NAME: &'static str = "python";
    const FAMILY: &'static str = "Python";
    const PROGRAM: &'static str = "python3";
    const PACKAGE: &'static str = "python3";
    const POLICY: SelectionPolicy = SelectionPolicy::AlwaysLast;
    const WALLET: &'static str = "PEM, `load_cert_chain` once per certificate in wallet order";
    const EVIDENCE: &'static str = "no certificate callback: OpenSSL sends the configured certificate whatever the CA names, and each `load_cert_chain` replaces the previous one of the same key type (`SSL_CTX_use_certificate`); measured: wallet [alice, bob] sends bob, [bob, alice] sends alice";
    /// OpenSSL underneath accepts a server's renegotiation; TLS 1.3
    /// post-handshake authentication only with
    /// `SSLContext.post_handshake_auth = True` (Modules/_ssl.c; http.client
    /// sets it only on a context it makes itself). `http.client` is
    /// HTTP/1.1 only.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::Always,
        post_handshake_auth: Answer::WithOption("`post_handshake_auth = True`"),
        over_h2: OverH2::NotOffered,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let script = job.write_script("client.py", SCRIPT)?;
        let mut args = job.program_args([
            script.display().to_string(),
            job.port.to_string(),
            job.path(),
        ]);
        args.extend(job.pem_wallet_args());
        let mut cmd = ClientCommand::of(Self::executable()?, args);
        if job.after_request.post_handshake_auth {
            cmd.env
                .push(("MTLS_POST_HANDSHAKE_AUTH".into(), "1".into()));
        }
        Ok(cmd)
    }

    fn read(_success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        read_script_output(stdout, stderr)
    }
}
