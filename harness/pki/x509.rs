//! Small X.509 helpers: serial numbers, SANs, the subject's DER, PEM text.

use rcgen::{SanType, SerialNumber};

/// A SAN the certificate cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SAN `{san}` is not ASCII")]
pub struct SanError {
    pub san: String,
}

/// A random, positive 128-bit serial without a leading zero byte.
pub fn random_serial() -> SerialNumber {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("system RNG");
    bytes[0] = (bytes[0] & 0x7f) | 0x10; // positive, no leading zero
    SerialNumber::from_slice(&bytes)
}

/// A SAN entry: an IP address, an e-mail address (has `@`), a URI (has
/// `://`), else a DNS name.
pub fn san(s: &str) -> Result<SanType, SanError> {
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let ia5 = |v: &str| {
        v.to_string()
            .try_into()
            .map_err(|_| SanError { san: v.to_string() })
    };
    if s.contains('@') {
        Ok(SanType::Rfc822Name(ia5(s)?))
    } else if s.contains("://") {
        Ok(SanType::URI(ia5(s)?))
    } else {
        Ok(SanType::DnsName(ia5(s)?))
    }
}

/// DER of the subject Name of a certificate (a full SEQUENCE).
pub fn subject_der(der: &[u8]) -> Result<Vec<u8>, x509_parser::error::X509Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)?;
    Ok(cert.tbs_certificate.subject.as_raw().to_vec())
}

/// Lower-case hex, as serials are shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One PEM block with LF line endings.
pub fn pem_block(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der.to_vec()), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_kinds() {
        assert!(matches!(san("127.0.0.1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(san("::1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(san("a@b.test"), Ok(SanType::Rfc822Name(_))));
        assert!(matches!(san("spiffe://x/y"), Ok(SanType::URI(_))));
        assert!(matches!(san("gw.test"), Ok(SanType::DnsName(_))));
        assert_eq!(
            san("bücher.test"),
            Err(SanError {
                san: "bücher.test".into()
            })
        );
    }

    #[test]
    fn serials_are_positive_sixteen_bytes() {
        let s = random_serial().to_bytes();
        assert_eq!(s.len(), 16);
        assert!(s[0] & 0x80 == 0 && s[0] != 0);
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }
}
