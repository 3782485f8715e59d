//! A decoder for the CA names of a TLS 1.2 CertificateRequest read from the
//! raw bytes of a server's first flight.
//!
//! rustls (like Go and most clients) refuses a handshake message over 64 KiB
//! before parsing it, so when a server sends a CA list that large the probe
//! cannot learn from rustls how many names it sent. On TLS 1.2 the flight is
//! plaintext: this module reads the records, joins the handshake messages and
//! decodes the list itself. It is lenient where servers are wrong in known
//! ways (a list whose u16 length wrapped past 65,535 is read to the end of
//! the message and reported with both sizes) and returns a typed error, never
//! a panic, on anything else: it reads whatever a hostile server sends.

use serde::Serialize;

/// Handshake message type of a CertificateRequest.
const CERTIFICATE_REQUEST: u8 = 13;
/// Handshake message type of a ServerHelloDone (the end of a TLS 1.2 flight).
const SERVER_HELLO_DONE: u8 = 14;
const RECORD_HANDSHAKE: u8 = 22;
const RECORD_HEADER: usize = 5;
const HANDSHAKE_HEADER: usize = 4;
/// A record fragment may not exceed 2^14 bytes plus expansion (RFC 5246 6.2.3).
const MAX_RECORD_FRAGMENT: usize = 16_384 + 2048;

/// Why the bytes are not a TLS 1.2 server flight this decoder can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("record at byte {offset}: content type {content_type} is not TLS")]
    NotTls { offset: usize, content_type: u8 },
    #[error("record at byte {offset}: fragment of {len} bytes is over the 18,432-byte limit")]
    RecordTooLong { offset: usize, len: usize },
    #[error("CertificateRequest: {0}")]
    CertificateRequest(&'static str),
    #[error("CA name {index}: declares {declared} bytes, {left} left in the message")]
    NameOverrun {
        index: usize,
        declared: usize,
        left: usize,
    },
}

/// The CA-names list as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawCaNames {
    /// DER of each name.
    #[serde(skip)]
    pub names: Vec<Vec<u8>>,
    pub count: usize,
    /// Bytes the list occupies in the message (each name's u16 length and DER).
    pub encoded_bytes: usize,
    /// What the list's u16 length field says; differs from `encoded_bytes`
    /// when the server wrapped it past 65,535.
    pub declared_bytes: usize,
    /// Bytes of the whole CertificateRequest message body.
    pub message_bytes: usize,
}

/// One handshake message: its type and body.
pub type HandshakeMessage = (u8, Vec<u8>);

/// The handshake messages whole in `flight`, and whether the flight is over
/// (a ServerHelloDone, or a record that is not a handshake record). An
/// incomplete last record or message is left out.
pub fn handshake_messages(flight: &[u8]) -> Result<(Vec<HandshakeMessage>, bool), WireError> {
    let mut joined = Vec::new();
    let mut offset = 0;
    let mut ended = false;
    while flight.len() - offset >= RECORD_HEADER {
        let content_type = flight[offset];
        let len = u16::from_be_bytes([flight[offset + 3], flight[offset + 4]]) as usize;
        if !(20..=24).contains(&content_type) || flight[offset + 1] != 3 {
            return Err(WireError::NotTls {
                offset,
                content_type,
            });
        }
        if len > MAX_RECORD_FRAGMENT {
            return Err(WireError::RecordTooLong { offset, len });
        }
        if content_type != RECORD_HANDSHAKE {
            ended = true;
            break;
        }
        let start = offset + RECORD_HEADER;
        let Some(fragment) = flight.get(start..start + len) else {
            break;
        };
        joined.extend_from_slice(fragment);
        offset = start + len;
    }
    let mut messages = Vec::new();
    let mut at = 0;
    while joined.len() - at >= HANDSHAKE_HEADER {
        let typ = joined[at];
        let len = u32::from_be_bytes([0, joined[at + 1], joined[at + 2], joined[at + 3]]) as usize;
        let start = at + HANDSHAKE_HEADER;
        let Some(body) = joined.get(start..start + len) else {
            break;
        };
        messages.push((typ, body.to_vec()));
        at = start + len;
        if typ == SERVER_HELLO_DONE {
            ended = true;
            break;
        }
    }
    Ok((messages, ended))
}

/// The CA names of the first CertificateRequest in `flight`, if a whole one
/// is there.
pub fn ca_names_in_flight(flight: &[u8]) -> Result<Option<RawCaNames>, WireError> {
    let (messages, _) = handshake_messages(flight)?;
    messages
        .iter()
        .find(|(typ, _)| *typ == CERTIFICATE_REQUEST)
        .map(|(_, body)| tls12_certificate_request(body))
        .transpose()
}

