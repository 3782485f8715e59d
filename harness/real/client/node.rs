//! Node's `https` module.
//!
//! - Wallet: a `pfx` array, one PKCS#12 file per certificate in wallet
//!   order (a `cert`/`key` array pair sets every key before any
//!   certificate and fails with "key values mismatch"). Each entry replaces
//!   the one before in OpenSSL's `SSL_CTX`: the last loaded is sent.
//! - Version: `minVersion = maxVersion`.
//! - Result: the script prints `HTTP <status>` and the page, or `ERROR`
//!   and the error code and message.

use super::{read_script_output, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError, WALLET_PASSWORD};
use super::{AfterRequest, Answer, OverH2};
use crate::knobs::SelectionPolicy;

pub(crate) struct Node;

const SCRIPT: &str = r#"
const https = require('https'), fs = require('fs');
const [port, path, version, ca, timeout, pass, ...p12] = process.argv.slice(2);
const v = 'TLSv' + version;
const fail = (e) => { process.stdout.write(`ERROR ${e.code || ''} ${e.message}\n`); process.exit(1); };
try {
  const req = https.request({
    host: 'localhost', port: Number(port), path, method: 'GET',
    ca: fs.readFileSync(ca), minVersion: v, maxVersion: v, agent: false,
    pfx: p12.map((f) => ({ buf: fs.readFileSync(f), passphrase: pass })),
    timeout: Number(timeout) * 1000,
  }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { body += d; });
    res.on('end', () => { process.stdout.write(`HTTP ${res.statusCode}\n${body}`); });
    res.on('error', fail);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', fail);
  req.end();
} catch (e) { fail(e); }
"#;

impl RealClient for Node {
    const NAME: &'static str = "node";
    const FAMILY: &'static str = "Node";
    const PROGRAM: &'static str = "node";
    const PACKAGE: &'static str = "nodejs";
    const POLICY: SelectionPolicy = SelectionPolicy::AlwaysLast;
    const WALLET: &'static str = "PKCS#12, a `pfx` array in wallet order";
    const EVIDENCE: &'static str = "Node's TLS (OpenSSL, no certificate callback) sends the configured certificate whatever the CA names; each `pfx` entry replaces the previous one of the same key type; measured (Node 20): [alice, bob] sends bob, [bob, alice] sends alice";
    /// Node's TLS client (OpenSSL) accepts a server's renegotiation and
    /// never calls `SSL_set_post_handshake_auth` (src/crypto); the `https`
    /// module is HTTP/1.1 only.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::Always,
        post_handshake_auth: Answer::Never,
        over_h2: OverH2::NotOffered,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let script = job.write_script("client.js", SCRIPT)?;
        let mut args = job.program_args([
            script.display().to_string(),
            job.port.to_string(),
            job.path(),
        ]);
        args.push(WALLET_PASSWORD.into());
        args.extend(job.p12_wallet_args()?);
        Ok(ClientCommand::of(Self::executable()?, args))
    }

    fn read(_success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        read_script_output(stdout, stderr)
    }
}
