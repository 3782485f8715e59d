//! The load generator's client: the same wallet, roots and versions as a
//! [`ClientSpec`], without what only an observation needs. Per handshake it
//! formats no DN and records nothing (the scenario client turns every CA
//! name into a string for the observation); `match-issuer` compares the
//! names as bytes. Resumption is off, so every handshake is a full one.

use super::client::ClientSpec;
use super::TlsError;
use crate::knobs::SelectionPolicy as Selection;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use std::sync::Arc;

/// Which wallet entry a handshake sends, decided without allocating.
#[derive(Debug)]
struct LeanResolver {
    /// (issuers of its chain, key), in wallet order.
    wallet: Vec<(Vec<Vec<u8>>, Arc<CertifiedKey>)>,
    selection: Selection,
}

impl ResolvesClientCert for LeanResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let first = || self.wallet.first().map(|(_, k)| k.clone());
        let last = || self.wallet.last().map(|(_, k)| k.clone());
        let matching = || {
            self.wallet
                .iter()
                .find(|(issuers, _)| {
                    issuers
                        .iter()
                        .any(|i| root_hint_subjects.contains(&i.as_slice()))
                })
                .map(|(_, k)| k.clone())
        };
        match self.selection {
            Selection::Never => None,
            Selection::Always => first(),
            Selection::AlwaysLast => last(),
            Selection::MatchIssuerOrAnyIfEmpty if root_hint_subjects.is_empty() => first(),
            Selection::MatchIssuerOrLastIfEmpty if root_hint_subjects.is_empty() => last(),
            Selection::GnutlsDefault if root_hint_subjects.is_empty() => {
                if self.wallet.len() == 1 {
                    first()
                } else {
                    None
                }
            }
            // The server's names in its order, then the wallet's.
            Selection::GnutlsDefault => root_hint_subjects.iter().find_map(|h| {
                self.wallet
                    .iter()
                    .find(|(issuers, _)| issuers.iter().any(|i| i.as_slice() == *h))
                    .map(|(_, k)| k.clone())
            }),
            // Refused in `load_config`: nobody answers a picker under load.
            Selection::Prompt => None,
            Selection::MatchIssuer
            | Selection::MatchIssuerOrAnyIfEmpty
            | Selection::MatchIssuerOrLastIfEmpty => matching(),
        }
    }

    fn has_certs(&self) -> bool {
        !self.wallet.is_empty()
    }
}

impl ClientSpec {
    /// The rustls configuration the load generator uses: this client's
    /// wallet, selection policy, server roots and versions, with the lean
    /// resolver and no resumption.
    pub fn load_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        if self.selection == Selection::Prompt {
            return Err(TlsError::Unmodelled(
                "the load generator does not model a person at a certificate picker (`prompt`)",
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for r in &self.server_roots {
            roots.add(r.clone()).map_err(|source| TlsError::Config {
                what: "server trust root",
                source,
            })?;
        }
        let resolver = Arc::new(LeanResolver {
            wallet: self
                .wallet
                .iter()
                .map(|w| (w.issuers.clone(), w.key.clone()))
                .collect(),
            selection: self.selection,
        });
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(browser_order()))
            .with_protocol_versions(&super::rustls_versions(&self.versions))
            .map_err(|source| TlsError::Config {
                what: "client TLS versions",
                source,
            })?;
        let builder = if self.accept_any_server_cert {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(super::client::AnyServerCert))
        } else {
            builder.with_root_certificates(roots)
        };
        let mut config = builder.with_client_cert_resolver(resolver);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Arc::new(config))
    }
}

/// ring with the cipher suites in the order browsers offer them (Chrome
/// and Firefox: AES-128-GCM first). rustls offers AES-256-GCM-SHA384
/// first, and a server that follows the client's order (rustls, nginx and
/// HAProxy by default) then hashes the transcript with SHA-384, which ring
/// computes without the SHA extensions this kind of CPU has for SHA-256:
/// a 8 KB CA-name list cost 9% more per handshake in memory than 19 bytes.
fn browser_order() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::cipher_suite as cs;
    let mut provider = super::provider();
    provider.cipher_suites = vec![
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    provider
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(selection: Selection) -> LeanResolver {
        let key = Arc::new(CertifiedKey::new(
            vec![],
            rustls::crypto::ring::sign::any_supported_type(
                &rustls_pki_types::PrivateKeyDer::Pkcs8(
                    rcgen::KeyPair::generate().unwrap().serialize_der().into(),
                ),
            )
            .unwrap(),
        ));
        LeanResolver {
            wallet: vec![(vec![b"issuer-a".to_vec()], key)],
            selection,
        }
    }

    #[test]
    fn the_lean_resolver_follows_the_selection_policy() {
        let (a, b): (&[u8], &[u8]) = (b"issuer-a", b"issuer-b");
        assert!(resolver(Selection::Always).resolve(&[b], &[]).is_some());
        assert!(resolver(Selection::Never).resolve(&[a], &[]).is_none());
        assert!(resolver(Selection::MatchIssuer)
            .resolve(&[b, a], &[])
            .is_some());
        assert!(resolver(Selection::MatchIssuer)
            .resolve(&[b], &[])
            .is_none());
        assert!(resolver(Selection::MatchIssuer).resolve(&[], &[]).is_none());
        let any = resolver(Selection::MatchIssuerOrAnyIfEmpty);
        assert!(any.resolve(&[], &[]).is_some());
        assert!(any.resolve(&[b], &[]).is_none());
    }

    #[test]
    fn gnutls_default_sends_one_identity_on_an_empty_list_and_tries_names_in_the_servers_order() {
        let (a, b): (&[u8], &[u8]) = (b"issuer-a", b"issuer-b");
        let one = resolver(Selection::GnutlsDefault);
        assert!(one.resolve(&[], &[]).is_some());
        assert!(one.resolve(&[b], &[]).is_none());
        // Two identities: bob (issuer-b) first in the wallet, alice (issuer-a).
        let mut two = resolver(Selection::GnutlsDefault);
        let alice = two.wallet[0].1.clone();
        let bob = resolver(Selection::Always).wallet.remove(0).1;
        two.wallet = vec![
            (vec![b.to_vec()], bob.clone()),
            (vec![a.to_vec()], alice.clone()),
        ];
        assert!(two.resolve(&[], &[]).is_none(), "two identities, no names");
        let sent = two.resolve(&[a, b], &[]).expect("a match");
        assert!(Arc::ptr_eq(&sent, &alice), "the server's first name wins");
        let sent = two.resolve(&[b, a], &[]).expect("a match");
        assert!(Arc::ptr_eq(&sent, &bob));
    }
}
