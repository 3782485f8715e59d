//! Client certificates carried in HTTP headers by TLS-terminating proxies:
//! Envoy's `x-forwarded-client-cert` (`Cert="<url-encoded PEM>"`), RFC 9440
//! `Client-Cert` (`:<base64 DER>:`), nginx/HAProxy `X-SSL-Client-Cert`
//! (url-encoded PEM).

use crate::knobs::ForwardHeader;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The header value a proxy sends for `cert`.
pub fn encode(header: ForwardHeader, cert: &CertificateDer<'_>) -> String {
    let pem = crate::pki::IssuedCert::pem_of(cert);
    let escaped: String = url::form_urlencoded::byte_serialize(pem.as_bytes()).collect();
    match header {
        ForwardHeader::Xfcc => format!("Cert=\"{escaped}\""),
        ForwardHeader::ClientCert => format!(
            ":{}:",
            base64::engine::general_purpose::STANDARD.encode(cert.as_ref())
        ),
        ForwardHeader::XSslClientCert => escaped,
    }
}

/// The certificate in a header value, or why there is none.
pub fn decode(header: ForwardHeader, value: &str) -> Result<CertificateDer<'static>, String> {
    let pem_text = match header {
        ForwardHeader::ClientCert => {
            let inner = value
                .trim()
                .strip_prefix(':')
                .and_then(|v| v.strip_suffix(':'))
                .ok_or("Client-Cert is not an RFC 8941 byte sequence (:base64:)")?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(inner)
                .map_err(|e| format!("Client-Cert base64: {e}"))?;
            return Ok(CertificateDer::from(der));
        }
        ForwardHeader::Xfcc => {
            let field = value
                .split(';')
                .find_map(|f| f.trim().strip_prefix("Cert="))
                .ok_or("x-forwarded-client-cert has no Cert= field")?;
            unescape(field.trim_matches('"'))
        }
        ForwardHeader::XSslClientCert => unescape(value),
    };
    CertificateDer::from_pem_slice(pem_text.as_bytes())
        .map_err(|e| format!("no PEM certificate in the header: {e}"))
}

fn unescape(s: &str) -> String {
    // byte_serialize wrote spaces as `+` and a literal `+` as %2B.
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
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
        for h in [
            ForwardHeader::Xfcc,
            ForwardHeader::ClientCert,
            ForwardHeader::XSslClientCert,
        ] {
            let v = encode(h, &der);
            assert_eq!(decode(h, &v).unwrap(), der, "{h:?}");
        }
        assert!(decode(ForwardHeader::Xfcc, "By=spiffe://x").is_err());
        assert!(decode(ForwardHeader::ClientCert, "notbytes").is_err());
    }
}
