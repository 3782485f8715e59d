//! Running the cases: a few lanes, each with its own Apache (so each
//! case's log lines are its own: a lane runs its cases one after another)
//! and its own private directory holding the wallets; the lanes run
//! concurrently. Every program runs under a time limit in its own process
//! group (`real::client::run_real_client`), every Apache is stopped and
//! every directory removed when its lane ends, also on error or Ctrl-C (both
//! are in the interrupt registry while they live).

use super::apache;
use super::outcome::{
    apache_codes, apache_requests, of_observation, of_real_run, CaseOutcome, Outcome,
};
use super::plan::{measurement_pki, Case, Subject};
use super::table::Measured;
use super::AfterRequestError;
use crate::interrupt::Registry;
use crate::knobs::SelectionPolicy;
use crate::observation::Side;
use crate::pki::Pki;
use crate::real::client::{
    run_real_client, run_real_client_until, ClientJob, ClientRun, RealClientKind, WalletFiles,
};
use crate::real::RealServer;
use crate::tls::client::{ClientSpec, WalletEntry};
use crate::tls::Timeouts;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one client may run (Java starts in about a second).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

/// How many more times a case runs when its client reported Apache's
/// alert: a connection closed in any run is what is recorded (the race is
/// the client's: see [`CaseOutcome`]).
pub const REPEATS_OF_AN_ALERT: usize = 2;

/// Clients whose reading of Apache's refusal after the request is a race
/// between its alert and the connection closed under them, measured: JSSE
/// mostly reports a broken pipe, sometimes the alert; gnutls-cli the alert
/// or `The specified session has been invalidated`. For them both are
/// [`Outcome::ClosedOrAlert`].
const RACY_REFUSAL: [RealClientKind; 2] = [RealClientKind::Java, RealClientKind::Gnutls];

/// How long Apache's log must stay unchanged after a client exits before
/// the case's lines are taken, and the most that is waited.
const LOG_QUIET: Duration = Duration::from_millis(200);
const LOG_AT_MOST: Duration = Duration::from_secs(2);

