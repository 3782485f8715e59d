//! Real `openssl s_server -www`, judged as the `haproxy` profile.
//!
//! s_server verifies in the handshake and sends OpenSSL's alerts unchanged:
//! what the haproxy profile (`verify required` / `verify optional`) models.
//! `strict` would be wrong (its alerts are rustls's); `apache` is close but
//! not equal (mod_ssl turns an expired CRL's certificate_expired into
//! certificate_unknown, which s_server and HAProxy do not; see
//! `GatewayProfile::openssl_alert`). Having no HTTP layer to deny in, it has
//! no equivalent of `optional-deny`.
//!
//! - `-Verify N`: a certificate is required; `-verify N`: only asked for.
//!   Without `-verify_return_error` its verify callback accepts every
//!   certificate, only printing the error.
//! - `-verifyCAfile`: the verification store (every trusted CA, plus the
//!   CRLs: a PEM file may carry both, `-crl_check_all` checks the whole
//!   chain). `-CAfile`: the names sent; `-no_ca_names` sends none.
//! - `-cert_chain`: the intermediates sent after the leaf.
//! - Resumption: by default an internal session cache and tickets.
//!   `[server] resumption`: `session-id` is `-no_ticket`, `tickets`
//!   `-no_cache`, `off` both.
//! - It binds its port itself: s_server has no option to take a socket
//!   (`-accept host:port`, `-unix path` only). The harness proves the server
//!   on the port is this case's by a handshake (see `Listener::BindsPort`).
//! - It prints `ACCEPT` on stdout once listening. `-www` answers 200 with its
//!   own status page, so the runner does not check `body_contains`.
//!
//! It has no config file, hence no config check.

use super::material::pems;
use super::{Job, RealProgram, RenderedGateway, VERIFY_DEPTH};
use crate::gateway::{self, haproxy::HaproxyMode};
use crate::observation::TlsVersion;
use crate::real::RealError;
use crate::scenario::schema::Resumption;
use std::path::Path;

pub(crate) struct Openssl;

/// The verify flag when a certificate is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// `-Verify`
    Required,
    /// `-verify`
    Optional,
}

impl RealProgram for Openssl {
    const NAME: &'static str = "openssl";
    const PROGRAM: &'static str = "openssl";
    const PACKAGE: &'static str = "openssl";
    type Judge = gateway::haproxy::Haproxy;
    const RENDERS_RESUMPTION: bool = true;
    /// `s_server -www` answers 200 with its own status page.
    const SERVES_OWN_PAGE: bool = true;

    type Verify = Verify;

    fn verify(mode: HaproxyMode) -> Option<Verify> {
        match mode {
            HaproxyMode::Required => Some(Verify::Required),
            HaproxyMode::Optional => Some(Verify::Optional),
            // No HTTP layer to deny in.
            HaproxyMode::OptionalDeny => None,
        }
    }

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| job.path(rel);
        let m = job.material;
        let only = match job.version {
            TlsVersion::Tls12 => "-tls1_2",
            TlsVersion::Tls13 => "-tls1_3",
        };
        out.files
            .push(("server.leaf.crt".into(), m.server.cert_pem(), false));
        out.args = vec![
            "s_server".into(),
            "-accept".into(),
            format!("127.0.0.1:{}", job.port),
            "-cert".into(),
            p("server.leaf.crt"),
            "-key".into(),
            p("server.key"),
            only.into(),
            "-www".into(),
        ];
        if !m.intermediates_pem.is_empty() {
            out.files.push((
                "server.intermediates.pem".into(),
                m.intermediates_pem.clone(),
                false,
            ));
            out.args.push("-cert_chain".into());
            out.args.push(p("server.intermediates.pem"));
        }
        if let Some(verify) = job.verify {
            let mut store = pems(&m.trusted);
            store.push_str(&m.crls_pem);
            out.files.push(("verify.pem".into(), store, false));
            out.args.extend([
                match verify {
                    Verify::Required => "-Verify",
                    Verify::Optional => "-verify",
                }
                .into(),
                VERIFY_DEPTH.to_string(),
                "-verify_return_error".into(),
                "-verifyCAfile".into(),
                p("verify.pem"),
            ]);
            match job.names_file() {
                Some(names) => out.args.extend(["-CAfile".into(), names]),
                None => out.args.push("-no_ca_names".into()),
            }
            if job.crl_file().is_some() {
                out.args.push("-crl_check_all".into());
            }
        }
        match job.resumption {
            None => {}
            Some(Resumption::SessionId) => out.args.push("-no_ticket".into()),
            Some(Resumption::Tickets) => out.args.push("-no_cache".into()),
            Some(Resumption::Off) => out.args.extend(["-no_cache".into(), "-no_ticket".into()]),
        }
        out.logs = vec!["stdout.log".into(), "stderr.log".into()];
        out.ready_marker = Some(("stdout.log".into(), "ACCEPT".into()));
        Ok(())
    }

    fn check_args(_prefix: &Path) -> Option<Vec<String>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{rendered, setup};
    use crate::real::RealKind;
    use crate::scenario::schema::CaNamesPolicy;
    use std::path::Path;

    #[test]
    fn names_verify_store_and_crls_go_to_the_right_flags() {
        let (pki, server) = setup("");
        let o = rendered(RealKind::Openssl, &pki, &server, TlsVersion::Tls13);
        let args = o.args.join(" ");
        assert!(args.starts_with("s_server -accept 127.0.0.1:1 "), "{args}");
        assert!(args.contains("-CAfile /p/ca-names.pem"), "{args}");
        assert!(args.contains("-verifyCAfile /p/verify.pem"), "{args}");
        assert!(args.contains("-Verify 10 -verify_return_error"), "{args}");
        assert!(
            args.contains("-tls1_3") && args.contains("-crl_check_all"),
            "{args}"
        );
        assert_eq!(RealKind::Openssl.check_args(Path::new("/p")), None);
    }

    #[test]
    fn optional_asks_without_requiring_and_an_empty_list_sends_no_names() {
        let (pki, mut server) = setup("mode = { haproxy = \"optional\" }\n");
        server.ca_names = CaNamesPolicy::Empty;
        let o = rendered(RealKind::Openssl, &pki, &server, TlsVersion::Tls12);
        let args = o.args.join(" ");
        assert!(args.contains("-verify 10 -verify_return_error"), "{args}");
        assert!(args.contains("-no_ca_names") && !args.contains("-CAfile"), "{args}");
        assert!(args.contains("-tls1_2"), "{args}");
    }
}
