//! Real nginx (ngx_http_ssl_module), judged as the `nginx` profile.
//!
//! - `ssl_verify_client on | optional | optional_no_ca | off`: nginx's verify
//!   callback lets the handshake complete whatever the certificate; the
//!   request is then answered 400 ("No required SSL certificate was sent" /
//!   "The SSL certificate error"), and `$ssl_client_verify` is `SUCCESS`,
//!   `FAILED:reason` or `NONE`. `optional_no_ca` also serves a certificate
//!   whose issuer is not trusted.
//! - `ssl_client_certificate`: CAs trusted *and* sent as names;
//!   `ssl_trusted_certificate`: trusted, not sent. nginx 1.22 refuses
//!   `ssl_verify_client on|optional` without `ssl_client_certificate` ("no
//!   ssl_client_certificate for ssl_verify_client"), so it cannot send an
//!   empty CA list.
//! - `ssl_verify_depth` defaults to 1; `ssl_crl` loads CRLs for the whole
//!   chain.
//! - `error_log ... info` carries "client SSL certificate verify error: (N:...)".
//! - Resumption: by default no session cache (`ssl_session_cache none`) and
//!   tickets on. `[server] resumption`: `session-id` is a shared cache with
//!   tickets off (TLS 1.3: OpenSSL's stateful tickets), `tickets` tickets
//!   without a cache, `off` neither. A resumed session keeps its verify
//!   result: `$ssl_client_verify` stays SUCCESS.
//!
//! - It inherits its listening socket: the harness binds 127.0.0.1:0 and
//!   starts nginx with `NGINX=3;` in its environment (how nginx passes its
//!   sockets to a new binary on upgrade); the `listen` directive names the
//!   same address, so nginx takes descriptor 3 instead of binding. nginx
//!   1.22.1 crashes (SIGSEGV) with an inherited socket and `master_process
//!   off`, so it runs with a master and one worker (`daemon off;`, the
//!   whole process group is stopped); the master logs "start worker
//!   process `<pid>`" once the config is loaded and the worker forked.
//!
//! `nginx -t` checks the config.

use super::{Job, Listener, RealProgram, RenderedGateway, VERIFY_DEPTH};
use crate::gateway::{self, nginx::NginxMode};
use crate::real::{RealError, Unsupported};
use crate::scenario::schema::Resumption;
use std::fmt::Write as _;
use std::path::Path;

pub(crate) struct Nginx;

/// `ssl_verify_client`'s setting when a certificate is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerifyClient {
    On,
    Optional,
    OptionalNoCa,
}

impl VerifyClient {
    fn directive(self) -> &'static str {
        match self {
            VerifyClient::On => "on",
            VerifyClient::Optional => "optional",
            VerifyClient::OptionalNoCa => "optional_no_ca",
        }
    }

    /// nginx refuses `on` and `optional` without `ssl_client_certificate`.
    fn needs_client_certificate(self) -> bool {
        self != VerifyClient::OptionalNoCa
    }
}

/// The arguments that point nginx at its prefix, error log and config.
fn prefix_args(prefix: &Path) -> Vec<String> {
    let p = |rel: &str| prefix.join(rel).display().to_string();
    vec![
        "-p".into(),
        p(""),
        "-e".into(),
        p("logs/error.log"),
        "-c".into(),
        p("nginx.conf"),
    ]
}

impl RealProgram for Nginx {
    const NAME: &'static str = "nginx";
    const PROGRAM: &'static str = "nginx";
    const PACKAGE: &'static str = "nginx";
    type Judge = gateway::nginx::Nginx;
    const RENDERS_RESUMPTION: bool = true;
    const LISTENER: Listener = Listener::Inherited;

    type Verify = VerifyClient;

    fn verify(mode: NginxMode) -> Option<VerifyClient> {
        Some(match mode {
            NginxMode::On => VerifyClient::On,
            NginxMode::Optional => VerifyClient::Optional,
            NginxMode::OptionalNoCa => VerifyClient::OptionalNoCa,
        })
    }

