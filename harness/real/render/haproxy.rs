//! Real HAProxy, judged as the `haproxy` profile.
//!
//! - `bind ... ssl crt server.pem` takes the chain and key in one file.
//! - `verify required`: OpenSSL verifies in the handshake and its alerts
//!   reach the client unchanged. `verify optional`: no certificate is
//!   served, a bad one is still an alert. `verify optional` with
//!   `ca-ignore-err all crt-ignore-err all` completes every handshake, and
//!   `http-request deny if !{ ssl_c_used } || !{ ssl_c_verify 0 }` answers
//!   403 (the profile's `optional-deny`).
//! - `ca-file`: CAs trusted and sent as names; `ca-verify-file`: trusted, not
//!   sent. HAProxy 2.6 accepts `ca-verify-file` alone (`haproxy -c`), which
//!   sends an empty CA list.
//! - The log line is written to stderr (`log stderr`, `-db` keeps HAProxy in
//!   the foreground) and carries `ssl_c_verify`, the X509_V_ERR_* code.
//! - Master-worker mode (`-W`): the master (the process the harness
//!   started) forks the worker that serves. SIGUSR2 to the master is
//!   HAProxy's reload: it re-executes itself with `-sf <old workers>` (and
//!   `-x` to take their listeners), the new worker reads every file anew,
//!   and the old one finishes its connections and exits.
//! - Resumption: by default a session cache and tickets. `[server]
//!   resumption`: `session-id` adds `no-tls-tickets`, `tickets` sets
//!   `tune.ssl.cachesize 0`, `off` both.
//! - It inherits its listening socket: `bind fd@3` takes the socket the
//!   harness bound and passed as descriptor 3. `-V` prints "Using epoll()
//!   as the polling mechanism." once the config and certificates are
//!   loaded: the readiness marker.
//!
//! `haproxy -c` checks the config.

use super::{Job, Listener, RealProgram, RenderedGateway};
use crate::gateway::{self, haproxy::HaproxyMode};
use crate::real::RealError;
use crate::scenario::schema::Resumption;
use std::fmt::Write as _;
use std::path::Path;

/// The runtime API's socket, relative to the prefix.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// The certificate and key HAProxy loads (`crt`), relative to the prefix.
pub const SERVER_PEM: &str = "server.pem";

pub(crate) struct Haproxy;

/// The `verify` setting of the `bind` line when a certificate is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    Required,
    Optional,
    /// `verify optional`, every verify error ignored, and an HTTP deny rule.
    OptionalDeny,
}

impl Verify {
    fn bind_options(self) -> &'static str {
        match self {
            Verify::Required => " verify required",
            Verify::Optional => " verify optional",
            Verify::OptionalDeny => " verify optional ca-ignore-err all crt-ignore-err all",
        }
    }
}

fn config_path(prefix: &Path) -> String {
    prefix.join("haproxy.cfg").display().to_string()
}

impl RealProgram for Haproxy {
    const NAME: &'static str = "haproxy";
    const PROGRAM: &'static str = "haproxy";
    const PACKAGE: &'static str = "haproxy";
    type Judge = gateway::haproxy::Haproxy;
    const RENDERS_RESUMPTION: bool = true;
    const LISTENER: Listener = Listener::Inherited;

    type Verify = Verify;

