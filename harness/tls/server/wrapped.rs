//! Whether this build's rustls sends a CA-names list over 65,535 bytes the
//! way a release build does (16-bit lengths wrapped, the message whole) or
//! stops on its `debug_assert!(len <= 0xffff)`: the built-in server models
//! `ca_names_overflow = "send-wrapped"` only in the first case. Asked once, by
//! encoding such a CertificateRequest in memory.

use crate::tls::error::TlsError;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::sync::{Arc, OnceLock};

/// The reason a case that needs a wrapping rustls does not run.
pub const NEEDS_WRAPPING_RUSTLS: &str = "ca_names_overflow = \"send-wrapped\" needs rustls built without debug assertions, as in release builds (add `[profile.dev.package.rustls] debug-assertions = false` to the Cargo.toml of a debug build)";

/// `Ok` when rustls wraps; the case's reason otherwise.
pub(super) fn ensure_rustls_wraps() -> Result<(), TlsError> {
    static WRAPS: OnceLock<bool> = OnceLock::new();
    if *WRAPS.get_or_init(|| std::panic::catch_unwind(rustls_wraps).unwrap_or(false)) {
        Ok(())
    } else {
        Err(TlsError::Unmodelled(NEEDS_WRAPPING_RUSTLS))
    }
}

/// Encodes a TLS 1.3 server flight whose CertificateRequest names two CAs of
/// 40,000 bytes each; a debug-asserting rustls panics here.
fn rustls_wraps() -> bool {
    let provider = Arc::new(crate::tls::provider());
    let Ok(key) = rcgen::KeyPair::generate() else {
        return false;
    };
    let Ok(cert) = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .and_then(|p| p.self_signed(&key))
    else {
        return false;
    };
    let hints = Hints {
        names: (0..2u8)
            .map(|i| DistinguishedName::from(vec![i; 40_000]))
            .collect(),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    };
    let Ok(server) = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map(|b| {
            b.with_client_cert_verifier(Arc::new(hints))
                .with_single_cert(
                    vec![CertificateDer::from(cert.der().to_vec())],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
                )
        })
    else {
        return false;
    };
    let Ok(server) = server else {
        return false;
    };
    let Ok(client) = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
    else {
        return false;
    };
    let (Ok(mut server), Ok(mut client)) = (
        rustls::ServerConnection::new(Arc::new(server)),
        rustls::ClientConnection::new(
            Arc::new(client),
            "localhost".try_into().expect("a DNS name"),
        ),
    ) else {
        return false;
    };
    let mut hello = Vec::new();
    let mut flight = Vec::new();
    client.write_tls(&mut hello).is_ok()
        && server.read_tls(&mut hello.as_slice()).is_ok()
        && server.process_new_packets().is_ok()
        && std::iter::from_fn(|| match server.write_tls(&mut flight) {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        })
        .count()
            > 0
        && flight.len() > 80_000
}

/// A verifier that only names CAs: the handshake never gets further.
#[derive(Debug)]
struct Hints {
    names: Vec<DistinguishedName>,
    schemes: Vec<SignatureScheme>,
}

impl ClientCertVerifier for Hints {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.names
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Err(rustls::Error::General("never verifies".into()))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("never verifies".into()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("never verifies".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

#[cfg(test)]
mod tests {
    /// The harness's own builds set `debug-assertions = false` for rustls
    /// (Cargo.toml), so the built-in server can send what a release build
    /// sends; this fails when that setting goes.
    #[test]
    fn this_build_of_rustls_wraps_oversized_lists() {
        assert!(super::ensure_rustls_wraps().is_ok());
    }
}
