//! `probe` against built-in gateways whose configuration the test knows: it
//! must report what was configured and say why a certificate is not sent.

mod support;

use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::TlsVersion;
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::probe::{probe, ProbeError, ProbeOptions, ProbeReport};
use mtls_harness::scenario::schema::{CaNamesPolicy, ClientAuth, ServerSpec};
use mtls_harness::tls::client::WalletEntry;
use mtls_harness::tls::Timeouts;
use support::situations::start_builtin;

const SPEC: &str = r#"
[[cert]]
name = "partner-root"
role = "root"
[[cert]]
name = "internal-root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "partner-root"
[[cert]]
name = "alice"
role = "client"
issuer = "internal-root"
[[cert]]
name = "paul"
role = "client"
issuer = "partner-root"
[[bulk]]
prefix = "filler"
count = 200
subject = "CN=Filler Certification Authority {n},OU=Trusted Roots Programme,O=Example Filler Organisation"
"#;

fn server(trust: &[&str], ca_names: CaNamesPolicy, client_auth: ClientAuth) -> ServerSpec {
    let text = format!(
        "cert = \"gw\"\ntrust = [{}]\n",
        trust
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut s: ServerSpec = toml::from_str(&text).expect("server spec");
    s.ca_names = ca_names;
    s.client_auth = client_auth;
    s
}

async fn probe_gateway(
    pki: &Pki,
    spec: &ServerSpec,
    profile: ProfileKind,
    who: Option<&str>,
) -> ProbeReport {
    let gateway = start_builtin(pki, spec, profile, &TlsVersion::ALL).await;
    let identity =
        who.map(|n| WalletEntry::from_issued(pki.cert(n).expect("cert"), true).expect("wallet"));
    let report = probe(&ProbeOptions {
        url: gateway.url(),
        identity,
        timeouts: Timeouts::default(),
        trust_store: None,
    })
    .await
    .expect("probe runs");
    gateway.shutdown().await;
    report
}

fn pki() -> Pki {
    Pki::generate(&PkiSpec::from_toml(SPEC, "probe.toml").expect("spec")).expect("pki")
}

#[tokio::test]
async fn explains_that_an_unlisted_issuer_means_no_certificate() {
    let pki = pki();
    let spec = server(
        &["partner-root", "internal-root"],
        CaNamesPolicy::Explicit(vec!["partner-root".into()]),
        ClientAuth::Required,
    );
    let report = probe_gateway(&pki, &spec, ProfileKind::Nginx, Some("alice")).await;
    assert_eq!(report.versions.len(), 2);
    for v in &report.versions {
        assert!(v.reachable && v.certificate_requested, "{v:?}");
        assert_eq!(v.ca_names_count, 1);
        assert_eq!(v.ca_names, vec!["CN=partner-root".to_string()]);
        assert_eq!(v.browser_would_send, Some(false));
        assert!(!v.required_in_handshake, "nginx decides at HTTP level");
        assert!(
            v.without_certificate.contains("400"),
            "{}",
            v.without_certificate
        );
        assert!(
            v.with_certificate
                .as_deref()
                .is_some_and(|w| w.contains("200")),
            "{:?}",
            v.with_certificate
        );
    }
    let text = report.render();
    assert!(text.contains("will not be sent by browsers"), "{text}");
    // The families come from the real-client registry (measured there).
    assert!(
        text.contains("Go, Java, Chromium and Firefox (and Windows clients) will not send it"),
        "{text}"
    );
    assert!(
        text.contains("curl, OpenSSL, GnuTLS, Python and Node will send it anyway"),
        "{text}"
    );
    assert!(text.contains("alice"), "{text}");
}

#[tokio::test]
async fn a_listed_issuer_is_sent_and_a_required_handshake_is_recognised() {
    let pki = pki();
    let spec = server(
        &["partner-root"],
        CaNamesPolicy::AllTrusted,
        ClientAuth::Required,
    );
    let report = probe_gateway(&pki, &spec, ProfileKind::Strict, Some("paul")).await;
    for v in &report.versions {
        assert_eq!(v.browser_would_send, Some(true), "{v:?}");
        assert!(v.required_in_handshake, "{v:?}");
        assert!(
            v.without_certificate.contains("certificate_required"),
            "{}",
            v.without_certificate
        );
    }
    assert!(report.render().contains("clients will send it"));
}

#[tokio::test]
async fn a_server_that_does_not_ask_is_named() {
    let pki = pki();
    let spec = server(
        &["partner-root"],
        CaNamesPolicy::AllTrusted,
        ClientAuth::None,
    );
    let report = probe_gateway(&pki, &spec, ProfileKind::Strict, None).await;
    for v in &report.versions {
        assert!(v.reachable && !v.certificate_requested, "{v:?}");
    }
    assert!(report
        .render()
        .contains("does not ask for a client certificate"));
}

#[tokio::test]
async fn a_list_over_16_kb_is_flagged() {
    let pki = pki();
    let spec = server(
        &["filler-*", "partner-root"],
        CaNamesPolicy::AllTrusted,
        ClientAuth::Required,
    );
    let report = probe_gateway(&pki, &spec, ProfileKind::Nginx, None).await;
    let v = &report.versions[0];
    assert_eq!(v.ca_names_count, 201);
    assert!(v.ca_names_bytes > 16 * 1024, "{}", v.ca_names_bytes);
    assert!(
        v.limits.iter().any(|l| l.contains("16 KB")),
        "{:?}",
        v.limits
    );
}

#[tokio::test]
async fn unreachable_targets_and_bad_urls_are_clear_errors() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = probe(&ProbeOptions {
        url: format!("https://{closed}"),
        identity: None,
        timeouts: Timeouts::default(),
        trust_store: None,
    })
    .await
    .expect_err("nothing listens");
    assert!(matches!(err, ProbeError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&closed.to_string()), "{err}");
    let err = probe(&ProbeOptions {
        url: "http://example.test".into(),
        identity: None,
        timeouts: Timeouts::default(),
        trust_store: None,
    })
    .await
    .expect_err("not https");
    assert!(matches!(err, ProbeError::BadUrl(_)), "{err}");
}

