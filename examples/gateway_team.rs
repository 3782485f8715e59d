//! A complete test a gateway team can copy: build a PKI, start a built-in
//! gateway that answers like nginx `ssl_verify_client on`, and check what a
//! browser-like client and a curl-like client get.
//!
//! Run it with `cargo run --example gateway_team`; as a test in your own
//! crate, put the body in a `#[tokio::test]`.

use mtls_harness::case::{client_spec, exchange_and_merge, gateway_config};
use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::TlsVersion;
use mtls_harness::pki::Pki;
use mtls_harness::scenario::schema::{ScenarioFile, SelectionPolicy};
use mtls_harness::tls::Timeouts;

const SCENARIO: &str = r#"
description = "nginx lists only the partner CA; alice holds a cert from the internal CA"

[[pki.cert]]
name = "partner-ca"
role = "root"
[[pki.cert]]
name = "internal-ca"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "partner-ca"
[[pki.cert]]
name = "alice"
role = "client"
issuer = "internal-ca"

[server]
cert = "gw"
trust = ["partner-ca", "internal-ca"]
ca_names = { explicit = ["partner-ca"] }

[client]
certs = ["alice"]
selection = "match-issuer"

[expect.gateway.nginx]
http_status = 400
"#;

#[tokio::main]
async fn main() {
    let mut file: ScenarioFile = toml::from_str(SCENARIO).expect("scenario parses");
    let pki = Pki::generate(&file.pki).expect("PKI generates");
    let timeouts = Timeouts::default();

    let config = gateway_config(
        &pki,
        &file.server,
        ProfileKind::Nginx,
        vec![TlsVersion::Tls13],
        timeouts,
        None,
    )
    .expect("gateway config");
    let gateway = mtls_harness::tls::server::start(config)
        .await
        .expect("gateway starts");
    println!("gateway at {}", gateway.url());

    // A browser filters its certificates by the server's CA names: alice's
    // issuer is not listed, so it sends nothing and nginx answers 400.
    let browser = client_spec(&pki, &file, TlsVersion::Tls13, timeouts).expect("client");
    let obs = exchange_and_merge(&gateway, &browser).await;
    let http = obs.http.as_ref().expect("an HTTP answer");
    assert_eq!(http.status, 400);
    assert!(http
        .body_excerpt
        .contains("No required SSL certificate was sent"));
    assert!(!obs.client_certificate_sent);
    println!(
        "browser-like client: {} ({})",
        http.status,
        obs.selection_reason.unwrap_or_default()
    );

    // curl/OpenSSL ignore the CA names and send the cert anyway: nginx
    // verifies it against both trusted CAs and lets it in.
    file.client.selection = SelectionPolicy::Always;
    let curl_like = client_spec(&pki, &file, TlsVersion::Tls13, timeouts).expect("client");
    let obs = exchange_and_merge(&gateway, &curl_like).await;
    assert_eq!(obs.http.as_ref().map(|h| h.status), Some(200));
    println!(
        "curl-like client: 200, sent `{}`",
        obs.chosen_cert.unwrap_or_default()
    );

    gateway.shutdown().await;
}
