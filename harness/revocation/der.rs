//! OCSP messages (RFC 6960) in DER, read and written with `yasna` (already
//! the harness's DER writer, so no second ASN.1 stack): the request a
//! gateway sends, the `BasicOCSPResponse` the responder signs, and the
//! reading of both sides.

use time::OffsetDateTime;
use yasna::models::ObjectIdentifier;
use yasna::{ASN1Error, ASN1ErrorKind, Tag};

/// id-pkix-ocsp-basic.
const OCSP_BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
/// id-pkix-ocsp-nonce: Apache sends one by default (`SSLOCSPUseRequestNonce`)
/// and refuses a response that does not echo it.
const OCSP_NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];
const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];

/// Why bytes are not the OCSP message expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("not DER: {0}")]
    Asn1(String),
    #[error("unsupported CertID hash algorithm {0}")]
    HashAlgorithm(String),
    #[error("bad GeneralizedTime `{0}`")]
    Time(String),
    #[error("response type is not id-pkix-ocsp-basic")]
    NotBasic,
}

impl From<ASN1Error> for DerError {
    fn from(e: ASN1Error) -> Self {
        DerError::Asn1(format!("{e:?}"))
    }
}

/// The hash of a CertID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha1,
    Sha256,
}

impl HashAlg {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlg::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &ring::digest::SHA256,
        };
        ring::digest::digest(alg, data).as_ref().to_vec()
    }

    fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::from_slice(match self {
            HashAlg::Sha1 => SHA1,
            HashAlg::Sha256 => SHA256,
        })
    }
}

/// Which certificate a request or an answer is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    pub hash: HashAlg,
    /// Hash of the issuer's subject name (DER).
    pub name_hash: Vec<u8>,
    /// Hash of the issuer's public key (the BIT STRING's contents).
    pub key_hash: Vec<u8>,
    /// The serial number's content octets (as in the certificate).
    pub serial: Vec<u8>,
}

/// A parsed OCSPRequest: its CertIDs and the nonce extension, if any (the
/// whole Extension, echoed back as it came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub ids: Vec<CertId>,
    pub nonce: Option<Vec<u8>>,
}

/// A certificate's status in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked { at: OffsetDateTime },
    Unknown,
}

/// One SingleResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub id: CertId,
    pub status: CertStatus,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
}

/// OCSPResponseStatus values.
pub mod status {
    pub const SUCCESSFUL: u8 = 0;
    pub const MALFORMED_REQUEST: u8 = 1;
    pub const UNAUTHORIZED: u8 = 6;
}

fn write_time(w: yasna::DERWriter<'_>, t: OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    w.write_tagged_implicit(yasna::tags::TAG_GENERALIZEDTIME, |w| {
        w.write_bytes(s.as_bytes())
    });
}

fn read_time(r: yasna::BERReader<'_, '_>) -> Result<OffsetDateTime, ASN1Error> {
    let bytes = r.read_tagged_implicit(yasna::tags::TAG_GENERALIZEDTIME, |r| r.read_bytes())?;
    parse_time(&bytes).ok_or(ASN1Error::new(ASN1ErrorKind::Invalid))
}

fn parse_time(bytes: &[u8]) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(bytes).ok()?;
    let s = s.strip_suffix('Z')?;
    let digits = s.split('.').next()?;
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| digits[a..b].parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        n(0, 4)? as i32,
        time::Month::try_from(n(4, 6)? as u8).ok()?,
        n(6, 8)? as u8,
    )
    .ok()?;
    let t = time::Time::from_hms(n(8, 10)? as u8, n(10, 12)? as u8, n(12, 14)? as u8).ok()?;
    Some(date.with_time(t).assume_utc())
}

fn write_cert_id(w: yasna::DERWriter<'_>, id: &CertId) {
    w.write_sequence(|w| {
        w.next().write_sequence(|w| {
            w.next().write_oid(&id.hash.oid());
            w.next().write_null();
        });
        w.next().write_bytes(&id.name_hash);
        w.next().write_bytes(&id.key_hash);
        w.next().write_der(&integer_tlv(&id.serial));
    });
}

/// An INTEGER from its content octets.
fn integer_tlv(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x02];
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

