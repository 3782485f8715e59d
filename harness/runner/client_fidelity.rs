//! The client fidelity table: every selection scenario (tag `selection`) x
//! every real client x TLS 1.2 and 1.3, against the built-in gateway,
//! compared with the built-in client following the policy that models the
//! program ([`RealClientKind::policy`]), whatever the scenario's own
//! `[client] selection` says. A cell agrees when both sent a certificate or
//! neither did, the same one, and the connection ended the same way.
//!
//! The gateway is the built-in `nginx` profile: it completes the handshake
//! for any certificate and decides at HTTP level, so the gateway's record
//! names the certificate each client sent.

use crate::case::{run_case, CaseError};
use crate::gateway::ProfileKind;
use crate::knobs::SelectionPolicy;
use crate::observation::{Observation, TlsVersion};
use crate::pki::Pki;
use crate::real::client::{observe_real_client, unsupported_client, RealClientKind};
use crate::scenario::Scenario;
use crate::tls::Timeouts;
use std::sync::Arc;

/// The gateway every cell runs against.
pub const GATEWAY: ProfileKind = ProfileKind::Nginx;

/// The tag that makes a scenario part of the table.
pub const TAG: &str = "selection";

/// What one side of a cell did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSide {
    pub sent: bool,
    /// The wallet name of the certificate the gateway got (when it knows).
    pub chosen: Option<String>,
    /// The outcome (`http 200`, `alert ...`, `hang ...`), or the setup error.
    pub outcome: String,
}

impl ClientSide {
    fn of(obs: &Observation) -> Self {
        ClientSide {
            sent: obs.client_certificate_sent,
            chosen: obs.chosen_cert.clone(),
            outcome: obs.outcome().to_string(),
        }
    }

    fn error(e: &CaseError) -> Self {
        ClientSide {
            sent: false,
            chosen: None,
            outcome: format!("error: {e}"),
        }
    }

    /// `alice -> http 200`, `none -> http 400`.
    pub fn short(&self) -> String {
        let what = match (&self.chosen, self.sent) {
            (Some(n), _) => n.clone(),
            (None, true) => "a certificate".into(),
            (None, false) => "none".into(),
        };
        format!("{what} -> {}", self.outcome)
    }
}

/// One scenario x client x TLS version.
#[derive(Debug, Clone)]
pub struct ClientCell {
    pub scenario: String,
    pub client: RealClientKind,
    pub tls: TlsVersion,
    /// The policy the built-in client followed.
    pub model: SelectionPolicy,
    pub expected: ClientSide,
    pub real: ClientSide,
}

impl ClientCell {
    pub fn agrees(&self) -> bool {
        self.expected == self.real
    }
}

/// The scenarios of the table: tagged `selection`, with a client a real
/// program can play (no middlebox, no forged header, one connection).
pub fn selection_scenarios<'a>(scenarios: &[&'a Scenario]) -> Vec<&'a Scenario> {
    scenarios
        .iter()
        .copied()
        .filter(|s| s.file.tags.iter().any(|t| t == TAG))
        .filter(|s| unsupported_client(&s.file).is_none())
        .collect()
}

