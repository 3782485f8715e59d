//! The service's client-certificate handling, tested with mtls-harness:
//! every case a team should check, then the whole catalog judging it.

use mtls_harness::prelude::*;
use mtls_service_example::{start, Config, Service};

/// The team's PKI: an issuing CA under a root, the service's certificate,
/// and clients good and bad.
fn pki() -> Pki {
    Pki::builder()
        .root("root")
        .intermediate("issuing", "root")
        .server("service", "issuing")
        .client("alice", "issuing")
        .client("bob", "issuing")
        .expired()
        .client("carol", "issuing")
        .revoked()
        .root("other")
        .client("mallory", "other")
        .build()
        .expect("PKI")
}

/// The service, configured from files as in production: a CRL for every
/// CA of the chain (rustls checks the whole chain and denies an unknown
/// status; `write_to` writes a CRL for every CA, empty ones too).
async fn service(pki: &Pki, dir: &std::path::Path) -> Service {
    let files = pki.write_to(dir.join("pki")).expect("write PKI");
    start(Config {
        cert_chain: files.chain("service"),
        key: files.key("service"),
        client_cas: files.cert("root"),
        crls: vec![files.crl("root"), files.crl("issuing")],
        listen: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .expect("service starts")
}

#[tokio::test]
async fn client_certificates_are_required_and_checked() {
    let pki = pki();
    let tmp = tempfile::tempdir().unwrap();
    let svc = service(&pki, tmp.path()).await;
    let url = svc.url();
    let curl = Client::curl().pki(&pki).trust(["root"]);

    // Valid.
    curl.clone()
        .wallet(["alice"])
        .get(&url)
        .await
        .assert_status(200);
    // No certificate.
    let obs = Client::browser().pki(&pki).get(&url).await;
    assert!(!obs.client_certificate_sent);
    obs.assert_alert(Side::Server, "certificate_required");
    // Expired.
    curl.clone()
        .wallet(["bob"])
        .get(&url)
        .await
        .assert_alert(Side::Server, "certificate_expired");
    // Revoked.
    curl.clone()
        .wallet(["carol"])
        .get(&url)
        .await
        .assert_alert(Side::Server, "certificate_revoked");
    // Untrusted: a browser sends nothing (its issuer is not among the CA
    // names); curl sends it anyway and is refused.
    let obs = Client::browser()
        .pki(&pki)
        .wallet(["mallory"])
        .get(&url)
        .await;
    assert!(!obs.client_certificate_sent);
    obs.assert_alert(Side::Server, "certificate_required");
    let obs = curl.wallet(["mallory"]).get(&url).await;
    assert!(obs.client_certificate_sent);
    obs.assert_alert(Side::Server, "unknown_ca");
    // TLS 1.2 too.
    Client::browser()
        .pki(&pki)
        .wallet(["alice"])
        .tls(TlsVersion::Tls12)
        .get(&url)
        .await
        .assert_status(200);
}

/// A partner's gateway (nginx-like) trusts thousands of CAs and truncates
/// its CA-name list to 16 KiB, as Windows does: a browser-like client whose
/// CA was cut finds no match and sends nothing; a curl-like one still sends.
#[tokio::test]
async fn a_partner_gateway_with_a_truncated_ca_name_list() {
    let pki = Pki::builder()
        .bulk_roots("filler", 1000)
        .root("partner")
        .server("gw", "partner")
        .client("us", "partner")
        .build()
        .unwrap();
    let gw = Gateway::builtin(Profile::Nginx)
        .pki(&pki)
        .cert("gw")
        .trust(["filler-*", "partner"])
        .ca_names(CaNames::TruncateBytes(16 * 1024))
        .start()
        .await
        .unwrap();
    let obs = Client::browser()
        .pki(&pki)
        .wallet(["us"])
        .get(&gw.url())
        .await;
    assert!(!obs.client_certificate_sent);
    obs.assert_status(400);
    let names = gw.connections()[0].ca_names().unwrap();
    assert!(names.truncated() && !names.names(pki.cert("partner").unwrap()));
    Client::curl()
        .pki(&pki)
        .wallet(["us"])
        .get(&gw.url())
        .await
        .assert_status(200);
}

/// The whole catalog, judged by the strict profile's expectations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_judges_the_service() {
    let kit = TargetKit::generate().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let files = kit.write_to(tmp.path().join("kit")).unwrap();
    let svc = start(Config {
        cert_chain: files.chain("gw"),
        key: files.key("gw"),
        client_cas: files.cert("root"),
        crls: vec![files.crl("root")],
        listen: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap();
    let report = Conformance::target(&svc.url(), &kit)
        .profile(Profile::Strict)
        .run()
        .await
        .unwrap();
    println!("{}", report.render());
    report.assert_no_failures();
    assert!(report.passed() > 10, "{}", report.summary());
}
