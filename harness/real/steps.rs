//! `[[step]]` on a real gateway: the program started from `[server]`, each
//! change written into its files (its whole configuration rendered anew
//! from what is on disk, so a changed file is exactly what the program
//! reads on a reload), and each `reload` by the program's own mechanism:
//!
//! - nginx: SIGHUP to the master (`nginx -s reload`): new workers with the
//!   new files, the old ones finish;
//! - Apache: SIGUSR1 to the parent (`apachectl -k graceful`);
//! - HAProxy (`via = "runtime-api"`): `set ssl crl-file` / `ca-file` /
//!   `cert` with the changed file, then `commit`, on its stats socket;
//!   (`via = "signal"`): SIGUSR2 to its master (master-worker mode), which
//!   re-executes itself with `-sf <old workers>`;
//! - Caddy (`via = "admin-api"`): `POST /load` with the configuration as on
//!   disk, on its admin endpoint's unix socket (its trusted CAs are in the
//!   configuration itself).
//!
//! A signal's reload is done when every worker the master had before it
//! has exited and a new one runs; the next connection then meets only
//! workers that read the new files.

use crate::case::CaseError;
use crate::observation::{Observation, StepSeen, TlsVersion};
use crate::pki::Pki;
use crate::real::render::{self, Listen};
use crate::real::{RealError, RealKind, RealServer};
use crate::scenario::schema::{ReloadVia, ScenarioFile, StepAction};
use crate::steps::disk::{Changed, Disk};
use crate::tls::Timeouts;
use std::time::{Duration, Instant};

/// How long a reload may take to replace every worker.
const RELOAD_LIMIT: Duration = Duration::from_secs(15);

/// Why `kind` cannot run `file`'s steps; `None`: it can. Every program
/// runs changes without a reload (what it does when only its files
/// change); a `reload` runs on those whose mechanism the harness drives.
pub fn unsupported(kind: RealKind, file: &ScenarioFile) -> Option<String> {
    file.steps
        .iter()
        .filter(|s| s.action == StepAction::Reload)
        .find_map(|s| match (kind, s.via.unwrap_or_default()) {
            (RealKind::Nginx | RealKind::Apache | RealKind::Haproxy, ReloadVia::Signal)
            | (RealKind::Haproxy, ReloadVia::RuntimeApi)
            | (RealKind::Caddy, ReloadVia::AdminApi) => None,
            (RealKind::Caddy, _) => Some(
                "real:caddy reloads through its admin endpoint: give the reload `via = \"admin-api\"`"
                    .to_string(),
            ),
            (_, ReloadVia::RuntimeApi) => Some(format!(
                "{kind} has no runtime API for its certificates (`via = \"runtime-api\"` is HAProxy's)"
            )),
            (_, ReloadVia::AdminApi) => Some(format!(
                "{kind} has no admin endpoint that loads a configuration (`via = \"admin-api\"` is Caddy's)"
            )),
            (_, ReloadVia::Signal) => Some(format!(
                "{kind} is not reloaded here so far: a `reload` runs on real:nginx, real:apache and real:haproxy (signal), real:haproxy (runtime API) and real:caddy (admin API)"
            )),
        })
}

/// The live processes of the program's group other than its master (the
/// group leader): its workers.
fn workers(master: u32) -> Vec<u32> {
    crate::process::group_members(master)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| *p != master)
        .collect()
}

/// Signal the master and wait until its workers are all new ones.
async fn reload_by_signal(
    server: &RealServer,
    signal: libc::c_int,
    step: usize,
) -> Result<(), CaseError> {
    let pid = server.pid();
    let before = workers(pid);
    // SAFETY: kill(2) on the program's master, which this case started and
    // still owns (its process group is stopped on drop).
    if unsafe { libc::kill(pid as i32, signal) } != 0 {
        return Err(CaseError::setup_in(
            format!("step {step}: reload"),
            std::io::Error::last_os_error(),
        ));
    }
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = workers(pid);
        let renewed = !now.is_empty() && now.iter().all(|c| !before.contains(c));
        if renewed {
            return Ok(());
        }
        if started.elapsed() > RELOAD_LIMIT {
            return Err(CaseError::setup_in(
                format!("step {step}: reload"),
                format!(
                    "{} did not replace its workers within {} s (before {before:?}, now {now:?})",
                    server.kind(),
                    RELOAD_LIMIT.as_secs()
                ),
            ));
        }
    }
}

