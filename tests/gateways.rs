//! Every built-in gateway profile against the classic client-certificate
//! situations, on TLS 1.2 and 1.3, with the exact status/body or the exact
//! alert and the side that sent it. A wrong failure is a failure.

mod support;

use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::{Observation, Outcome, Side, TlsVersion};
use support::situations::{
    run_builtin, server_alert, situations_pki, start_builtin, Seen, Situation, Tally,
};

/// What one profile must do in one situation.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// This status, with a body containing this text.
    Http(u16, &'static str),
    Iis(u16),
    Alert(&'static str),
    /// TLS 1.2 alert, TLS 1.3 alert (OpenSSL's missing-certificate split).
    AlertByVersion(&'static str, &'static str),
}

/// The situations (tests/support/situations.rs) every profile is run in.
const SITUATIONS: &[&str] = &[
    "no_cert",
    "good",
    "expired",
    "untrusted_root",
    "revoked",
    "issuer_ca_flag_false",
    "eku_server_only",
];

fn expected(profile: ProfileKind, situation: &str) -> Want {
    use ProfileKind as P;
    use Want::*;
    const NO_CERT: &str = "No required SSL certificate was sent";
    const CERT_ERR: &str = "The SSL certificate error";
    match (profile, situation) {
        (_, "good") => Http(200, "authenticated"),
        (P::Strict, "no_cert") => Alert("certificate_required"),
        (P::Strict, "expired") => Alert("certificate_expired"),
        (P::Strict, "untrusted_root") => Alert("unknown_ca"),
        (P::Strict, "revoked") => Alert("certificate_revoked"),
        // webpki: CaUsedAsEndEntity -> rustls CertificateError::Other -> certificate_unknown
        // (OpenSSL says unknown_ca: INVALID_CA).
        (P::Strict, "issuer_ca_flag_false") => Alert("certificate_unknown"),
        (P::Strict, "eku_server_only") => Alert("unsupported_certificate"),
        (P::Nginx, "no_cert") => Http(400, NO_CERT),
        (P::Nginx, _) => Http(400, CERT_ERR),
        (P::Layer7, _) => Http(401, "Authentication Required"),
        (P::Iis, "no_cert") => Iis(7),
        (P::Iis, "expired") => Iis(17),
        (P::Iis, "revoked") => Iis(13),
        (P::Iis, _) => Iis(16),
        (P::Apache | P::Lighttpd | P::Haproxy | P::Envoy, "no_cert") => {
            AlertByVersion("handshake_failure", "certificate_required")
        }
        (P::Apache | P::Lighttpd | P::Haproxy | P::Envoy, "expired") => {
            Alert("certificate_expired")
        }
        (P::Apache | P::Lighttpd | P::Haproxy | P::Envoy, "untrusted_root") => Alert("unknown_ca"),
        (P::Apache | P::Lighttpd | P::Haproxy | P::Envoy, "revoked") => {
            Alert("certificate_revoked")
        }
        (P::Apache | P::Lighttpd | P::Haproxy | P::Envoy, "issuer_ca_flag_false") => {
            Alert("unknown_ca")
        }
        (P::Apache | P::Lighttpd | P::Haproxy | P::Envoy, "eku_server_only") => {
            Alert("unsupported_certificate")
        }
        // Go 1.19: bad_certificate for everything, on both versions; no CRLs.
        (P::Go, "revoked") => Http(200, "authenticated"),
        (P::Go, _) => Alert("bad_certificate"),
        // JSSE: bad_certificate without a certificate, certificate_unknown otherwise.
        (P::Jsse, "no_cert") => Alert("bad_certificate"),
        (P::Jsse, _) => Alert("certificate_unknown"),
        (p, s) => panic!("no expectation for {p} / {s}"),
    }
}

/// The case ended as wanted: an HTTP outcome (any substatus) with the text
/// in its body, IIS's 403 with that substatus, or the server's alert.
fn check(want: Want, version: TlsVersion, obs: &Observation) -> Result<(), String> {
    let got = obs.outcome();
    let ok = match want {
        Want::Http(status, text) => {
            matches!(got, Outcome::Http { status: s, .. } if s == status)
                && obs
                    .http
                    .as_ref()
                    .is_some_and(|h| h.body_excerpt.contains(text))
        }
        Want::Iis(sub) => {
            got == Outcome::Http {
                status: 403,
                substatus: Some(sub),
            }
        }
        Want::Alert(a) => got == server_alert(a),
        Want::AlertByVersion(a12, a13) => {
            got == server_alert(if version == TlsVersion::Tls12 {
                a12
            } else {
                a13
            })
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("want {want:?}, got {}", Seen::of(obs)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_in_every_situation_on_both_versions() {
    let (spec, pki) = situations_pki();
    let mut tally = Tally::default();
    for profile in ProfileKind::ALL {
        for &name in SITUATIONS {
            let file = Situation::named(name).scenario(&spec, None);
            for version in TlsVersion::ALL {
                let obs = run_builtin(&pki, &file, profile, version).await;
                tally.ran();
                if let Err(e) = check(expected(profile, name), version, &obs) {
                    tally.fail(format!("{profile} / {name} / TLS {version}: {e}"));
                }
            }
        }
    }
    tally.assert_all_right(ProfileKind::ALL.len() * SITUATIONS.len() * 2);
}

/// reqwest (given the same prebuilt rustls config) sees what the raw client
/// sees: the same outcome (status, or alert and sender, or client error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_client_agrees_with_the_raw_client() {
    use mtls_harness::case::client_spec;
    use mtls_harness::tls::client::ClientKind;
    use mtls_harness::tls::Timeouts;
    let (spec, pki) = situations_pki();
    let mut compared = 0;
    for profile in [ProfileKind::Strict, ProfileKind::Nginx, ProfileKind::Iis] {
        for &name in SITUATIONS.iter().take(4) {
            let file = Situation::named(name).scenario(&spec, None);
            for version in TlsVersion::ALL {
                let gateway = start_builtin(&pki, &file.server, profile, &[version]).await;
                let mut client =
                    client_spec(&pki, &file, version, Timeouts::default()).expect("client");
                let raw = client.exchange(gateway.addr()).await;
                client.kind = ClientKind::Reqwest;
                let via_reqwest = client.exchange(gateway.addr()).await;
                gateway.shutdown().await;
                // On TLS 1.3 the server's alert can close the connection
                // while reqwest's pool still holds it: reqwest then reports
                // the closed connection, not the alert (hyper-util hides the
                // TLS error). Any other difference is a failure.
                let alert_hidden_by_pool = version == TlsVersion::Tls13
                    && raw
                        .alert
                        .as_ref()
                        .is_some_and(|a| a.sent_by == Side::Server)
                    && via_reqwest.client_error.as_deref() == Some("CONNECTION_CLOSED");
                if !alert_hidden_by_pool {
                    assert_eq!(
                        via_reqwest.outcome(),
                        raw.outcome(),
                        "{profile} / {name} / TLS {version}: reqwest {via_reqwest:?}"
                    );
                }
                assert_eq!(
                    via_reqwest.client_certificate_sent,
                    raw.client_certificate_sent
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 3 * 4 * 2);
}
