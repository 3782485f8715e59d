//! Where a certificate says its revocation status is published: the OCSP
//! responder of an authority information access extension (RFC 5280
//! 4.2.2.1) and CRL distribution points (4.2.1.13).
//!
//! [`ocsp_extension`] and [`crl_extension`] encode them for `ocsp_url` /
//! `crl_distribution_points` of a `[[cert]]`; [`Pki::with_revocation_urls`]
//! re-signs issued certificates of a generated PKI with them (same key,
//! serial, dates and other extensions), so a scenario's certificates can
//! name the responder a case started on a port known only then.

use super::error::{GenerateError, PkiError};
use super::{IssuedCert, Pki};
use rcgen::{CustomExtension, KeyPair, SigningKey};
use rustls_pki_types::CertificateDer;
use std::collections::HashMap;
use yasna::models::ObjectIdentifier;
use yasna::Tag;

/// id-pe-authorityInfoAccess.
pub const AIA_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ce-cRLDistributionPoints.
pub const CDP_OID: &[u64] = &[2, 5, 29, 31];
/// id-ad-ocsp.
const OCSP_METHOD: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];

/// The URLs one certificate is re-signed with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationUrls {
    pub ocsp: Option<String>,
    pub crl: Vec<String>,
}

/// Why `url` cannot be a certificate's OCSP or CRL URL, if it cannot: the
/// gateways fetch over plain HTTP (nginx and OpenSSL's OCSP client speak
/// nothing else), and the extension holds an IA5String (ASCII).
pub fn url_problem(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Err(e) => Some(format!("`{url}` is not a URL: {e}")),
        Ok(u) if u.scheme() != "http" => Some(format!(
            "`{url}`: only http:// URLs are fetched by gateways"
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some(format!("`{url}` has no host")),
        Ok(_) if !url.is_ascii() => {
            Some(format!("`{url}` is not ASCII (write the host as punycode)"))
        }
        Ok(_) => None,
    }
}

/// The authorityInfoAccess extension naming `url` as the OCSP responder.
pub fn ocsp_extension(url: &str) -> CustomExtension {
    CustomExtension::from_oid_content(AIA_OID, aia_value(url))
}

/// The cRLDistributionPoints extension, one distribution point per URL.
pub fn crl_extension(urls: &[String]) -> CustomExtension {
    CustomExtension::from_oid_content(CDP_OID, cdp_value(urls))
}

fn aia_value(url: &str) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next()
                    .write_oid(&ObjectIdentifier::from_slice(OCSP_METHOD));
                // GeneralName uniformResourceIdentifier [6] IA5String.
                w.next()
                    .write_tagged_implicit(Tag::context(6), |w| w.write_ia5_string(url));
            })
        })
    })
}

fn cdp_value(urls: &[String]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for url in urls {
                // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
                w.next().write_sequence(|w| {
                    w.next().write_tagged(Tag::context(0), |w| {
                        w.write_tagged_implicit(Tag::context(0), |w| {
                            w.write_sequence(|w| {
                                w.next().write_tagged_implicit(Tag::context(6), |w| {
                                    w.write_ia5_string(url)
                                })
                            })
                        })
                    })
                })
            }
        })
    })
}

/// One DER element: its tag, all its bytes, and its content.
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    content: &'a [u8],
}

/// The first DER element of `input`, and what follows it.
fn element(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if input.len() < end {
        return None;
    }
    let tlv = Tlv {
        tag,
        whole: &input[..end],
        content: &input[header..end],
    };
    Some((tlv, &input[end..]))
}

/// The elements of a constructed element's content.
fn elements(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = element(content)?;
        out.push(tlv);
        content = rest;
    }
    Some(out)
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn extension_der(ext: &CustomExtension) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&ObjectIdentifier::from_slice(
                ext.oid_components().collect::<Vec<_>>().as_slice(),
            ));
            w.next().write_bytes(ext.content());
        })
    })
}