/// Tell HAProxy's runtime API every file changed since the last reload.
fn reload_by_runtime_api(
    server: &RealServer,
    disk_render: &render::RenderedGateway,
    changed: &[Changed],
    step: usize,
) -> Result<(), CaseError> {
    let prefix = &server.rendered().prefix;
    let socket = prefix.join(render::HAPROXY_ADMIN_SOCKET);
    let file = |rel: &str| {
        disk_render
            .files
            .iter()
            .find(|(r, _, _)| r == rel)
            .map(|(_, text, _)| text.clone())
    };
    let mut told: Vec<(&str, String)> = Vec::new();
    for c in changed {
        let (what, rels): (&str, &[&str]) = match c {
            Changed::Crl(_) => ("crl-file", &[render::CRL]),
            Changed::ServerCert => ("cert", &[render::HAPROXY_SERVER_PEM]),
            Changed::Trust => ("ca-file", &[render::CA_NAMES, render::CA_VERIFY]),
        };
        for rel in rels {
            if told.iter().any(|(w, r)| *w == what && r == rel) {
                continue;
            }
            let Some(payload) = file(rel) else { continue };
            crate::real::runtime_api::replace(&socket, what, &prefix.join(rel), &payload)
                .map_err(|e| CaseError::setup_in(format!("step {step}: runtime API"), e))?;
            told.push((what, rel.to_string()));
        }
    }
    Ok(())
}

/// Run every step of `file` against real `kind`.
pub async fn run(
    pki: &Pki,
    file: &ScenarioFile,
    kind: RealKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    if let Some(why) = unsupported(kind, file) {
        return Err(CaseError::Unsupported(why));
    }
    let mut disk = Disk::new(pki, &file.server);
    let server = RealServer::start(kind, &disk.pki, &disk.server, version).await?;
    let rendered = server.rendered().clone();
    let listen = match rendered.inherited_fd {
        Some(_) => Listen::Inherited {
            port: rendered.port,
        },
        None => Listen::Port(rendered.port),
    };
    let mut on_disk = rendered.clone();
    let mut unapplied: Vec<Changed> = Vec::new();
    let mut seen = Vec::new();
    let result = async {
        for (i, step) in file.steps.iter().enumerate() {
            let n = i + 1;
            match step.action {
                StepAction::Connect => {
                    let client =
                        crate::steps::connect_client(&disk.pki, file, step, version, timeouts)?;
                    let mark = server.log_mark();
                    let (mut obs, local) = client.exchange_connections(server.addr(), 1).await;
                    let log = server.log_of_connection(&mark, local).await;
                    if !log.is_empty() {
                        obs.gateway_log = Some(log);
                    }
                    seen.push(StepSeen {
                        step: n,
                        what: "connect".into(),
                        observation: Some(Box::new(obs)),
                    });
                }
                StepAction::Reload => {
                    let via = step.via.unwrap_or_default();
                    match (kind, via) {
                        (RealKind::Haproxy, ReloadVia::RuntimeApi) => {
                            reload_by_runtime_api(&server, &on_disk, &unapplied, n)?
                        }
                        (RealKind::Caddy, ReloadVia::AdminApi) => {
                            let config = on_disk
                                .config_file
                                .as_ref()
                                .and_then(|c| file_text(&on_disk, c))
                                .unwrap_or_default();
                            let socket = rendered.prefix.join(render::CADDY_ADMIN_SOCKET);
                            crate::real::admin_api::load(&socket, config)
                                .await
                                .map_err(|e| {
                                    CaseError::setup_in(format!("step {n}: admin API"), e)
                                })?
                        }
                        (RealKind::Nginx, _) => reload_by_signal(&server, libc::SIGHUP, n).await?,
                        // Master-worker mode: the master re-executes itself
                        // with -sf <old workers>.
                        (RealKind::Haproxy, _) => {
                            reload_by_signal(&server, libc::SIGUSR2, n).await?
                        }
                        _ => reload_by_signal(&server, libc::SIGUSR1, n).await?,
                    }
                    unapplied.clear();
                    seen.push(StepSeen {
                        step: n,
                        what: format!("reload ({})", via.name()),
                        observation: None,
                    });
                }
                _ => {
                    let (changed, what) = disk.apply(n, step)?;
                    // The whole configuration rendered from the disk, into
                    // the same prefix: the changed files are replaced.
                    on_disk = render::render_listening(
                        kind,
                        &disk.pki,
                        &disk.server,
                        version,
                        listen,
                        &rendered.prefix,
                    )?;
                    // Caddy's trusted CAs are in its configuration, which
                    // its admin endpoint takes whole.
                    if kind != RealKind::Caddy
                        && on_disk
                            .config_file
                            .as_ref()
                            .and_then(|c| file_text(&on_disk, c))
                            != rendered
                                .config_file
                                .as_ref()
                                .and_then(|c| file_text(&rendered, c))
                    {
                        return Err(CaseError::Unsupported(format!(
                            "step {n} ({what}) changes {kind}'s configuration, not only its files"
                        )));
                    }
                    on_disk.write().map_err(|e: RealError| {
                        CaseError::setup_in(format!("step {n}: writing the files"), e)
                    })?;
                    unapplied.push(changed);
                    seen.push(StepSeen {
                        step: n,
                        what,
                        observation: None,
                    });
                }
            }
        }
        Ok::<(), CaseError>(())
    }
    .await;
    server.shutdown().await;
    result?;
    Ok(crate::steps::observation(seen))
}

fn file_text<'a>(r: &'a render::RenderedGateway, rel: &str) -> Option<&'a str> {
    r.files
        .iter()
        .find(|(p, _, _)| p == rel)
        .map(|(_, t, _)| t.as_str())
}