/// Decode a TLS 1.2 CertificateRequest body (RFC 5246 7.4.4):
/// `certificate_types<1..2^8-1>`, `supported_signature_algorithms<2..2^16-2>`,
/// `certificate_authorities<0..2^16-1>`.
pub fn tls12_certificate_request(body: &[u8]) -> Result<RawCaNames, WireError> {
    let bad = WireError::CertificateRequest;
    let types_len = *body.first().ok_or(bad("empty"))? as usize;
    let mut at = 1 + types_len;
    let sig_len = u16_at(body, at).ok_or(bad("ends inside certificate_types"))? as usize;
    at += 2 + sig_len;
    let declared = u16_at(body, at).ok_or(bad("ends inside signature_algorithms"))? as usize;
    at += 2;
    // Read to the end of the message, not to the declared length: a list
    // over 65,535 bytes only fits by wrapping that length.
    let list = &body[at..];
    let names = decode_ca_name_list(list)?;
    Ok(RawCaNames {
        count: names.len(),
        encoded_bytes: list.len(),
        declared_bytes: declared,
        message_bytes: body.len(),
        names,
    })
}

/// Decode a sequence of `DistinguishedName<1..2^16-1>` (u16 length, DER) that
/// fills `list` exactly.
pub fn decode_ca_name_list(list: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let mut names = Vec::new();
    let mut at = 0;
    while at < list.len() {
        let declared = u16_at(list, at).ok_or(WireError::NameOverrun {
            index: names.len(),
            declared: 2,
            left: list.len() - at,
        })? as usize;
        let start = at + 2;
        let name = list
            .get(start..start + declared)
            .ok_or(WireError::NameOverrun {
                index: names.len(),
                declared,
                left: list.len() - start,
            })?;
        names.push(name.to_vec());
        at = start + declared;
    }
    Ok(names)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at.checked_add(1)?)?,
    ]))
}

/// Test support: a TLS 1.2 server flight holding a ServerHello-less
/// CertificateRequest with `names` (each a DER Name), split into records, its
/// list length written as a u16 (wrapping, as a broken server writes it).
pub fn certificate_request_flight(names: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for n in names {
        list.extend_from_slice(&(n.len() as u16).to_be_bytes());
        list.extend_from_slice(n);
    }
    let mut body = vec![2, 1, 64, 0, 4, 0x04, 0x03, 0x08, 0x04];
    body.extend_from_slice(&(list.len() as u16).to_be_bytes());
    body.extend_from_slice(&list);
    let mut message = vec![CERTIFICATE_REQUEST];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(&body);
    message.extend_from_slice(&[SERVER_HELLO_DONE, 0, 0, 0]);
    let mut flight = Vec::new();
    for chunk in message.chunks(16_384) {
        flight.extend_from_slice(&[RECORD_HANDSHAKE, 3, 3]);
        flight.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        flight.extend_from_slice(chunk);
    }
    flight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(i: usize) -> Vec<u8> {
        // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "CA i" } } }
        let cn = format!("Filler CA {i:05}");
        let mut atv = vec![0x06, 3, 0x55, 4, 3, 0x0c, cn.len() as u8];
        atv.extend_from_slice(cn.as_bytes());
        let mut seq = vec![0x30, atv.len() as u8];
        seq.extend(atv);
        let mut set = vec![0x31, seq.len() as u8];
        set.extend(seq);
        let mut out = vec![0x30, set.len() as u8];
        out.extend(set);
        out
    }

    #[test]
    fn decodes_a_list_that_fits() {
        let names: Vec<_> = (0..3).map(name).collect();
        let got = ca_names_in_flight(&certificate_request_flight(&names))
            .unwrap()
            .unwrap();
        assert_eq!(got.names, names);
        assert_eq!(got.declared_bytes, got.encoded_bytes);
        assert_eq!(
            got.encoded_bytes,
            names.iter().map(|n| 2 + n.len()).sum::<usize>()
        );
        let (_, ended) = handshake_messages(&certificate_request_flight(&names)).unwrap();
        assert!(ended);
    }

    #[test]
    fn reads_a_list_whose_length_wrapped_past_64_kib() {
        let names: Vec<_> = (0..2500).map(name).collect();
        let got = ca_names_in_flight(&certificate_request_flight(&names))
            .unwrap()
            .unwrap();
        assert_eq!(got.count, 2500);
        assert!(got.encoded_bytes > 0xffff);
        assert_eq!(got.declared_bytes, got.encoded_bytes % 0x10000);
    }

    #[test]
    fn an_incomplete_flight_is_no_answer_yet_and_garbage_is_an_error() {
        let flight = certificate_request_flight(&[name(1)]);
        assert_eq!(ca_names_in_flight(&flight[..flight.len() - 10]), Ok(None));
        assert!(matches!(
            ca_names_in_flight(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(WireError::NotTls { .. })
        ));
        assert!(matches!(
            tls12_certificate_request(&[1, 1, 0, 2, 4, 3, 0, 5, 0, 9, 1]),
            Err(WireError::NameOverrun { index: 0, .. })
        ));
        assert!(tls12_certificate_request(&[]).is_err());
        assert!(tls12_certificate_request(&[255]).is_err());
    }
}
