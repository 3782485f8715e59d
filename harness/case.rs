//! One case: a scenario file, one gateway profile, one TLS version, run end
//! to end (PKI -> gateway -> client -> observation).

use crate::gateway::{GatewayProfile, ProfileKind};
use crate::observation::{Handshake, Observation, Side, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{ScenarioFile, ServerSpec};
use crate::tls::ca_names::AcceptableCaList;
use crate::tls::client::{ClientKind, ClientSpec, WalletEntry};
use crate::tls::server::{GatewayConfig, RunningGateway, ServerRecord};
use crate::tls::verify::TrustStore;
use crate::tls::Timeouts;
use std::sync::Arc;

/// Why a case could not be set up (bad references, unusable certificates):
/// a setup error, not a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{0}")]
    Setup(String),
    /// The scenario asks for something the harness cannot do yet; the case is
    /// reported as SKIP with this reason.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Build the gateway configuration a scenario's `[server]` describes.
pub fn gateway_config(
    pki: &Pki,
    server: &ServerSpec,
    profile: ProfileKind,
    versions: Vec<TlsVersion>,
    timeouts: Timeouts,
) -> Result<GatewayConfig, CaseError> {
    let setup = |e: String| CaseError::Setup(e);
    let cert = pki
        .cert(&server.cert)
        .map_err(|e| setup(format!("server.cert: {e}")))?;
    let chain = if server.send_chain.unwrap_or(true) {
        cert.chain_with_leaf()
    } else {
        vec![cert.der.clone()]
    };
    let trusted = pki
        .resolve(&server.trust)
        .map_err(|e| setup(format!("server.trust: {e}")))?;
    let mut crls = Vec::new();
    for issuer in &server.crls {
        let crl = pki.crl(issuer).ok_or_else(|| {
            setup(format!(
                "server.crls: `{issuer}` is not a CA of this PKI that publishes a CRL"
            ))
        })?;
        crls.push(crl.clone());
    }
    let trust_ders: Vec<_> = trusted.iter().map(|c| c.der.clone()).collect();
    let trust =
        TrustStore::new(&trust_ders, &crls).map_err(|e| setup(format!("server.trust: {e}")))?;
    let ca_list = AcceptableCaList::from_policy(&server.ca_names, &trusted, pki).map_err(setup)?;
    let mode = server.mode.get(profile.name()).map(String::as_str);
    let profile = GatewayProfile::new(profile, mode, server.client_auth)
        .map_err(|e| setup(format!("server.mode: {e}")))?;
    Ok(GatewayConfig {
        profile,
        server_chain: chain,
        server_key: Arc::new(cert.private_key()),
        trust,
        ca_list,
        versions,
        timeouts,
        listen: "127.0.0.1:0".parse().expect("static address"),
    })
}

/// Build the client a scenario's `[client]` describes, for one TLS version.
pub fn client_spec(
    pki: &Pki,
    file: &ScenarioFile,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<ClientSpec, CaseError> {
    let setup = |e: String| CaseError::Setup(e);
    let c = &file.client;
    let mut wallet = Vec::new();
    for cert in pki
        .resolve(&c.certs)
        .map_err(|e| setup(format!("client.certs: {e}")))?
    {
        wallet.push(WalletEntry::from_issued(cert, c.send_intermediates).map_err(setup)?);
    }
    let server_roots = if c.trust.is_empty() {
        let server = pki
            .cert(&file.server.cert)
            .map_err(|e| setup(format!("server.cert: {e}")))?;
        let root = server.root.clone().unwrap_or_else(|| server.name.clone());
        vec![pki
            .cert(&root)
            .map_err(|e| setup(e.to_string()))?
            .der
            .clone()]
    } else {
        pki.resolve(&c.trust)
            .map_err(|e| setup(format!("client.trust: {e}")))?
            .iter()
            .map(|c| c.der.clone())
            .collect()
    };
    let mut headers = Vec::new();
    if let (Some(h), Some(first)) = (c.forge_header, wallet.first()) {
        // A forged forwarding header carrying the wallet's first cert: a
        // gateway must never authenticate a direct request by it.
        let pem = crate::pki::IssuedCert::pem_of(&first.chain[0]);
        headers.push((h.header_name().to_string(), forwarded_value(h, &pem)));
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
    })
}

fn forwarded_value(h: crate::scenario::schema::ForwardHeader, pem: &str) -> String {
    use crate::scenario::schema::ForwardHeader as F;
    let encoded: String = url::form_urlencoded::byte_serialize(pem.as_bytes()).collect();
    match h {
        F::Xfcc => format!("Cert=\"{encoded}\""),
        F::ClientCert => {
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            format!(":{b64}:")
        }
        F::XSslClientCert => encoded,
    }
}

/// Run one case: start the gateway, make one request, merge both ends' views.
pub async fn run_case(
    pki: &Pki,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    if file.middlebox.is_some() {
        return Err(CaseError::Unsupported(
            "middleboxes ([middlebox]) are not built yet".into(),
        ));
    }
    let config = gateway_config(pki, &file.server, profile, vec![version], timeouts)?;
    let client = client_spec(pki, file, version, timeouts)?;
    let gateway = crate::tls::server::start(config)
        .await
        .map_err(CaseError::Setup)?;
    let obs = exchange_and_merge(&gateway, &client).await;
    gateway.shutdown().await;
    Ok(obs)
}

/// One request against a running gateway, merged with the gateway's record.
pub async fn exchange_and_merge(gateway: &RunningGateway, client: &ClientSpec) -> Observation {
    let (obs, local) = client.exchange_with_local_addr(gateway.addr()).await;
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
    obs
}
