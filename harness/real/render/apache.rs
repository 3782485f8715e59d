//! Real Apache httpd 2.4 with mod_ssl (Debian's `apache2`), judged as the
//! `apache` profile.
//!
//! - `SSLVerifyClient require` in the virtual host (`per-server`): OpenSSL
//!   verifies in the handshake and aborts it (TLS 1.3 certificate_required,
//!   TLS 1.2 handshake_failure). `optional`: no certificate is served, a bad
//!   one is an alert. In a `<Location>` (`per-directory`) the certificate can
//!   only be asked for once the request arrived: by renegotiation on TLS 1.2,
//!   by post-handshake authentication on TLS 1.3.
//! - `SSLCACertificateFile`: every trusted CA. `SSLCADNRequestFile`: the names
//!   sent; Apache refuses an empty one (AH00526) and without one sends the
//!   names of `SSLCACertificateFile`, so it cannot send an empty CA list.
//! - `SSLVerifyDepth` defaults to 1; `SSLCARevocationCheck chain` checks the
//!   CRLs of `SSLCARevocationFile` for the whole chain. mod_ssl turns an
//!   expired CRL's certificate_expired into certificate_unknown.
//! - The parent binds the port before mod_ssl loads the certificate and key
//!   (and may then exit), so it is ready only once its error log says
//!   "resuming normal operations".
//! - Resumption: by default a shmcb session cache and tickets. `[server]
//!   resumption`: `session-id` turns tickets off, `tickets` the cache
//!   (`SSLSessionCache none`), `off` both.
//! - It binds its port itself: `Listen` takes an address only, and Debian's
//!   apache2 is built without systemd socket activation (the binary has no
//!   `sd_listen_fds`, `LISTEN_FDS` is ignored). The harness proves the
//!   server on the port is this case's by a handshake (see
//!   `Listener::BindsPort`).
//!
//! Modules are loaded by absolute path from [`APACHE_MODULES`]; `apache2 -t`
//! checks the config.

use super::{Job, RealProgram, RenderedGateway, VERIFY_DEPTH};
use crate::gateway::{self, apache::ApacheMode};
use crate::real::{RealError, Unsupported};
use crate::scenario::schema::Resumption;
use std::fmt::Write as _;
use std::path::Path;

/// Where Debian's apache2 keeps its modules (loaded by absolute path).
pub const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

pub(crate) struct Apache;

/// `SSLVerifyClient`'s level and where it is set, when a certificate is
/// asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// `require` in the virtual host.
    PerServer,
    /// `optional` in the virtual host.
    Optional,
    /// `require` in `<Location />`.
    PerDirectory,
}

impl Verify {
    fn level(self) -> &'static str {
        match self {
            Verify::Optional => "optional",
            Verify::PerServer | Verify::PerDirectory => "require",
        }
    }
}

/// The arguments that point httpd at its server root and config.
fn config_args(prefix: &Path) -> Vec<String> {
    let p = |rel: &str| prefix.join(rel).display().to_string();
    vec!["-d".into(), p(""), "-f".into(), p("httpd.conf")]
}

impl RealProgram for Apache {
    const NAME: &'static str = "apache";
    const PROGRAM: &'static str = "apache2";
    const PACKAGE: &'static str = "apache2";
    type Judge = gateway::apache::Apache;
    const RENDERS_RESUMPTION: bool = true;

    type Verify = Verify;

    fn verify(mode: ApacheMode) -> Option<Verify> {
        Some(match mode {
            ApacheMode::PerServer => Verify::PerServer,
            ApacheMode::Optional => Verify::Optional,
            ApacheMode::PerDirectory => Verify::PerDirectory,
        })
    }

