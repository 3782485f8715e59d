//! One real client against one built-in gateway: the wallet written to a
//! private directory, the program started in its own process group under a
//! time limit (killed as a group when it is over, HANG; and after it exits,
//! so no browser helper survives), and the observation merged from the
//! gateway's records and the program's output.

use super::{ClientJob, ClientReport, RealClientKind, WalletFiles};
use crate::case::{gateway_config, CaseError};
use crate::gateway::ProfileKind;
use crate::interrupt::Registry;
use crate::observation::{
    parse_substatus, AlertSeen, Handshake, HttpSeen, Observation, Side, TlsVersion,
};
use crate::pki::Pki;
use crate::real::process::ProcessGroup;
use crate::scenario::schema::ScenarioFile;
use crate::tls::server::ServerRecord;
use crate::tls::Timeouts;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a real client could not be prepared or started.
#[derive(Debug, thiserror::Error)]
pub enum RealClientError {
    #[error("{0}")]
    Missing(#[source] crate::real::RealError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A wallet file or helper program could not be made.
    #[error("preparing {what} failed:\n{log}")]
    Prepare { what: String, log: String },
    /// A setup or build command did not start or ran over its time limit.
    #[error(transparent)]
    Bounded(#[from] crate::real::bounded::BoundedError),
    /// A program the harness builds (the Go client) did not build.
    #[error("building {what} failed ({status}):\n{log}")]
    Build {
        what: &'static str,
        status: String,
        log: String,
    },
}

/// What one run of a real client did.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub report: ClientReport,
    /// Set when the program was killed at its time limit: why.
    pub hang: Option<String>,
    /// Its exit status, as text.
    pub exit: String,
    pub stdout: String,
    pub stderr: String,
}

/// How long a real client may run: browsers start slowly.
pub fn client_timeout(kind: RealClientKind, timeouts: Timeouts) -> Duration {
    let base = timeouts.connect + timeouts.handshake + timeouts.response;
    if kind.is_browser() {
        base + Duration::from_secs(10)
    } else {
        base
    }
}

/// Start `kind` for `job`, wait for it (at most `job.timeout`), kill what
/// is left of its process group, and read its result.
pub async fn run_real_client(
    kind: RealClientKind,
    job: &ClientJob<'_>,
) -> Result<ClientRun, RealClientError> {
    run_real_client_until(kind, job, Arc::new(AtomicBool::new(false))).await
}

/// How long a browser may keep running after the gateway ended its
/// connection with an alert: headless Firefox's `--screenshot` never
/// returns from the error page it shows.
const AFTER_FAILURE: Duration = Duration::from_secs(2);

/// [`run_real_client`]; once `failed` is set (the gateway ended the
/// connection with an alert), the program gets [`AFTER_FAILURE`] to exit
/// before it is stopped, and that is not a hang.
pub async fn run_real_client_until(
    kind: RealClientKind,
    job: &ClientJob<'_>,
    failed: Arc<AtomicBool>,
) -> Result<ClientRun, RealClientError> {
    let cmd = kind.command(job)?;
    let out_path = job.dir.join(format!("{}.stdout", kind.name()));
    let err_path = job.dir.join(format!("{}.stderr", kind.name()));
    let open = |p: &PathBuf| {
        std::fs::File::create(p).map_err(|source| RealClientError::Io {
            path: p.clone(),
            source,
        })
    };
    let mut c = Command::new(&cmd.program);
    c.args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .current_dir(job.dir)
        .stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(open(&out_path)?)
        .stderr(open(&err_path)?);
    // Own process group: a browser's helpers are killed with it.
    let mut group =
        ProcessGroup::spawn(&mut c, Duration::ZERO).map_err(|source| RealClientError::Io {
            path: cmd.program.clone(),
            source,
        })?;
    let timeout = job.timeout;
    let stdin = cmd.stdin.clone();
    let waited = tokio::task::spawn_blocking(move || {
        // The group (and its registration) lives here until it is gone,
        // even when the case is dropped (Ctrl-C): the signal path can
        // still kill it.

        // The pipe stays open until the program exits: gnutls-cli stops
        // sending at the end of its input, before the request is answered.
        let mut input = group.take_stdin();
        if let (Some(text), Some(pipe)) = (stdin, input.as_mut()) {
            // A program that exits first closes the pipe: not an error here.
            let _ = pipe.write_all(text.as_bytes());
            let _ = pipe.flush();
        }
        let deadline = Instant::now() + timeout;
        let mut stop_at: Option<Instant> = None;
        let mut stopped_after_failure = false;
        let status = loop {
            if stop_at.is_none() && failed.load(Ordering::SeqCst) {
                stop_at = Some(Instant::now() + AFTER_FAILURE);
            }
            match group.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if stop_at.is_some_and(|t| Instant::now() >= t) => {
                    stopped_after_failure = true;
                    break None;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => break None,
            }
        };
        let timed_out = status.is_none() && !stopped_after_failure;
        drop(input);
        // Whatever it left behind (browser helpers) goes with the group;
        // the leader is reaped.
        let status = group.kill();
        (status, timed_out, stopped_after_failure)
    })
    .await
    .expect("client waiter");
    let (status, timed_out, stopped_after_failure) = waited;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let success = !timed_out && !stopped_after_failure && status.is_some_and(|s| s.success());
    let hang = timed_out.then(|| {
        format!(
            "{kind} did not finish within {} s{}",
            job.timeout.as_secs(),
            if kind.is_browser() && !job.auto_select {
                " (headless, it waits at its certificate picker when a certificate matches and nothing selects it)"
            } else {
                ""
            }
        )
    });
    let mut report = kind.read(success, &stdout, &stderr, job);
    if stopped_after_failure && report.error.is_none() {
        report.error = Some("the connection failed (see the gateway's alert)".into());
    }
    Ok(ClientRun {
        report,
        hang,
        exit: match status {
            Some(s) if !timed_out && !stopped_after_failure => s.to_string(),
            _ if stopped_after_failure => format!(
                "stopped {} s after the gateway ended the connection with an alert (it kept its error page open)",
                AFTER_FAILURE.as_secs()
            ),
            _ => "killed at its time limit".into(),
        },
        stdout,
        stderr,
    })
}

/// Why `kind` cannot play the scenario's client: it does not follow the
/// scenario's `[client] selection` (`run --client real:X` runs only the
/// scenarios whose policy the program follows; the rest are SKIP).
pub fn unfollowed_selection(file: &ScenarioFile, kind: RealClientKind) -> Option<String> {
    let policy = file.client.selection;
    (!kind.follows(policy, file.client.certs.len())).then(|| {
        format!(
            "{kind} follows `{}`; the scenario's client is `{}`",
            kind.policy().as_str(),
            policy.as_str()
        )
    })
}

/// Why a scenario's client cannot be played by a real program (SKIP).
pub fn unsupported_client(file: &ScenarioFile) -> Option<&'static str> {
    let c = &file.client;
    if file.middlebox.is_some() {
        Some("real clients run against the gateway directly ([middlebox])")
    } else if c.forge_header.is_some() {
        Some("real clients send no forged forwarding header ([client] forge_header)")
    } else if c.connections > 1 {
        Some("real clients make one connection ([client] connections)")
    } else if c.tls.is_some() || c.sni.is_some() {
        Some("real clients use the case's TLS version and `localhost` ([client] tls, sni)")
    } else if c.certs.iter().any(|n| n.ends_with("-*")) {
        Some("real clients hold named certificates, not bulk ones")
    } else if file.pki.cert.iter().any(|spec| {
        c.certs.contains(&spec.name)
            && spec
                .defects
                .contains(&crate::pki::spec::Defect::KeyMismatch)
    }) {
        // curl stops at loading the pair (measured), as OpenSSL's
        // SSL_CTX_check_private_key and Go's LoadX509KeyPair do: the case
        // would test the program's loader, not the gateway.
        Some("real clients check that the key matches the certificate before connecting (key-mismatch)")
    } else {
        None
    }
}

