//! Which server answers on a port: the certificate it presents in a
//! handshake. A program that binds its port itself is proven to be this
//! case's by presenting this case's own server certificate (every case's
//! PKI is unique), not by the port merely listening (another case's server
//! may hold it).

use crate::observation::TlsVersion;
use crate::tls::provider;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records the server's certificate and ends the handshake there: nothing
/// past it is needed, and the server logs one aborted handshake.
#[derive(Debug, Default)]
struct Capture(Mutex<Option<Vec<u8>>>);

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(end_entity.to_vec());
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("identity probe".into()))
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("identity probe".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What a probe handshake saw.
#[derive(Debug, Default)]
pub struct Presented {
    /// The server's end-entity certificate (DER), if it sent one.
    pub certificate: Option<Vec<u8>>,
    /// The probe's local address, if it connected (how the server's end of
    /// the probe is found).
    pub local: Option<SocketAddr>,
}

/// The end-entity certificate the server at `addr` presents in a TLS
/// `version` handshake, within `within`. None arrives when nothing listens,
/// it does not speak TLS `version`, or it aborts the handshake first.
pub async fn presented_certificate(
    addr: SocketAddr,
    version: TlsVersion,
    within: Duration,
) -> Presented {
    let mut seen = Presented::default();
    let capture = Arc::new(Capture::default());
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&crate::tls::rustls_versions(&[version]))
    else {
        return seen;
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let attempt = async {
        let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
            return;
        };
        seen.local = tcp.local_addr().ok();
        let Ok(name) = ServerName::try_from("localhost") else {
            return;
        };
        // Fails by design once the certificate is captured.
        let _ = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await;
    };
    let _ = tokio::time::timeout(within, attempt).await;
    seen.certificate = capture.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    seen
}