fn oid_der(oid: &[u64]) -> Vec<u8> {
    yasna::construct_der(|w| w.write_oid(&ObjectIdentifier::from_slice(oid)))
}

/// `cert` with `extra` extensions (those it does not carry already: an
/// explicit `ocsp_url` of the spec wins), re-signed by `issuer_key`.
fn resign(cert: &[u8], extra: &[CustomExtension], issuer_key: &KeyPair) -> Option<Vec<u8>> {
    let (outer, _) = element(cert)?;
    let parts = elements(outer.content)?;
    let [tbs, sig_alg, _] = parts.as_slice() else {
        return None;
    };
    let mut exts: Vec<Vec<u8>> = Vec::new();
    let mut head: Vec<u8> = Vec::new();
    for field in elements(tbs.content)? {
        if field.tag == 0xa3 {
            let (list, _) = element(field.content)?;
            exts = elements(list.content)?
                .iter()
                .map(|e| e.whole.to_vec())
                .collect();
        } else {
            head.extend_from_slice(field.whole);
        }
    }
    let carried = |oid: &[u8]| {
        exts.iter().any(|e| {
            element(e)
                .and_then(|(ext, _)| element(ext.content))
                .is_some_and(|(id, _)| id.whole == oid)
        })
    };
    let added: Vec<Vec<u8>> = extra
        .iter()
        .filter(|e| !carried(&oid_der(&e.oid_components().collect::<Vec<_>>())))
        .map(extension_der)
        .collect();
    exts.extend(added);
    let mut tbs = head;
    if !exts.is_empty() {
        tbs.extend(encode(0xa3, &encode(0x30, &exts.concat())));
    }
    let tbs = encode(0x30, &tbs);
    let signature = issuer_key.sign(&tbs).ok()?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut body = tbs;
    body.extend_from_slice(sig_alg.whole);
    body.extend(encode(0x03, &bits));
    Some(encode(0x30, &body))
}

impl Pki {
    /// This PKI with every issued, named certificate re-signed by its issuer
    /// to carry the URLs `urls(cert, issuer)` gives (nothing else changes:
    /// keys, serials, dates, CRLs; chains are rebuilt from the new
    /// certificates). A certificate whose issuer's written key does not
    /// match (`key-mismatch`) is kept as it is: nothing can re-sign it.
    pub fn with_revocation_urls(
        &self,
        urls: impl Fn(&IssuedCert, &IssuedCert) -> RevocationUrls,
    ) -> Result<Pki, PkiError> {
        let mut out = self.clone();
        let mut renewed: HashMap<Vec<u8>, CertificateDer<'static>> = HashMap::new();
        for cert in out.certs.iter_mut() {
            let Some(issuer) = cert.issuer.as_deref().and_then(|i| self.get(i)) else {
                continue;
            };
            if cert.bulk.is_some() || issuer.has(super::Defect::KeyMismatch) {
                continue;
            }
            let wanted = urls(cert, issuer);
            let mut extra = Vec::new();
            if let Some(ocsp) = &wanted.ocsp {
                extra.push(ocsp_extension(ocsp));
            }
            if !wanted.crl.is_empty() {
                extra.push(crl_extension(&wanted.crl));
            }
            if extra.is_empty() {
                continue;
            }
            let failed = |source: GenerateError| PkiError::Generate {
                name: cert.name.clone(),
                source,
            };
            let key =
                KeyPair::try_from(issuer.key_pkcs8.as_slice()).map_err(|e| failed(e.into()))?;
            let der =
                resign(&cert.der, &extra, &key).ok_or_else(|| failed(GenerateError::Resign))?;
            let der = CertificateDer::from(der);
            renewed.insert(cert.der.to_vec(), der.clone());
            cert.der = der;
        }
        for cert in out.certs.iter_mut() {
            for link in cert.chain.iter_mut() {
                if let Some(new) = renewed.get(link.as_ref()) {
                    *link = new.clone();
                }
            }
        }
        Ok(out)
    }
}
