//! `[[step]]` on the built-in gateway of a profile.
//!
//! The model of every program the harness runs: a gateway serves what it
//! loaded, and takes what is on disk on a `reload` step only (nginx, Apache
//! and HAProxy read their certificate, trust and CRL files at start and on
//! reload alone). A reload starts a built-in gateway with what is on disk
//! in place of the one before (on a port of its own: the one before may be
//! taken by another case's program the moment it is freed; the clients of
//! the steps that follow connect to the new one). `via = "runtime-api"` is
//! HAProxy's alone, `via = "admin-api"` Caddy's (the `go` profile).

use super::disk::Disk;
use crate::case::{exchange_and_merge_connections, gateway_config, CaseError};
use crate::gateway::ProfileKind;
use crate::observation::{Observation, StepSeen, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{ReloadVia, ScenarioFile, StepAction};
use crate::tls::server::RunningGateway;
use crate::tls::Timeouts;

/// Why `profile` cannot take `via`; `None`: it can.
pub fn unsupported_reload(profile: ProfileKind, via: ReloadVia) -> Option<String> {
    match via {
        ReloadVia::Signal => None,
        ReloadVia::RuntimeApi => (profile != ProfileKind::Haproxy).then(|| {
            format!("{profile} has no runtime API for its certificates (`via = \"runtime-api\"` is HAProxy's)")
        }),
        // Caddy, judged as the `go` profile.
        ReloadVia::AdminApi => (profile != ProfileKind::Go).then(|| {
            format!("{profile} has no admin endpoint that loads a configuration (`via = \"admin-api\"` is Caddy's)")
        }),
    }
}

async fn start(
    disk: &Disk,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<RunningGateway, CaseError> {
    let config = gateway_config(
        &disk.pki,
        &disk.server,
        profile,
        vec![version],
        timeouts,
        None,
    )?;
    crate::case::start_gateway(config).await
}

/// Run every step of `file` against the built-in gateway of `profile`.
pub async fn run(
    pki: &Pki,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    for step in &file.steps {
        if let (StepAction::Reload, Some(why)) = (
            step.action,
            unsupported_reload(profile, step.via.unwrap_or_default()),
        ) {
            return Err(CaseError::Unsupported(why));
        }
    }
    let mut disk = Disk::new(pki, &file.server);
    // What the gateway loaded: the disk at start, and at each reload.
    let mut loaded = disk.clone();
    let mut gateway = start(&loaded, profile, version, timeouts).await?;
    let mut seen = Vec::new();
    for (i, step) in file.steps.iter().enumerate() {
        let n = i + 1;
        match step.action {
            StepAction::Connect => {
                let client = super::connect_client(&loaded.pki, file, step, version, timeouts)?;
                let obs = exchange_and_merge_connections(&gateway, &client, 1).await;
                seen.push(StepSeen {
                    step: n,
                    what: "connect".into(),
                    observation: Some(Box::new(obs)),
                });
            }
            StepAction::Reload => {
                loaded = disk.clone();
                gateway.shutdown().await;
                gateway = start(&loaded, profile, version, timeouts).await?;
                seen.push(StepSeen {
                    step: n,
                    what: format!("reload ({})", step.via.unwrap_or_default().name()),
                    observation: None,
                });
            }
            _ => {
                let (_, what) = disk.apply(n, step)?;
                seen.push(StepSeen {
                    step: n,
                    what,
                    observation: None,
                });
            }
        }
    }
    gateway.shutdown().await;
    Ok(super::observation(seen))
}
