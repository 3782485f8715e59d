//! What is wrong with a credential, found offline: the key against the
//! certificate, validity, revocation by a given CRL, the EKU, and the
//! chain's order and completeness as a client that sends what it holds
//! would send it. Each finding carries its fix.

use super::read::Credential;
use super::{Finding, FindingKind};
use rustls_pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use x509_parser::prelude::{FromDer, X509Certificate};

/// What else the check may use.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct CheckInputs {
    /// `--crl`: CRLs (DER) to look the chain's serials up in.
    pub crls: Vec<(PathBuf, Vec<u8>)>,
    /// `--ca` and the certificates beside `--cert`: where a missing issuer
    /// may be found, to tell an intermediate left out from a root.
    pub issuers: Vec<CertificateDer<'static>>,
    /// The time to judge validity at.
    pub now: Option<time::OffsetDateTime>,
}

impl CheckInputs {
    /// `crls` and `issuers`, judged now.
    pub fn new(
        crls: Vec<(PathBuf, Vec<u8>)>,
        issuers: Vec<CertificateDer<'static>>,
    ) -> CheckInputs {
        CheckInputs {
            crls,
            issuers,
            now: None,
        }
    }
}

/// One certificate of the file, parsed once.
struct Parsed<'a> {
    cert: X509Certificate<'a>,
}

impl Parsed<'_> {
    fn subject(&self) -> String {
        self.cert.subject().to_string()
    }
    fn issuer(&self) -> String {
        self.cert.issuer().to_string()
    }
    fn self_signed(&self) -> bool {
        self.cert.subject().as_raw() == self.cert.issuer().as_raw()
    }
    /// `self` issued `other` (by name).
    fn issued(&self, other: &Parsed<'_>) -> bool {
        self.cert.subject().as_raw() == other.cert.issuer().as_raw()
    }
}

/// The public key (SubjectPublicKeyInfo, DER) of `key`, as rustls's ring
/// provider loads it; `Err`: why it cannot be loaded.
fn public_key_of(
    key: &rustls_pki_types::PrivateKeyDer<'static>,
) -> Result<Option<Vec<u8>>, String> {
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| e.to_string())?;
    Ok(signing.public_key().map(|spki| spki.as_ref().to_vec()))
}

/// What [`check`] found: the findings, the notes on what could not be
/// checked, and which certificate of the file is the key's (the leaf).
pub struct Checked {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub leaf: usize,
}

/// Every finding of `cred`, with notes on what could not be checked.
pub fn check(cred: &Credential, inputs: &CheckInputs) -> Checked {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let parsed: Vec<Parsed<'_>> = cred
        .certs
        .iter()
        .filter_map(|c| {
            X509Certificate::from_der(c)
                .ok()
                .map(|(_, cert)| Parsed { cert })
        })
        .collect();
    if parsed.is_empty() {
        return Checked {
            findings,
            notes,
            leaf: 0,
        };
    }
    // The key's certificate: the one whose public key is the key's.
    let key_spki = match &cred.key {
        None => None,
        Some(key) => match public_key_of(key) {
            Ok(spki) => spki,
            Err(why) => {
                findings.push(Finding::new(
                    FindingKind::KeyUnusable,
                    format!("the private key cannot be used for TLS: {why}"),
                    "re-export the key as PKCS#8 (`openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`); an RSA key needs at least 2048 bits",
                ));
                None
            }
        },
    };
    let leaf_index = match &key_spki {
        Some(spki) => {
            let found = parsed
                .iter()
                .position(|p| p.cert.tbs_certificate.subject_pki.raw == spki.as_slice());
            if found.is_none() {
                findings.push(Finding::new(
                    FindingKind::KeyMismatch,
                    format!(
                        "the private key does not match the certificate {} (nor any other in the file)",
                        parsed[0].subject()
                    ),
                    "give the key the certificate was issued for (compare `openssl x509 -noout -pubkey -in CERT` with `openssl pkey -pubout -in KEY`)",
                ));
            }
            found.unwrap_or(0)
        }
        None => {
            if cred.key.is_none() {
                notes.push(
                    "not checked: the key (none given: pass --key, or a file with both)"
                        .to_string(),
                );
            }
            // The certificate no other in the file names as its issuer.
            (0..parsed.len())
                .find(|&i| {
                    !parsed
                        .iter()
                        .any(|p| parsed[i].issued(p) && !p.self_signed())
                })
                .unwrap_or(0)
        }
    };
    let leaf = &parsed[leaf_index];
    validity(&parsed, leaf_index, inputs, &mut findings);
    eku(leaf, &mut findings);
    order(&parsed, leaf_index, &mut findings);
    completeness(&parsed, leaf_index, inputs, &mut findings, &mut notes);
    revocation(&parsed, inputs, &mut findings, &mut notes);
    Checked {
        findings,
        notes,
        leaf: leaf_index,
    }
}

