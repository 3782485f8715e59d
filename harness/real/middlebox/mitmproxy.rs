//! mitmproxy 8 (`mitmdump`) in reverse mode as an interceptor: it terminates
//! the client's TLS with the scenario's certificate, sends no
//! CertificateRequest, and re-originates TLS to the gateway, presenting
//! `[middlebox] upstream_cert` there when the scenario gives one
//! (`client_certs`). It starts slowly (about 2 s: Python). On TLS 1.3, when
//! the gateway refuses the connection with an alert after the handshake
//! (certificate_required), it never answers the client (a HANG; measured in
//! front of real HAProxy and Apache too).

use super::{files, MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::MiddleboxKind;
use crate::observation::TlsVersion;

pub(crate) struct Mitmproxy;

impl MiddleboxProgram for Mitmproxy {
    const NAME: &'static str = "mitmproxy";
    const PROGRAM: &'static str = "mitmdump";
    const PACKAGE: &'static str = "mitmproxy";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Intercept];

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let v = match job.version {
            TlsVersion::Tls12 => "TLS1_2",
            TlsVersion::Tls13 => "TLS1_3",
        };
        let set = |k: &str, v: String| ["--set".to_string(), format!("{k}={v}")];
        let mut args = vec![
            "--mode".to_string(),
            format!("reverse:https://{}", job.upstream),
            "--listen-host".into(),
            "127.0.0.1".into(),
            "--listen-port".into(),
            job.port.to_string(),
            "--certs".into(),
            format!("*={}", job.path(files::FRONT_COMBINED)),
        ];
        // Its CA and generated certificates stay in the prefix.
        args.extend(set("confdir", job.path("mitmproxy")));
        args.extend(set("ssl_verify_upstream_trusted_ca", job.path(files::UPSTREAM_CA)));
        for side in ["client", "server"] {
            args.extend(set(&format!("tls_version_{side}_min"), v.into()));
            args.extend(set(&format!("tls_version_{side}_max"), v.into()));
        }
        if job.upstream_identity {
            args.extend(set("client_certs", job.path(files::PROXY_COMBINED)));
        }
        out.dirs.push("mitmproxy".into());
        out.args = args;
    }
}
