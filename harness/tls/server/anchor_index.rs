//! Trust anchors looked up by subject. rustls-webpki walks the whole anchor
//! list for every certificate it chains (a subject comparison per anchor):
//! with 10,000 anchors that scan is a fifth of a handshake's CPU. Only the
//! anchors whose subject is the issuer of a certificate the client sent can
//! end a path, so verifying against exactly those, in their original
//! order, gives webpki's answer for the whole store at the cost of a small
//! one. The small verifiers are built once per set of anchors and kept.

use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor, UnixTime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// From this many anchors on, the index pays for itself.
pub(crate) const INDEX_FROM: usize = 32;

/// Verifiers for distinct anchor sets kept at most (a gateway sees few
/// issuers; past this, the whole-store verifier answers).
const MAX_CACHED: usize = 256;

#[derive(Debug)]
pub(crate) struct AnchorIndex {
    anchors: Vec<TrustAnchor<'static>>,
    by_subject: HashMap<Vec<u8>, Vec<usize>>,
    crls: Vec<CertificateRevocationListDer<'static>>,
    allow_unauthenticated: bool,
    cache: Mutex<HashMap<Vec<usize>, Arc<dyn ClientCertVerifier>>>,
}

impl AnchorIndex {
    pub(crate) fn new(
        anchors: &[TrustAnchor<'static>],
        crls: &[CertificateRevocationListDer<'static>],
        allow_unauthenticated: bool,
    ) -> Self {
        let mut by_subject: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (i, ta) in anchors.iter().enumerate() {
            by_subject
                .entry(ta.subject.as_ref().to_vec())
                .or_default()
                .push(i);
        }
        AnchorIndex {
            anchors: anchors.to_vec(),
            by_subject,
            crls: crls.to_vec(),
            allow_unauthenticated,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The verifier for the anchors that can end a path for this chain;
    /// `None`: no anchor can (the whole-store verifier words the refusal)
    /// or the cache is full.
    fn verifier_for(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Option<Arc<dyn ClientCertVerifier>> {
        let mut picked: Vec<usize> = Vec::new();
        for cert in std::iter::once(end_entity).chain(intermediates) {
            if let Some(found) = issuer_of(cert.as_ref()).and_then(|i| self.by_subject.get(i)) {
                picked.extend(found);
            }
        }
        if picked.is_empty() {
            return None;
        }
        picked.sort_unstable();
        picked.dedup();
        let mut cache = self.cache.lock().expect("anchor index lock");
        if let Some(v) = cache.get(&picked) {
            return Some(v.clone());
        }
        if cache.len() >= MAX_CACHED {
            return None;
        }
        let roots = rustls::RootCertStore {
            roots: picked.iter().map(|&i| self.anchors[i].clone()).collect(),
        };
        let mut builder = WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(crate::tls::provider()),
        );
        if !self.crls.is_empty() {
            builder = builder.with_crls(self.crls.iter().cloned());
        }
        if self.allow_unauthenticated {
            builder = builder.allow_unauthenticated();
        }
        let v = builder.build().ok()?;
        cache.insert(picked, v.clone());
        Some(v)
    }

    /// webpki's answer for the whole store, or `None` when `whole` must give it.
    pub(crate) fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<Result<ClientCertVerified, rustls::Error>> {
        let v = self.verifier_for(end_entity, intermediates)?;
        Some(v.verify_client_cert(end_entity, intermediates, now))
    }
}

/// One DER element at the start of `input`: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The contents of a certificate's issuer Name (what webpki compares with
/// an anchor's subject), found without parsing the rest.
pub(crate) fn issuer_of(cert: &[u8]) -> Option<&[u8]> {
    let (0x30, body, _) = tlv(cert)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(body)? else {
        return None;
    };
    let (tag, _, mut rest) = tlv(tbs)?;
    if tag == 0xa0 {
        // [0] version, then the serial number.
        let (0x02, _, after) = tlv(rest)? else {
            return None;
        };
        rest = after;
    } else if tag != 0x02 {
        return None;
    }
    let (0x30, _, rest) = tlv(rest)? else {
        return None;
    };
    let (0x30, issuer, _) = tlv(rest)? else {
        return None;
    };
    Some(issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_found_as_webpki_sees_it() {
        let spec: crate::pki::PkiSpec = toml::from_str(
            "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[cert]]\nname = \"leaf\"\nrole = \"client\"\nissuer = \"root\"\n",
        )
        .unwrap();
        let pki = crate::pki::Pki::generate(&spec).unwrap();
        let root = pki.cert("root").unwrap();
        let leaf = pki.cert("leaf").unwrap();
        let ta = webpki::anchor_from_trusted_cert(&root.der).unwrap();
        assert_eq!(issuer_of(leaf.der.as_ref()), Some(ta.subject.as_ref()));
        assert_eq!(issuer_of(b"\x30\x03\x02\x01"), None);
        assert_eq!(issuer_of(b""), None);
    }

    #[test]
    fn the_index_answers_as_the_whole_store_does() {
        let spec: crate::pki::PkiSpec = toml::from_str(
            r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "other"
role = "root"
[[cert]]
name = "sub"
role = "intermediate"
issuer = "root"
[[cert]]
name = "good"
role = "client"
issuer = "sub"
[[cert]]
name = "expired"
role = "client"
issuer = "root"
validity = "expired"
[[cert]]
name = "stranger"
role = "client"
issuer = "other"
[[bulk]]
prefix = "filler"
role = "root"
count = 40
"#,
        )
        .unwrap();
        let pki = crate::pki::Pki::generate(&spec).unwrap();
        let mut anchors: Vec<TrustAnchor<'static>> = pki
            .resolve(&["filler-*".to_string()])
            .unwrap()
            .iter()
            .map(|c| webpki::anchor_from_trusted_cert(&c.der).unwrap().to_owned())
            .collect();
        anchors.push(
            webpki::anchor_from_trusted_cert(&pki.cert("root").unwrap().der)
                .unwrap()
                .to_owned(),
        );
        assert!(anchors.len() >= INDEX_FROM);
        let whole = WebPkiClientVerifier::builder_with_provider(
            Arc::new(rustls::RootCertStore {
                roots: anchors.clone(),
            }),
            Arc::new(crate::tls::provider()),
        )
        .build()
        .unwrap();
        let index = AnchorIndex::new(&anchors, &[], false);
        let now = UnixTime::now();
        for name in ["good", "expired", "stranger"] {
            let chain = pki.cert(name).unwrap().chain_with_leaf();
            let want = whole
                .verify_client_cert(&chain[0], &chain[1..], now)
                .map(|_| ());
            let got = match index.verify(&chain[0], &chain[1..], now) {
                Some(r) => r.map(|_| ()),
                // No anchor can end the path: the whole store answers.
                None => {
                    assert_eq!(name, "stranger");
                    whole
                        .verify_client_cert(&chain[0], &chain[1..], now)
                        .map(|_| ())
                }
            };
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name}");
        }
        assert!(index
            .verify(&pki.cert("good").unwrap().chain_with_leaf()[0], &[], now)
            .is_none_or(|r| r.is_err()));
    }
}
