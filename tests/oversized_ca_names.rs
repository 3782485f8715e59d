//! A server that names every CA of a 10,001-anchor trust store (rustls's
//! default root hints over a big bundle, issue 23): what a release-built
//! rustls server sends, what real clients receive, and what `probe` and
//! `Conformance` say about it.

mod support;

use mtls_harness::prelude::*;
use mtls_harness::probe::{probe, ProbeOptions, TrustStoreSize};
use mtls_harness::tls::Timeouts;
use std::process::Stdio;
use std::time::Duration;

const ANCHORS: usize = 10_000;

fn big_trust_store_pki() -> Pki {
    Pki::builder()
        .root("root")
        .server("gw", "root")
        .client("alice", "root")
        .bulk_roots("anchor", ANCHORS)
        .build()
        .expect("PKI")
}

/// The built-in rustls gateway trusting (and naming) every anchor, sending
/// the list as a release build of rustls does.
async fn release_rustls_gateway(pki: &Pki, tls: TlsVersion) -> Gateway {
    Gateway::builtin(Profile::Strict)
        .pki(pki)
        .cert("gw")
        .trust(["root", "anchor-*"])
        .ca_names_overflow(CaNamesOverflow::SendWrapped)
        .tls(tls)
        .start()
        .await
        .expect("gateway starts")
}

fn trust_store_size(pki: &Pki) -> TrustStoreSize {
    let ders: Vec<_> = pki
        .resolve(&["root".into(), "anchor-*".into()])
        .expect("anchors")
        .iter()
        .map(|c| c.der.clone())
        .collect();
    TrustStoreSize::of(&ders).expect("sizes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rustls_client_refuses_the_whole_list_on_both_versions_and_sends_no_certificate() {
    let pki = big_trust_store_pki();
    let size = trust_store_size(&pki);
    assert_eq!(size.names, ANCHORS + 1);
    assert!(!size.fits(), "{size:?}");
    for tls in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let gw = release_rustls_gateway(&pki, tls).await;
        let obs = Client::curl()
            .pki(&pki)
            .trust(["root"])
            .wallet(["alice"])
            .tls(tls)
            .get(&gw.url())
            .await;
        assert_eq!(
            obs.client_error.as_deref(),
            Some("HANDSHAKE_PAYLOAD_TOO_LARGE"),
            "{tls:?}: {obs:?}"
        );
        obs.assert_alert(Side::Client, "decode_error");
        assert!(!obs.client_certificate_sent, "{tls:?}");
    }
}

/// What OpenSSL's own client receives: a handshake message larger than its
/// default `max_cert_list` (100 KiB), refused before it is parsed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_refuses_it_as_an_excessive_message() {
    if !support::require("openssl") {
        return;
    }
    let pki = big_trust_store_pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_to(dir.path()).expect("files");
    for (tls, flag) in [
        (TlsVersion::Tls12, "-tls1_2"),
        (TlsVersion::Tls13, "-tls1_3"),
    ] {
        let gw = release_rustls_gateway(&pki, tls).await;
        let mut s_client = std::process::Command::new("openssl");
        s_client
            .args(["s_client", "-connect", &gw.addr().to_string(), flag])
            .args(["-servername", "localhost", "-cert"])
            .arg(files.cert("alice"))
            .arg("-key")
            .arg(files.key("alice"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out =
            tokio::task::spawn_blocking(move || output_within(s_client, Duration::from_secs(30)))
                .await
                .expect("s_client thread");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{tls:?}: {stderr}");
        assert!(
            stderr.contains("excessive message size"),
            "{tls:?}: s_client says: {stderr}"
        );
        let conns = gw.connections();
        assert!(
            conns.iter().all(|c| !c.client_certificate_sent()),
            "{tls:?}: a certificate was sent"
        );
    }
}

/// Runs `command`, killing it if it is not done within `limit`.
fn output_within(mut command: std::process::Command, limit: Duration) -> std::process::Output {
    let mut child = command.spawn().expect("openssl starts");
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_names_the_oversized_list_and_the_trust_store_that_makes_it() {
    let pki = big_trust_store_pki();
    let gw = release_rustls_gateway(&pki, TlsVersion::Tls13).await;
    let size = trust_store_size(&pki);
    let report = probe(&ProbeOptions {
        url: gw.url(),
        identity: None,
        timeouts: Timeouts::default(),
        trust_store: Some(size),
    })
    .await
    .expect("probe runs");
    let tls13 = report
        .versions
        .iter()
        .find(|v| v.tls == TlsVersion::Tls13)
        .expect("a TLS 1.3 report");
    let cause = &tls13.finding.cause;
    assert!(cause.contains("over 64 KiB"), "{cause}");
    assert!(
        cause.contains("a CA-name list over 65,535 bytes is a known cause"),
        "{cause}"
    );
    assert!(
        cause.contains(&format!(
            "your trust store holds {} names, {} bytes encoded: over",
            ANCHORS + 1,
            size.encoded_bytes
        )),
        "{cause}"
    );
}

/// A debug build of rustls panics while encoding the list: the service's
/// connection task dies and the client sees the connection close before the
/// ServerHello. This listener does just that; `Conformance` must name the
/// likely cause rather than a bare EOF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_names_the_likely_cause_when_the_target_closes_where_the_names_were_due() {
    use tokio::io::AsyncReadExt;
    let pki = big_trust_store_pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_to(dir.path()).expect("files");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut hello = [0u8; 512];
            let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut hello)).await;
            drop(tcp);
        }
    });
    let kit = TargetKit::generate().expect("kit");
    let err = Conformance::target(&format!("https://localhost:{}", addr.port()), &kit)
        .trust_store(files.bundle("anchor"))
        .only(["validity::*"])
        .run()
        .await
        .expect_err("a target that closes every handshake cannot be judged");
    server.abort();
    let text = mtls_harness::error_chain::of(&err);
    assert!(
        text.contains("a CA-name list over 65,535 bytes is a known cause"),
        "{text}"
    );
    assert!(
        text.contains(&format!("your trust store holds {ANCHORS} names")),
        "{text}"
    );
}
