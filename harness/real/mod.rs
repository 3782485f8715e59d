//! Real gateways: nginx, HAProxy, Apache httpd and `openssl s_server`, each
//! configured from a scenario's `[server]` table and PKI, started in the
//! foreground on 127.0.0.1 in its own temporary prefix, and always stopped
//! (its whole process group is killed and the leader reaped, also on panic).
//!
//! Each real program is one file in `render/` (its name, executable, the
//! built-in profile whose expectations judge it, the modes it can be
//! configured for, its config, arguments, logs and config check) and one line
//! in the registry there, from which [`RealKind`] is generated.
//!
//! Each real kind is judged by the expectations of a built-in profile
//! ([`RealKind::profile`]): nginx -> nginx, HAProxy -> haproxy, Apache ->
//! apache, and `openssl s_server` -> haproxy (see `render/openssl.rs`).
//!
//! `openssl s_server -www` answers 200 with its own status page, never the
//! "authenticated" text the other gateways are configured to return; the
//! runner ignores `body_contains` for `real:openssl` (status and alerts are
//! still judged).

pub mod admin_api;
pub mod after_request;
mod backend;
pub mod bounded;
pub mod client;
pub mod credential_grid;
mod error;
mod identity;
mod kind;
pub mod middlebox;
pub mod netns;
pub mod origin;
pub mod process;
pub mod render;
pub mod runtime_api;
mod server;
mod spawn;
pub mod steps;
pub mod user_config;

use crate::case::{client_spec, CaseError};
use crate::observation::{Observation, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::ScenarioFile;
use crate::tls::Timeouts;

pub use backend::{RealClient, RealClientOnRealGateway, RealGateway, RealMiddleboxBackend};
pub use error::{FillerCaError, RealError, Unsupported};
pub(crate) use kind::find_installed;
pub use process::group_members;
pub use render::{render, RealKind, RenderedGateway, APACHE_MODULES};
pub use server::{RealServer, LOG_TIMEOUT, START_TIMEOUT};

/// The command that installs every real gateway on Debian/Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install -y nginx haproxy apache2 openssl golang-go lighttpd lighttpd-mod-openssl tomcat10-common openjdk-17-jdk-headless caddy";

/// One case against a real gateway: start it from the scenario's
/// `[server]`, make the scenario's request, stop it. `on_start` sees the
/// running server (its pid, say) before the request. The runner reaches it
/// through [`RealGateway`].
pub async fn observe_real_gateway(
    pki: &Pki,
    file: &ScenarioFile,
    kind: RealKind,
    version: TlsVersion,
    timeouts: Timeouts,
    on_start: impl FnOnce(&RealServer),
) -> Result<Observation, CaseError> {
    let (responder, server_spec, reissued) = crate::case::start_responder(pki, file)?;
    let pki = reissued.as_ref().unwrap_or(pki);
    let mut client = client_spec(pki, file, version, timeouts)?;
    let server = RealServer::start(kind, pki, &server_spec, version).await?;
    on_start(&server);
    let mark = server.log_mark();
    // The built-in middlebox, when the scenario has one, in front of it.
    let middlebox = match &file.middlebox {
        None => None,
        Some(mb) => Some((
            mb.kind,
            crate::case::start_middlebox(pki, file, mb, server.addr(), version, timeouts).await?,
        )),
    };
    let target = match &middlebox {
        None => server.addr(),
        Some((crate::knobs::MiddleboxKind::Tunnel, mb)) => {
            client.via_tunnel = Some(mb.addr());
            server.addr()
        }
        Some((_, mb)) => mb.addr(),
    };
    let (mut obs, local) = client
        .exchange_connections(target, file.client.connections)
        .await;
    if let Some((_, mb)) = middlebox {
        mb.shutdown().await;
    }
    // Through a middlebox the gateway's connection is the middlebox's: its
    // log lines are not found by the client's port.
    let local = if file.middlebox.is_some() {
        None
    } else {
        local
    };
    // Gateways write their log lines after answering, before closing.
    let log = server.log_of_connection(&mark, local).await;
    // Apache and HAProxy name the client's address: keep this connection's
    // lines when they do (Apache logs its own startup lines meanwhile).
    let log = match local {
        Some(local) => {
            let needle = format!("127.0.0.1:{}", local.port());
            let mine: Vec<&str> = log.lines().filter(|l| l.contains(&needle)).collect();
            if mine.is_empty() {
                log
            } else {
                mine.join("\n")
            }
        }
        None => log,
    };
    if !log.is_empty() {
        obs.gateway_log = Some(log);
    }
    if let Some(seen) = obs.ca_names.as_mut() {
        // The real server sends what its names file holds; whether that was
        // cut to a budget is the harness's doing, known from the config.
        seen.truncated = server.rendered().ca_names_truncated;
    }
    server.shutdown().await;
    drop(responder);
    Ok(obs)
}
