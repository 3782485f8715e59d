//! One case with a real middlebox in front of a built-in or real gateway.

use super::supervise::RunningRealMiddlebox;
use super::RealMiddlebox;
use crate::case::{client_spec, gateway_config, run_case, CaseError};
use crate::gateway::ProfileKind;
use crate::knobs::MiddleboxKind;
use crate::observation::{Observation, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{MiddleboxSpec, ScenarioFile};
use crate::tls::Timeouts;
use std::net::SocketAddr;
use std::time::Duration;

/// Which gateway a middlebox case runs in front of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A built-in gateway profile.
    Builtin(ProfileKind),
    /// A real gateway process.
    Real(crate::real::RealKind),
}

/// One case with `program` as the scenario's middlebox in front of
/// `origin`, calling `on_start` with the running middlebox. A scenario
/// without `[middlebox]` runs as it would without one. The runner reaches it
/// through [`crate::real::RealMiddleboxBackend`].
pub async fn observe_through_middlebox(
    pki: &Pki,
    file: &ScenarioFile,
    origin: Origin,
    program: RealMiddlebox,
    version: TlsVersion,
    timeouts: Timeouts,
    on_start: impl FnOnce(&RunningRealMiddlebox),
) -> Result<Observation, CaseError> {
    let Some(spec) = &file.middlebox else {
        return match origin {
            Origin::Builtin(profile) => run_case(pki, file, profile, version, timeouts).await,
            Origin::Real(kind) => {
                crate::real::observe_real_gateway(pki, file, kind, version, timeouts, |_| {}).await
            }
        };
    };
    program
        .supports(spec)
        .map_err(|e| CaseError::Unsupported(e.to_string()))?;
    let mut client = client_spec(pki, file, version, timeouts)?;
    match origin {
        Origin::Builtin(profile) => {
            let config = gateway_config(
                pki,
                &file.server,
                profile,
                vec![version],
                timeouts,
                spec.upstream_cert.as_deref(),
            )?;
            let gateway = crate::case::start_gateway(config).await?;
            let mb = match RunningRealMiddlebox::start(
                program,
                pki,
                file,
                spec,
                gateway.addr(),
                version,
            )
            .await
            {
                Ok(mb) => mb,
                Err(e) => {
                    gateway.shutdown().await;
                    return Err(e.into());
                }
            };
            on_start(&mb);
            let target = through(&mut client, program, spec, mb.addr(), gateway.addr());
            let mut obs = client
                .exchange_connections(target, file.client.connections)
                .await
                .0;
            drop(mb);
            let record = gateway.last_record(Duration::from_secs(3)).await;
            if let Some(log) = record.map(|r| r.log).filter(|l| !l.is_empty()) {
                obs.gateway_log = Some(log);
            }
            gateway.shutdown().await;
            Ok(obs)
        }
        Origin::Real(kind) => {
            let server = crate::real::RealServer::start(kind, pki, &file.server, version).await?;
            let mark = server.log_mark();
            let mb = RunningRealMiddlebox::start(program, pki, file, spec, server.addr(), version)
                .await?;
            on_start(&mb);
            let target = through(&mut client, program, spec, mb.addr(), server.addr());
            let mut obs = client
                .exchange_connections(target, file.client.connections)
                .await
                .0;
            drop(mb);
            let log = server.log_since(&mark);
            if !log.is_empty() {
                obs.gateway_log = Some(log);
            }
            server.shutdown().await;
            Ok(obs)
        }
    }
}

/// Where the client connects: through a tunnel to the gateway, or to the
/// terminating middlebox itself.
fn through(
    client: &mut crate::tls::client::ClientSpec,
    program: RealMiddlebox,
    spec: &MiddleboxSpec,
    middlebox: SocketAddr,
    gateway: SocketAddr,
) -> SocketAddr {
    if spec.kind == MiddleboxKind::Tunnel || program.explicit_proxy() {
        client.via_tunnel = Some(middlebox);
        gateway
    } else {
        middlebox
    }
}
