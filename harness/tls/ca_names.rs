//! The acceptable-CA list of a CertificateRequest: which names go in, how big
//! the encoded list is, and whether it can be sent at all.
//!
//! rustls encodes the list with a `debug_assert!(len <= 0xffff)` and, in
//! release builds, a wrapping u16: the list is measured here first and never
//! handed to rustls when it does not fit (see [`AcceptableCaList::fits`]).

use crate::knobs::CaNamesPolicy;
use crate::observation::{CaNamesSeen, TlsVersion};
use crate::pki::{IssuedCert, Pki};
use rustls::DistinguishedName;

/// The ring provider's client-signature schemes, as sent in the
/// CertificateRequest's signature_algorithms.
const SIGNATURE_SCHEMES: usize = 9;

/// A list of CA names, in the order they are sent.
#[derive(Debug, Clone, Default)]
pub struct AcceptableCaList {
    /// DER of each Name (a full SEQUENCE), as it goes on the wire.
    pub names: Vec<Vec<u8>>,
    /// Readable subjects, same order.
    pub subjects: Vec<String>,
    /// Names were dropped to fit a byte budget.
    pub truncated: bool,
    /// How many trusted names the policy started from.
    pub candidates: usize,
}

impl AcceptableCaList {
    /// Encoded size on the wire: each name is a u16 length plus its DER.
    pub fn encoded_bytes(&self) -> usize {
        self.names.iter().map(|n| 2 + n.len()).sum()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether a server can encode this list for `version`. TLS 1.2 carries it
    /// in `certificate_authorities<0..2^16-1>`; TLS 1.3 in an extension whose
    /// data and whole extensions block are u16-length too, next to the
    /// signature_algorithms extension.
    pub fn fits(&self, version: TlsVersion) -> bool {
        self.encoded_bytes() <= max_encodable_bytes(version)
    }

    pub fn rustls_names(&self) -> Vec<DistinguishedName> {
        self.names
            .iter()
            .map(|n| DistinguishedName::from(n.clone()))
            .collect()
    }

    pub fn seen(&self) -> CaNamesSeen {
        CaNamesSeen {
            count: self.names.len(),
            encoded_bytes: self.encoded_bytes(),
            truncated: self.truncated,
            subjects: self.subjects.clone(),
        }
    }

    /// Build the list a policy asks for from the server's trusted CAs.
    pub fn from_policy(
        policy: &CaNamesPolicy,
        trusted: &[&IssuedCert],
        pki: &Pki,
    ) -> Result<Self, crate::tls::TlsError> {
        let all = || AcceptableCaList {
            names: trusted.iter().map(|c| c.subject_der.clone()).collect(),
            subjects: trusted.iter().map(|c| c.subject.clone()).collect(),
            truncated: false,
            candidates: trusted.len(),
        };
        Ok(match policy {
            CaNamesPolicy::AllTrusted => all(),
            CaNamesPolicy::Flagged => {
                let flagged: Vec<&&IssuedCert> =
                    trusted.iter().filter(|c| c.signs_client_certs).collect();
                AcceptableCaList {
                    names: flagged.iter().map(|c| c.subject_der.clone()).collect(),
                    subjects: flagged.iter().map(|c| c.subject.clone()).collect(),
                    truncated: false,
                    candidates: trusted.len(),
                }
            }
            CaNamesPolicy::Empty => AcceptableCaList {
                candidates: trusted.len(),
                ..Default::default()
            },
            CaNamesPolicy::Explicit(names) => {
                let certs = pki
                    .resolve(names)
                    .map_err(|source| crate::tls::TlsError::Pki {
                        field: "ca_names explicit",
                        source: Box::new(source),
                    })?;
                AcceptableCaList {
                    names: certs.iter().map(|c| c.subject_der.clone()).collect(),
                    subjects: certs.iter().map(|c| c.subject.clone()).collect(),
                    truncated: false,
                    candidates: trusted.len(),
                }
            }
            CaNamesPolicy::TruncateBytes(budget) => {
                let mut list = all();
                list.truncate_to(*budget);
                list
            }
            CaNamesPolicy::ExtraFiller(n) => {
                let mut list = all();
                for i in 1..=*n {
                    let (der, subject) = filler_name(i, DEFAULT_FILLER_CN_LEN);
                    list.names.push(der);
                    list.subjects.push(subject);
                }
                list
            }
            CaNamesPolicy::FillToBytes(target) => {
                let mut list = all();
                list.fill_to(*target);
                list
            }
        })
    }

    /// Keep whole names, in order, while the encoded list stays within
    /// `budget` bytes (what Windows does with its 16 KB trusted-issuer list).
    pub fn truncate_to(&mut self, budget: usize) {
        let mut used = 0;
        let mut keep = 0;
        for n in &self.names {
            if used + 2 + n.len() > budget {
                break;
            }
            used += 2 + n.len();
            keep += 1;
        }
        if keep < self.names.len() {
            self.names.truncate(keep);
            self.subjects.truncate(keep);
            self.truncated = true;
        }
    }

    /// Append filler names until the encoded list is exactly `target` bytes
    /// (or as close as a minimal name allows).
    pub fn fill_to(&mut self, target: usize) {
        let mut i = 1;
        while self.encoded_bytes() < target {
            let remaining = target - self.encoded_bytes();
            // A name of about 110 bytes, or the exact remainder for the last one.
            let want = if remaining >= 2 * FILLER_ENTRY_BYTES {
                FILLER_ENTRY_BYTES
            } else {
                remaining
            };
            let (der, subject) = filler_name_with_entry_bytes(i, want);
            self.names.push(der);
            self.subjects.push(subject);
            i += 1;
        }
    }
}

/// Largest encoded list a server can put in its CertificateRequest.
pub fn max_encodable_bytes(version: TlsVersion) -> usize {
    match version {
        TlsVersion::Tls12 => 0xffff,
        // extensions<0..2^16-1> holds signature_algorithms (4 + 2 + 2n bytes)
        // and certificate_authorities (4-byte header, 2-byte list length).
        TlsVersion::Tls13 => 0xffff - (4 + 2 + 2 * SIGNATURE_SCHEMES) - (4 + 2),
    }
}

const DEFAULT_FILLER_CN_LEN: usize = 64;
const FILLER_ENTRY_BYTES: usize = 110;

/// DER of `CN=<cn>` (a Name with one UTF8String CommonName).
fn cn_name_der(cn: &str) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_set(|w| {
                w.next().write_sequence(|w| {
                    w.next()
                        .write_oid(&yasna::models::ObjectIdentifier::from_slice(&[2, 5, 4, 3]));
                    w.next().write_utf8_string(cn);
                })
            })
        })
    })
}

