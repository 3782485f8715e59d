//! Real Apache httpd 2.4 asking for the certificate after the request:
//! `SSLVerifyClient none` in the virtual host and `SSLVerifyClient require`
//! in `<Location /admin/>`, TLS 1.2 and 1.3 both enabled (the client pins
//! one), `Protocols h2 http/1.1` (mod_http2).
//!
//! What mod_ssl does (modules/ssl/ssl_engine_kernel.c `ssl_hook_Access`):
//! on TLS 1.2 it renegotiates (`SSL_renegotiate`, then a handshake with
//! verification on); a client that refuses ends it with AH02261, a client
//! that sends no certificate with AH02263, a certificate that fails
//! verification with AH02262. On TLS 1.3 it sends a post-handshake
//! CertificateRequest (`SSL_verify_client_post_handshake`) when the client
//! offered `post_handshake_auth`, and answers 403 with AH10158 when it did
//! not. On an HTTP/2 stream it may do neither: it refuses the request and
//! mod_http2 resets the stream with HTTP_1_1_REQUIRED (mod_http2 h2_stream.c,
//! the `ssl-renegotiate-forbidden` note).

use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::real::render::{Listen, RenderedGateway};
use crate::real::{RealError, RealKind, RealServer, APACHE_MODULES};
use std::fmt::Write as _;
use std::path::Path;

/// The path whose `<Location>` asks for the certificate.
pub const LOCATION: &str = "/admin/";

/// The page requested, inside [`LOCATION`].
pub const PAGE: &str = "/admin/page.txt";

/// What the page says: seen only when the certificate was accepted.
pub const PAGE_MARKER: &str = "admin page";

/// How the access log's lines start (`ACCESS /admin/page.txt HTTP/2.0 403`).
pub const ACCESS_PREFIX: &str = "ACCESS";

/// The modules loaded (by absolute path from [`APACHE_MODULES`]).
const MODULES: [(&str, &str); 6] = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
    ("mime_module", "mod_mime.so"),
    ("http2_module", "mod_http2.so"),
];