/// A path whose certificate is asked for after the request (Apache
/// `SSLVerifyClient require` in a `<Location>`; IIS per-path) is named as
/// such on each version, with the clients that cannot answer, and not as
/// "does not ask"; the same server asking in the handshake is not.
#[tokio::test]
async fn a_path_that_asks_after_the_request_is_named_with_who_cannot_answer() {
    use mtls_harness::probe::Conclusion;
    use mtls_harness::scenario::schema::Asks;
    let pki = pki();
    let mut spec = server(
        &["internal-root"],
        CaNamesPolicy::AllTrusted,
        ClientAuth::Required,
    );
    spec.asks = Asks::AfterRequest;
    for who in [None, Some("alice")] {
        let report = probe_gateway(&pki, &spec, ProfileKind::Apache, who).await;
        assert_eq!(report.conclusion, Conclusion::NotAccepted, "{report:?}");
        for v in &report.versions {
            assert!(!v.certificate_requested, "{v:?}");
            let cause = &v.finding.cause;
            assert!(
                cause.starts_with("this path asks for a certificate after the request"),
                "{cause}"
            );
            match v.tls {
                TlsVersion::Tls12 => {
                    assert!(cause.contains("TLS 1.2 renegotiation"), "{cause}");
                    // Go answers only with its switch; curl always does.
                    assert!(cause.contains("real:go (without"), "{cause}");
                    assert!(!cause.contains("real:curl"), "{cause}");
                }
                TlsVersion::Tls13 => {
                    assert!(cause.contains("TLS 1.3 post-handshake auth"), "{cause}");
                    assert!(cause.contains("real:node"), "{cause}");
                    assert!(
                        cause.contains("real:openssl (without `-enable_pha`)"),
                        "{cause}"
                    );
                }
            }
        }
    }
    let report = probe_gateway(&pki, &spec, ProfileKind::Iis, None).await;
    let v13 = &report.versions[1];
    assert!(
        v13.finding
            .cause
            .contains("no client can answer it on TLS 1.3"),
        "{:?}",
        v13.finding
    );
    spec.asks = Asks::InHandshake;
    let report = probe_gateway(&pki, &spec, ProfileKind::Apache, None).await;
    for v in &report.versions {
        assert!(v.asked_after_request.is_none(), "{v:?}");
        assert!(!v.finding.cause.contains("after the request"), "{v:?}");
    }
}
