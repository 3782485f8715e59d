//! Apache httpd 2.4 mod_proxy as a TLS offloader: `SSLVerifyClient optional`
//! with the gateway's trust anchors, the certificate forwarded as
//! `X-SSL-Client-Cert: %{SSL_CLIENT_CERT}s` (PEM; mod_headers turns its
//! newlines into spaces) when one was verified (a header of that name from
//! the client is removed first), and `[middlebox] upstream_cert` as
//! `SSLProxyMachineCertificateFile`. Apache picks that certificate by issuer
//! against the origin's CA names, and sends none if nothing matches.

use super::{files, MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::observation::TlsVersion;
use crate::real::APACHE_MODULES;
use std::fmt::Write;

pub(crate) struct Apache;

impl MiddleboxProgram for Apache {
    const NAME: &'static str = "apache";
    const PROGRAM: &'static str = "apache2";
    const PACKAGE: &'static str = "apache2";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Offload];
    const HEADERS: &'static [ForwardHeader] = &[ForwardHeader::ApachePem];

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let v = match job.version {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        };
        let p = |rel: &str| job.path(rel);
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real Apache httpd (offloader) for one case");
        let _ = writeln!(c, "ServerRoot \"{}\"\nServerName localhost", job.prefix.display());
        let _ = writeln!(c, "PidFile \"{}\"\nDefaultRuntimeDir \"{}\"", p("logs/httpd.pid"), p("run"));
        for (name, file) in [
            ("mpm_event_module", "mod_mpm_event.so"),
            ("authz_core_module", "mod_authz_core.so"),
            ("socache_shmcb_module", "mod_socache_shmcb.so"),
            ("ssl_module", "mod_ssl.so"),
            ("proxy_module", "mod_proxy.so"),
            ("proxy_http_module", "mod_proxy_http.so"),
            ("headers_module", "mod_headers.so"),
        ] {
            let _ = writeln!(c, "LoadModule {name} {APACHE_MODULES}/{file}");
        }
        let _ = writeln!(
            c,
            "StartServers 1\nServerLimit 1\nThreadLimit 8\nThreadsPerChild 8\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8"
        );
        let _ = writeln!(c, "ErrorLog \"{}\"\nLogLevel info ssl:info proxy:info", p("logs/error.log"));
        let _ = writeln!(c, "SSLSessionCache none");
        let _ = writeln!(c, "Listen 127.0.0.1:{} https", job.port);
        let _ = writeln!(c, "<VirtualHost 127.0.0.1:{}>", job.port);
        let _ = writeln!(c, "  ServerName localhost\n  SSLEngine on\n  SSLProtocol -all +{v}");
        let _ = writeln!(c, "  SSLCertificateFile \"{}\"", p(files::FRONT_CHAIN));
        let _ = writeln!(c, "  SSLCertificateKeyFile \"{}\"", p(files::FRONT_KEY));
        if job.request_client_cert {
            let _ = writeln!(c, "  SSLCACertificateFile \"{}\"", p(files::CLIENT_CA));
            let _ = writeln!(c, "  SSLVerifyClient optional\n  SSLVerifyDepth 10");
        }
        let _ = writeln!(c, "  SSLProxyEngine on\n  SSLProxyProtocol -all +{v}");
        let _ = writeln!(c, "  SSLProxyVerify require\n  SSLProxyCheckPeerName on");
        let _ = writeln!(c, "  SSLProxyCACertificateFile \"{}\"", p(files::UPSTREAM_CA));
        if job.upstream_identity {
            let _ = writeln!(c, "  SSLProxyMachineCertificateFile \"{}\"", p(files::PROXY_COMBINED));
        }
        if let Some(h) = job.header {
            let _ = writeln!(c, "  RequestHeader unset {}", h.header_name());
            let _ = writeln!(
                c,
                "  RequestHeader set {} \"%{{SSL_CLIENT_CERT}}s\" \"expr=%{{SSL_CLIENT_VERIFY}} == 'SUCCESS'\"",
                h.header_name()
            );
        }
        // By name: SSLProxyCheckPeerName matches no IP address SAN
        // (AH02411 "Peer certificate does not match for hostname 127.0.0.1").
        let _ = writeln!(
            c,
            "  ProxyPass / https://{}:{}/",
            job.upstream_name,
            job.upstream.port()
        );
        let _ = writeln!(c, "</VirtualHost>");
        out.files.push(("httpd.conf".into(), c));
        out.dirs.extend(["logs".into(), "run".into()]);
        out.config_file = Some("httpd.conf".into());
        out.args = vec![
            "-d".into(),
            job.prefix.display().to_string(),
            "-f".into(),
            p("httpd.conf"),
            "-DFOREGROUND".into(),
        ];
        out.logs = vec!["logs/error.log".into()];
    }
}