/// The content octets of a DER TLV (short or long form length).
fn tlv_content(tlv: &[u8]) -> Option<&[u8]> {
    let first = *tlv.get(1)?;
    let (start, len) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        let mut len = 0usize;
        for b in tlv.get(2..2 + n)? {
            len = (len << 8) | *b as usize;
        }
        (2 + n, len)
    };
    tlv.get(start..start + len)
}

fn read_cert_id(r: yasna::BERReader<'_, '_>) -> Result<Result<CertId, DerError>, ASN1Error> {
    r.read_sequence(|r| {
        let oid = r.next().read_sequence(|r| {
            let oid = r.next().read_oid()?;
            r.read_optional(|r| r.read_null())?;
            Ok(oid)
        })?;
        let name_hash = r.next().read_bytes()?;
        let key_hash = r.next().read_bytes()?;
        let serial_tlv = r.next().read_der()?;
        let serial = tlv_content(&serial_tlv)
            .ok_or(ASN1Error::new(ASN1ErrorKind::Invalid))?
            .to_vec();
        let hash = if oid == ObjectIdentifier::from_slice(SHA1) {
            HashAlg::Sha1
        } else if oid == ObjectIdentifier::from_slice(SHA256) {
            HashAlg::Sha256
        } else {
            return Ok(Err(DerError::HashAlgorithm(oid.to_string())));
        };
        Ok(Ok(CertId {
            hash,
            name_hash,
            key_hash,
            serial,
        }))
    })
}

/// Reads `[tag] EXPLICIT Extensions` and keeps the nonce extension's DER.
fn read_nonce(r: &mut yasna::BERReaderSeq<'_, '_>, tag: u64) -> Result<Option<Vec<u8>>, ASN1Error> {
    let exts = r.read_optional(|r| {
        r.read_tagged(Tag::context(tag), |r| {
            r.collect_sequence_of(|r| r.read_der())
        })
    })?;
    for ext in exts.unwrap_or_default() {
        let oid = yasna::parse_der(&ext, |r| {
            r.read_sequence(|r| {
                let oid = r.next().read_oid()?;
                r.read_optional(|r| r.read_bool())?;
                r.next().read_bytes()?;
                Ok(oid)
            })
        })?;
        if oid == ObjectIdentifier::from_slice(OCSP_NONCE) {
            return Ok(Some(ext));
        }
    }
    Ok(None)
}

/// Parse an OCSPRequest (an optional signature is ignored, as responders do).
pub fn parse_request(der: &[u8]) -> Result<Request, DerError> {
    let (ids, nonce) = yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let tbs = r.next().read_sequence(|r| {
                r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_u8()))?;
                r.read_optional(|r| r.read_tagged(Tag::context(1), |r| r.read_der()))?;
                let ids = r.next().collect_sequence_of(|r| {
                    r.read_sequence(|r| {
                        let id = read_cert_id(r.next())?;
                        r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
                        Ok(id)
                    })
                })?;
                let nonce = read_nonce(r, 2)?;
                Ok((ids, nonce))
            })?;
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
            Ok(tbs)
        })
    })?;
    let ids = ids.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Request { ids, nonce })
}

/// An OCSPRequest for `ids`, with a random nonce.
pub fn encode_request(ids: &[CertId], nonce: &[u8]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_sequence(|w| {
                    for id in ids {
                        w.next().write_sequence(|w| write_cert_id(w.next(), id));
                    }
                });
                w.next().write_tagged(Tag::context(2), |w| {
                    w.write_sequence(|w| {
                        w.next().write_sequence(|w| {
                            w.next()
                                .write_oid(&ObjectIdentifier::from_slice(OCSP_NONCE));
                            let inner = yasna::construct_der(|w| w.write_bytes(nonce));
                            w.next().write_bytes(&inner);
                        })
                    })
                });
            });
        })
    })
}

/// An OCSPResponse carrying only an error status (no responseBytes).
pub fn encode_error(status: u8) -> Vec<u8> {
    yasna::construct_der(|w| w.write_sequence(|w| w.next().write_enum(i64::from(status))))
}

