//! The middlebox fidelity table: every scenario with a `[middlebox]` run with
//! the built-in middlebox and with each real middlebox program that can be
//! what the scenario asks for, in front of the same built-in gateway (the
//! `nginx` profile: the origin the field reports used), and whether the two
//! answered the same.

use super::fidelity::{Cell, Fidelity};
use crate::case::run_case;
use crate::gateway::ProfileKind;
use crate::oracle::judge;
use crate::pki::Pki;
use crate::real::middlebox::{observe_through_middlebox, Origin, RealMiddlebox};
use crate::scenario::Scenario;
use crate::tls::Timeouts;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The gateway profile every middlebox comparison runs in front of.
pub const ORIGIN: ProfileKind = ProfileKind::Nginx;

/// One scenario x real middlebox.
#[derive(Debug, Clone)]
pub struct MiddleboxRow {
    pub scenario: String,
    pub cells: Vec<(RealMiddlebox, Fidelity)>,
}

/// One start of a real middlebox: what it was, its pid (and process group),
/// its prefix, and how long it took to accept connections.
#[derive(Debug, Clone)]
pub struct MiddleboxStart {
    pub program: RealMiddlebox,
    pub pid: u32,
    pub prefix: PathBuf,
    pub startup: Duration,
}

/// A real run whose verdict on the scenario's expectations was not PASS.
#[derive(Debug, Clone)]
pub struct RealFailure {
    pub scenario: String,
    pub program: RealMiddlebox,
    pub verdict: String,
}

/// What [`middlebox_fidelity`] found.
#[derive(Debug, Clone, Default)]
pub struct MiddleboxFidelity {
    pub rows: Vec<MiddleboxRow>,
    pub starts: Vec<MiddleboxStart>,
    /// Real runs that did not meet the scenario's `nginx` expectations.
    pub failures: Vec<RealFailure>,
}

async fn compare(
    scenario: &Scenario,
    pki: &Pki,
    program: RealMiddlebox,
    timeouts: Timeouts,
    starts: &Mutex<Vec<MiddleboxStart>>,
    failures: &Mutex<Vec<RealFailure>>,
) -> Fidelity {
    let Some(spec) = &scenario.file.middlebox else {
        return Fidelity::NotApplicable {
            reason: "no [middlebox]".into(),
        };
    };
    if let Err(why) = program.supports(spec) {
        return Fidelity::NotApplicable {
            reason: why.to_string(),
        };
    }
    if !scenario.profiles_to_run().0.contains(&ORIGIN.name()) {
        return Fidelity::NotApplicable {
            reason: format!("no {ORIGIN} expectation"),
        };
    }
    let mut cell = Cell::default();
    for &v in &scenario.file.server.tls {
        let builtin = run_case(pki, &scenario.file, ORIGIN, v, timeouts).await;
        let real = observe_through_middlebox(
            pki,
            &scenario.file,
            Origin::Builtin(ORIGIN),
            program,
            v,
            timeouts,
            |mb| {
                starts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(MiddleboxStart {
                        program,
                        pid: mb.pid(),
                        prefix: mb.prefix().to_path_buf(),
                        startup: mb.startup(),
                    })
            },
        )
        .await;
        let (b, r) = match Cell::pair(v, builtin, real) {
            Ok(pair) => pair,
            Err(end) => return end,
        };
        let verdict = judge(&scenario.expectation(ORIGIN.name(), v), &r);
        if !matches!(verdict, crate::oracle::Verdict::Pass) {
            failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(RealFailure {
                    scenario: format!("{} (TLS {v})", scenario.id),
                    program,
                    verdict: format!("{verdict:?}"),
                });
        }
        cell.compare(v, &b, &r);
    }
    cell.verdict()
}

/// Run the table for the `scenarios` that have a `[middlebox]`,
/// `concurrency` comparisons at a time.
pub async fn middlebox_fidelity(
    scenarios: &[&Scenario],
    pkis: &[Arc<Pki>],
    programs: &[RealMiddlebox],
    timeouts: Timeouts,
    concurrency: usize,
) -> MiddleboxFidelity {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let starts = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let with_middlebox: Vec<usize> = (0..scenarios.len())
        .filter(|&i| scenarios[i].file.middlebox.is_some())
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for (row, &i) in with_middlebox.iter().enumerate() {
        for (k, &program) in programs.iter().enumerate() {
            let (scenario, pki, sem) = ((*scenarios[i]).clone(), pkis[i].clone(), sem.clone());
            let (starts, failures) = (starts.clone(), failures.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await.expect("semaphore open");
                let f = compare(&scenario, &pki, program, timeouts, &starts, &failures).await;
                (row, k, f)
            });
        }
    }
    let mut cells: Vec<Vec<Option<Fidelity>>> =
        vec![vec![None; programs.len()]; with_middlebox.len()];
    while let Some(r) = set.join_next().await {
        if let Ok((row, k, f)) = r {
            cells[row][k] = Some(f);
        }
    }
    let rows = with_middlebox
        .iter()
        .zip(cells)
        .map(|(&i, row)| MiddleboxRow {
            scenario: scenarios[i].id.clone(),
            cells: programs
                .iter()
                .zip(row)
                .map(|(p, c)| (*p, c.unwrap_or(Fidelity::Differ { versions: vec![] })))
                .collect(),
        })
        .collect();
    MiddleboxFidelity {
        rows,
        starts: take(&starts),
        failures: take(&failures),
    }
}

fn take<T>(m: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The table as Markdown: one row per scenario, one column per program.
pub fn markdown(rows: &[MiddleboxRow], programs: &[RealMiddlebox]) -> String {
    let mut out = String::from("| scenario |");
    for p in programs {
        let kinds: Vec<&str> = p.kinds().iter().map(|k| k.name()).collect();
        out.push_str(&format!(" {p} ({}) |", kinds.join(", ")));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(programs.len()));
    out.push('\n');
    for r in rows {
        out.push_str(&format!("| `{}` |", r.scenario));
        for (_, f) in &r.cells {
            let text = match f {
                Fidelity::Agree => "agree".to_string(),
                Fidelity::NotApplicable { reason } => format!("n/a ({})", reason.replace('|', "/")),
                Fidelity::Differ { versions } => {
                    let parts: Vec<String> = versions
                        .iter()
                        .map(|(v, b, r)| format!("TLS {v}: built-in {b} / real {r}"))
                        .collect();
                    format!("**differ**: {}", parts.join("; ").replace('|', "/"))
                }
                Fidelity::Interrupted { signal } => format!("not run (interrupted by {signal})"),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out
}
