//! Real lighttpd 1.4 with mod_openssl (Debian's `lighttpd` and
//! `lighttpd-mod-openssl`), judged as the `lighttpd` profile, which is
//! Apache's (and scenarios' `apache` expectations judge it unless they name
//! lighttpd): OpenSSL verifies in the handshake and its alerts reach the
//! client unchanged, as with Apache per-server.
//!
//! - `ssl.verifyclient.activate` + `enforce = "enable"`: a certificate is
//!   required (Apache `per-server`); `enforce = "disable"`: only asked for
//!   (`optional`). No equivalent of `per-directory` (lighttpd neither
//!   renegotiates nor asks after the handshake).
//! - `ssl.ca-file`: every trusted CA; its names are sent unless
//!   `ssl.ca-dn-file` names others. `ssl.ca-dn-file` also refuses a
//!   certificate whose issuer it does not list, which Apache's
//!   `SSLCADNRequestFile` does not: a scenario that names only some trusted
//!   CAs is rendered that way (the lighttpd profile models it).
//! - lighttpd builds its own certificate chain from `ssl.ca-file`: unless
//!   that file holds the root of the server's certificate every handshake
//!   fails with internal_error, so such a scenario is unsupported.
//! - `ssl.ca-crl-file`: CRLs, checked for the whole chain.
//! - The page is a CGI script answering from `SSL_CLIENT_VERIFY`.
//!
//! `lighttpd -D` runs in the foreground; `lighttpd -tt` checks the config.

use super::{Job, RealProgram, RenderedGateway, VERIFY_DEPTH};
use crate::gateway::{self, lighttpd::LighttpdMode};
use crate::real::{RealError, Unsupported};
use std::fmt::Write as _;
use std::path::Path;

pub(crate) struct Lighttpd;

/// `ssl.verifyclient.enforce` when a certificate is asked for (only
/// `enable` has an equivalent among the apache modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    Enforce,
}

const CONFIG: &str = "lighttpd.conf";

