//! The verdict per behaviour at the top of a `run --target` report: for each
//! situation (a valid certificate, none, expired, untrusted, revoked, wrong
//! EKU, bad issuer, CA names), what the target did and whether that is what
//! the profile expects, so a misconfiguration reads as one line.

use super::adapt::accepted;
use super::TargetFacts;
use crate::oracle::{summarize, Verdict};
use crate::runner::report::{CaseResult, RunReport};
use serde::Serialize;

/// One behaviour's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BehaviourVerdict {
    pub behaviour: &'static str,
    /// `Some(true)`: as the profile expects; `Some(false)`: not; `None`:
    /// not checked (the reason is in `line`).
    pub matches: Option<bool>,
    /// What the target did.
    pub did: String,
    /// The one line a reader needs.
    pub line: String,
}

/// Each behaviour, the scenario that shows it, and what a target that gets
/// it wrong is doing (when it serves the request).
const BEHAVIOURS: &[(&str, &str, &str)] = &[
    ("valid certificate", "validity::good_leaf", ""),
    (
        "no certificate",
        "seeds::001_client_has_no_certificate",
        "clients without a certificate are served: client certificates are optional",
    ),
    (
        "expired",
        "validity::expired_leaf",
        "expired client certificates are accepted",
    ),
    (
        "untrusted",
        "chain::untrusted_root",
        "certificates of an untrusted CA are accepted: the issuer is not verified",
    ),
    (
        "revoked",
        "revocation::revoked_leaf",
        "revoked certificates are accepted: no CRL loaded",
    ),
    (
        "wrong EKU",
        "chain::leaf_eku_server_only",
        "certificates for servers only (no clientAuth EKU) are accepted",
    ),
    (
        "bad issuer",
        "chain::issuer_ca_flag_false",
        "certificates issued by a non-CA (cA=FALSE) are accepted",
    ),
];

/// The verdicts of `report`, a run against a target with `facts`.
pub fn behaviours(report: &RunReport, facts: &TargetFacts) -> Vec<BehaviourVerdict> {
    let mut out = Vec::new();
    for (behaviour, scenario, served_means) in BEHAVIOURS {
        let cases: Vec<&CaseResult> = report
            .results
            .iter()
            .filter(|r| r.scenario == *scenario)
            .collect();
        out.push(judge_behaviour(
            behaviour,
            scenario,
            served_means,
            &cases,
            facts,
        ));
    }
    out.push(ca_names(facts));
    out
}

