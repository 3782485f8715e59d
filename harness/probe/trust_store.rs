//! How big the CA-names list of a trust store is: what a server that names
//! every anchor (rustls's default root hints, nginx `ssl_client_certificate`)
//! puts in its CertificateRequest, and whether that fits the 16-bit length
//! the protocol gives it.

use super::ProbeError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use std::path::Path;

/// The most a CertificateRequest's CA-names list can encode.
pub const MAX_CA_NAMES_BYTES: usize = 0xffff;

/// The CA names a trust store makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrustStoreSize {
    /// Certificates, one name each.
    pub names: usize,
    /// Each subject's DER plus its 2-byte length, as on the wire.
    pub encoded_bytes: usize,
}

impl TrustStoreSize {
    /// The names of these certificates; one that does not parse is an error
    /// naming its position.
    pub fn of(certs: &[CertificateDer<'_>]) -> Result<Self, String> {
        let mut encoded_bytes = 0;
        for (i, der) in certs.iter().enumerate() {
            let (_, cert) = x509_parser::parse_x509_certificate(der)
                .map_err(|e| format!("certificate #{}: {e}", i + 1))?;
            encoded_bytes += 2 + cert.tbs_certificate.subject.as_raw().len();
        }
        Ok(TrustStoreSize {
            names: certs.len(),
            encoded_bytes,
        })
    }

    /// The names of the certificates in a PEM bundle.
    pub fn from_pem_file(path: &Path) -> Result<Self, ProbeError> {
        let bad = |reason: String| ProbeError::TrustStore {
            path: path.to_path_buf(),
            reason,
        };
        let certs: Vec<_> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no CERTIFICATE block".into()));
        }
        Self::of(&certs).map_err(bad)
    }

    pub fn fits(&self) -> bool {
        self.encoded_bytes <= MAX_CA_NAMES_BYTES
    }

    /// "your trust store holds N names, B bytes encoded: over the limit".
    pub fn sentence(&self) -> String {
        format!(
            "your trust store holds {} names, {} bytes encoded: {} the {MAX_CA_NAMES_BYTES}-byte limit",
            self.names,
            self.encoded_bytes,
            if self.fits() { "within" } else { "over" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_subject_with_its_length_prefix() {
        let certs: Vec<CertificateDer<'static>> = ["a", "bb"]
            .iter()
            .map(|cn| {
                let key = rcgen::KeyPair::generate().unwrap();
                let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                params.distinguished_name = rcgen::DistinguishedName::new();
                params
                    .distinguished_name
                    .push(rcgen::DnType::CommonName, *cn);
                params.self_signed(&key).unwrap().der().clone()
            })
            .collect();
        let size = TrustStoreSize::of(&certs).unwrap();
        assert_eq!(size.names, 2);
        // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String } } }: 13 bytes
        // around the CN's own bytes, plus the 2-byte prefix.
        assert_eq!(size.encoded_bytes, (2 + 13 + 1) + (2 + 13 + 2));
        assert!(size.fits());
        assert!(size.sentence().contains("2 names"), "{}", size.sentence());
    }

    #[test]
    fn garbage_is_named_by_position() {
        let err = TrustStoreSize::of(&[CertificateDer::from(vec![1, 2, 3])]).unwrap_err();
        assert!(err.starts_with("certificate #1:"), "{err}");
    }
}
