//! The fidelity table: every scenario run on each built-in profile and on the
//! real gateway it models, and whether the two answered the same.

use crate::case::{run_case, CaseError};
use crate::gateway::ProfileKind;
use crate::interrupt::CancelToken;
use crate::observation::{Observation, Outcome, TlsVersion};
use crate::pki::Pki;
use crate::real::{observe_real_gateway, RealKind};
use crate::scenario::Scenario;
use crate::tls::Timeouts;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// One scenario x real gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Fidelity {
    /// Same outcome on every TLS version the scenario runs.
    Agree,
    /// `(tls, built-in outcome, real outcome)` for each version that differed.
    Differ {
        versions: Vec<(TlsVersion, String, String)>,
    },
    /// The scenario has no expectation for the profile, or the real gateway
    /// cannot be configured that way.
    NotApplicable { reason: String },
    /// A signal stopped the table before this comparison finished.
    Interrupted { signal: String },
}

#[derive(Debug, Clone)]
pub struct FidelityRow {
    pub scenario: String,
    pub cells: Vec<(RealKind, Fidelity)>,
}

impl FidelityRow {
    pub fn to_json(&self) -> serde_json::Value {
        let cells: serde_json::Map<String, serde_json::Value> = self
            .cells
            .iter()
            .map(|(k, f)| {
                (
                    format!("real:{}", k.name()),
                    serde_json::to_value(f).unwrap_or_default(),
                )
            })
            .collect();
        serde_json::json!({ "scenario": self.scenario, "gateways": cells })
    }
}

/// The profiles no real program here stands for, and where each one's
/// behaviour comes from (its registered sources).
pub fn documented() -> Vec<(&'static str, String)> {
    ProfileKind::ALL
        .into_iter()
        .filter(|p| RealKind::ALL.iter().all(|r| r.profile() != *p))
        .map(|p| {
            (
                p.name(),
                format!("documented: {}", p.info().sources.join("; ")),
            )
        })
        .collect()
}

/// The part of an observation two gateways must share to agree: the
/// [`Outcome`] (alert and sender, HTTP status and IIS substatus, client
/// error, hang) and whether a certificate was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeKey {
    pub outcome: Outcome,
    pub certificate_sent: bool,
}

impl fmt::Display for OutcomeKey {
    /// `alert unknown_ca by server, cert sent`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent = if self.certificate_sent {
            "sent"
        } else {
            "not sent"
        };
        write!(f, "{}, cert {sent}", self.outcome)
    }
}

pub fn outcome_key(o: &Observation) -> OutcomeKey {
    OutcomeKey {
        outcome: o.outcome(),
        certificate_sent: o.client_certificate_sent,
    }
}

/// One cell's versions compared as they come; see [`Cell::pair`].
#[derive(Debug, Default)]
pub(crate) struct Cell {
    differ: Vec<(TlsVersion, String, String)>,
}

impl Cell {
    /// Both observations of version `v`, or the cell's end: not applicable
    /// when either side cannot be configured so, a setup failure as a
    /// difference.
    pub(crate) fn pair(
        v: TlsVersion,
        builtin: Result<Observation, CaseError>,
        real: Result<Observation, CaseError>,
    ) -> Result<(Observation, Observation), Fidelity> {
        match (builtin, real) {
            (_, Err(CaseError::Unsupported(reason))) | (Err(CaseError::Unsupported(reason)), _) => {
                Err(Fidelity::NotApplicable { reason })
            }
            (Err(e), _) | (_, Err(e)) => Err(Fidelity::Differ {
                versions: vec![(v, "setup".into(), e.to_string())],
            }),
            (Ok(b), Ok(r)) => Ok((b, r)),
        }
    }

    /// Note whether version `v`'s outcomes differ.
    pub(crate) fn compare(&mut self, v: TlsVersion, builtin: &Observation, real: &Observation) {
        let (b, r) = (outcome_key(builtin), outcome_key(real));
        if b != r {
            self.differ.push((v, b.to_string(), r.to_string()));
        }
    }

    /// [`Self::compare`] for the connection of step `step`.
    pub(crate) fn compare_step(
        &mut self,
        v: TlsVersion,
        step: usize,
        builtin: &Observation,
        real: &Observation,
    ) {
        let (b, r) = (outcome_key(builtin), outcome_key(real));
        if b != r {
            self.differ
                .push((v, format!("step {step}: {b}"), format!("step {step}: {r}")));
        }
    }

