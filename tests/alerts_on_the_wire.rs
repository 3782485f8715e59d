//! The alert a gateway's record says it sent is the alert on the wire. A raw
//! TCP client writes crafted records (a message out of order, a truncated
//! ClientHello) and reads the plaintext alert record that comes back; a
//! client whose key does not match its certificate makes the gateway refuse
//! its CertificateVerify signature. Each time the gateway's record of that
//! connection must name the same alert, sent by the server.

mod support;

use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::{Side, TlsVersion};
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::scenario::schema::{SelectionPolicy, ServerSpec};
use mtls_harness::tls::client::{ClientKind, ClientSpec, WalletEntry};
use mtls_harness::tls::server::RunningGateway;
use mtls_harness::tls::Timeouts;
use std::time::Duration;
use support::situations::start_builtin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPEC: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "root"
[[cert]]
name = "bob"
role = "client"
issuer = "root"
"#;

const WAIT: Duration = Duration::from_secs(5);

fn pki() -> Pki {
    Pki::generate(&PkiSpec::from_toml(SPEC, "alerts.toml").expect("spec")).expect("pki")
}

async fn gateway(pki: &Pki, versions: &[TlsVersion]) -> RunningGateway {
    let spec: ServerSpec =
        toml::from_str("cert = \"gw\"\ntrust = [\"root\"]\nclient_auth = \"required\"\n")
            .expect("server spec");
    start_builtin(pki, &spec, ProfileKind::Strict, versions).await
}

/// One TLS record.
fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 3];
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

/// One handshake message.
fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// Write `bytes`, read until the peer closes (or `WAIT`), and return the
/// description of the first alert record in what came back, with the local
/// address the gateway knows this connection by.
async fn raw_exchange(gw: &RunningGateway, bytes: &[u8]) -> (Option<u8>, std::net::SocketAddr) {
    let mut tcp = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(gw.addr()))
        .await
        .expect("connect in time")
        .expect("connect");
    let local = tcp.local_addr().expect("local addr");
    tcp.write_all(bytes).await.expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut got)).await;
    let mut at = 0;
    while got.len() >= at + 5 {
        let len = u16::from_be_bytes([got[at + 3], got[at + 4]]) as usize;
        if got[at] == 21 && len == 2 && got.len() >= at + 7 {
            return (Some(got[at + 6]), local);
        }
        at += 5 + len;
    }
    (None, local)
}

/// The gateway's record of the connection from `peer` must say `alert`,
/// sent by the server.
async fn record_says(gw: &RunningGateway, peer: std::net::SocketAddr, alert: &str, what: &str) {
    let r = gw
        .record_for(peer, WAIT)
        .await
        .unwrap_or_else(|| panic!("{what}: no gateway record"));
    assert_eq!(
        r.alert.as_deref(),
        Some(alert),
        "{what}: record {:?} / log {}",
        r.alert,
        r.log
    );
    assert_eq!(r.alert_sent_by, Some(Side::Server), "{what}: {}", r.log);
}

fn name_of(code: u8) -> String {
    mtls_harness::alert::by_code(code)
        .map(|a| a.name.to_string())
        .unwrap_or_else(|| format!("unknown_alert_{code}"))
}