    const RENDERS_OCSP: bool = true;

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| job.path(rel);
        let port = job.port;
        // Where the directive goes follows the mode even when no certificate
        // is asked for (`SSLVerifyClient none` then).
        let per_dir = Self::verify(job.mode) == Some(Verify::PerDirectory);
        let verify_line = format!(
            "SSLVerifyClient {}",
            job.verify.map_or("none", Verify::level)
        );
        let modules = [
            ("mpm_event_module", "mod_mpm_event.so"),
            ("authz_core_module", "mod_authz_core.so"),
            ("socache_shmcb_module", "mod_socache_shmcb.so"),
            ("ssl_module", "mod_ssl.so"),
            ("rewrite_module", "mod_rewrite.so"),
            ("mime_module", "mod_mime.so"),
            ("http2_module", "mod_http2.so"),
        ];
        let mut c = String::new();
        preamble(&mut c, &p, "real Apache httpd for one case", &modules, 8);
        let _ = writeln!(c, "LogLevel info ssl:info");
        let _ = writeln!(c, "TypesConfig /dev/null\nAddType text/plain .txt");
        let cache = match job.resumption {
            Some(Resumption::Tickets | Resumption::Off) => "none".to_string(),
            None | Some(Resumption::SessionId) => format!("\"shmcb:{}(65536)\"", p("run/ssl_scache")),
        };
        let _ = writeln!(c, "SSLSessionCache {cache}");
        match job.resumption {
            None => {}
            Some(Resumption::Tickets) => {
                let _ = writeln!(c, "SSLSessionTickets on");
            }
            Some(Resumption::SessionId | Resumption::Off) => {
                let _ = writeln!(c, "SSLSessionTickets off");
            }
        }
        let _ = writeln!(c, "Listen 127.0.0.1:{port} https");
        let _ = writeln!(c, "DocumentRoot \"{}\"", p("htdocs"));
        let _ = writeln!(
            c,
            "<Directory \"{}\">\n  Require all granted\n</Directory>",
            p("htdocs")
        );
        let _ = writeln!(c, "<VirtualHost 127.0.0.1:{port}>");
        let _ = writeln!(c, "  ServerName localhost");
        // h2 for a real client that offers it (the built-in client offers
        // http/1.1 only): asked after the request, Apache refuses the
        // stream with HTTP_1_1_REQUIRED (docs/after-request.md).
        let _ = writeln!(c, "  Protocols h2 http/1.1");
        let _ = writeln!(c, "  SSLEngine on");
        let _ = writeln!(c, "  SSLProtocol -all +{}", job.protocol());
        let _ = writeln!(c, "  SSLCertificateFile \"{}\"", p("server.crt"));
        let _ = writeln!(c, "  SSLCertificateKeyFile \"{}\"", p("server.key"));
        if job.verify.is_some() {
            let _ = writeln!(c, "  SSLCACertificateFile \"{}\"", job.trust_file());
            let Some(names) = job.names_file() else {
                return Err(Unsupported::Program(
                    "Apache refuses an empty SSLCADNRequestFile (AH00526) and without one sends \
                     the SSLCACertificateFile names: it cannot send an empty CA list",
                )
                .into());
            };
            let _ = writeln!(c, "  # the CA names sent");
            let _ = writeln!(c, "  SSLCADNRequestFile \"{names}\"");
            let _ = writeln!(c, "  SSLVerifyDepth {VERIFY_DEPTH}");
            if let Some(crl) = job.crl_file() {
                let _ = writeln!(c, "  SSLCARevocationFile \"{crl}\"");
                let _ = writeln!(c, "  SSLCARevocationCheck chain");
            }
            if let Some(ocsp) = job.ocsp {
                // No SSLOCSPDefaultResponder / SSLOCSPOverrideResponder:
                // mod_ssl asks the responder the client certificate names
                // (authorityInfoAccess), the case's own.
                let _ = writeln!(c, "  SSLOCSPEnable leaf");
                // Default 10 s; the scenario's timeout keeps a hang short.
                let _ = writeln!(
                    c,
                    "  SSLOCSPResponderTimeout {}",
                    ocsp.timeout.as_secs().max(1)
                );
            }
        }
        if !per_dir {
            let _ = writeln!(c, "  {verify_line}");
        }
        let _ = writeln!(c, "  RewriteEngine on");
        let _ = writeln!(c, "  RewriteCond %{{SSL:SSL_CLIENT_VERIFY}} !=SUCCESS");
        let _ = writeln!(c, "  RewriteRule ^/$ /anonymous.txt [L]");
        let _ = writeln!(c, "  RewriteRule ^/$ /authenticated.txt [L]");
        if per_dir {
            let _ = writeln!(c, "  <Location />\n    {verify_line}\n  </Location>");
        }
        let _ = writeln!(c, "</VirtualHost>");
        out.files.push(("httpd.conf".into(), c, false));
        out.files.push((
            "htdocs/authenticated.txt".into(),
            "authenticated\n".into(),
            false,
        ));
        out.files
            .push(("htdocs/anonymous.txt".into(), "anonymous\n".into(), false));
        out.dirs.push("run".into());
        out.config_file = Some("httpd.conf".into());
        out.args = config_args(job.prefix);
        out.args.push("-DFOREGROUND".into());
        out.logs = vec!["logs/error.log".into()];
        out.ready_marker = Some(("logs/error.log".into(), "resuming normal operations".into()));
        Ok(())
    }

    fn check_args(prefix: &Path) -> Option<Vec<String>> {
        let mut args = vec!["-t".into()];
        args.extend(config_args(prefix));
        Some(args)
    }
}