fn validity(
    parsed: &[Parsed<'_>],
    leaf_index: usize,
    inputs: &CheckInputs,
    findings: &mut Vec<Finding>,
) {
    let now = inputs.now.unwrap_or_else(time::OffsetDateTime::now_utc);
    let ts = now.unix_timestamp();
    for (i, p) in parsed.iter().enumerate() {
        let v = p.cert.validity();
        let who = if i == leaf_index {
            "the certificate".to_string()
        } else {
            format!("the chain's certificate {}", p.subject())
        };
        if v.not_after.timestamp() < ts {
            use crate::real::credential_grid::{stacks_with, Class, Variant};
            findings.push(Finding::new(
                FindingKind::Expired,
                format!(
                    "{who} expired on {} ({}); measured: {} do not offer it, {} send it and are refused",
                    v.not_after,
                    p.subject(),
                    stacks_with(Variant::Expired, Class::NoneSent).join(", "),
                    stacks_with(Variant::Expired, Class::SentRefused).join(", ")
                ),
                "have the CA issue a new certificate; servers refuse it (certificate_expired, nginx 400, IIS 403.17) and Windows stores hide it from selection",
            ));
        } else if v.not_before.timestamp() > ts {
            findings.push(Finding::new(
                FindingKind::NotYetValid,
                format!(
                    "{who} is not valid before {} ({})",
                    v.not_before,
                    p.subject()
                ),
                "wait until it is valid, or check the clocks of the issuing CA and of this machine",
            ));
        }
    }
}

fn eku(leaf: &Parsed<'_>, findings: &mut Vec<Finding>) {
    if let Ok(Some(ext)) = leaf.cert.extended_key_usage() {
        if !ext.value.client_auth && !ext.value.any {
            use crate::real::credential_grid::{stacks_with, Class, Variant};
            findings.push(Finding::new(
                FindingKind::NoClientAuthEku,
                format!(
                    "the certificate's extended key usage lacks clientAuth ({}); measured: {} do not offer it, {} send it and are refused",
                    leaf.subject(),
                    stacks_with(Variant::NoClientAuthEku, Class::NoneSent).join(", "),
                    stacks_with(Variant::NoClientAuthEku, Class::SentRefused).join(", ")
                ),
                "have it reissued with extendedKeyUsage = clientAuth; servers refuse it (unsupported_certificate) and browsers do not offer it",
            ));
        }
    }
}

fn order(parsed: &[Parsed<'_>], leaf_index: usize, findings: &mut Vec<Finding>) {
    if leaf_index != 0 {
        findings.push(Finding::new(
            FindingKind::ChainOutOfOrder,
            format!(
                "the file starts with {}, not with the key's certificate {}: clients take the first certificate as theirs",
                parsed[0].subject(),
                parsed[leaf_index].subject()
            ),
            "put the certificate first, then each issuer in turn (leaf, intermediate, ...)",
        ));
        return;
    }
    for i in 1..parsed.len() {
        if !parsed[i].issued(&parsed[i - 1]) && !parsed[i - 1].self_signed() {
            findings.push(Finding::new(
                FindingKind::ChainOutOfOrder,
                format!(
                    "certificate {} of the file ({}) is not the issuer of certificate {} ({})",
                    i + 1,
                    parsed[i].subject(),
                    i,
                    parsed[i - 1].subject()
                ),
                "order the file leaf first, then each issuer in turn; leave out certificates of other chains",
            ));
            return;
        }
    }
}

/// The top of the chain the file holds from the leaf up, and whether the
/// issuer above it is missing from the file.
fn completeness(
    parsed: &[Parsed<'_>],
    leaf_index: usize,
    inputs: &CheckInputs,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let mut top = leaf_index;
    let mut seen = vec![leaf_index];
    while !parsed[top].self_signed() {
        match (0..parsed.len()).find(|&j| !seen.contains(&j) && parsed[j].issued(&parsed[top])) {
            Some(j) => {
                seen.push(j);
                top = j;
            }
            None => break,
        }
    }
    if parsed[top].self_signed() {
        return;
    }
    let wanted = parsed[top].cert.issuer().as_raw();
    let issuer = inputs.issuers.iter().find_map(|der| {
        X509Certificate::from_der(der)
            .ok()
            .map(|(_, c)| c)
            .filter(|c| c.subject().as_raw() == wanted)
    });
    match issuer {
        Some(issuer) if issuer.subject().as_raw() != issuer.issuer().as_raw() => {
            findings.push(Finding::new(
                FindingKind::ChainIncomplete,
                format!(
                    "the chain is incomplete: {} is issued by the intermediate {}, which is not in the file, so clients that send only what they hold send a chain the server cannot complete",
                    parsed[top].subject(),
                    issuer.subject()
                ),
                "append the intermediate to the certificate file (`cat CERT INTERMEDIATE > CHAIN`), or to the PKCS#12 file (`openssl pkcs12 -export -in CERT -inkey KEY -certfile INTERMEDIATE`)",
            ));
        }
        Some(_) => {}
        None => notes.push(format!(
            "not checked: whether {} (the issuer of {}) is a root the server trusts or an intermediate missing from the file (give --ca FILE, or --target)",
            parsed[top].issuer(),
            parsed[top].subject()
        )),
    }
}

fn revocation(
    parsed: &[Parsed<'_>],
    inputs: &CheckInputs,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    for (path, der) in &inputs.crls {
        let Ok((_, crl)) = x509_parser::parse_x509_crl(der) else {
            notes.push(format!("{}: not a CRL, not used", path.display()));
            continue;
        };
        let mut applies = false;
        for p in parsed {
            if crl.issuer().as_raw() != p.cert.issuer().as_raw() {
                continue;
            }
            applies = true;
            let serial = p.cert.raw_serial();
            if crl
                .iter_revoked_certificates()
                .any(|r| r.raw_serial() == serial)
            {
                findings.push(Finding::new(
                    FindingKind::Revoked,
                    format!(
                        "{} (serial {}) is revoked by {} ({})",
                        p.subject(),
                        p.cert.raw_serial_as_string(),
                        crl.issuer(),
                        path.display()
                    ),
                    "have the CA issue a new certificate and key; a revoked one is refused (certificate_revoked, nginx 400, IIS 403.13)",
                ));
            }
        }
        if !applies {
            notes.push(format!(
                "{}: this CRL's issuer {} issued none of the file's certificates",
                path.display(),
                crl.issuer()
            ));
        }
    }
}

/// Certificates in PEM files beside `cert_file` (`*.crt`, `*.pem`, at most
/// 200 files of at most 1 MiB): where `pki generate` and most CAs put the
/// issuers, read to tell a missing intermediate from a root.
pub fn certificates_beside(cert_file: &Path) -> Vec<CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject;
    let dir = match cert_file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten().take(200) {
        let path = entry.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "crt" || e == "pem");
        let small = entry
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() <= 1 << 20);
        if !wanted || !small || path == cert_file {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        out.extend(CertificateDer::pem_slice_iter(&bytes).flatten());
    }
    out
}
