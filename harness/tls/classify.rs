//! Errors -> the outcome vocabulary: RFC 8446 alert names (from
//! [`crate::alert`]) and canonical client error codes, used by clients and
//! servers alike.

use rustls::AlertDescription;
use std::error::Error as StdError;

/// The snake_case name of an alert (`unknown_ca`, `certificate_required`),
/// from the one alert table.
pub fn alert_name(a: AlertDescription) -> String {
    crate::alert::name_of(a)
}

/// `CamelCase` -> `camel_case` (or `CAMEL_CASE`).
fn camel_to(s: &str, sep: char, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase()) {
                out.push(sep);
            }
        }
        if upper {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Find the `rustls::Error` inside an error chain: walk `source()` and descend
/// through `io::Error::get_ref()` (how tokio-rustls, hyper and reqwest wrap it).
pub fn find_rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(e);
    let mut depth = 0;
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(r);
                }
                cur = Some(inner);
                depth += 1;
                if depth > 32 {
                    return None;
                }
                continue;
            }
        }
        cur = err.source();
        depth += 1;
        if depth > 32 {
            return None;
        }
    }
    None
}

/// Find an `io::Error` in a chain (for "message buffer full", resets, EOF).
pub fn find_io_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a std::io::Error> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(e);
    for _ in 0..32 {
        let err = cur?;
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// The alert rustls sends for an error it raised itself.
pub fn alert_for_local_error(e: &rustls::Error) -> AlertDescription {
    use rustls::Error as E;
    match e {
        E::InvalidMessage(m) => AlertDescription::from(*m),
        // common_state.rs: a message out of order is answered unexpected_message.
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            AlertDescription::UnexpectedMessage
        }
        E::InvalidCertificate(c) => AlertDescription::from(c.clone()),
        E::NoCertificatesPresented => AlertDescription::CertificateRequired,
        E::PeerIncompatible(_) => AlertDescription::HandshakeFailure,
        E::PeerMisbehaved(_) => AlertDescription::IllegalParameter,
        E::DecryptError => AlertDescription::BadRecordMac,
        E::NoApplicationProtocol => AlertDescription::NoApplicationProtocol,
        _ => AlertDescription::InternalError,
    }
}

/// The canonical SCREAMING_SNAKE code for an error the client raised itself.
///
/// Both forms of "the server's handshake message is too big for a rustls
/// client" (the decoded `HandshakePayloadTooLarge` and the io error "message
/// buffer full" just over 64 KiB) are `HANDSHAKE_PAYLOAD_TOO_LARGE`.
pub fn client_error_code(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge) => {
            "HANDSHAKE_PAYLOAD_TOO_LARGE".into()
        }
        E::InvalidMessage(m) => format!(
            "INVALID_MESSAGE_{}",
            camel_to(variant(&format!("{m:?}")), '_', true)
        ),
        E::InvalidCertificate(c) => format!(
            "INVALID_CERTIFICATE_{}",
            camel_to(variant(&format!("{c:?}")), '_', true)
        ),
        E::PeerMisbehaved(p) => format!(
            "PEER_MISBEHAVED_{}",
            camel_to(variant(&format!("{p:?}")), '_', true)
        ),
        E::PeerIncompatible(p) => format!(
            "PEER_INCOMPATIBLE_{}",
            camel_to(variant(&format!("{p:?}")), '_', true)
        ),
        other => camel_to(variant(&format!("{other:?}")), '_', true),
    }
}

/// The canonical code for an io error the client saw.
pub fn io_error_code(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    if e.to_string().contains("message buffer full") {
        return "HANDSHAKE_PAYLOAD_TOO_LARGE".into();
    }
    match e.kind() {
        K::ConnectionRefused => "CONNECTION_REFUSED".into(),
        K::ConnectionReset => "CONNECTION_RESET".into(),
        K::ConnectionAborted => "CONNECTION_ABORTED".into(),
        K::UnexpectedEof => "CONNECTION_CLOSED".into(),
        K::BrokenPipe => "BROKEN_PIPE".into(),
        K::TimedOut => "TIMED_OUT".into(),
        _ => "IO_ERROR".into(),
    }
}

/// `Foo(Bar)` / `Foo { .. }` -> `Foo`.
fn variant(debug: &str) -> &str {
    let end = debug.find(['(', ' ', '{']).unwrap_or(debug.len());
    &debug[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_are_rfc_snake_case() {
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(
            alert_name(AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(
            alert_name(AlertDescription::BadCertificate),
            "bad_certificate"
        );
        assert_eq!(
            alert_name(AlertDescription::InternalError),
            "internal_error"
        );
    }

    #[test]
    fn both_oversize_forms_share_one_code() {
        let decoded =
            rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge);
        assert_eq!(client_error_code(&decoded), "HANDSHAKE_PAYLOAD_TOO_LARGE");
        let io = std::io::Error::other("message buffer full");
        assert_eq!(io_error_code(&io), "HANDSHAKE_PAYLOAD_TOO_LARGE");
    }

    #[test]
    fn finds_rustls_error_inside_io_error() {
        let inner = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        let found = find_rustls_error(&io).expect("found");
        assert!(matches!(
            found,
            rustls::Error::AlertReceived(AlertDescription::UnknownCA)
        ));
    }

    #[test]
    fn codes_for_certificate_errors() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(client_error_code(&e), "INVALID_CERTIFICATE_UNKNOWN_ISSUER");
    }
}
