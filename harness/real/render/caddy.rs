//! Real Caddy 2 (Debian's `caddy`, 2.6 on Go 1.19), judged as the `go`
//! profile: Caddy's TLS is Go's crypto/tls, and its `client_authentication`
//! modes map onto `tls.Config.ClientAuth` one to one (`require_and_verify`,
//! `verify_if_given`, `request`, `require`).
//!
//! - Configured in JSON (`caddy run --config caddy.json`): the admin
//!   endpoint on a unix socket in the prefix ([`ADMIN_SOCKET`]: no TCP port,
//!   reachable by the harness alone; `POST /load` is how Caddy reloads) and
//!   nothing persisted, automatic HTTPS off, storage and
//!   `HOME`/XDG directories inside the prefix; the server certificate from
//!   files, one connection policy pinned to the TLS version.
//! - `trusted_ca_certs`: every trusted CA (and filler CA), base64 DER, one
//!   entry each. (Caddy 2.6 reads only the first certificate of a
//!   `trusted_ca_certs_pem_files` bundle.) Go sends them all as CA names
//!   and loads no CRL.
//! - The page is a `static_response` after a `map`: "anonymous" when
//!   `{http.request.tls.client.subject}` is empty, else "authenticated:" or,
//!   where Go does not verify (`request`, `require`), "unverified:" and the
//!   subject.
//! - With client authentication on, Caddy answers an empty 421 when the SNI
//!   does not match the Host header; the harness's client sends both as
//!   `localhost`.
//! - It logs JSON to stderr; `caddy validate` checks the config.

use super::{Job, RealProgram, RenderedGateway};
use crate::gateway::{self, go::GoMode};
use crate::observation::TlsVersion;
use crate::real::RealError;
use base64::Engine as _;
use std::path::Path;

pub(crate) struct Caddy;

const CONFIG: &str = "caddy.json";

/// The admin endpoint's unix socket, relative to the prefix.
pub const ADMIN_SOCKET: &str = "admin.sock";

/// Caddy's `client_authentication.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuthMode {
    RequireAndVerify,
    VerifyIfGiven,
    Request,
    Require,
}

impl ClientAuthMode {
    fn spelling(self) -> &'static str {
        match self {
            ClientAuthMode::RequireAndVerify => "require_and_verify",
            ClientAuthMode::VerifyIfGiven => "verify_if_given",
            ClientAuthMode::Request => "request",
            ClientAuthMode::Require => "require",
        }
    }

    /// Go verifies the certificate in these modes.
    fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuthMode::RequireAndVerify | ClientAuthMode::VerifyIfGiven
        )
    }
}

fn config_args(prefix: &Path) -> Vec<String> {
    vec![
        "--config".into(),
        prefix.join(CONFIG).display().to_string(),
        "--adapter".into(),
        "".into(),
    ]
}

impl RealProgram for Caddy {
    const NAME: &'static str = "caddy";
    const PROGRAM: &'static str = "caddy";
    const PACKAGE: &'static str = "caddy";
    type Judge = gateway::go::Go;

    type Verify = ClientAuthMode;