/// The `ResponseData` to sign: responder by key hash, `answers`, and the
/// request's nonce echoed.
pub fn encode_response_data(
    responder_key_hash: &[u8],
    produced_at: OffsetDateTime,
    answers: &[Answer],
    nonce: Option<&[u8]>,
) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next()
                .write_tagged(Tag::context(2), |w| w.write_bytes(responder_key_hash));
            write_time(w.next(), produced_at);
            w.next().write_sequence(|w| {
                for a in answers {
                    w.next().write_sequence(|w| {
                        write_cert_id(w.next(), &a.id);
                        match a.status {
                            CertStatus::Good => w
                                .next()
                                .write_tagged_implicit(Tag::context(0), |w| w.write_null()),
                            CertStatus::Revoked { at } => {
                                w.next().write_tagged_implicit(Tag::context(1), |w| {
                                    w.write_sequence(|w| write_time(w.next(), at))
                                })
                            }
                            CertStatus::Unknown => w
                                .next()
                                .write_tagged_implicit(Tag::context(2), |w| w.write_null()),
                        }
                        write_time(w.next(), a.this_update);
                        if let Some(next) = a.next_update {
                            w.next()
                                .write_tagged(Tag::context(0), |w| write_time(w, next));
                        }
                    });
                }
            });
            if let Some(nonce) = nonce {
                w.next().write_tagged(Tag::context(1), |w| {
                    w.write_sequence(|w| w.next().write_der(nonce))
                });
            }
        })
    })
}

/// A successful OCSPResponse around a signed `BasicOCSPResponse`.
pub fn encode_response(
    response_data: &[u8],
    signature_algorithm: &[u8],
    signature: &[u8],
    certs: &[&[u8]],
) -> Vec<u8> {
    let basic = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(response_data);
            w.next().write_der(signature_algorithm);
            w.next().write_bitvec_bytes(signature, signature.len() * 8);
            if !certs.is_empty() {
                w.next().write_tagged(Tag::context(0), |w| {
                    w.write_sequence(|w| {
                        for c in certs {
                            w.next().write_der(c);
                        }
                    })
                });
            }
        })
    });
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_enum(i64::from(status::SUCCESSFUL));
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next()
                        .write_oid(&ObjectIdentifier::from_slice(OCSP_BASIC));
                    w.next().write_bytes(&basic);
                })
            });
        })
    })
}

/// What a gateway reads from an OCSPResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u8,
    /// The signed `ResponseData` (DER), its signature and algorithm (DER).
    pub response_data: Vec<u8>,
    pub signature_algorithm: Vec<u8>,
    pub signature: Vec<u8>,
    pub answers: Vec<Answer>,
    pub nonce: Option<Vec<u8>>,
    pub certs: Vec<Vec<u8>>,
}

/// Parse an OCSPResponse (a non-successful one has no answers).
pub fn parse_response(der: &[u8]) -> Result<Response, DerError> {
    let (status, bytes) = yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let status = r.next().read_enum()?;
            let bytes = r.read_optional(|r| {
                r.read_tagged(Tag::context(0), |r| {
                    r.read_sequence(|r| {
                        let oid = r.next().read_oid()?;
                        let bytes = r.next().read_bytes()?;
                        Ok((oid, bytes))
                    })
                })
            })?;
            Ok((status, bytes))
        })
    })?;
    let status = u8::try_from(status).map_err(|_| DerError::Asn1("status".into()))?;
    let mut out = Response {
        status,
        response_data: Vec::new(),
        signature_algorithm: Vec::new(),
        signature: Vec::new(),
        answers: Vec::new(),
        nonce: None,
        certs: Vec::new(),
    };
    let Some((oid, basic)) = bytes else {
        return Ok(out);
    };
    if oid != ObjectIdentifier::from_slice(OCSP_BASIC) {
        return Err(DerError::NotBasic);
    }
    let (data, alg, sig, certs) = yasna::parse_der(&basic, |r| {
        r.read_sequence(|r| {
            let data = r.next().read_der()?;
            let alg = r.next().read_der()?;
            let (sig, _) = r.next().read_bitvec_bytes()?;
            let certs = r.read_optional(|r| {
                r.read_tagged(Tag::context(0), |r| r.collect_sequence_of(|r| r.read_der()))
            })?;
            Ok((data, alg, sig, certs.unwrap_or_default()))
        })
    })?;
    let (answers, nonce) = yasna::parse_der(&data, |r| {
        r.read_sequence(|r| {
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_u8()))?;
            // responderID: byName [1] or byKey [2].
            r.next().read_der()?;
            read_time(r.next())?;
            let answers = r.next().collect_sequence_of(|r| {
                r.read_sequence(|r| {
                    let id = read_cert_id(r.next())?;
                    let status = r.next().read_der()?;
                    let status = match status.first() {
                        Some(0x80) => CertStatus::Good,
                        Some(0xa1) => {
                            let content = tlv_content(&status)
                                .ok_or(ASN1Error::new(ASN1ErrorKind::Invalid))?;
                            let at = yasna::parse_der(
                                &yasna::construct_der(|w| {
                                    w.write_sequence(|w| w.next().write_der(content))
                                }),
                                |r| {
                                    r.read_sequence(|r| {
                                        let at = read_time(r.next())?;
                                        r.read_optional(|r| {
                                            r.read_tagged(Tag::context(0), |r| r.read_enum())
                                        })?;
                                        Ok(at)
                                    })
                                },
                            )?;
                            CertStatus::Revoked { at }
                        }
                        Some(0x82) => CertStatus::Unknown,
                        _ => return Err(ASN1Error::new(ASN1ErrorKind::Invalid)),
                    };
                    let this_update = read_time(r.next())?;
                    let next_update =
                        r.read_optional(|r| r.read_tagged(Tag::context(0), read_time))?;
                    r.read_optional(|r| r.read_tagged(Tag::context(1), |r| r.read_der()))?;
                    Ok((id, status, this_update, next_update))
                })
            })?;
            let nonce = read_nonce(r, 1)?;
            Ok((answers, nonce))
        })
    })?;
    for (id, status, this_update, next_update) in answers {
        out.answers.push(Answer {
            id: id?,
            status,
            this_update,
            next_update,
        });
    }
    out.response_data = data;
    out.signature_algorithm = alg;
    out.signature = sig;
    out.nonce = nonce;
    out.certs = certs;
    Ok(out)
}