#[tokio::test]
async fn unexpected_message_as_recorded_is_what_the_client_received() {
    let pki = pki();
    let gw = gateway(&pki, &TlsVersion::ALL).await;
    let cases: [(&str, Vec<u8>); 2] = [
        // A Finished before any ClientHello.
        (
            "handshake message out of order",
            record(22, &handshake(20, &[0u8; 12])),
        ),
        // Application data before the handshake.
        (
            "application data first",
            record(23, b"GET / HTTP/1.1\r\n\r\n"),
        ),
    ];
    for (what, bytes) in cases {
        let (alert, peer) = raw_exchange(&gw, &bytes).await;
        let alert = alert.unwrap_or_else(|| panic!("{what}: no alert on the wire"));
        assert_eq!(name_of(alert), "unexpected_message", "{what}");
        record_says(&gw, peer, &name_of(alert), what).await;
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn decode_error_as_recorded_is_what_the_client_received() {
    let pki = pki();
    let gw = gateway(&pki, &TlsVersion::ALL).await;
    let cases: [(&str, Vec<u8>); 2] = [
        // A ClientHello that ends inside its random.
        (
            "truncated ClientHello",
            record(22, &handshake(1, &[3, 3, 0, 0])),
        ),
        // A ClientHello whose cipher-suite list claims more than it holds.
        ("overlong cipher suites", {
            let mut body = vec![3, 3];
            body.extend_from_slice(&[0u8; 32]);
            body.extend_from_slice(&[0, 0xff, 0xf0, 0x13, 0x01]);
            record(22, &handshake(1, &body))
        }),
    ];
    for (what, bytes) in cases {
        let (alert, peer) = raw_exchange(&gw, &bytes).await;
        let alert = alert.unwrap_or_else(|| panic!("{what}: no alert on the wire"));
        assert_eq!(name_of(alert), "decode_error", "{what}");
        record_says(&gw, peer, &name_of(alert), what).await;
    }
    gw.shutdown().await;
}

/// A well-formed ClientHello offering only TLS 1.1: rustls answers
/// protocol_version (its error is `PeerIncompatible::Tls12NotOffered`, which
/// a table mapping every `PeerIncompatible` to handshake_failure got wrong).
#[tokio::test]
async fn protocol_version_as_recorded_is_what_the_client_received() {
    let pki = pki();
    let gw = gateway(&pki, &TlsVersion::ALL).await;
    let mut body = vec![3, 2];
    body.extend_from_slice(&[7u8; 32]);
    body.extend_from_slice(&[0, 0, 2, 0xc0, 0x2b, 1, 0]);
    // Extensions: signature_algorithms [ecdsa_secp256r1_sha256] (checked first).
    body.extend_from_slice(&[0, 8, 0, 13, 0, 4, 0, 2, 4, 3]);
    let (alert, peer) = raw_exchange(&gw, &record(22, &handshake(1, &body))).await;
    let alert = alert.expect("an alert on the wire");
    assert_eq!(name_of(alert), "protocol_version");
    record_says(&gw, peer, &name_of(alert), "TLS 1.1 ClientHello").await;
    gw.shutdown().await;
}

/// alice's certificate with bob's key: the CertificateVerify signature does
/// not verify. On TLS 1.2 the alert is a plaintext record, on TLS 1.3 it is
/// encrypted under the handshake keys; the client's TLS stack decodes it.
#[tokio::test]
async fn bad_signature_as_recorded_is_what_the_client_received() {
    let pki = pki();
    for version in TlsVersion::ALL {
        let gw = gateway(&pki, &[version]).await;
        let alice = pki.cert("alice").expect("alice");
        let bob = pki.cert("bob").expect("bob");
        let wallet =
            WalletEntry::new("alice", alice.chain_with_leaf(), bob.private_key()).expect("wallet");
        let client = ClientSpec {
            wallet: vec![wallet],
            selection: SelectionPolicy::Always,
            server_roots: vec![pki.cert("root").expect("root").der.clone()],
            versions: vec![version],
            server_name: "localhost".into(),
            timeouts: Timeouts::default(),
            kind: ClientKind::Raw,
            headers: Vec::new(),
            via_tunnel: None,
            accept_any_server_cert: false,
            request_path: "/".into(),
        };
        let (obs, local) = client.exchange_with_local_addr(gw.addr()).await;
        let received = obs.alert.clone().expect("an alert");
        assert_eq!(received.sent_by, Side::Server, "TLS {version}: {obs:?}");
        assert_eq!(received.description, "decrypt_error", "TLS {version}");
        let what = format!("bad signature, TLS {version}");
        record_says(
            &gw,
            local.expect("local addr"),
            &received.description,
            &what,
        )
        .await;
        gw.shutdown().await;
    }
}