    fn verify(mode: GoMode) -> Option<ClientAuthMode> {
        Some(match mode {
            GoMode::RequireAndVerify => ClientAuthMode::RequireAndVerify,
            GoMode::VerifyIfGiven => ClientAuthMode::VerifyIfGiven,
            GoMode::Request => ClientAuthMode::Request,
            GoMode::RequireAny => ClientAuthMode::Require,
        })
    }

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| job.path(rel);
        let version = match job.version {
            TlsVersion::Tls12 => "tls1.2",
            TlsVersion::Tls13 => "tls1.3",
        };
        let mut policy = serde_json::json!({
            "certificate_selection": { "any_tag": ["gw"] },
            "protocol_min": version,
            "protocol_max": version,
        });
        if let Some(mode) = job.verify {
            let cas: Vec<String> = pem::parse_many(job.material.whole_pool_pem())
                .unwrap_or_default()
                .iter()
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b.contents()))
                .collect();
            policy["client_authentication"] = serde_json::json!({
                "trusted_ca_certs": cas,
                "mode": mode.spelling(),
            });
        }
        let who = if job.verify.is_some_and(|m| !m.verifies()) {
            "unverified"
        } else {
            "authenticated"
        };
        let page = |body: String| {
            serde_json::json!({
                "handler": "static_response",
                "status_code": 200,
                "headers": { "Content-Type": ["text/plain"], "Connection": ["close"] },
                "body": body,
            })
        };
        let config = serde_json::json!({
            "admin": {
                "listen": format!("unix/{}", p(ADMIN_SOCKET)),
                "config": { "persist": false },
            },
            "logging": { "logs": { "default": { "level": "DEBUG", "writer": { "output": "stderr" } } } },
            "storage": { "module": "file_system", "root": p("data") },
            "apps": {
                "tls": { "certificates": { "load_files": [{
                    "certificate": p(super::material::SERVER_CHAIN),
                    "key": p(super::material::SERVER_KEY),
                    "tags": ["gw"],
                }]}},
                "http": { "servers": { "mtls": {
                    "listen": [format!("127.0.0.1:{}", job.port)],
                    "automatic_https": { "disable": true },
                    "tls_connection_policies": [policy],
                    // `map` turns an empty subject (no certificate) into
                    // "anonymous"; matchers see an unset placeholder as
                    // "<nil>", not "".
                    "routes": [{ "handle": [
                        {
                            "handler": "map",
                            "source": "{http.request.tls.client.subject}",
                            "destinations": ["{mtls.who}"],
                            "mappings": [{ "input": "", "outputs": ["anonymous"] }],
                            "defaults": [format!("{who}: {{http.request.tls.client.subject}}")],
                        },
                        page("{mtls.who}\n".into()),
                    ]}],
                }}},
            },
        });
        let text = serde_json::to_string_pretty(&config).unwrap_or_default();
        out.files.push((CONFIG.into(), text + "\n", false));
        out.dirs.extend(["data".into(), "home".into()]);
        out.env = vec![
            ("HOME".into(), p("home")),
            ("XDG_DATA_HOME".into(), p("data")),
            ("XDG_CONFIG_HOME".into(), p("home")),
        ];
        out.config_file = Some(CONFIG.into());
        out.args = vec!["run".into()];
        out.args.extend(config_args(job.prefix));
        out.logs = vec!["stderr.log".into()];
        Ok(())
    }

    fn check_args(prefix: &Path) -> Option<Vec<String>> {
        let mut args = vec!["validate".into()];
        args.extend(config_args(prefix));
        Some(args)
    }
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, setup};
    use crate::real::{render, RealKind};
    use std::path::Path;

    #[test]
    fn modes_pool_and_version_go_to_the_connection_policy() {
        for (mode, caddy, who) in [
            ("require-and-verify", "require_and_verify", "authenticated"),
            ("verify-if-given", "verify_if_given", "authenticated"),
            ("request", "request", "unverified"),
            ("require-any", "require", "unverified"),
        ] {
            let (pki, server) = setup(&format!("mode = {{ go = \"{mode}\" }}\n"));
            let c = render(
                RealKind::Caddy,
                &pki,
                &server,
                TlsVersion::Tls13,
                1,
                Path::new("/p"),
            )
            .unwrap();
            let json: serde_json::Value =
                serde_json::from_str(file(&c, "caddy.json")).expect("JSON");
            let policy = &json["apps"]["http"]["servers"]["mtls"]["tls_connection_policies"][0];
            assert_eq!(policy["client_authentication"]["mode"], caddy);
            assert_eq!(policy["protocol_max"], "tls1.3");
            // Both roots, though only root-a is named ("flagged").
            assert_eq!(
                policy["client_authentication"]["trusted_ca_certs"]
                    .as_array()
                    .map(Vec::len),
                Some(2)
            );
            assert!(file(&c, "caddy.json").contains(&format!("{who}: ")), "{mode}");
            assert_eq!(json["admin"]["listen"], "unix//p/admin.sock");
            assert_eq!(json["admin"]["config"]["persist"], false);
        }
    }
}
