//! The API of `mtls_harness::prelude` (issue 23): each entry point, used as a
//! team testing its own service would.

use mtls_harness::prelude::*;

fn sans_of(der: &[u8]) -> Vec<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse");
    let san = cert
        .subject_alternative_name()
        .expect("san ext")
        .expect("has sans");
    san.value
        .general_names
        .iter()
        .map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
            x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
            },
            other => format!("{other:?}"),
        })
        .collect()
}

fn team_pki(fillers: usize) -> Pki {
    Pki::builder()
        .root("root")
        .intermediate("issuing", "root")
        .server("gw", "issuing")
        .client("alice", "issuing")
        .client("bob", "issuing")
        .expired()
        .client("carol", "issuing")
        .revoked()
        .client("dave", "issuing")
        .not_yet_valid()
        .client("erin", "issuing")
        .eku_server_only()
        .root("other")
        .client("mallory", "other")
        .bulk_roots("filler", fillers)
        .build()
        .expect("team PKI")
}

#[test]
fn the_builder_makes_the_certificates_it_names_with_their_defects() {
    let pki = team_pki(12);
    assert_eq!(
        pki.cert("alice").unwrap().issuer.as_deref(),
        Some("issuing")
    );
    assert_eq!(pki.cert("issuing").unwrap().root.as_deref(), Some("root"));
    assert!(pki.cert("carol").unwrap().has(Defect::Revoked));
    assert!(pki.cert("erin").unwrap().has(Defect::EkuServerOnly));
    assert!(!pki.cert("alice").unwrap().has(Defect::Revoked));
    let bob = x509_parser::parse_x509_certificate(&pki.cert("bob").unwrap().der)
        .unwrap()
        .1;
    assert!(!bob.validity().is_valid(), "bob is expired");
    let fillers = pki.resolve(&["filler-*".to_string()]).unwrap();
    assert_eq!(fillers.len(), 12);
    assert_eq!(fillers[0].name, "filler-00001");
    assert_eq!(fillers[11].name, "filler-00012");
    assert_eq!(
        sans_of(&pki.cert("gw").unwrap().der),
        ["localhost", "127.0.0.1", "::1"]
    );
}

#[test]
fn from_toml_keeps_the_data_format_and_names_errors() {
    let pki = Pki::from_toml(
        "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[cert]]\nname = \"a\"\nrole = \"client\"\nissuer = \"root\"\n",
    )
    .unwrap();
    assert_eq!(pki.cert("a").unwrap().issuer.as_deref(), Some("root"));
    let err = Pki::from_toml("[[cert]]\nname = \"a\"\nrole = \"client\"\nissuer = \"nobody\"\n")
        .unwrap_err();
    assert!(err.to_string().contains("nobody"), "{err}");
}

#[test]
fn write_to_writes_a_crl_for_every_ca_and_private_keys() {
    use std::os::unix::fs::PermissionsExt;
    let pki = team_pki(3);
    let tmp = tempfile::tempdir().unwrap();
    let files = pki.write_to(tmp.path().join("pki")).unwrap();
    for name in ["root", "issuing", "gw", "alice", "mallory"] {
        assert!(files.cert(name).is_file(), "{name}.crt");
        assert!(files.chain(name).is_file(), "{name}.chain.pem");
        let mode = std::fs::metadata(files.key(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}.key");
    }
    // Empty CRLs too: `other` revoked nothing, `issuing` revoked carol.
    for ca in ["root", "issuing", "other"] {
        let pem = std::fs::read(files.crl(ca)).unwrap_or_else(|e| panic!("{ca}.crl: {e}"));
        let block = ::pem::parse(pem).unwrap();
        assert_eq!(block.tag(), "X509 CRL");
        assert_eq!(block.contents(), pki.crl(ca).unwrap().as_ref(), "{ca}");
    }
    // The chain file holds the leaf, then the intermediate.
    let chain = ::pem::parse_many(std::fs::read(files.chain("alice")).unwrap()).unwrap();
    assert_eq!(chain.len(), 2);
}

#[tokio::test]
async fn gateway_and_clients_in_one_line_each() {
    let pki = team_pki(0);
    let gw = Gateway::builtin(Profile::Nginx)
        .pki(&pki)
        .cert("gw")
        .trust(["root"])
        .tls(TlsVersion::Tls13)
        .start()
        .await
        .unwrap();
    let obs = Client::browser()
        .pki(&pki)
        .trust(["root"])
        .wallet(["alice"])
        .get(&gw.url())
        .await;
    obs.assert_status(200);
    assert!(obs.client_certificate_sent);
    // nginx: the handshake completes, HTTP 400 decides.
    Client::curl()
        .pki(&pki)
        .wallet(["bob"])
        .get(&gw.url())
        .await
        .assert_status(400);
    Client::curl()
        .pki(&pki)
        .wallet(["carol"])
        .get(&gw.url())
        .await
        .assert_status(200); // no CRL loaded: nginx does not know
    Client::curl()
        .pki(&pki)
        .get(&gw.url())
        .await
        .assert_status(400);

    let seen = gw.connections();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen[0].client_certificate_sent());
    assert_eq!(seen[0].client_subject(), Some("CN=alice"));
    assert_eq!(seen[0].http_status(), Some(200));
    assert!(!seen[3].client_certificate_sent());
    let names = seen[0].ca_names().expect("nginx sends its CA names");
    assert!(names.names(pki.cert("root").unwrap()));
    assert!(!names.names(pki.cert("other").unwrap()));
    assert!(!names.names_issuer_of(pki.cert("alice").unwrap()));
    assert_eq!(names.der()[0], pki.cert("root").unwrap().subject_der);
}