    const RENDERS_OCSP: bool = true;

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| job.path(rel);
        if job
            .verify
            .is_some_and(|v| v.needs_client_certificate() && job.names_file().is_none())
        {
            return Err(Unsupported::Program(
                "nginx needs ssl_client_certificate (sent as CA names) for ssl_verify_client \
                 on|optional: it cannot send an empty CA list",
            )
            .into());
        }
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real nginx for one case");
        // Debian's nginx.conf: a worker per core, 768 connections each
        // (`bench` loads one with every core it has).
        let _ = writeln!(c, "worker_processes auto;");
        let _ = writeln!(c, "error_log {} info;", p("logs/error.log"));
        let _ = writeln!(c, "pid {};", p("logs/nginx.pid"));
        let _ = writeln!(c, "events {{ worker_connections 768; }}");
        let _ = writeln!(c, "http {{");
        let _ = writeln!(c, "  access_log {};", p("logs/access.log"));
        for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            let _ = writeln!(c, "  {t}_temp_path {};", p(&format!("tmp/{t}")));
        }
        let _ = writeln!(c, "  server {{");
        let _ = writeln!(c, "    listen 127.0.0.1:{} ssl;", job.port);
        let _ = writeln!(c, "    server_name localhost;");
        let _ = writeln!(c, "    ssl_certificate {};", p("server.crt"));
        let _ = writeln!(c, "    ssl_certificate_key {};", p("server.key"));
        let _ = writeln!(c, "    ssl_protocols {};", job.protocol());
        match job.resumption {
            None => {}
            Some(Resumption::SessionId) => {
                let _ = writeln!(c, "    ssl_session_cache shared:mtls:1m;");
                let _ = writeln!(c, "    ssl_session_tickets off;");
            }
            Some(Resumption::Tickets) => {
                let _ = writeln!(c, "    ssl_session_cache off;");
                let _ = writeln!(c, "    ssl_session_tickets on;");
            }
            Some(Resumption::Off) => {
                let _ = writeln!(c, "    ssl_session_cache off;");
                let _ = writeln!(c, "    ssl_session_tickets off;");
            }
        }
        let verify = job.verify.map_or("off", VerifyClient::directive);
        let _ = writeln!(c, "    ssl_verify_client {verify};");
        if job.verify.is_some() {
            let _ = writeln!(c, "    ssl_verify_depth {VERIFY_DEPTH};");
            if let Some(names) = job.names_file() {
                let _ = writeln!(c, "    # sent as CA names");
                let _ = writeln!(c, "    ssl_client_certificate {names};");
            }
            if let Some(verify_only) = job.verify_only_file() {
                let _ = writeln!(c, "    # trusted, not sent");
                let _ = writeln!(c, "    ssl_trusted_certificate {verify_only};");
            }
            if let Some(crl) = job.crl_file() {
                let _ = writeln!(c, "    ssl_crl {crl};");
            }
            if let Some(ocsp) = job.ocsp {
                // nginx waits on a silent responder until client_header_timeout
                // (60 s by default): the scenario's timeout stands for it.
                // No ssl_ocsp_responder: nginx asks the responder each
                // certificate names (authorityInfoAccess), which the case
                // re-signed to point at its own responder.
                let _ = writeln!(c, "    ssl_ocsp on;");
                let _ = writeln!(
                    c,
                    "    client_header_timeout {}s;",
                    ocsp.timeout.as_secs().max(1)
                );
            }
        }
        let _ = writeln!(c, "    default_type text/plain;");
        let _ = writeln!(c, "    location / {{");
        let _ = writeln!(
            c,
            "      if ($ssl_client_verify != SUCCESS) {{ return 200 \"anonymous\\n\"; }}"
        );
        let _ = writeln!(
            c,
            "      return 200 \"authenticated: $ssl_client_s_dn\\n\";"
        );
        let _ = writeln!(c, "    }}\n  }}\n}}");
        out.files.push(("nginx.conf".into(), c, false));
        out.dirs.push("tmp".into());
        out.config_file = Some("nginx.conf".into());
        out.args = prefix_args(job.prefix);
        out.args.extend(["-g".into(), "daemon off;".into()]);
        if let Some(fd) = job.inherited_fd() {
            out.env.push(("NGINX".into(), format!("{fd};")));
        }
        out.logs = vec!["logs/error.log".into()];
        // "start worker process 1234", logged once the worker is forked (not
        // "start worker processes", logged before).
        out.ready_marker = Some(("logs/error.log".into(), "start worker process ".into()));
        Ok(())
    }

    fn check_args(prefix: &Path) -> Option<Vec<String>> {
        let mut args = vec!["-t".into(), "-q".into()];
        args.extend(prefix_args(prefix));
        Some(args)
    }
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, rendered, setup};
    use crate::real::{render, RealError, RealKind, Unsupported};
    use crate::scenario::schema::CaNamesPolicy;
    use std::path::Path;

    #[test]
    fn named_and_verify_only_cas_go_to_the_right_directives() {
        let (pki, server) = setup("");
        let n = rendered(RealKind::Nginx, &pki, &server, TlsVersion::Tls12);
        let conf = file(&n, "nginx.conf");
        assert!(conf.contains("ssl_client_certificate /p/ca-names.pem;"));
        assert!(conf.contains("ssl_trusted_certificate /p/ca-verify.pem;"));
        assert!(conf.contains("ssl_protocols TLSv1.2;"));
        assert!(conf.contains("ssl_crl /p/crl.pem;"));
        assert!(conf.contains("ssl_verify_client on;"));
        assert!(conf.contains("ssl_verify_depth 10;"));
        assert!(conf.contains("listen 127.0.0.1:1 ssl;"));
    }

    #[test]
    fn modes_render_as_nginx_spells_them() {
        for (mode, directive) in [
            ("on", "on"),
            ("optional", "optional"),
            ("optional_no_ca", "optional_no_ca"),
        ] {
            let (pki, server) = setup(&format!("mode = {{ nginx = \"{mode}\" }}\n"));
            let n = rendered(RealKind::Nginx, &pki, &server, TlsVersion::Tls13);
            assert!(file(&n, "nginx.conf").contains(&format!("ssl_verify_client {directive};")));
        }
        let (pki, mut server) = setup("");
        server.client_auth = crate::scenario::schema::ClientAuth::None;
        let n = rendered(RealKind::Nginx, &pki, &server, TlsVersion::Tls13);
        let conf = file(&n, "nginx.conf");
        assert!(conf.contains("ssl_verify_client off;"), "{conf}");
        assert!(!conf.contains("ssl_client_certificate"), "{conf}");
    }

    #[test]
    fn an_empty_ca_list_is_unsupported_except_optional_no_ca() {
        let (pki, mut server) = setup("");
        server.ca_names = CaNamesPolicy::Empty;
        let got = render(
            RealKind::Nginx,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            Path::new("/p"),
        );
        assert!(
            matches!(got, Err(RealError::Unsupported(Unsupported::Program(why))) if why.contains("ssl_client_certificate")),
            "{got:?}"
        );
        let (pki, mut server) = setup("mode = { nginx = \"optional_no_ca\" }\n");
        server.ca_names = CaNamesPolicy::Empty;
        let n = rendered(RealKind::Nginx, &pki, &server, TlsVersion::Tls13);
        assert!(!file(&n, "nginx.conf").contains("ssl_client_certificate"));
    }

    #[test]
    fn an_inherited_socket_is_named_in_the_environment() {
        let (pki, server) = setup("");
        let listen = crate::real::render::Listen::Inherited { port: 4433 };
        let n = crate::real::render::render_listening(
            RealKind::Nginx,
            &pki,
            &server,
            TlsVersion::Tls13,
            listen,
            Path::new("/p"),
        )
        .unwrap();
        assert_eq!(n.env, [("NGINX".to_string(), "3;".to_string())]);
        assert_eq!(n.inherited_fd, Some(3));
        // The listen directive names the inherited socket's address.
        assert!(file(&n, "nginx.conf").contains("listen 127.0.0.1:4433 ssl;"));
        let bound = render(
            RealKind::Nginx,
            &pki,
            &server,
            TlsVersion::Tls13,
            4433,
            Path::new("/p"),
        )
        .unwrap();
        assert!(bound.env.is_empty() && bound.inherited_fd.is_none());
    }

    #[test]
    fn the_config_check_is_nginx_t_on_the_rendered_config() {
        let args = RealKind::Nginx.check_args(Path::new("/p")).unwrap();
        assert_eq!(
            args,
            ["-t", "-q", "-p", "/p/", "-e", "/p/logs/error.log", "-c", "/p/nginx.conf"]
        );
    }
}