/// The real client `kind` with the scenario's wallet against the built-in
/// gateway of `profile`, whatever the scenario's selection policy (the
/// client fidelity table compares it with the policy that models `kind`).
pub async fn observe_real_client(
    pki: &Pki,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
    kind: RealClientKind,
) -> Result<Observation, CaseError> {
    observe_real_client_with(pki, file, profile, version, timeouts, kind, true).await
}

/// [`observe_real_client`]; `auto_select` false leaves a browser's
/// certificate picker to itself (it hangs headless: the HANG scenario).
pub async fn observe_real_client_with(
    pki: &Pki,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
    kind: RealClientKind,
    auto_select: bool,
) -> Result<Observation, CaseError> {
    if let Some(why) = unsupported_client(file) {
        return Err(CaseError::Unsupported(why.into()));
    }
    let setup = |e: RealClientError| CaseError::setup_in(kind.to_string(), e);
    // The program first (Go builds its client): a missing one is a setup error.
    kind.executable().map_err(setup)?;
    let config = gateway_config(pki, &file.server, profile, vec![version], timeouts, None)?;
    let (dir, dir_registered) = Registry::global()
        .create_temp_dir("mtls-client-")
        .map_err(|e| CaseError::setup_in(format!("{kind}: temporary directory"), e))?;
    let wallet = write_wallet(pki, file, kind, dir.path())?;
    let server_ca = write_server_ca(pki, file, dir.path())?;
    let gateway = crate::case::start_gateway(config).await?;
    let mut events = gateway.subscribe();
    let port = gateway.addr().port();
    let job = ClientJob {
        url: format!("https://localhost:{port}/"),
        port,
        version,
        wallet: &wallet,
        server_ca,
        dir: dir.path(),
        timeout: client_timeout(kind, timeouts),
        auto_select,
        headers: &[],
        connect_to: None,
        after_request: Default::default(),
    };
    // The gateway's records as they finish, while the program runs: a
    // browser that keeps an error page open after the gateway's alert is
    // stopped soon after, not at its time limit.
    let failed = Arc::new(AtomicBool::new(false));
    let records = Arc::new(std::sync::Mutex::new(Vec::new()));
    let collector = {
        let failed = failed.clone();
        let records = records.clone();
        let browser = kind.is_browser();
        tokio::spawn(async move {
            while let Ok(r) = events.recv().await {
                if browser && r.alert.is_some() && r.alert_sent_by == Some(Side::Server) {
                    failed.store(true, Ordering::SeqCst);
                }
                records.lock().expect("records").push(r);
            }
        })
    };
    let run = run_real_client_until(kind, &job, failed).await;
    // The program is gone, so are its connections: the gateway finishes
    // their records at once; a quiet moment ends the collection (longer for
    // a browser's extra connections), waiting up to 3 s for the first.
    let quiet = Duration::from_millis(if kind.is_browser() { 400 } else { 100 });
    let first_by = Instant::now() + Duration::from_secs(3);
    let mut seen = records.lock().expect("records").len();
    let mut last_change = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = records.lock().expect("records").len();
        if now != seen {
            seen = now;
            last_change = Instant::now();
        } else if (now > 0 && last_change.elapsed() >= quiet)
            || (now == 0 && Instant::now() >= first_by)
        {
            break;
        }
    }
    collector.abort();
    let records: Vec<ServerRecord> = std::mem::take(&mut *records.lock().expect("records"));
    gateway.shutdown().await;
    let run = run.map_err(setup)?;
    drop(dir);
    drop(dir_registered);
    Ok(observation(kind, &wallet, &records, &run))
}