/// The page: who the client is, per mod_openssl's `SSL_CLIENT_VERIFY`.
const PAGE: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nif [ \"$SSL_CLIENT_VERIFY\" = SUCCESS ]; then echo \"authenticated: $SSL_CLIENT_S_DN\"; else echo anonymous; fi\n";

/// Whether a CRL in `pem` is past its nextUpdate.
fn expired_crl(pem: &str) -> bool {
    let now = x509_parser::time::ASN1Time::now();
    pem::parse_many(pem).unwrap_or_default().iter().any(|block| {
        x509_parser::parse_x509_crl(block.contents())
            .ok()
            .and_then(|(_, crl)| crl.next_update())
            .is_some_and(|next| next < now)
    })
}

fn config_args(prefix: &Path) -> Vec<String> {
    vec!["-f".into(), prefix.join(CONFIG).display().to_string()]
}

impl RealProgram for Lighttpd {
    const NAME: &'static str = "lighttpd";
    const PROGRAM: &'static str = "lighttpd";
    const PACKAGE: &'static str = "lighttpd";
    type Judge = gateway::lighttpd::Lighttpd;

    type Verify = Verify;

    fn verify(mode: LighttpdMode) -> Option<Verify> {
        match mode {
            LighttpdMode::PerServer => Some(Verify::Enforce),
            // `enforce = "disable"` serves a certificate that fails
            // verification (SSL_CLIENT_VERIFY=FAILED) where Apache's
            // `optional` sends the alert: no equivalent.
            LighttpdMode::Optional => None,
            // Never asks after the handshake.
            LighttpdMode::PerDirectory => None,
        }
    }

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| job.path(rel);
        let m = job.material;
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real lighttpd for one case");
        let _ = writeln!(c, "server.modules = (\"mod_openssl\", \"mod_cgi\")");
        let _ = writeln!(c, "server.document-root = \"{}\"", p("htdocs"));
        let _ = writeln!(c, "server.bind = \"127.0.0.1\"");
        let _ = writeln!(c, "server.port = {}", job.port);
        let _ = writeln!(c, "server.errorlog = \"{}\"", p("logs/error.log"));
        let _ = writeln!(c, "index-file.names = (\"index.sh\")");
        let _ = writeln!(c, "cgi.assign = (\".sh\" => \"/bin/sh\")");
        let _ = writeln!(c, "ssl.engine = \"enable\"");
        let _ = writeln!(c, "ssl.pemfile = \"{}\"", p(super::material::SERVER_CHAIN));
        let _ = writeln!(c, "ssl.privkey = \"{}\"", p(super::material::SERVER_KEY));
        let _ = writeln!(
            c,
            "ssl.openssl.ssl-conf-cmd = (\"MinProtocol\" => \"{0}\", \"MaxProtocol\" => \"{0}\")",
            job.protocol()
        );
        if let Some(verify) = job.verify {
            if let Some(root) = &m.server.root {
                if !m.trusted.iter().any(|t| &t.name == root) {
                    return Err(Unsupported::Program(
                        "lighttpd builds its server chain from ssl.ca-file: the server \
                         certificate's root must be a trusted CA, or every handshake fails \
                         with internal_error",
                    )
                    .into());
                }
            }
            if expired_crl(&m.crls_pem) {
                return Err(Unsupported::Program(
                    "lighttpd checks its own server chain against ssl.ca-crl-file: a CRL past \
                     nextUpdate makes every handshake fail with internal_error before the \
                     client certificate",
                )
                .into());
            }
            let _ = writeln!(c, "ssl.ca-file = \"{}\"", job.trust_file());
            if !m.names_are_the_trust_store() {
                match job.names_file() {
                    Some(names) => {
                        let _ = writeln!(c, "# sent as CA names; also the only issuers accepted");
                        let _ = writeln!(c, "ssl.ca-dn-file = \"{names}\"");
                    }
                    None => {
                        return Err(Unsupported::Program(
                            "lighttpd sends the names of ssl.ca-file unless ssl.ca-dn-file \
                             names some: it cannot send an empty CA list",
                        )
                        .into())
                    }
                }
            }
            if let Some(crl) = job.crl_file() {
                let _ = writeln!(c, "ssl.ca-crl-file = \"{crl}\"");
            }
            let _ = writeln!(c, "ssl.verifyclient.activate = \"enable\"");
            let Verify::Enforce = verify;
            let _ = writeln!(c, "ssl.verifyclient.enforce = \"enable\"");
            let _ = writeln!(c, "ssl.verifyclient.depth = {VERIFY_DEPTH}");
        }
        out.files.push((CONFIG.into(), c, false));
        out.files.push(("htdocs/index.sh".into(), PAGE.into(), false));
        out.config_file = Some(CONFIG.into());
        out.args = config_args(job.prefix);
        out.args.insert(0, "-D".into());
        out.logs = vec!["logs/error.log".into()];
        Ok(())
    }

    fn check_args(prefix: &Path) -> Option<Vec<String>> {
        let mut args = vec!["-tt".into()];
        args.extend(config_args(prefix));
        Some(args)
    }
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, setup};
    use crate::real::{render, RealError, RealKind, Unsupported};
    use std::path::Path;

    #[test]
    fn trust_names_crls_and_modes_go_to_the_right_settings() {
        let (pki, server) = setup("");
        let l = render(
            RealKind::Lighttpd,
            &pki,
            &server,
            TlsVersion::Tls12,
            1,
            Path::new("/p"),
        )
        .unwrap();
        let conf = file(&l, "lighttpd.conf");
        assert!(conf.contains("ssl.ca-file = \"/p/trust.pem\""), "{conf}");
        // Only root-a is named ("flagged").
        assert!(conf.contains("ssl.ca-dn-file = \"/p/ca-names.pem\""), "{conf}");
        assert!(conf.contains("ssl.ca-crl-file = \"/p/crl.pem\""), "{conf}");
        assert!(conf.contains("ssl.verifyclient.enforce = \"enable\""), "{conf}");
        assert!(conf.contains("\"MinProtocol\" => \"TLSv1.2\""), "{conf}");
        assert_eq!(l.args[0], "-D");
        for mode in ["optional", "per-directory"] {
            let (pki, server) = setup(&format!("mode = {{ apache = \"{mode}\" }}\n"));
            assert!(matches!(
                render(RealKind::Lighttpd, &pki, &server, TlsVersion::Tls13, 1, Path::new("/p")),
                Err(RealError::Unsupported(Unsupported::Mode { .. }))
            ));
        }
    }
}
