//! nginx `proxy_pass https://` as a TLS offloader: `ssl_verify_client
//! optional` with the gateway's trust anchors (it verifies a certificate
//! when one is sent, and asks without requiring, as the built-in offloader
//! does), the certificate forwarded with `proxy_set_header` as
//! `$ssl_client_escaped_cert` (url-encoded PEM) or inside an XFCC `Cert=""`
//! field, and `proxy_ssl_certificate` for `[middlebox] upstream_cert`.
//! `proxy_set_header` replaces whatever header of that name the client sent,
//! and sends none when the value is empty. Without `ssl_verify_client` it is
//! an interceptor: no CertificateRequest, a new upstream TLS connection.

use super::{files, MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::observation::TlsVersion;
use std::fmt::Write;

pub(crate) struct Nginx;

impl MiddleboxProgram for Nginx {
    const NAME: &'static str = "nginx";
    const PROGRAM: &'static str = "nginx";
    const PACKAGE: &'static str = "nginx";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Offload, MiddleboxKind::Intercept];
    const HEADERS: &'static [ForwardHeader] = &[ForwardHeader::XSslClientCert, ForwardHeader::Xfcc];

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let v = match job.version {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        };
        let p = |rel: &str| job.path(rel);
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real nginx ({}) for one case", job.kind.name());
        let _ = writeln!(c, "worker_processes 1;\nerror_log {} info;", p("logs/error.log"));
        let _ = writeln!(c, "pid {};\nevents {{ worker_connections 64; }}\nhttp {{", p("logs/nginx.pid"));
        let _ = writeln!(c, "  access_log {};", p("logs/access.log"));
        for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            let _ = writeln!(c, "  {t}_temp_path {};", p(&format!("tmp/{t}")));
        }
        if job.header == Some(ForwardHeader::Xfcc) {
            // No certificate, no header (as the escaped PEM alone would be).
            let _ = writeln!(
                c,
                "  map $ssl_client_escaped_cert $xfcc {{ \"\" \"\"; default \"Cert=\\\"$ssl_client_escaped_cert\\\"\"; }}"
            );
        }
        let _ = writeln!(c, "  server {{\n    listen 127.0.0.1:{} ssl;", job.port);
        let _ = writeln!(c, "    ssl_certificate {};", p(files::FRONT_CHAIN));
        let _ = writeln!(c, "    ssl_certificate_key {};", p(files::FRONT_KEY));
        let _ = writeln!(c, "    ssl_protocols {v};");
        if job.kind == MiddleboxKind::Offload && job.request_client_cert {
            let _ = writeln!(c, "    ssl_verify_client optional;");
            let _ = writeln!(c, "    ssl_verify_depth 10;");
            let _ = writeln!(c, "    ssl_client_certificate {};", p(files::CLIENT_CA));
        }
        let _ = writeln!(c, "    location / {{");
        let _ = writeln!(c, "      proxy_pass https://{};", job.upstream);
        let _ = writeln!(c, "      proxy_ssl_protocols {v};");
        let _ = writeln!(c, "      proxy_ssl_name {};\n      proxy_ssl_server_name on;", job.upstream_name);
        let _ = writeln!(c, "      proxy_ssl_verify on;");
        let _ = writeln!(c, "      proxy_ssl_trusted_certificate {};", p(files::UPSTREAM_CA));
        if job.upstream_identity {
            let _ = writeln!(c, "      proxy_ssl_certificate {};", p(files::PROXY_CHAIN));
            let _ = writeln!(c, "      proxy_ssl_certificate_key {};", p(files::PROXY_KEY));
        }
        match job.header {
            Some(ForwardHeader::Xfcc) => {
                let _ = writeln!(c, "      proxy_set_header X-Forwarded-Client-Cert $xfcc;");
            }
            Some(h) => {
                let _ = writeln!(c, "      proxy_set_header {} $ssl_client_escaped_cert;", h.header_name());
            }
            None => {}
        }
        let _ = writeln!(c, "    }}\n  }}\n}}");
        out.files.push(("nginx.conf".into(), c));
        out.dirs.extend(["logs".into(), "tmp".into()]);
        out.config_file = Some("nginx.conf".into());
        out.args = vec![
            "-p".into(),
            format!("{}/", job.prefix.display()),
            "-e".into(),
            p("logs/error.log"),
            "-c".into(),
            p("nginx.conf"),
            "-g".into(),
            "daemon off;".into(),
        ];
        out.logs = vec!["logs/error.log".into()];
    }
}
