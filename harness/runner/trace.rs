//! `--trace`: each case's verdict, outcome, handshake transcript and
//! gateway log, for a person reading a terminal.

use super::report::{CaseResult, RunReport};
use crate::oracle::Verdict;
use std::fmt::Write as _;

/// One block per case, in report order.
pub fn render_traces(report: &RunReport) -> String {
    let mut out = String::new();
    for r in report.sorted_results() {
        out.push_str(&render_trace(r));
        out.push('\n');
    }
    out
}

/// `== <case> : VERDICT outcome`, the diffs, the transcript, the gateway log.
pub fn render_trace(r: &CaseResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== {}: {} {}",
        r.case_name(),
        r.verdict.label(),
        r.outcome()
    );
    if let Verdict::Fail { diffs } = &r.verdict {
        for d in diffs {
            let _ = writeln!(out, "   {d}");
        }
    }
    let Some(obs) = &r.observation else {
        out.push_str("   (no connection was made)\n");
        return out;
    };
    match &obs.transcript {
        Some(t) => out.push_str(&t.render()),
        None => out.push_str("   (no bytes went over the wire)\n"),
    }
    if let Some(log) = &obs.gateway_log {
        for (i, line) in log.lines().enumerate() {
            let head = if i == 0 { "gateway log:" } else { "" };
            let _ = writeln!(out, "  {head:<12} {line}");
        }
    }
    out
}