/// The `AlgorithmIdentifier` (DER) of the signatures `key` makes.
pub fn signature_algorithm(key: &rcgen::KeyPair) -> Vec<u8> {
    let alg = key.algorithm();
    let (oid, null): (&[u64], bool) = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        (&[1, 2, 840, 10045, 4, 3, 2], false)
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        (&[1, 2, 840, 10045, 4, 3, 3], false)
    } else if alg == &rcgen::PKCS_ED25519 {
        (&[1, 3, 101, 112], false)
    } else {
        (&[1, 2, 840, 113549, 1, 1, 11], true)
    };
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&ObjectIdentifier::from_slice(oid));
            if null {
                w.next().write_null();
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> CertId {
        CertId {
            hash: HashAlg::Sha1,
            name_hash: vec![1; 20],
            key_hash: vec![2; 20],
            serial: vec![0x00, 0x9a, 0x01],
        }
    }

    #[test]
    fn a_request_round_trips_with_its_nonce() {
        let der = encode_request(&[id()], b"0123456789abcdef");
        let req = parse_request(&der).expect("parses");
        assert_eq!(req.ids, vec![id()]);
        assert!(req.nonce.is_some());
    }

    #[test]
    fn response_data_round_trips_every_status() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let answers: Vec<Answer> = [
            CertStatus::Good,
            CertStatus::Revoked { at: now },
            CertStatus::Unknown,
        ]
        .into_iter()
        .map(|status| Answer {
            id: id(),
            status,
            this_update: now,
            next_update: Some(now + time::Duration::days(1)),
        })
        .collect();
        let nonce = yasna::parse_der(&encode_request(&[id()], b"n"), |_| Ok(()));
        assert!(nonce.is_err(), "a whole request is not an extension");
        let data = encode_response_data(&[3; 20], now, &answers, None);
        let der = encode_response(&data, &[0x30, 0x00], &[1, 2, 3], &[]);
        let resp = parse_response(&der).expect("parses");
        assert_eq!(resp.status, status::SUCCESSFUL);
        assert_eq!(resp.answers, answers);
        assert_eq!(resp.signature, vec![1, 2, 3]);
    }

    #[test]
    fn an_error_status_has_no_answers() {
        let resp = parse_response(&encode_error(status::UNAUTHORIZED)).expect("parses");
        assert_eq!(resp.status, status::UNAUTHORIZED);
        assert!(resp.answers.is_empty());
        assert!(parse_response(b"not DER").is_err());
    }
}
