//! HAProxy 2.6 as a TLS offloader: `verify optional` with the gateway's trust
//! anchors, the certificate forwarded as RFC 9440 `Client-Cert:
//! :%[ssl_c_der,base64]:` or as bare base64 DER in `X-SSL-Client-Cert`
//! (only when the client sent one; a header of that name from the client is
//! deleted first), and `[middlebox] upstream_cert` as the server line's `crt`.

use super::{files, MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::observation::TlsVersion;
use std::fmt::Write;

pub(crate) struct Haproxy;

impl MiddleboxProgram for Haproxy {
    const NAME: &'static str = "haproxy";
    const PROGRAM: &'static str = "haproxy";
    const PACKAGE: &'static str = "haproxy";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Offload];
    const HEADERS: &'static [ForwardHeader] =
        &[ForwardHeader::ClientCert, ForwardHeader::HaproxyBase64Der];

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let v = match job.version {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        };
        let p = |rel: &str| job.path(rel);
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real HAProxy (offloader) for one case");
        let _ = writeln!(c, "global\n  log stderr format raw local0 info");
        let _ = writeln!(
            c,
            "defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s"
        );
        let mut bind = format!(
            "  bind 127.0.0.1:{} ssl crt {} ssl-min-ver {v} ssl-max-ver {v} alpn http/1.1",
            job.port,
            p(files::FRONT_COMBINED)
        );
        if job.request_client_cert {
            let _ = write!(bind, " ca-file {} verify optional", p(files::CLIENT_CA));
        }
        let _ = writeln!(c, "frontend fe\n{bind}");
        if let Some(h) = job.header {
            let value = match h {
                ForwardHeader::ClientCert => ":%[ssl_c_der,base64]:",
                _ => "%[ssl_c_der,base64]",
            };
            let _ = writeln!(c, "  http-request del-header {}", h.header_name());
            let _ = writeln!(
                c,
                "  http-request set-header {} {value} if {{ ssl_c_used }}",
                h.header_name()
            );
        }
        let _ = writeln!(c, "  default_backend gateway");
        let mut server = format!(
            "  server gw {} ssl verify required ca-file {} sni str({name}) verifyhost {name} ssl-min-ver {v} ssl-max-ver {v}",
            job.upstream,
            p(files::UPSTREAM_CA),
            name = job.upstream_name,
        );
        if job.upstream_identity {
            let _ = write!(server, " crt {}", p(files::PROXY_COMBINED));
        }
        let _ = writeln!(c, "backend gateway\n{server}");
        out.files.push(("haproxy.cfg".into(), c));
        out.config_file = Some("haproxy.cfg".into());
        out.args = vec!["-f".into(), p("haproxy.cfg"), "-db".into()];
    }
}