fn filler_cn(i: usize, len: usize) -> String {
    let mut cn = format!("mtls-harness filler CA {i:05} ");
    while cn.len() < len {
        cn.push('x');
    }
    cn.truncate(len.max(1));
    cn
}

/// A filler name whose CN is `cn_len` bytes.
pub fn filler_name(i: usize, cn_len: usize) -> (Vec<u8>, String) {
    let cn = filler_cn(i, cn_len);
    (cn_name_der(&cn), format!("CN={cn}"))
}

/// A filler name whose list entry (2 + DER) is `entry` bytes where possible.
fn filler_name_with_entry_bytes(i: usize, entry: usize) -> (Vec<u8>, String) {
    let mut cn_len = entry.saturating_sub(15).max(1);
    // DER length headers grow at 128 and 256 bytes: adjust until it fits.
    for _ in 0..8 {
        let (der, subject) = filler_name(i, cn_len);
        let got = 2 + der.len();
        if got == entry || (got > entry && cn_len == 1) {
            return (der, subject);
        }
        if got > entry {
            cn_len -= (got - entry).min(cn_len - 1);
        } else {
            cn_len += entry - got;
        }
    }
    filler_name(i, cn_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_of(sizes: &[usize]) -> AcceptableCaList {
        let mut l = AcceptableCaList::default();
        for (i, s) in sizes.iter().enumerate() {
            let (der, subj) = filler_name_with_entry_bytes(i, *s);
            l.names.push(der);
            l.subjects.push(subj);
        }
        l
    }

    #[test]
    fn filler_entries_have_the_requested_size() {
        for want in [20, 100, 110, 127, 128, 129, 200, 300, 1000] {
            let (der, _) = filler_name_with_entry_bytes(1, want);
            assert_eq!(2 + der.len(), want, "entry of {want} bytes");
        }
    }

    #[test]
    fn truncation_keeps_whole_names_within_budget() {
        let mut l = list_of(&[100, 100, 100]);
        l.truncate_to(250);
        assert_eq!(l.len(), 2);
        assert!(l.truncated);
        assert_eq!(l.encoded_bytes(), 200);
        let mut l = list_of(&[100, 100]);
        l.truncate_to(200);
        assert!(!l.truncated);
    }

    #[test]
    fn fill_to_hits_the_exact_target() {
        for target in [16_384, 65_520, 65_535, 66_000] {
            let mut l = list_of(&[120]);
            l.fill_to(target);
            assert_eq!(l.encoded_bytes(), target);
        }
    }

    #[test]
    fn limits_differ_per_version() {
        let mut l = AcceptableCaList::default();
        l.fill_to(65_510);
        assert!(l.fits(TlsVersion::Tls12));
        assert!(!l.fits(TlsVersion::Tls13));
        l.fill_to(65_536);
        assert!(!l.fits(TlsVersion::Tls12));
    }
}