/// The start every rendered Apache configuration shares: a comment
/// saying what it is, the server root, pid file and runtime directory
/// inside the prefix (`p` makes a prefix path), the `modules` (name, file
/// under [`APACHE_MODULES`]), one child of `threads` threads, and the error
/// log. `ServerLimit 2` with `MaxRequestWorkers` one child's threads: one
/// child serves, and a graceful restart may start the new child while the
/// old one finishes its connections in the second scoreboard slot (the
/// event MPM's documented need; with one slot the new child waited until
/// the old left, and a change took effect seconds late).
pub(crate) fn preamble(
    c: &mut String,
    p: &dyn Fn(&str) -> String,
    what: &str,
    modules: &[(&str, &str)],
    threads: u32,
) {
    let _ = writeln!(c, "# mtls-harness: {what}");
    let _ = writeln!(c, "ServerRoot \"{}\"", p(""));
    let _ = writeln!(c, "ServerName localhost");
    let _ = writeln!(c, "PidFile \"{}\"", p("logs/httpd.pid"));
    let _ = writeln!(c, "DefaultRuntimeDir \"{}\"", p("run"));
    for (name, file) in modules {
        let _ = writeln!(
            c,
            "LoadModule {name} {}",
            Path::new(APACHE_MODULES).join(file).display()
        );
    }
    let _ = writeln!(
        c,
        "StartServers 1\nServerLimit 2\nThreadLimit {threads}\nThreadsPerChild {threads}\nMaxRequestWorkers {threads}\nMinSpareThreads 1\nMaxSpareThreads {threads}"
    );
    let _ = writeln!(c, "ErrorLog \"{}\"", p("logs/error.log"));
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, setup};
    use crate::real::{render, RealError, RealKind, Unsupported};
    use crate::scenario::schema::{CaNamesPolicy, ClientAuth, ServerSpec};
    use std::path::Path;

    fn httpd_conf(extra: &str, edit: impl FnOnce(&mut ServerSpec)) -> Result<String, RealError> {
        let (pki, mut server) = setup(extra);
        edit(&mut server);
        let a = render(
            RealKind::Apache,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            Path::new("/p"),
        )?;
        Ok(file(&a, "httpd.conf").to_string())
    }

    #[test]
    fn trust_names_and_crls_go_to_the_right_directives() {
        let conf = httpd_conf("", |_| {}).unwrap();
        assert!(conf.contains("SSLCACertificateFile \"/p/trust.pem\""));
        assert!(conf.contains("SSLCADNRequestFile \"/p/ca-names.pem\""));
        assert!(conf.contains("SSLCARevocationFile \"/p/crl.pem\""));
        assert!(conf.contains("SSLCARevocationCheck chain"));
        assert!(conf.contains("SSLProtocol -all +TLSv1.3"));
        assert!(conf.contains("  SSLVerifyClient require\n"));
    }

    #[test]
    fn modes_render_as_apache_spells_them() {
        let conf = httpd_conf("mode = { apache = \"per-directory\" }\n", |_| {}).unwrap();
        assert!(conf.contains("<Location />\n    SSLVerifyClient require\n  </Location>"));
        let conf = httpd_conf("mode = { apache = \"optional\" }\n", |_| {}).unwrap();
        assert!(conf.contains("  SSLVerifyClient optional\n"), "{conf}");
        assert!(!conf.contains("<Location"), "{conf}");
        // Not asking: `none`, placed as the mode places it.
        let conf = httpd_conf("mode = { apache = \"per-directory\" }\n", |s| {
            s.client_auth = ClientAuth::None
        })
        .unwrap();
        assert!(conf.contains("<Location />\n    SSLVerifyClient none\n  </Location>"));
        assert!(!conf.contains("SSLCACertificateFile"), "{conf}");
    }

    #[test]
    fn an_empty_ca_list_is_unsupported() {
        let got = httpd_conf("", |s| s.ca_names = CaNamesPolicy::Empty);
        assert!(
            matches!(&got, Err(RealError::Unsupported(Unsupported::Program(why))) if why.contains("AH00526")),
            "{got:?}"
        );
    }

    #[test]
    fn the_config_check_is_apache2_t_on_the_rendered_config() {
        assert_eq!(
            RealKind::Apache.check_args(Path::new("/p")).unwrap(),
            ["-t", "-d", "/p/", "-f", "/p/httpd.conf"]
        );
    }
}