    pub(crate) fn verdict(self) -> Fidelity {
        if self.differ.is_empty() {
            Fidelity::Agree
        } else {
            Fidelity::Differ {
                versions: self.differ,
            }
        }
    }
}

async fn compare(scenario: &Scenario, pki: &Pki, kind: RealKind, timeouts: Timeouts) -> Fidelity {
    let profile = kind.profile();
    if !scenario.profiles_to_run().0.contains(&profile.name()) {
        return Fidelity::NotApplicable {
            reason: format!("no {profile} expectation"),
        };
    }
    let mut cell = Cell::default();
    for &v in &scenario.file.server.tls {
        // The built-in client plays the scenario's client on both sides.
        if let Some(reason) = crate::backend::builtin_client_refusal(&scenario.file, v) {
            return Fidelity::NotApplicable { reason };
        }
        if !scenario.file.steps.is_empty() {
            // Every connection of the steps, compared one by one.
            let builtin =
                crate::steps::builtin::run(pki, &scenario.file, profile, v, timeouts).await;
            let real = crate::real::steps::run(pki, &scenario.file, kind, v, timeouts).await;
            match Cell::pair(v, builtin, real) {
                Ok((b, r)) => {
                    for (bs, rs) in b.steps.iter().zip(&r.steps) {
                        if let (Some(bo), Some(ro)) = (&bs.observation, &rs.observation) {
                            cell.compare_step(v, bs.step, bo, ro);
                        }
                    }
                }
                Err(end) => return end,
            }
            continue;
        }
        let builtin = run_case(pki, &scenario.file, profile, v, timeouts).await;
        let real = observe_real_gateway(pki, &scenario.file, kind, v, timeouts, |_| {}).await;
        match Cell::pair(v, builtin, real) {
            Ok((b, r)) => cell.compare(v, &b, &r),
            Err(end) => return end,
        }
    }
    cell.verdict()
}

/// Run the table, `concurrency` comparisons at a time, until
/// [`CancelToken::global`] is cancelled (see [`fidelity_with`]).
pub async fn fidelity(
    scenarios: &[&Scenario],
    pkis: &[Arc<Pki>],
    kinds: &[RealKind],
    timeouts: Timeouts,
    concurrency: usize,
    progress: impl FnMut(usize, usize),
) -> Vec<FidelityRow> {
    fidelity_with(
        scenarios,
        pkis,
        kinds,
        timeouts,
        concurrency,
        &CancelToken::global(),
        progress,
    )
    .await
}

/// [`fidelity`] stopped by `cancel`: no comparison starts once it is
/// cancelled, the ones in flight are dropped (their real gateways stopped),
/// and their cells say [`Fidelity::Interrupted`].
pub async fn fidelity_with(
    scenarios: &[&Scenario],
    pkis: &[Arc<Pki>],
    kinds: &[RealKind],
    timeouts: Timeouts,
    concurrency: usize,
    cancel: &CancelToken,
    mut progress: impl FnMut(usize, usize),
) -> Vec<FidelityRow> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in scenarios.iter().enumerate() {
        for (k, kind) in kinds.iter().enumerate() {
            let (scenario, pki, sem, kind) = ((*s).clone(), pkis[i].clone(), sem.clone(), *kind);
            let cancel = cancel.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await.expect("semaphore open");
                if let Some(signal) = cancel.signal() {
                    return (i, k, interrupted(signal));
                }
                tokio::select! {
                    f = compare(&scenario, &pki, kind, timeouts) => (i, k, f),
                    signal = cancel.cancelled() => (i, k, interrupted(signal)),
                }
            });
        }
    }
    let total = set.len();
    let mut cells: Vec<Vec<Option<Fidelity>>> = vec![vec![None; kinds.len()]; scenarios.len()];
    let mut done = 0;
    while let Some(r) = set.join_next().await {
        done += 1;
        progress(done, total);
        if let Ok((i, k, f)) = r {
            cells[i][k] = Some(f);
        }
    }
    scenarios
        .iter()
        .zip(cells)
        .map(|(s, row)| FidelityRow {
            scenario: s.id.clone(),
            cells: kinds
                .iter()
                .zip(row)
                .map(|(k, c)| (*k, c.unwrap_or(Fidelity::Differ { versions: vec![] })))
                .collect(),
        })
        .collect()
}