/// Write the scenario's wallet (`[client] certs`, in order) into `dir` as
/// `kind` takes it.
pub fn write_wallet(
    pki: &Pki,
    file: &ScenarioFile,
    kind: RealClientKind,
    dir: &Path,
) -> Result<Vec<WalletFiles>, CaseError> {
    let mut wallet = Vec::new();
    for (i, name) in file.client.certs.iter().enumerate() {
        let cert = pki.cert(name).map_err(|source| CaseError::Pki {
            field: "client.certs",
            source,
        })?;
        wallet.push(
            WalletFiles::write(dir, i, cert, file.client.send_intermediates)
                .map_err(|e| CaseError::setup_in(kind.to_string(), e))?,
        );
    }
    Ok(wallet)
}

/// Write the CA certificates the client trusts for the server (`[client]
/// trust`, default the server certificate's root) to `dir/server-ca.pem`.
pub fn write_server_ca(pki: &Pki, file: &ScenarioFile, dir: &Path) -> Result<PathBuf, CaseError> {
    let server = pki
        .cert(&file.server.cert)
        .map_err(|source| CaseError::Pki {
            field: "server.cert",
            source,
        })?;
    let root = server.root.clone().unwrap_or_else(|| server.name.clone());
    let roots = if file.client.trust.is_empty() {
        vec![root]
    } else {
        file.client.trust.clone()
    };
    let mut ca_pem = String::new();
    for r in pki.resolve(&roots).map_err(|source| CaseError::Pki {
        field: "client.trust",
        source,
    })? {
        ca_pem.push_str(&r.cert_pem());
    }
    let server_ca = dir.join("server-ca.pem");
    std::fs::write(&server_ca, ca_pem).map_err(|source| {
        CaseError::setup_in(
            "server CA file",
            RealClientError::Io {
                path: server_ca.clone(),
                source,
            },
        )
    })?;
    Ok(server_ca)
}