/// The configuration and files of the Apache that asks after the request,
/// for `listen` in `prefix`: the server certificate `gw`, trusting `root`;
/// TLS 1.2 and 1.3, or only `pinned` (for a client that cannot pin its own
/// version: Chromium).
pub fn render(
    pki: &Pki,
    listen: Listen,
    prefix: &Path,
    pinned: Option<TlsVersion>,
) -> Result<RenderedGateway, RealError> {
    for (_, file) in MODULES {
        let path = Path::new(APACHE_MODULES).join(file);
        if !path.is_file() {
            return Err(RealError::MissingProgram {
                program: path.display().to_string(),
                install: "apt-get install -y apache2".into(),
            });
        }
    }
    let gw = pki.cert("gw").map_err(RealError::ServerCert)?;
    let root = pki.cert("root").map_err(RealError::ServerCert)?;
    let port = listen.port();
    let p = |rel: &str| prefix.join(rel).display().to_string();
    let mut c = String::new();
    crate::real::render::apache_preamble(
        &mut c,
        &p,
        "Apache asking for the certificate after the request",
        &MODULES,
        16,
    );
    let _ = writeln!(c, "LogLevel info");
    // One line per request, with the protocol it came on and the status
    // Apache decided (an h2 stream refused for renegotiation is logged 403
    // before mod_http2 resets it with HTTP_1_1_REQUIRED).
    let _ = writeln!(c, "LogFormat \"{ACCESS_PREFIX} %U %H %>s\" after_request");
    let _ = writeln!(c, "CustomLog \"{}\" after_request", p("logs/access.log"));
    let _ = writeln!(c, "TypesConfig /dev/null\nAddType text/plain .txt");
    let _ = writeln!(
        c,
        "SSLSessionCache \"shmcb:{}(65536)\"",
        p("run/ssl_scache")
    );
    let _ = writeln!(c, "Listen 127.0.0.1:{port} https");
    let _ = writeln!(c, "DocumentRoot \"{}\"", p("htdocs"));
    let _ = writeln!(
        c,
        "<Directory \"{}\">\n  Require all granted\n</Directory>",
        p("htdocs")
    );
    let _ = writeln!(c, "<VirtualHost 127.0.0.1:{port}>");
    let _ = writeln!(c, "  ServerName localhost");
    let _ = writeln!(c, "  Protocols h2 http/1.1");
    let _ = writeln!(c, "  SSLEngine on");
    let protocols = match pinned {
        None => "+TLSv1.2 +TLSv1.3",
        Some(TlsVersion::Tls12) => "+TLSv1.2",
        Some(TlsVersion::Tls13) => "+TLSv1.3",
    };
    let _ = writeln!(c, "  SSLProtocol -all {protocols}");
    let _ = writeln!(c, "  SSLCertificateFile \"{}\"", p("server.crt"));
    let _ = writeln!(c, "  SSLCertificateKeyFile \"{}\"", p("server.key"));
    let _ = writeln!(c, "  SSLCACertificateFile \"{}\"", p("trust.pem"));
    let _ = writeln!(c, "  SSLVerifyClient none");
    let _ = writeln!(
        c,
        "  <Location {LOCATION}>\n    SSLVerifyClient require\n    SSLVerifyDepth 2\n  </Location>"
    );
    let _ = writeln!(c, "</VirtualHost>");
    let files = vec![
        ("httpd.conf".to_string(), c, false),
        ("server.crt".into(), gw.chain_pem(), false),
        ("server.key".into(), gw.key_pem(), true),
        ("trust.pem".into(), root.cert_pem(), false),
        ("htdocs/index.txt".into(), "public page\n".into(), false),
        (format!("htdocs{PAGE}"), format!("{PAGE_MARKER}\n"), false),
    ];
    let conf = p("httpd.conf");
    Ok(RenderedGateway {
        kind: RealKind::Apache,
        prefix: prefix.to_path_buf(),
        port,
        inherited_fd: None,
        env: Vec::new(),
        version: TlsVersion::Tls13,
        files,
        binary_files: Vec::new(),
        dirs: vec!["logs".into(), "run".into()],
        config_file: Some("httpd.conf".into()),
        args: vec![
            "-d".into(),
            p(""),
            "-f".into(),
            conf.clone(),
            "-DFOREGROUND".into(),
        ],
        logs: vec!["logs/error.log".into(), "logs/access.log".into()],
        // The parent binds the port before mod_ssl loads the key.
        ready_marker: Some(("logs/error.log".into(), "resuming normal operations".into())),
        ready_by_handshake: false,
        failure_marker: None,
        check_args: Some(vec!["-t".into(), "-d".into(), p(""), "-f".into(), conf]),
        ca_names: vec![root.subject.clone()],
        ca_names_truncated: false,
    })
}

/// Start it: see [`render`]. Stopped when dropped.
pub async fn start(pki: &Pki, pinned: Option<TlsVersion>) -> Result<RealServer, RealError> {
    let own = pki.cert("gw").map_err(RealError::ServerCert)?.der.to_vec();
    let render = |listen: Listen, prefix: &Path| render(pki, listen, prefix, pinned);
    let proof = pinned.unwrap_or(TlsVersion::Tls13);
    RealServer::start_rendered(RealKind::Apache, &own, proof, &render).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_location_asks_and_h2_is_offered() {
        let pki = super::super::plan::measurement_pki().unwrap();
        let r = render(&pki, Listen::Port(4433), Path::new("/p"), None).unwrap();
        let conf = &r.files.iter().find(|f| f.0 == "httpd.conf").unwrap().1;
        assert!(
            conf.contains(
                "  SSLVerifyClient none\n  <Location /admin/>\n    SSLVerifyClient require\n"
            ),
            "{conf}"
        );
        assert!(conf.contains("Protocols h2 http/1.1"));
        assert!(conf.contains("SSLProtocol -all +TLSv1.2 +TLSv1.3"));
        let pinned = render(
            &pki,
            Listen::Port(1),
            Path::new("/p"),
            Some(TlsVersion::Tls12),
        )
        .unwrap();
        assert!(pinned.files[0].1.contains("SSLProtocol -all +TLSv1.2\n"));
        assert!(
            conf.contains("LogFormat \"ACCESS %U %H %>s\" after_request"),
            "{conf}"
        );
        assert!(conf.contains("Listen 127.0.0.1:4433 https"));
        assert!(conf.contains("DefaultRuntimeDir \"/p/run\""));
        assert!(r
            .files
            .iter()
            .any(|f| f.0 == "htdocs/admin/page.txt" && f.1.contains(PAGE_MARKER)));
    }
}
