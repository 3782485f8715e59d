//! One case: a scenario file, one gateway profile, one TLS version, run end
//! to end (PKI -> gateway -> client -> observation).

use crate::gateway::{GatewayProfile, ModeError, ProfileKind};
use crate::knobs::{CaNamesPolicy, MiddleboxKind};
use crate::observation::{Handshake, Observation, Side, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{ScenarioFile, ServerSpec};
use crate::tls::ca_names::AcceptableCaList;
use crate::tls::client::{ClientKind, ClientSpec, WalletEntry};
use crate::tls::proxy::{MiddleboxConfig, RunningMiddlebox};
use crate::tls::server::{ForwardedTrust, GatewayConfig, RunningGateway, ServerRecord};
use crate::tls::verify::TrustStore;
use crate::tls::Timeouts;
use std::sync::Arc;

/// Why a case could not be set up (bad references, unusable certificates):
/// a setup error, not a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A certificate the scenario names (`field`) is not in the PKI.
    #[error("{field}: {source}")]
    Pki {
        field: &'static str,
        #[source]
        source: crate::pki::PkiError,
    },
    /// A TLS endpoint could not be built from what the scenario says.
    #[error("{field}: {source}")]
    Tls {
        field: &'static str,
        #[source]
        source: crate::tls::TlsError,
    },
    #[error("server.mode: {0}")]
    Mode(#[from] crate::gateway::ModeError),
    #[error("server.crls: `{0}` is not a CA of this PKI that publishes a CRL")]
    NoCrl(String),
    /// A setup failure of a layer above (a real gateway, middlebox or
    /// client program) or of a service the case starts (the revocation
    /// responder). `source` is the typed error; `what` names the step
    /// when the source alone does not.
    #[error("{}{source}", setup_prefix(what))]
    Setup {
        what: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The scenario asks for something the harness cannot do yet; the case is
    /// reported as SKIP with this reason.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

fn setup_prefix(what: &Option<String>) -> String {
    what.as_ref().map(|w| format!("{w}: ")).unwrap_or_default()
}

impl CaseError {
    /// [`CaseError::Setup`] shown as `source` alone.
    pub fn setup(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        CaseError::Setup {
            what: None,
            source: source.into(),
        }
    }

    /// [`CaseError::Setup`] shown as `what: source`.
    pub fn setup_in(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        CaseError::Setup {
            what: Some(what.into()),
            source: source.into(),
        }
    }
}

fn pki_error(field: &'static str) -> impl Fn(crate::pki::PkiError) -> CaseError {
    move |source| CaseError::Pki { field, source }
}

fn tls_error(field: &'static str) -> impl Fn(crate::tls::TlsError) -> CaseError {
    move |source| CaseError::Tls { field, source }
}

/// Build the gateway configuration a scenario's `[server]` describes.
///
/// `default_proxy` is the proxy identity trusted for a forwarding header when
/// `server.trusted_proxies` names none (a scenario's `middlebox.upstream_cert`).
pub fn gateway_config(
    pki: &Pki,
    server: &ServerSpec,
    profile: ProfileKind,
    versions: Vec<TlsVersion>,
    timeouts: Timeouts,
    default_proxy: Option<&str>,
) -> Result<GatewayConfig, CaseError> {
    let cert = pki.cert(&server.cert).map_err(pki_error("server.cert"))?;
    let chain = if server.send_chain.unwrap_or(true) {
        cert.chain_with_leaf()
    } else {
        vec![cert.der.clone()]
    };
    let trusted = pki
        .resolve(&server.trust)
        .map_err(pki_error("server.trust"))?;
    let mut crls = Vec::new();
    for issuer in &server.crls {
        let crl = pki
            .crl(issuer)
            .ok_or_else(|| CaseError::NoCrl(issuer.clone()))?;
        crls.push(crl.clone());
    }
    let trust_ders: Vec<_> = trusted.iter().map(|c| c.der.clone()).collect();
    let mut trust = TrustStore::new(&trust_ders, &crls).map_err(tls_error("server.trust"))?;
    let mode = profile
        .mode_for(&server.mode, server.asks)
        .map_err(|e| match e {
            ModeError::CannotAskAfterRequest { .. } => CaseError::Unsupported(e.to_string()),
            other => other.into(),
        })?;
    let mut profile = GatewayProfile::new(profile, mode, server.client_auth)?;
    if let [version] = versions[..] {
        if server.client_answers_after_request.contains(&version) {
            profile = profile.answering_after_request(version);
        }
    }
    // A gateway with no such setting ignores the responder.
    if let Some(online) = &server.online_revocation {
        if profile.checks_online(online.check) {
            trust = trust.with_online(online.clone());
        }
    }
    let ca_list = AcceptableCaList::from_policy(
        &names_sent(&server.ca_names, profile.sends_whole_trust_store()),
        &trusted,
        pki,
    )
    .map_err(tls_error("server.ca_names"))?;
    let forwarded = match server.trust_forwarded_header {
        None => None,
        Some(header) => {
            let mut names = server.trusted_proxies.clone();
            if names.is_empty() {
                names.extend(default_proxy.map(str::to_string));
            }
            let proxies = pki
                .resolve(&names)
                .map_err(pki_error("server.trusted_proxies"))?
                .iter()
                .map(|c| c.der.clone())
                .collect();
            Some(ForwardedTrust { header, proxies })
        }
    };
    Ok(GatewayConfig {
        forwarded,
        policy: Arc::new(profile),
        server_chain: chain,
        server_key: Arc::new(cert.private_key()),
        trust,
        ca_list,
        ca_names_overflow: server.ca_names_overflow,
        versions,
        timeouts,
        listen: "127.0.0.1:0".parse().expect("static address"),
        resumption: server.resumption,
    })
}

/// The CA-names policy a gateway really follows: one that always sends its
/// whole trust store (Go, JSSE) ignores a narrower `ca_names` (the filler
/// names of an oversized list stand for CA certificates it loads, and stay).
fn names_sent(policy: &CaNamesPolicy, whole_trust_store: bool) -> CaNamesPolicy {
    match policy {
        CaNamesPolicy::ExtraFiller(_) | CaNamesPolicy::FillToBytes(_) => policy.clone(),
        _ if whole_trust_store => CaNamesPolicy::AllTrusted,
        _ => policy.clone(),
    }
}

/// Build the client a scenario's `[client]` describes, for one TLS version.
pub fn client_spec(
    pki: &Pki,
    file: &ScenarioFile,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<ClientSpec, CaseError> {
    let c = &file.client;
    let mut wallet = Vec::new();
    for cert in pki.resolve(&c.certs).map_err(pki_error("client.certs"))? {
        wallet.push(
            WalletEntry::from_issued(cert, c.send_intermediates)
                .map_err(tls_error("client.certs"))?,
        );
    }
    let server_roots = if c.trust.is_empty() {
        let server = pki
            .cert(&file.server.cert)
            .map_err(pki_error("server.cert"))?;
        let root = server.root.clone().unwrap_or_else(|| server.name.clone());
        vec![pki
            .cert(&root)
            .map_err(pki_error("server.cert"))?
            .der
            .clone()]
    } else {
        pki.resolve(&c.trust)
            .map_err(pki_error("client.trust"))?
            .iter()
            .map(|c| c.der.clone())
            .collect()
    };
    let mut headers = Vec::new();
    if let (Some(h), Some(first)) = (c.forge_header, wallet.first()) {
        // A forged forwarding header carrying the wallet's first cert: a
        // gateway must never authenticate a direct request by it.
        headers.push((
            h.header_name().to_string(),
            crate::tls::forwarded::encode(h, &first.chain[0]),
        ));
    }
    Ok(ClientSpec {
        wallet,
        selection: c.selection,
        server_roots,
        versions: c.tls.clone().unwrap_or_else(|| vec![version]),
        server_name: c.sni.clone().unwrap_or_else(|| "localhost".into()),
        timeouts,
        kind: ClientKind::Raw,
        headers,
        via_tunnel: None,
        accept_any_server_cert: false,
        request_path: "/".into(),
    })
}

/// Start the built-in gateway `config` describes: what it cannot model is
/// SKIP (`Unsupported`), any other failure a setup error.
pub async fn start_gateway(config: GatewayConfig) -> Result<RunningGateway, CaseError> {
    crate::tls::server::start(config)
        .await
        .map_err(|e| match e {
            crate::tls::TlsError::Unmodelled(why) => CaseError::Unsupported(why.into()),
            other => tls_error("server")(other),
        })
}

/// Run one case: start the gateway, make one request, merge both ends' views.
pub async fn run_case(
    pki: &Pki,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    let default_proxy = file
        .middlebox
        .as_ref()
        .and_then(|m| m.upstream_cert.as_deref());
    let (responder, server, reissued) = start_responder(pki, file)?;
    let pki = reissued.as_ref().unwrap_or(pki);
    let config = gateway_config(
        pki,
        &server,
        profile,
        vec![version],
        timeouts,
        default_proxy,
    )?;
    let mut client = client_spec(pki, file, version, timeouts)?;
    let gateway = start_gateway(config).await?;
    let connections = file.client.connections;
    let obs = match &file.middlebox {
        None => exchange_and_merge_connections(&gateway, &client, connections).await,
        Some(mb) => {
            let middlebox =
                start_middlebox(pki, file, mb, gateway.addr(), version, timeouts).await?;
            let mut obs = match mb.kind {
                MiddleboxKind::Tunnel => {
                    client.via_tunnel = Some(middlebox.addr());
                    client
                        .exchange_connections(gateway.addr(), connections)
                        .await
                        .0
                }
                _ => {
                    client
                        .exchange_connections(middlebox.addr(), connections)
                        .await
                        .0
                }
            };
            middlebox.shutdown().await;
            // The gateway's connection is the middlebox's, not the client's:
            // keep its log line, not its alerts.
            let record = gateway.last_record(std::time::Duration::from_secs(3)).await;
            if let Some(log) = record.map(|r| r.log).filter(|l| !l.is_empty()) {
                obs.gateway_log = Some(log);
            }
            obs
        }
    };
    gateway.shutdown().await;
    drop(responder);
    Ok(obs)
}

/// Start the revocation responder `[revocation]` asks for (none for
/// `crl-file`), and the `[server]` that names it. With a responder, the
/// PKI's issued certificates are re-signed to carry its URL (an OCSP
/// authorityInfoAccess, or a CRL distribution point under the issuer's
/// CRL path): the third value, the PKI the case must use.
pub fn start_responder(
    pki: &Pki,
    file: &ScenarioFile,
) -> Result<
    (
        Option<crate::revocation::Responder>,
        ServerSpec,
        Option<Pki>,
    ),
    CaseError,
> {
    let mut server = file.server.clone();
    server.client_answers_after_request = TlsVersion::ALL
        .into_iter()
        .filter(|v| file.client.answers_after_request(*v))
        .collect();
    let Some(spec) = file.revocation.as_ref().filter(|r| r.check.is_online()) else {
        return Ok((None, server, None));
    };
    let responder =
        crate::revocation::Responder::start(pki, spec.responder(), &spec.unknown_to_responder)
            .map_err(|e| CaseError::setup_in("revocation responder", e))?;
    let url = match spec.check {
        crate::knobs::RevocationCheck::Ocsp => responder.ocsp_url(),
        _ => responder.crl_base_url(),
    };
    server.online_revocation = Some(crate::knobs::OnlineRevocation {
        check: spec.check,
        url,
        timeout: spec.timeout(),
        state: spec.responder(),
    });
    let ocsp = spec.check == crate::knobs::RevocationCheck::Ocsp;
    let base = responder.crl_base_url();
    let ocsp_url = responder.ocsp_url();
    let urls = |_: &crate::pki::IssuedCert, issuer: &crate::pki::IssuedCert| {
        crate::pki::urls::RevocationUrls {
            ocsp: ocsp.then(|| ocsp_url.clone()),
            crl: if ocsp {
                vec![]
            } else {
                vec![format!(
                    "{base}{}.crl",
                    crate::revocation::crl_path(&issuer.subject_der)
                )]
            },
        }
    };
    let reissued = pki
        .with_revocation_urls(urls)
        .map_err(|e| CaseError::setup_in("revocation URLs", e))?;
    Ok((Some(responder), server, Some(reissued)))
}

/// Start the built-in middlebox `mb` of `file` in front of the gateway at
/// `upstream` (built-in or a real process).
pub async fn start_middlebox(
    pki: &Pki,
    file: &ScenarioFile,
    mb: &crate::scenario::schema::MiddleboxSpec,
    upstream: std::net::SocketAddr,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<RunningMiddlebox, CaseError> {
    let shown = pki
        .cert(mb.cert.as_deref().unwrap_or(&file.server.cert))
        .map_err(pki_error("middlebox.cert"))?;
    let server = pki
        .cert(&file.server.cert)
        .map_err(pki_error("server.cert"))?;
    let root = server.root.clone().unwrap_or_else(|| server.name.clone());
    let upstream_identity = match &mb.upstream_cert {
        None => None,
        Some(name) => {
            let c = pki
                .cert(name)
                .map_err(pki_error("middlebox.upstream_cert"))?;
            Some((c.chain_with_leaf(), Arc::new(c.private_key())))
        }
    };
    let config = MiddleboxConfig {
        kind: mb.kind,
        header: mb.header,
        request_client_cert: mb
            .request_client_cert
            .unwrap_or(mb.kind.requests_client_cert()),
        server_chain: shown.chain_with_leaf(),
        server_key: Arc::new(shown.private_key()),
        upstream,
        upstream_name: "localhost".into(),
        upstream_roots: vec![pki
            .cert(&root)
            .map_err(pki_error("server.cert"))?
            .der
            .clone()],
        upstream_identity,
        versions: vec![version],
        timeouts,
    };
    crate::tls::proxy::start(config)
        .await
        .map_err(tls_error("middlebox"))
}

/// One request against a running gateway, merged with the gateway's record.
pub async fn exchange_and_merge(gateway: &RunningGateway, client: &ClientSpec) -> Observation {
    exchange_and_merge_connections(gateway, client, 1).await
}

/// `connections` requests, one after the other with one client (each
/// offering to resume the session before), the last merged with the
/// gateway's record of it.
pub async fn exchange_and_merge_connections(
    gateway: &RunningGateway,
    client: &ClientSpec,
    connections: u32,
) -> Observation {
    let (obs, local) = client
        .exchange_connections(gateway.addr(), connections)
        .await;
    let record = match local {
        Some(local) => {
            gateway
                .record_for(local, std::time::Duration::from_secs(3))
                .await
        }
        None => None,
    };
    merge(obs, record.as_ref())
}

/// Fold what the gateway saw into the client's observation.
pub fn merge(mut obs: Observation, record: Option<&ServerRecord>) -> Observation {
    let Some(rec) = record else { return obs };
    if !rec.log.is_empty() {
        obs.gateway_log = Some(rec.log.clone());
    }
    if let (Some(seen), Some(server)) = (obs.ca_names.as_mut(), rec.ca_names.as_ref()) {
        seen.truncated = server.truncated;
    }
    if rec.done && !rec.handshake_complete && obs.handshake == Some(Handshake::Complete) {
        // TLS 1.3: our handshake finished, the server's did not.
        obs.handshake = Some(Handshake::Aborted);
    }
    if obs.alert.is_none() && rec.alert_sent_by == Some(Side::Server) {
        if let Some(a) = &rec.alert {
            obs.alert = Some(crate::observation::AlertSeen {
                description: a.clone(),
                sent_by: Side::Server,
            });
            obs.handshake = Some(Handshake::Aborted);
        }
    }
    if obs.tls_version.is_none() {
        obs.tls_version = rec.tls_version;
    }
    // The gateway knows it resumed even when the client saw nothing more.
    obs.resumed |= rec.resumed;
    obs
}