/// The connection that carried the request: one with a response, else the
/// last that alerted, else the last that got a TLS version. Browsers open
/// two or three more that end without a handshake.
fn main_record(records: &[ServerRecord]) -> Option<&ServerRecord> {
    records
        .iter()
        .rev()
        .find(|r| r.http_status.is_some() && !r.resumed)
        .or_else(|| records.iter().rev().find(|r| r.http_status.is_some()))
        .or_else(|| records.iter().rev().find(|r| r.alert.is_some()))
        .or_else(|| records.iter().rev().find(|r| r.tls_version.is_some()))
        .or_else(|| records.last())
}

/// Merge the gateway's view of the request with the program's report.
pub(crate) fn observation(
    kind: RealClientKind,
    wallet: &[WalletFiles],
    records: &[ServerRecord],
    run: &ClientRun,
) -> Observation {
    let mut obs = Observation::default();
    let rec = main_record(records);
    // A browser may send its request on a connection that resumed the
    // session of an earlier one: the certificate went on that earlier one.
    let full = rec.filter(|r| r.resumed).and_then(|_| {
        records
            .iter()
            .rev()
            .find(|r| !r.resumed && r.client_certificate_sent.is_some())
    });
    if let Some(rec) = rec {
        obs.tls_version = rec.tls_version;
        obs.certificate_requested = rec.certificate_requested;
        obs.ca_names = rec.ca_names.clone();
        obs.client_certificate_sent = rec.client_certificate_sent.unwrap_or(false);
        if !rec.log.is_empty() {
            obs.gateway_log = Some(rec.log.clone());
        }
        obs.alert = rec.alert.as_ref().map(|a| AlertSeen {
            description: a.clone(),
            sent_by: rec.alert_sent_by.unwrap_or(Side::Server),
        });
        obs.handshake = if obs.alert.is_some() {
            Some(Handshake::Aborted)
        } else if rec.handshake_complete {
            Some(Handshake::Complete)
        } else if rec.tls_version.is_some() {
            Some(Handshake::Aborted)
        } else {
            None
        };
        if let Some(full) = full {
            obs.client_certificate_sent = full.client_certificate_sent.unwrap_or(false);
            obs.certificate_requested = full.certificate_requested;
            obs.ca_names = full.ca_names.clone();
            obs.resumed = true;
        }
        let subject = full.unwrap_or(rec).client_cert_subject.as_ref();
        obs.chosen_cert = subject.map(|s| {
            wallet
                .iter()
                .find(|w| &w.subject == s)
                .map_or_else(|| s.clone(), |w| w.name.clone())
        });
        if obs.client_certificate_sent && obs.chosen_cert.is_none() {
            // Rejected in the handshake: the gateway never held the chain.
            obs.selection_reason = Some(format!(
                "{kind} sent a certificate (rejected in the handshake, so which one is not known)"
            ));
        }
    }
    if obs.selection_reason.is_none() {
        obs.selection_reason = Some(match &obs.chosen_cert {
            Some(name) => format!("{kind} sent `{name}`"),
            None if rec.is_some_and(|r| r.certificate_requested) => {
                format!("{kind} sent no certificate")
            }
            None => format!("{kind}: no certificate was asked for"),
        });
    }
    match (&run.report.http, rec.and_then(|r| r.http_status)) {
        (Some((status, body)), _) => {
            let mut excerpt = body.clone();
            excerpt.truncate(crate::tls::client::BODY_EXCERPT_BYTES);
            obs.http = Some(HttpSeen {
                status: *status,
                substatus: parse_substatus(body),
                body_excerpt: excerpt,
            });
        }
        (None, Some(status)) if run.hang.is_none() => {
            // The gateway answered; the program showed the page (a
            // browser's DOM) or nothing of it.
            let page = run
                .report
                .page
                .clone()
                .filter(|p| !p.is_empty())
                .or_else(|| rec.and_then(|r| r.body_excerpt.clone()))
                .unwrap_or_default();
            obs.http = Some(HttpSeen {
                status,
                substatus: parse_substatus(&page),
                body_excerpt: page,
            });
        }
        _ => {}
    }
    if let Some(error) = &run.report.error {
        obs.client_error_detail = Some(format!("{kind} ({}): {error}", run.exit));
        if obs.alert.is_none() && obs.http.is_none() {
            obs.client_error = Some("REAL_CLIENT_FAILED".into());
        }
    }
    if let Some(h) = &run.hang {
        obs.hang = Some(format!("client: {h}"));
    }
    obs
}
