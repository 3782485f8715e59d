//! stunnel 5 as a TLS offloader: it verifies the client's certificate when
//! one is sent (`verifyChain`, `requireCert = no`, as the built-in
//! offloader asks without requiring) and cannot add headers. The gateway
//! speaks TLS, so a second, chained `client = yes` service on a spare local
//! port opens the upstream TLS connection, with `[middlebox] upstream_cert`
//! as its certificate when the scenario gives one.

use super::{files, MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::MiddleboxKind;
use crate::observation::TlsVersion;
use std::fmt::Write;

pub(crate) struct Stunnel;

impl MiddleboxProgram for Stunnel {
    const NAME: &'static str = "stunnel";
    const PROGRAM: &'static str = "stunnel4";
    const PACKAGE: &'static str = "stunnel4";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Offload];
    const SPARE_PORT: bool = true;

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let v = match job.version {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        };
        let p = |rel: &str| job.path(rel);
        let mut c = String::new();
        let _ = writeln!(c, "; mtls-harness: real stunnel (offloader) for one case");
        let _ = writeln!(c, "foreground = yes\npid =\ndebug = info");
        let _ = writeln!(c, "[offload]\naccept = 127.0.0.1:{}", job.port);
        let _ = writeln!(c, "cert = {}\nkey = {}", p(files::FRONT_CHAIN), p(files::FRONT_KEY));
        let _ = writeln!(c, "sslVersion = {v}");
        if job.request_client_cert {
            let _ = writeln!(c, "CAfile = {}", p(files::CLIENT_CA));
            let _ = writeln!(c, "verifyChain = yes\nrequireCert = no");
        }
        let _ = writeln!(c, "connect = 127.0.0.1:{}", job.spare_port);
        let _ = writeln!(c, "[upstream]\nclient = yes\naccept = 127.0.0.1:{}", job.spare_port);
        let _ = writeln!(c, "connect = {}", job.upstream);
        let _ = writeln!(c, "sni = {0}\ncheckHost = {0}", job.upstream_name);
        let _ = writeln!(c, "CAfile = {}\nverifyChain = yes", p(files::UPSTREAM_CA));
        let _ = writeln!(c, "sslVersion = {v}");
        if job.upstream_identity {
            let _ = writeln!(c, "cert = {}\nkey = {}", p(files::PROXY_CHAIN), p(files::PROXY_KEY));
        }
        out.files.push(("stunnel.conf".into(), c));
        out.config_file = Some("stunnel.conf".into());
        out.args = vec![p("stunnel.conf")];
    }
}
