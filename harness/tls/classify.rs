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

/// The alert rustls sends for an error it raised itself: what is on the wire,
/// so that a gateway's record and the peer agree.
///
/// rustls picks the alert where it raises the error (`send_fatal_alert(desc,
/// err)` in rustls 0.23.46), not from the error alone; this table follows
/// every such call site. Where one error has two sites with different alerts
/// the more common one is taken and the other named below:
/// - `DecryptError`: `bad_record_mac` when a record does not decrypt (the
///   deframer), `decrypt_error` when a Finished or binder does not verify.
/// - `InvalidMessage::MessageTooLarge`: `decode_error`, except
///   `bad_certificate` for an oversized decompressed certificate.
///
/// `tests/alerts_on_the_wire.rs` drives the unexpected-message, decode-error
/// and bad-signature paths against a gateway with a raw client and compares.
pub fn alert_for_local_error(e: &rustls::Error) -> AlertDescription {
    use rustls::Error as E;
    use rustls::{PeerIncompatible as I, PeerMisbehaved as M};
    match e {
        // Message::try_from: From<InvalidMessage>; the deframer: decode_error
        // (the same for every variant the deframer raises).
        E::InvalidMessage(m) => AlertDescription::from(*m),
        // common_state.rs: a message out of order is answered unexpected_message.
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            AlertDescription::UnexpectedMessage
        }
        // send_cert_verify_error_alert: From<CertificateError>.
        E::InvalidCertificate(c) => AlertDescription::from(c.clone()),
        E::NoCertificatesPresented => AlertDescription::CertificateRequired,
        E::PeerIncompatible(i) => match i {
            I::Tls12NotOffered
            | I::Tls12NotOfferedOrEnabled
            | I::Tls13RequiredForQuic
            | I::SupportedVersionsExtensionRequired
            | I::ServerDoesNotSupportTls12Or13
            | I::ServerTlsVersionIsDisabledByOurConfig => AlertDescription::ProtocolVersion,
            I::NullCompressionRequired | I::UncompressedEcPointsRequired => {
                AlertDescription::IllegalParameter
            }
            I::ServerRejectedEncryptedClientHello(_) => {
                AlertDescription::EncryptedClientHelloRequired
            }
            _ => AlertDescription::HandshakeFailure,
        },
        E::PeerMisbehaved(m) => match m {
            M::IllegalMiddleboxChangeCipherSpec
            | M::KeyEpochWithPendingFragment
            | M::KeyUpdateReceivedInQuicConnection
            | M::TooMuchEarlyDataReceived => AlertDescription::UnexpectedMessage,
            M::DisallowedEncryptedExtension
            | M::IllegalHelloRetryRequestWithInvalidEch
            | M::UnexpectedCleartextExtension
            | M::UnsolicitedEchExtension
            | M::UnsolicitedEncryptedExtension
            | M::UnsolicitedServerHelloExtension => AlertDescription::UnsupportedExtension,
            M::MissingKeyShare
            | M::MissingPskExtensionInSecondClientHello
            | M::MissingPskModesExtension => AlertDescription::MissingExtension,
            M::MissingBinderInPskExtension => AlertDescription::DecodeError,
            M::IncorrectBinder => AlertDescription::DecryptError,
            M::InvalidCertCompression | M::SelectedUnofferedCertCompression => {
                AlertDescription::BadCertificate
            }
            M::SelectedUnofferedCipherSuite | M::ServerHelloMustOfferUncompressedEcPoints => {
                AlertDescription::HandshakeFailure
            }
            _ => AlertDescription::IllegalParameter,
        },
        E::PeerSentOversizedRecord => AlertDescription::RecordOverflow,
        E::DecryptError => AlertDescription::BadRecordMac,
        E::NoApplicationProtocol => AlertDescription::NoApplicationProtocol,
        // The server's certificate resolver found none (hs.rs, tls12.rs).
        E::General(_) => AlertDescription::AccessDenied,
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
    fn local_errors_map_to_the_alert_rustls_sends_at_their_call_site() {
        use rustls::{Error as E, PeerIncompatible as I, PeerMisbehaved as M};
        let cases: Vec<(E, &str)> = vec![
            (
                E::InappropriateHandshakeMessage {
                    expect_types: vec![],
                    got_type: rustls::HandshakeType::Finished,
                },
                "unexpected_message",
            ),
            (
                E::InvalidMessage(rustls::InvalidMessage::MessageTooShort),
                "decode_error",
            ),
            (
                E::InvalidCertificate(rustls::CertificateError::BadSignature),
                "decrypt_error",
            ),
            (E::PeerIncompatible(I::Tls12NotOffered), "protocol_version"),
            (
                E::PeerIncompatible(I::NoCipherSuitesInCommon),
                "handshake_failure",
            ),
            (
                E::PeerMisbehaved(M::SignedHandshakeWithUnadvertisedSigScheme),
                "illegal_parameter",
            ),
            (
                E::PeerMisbehaved(M::IllegalMiddleboxChangeCipherSpec),
                "unexpected_message",
            ),
            (E::PeerMisbehaved(M::MissingKeyShare), "missing_extension"),
            (
                E::PeerMisbehaved(M::UnsolicitedServerHelloExtension),
                "unsupported_extension",
            ),
            (E::PeerSentOversizedRecord, "record_overflow"),
            (E::NoCertificatesPresented, "certificate_required"),
        ];
        for (e, want) in cases {
            assert_eq!(alert_name(alert_for_local_error(&e)), want, "{e:?}");
        }
    }

    /// The table above follows rustls 0.23.46's call sites; another version
    /// may send other alerts: check them again, then move this pin.
    #[test]
    fn the_alert_table_was_checked_against_this_rustls() {
        let lock = include_str!("../../Cargo.lock");
        let rustls = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"rustls\"\n"))
            .expect("rustls in Cargo.lock");
        assert!(
            rustls.contains("version = \"0.23.46\""),
            "rustls changed version: re-check alert_for_local_error against its send_fatal_alert sites\n{rustls}"
        );
    }

    #[test]
    fn codes_for_certificate_errors() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(client_error_code(&e), "INVALID_CERTIFICATE_UNKNOWN_ISSUER");
    }
}