#[tokio::test]
async fn a_crl_loaded_by_name_refuses_the_revoked() {
    let pki = team_pki(0);
    let gw = Gateway::builtin(Profile::Nginx)
        .pki(&pki)
        .cert("gw")
        .trust(["root"])
        .crls(["root", "issuing"])
        .start()
        .await
        .unwrap();
    let curl = Client::curl().pki(&pki);
    curl.clone()
        .wallet(["carol"])
        .get(&gw.url())
        .await
        .assert_status(400);
    curl.wallet(["alice"])
        .get(&gw.url())
        .await
        .assert_status(200);
}

#[tokio::test]
async fn typed_modes_and_strict_alerts() {
    let pki = team_pki(0);
    let optional = Gateway::builtin(Profile::Nginx)
        .pki(&pki)
        .cert("gw")
        .trust(["root"])
        .mode(NginxMode::Optional)
        .start()
        .await
        .unwrap();
    Client::browser()
        .pki(&pki)
        .get(&optional.url())
        .await
        .assert_status(200);
    // A mode of another profile is refused when the gateway starts.
    let wrong = Gateway::builtin(Profile::Nginx)
        .pki(&pki)
        .cert("gw")
        .mode(IisMode::default())
        .start()
        .await;
    assert!(wrong.is_err());

    let strict = Gateway::builtin(Profile::Strict)
        .pki(&pki)
        .cert("gw")
        .trust(["root"])
        .tls(TlsVersion::Tls13)
        .start()
        .await
        .unwrap();
    let obs = Client::browser()
        .pki(&pki)
        .wallet(["mallory"])
        .get(&strict.url())
        .await;
    assert!(!obs.client_certificate_sent, "no CA name matches mallory");
    obs.assert_alert(Side::Server, "certificate_required");
    let obs = Client::curl()
        .pki(&pki)
        .wallet(["mallory"])
        .get(&strict.url())
        .await;
    assert!(obs.client_certificate_sent);
    obs.assert_alert(Side::Server, "unknown_ca");
    let obs = Client::with_policy(SelectionPolicy::Never)
        .pki(&pki)
        .wallet(["alice"])
        .tls(TlsVersion::Tls12)
        .get(&strict.url())
        .await;
    assert!(
        obs.status().is_none() && obs.alert.is_some(),
        "{}",
        obs.explain()
    );
}

#[tokio::test]
async fn a_truncated_ca_name_list_over_bulk_fillers() {
    let pki = team_pki(1000);
    let gw = Gateway::builtin(Profile::Nginx)
        .pki(&pki)
        .cert("gw")
        .trust(["filler-*", "root"])
        .ca_names(CaNames::TruncateBytes(16 * 1024))
        .start()
        .await
        .unwrap();
    let obs = Client::browser()
        .pki(&pki)
        .wallet(["alice"])
        .get(&gw.url())
        .await;
    // `root` came after 1,000 fillers (27 KB of names): dropped, so a browser sends nothing.
    assert!(!obs.client_certificate_sent, "{}", obs.explain());
    obs.assert_status(400);
    let names = gw.connections()[0].ca_names().unwrap();
    assert!(names.truncated());
    assert!(names.encoded_bytes() <= 16 * 1024);
    assert!(!names.names(pki.cert("root").unwrap()));
    assert!(names.names(pki.cert("filler-00001").unwrap()));
}

