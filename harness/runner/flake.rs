//! The flake gate's comparison: the same catalog run several times must end
//! every case the same way. Runs are compared through their JSON reports
//! (`run --format json`); a case's outcome is its verdict and what the
//! connection ended in ([`outcome_key`]: alert and sender, HTTP status,
//! client error, hang, and whether a certificate was sent), not its
//! timings, log lines or page text (`s_server`'s page names its port).

use super::fidelity::outcome_key;
use crate::observation::Observation;
use std::collections::BTreeMap;

/// Why reports cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum FlakeError {
    #[error("report {index}: not a run report (no `results` array)")]
    NotAReport { index: usize },
    #[error("report {index}: case {case}: {source}")]
    Observation {
        index: usize,
        case: String,
        #[source]
        source: serde_json::Error,
    },
    /// A partial report would show every case it did not run as changed.
    #[error("report {index} was interrupted ({signal}): rerun it")]
    Interrupted { index: usize, signal: String },
}

/// A case that did not end the same way in every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeChange {
    /// `seeds::001_key_mismatch [real:haproxy (haproxy) TLS1.3]`.
    pub case: String,
    /// Each outcome seen and the runs (0-based) that saw it, most common
    /// first.
    pub outcomes: Vec<(String, Vec<usize>)>,
}

impl std::fmt::Display for OutcomeChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.case)?;
        for (outcome, runs) in &self.outcomes {
            write!(f, "\n    {} of {} runs: {outcome}", runs.len(), self.runs())?;
            if runs.len() <= 5 {
                let list: Vec<String> = runs.iter().map(|r| (r + 1).to_string()).collect();
                write!(f, " (run {})", list.join(", "))?;
            }
        }
        Ok(())
    }
}

impl OutcomeChange {
    fn runs(&self) -> usize {
        self.outcomes.iter().map(|(_, r)| r.len()).sum()
    }
}

/// One case's outcome in one report.
fn outcome_of(case: &serde_json::Value) -> Result<String, serde_json::Error> {
    let verdict = case["verdict"].as_str().unwrap_or("?");
    Ok(match verdict {
        "SKIP" => format!("SKIP: {}", case["reason"].as_str().unwrap_or("")),
        "HANG" => format!("HANG in {}", case["stage"].as_str().unwrap_or("?")),
        _ => match &case["observation"] {
            serde_json::Value::Null => {
                // A case that could not be set up: its diff says why.
                let got = case["diffs"][0]["got"].as_str().unwrap_or("");
                format!("{verdict}: {}", got.lines().next().unwrap_or(""))
            }
            obs => {
                let obs: Observation = serde_json::from_value(obs.clone())?;
                format!("{verdict}: {}", outcome_key(&obs))
            }
        },
    })
}

/// Every case whose outcome is not the same in all `reports` (a case
/// missing from a run counts as the outcome `not run`).
pub fn outcome_changes(reports: &[serde_json::Value]) -> Result<Vec<OutcomeChange>, FlakeError> {
    // case -> run -> outcome
    let mut seen: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for (index, report) in reports.iter().enumerate() {
        if let Some(signal) = report["interrupted"]["signal"].as_str() {
            return Err(FlakeError::Interrupted {
                index,
                signal: signal.to_string(),
            });
        }
        let results = report["results"]
            .as_array()
            .ok_or(FlakeError::NotAReport { index })?;
        for case in results {
            let name = format!(
                "{} [{} TLS{}]",
                case["scenario"].as_str().unwrap_or("?"),
                case["profile"].as_str().unwrap_or("?"),
                case["tls"].as_str().unwrap_or("?")
            );
            let outcome = outcome_of(case).map_err(|source| FlakeError::Observation {
                index,
                case: name.clone(),
                source,
            })?;
            seen.entry(name).or_default().insert(index, outcome);
        }
    }
    let mut changes = Vec::new();
    for (case, runs) in seen {
        let mut by_outcome: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for index in 0..reports.len() {
            let outcome = runs
                .get(&index)
                .cloned()
                .unwrap_or_else(|| "not run".into());
            by_outcome.entry(outcome).or_default().push(index);
        }
        if by_outcome.len() > 1 {
            let mut outcomes: Vec<(String, Vec<usize>)> = by_outcome.into_iter().collect();
            outcomes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
            changes.push(OutcomeChange { case, outcomes });
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(scenario: &str, verdict: &str, status: u16, body: &str) -> serde_json::Value {
        json!({
            "scenario": scenario, "profile": "nginx", "tls": "1.3", "verdict": verdict,
            "observation": {
                "tls_version": "1.3", "handshake": "complete", "certificate_requested": true,
                "ca_names": null, "chosen_cert": null, "selection_reason": null,
                "client_certificate_sent": true, "alert": null, "client_error": null,
                "client_error_detail": null,
                "http": {"status": status, "body_excerpt": body},
                "gateway_log": null, "hang": null, "timings": {}
            },
            "diffs": []
        })
    }

    #[test]
    fn only_cases_whose_outcome_changed_are_reported() {
        let run = |status: u16, body: &str| json!({"results": [case("a::same", "PASS", 200, body), case("a::flaky", "PASS", status, "x")]});
        // The page text may differ (s_server names its port); the outcome may not.
        let reports = vec![run(200, "port 1"), run(200, "port 2"), run(400, "port 3")];
        let changes = outcome_changes(&reports).unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].case, "a::flaky [nginx TLS1.3]");
        assert_eq!(
            changes[0].outcomes,
            vec![
                ("PASS: http 200, cert sent".to_string(), vec![0, 1]),
                ("PASS: http 400, cert sent".to_string(), vec![2]),
            ]
        );
        let text = changes[0].to_string();
        assert!(
            text.contains("2 of 3 runs: PASS: http 200, cert sent (run 1, 2)"),
            "{text}"
        );
        assert!(outcome_changes(&reports[..2]).unwrap().is_empty());
    }

    #[test]
    fn a_case_missing_from_a_run_changed_and_partial_reports_are_refused() {
        let full = json!({"results": [case("a::b", "PASS", 200, "")]});
        let empty = json!({"results": []});
        let changes = outcome_changes(&[full.clone(), empty]).unwrap();
        assert_eq!(changes[0].outcomes[1], ("not run".to_string(), vec![1]));
        let partial = json!({"results": [], "interrupted": {"signal": "SIGINT"}});
        assert!(matches!(
            outcome_changes(&[full.clone(), partial]),
            Err(FlakeError::Interrupted { index: 1, .. })
        ));
        assert!(matches!(
            outcome_changes(&[full, json!({})]),
            Err(FlakeError::NotAReport { index: 1 })
        ));
    }
}
