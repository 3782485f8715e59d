//! The verifier stage: the CertificateRequest (which CA names, whether a
//! certificate is mandatory) and, per the policy's [`Enforcement`], chain
//! verification in the handshake by rustls's or OpenSSL's rules, or none
//! (deferred to the HTTP stage).

use super::GatewayConfig;
use crate::knobs::{CaNamesOverflow, Resumption};
use crate::observation::TlsVersion;
use crate::tls::error::TlsError;
use crate::tls::policy::{CaListSize, ClientAuthPolicy, Enforcement, OversizedCaList};
use crate::tls::provider;
use crate::tls::verify::{Rules, TrustStore};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::sync::Arc;

/// The client-certificate verifier every profile uses: it sends the chosen
/// CA names and, per the profile, verifies in the handshake or defers.
#[derive(Debug)]
pub(crate) struct GatewayVerifier {
    /// Whose alerts to send (None: OpenSSL's own).
    policy: Option<Arc<dyn ClientAuthPolicy>>,
    names: Vec<DistinguishedName>,
    offer: bool,
    mandatory: bool,
    mode: VerifyMode,
    trust: TrustStore,
    /// A leaf's issuer must be one of these (lighttpd's ssl.ca-dn-file).
    named_issuers: Option<Vec<Vec<u8>>>,
    schemes: Vec<SignatureScheme>,
}