/// Run every cell. `model` names the policy that models each client (the
/// registry's, unless a test substitutes a wrong one); `concurrency`
/// bounds the cells in flight (browsers are heavy: keep it low).
pub async fn client_fidelity(
    scenarios: &[&Scenario],
    pkis: &[Arc<Pki>],
    clients: &[RealClientKind],
    versions: &[TlsVersion],
    model: impl Fn(RealClientKind) -> SelectionPolicy,
    timeouts: Timeouts,
    concurrency: usize,
) -> Vec<ClientCell> {
    // Browsers are heavy: two at a time at most.
    let concurrency = if clients.iter().any(|k| k.is_browser()) {
        concurrency.clamp(1, 2)
    } else {
        concurrency.max(1)
    };
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut set = tokio::task::JoinSet::new();
    let mut order = 0usize;
    for (s, pki) in scenarios.iter().zip(pkis) {
        for &client in clients {
            for &tls in versions {
                let scenario = (*s).clone();
                let pki = pki.clone();
                let policy = model(client);
                let permit = semaphore.clone();
                let index = order;
                order += 1;
                set.spawn(async move {
                    let _permit = permit.acquire_owned().await.expect("semaphore open");
                    let mut modelled = scenario.file.clone();
                    modelled.client.selection = policy;
                    let expected = match run_case(&pki, &modelled, GATEWAY, tls, timeouts).await {
                        Ok(obs) => ClientSide::of(&obs),
                        Err(e) => ClientSide::error(&e),
                    };
                    let real = match observe_real_client(
                        &pki,
                        &scenario.file,
                        GATEWAY,
                        tls,
                        timeouts,
                        client,
                    )
                    .await
                    {
                        Ok(obs) => ClientSide::of(&obs),
                        Err(e) => ClientSide::error(&e),
                    };
                    (
                        index,
                        ClientCell {
                            scenario: scenario.id.clone(),
                            client,
                            tls,
                            model: policy,
                            expected,
                            real,
                        },
                    )
                });
            }
        }
    }
    let mut cells = Vec::new();
    while let Some(joined) = set.join_next().await {
        cells.push(joined.expect("client fidelity cell"));
    }
    cells.sort_by_key(|(i, _)| *i);
    cells.into_iter().map(|(_, c)| c).collect()
}

/// `docs/client-fidelity.md`: one row per scenario, one column per client;
/// a cell is `agree` (with what was sent on 1.2 / 1.3) or what differed.
pub fn client_fidelity_markdown(cells: &[ClientCell], note: &str) -> String {
    let mut clients: Vec<RealClientKind> = Vec::new();
    let mut scenarios: Vec<&str> = Vec::new();
    for c in cells {
        if !clients.contains(&c.client) {
            clients.push(c.client);
        }
        if !scenarios.contains(&c.scenario.as_str()) {
            scenarios.push(&c.scenario);
        }
    }
    let agree = cells.iter().filter(|c| c.agrees()).count();
    let mut out = format!(
        "# Client fidelity\n\n\
         Generated by `UPDATE_DOCS=1 cargo test --test client_fidelity`; do not edit.\n\n\
         Every selection scenario (tag `{TAG}`) with each real client, on TLS 1.2 and 1.3, \
         against the built-in `{GATEWAY}` gateway (it completes the handshake for any \
         certificate, so it names the one it got), compared with the built-in client \
         following the policy that models the program ([clients.md](clients.md)), \
         whatever the scenario's own `[client] selection`. A cell shows what the real \
         client sent and how the request ended, for 1.2 / 1.3 when they differ.\n\n\
         {note}\n\n\
         **{agree} of {} cells agree, {} differ.**\n\n",
        cells.len(),
        cells.len() - agree
    );
    out.push_str("| scenario |");
    for k in &clients {
        out.push_str(&format!(" `{k}` (`{}`) |", k.policy().as_str()));
    }
    out.push_str("\n|---|");
    for _ in &clients {
        out.push_str("---|");
    }
    out.push('\n');
    for s in &scenarios {
        out.push_str(&format!("| `{s}` |"));
        for k in &clients {
            let mine: Vec<&ClientCell> = cells
                .iter()
                .filter(|c| c.scenario == *s && c.client == *k)
                .collect();
            let differ: Vec<String> = mine
                .iter()
                .filter(|c| !c.agrees())
                .map(|c| {
                    format!(
                        "**differ {}**: expected {}, got {}",
                        c.tls,
                        c.expected.short(),
                        c.real.short()
                    )
                })
                .collect();
            let cell = if mine.is_empty() {
                "-".to_string()
            } else if differ.is_empty() {
                let shorts: Vec<String> = mine.iter().map(|c| c.real.short()).collect();
                let mut uniq = shorts.clone();
                uniq.dedup();
                format!("agree: {}", uniq.join(" / "))
            } else {
                differ.join("; ")
            };
            out.push_str(&format!(" {} |", cell.replace('|', "\\|")));
        }
        out.push('\n');
    }
    out
}
