//! Client certificates carried in HTTP headers by TLS-terminating proxies,
//! in the formats the real proxies write: Envoy's `x-forwarded-client-cert`
//! (`Cert="<url-encoded PEM>"`), RFC 9440 `Client-Cert` (`:<base64 DER>:`,
//! HAProxy `:%[ssl_c_der,base64]:`), nginx `$ssl_client_escaped_cert`
//! (url-encoded PEM), Apache `%{SSL_CLIENT_CERT}s` (PEM, newlines turned
//! into spaces by mod_headers) and HAProxy `%[ssl_c_der,base64]` (bare
//! base64 DER).

use crate::knobs::ForwardHeader;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Why a header value holds no certificate.
#[derive(Debug, thiserror::Error)]
pub enum ForwardedError {
    #[error("Client-Cert is not an RFC 8941 byte sequence (:base64:)")]
    NotByteSequence,
    #[error("x-forwarded-client-cert has no Cert= field")]
    NoCertField,
    #[error("base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("no PEM certificate in the header: {0}")]
    Pem(#[from] rustls_pki_types::pem::Error),
    #[error("no -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- in the header")]
    NoPemArmour,
    #[error("a bad %-escape in the header")]
    BadEscape,
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The header value a proxy sends for `cert`.
pub fn encode(header: ForwardHeader, cert: &CertificateDer<'_>) -> String {
    let pem = crate::pki::IssuedCert::pem_of(cert);
    let b64 = || base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    match header {
        ForwardHeader::Xfcc => format!("Cert=\"{}\"", escape(&pem)),
        ForwardHeader::ClientCert => format!(":{}:", b64()),
        ForwardHeader::XSslClientCert => escape(&pem),
        ForwardHeader::ApachePem => pem.trim_end().replace('\n', " "),
        ForwardHeader::HaproxyBase64Der => b64(),
    }
}

/// The certificate in a header value, or why there is none.
pub fn decode(
    header: ForwardHeader,
    value: &str,
) -> Result<CertificateDer<'static>, ForwardedError> {
    let b64 = |s: &str| -> Result<CertificateDer<'static>, ForwardedError> {
        let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        Ok(CertificateDer::from(
            base64::engine::general_purpose::STANDARD.decode(compact)?,
        ))
    };
    let pem_text = match header {
        ForwardHeader::ClientCert => {
            let inner = value
                .trim()
                .strip_prefix(':')
                .and_then(|v| v.strip_suffix(':'))
                .ok_or(ForwardedError::NotByteSequence)?;
            return b64(inner);
        }
        ForwardHeader::HaproxyBase64Der => return b64(value),
        ForwardHeader::ApachePem => {
            let v = value.trim();
            let body = v
                .strip_prefix(BEGIN)
                .and_then(|v| v.strip_suffix(END))
                .ok_or(ForwardedError::NoPemArmour)?;
            return b64(body);
        }
        ForwardHeader::Xfcc => {
            let field = value
                .split(';')
                .find_map(|f| f.trim().strip_prefix("Cert="))
                .ok_or(ForwardedError::NoCertField)?;
            unescape(field.trim_matches('"'))?
        }
        ForwardHeader::XSslClientCert => unescape(value.trim())?,
    };
    Ok(CertificateDer::from_pem_slice(pem_text.as_bytes())?)
}

/// Percent-encode all but RFC 3986 unreserved characters (as nginx's
/// `$ssl_client_escaped_cert` and Envoy's XFCC do).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decode; a `+` stays a `+` (a base64 character, never a space in
/// PEM).
fn unescape(s: &str) -> Result<String, ForwardedError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(ForwardedError::BadEscape)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ForwardedError::BadEscape)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ForwardedError::BadEscape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_form_round_trips() {
        let spec: crate::pki::PkiSpec =
            toml::from_str("[[cert]]\nname = \"r\"\nrole = \"root\"\n[[cert]]\nname = \"a\"\nrole = \"client\"\nissuer = \"r\"\n").unwrap();
        let pki = crate::pki::Pki::generate(&spec).unwrap();
        let der = pki.cert("a").unwrap().der.clone();
        for h in ForwardHeader::ALL {
            let v = encode(h, &der);
            assert_eq!(decode(h, &v).unwrap(), der, "{h:?}");
        }
        assert!(decode(ForwardHeader::Xfcc, "By=spiffe://x").is_err());
        assert!(decode(ForwardHeader::ClientCert, "notbytes").is_err());
        // What the real proxies sent (nginx escapes `+`, `/`, `=` and the
        // newlines; Apache writes spaces for newlines).
        let pem = crate::pki::IssuedCert::pem_of(&der);
        let nginx = pem
            .replace('\n', "%0A")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert_eq!(decode(ForwardHeader::XSslClientCert, &nginx).unwrap(), der);
        let apache = pem.replace('\n', " ");
        assert_eq!(decode(ForwardHeader::ApachePem, &apache).unwrap(), der);
        assert!(decode(ForwardHeader::ApachePem, "MIIB").is_err());
    }
}