impl GatewayVerifier {
    /// Asks for a certificate (when `offer`), names no CA, accepts whatever
    /// comes: a TLS offloader that passes the certificate on, not judging it.
    pub(crate) fn accept_any(offer: bool) -> Self {
        GatewayVerifier {
            policy: None,
            names: Vec::new(),
            offer,
            mandatory: false,
            mode: VerifyMode::Deferred,
            trust: TrustStore::new(&[], &[]).expect("an empty store is valid"),
            named_issuers: None,
            schemes: provider()
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

impl GatewayVerifier {
    /// A CertificateVerify that does not verify, as the profile's gateway
    /// answers it: rustls sends handshake_failure for an error that is not
    /// about the certificate (JSSE), decrypt_error otherwise.
    fn signature_error(&self, e: rustls::Error) -> rustls::Error {
        match self.policy.as_ref().and_then(|p| p.bad_signature_alert()) {
            Some(rustls::AlertDescription::HandshakeFailure) => {
                rustls::Error::General(format!("CertificateVerify does not verify: {e}"))
            }
            _ => e,
        }
    }
}

#[derive(Debug)]
enum VerifyMode {
    /// rustls's WebPkiClientVerifier decides (and its error sets the alert);
    /// with many anchors, first through the anchors that can end the path.
    Rustls(
        Arc<dyn ClientCertVerifier>,
        Option<Box<super::anchor_index::AnchorIndex>>,
    ),
    /// The harness's verification by these rules (OpenSSL's or Go's), with
    /// the profile's alerts.
    Rules(Rules),
    /// Accept any chain; the profile judges after the handshake.
    Deferred,
}

impl ClientCertVerifier for GatewayVerifier {
    fn offer_client_auth(&self) -> bool {
        self.offer
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.names
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match &self.mode {
            VerifyMode::Rustls(inner, index) => index
                .as_ref()
                .and_then(|i| i.verify(end_entity, intermediates, now))
                .unwrap_or_else(|| inner.verify_client_cert(end_entity, intermediates, now)),
            VerifyMode::Rules(rules) => {
                let chain: Vec<CertificateDer<'_>> = std::iter::once(end_entity.clone())
                    .chain(intermediates.iter().cloned())
                    .collect();
                self.trust
                    .verify_client_chain(&chain, *rules)
                    .and_then(|()| match &self.named_issuers {
                        Some(issuers) => crate::tls::verify::check_named_issuer(&chain, issuers),
                        None => Ok(()),
                    })
                    .map(|()| ClientCertVerified::assertion())
                    .map_err(|f| {
                        let alert = match &self.policy {
                            Some(p) => p.verify_alert(&f),
                            None => f.openssl_alert(),
                        };
                        f.as_rustls_error_for_alert(alert)
                    })
            }
            VerifyMode::Deferred => Ok(ClientCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
        .map_err(|e| self.signature_error(e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
        .map_err(|e| self.signature_error(e))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// The rustls side of a gateway, without sockets (benchmarks drive it in
/// memory).
pub struct GatewayTls {
    pub config: Arc<rustls::ServerConfig>,
    /// The CA list does not fit a CertificateRequest: the gateway aborts
    /// with internal_error instead of handing it to rustls.
    pub oversized: bool,
    /// Rewrite TLS 1.2 certificate_required to handshake_failure (OpenSSL).
    pub rewrite_tls12_alert: bool,
    /// The alert a missing mandatory certificate gets where the profile
    /// has its own ([`ClientAuthPolicy::missing_cert_alert`]): on TLS 1.2
    /// rewritten on the wire, on TLS 1.3 sent after the handshake (which
    /// rustls then completes without a certificate).
    pub missing_cert_alert: Option<rustls::AlertDescription>,
    /// TLS 1.3 connections without a certificate get `missing_cert_alert`
    /// after the handshake.
    pub missing_cert_after_handshake: bool,
    /// The profile asks for the certificate after the request.
    pub post_handshake: bool,
    /// The CA names did not fit; the CertificateRequest names none
    /// ([`OversizedCaList::Omit`]).
    pub names_omitted: bool,
}

/// Build the rustls server configuration a gateway uses.
pub fn gateway_tls(config: &GatewayConfig) -> Result<GatewayTls, TlsError> {
    let policy = &config.policy;
    let offer = policy.asks();
    let enforcement = policy.enforcement();
    let (mode, mandatory, openssl_alerts) = match enforcement {
        Enforcement::Handshake {
            rules: Rules::Webpki,
            cert_mandatory,
            ..
        } => {
            let roots = Arc::new(config.trust.root_store());
            let mut builder =
                WebPkiClientVerifier::builder_with_provider(roots, Arc::new(provider()));
            if config.trust.has_crls() {
                builder = builder.with_crls(config.trust.crl_ders().iter().cloned());
            }
            if !cert_mandatory {
                builder = builder.allow_unauthenticated();
            }
            let inner = builder.build()?;
            let anchors = config.trust.anchors();
            let index = (anchors.len() >= super::anchor_index::INDEX_FROM).then(|| {
                Box::new(super::anchor_index::AnchorIndex::new(
                    anchors,
                    config.trust.crl_ders(),
                    !cert_mandatory,
                ))
            });
            (VerifyMode::Rustls(inner, index), cert_mandatory, false)
        }
        Enforcement::Handshake {
            rules,
            cert_mandatory,
            openssl_alerts,
        } => (VerifyMode::Rules(rules), cert_mandatory, openssl_alerts),
        Enforcement::RequireAny { .. } => (VerifyMode::Deferred, true, false),
        Enforcement::Http { .. } | Enforcement::PostHandshake => {
            (VerifyMode::Deferred, false, false)
        }
    };
    let missing_cert_alert = policy.missing_cert_alert().filter(|_| mandatory && offer);
    // rustls sends certificate_required, encrypted, on TLS 1.3: to send
    // another alert there, let the handshake complete and send it after.
    let missing_cert_after_handshake =
        missing_cert_alert.is_some() && config.versions.contains(&TlsVersion::Tls13);
    let mandatory = mandatory && !missing_cert_after_handshake;
    // Asked only after the request: no CertificateRequest in the handshake.
    let post_handshake = offer && enforcement == Enforcement::PostHandshake;
    let too_big: Vec<TlsVersion> = config
        .versions
        .iter()
        .copied()
        .filter(|v| offer && !config.ca_list.fits(*v))
        .collect();
    let size = CaListSize {
        count: config.ca_list.len(),
        encoded_bytes: config.ca_list.encoded_bytes(),
    };
    let overflow = |v: TlsVersion| match config.ca_names_overflow {
        CaNamesOverflow::Gateway => policy.oversized_ca_list(v, size),
        CaNamesOverflow::SendWrapped => OversizedCaList::SendWrapped,
    };
    let mut omit_names = false;
    let mut send_wrapped = false;
    for v in &too_big {
        match overflow(*v) {
            OversizedCaList::Abort => {}
            OversizedCaList::Omit => omit_names = true,
            OversizedCaList::SendWrapped => send_wrapped = true,
            OversizedCaList::Unmodelled(why) => return Err(TlsError::Unmodelled(why)),
        }
    }
    if send_wrapped {
        super::wrapped::ensure_rustls_wraps()?;
    }
    // Omitted (or sent) only when every version that cannot carry the list
    // does so.
    let omit_names = omit_names
        && too_big
            .iter()
            .all(|v| overflow(*v) == OversizedCaList::Omit);
    let send_wrapped = send_wrapped
        && too_big
            .iter()
            .all(|v| overflow(*v) == OversizedCaList::SendWrapped);
    let oversized = !too_big.is_empty() && !omit_names && !send_wrapped;
    let names = if oversized || omit_names {
        Vec::new()
    } else {
        config.ca_list.rustls_names()
    };
    let verifier = GatewayVerifier {
        policy: Some(policy.clone()),
        names,
        offer: offer && !post_handshake,
        mandatory: mandatory && offer,
        mode,
        trust: config.trust.clone(),
        named_issuers: policy
            .requires_named_issuer()
            .then(|| crate::tls::verify::named_issuers(&config.ca_list.names, &config.trust))
            .flatten(),
        schemes: provider()
            .signature_verification_algorithms
            .supported_schemes(),
    };
    let versions = crate::tls::rustls_versions(&config.versions);
    if versions.is_empty() {
        return Err(TlsError::NoVersions);
    }
    let mut server_config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&versions)
        .map_err(|source| TlsError::Config {
            what: "TLS versions",
            source,
        })?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(config.server_chain.clone(), config.server_key.clone_key())
        .map_err(|source| TlsError::Config {
            what: "server certificate/key",
            source,
        })?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    match config.resumption {
        // rustls's default: a session cache (TLS 1.2 session IDs, TLS 1.3
        // stateful tickets), no stateless tickets.
        None | Some(Resumption::SessionId) => {}
        Some(Resumption::Tickets) => {
            server_config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
            server_config.ticketer =
                rustls::crypto::ring::Ticketer::new().map_err(|source| TlsError::Config {
                    what: "session tickets",
                    source,
                })?;
        }
        Some(Resumption::Off) => {
            server_config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
            server_config.send_tls13_tickets = 0;
        }
    }
    // To seal the renegotiation request and alerts rustls cannot send.
    server_config.enable_secret_extraction = post_handshake || missing_cert_after_handshake;
    Ok(GatewayTls {
        config: Arc::new(server_config),
        oversized,
        rewrite_tls12_alert: (openssl_alerts || missing_cert_alert.is_some())
            && config.versions.contains(&TlsVersion::Tls12),
        missing_cert_alert,
        missing_cert_after_handshake,
        post_handshake,
        names_omitted: omit_names,
    })
}