fn judge_behaviour(
    behaviour: &'static str,
    scenario: &str,
    served_means: &str,
    cases: &[&CaseResult],
    facts: &TargetFacts,
) -> BehaviourVerdict {
    let not_checked = |why: String| BehaviourVerdict {
        behaviour,
        matches: None,
        did: String::new(),
        line: format!("{behaviour}: not checked: {why}"),
    };
    if cases.is_empty() {
        return not_checked(format!("{scenario} was not selected"));
    }
    let failed = cases
        .iter()
        .find(|c| matches!(c.verdict, Verdict::Fail { .. } | Verdict::Hang { .. }));
    let ran = cases.iter().find(|c| c.observation.is_some());
    match (failed, ran) {
        (None, None) => {
            let why = cases
                .iter()
                .find_map(|c| match &c.verdict {
                    Verdict::Skip { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "no case ran".into());
            not_checked(format!("{scenario}: {why}"))
        }
        (None, Some(c)) => {
            let did = c.observation.as_ref().map(summarize).unwrap_or_default();
            BehaviourVerdict {
                behaviour,
                matches: Some(true),
                line: format!("{behaviour}: {did}, as the profile expects"),
                did,
            }
        }
        (Some(c), _) => {
            let did = match (&c.verdict, &c.observation) {
                (Verdict::Hang { stage }, _) => format!("hang in {stage}"),
                (_, Some(o)) => summarize(o),
                _ => "no observation".into(),
            };
            let tls = c.tls.as_str();
            let served = c.observation.as_ref().is_some_and(accepted);
            let refused = c
                .observation
                .as_ref()
                .is_some_and(crate::probe::judge::refused);
            // Refused with a page after a handshake that took the
            // certificate: the configuration's own rule (an allow-list, an
            // `if` on the verify result), not the trust store.
            let refused_after_handshake = c
                .observation
                .as_ref()
                .filter(|o| o.client_certificate_sent && o.alert.is_none())
                .and_then(|o| o.http.as_ref())
                .map(|h| h.status)
                .filter(|s| matches!(s, 401 | 403 | 404 | 405));
            let line = if let (true, Some(status)) =
                (behaviour == "valid certificate", refused_after_handshake)
            {
                format!(
                    "valid certificates are refused after the handshake (http {status}, TLS {tls}): the handshake accepted a certificate issued by {}, so the configuration itself refused it (an allow-list of subjects, a rule on the verify result, or an access rule), not its trust store",
                    facts.root_subject
                )
            } else if behaviour == "valid certificate" && !refused {
                format!(
                    "valid certificate: got {did} (TLS {tls}), not the 2xx answer the profile expects"
                )
            } else if behaviour == "valid certificate" {
                let names = if facts.ca_names.is_empty() {
                    String::new()
                } else {
                    format!("; its CA names: {}", facts.ca_names.join("; "))
                };
                format!(
                    "valid certificates are refused ({did}, TLS {tls}): the target does not trust the root of --pki ({}){names}",
                    facts.root_subject
                )
            } else if served {
                let mut line = format!("{served_means} ({did}, TLS {tls})");
                if behaviour == "revoked" {
                    line.push_str(&crl_hint(facts));
                }
                line
            } else {
                let expected = match &c.verdict {
                    Verdict::Fail { diffs } => diffs
                        .iter()
                        .map(|d| format!("{} {}", d.field, d.expected))
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => "an answer".into(),
                };
                format!(
                    "{behaviour}: refused, but not as the profile expects: got {did}, expected {expected} (TLS {tls})"
                )
            };
            BehaviourVerdict {
                behaviour,
                matches: Some(false),
                did,
                line,
            }
        }
    }
}

fn crl_hint(facts: &TargetFacts) -> String {
    let Some(file) = &facts.crl_file else {
        return String::new();
    };
    if facts.crl_written_now {
        format!(
            " ({} was written by this run: load it and restart the gateway)",
            file.display()
        )
    } else {
        format!(" (load {}, which lists the revoked serial)", file.display())
    }
}

fn ca_names(facts: &TargetFacts) -> BehaviourVerdict {
    let behaviour = "CA names";
    if !facts.asks {
        return BehaviourVerdict {
            behaviour,
            matches: None,
            did: "no CertificateRequest".into(),
            line: "CA names: not checked: the target does not ask for a certificate".into(),
        };
    }
    let did = if facts.ca_names.is_empty() {
        "no names".to_string()
    } else {
        facts.ca_names.join("; ")
    };
    if facts.ca_names == [facts.root_subject.clone()] {
        BehaviourVerdict {
            behaviour,
            matches: Some(true),
            line: format!("CA names: {did}, the root of --pki, as the profile expects"),
            did,
        }
    } else {
        BehaviourVerdict {
            behaviour,
            matches: Some(false),
            line: format!(
                "the CertificateRequest names {did}, not the root of --pki ({}): a client that picks its certificate by issuer sends none",
                facts.root_subject
            ),
            did,
        }
    }
}

/// The block printed above the report.
pub fn render(verdicts: &[BehaviourVerdict], profile: &str) -> String {
    let mut out = format!("Behaviours (judged by the {profile} profile):\n");
    for v in verdicts {
        let tag = match v.matches {
            Some(true) => "ok      ",
            Some(false) => "MISMATCH",
            None => "-       ",
        };
        out.push_str(&format!("  {tag}  {}\n", v.line));
    }
    out
}

/// What the preflight learnt of the target, in one paragraph.
pub fn render_facts(facts: &TargetFacts) -> String {
    let versions: Vec<_> = facts.versions.iter().map(|v| v.as_str()).collect();
    let posture = if !facts.asks {
        "does not ask for a certificate"
    } else if facts.requires {
        "requires a certificate"
    } else {
        "asks for a certificate but serves a client without one"
    };
    let mut out = format!(
        "Target: TLS {}; {posture}",
        if versions.is_empty() {
            "none".to_string()
        } else {
            versions.join(" and ")
        }
    );
    if facts.asks {
        out.push_str(&format!(
            "; CA names: {}",
            if facts.ca_names.is_empty() {
                "none".to_string()
            } else {
                facts.ca_names.join("; ")
            }
        ));
    }
    if let Some(file) = &facts.crl_file {
        let state = match facts.accepts_revoked {
            Some(false) => "loaded (a certificate it lists is refused)",
            Some(true) => "not loaded (a certificate it lists is accepted)",
            None if facts.accepts_valid == Some(false) => {
                "not known (a valid certificate is refused too)"
            }
            None => "not checked",
        };
        let written = if facts.crl_written_now {
            ", written by this run"
        } else {
            ""
        };
        out.push_str(&format!("; CRL {}{written}: {state}", file.display()));
    }
    out.push('\n');
    out
}