#[tokio::test]
async fn a_client_never_panics() {
    let obs = Client::browser().get("not a url").await;
    assert_eq!(obs.client_error.as_deref(), Some("BAD_URL"));
    let obs = Client::curl().get("https://127.0.0.1:1").await;
    assert!(obs.client_error.is_some(), "{}", obs.explain());
    let pki = team_pki(0);
    let obs = Client::curl()
        .pki(&pki)
        .wallet(["nobody"])
        .get("https://127.0.0.1:1")
        .await;
    assert_eq!(obs.client_error.as_deref(), Some("CLIENT_SETUP"));
}

#[test]
fn the_target_kit_writes_what_the_cli_does() {
    let kit = TargetKit::generate().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let files = kit.write_to(tmp.path().join("kit")).unwrap();
    for f in [
        files.cert("root"),
        files.cert("gw"),
        files.chain("gw"),
        files.key("gw"),
        files.crl("root"),
        files.gateway_bundle(),
    ] {
        assert!(f.is_file(), "{}", f.display());
    }
    let crl = ::pem::parse(std::fs::read(files.crl("root")).unwrap()).unwrap();
    assert_eq!(crl.contents(), kit.root_crl().as_ref());
    assert!(mtls_harness::pki::adopt::lists_revoked_serial(
        kit.root(),
        crl.contents()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_of_a_server_configured_from_the_kit() {
    let kit = TargetKit::generate().unwrap();
    // The team's service, here a built-in strict gateway loading the kit.
    let server = Gateway::builtin(Profile::Strict)
        .pki(kit.pki())
        .cert("gw")
        .trust(["root"])
        .crl_der(kit.root_crl().clone())
        .start()
        .await
        .unwrap();
    let report = Conformance::target(&server.url(), &kit)
        .profile(Profile::Strict)
        .only(["validity::*", "revocation::*", "seeds::*"])
        .run()
        .await
        .unwrap();
    println!("{}", report.render());
    assert!(report.passed() > 10, "{}", report.summary());
    report.assert_no_failures();
    assert!(!report.behaviours().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_finds_a_server_that_serves_everyone() {
    let kit = TargetKit::generate().unwrap();
    // Asks for a certificate but serves whoever comes.
    let server = Gateway::builtin(Profile::Nginx)
        .pki(kit.pki())
        .cert("gw")
        .trust(["root"])
        .mode(NginxMode::OptionalNoCa)
        .start()
        .await
        .unwrap();
    let report = Conformance::target(&server.url(), &kit)
        .profile(Profile::Strict)
        .only(["seeds::001_*", "validity::*"])
        .run()
        .await
        .unwrap();
    assert!(report.failed() > 0, "{}", report.render());
    let panicked = std::panic::catch_unwind(|| report.assert_no_failures());
    assert!(panicked.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_of_a_builtin_profile_from_the_embedded_catalog() {
    let report = Conformance::builtin(Profile::Nginx)
        .only(["validity::*"])
        .run()
        .await
        .unwrap();
    assert!(report.passed() > 0);
    report.assert_no_failures();
}

#[tokio::test]
async fn localhost_finds_a_server_listening_on_ipv4_only() {
    let pki = team_pki(0);
    let gw = Gateway::builtin(Profile::Strict)
        .pki(&pki)
        .cert("gw")
        .trust(["root"])
        .start()
        .await
        .unwrap();
    let url = format!("https://localhost:{}", gw.addr().port());
    let obs = Client::browser()
        .pki(&pki)
        .wallet(["alice"])
        .get(&url)
        .await;
    obs.assert_status(200);
    assert_eq!(
        gw.connections().len(),
        1,
        "one connection, not one per address"
    );
}

#[tokio::test]
async fn dropping_the_gateway_stops_it() {
    let pki = team_pki(0);
    let gw = Gateway::builtin(Profile::Strict)
        .pki(&pki)
        .cert("gw")
        .start()
        .await
        .unwrap();
    let url = gw.url();
    Client::curl()
        .pki(&pki)
        .wallet(["alice"])
        .get(&url)
        .await
        .assert_status(200);
    drop(gw);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let obs = Client::curl().pki(&pki).wallet(["alice"]).get(&url).await;
    assert!(obs.status().is_none(), "{}", obs.explain());
}