/// Measure `cases` on `lanes` concurrent Apaches; the results in the
/// order of `cases`.
pub async fn measure(cases: &[Case], lanes: usize) -> Result<Vec<Measured>, AfterRequestError> {
    let pki = Arc::new(measurement_pki()?);
    // Build the programs the harness builds (Go) once, before the lanes.
    let mut kinds: Vec<RealClientKind> = Vec::new();
    for c in cases {
        if let Subject::Real(k) = c.variant.subject {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    for k in kinds {
        tokio::task::spawn_blocking(move || k.executable())
            .await
            .expect("build task")
            .map_err(|source| AfterRequestError::client(k, source))?;
    }
    let lanes = lanes.clamp(1, cases.len().max(1));
    let mut set = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let mine: Vec<(usize, Case)> = cases
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % lanes == lane)
            .collect();
        let pki = pki.clone();
        set.spawn(async move { run_lane(&pki, mine).await });
    }
    let mut results: Vec<Option<Measured>> = vec![None; cases.len()];
    let mut first_error = None;
    while let Some(joined) = set.join_next().await {
        match joined.expect("lane task") {
            Ok(done) => {
                for (i, m) in done {
                    results[i] = Some(m);
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(results
        .into_iter()
        .map(|m| m.expect("every case ran"))
        .collect())
}

/// The files a lane's clients share.
struct LaneFiles {
    matching: WalletFiles,
    non_matching: WalletFiles,
    server_ca: std::path::PathBuf,
}

async fn run_lane(
    pki: &Pki,
    cases: Vec<(usize, Case)>,
) -> Result<Vec<(usize, Measured)>, AfterRequestError> {
    let (dir, _dir_registered) = Registry::global()
        .create_temp_dir("mtls-after-request-")
        .map_err(|source| AfterRequestError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let files = lane_files(pki, dir.path())?;
    let server = apache::start(pki, None).await?;
    let mut out = Vec::new();
    for (n, (i, case)) in cases.into_iter().enumerate() {
        let case_dir = dir.path().join(format!("case-{n}"));
        std::fs::create_dir_all(&case_dir).map_err(|source| AfterRequestError::Io {
            path: case_dir.clone(),
            source,
        })?;
        let result = run_case(pki, &server, &files, &case_dir, case).await;
        match result {
            Ok(r) => out.push((i, Measured { case, result: r })),
            Err(e) => {
                server.shutdown().await;
                return Err(e);
            }
        }
    }
    server.shutdown().await;
    drop(dir);
    Ok(out)
}

fn lane_files(pki: &Pki, dir: &Path) -> Result<LaneFiles, AfterRequestError> {
    let client = |source| AfterRequestError::client("wallet", source);
    let matching = WalletFiles::write(dir, 0, pki.cert("alice")?, true).map_err(client)?;
    let non_matching = WalletFiles::write(dir, 1, pki.cert("mallory")?, true).map_err(client)?;
    let server_ca = dir.join("server-ca.pem");
    std::fs::write(&server_ca, pki.cert("root")?.cert_pem()).map_err(|source| {
        AfterRequestError::Io {
            path: server_ca.clone(),
            source,
        }
    })?;
    Ok(LaneFiles {
        matching,
        non_matching,
        server_ca,
    })
}

/// One case against the lane's Apache (a browser, which cannot pin its
/// own TLS version, against one of its own that offers only the case's),
/// repeated when its client reported Apache's alert
/// ([`REPEATS_OF_AN_ALERT`]).
async fn run_case(
    pki: &Pki,
    lane_server: &RealServer,
    files: &LaneFiles,
    dir: &Path,
    case: Case,
) -> Result<CaseOutcome, AfterRequestError> {
    let own = match case.variant.subject {
        Subject::Real(kind) if kind.is_browser() => {
            Some(apache::start(pki, Some(case.version)).await?)
        }
        _ => None,
    };
    let server = own.as_ref().unwrap_or(lane_server);
    let result = run_repeated(pki, server, files, dir, case).await;
    if let Some(own) = own {
        own.shutdown().await;
    }
    result
}

async fn run_repeated(
    pki: &Pki,
    server: &RealServer,
    files: &LaneFiles,
    dir: &Path,
    case: Case,
) -> Result<CaseOutcome, AfterRequestError> {
    let mut result = run_once(pki, server, files, dir, case).await?;
    for _ in 0..REPEATS_OF_AN_ALERT {
        if !matches!(
            result.outcome,
            Outcome::Alert {
                sent_by: Side::Server,
                ..
            }
        ) {
            break;
        }
        let again = run_once(pki, server, files, dir, case).await?;
        if again.outcome == Outcome::ConnectionClosed {
            result = again;
        }
    }
    let racy = matches!(case.variant.subject, Subject::Real(k) if RACY_REFUSAL.contains(&k));
    if racy
        && matches!(
            result.outcome,
            Outcome::ConnectionClosed
                | Outcome::Alert {
                    sent_by: Side::Server,
                    ..
                }
        )
    {
        result.outcome = Outcome::ClosedOrAlert;
    }
    Ok(result)
}

/// What a client left to read.
enum Seen {
    /// A real program's run; whether it is a browser.
    Real(Box<ClientRun>, bool),
    /// The harness's own client, read from its observation.
    Rustls(Outcome),
}

/// One run of a case against the lane's Apache.
async fn run_once(
    pki: &Pki,
    server: &RealServer,
    files: &LaneFiles,
    dir: &Path,
    case: Case,
) -> Result<CaseOutcome, AfterRequestError> {
    let mark = server.log_mark();
    // What the client saw, read once Apache's log is in (a browser's page
    // takes its status from Apache's access log).
    let (seen, detail) = match case.variant.subject {
        Subject::Real(kind) => {
            let wallet: Vec<WalletFiles> = match case.presented.cert_name() {
                Some("alice") => vec![files.matching.clone()],
                Some(_) => vec![files.non_matching.clone()],
                None => Vec::new(),
            };
            let port = server.addr().port();
            let job = ClientJob {
                url: format!("https://localhost:{port}{}", apache::PAGE),
                port,
                version: case.version,
                wallet: &wallet,
                server_ca: files.server_ca.clone(),
                dir,
                timeout: CLIENT_TIMEOUT,
                auto_select: true,
                headers: &[],
                connect_to: None,
                after_request: case.variant.options,
            };
            // A browser may keep its error page open after Apache ended the
            // connection (headless Firefox never returns from it): once
            // Apache's log shows the refusal, it gets a moment, then stops.
            let failed = Arc::new(AtomicBool::new(false));
            let watcher = kind
                .is_browser()
                .then(|| watch_refusal(server, &mark, failed.clone()));
            let run = match watcher {
                Some(watch) => {
                    let run = tokio::select! {
                        run = run_real_client_until(kind, &job, failed) => run,
                        never = watch => match never {},
                    };
                    run
                }
                None => run_real_client(kind, &job).await,
            }
            .map_err(|source| AfterRequestError::client(kind, source))?;
            let detail = format!(
                "exit {}; stdout: {}; stderr: {}",
                run.exit,
                run.stdout.trim(),
                run.stderr.trim()
            );
            (Seen::Real(Box::new(run), kind.is_browser()), detail)
        }
        Subject::Rustls => {
            let mut wallet = Vec::new();
            if let Some(name) = case.presented.cert_name() {
                wallet.push(WalletEntry::from_issued(pki.cert(name)?, true)?);
            }
            let spec = ClientSpec {
                wallet,
                selection: SelectionPolicy::Always,
                server_roots: vec![pki.cert("root")?.der.clone()],
                versions: vec![case.version],
                timeouts: Timeouts::default(),
                request_path: apache::PAGE.into(),
                ..Default::default()
            };
            let obs = spec.exchange(server.addr()).await;
            let detail = format!(
                "{:?} {:?} {:?}",
                obs.http, obs.alert, obs.client_error_detail
            );
            (Seen::Rustls(of_observation(&obs)), detail)
        }
    };
    let log = settled_log(server, &mark).await;
    let requests = apache_requests(&log);
    Ok(CaseOutcome {
        outcome: match seen {
            Seen::Real(run, browser) => of_real_run(&run, &requests, browser),
            Seen::Rustls(outcome) => outcome,
        },
        apache: apache_codes(&log),
        requests,
        detail,
    })
}

/// The codes with which Apache refuses a certificate asked for after the
/// request in the handshake (the connection ends with an alert).
const REFUSALS: [&str; 3] = ["AH02261", "AH02262", "AH02263"];

/// How long Apache's log must stay unchanged after a refusal before a
/// browser is taken to be sitting at its error page: a browser that retries
/// (Chromium and Firefox reconnect with the selected certificate after a
/// first refused renegotiation) makes Apache log its new connection first.
const REFUSAL_QUIET: Duration = Duration::from_millis(1500);

/// Sets `failed` once Apache's log since `mark` shows a [`REFUSALS`] code
/// and has stayed unchanged for [`REFUSAL_QUIET`]; runs until dropped.
async fn watch_refusal(
    server: &RealServer,
    mark: &[usize],
    failed: Arc<AtomicBool>,
) -> std::convert::Infallible {
    let mut last = server.log_mark();
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = server.log_mark();
        if now != last {
            last = now;
            since = Instant::now();
            continue;
        }
        if !failed.load(Ordering::SeqCst) && since.elapsed() >= REFUSAL_QUIET {
            let log = server.log_since(mark);
            if REFUSALS.iter().any(|c| log.contains(c)) {
                failed.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Apache's lines since `mark`, once the log has been quiet for
/// [`LOG_QUIET`] (Apache writes a connection's lines before closing it, so
/// they are normally there when the client exits).
pub(super) async fn settled_log(server: &RealServer, mark: &[usize]) -> String {
    let start = Instant::now();
    let mut last = server.log_mark();
    let mut since = Instant::now();
    while start.elapsed() < LOG_AT_MOST {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = server.log_mark();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= LOG_QUIET {
            break;
        }
    }
    server.log_since(mark)
}
