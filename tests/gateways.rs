//! Every built-in gateway profile against the classic client-certificate
//! situations, on TLS 1.2 and 1.3, with the exact status/body or the exact
//! alert and the side that sent it. A wrong failure is a failure.

use mtls_harness::case::run_case;
use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::{Observation, Side, TlsVersion};
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::scenario::schema::ScenarioFile;
use mtls_harness::tls::Timeouts;

/// What one profile must do in one situation.
#[derive(Debug, Clone, Copy)]
enum Want {
    Http(u16, &'static str),
    Iis(u16),
    Alert(&'static str),
    /// TLS 1.2 alert, TLS 1.3 alert (OpenSSL's missing-certificate split).
    AlertByVersion(&'static str, &'static str),
}

const PKI: &str = include_str!("data/situations_pki.toml");

/// Situations: (name, client wallet, crls loaded by the server).
const SITUATIONS: &[(&str, &[&str], &[&str])] = &[
    ("no_cert", &[], &[]),
    ("good", &["good"], &[]),
    ("expired", &["expired"], &[]),
    ("untrusted_root", &["untrusted"], &[]),
    ("revoked", &["revoked"], &["root"]),
    ("issuer_ca_flag_false", &["under-not-a-ca"], &[]),
    ("eku_server_only", &["server-eku"], &[]),
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
        (P::Apache | P::Haproxy | P::Envoy, "no_cert") => {
            AlertByVersion("handshake_failure", "certificate_required")
        }
        (P::Apache | P::Haproxy | P::Envoy, "expired") => Alert("certificate_expired"),
        (P::Apache | P::Haproxy | P::Envoy, "untrusted_root") => Alert("unknown_ca"),
        (P::Apache | P::Haproxy | P::Envoy, "revoked") => Alert("certificate_revoked"),
        (P::Apache | P::Haproxy | P::Envoy, "issuer_ca_flag_false") => Alert("unknown_ca"),
        (P::Apache | P::Haproxy | P::Envoy, "eku_server_only") => Alert("unsupported_certificate"),
        (p, s) => panic!("no expectation for {p} / {s}"),
    }
}

fn make_scenario(wallet: &[&str], crls: &[&str]) -> ScenarioFile {
    let list = |xs: &[&str]| {
        xs.iter()
            .map(|x| format!("\"{x}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "description = \"matrix\"\n[server]\ncert = \"gw\"\nclient_auth = \"required\"\ntrust = [\"root\"]\ncrls = [{}]\n[client]\ncerts = [{}]\nselection = \"always\"\n",
        list(crls),
        list(wallet)
    );
    toml::from_str(&text).expect("matrix scenario parses")
}

fn check(want: Want, version: TlsVersion, obs: &Observation) -> Result<(), String> {
    let got = format!(
        "alert={:?} http={:?} client_error={:?}",
        obs.alert,
        obs.http.as_ref().map(|h| (h.status, h.substatus)),
        obs.client_error
    );
    let alert_is = |name: &str| {
        obs.alert
            .as_ref()
            .is_some_and(|a| a.description == name && a.sent_by == Side::Server)
            && obs.http.is_none()
    };
    let ok = match want {
        Want::Http(status, text) => {
            obs.http
                .as_ref()
                .is_some_and(|h| h.status == status && h.body_excerpt.contains(text))
                && obs.alert.is_none()
        }
        Want::Iis(sub) => obs
            .http
            .as_ref()
            .is_some_and(|h| h.status == 403 && h.substatus == Some(sub)),
        Want::Alert(a) => alert_is(a),
        Want::AlertByVersion(a12, a13) => alert_is(if version == TlsVersion::Tls12 {
            a12
        } else {
            a13
        }),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("want {want:?}, got {got}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_in_every_situation_on_both_versions() {
    let spec = PkiSpec::from_toml(PKI, "matrix.toml").expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    let mut failures = Vec::new();
    let mut ran = 0;
    for profile in ProfileKind::ALL {
        for (situation, wallet, crls) in SITUATIONS {
            let mut file = make_scenario(wallet, crls);
            file.pki = spec.clone();
            for version in TlsVersion::ALL {
                let obs = run_case(&pki, &file, profile, version, Timeouts::default())
                    .await
                    .expect("case runs");
                ran += 1;
                if let Err(e) = check(expected(profile, situation), version, &obs) {
                    failures.push(format!("{profile} / {situation} / TLS {version}: {e}"));
                }
            }
        }
    }
    assert_eq!(ran, ProfileKind::ALL.len() * SITUATIONS.len() * 2);
    assert!(
        failures.is_empty(),
        "{} of {ran} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// reqwest (given the same prebuilt rustls config) sees what the raw client
/// sees: the same status, or the same alert from the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_client_agrees_with_the_raw_client() {
    use mtls_harness::case::{client_spec, gateway_config};
    use mtls_harness::tls::client::ClientKind;
    let spec = PkiSpec::from_toml(PKI, "matrix.toml").expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    let outcome = |o: &Observation| match (&o.http, &o.alert) {
        (Some(h), _) => format!("http {}", h.status),
        (None, Some(a)) => format!("alert {} by {}", a.description, a.sent_by),
        (None, None) => format!("error {:?}", o.client_error),
    };
    let mut compared = 0;
    for profile in [ProfileKind::Strict, ProfileKind::Nginx, ProfileKind::Iis] {
        for (situation, wallet, crls) in SITUATIONS.iter().take(4) {
            let mut file = make_scenario(wallet, crls);
            file.pki = spec.clone();
            for version in TlsVersion::ALL {
                let timeouts = Timeouts::default();
                let config =
                    gateway_config(&pki, &file.server, profile, vec![version], timeouts, None)
                        .expect("config");
                let gateway = mtls_harness::tls::server::start(config)
                    .await
                    .expect("gateway");
                let mut client = client_spec(&pki, &file, version, timeouts).expect("client");
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
                        outcome(&via_reqwest),
                        outcome(&raw),
                        "{profile} / {situation} / TLS {version}: reqwest {via_reqwest:?}"
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