fn interrupted(signal: crate::interrupt::Signal) -> Fidelity {
    Fidelity::Interrupted {
        signal: signal.name().into(),
    }
}

fn cell_text(f: &Fidelity) -> String {
    match f {
        Fidelity::Interrupted { signal } => format!("not run (interrupted by {signal})"),
        Fidelity::Agree => "agree".into(),
        Fidelity::NotApplicable { reason } => format!("n/a ({})", reason.replace('|', "/")),
        Fidelity::Differ { versions } => {
            let parts: Vec<String> = versions
                .iter()
                .map(|(v, b, r)| format!("TLS {v}: built-in {b} / real {r}"))
                .collect();
            format!("**differ**: {}", parts.join("; ").replace('|', "/"))
        }
    }
}

/// Counts of agree / differ / not applicable (interrupted cells count in
/// none: see [`interrupted_cells`]).
pub fn totals(rows: &[FidelityRow]) -> (usize, usize, usize) {
    let mut t = (0, 0, 0);
    for c in rows.iter().flat_map(|r| &r.cells) {
        match c.1 {
            Fidelity::Agree => t.0 += 1,
            Fidelity::Differ { .. } => t.1 += 1,
            Fidelity::NotApplicable { .. } => t.2 += 1,
            Fidelity::Interrupted { .. } => {}
        }
    }
    t
}

/// The cells a signal kept from running, and the signal.
pub fn interrupted_cells(rows: &[FidelityRow]) -> Option<(usize, String)> {
    let mut signal = None;
    let n = rows
        .iter()
        .flat_map(|r| &r.cells)
        .filter_map(|(_, f)| match f {
            Fidelity::Interrupted { signal: s } => {
                signal.get_or_insert_with(|| s.clone());
                Some(())
            }
            _ => None,
        })
        .count();
    signal.map(|s| (n, s))
}

/// The table in Markdown (docs/fidelity.md).
pub fn markdown(rows: &[FidelityRow], kinds: &[RealKind]) -> String {
    let mut s = String::from("| scenario |");
    for k in kinds {
        s.push_str(&format!(" real {} (as `{}`) |", k.name(), k.profile()));
    }
    s.push_str("\n|---|");
    for _ in kinds {
        s.push_str("---|");
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| `{}` |", r.scenario));
        for (_, f) in &r.cells {
            s.push_str(&format!(" {} |", cell_text(f)));
        }
        s.push('\n');
    }
    let (agree, differ, na) = totals(rows);
    s.push_str(&format!(
        "\n{agree} agree, {differ} differ, {na} not applicable.\n\n"
    ));
    if let Some((n, signal)) = interrupted_cells(rows) {
        s.push_str(&format!(
            "**Partial table: interrupted by {signal}; {n} comparisons did not run.**\n\n"
        ));
    }
    for (g, why) in documented() {
        s.push_str(&format!("- `{g}`: {why}\n"));
    }
    s
}

#[cfg(test)]
mod outcome_key_tests {
    use super::*;
    use crate::observation::{AlertSeen, HttpSeen, Side};

    #[test]
    fn the_key_is_the_outcome_and_whether_a_certificate_was_sent() {
        let alert = Observation {
            alert: Some(AlertSeen {
                description: "unknown_ca".into(),
                sent_by: Side::Server,
            }),
            client_certificate_sent: true,
            ..Default::default()
        };
        assert_eq!(
            outcome_key(&alert).to_string(),
            "alert unknown_ca by server, cert sent"
        );
        let not_sent = Observation {
            client_certificate_sent: false,
            ..alert.clone()
        };
        assert_ne!(outcome_key(&alert), outcome_key(&not_sent));
        assert_eq!(
            outcome_key(&not_sent).to_string(),
            "alert unknown_ca by server, cert not sent"
        );
        // The body, the log and the handshake state are not compared.
        let page = |body: &str, log: &str| Observation {
            http: Some(HttpSeen {
                status: 400,
                substatus: None,
                body_excerpt: body.into(),
            }),
            gateway_log: Some(log.into()),
            ..Default::default()
        };
        assert_eq!(
            outcome_key(&page("<html>nginx</html>", "a")),
            outcome_key(&page("400 Bad Request", "b"))
        );
        assert_eq!(
            outcome_key(&Observation::default()).to_string(),
            "no outcome, cert not sent"
        );
    }
}