    fn verify(mode: HaproxyMode) -> Option<Verify> {
        Some(match mode {
            HaproxyMode::Required => Verify::Required,
            HaproxyMode::Optional => Verify::Optional,
            HaproxyMode::OptionalDeny => Verify::OptionalDeny,
        })
    }

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| job.path(rel);
        let m = job.material;
        let mut pem = m.chain_pem.clone();
        pem.push_str(&m.server.key_pem());
        out.files.push((SERVER_PEM.into(), pem, true));
        let proto = job.protocol();
        let address = match job.inherited_fd() {
            Some(fd) => format!("fd@{fd}"),
            None => format!("127.0.0.1:{}", job.port),
        };
        let mut bind = format!(
            "bind {address} ssl crt {} ssl-min-ver {proto} ssl-max-ver {proto} alpn http/1.1",
            p(SERVER_PEM)
        );
        match job.verify {
            Some(verify) => {
                if let Some(names) = job.names_file() {
                    let _ = write!(bind, " ca-file {names}");
                }
                if let Some(verify_only) = job.verify_only_file() {
                    let _ = write!(bind, " ca-verify-file {verify_only}");
                }
                if let Some(crl) = job.crl_file() {
                    let _ = write!(bind, " crl-file {crl}");
                }
                bind.push_str(verify.bind_options());
            }
            None => bind.push_str(" verify none"),
        }
        if matches!(
            job.resumption,
            Some(Resumption::SessionId | Resumption::Off)
        ) {
            bind.push_str(" no-tls-tickets");
        }
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real HAProxy for one case");
        let _ = writeln!(c, "global\n  log stderr format raw local0 info");
        // The runtime API, inside the case's directory (`bench --during`
        // changes the CRL and the certificate through it).
        let _ = writeln!(c, "  stats socket {} level admin", p(ADMIN_SOCKET));
        if matches!(job.resumption, Some(Resumption::Tickets | Resumption::Off)) {
            // No session cache.
            let _ = writeln!(c, "  tune.ssl.cachesize 0");
        }
        let _ = writeln!(
            c,
            "defaults\n  mode http\n  log global\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s"
        );
        // The httplog fields plus the client-certificate verdict, so the
        // log says why a request was denied (ssl_c_verify is the
        // X509_V_ERR_* code; 0 means verified).
        let _ = writeln!(
            c,
            "  log-format \"%ci:%cp [%tr] %ft %b/%s %ST %B %tsc ssl_c_used=%[ssl_c_used] ssl_c_verify=%[ssl_c_verify] ssl_c_ca_err=%[ssl_c_ca_err] ssl_c_err=%[ssl_c_err] %{{+Q}}r\""
        );
        let _ = writeln!(c, "frontend fe\n  {bind}");
        if job.verify == Some(Verify::OptionalDeny) {
            let _ = writeln!(
                c,
                "  http-request deny if !{{ ssl_c_used }} || !{{ ssl_c_verify 0 }}"
            );
        }
        let _ = writeln!(
            c,
            "  http-request return status 200 content-type text/plain lf-string \"authenticated: %[ssl_c_s_dn]\\n\" if {{ ssl_c_used }} {{ ssl_c_verify 0 }}"
        );
        let _ = writeln!(
            c,
            "  http-request return status 200 content-type text/plain string \"anonymous\\n\""
        );
        out.files.push(("haproxy.cfg".into(), c, false));
        out.config_file = Some("haproxy.cfg".into());
        // -V prints the poller once the config (certificates included) is
        // loaded: the readiness marker. -W: a master that reloads on SIGUSR2.
        out.args = vec![
            "-W".into(),
            "-f".into(),
            config_path(job.prefix),
            "-db".into(),
            "-V".into(),
        ];
        out.logs = vec!["stderr.log".into()];
        out.ready_marker = Some(("stdout.log".into(), "as the polling mechanism".into()));
        Ok(())
    }

    fn check_args(prefix: &Path) -> Option<Vec<String>> {
        Some(vec!["-c".into(), "-q".into(), "-f".into(), config_path(prefix)])
    }
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, rendered, setup};
    use crate::real::RealKind;
    use crate::scenario::schema::CaNamesPolicy;
    use std::path::Path;

    fn haproxy_cfg(extra: &str, edit: impl FnOnce(&mut crate::scenario::schema::ServerSpec)) -> String {
        let (pki, mut server) = setup(extra);
        edit(&mut server);
        let h = rendered(RealKind::Haproxy, &pki, &server, TlsVersion::Tls13);
        file(&h, "haproxy.cfg").to_string()
    }

    #[test]
    fn named_and_verify_only_cas_go_to_the_right_options() {
        let cfg = haproxy_cfg("", |_| {});
        assert!(cfg.contains("ca-file /p/ca-names.pem ca-verify-file /p/ca-verify.pem"));
        assert!(cfg.contains("crl-file /p/crl.pem"));
        assert!(cfg.contains("ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3"));
        assert!(cfg.contains("verify required"));
        assert!(!cfg.contains("http-request deny"));
    }

    #[test]
    fn modes_render_as_haproxy_spells_them() {
        let cfg = haproxy_cfg("mode = { haproxy = \"optional-deny\" }\n", |_| {});
        assert!(cfg.contains("verify optional ca-ignore-err all crt-ignore-err all"));
        assert!(cfg.contains("http-request deny if !{ ssl_c_used } || !{ ssl_c_verify 0 }"));
        let cfg = haproxy_cfg("mode = { haproxy = \"optional\" }\n", |_| {});
        assert!(cfg.contains(" verify optional\n"), "{cfg}");
        assert!(!cfg.contains("ca-ignore-err"), "{cfg}");
        let cfg = haproxy_cfg("", |s| {
            s.client_auth = crate::scenario::schema::ClientAuth::None
        });
        assert!(cfg.contains(" verify none\n"), "{cfg}");
        assert!(!cfg.contains("ca-file"), "{cfg}");
    }

    #[test]
    fn an_empty_ca_list_is_a_verify_file_alone() {
        let cfg = haproxy_cfg("", |s| s.ca_names = CaNamesPolicy::Empty);
        assert!(
            cfg.contains("ca-verify-file") && !cfg.contains("ca-file"),
            "{cfg}"
        );
    }

    #[test]
    fn an_inherited_socket_is_bound_as_fd_3() {
        let (pki, server) = setup("");
        let h = crate::real::render::render_listening(
            RealKind::Haproxy,
            &pki,
            &server,
            TlsVersion::Tls13,
            crate::real::render::Listen::Inherited { port: 4433 },
            Path::new("/p"),
        )
        .unwrap();
        assert!(file(&h, "haproxy.cfg").contains("bind fd@3 ssl crt"));
        assert_eq!(h.inherited_fd, Some(3));
        assert!(haproxy_cfg("", |_| {}).contains("bind 127.0.0.1:1 ssl crt"));
    }

    #[test]
    fn the_config_check_is_haproxy_c_on_the_rendered_config() {
        assert_eq!(
            RealKind::Haproxy.check_args(Path::new("/p")).unwrap(),
            ["-c", "-q", "-f", "/p/haproxy.cfg"]
        );
    }
}
