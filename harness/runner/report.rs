//! Reports of a run: a table for people, JSON for tools, JUnit for CI, and the
//! exit code.

use crate::exit_codes;
use crate::observation::{Observation, TlsVersion};
use crate::oracle::{summarize, Verdict};
use crate::scenario::PROFILES;
#[cfg(feature = "junit")]
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One scenario x profile x TLS version case and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Scenario id, `<namespace>::<name>`.
    pub scenario: String,
    pub description: String,
    pub profile: String,
    pub tls: TlsVersion,
    pub verdict: Verdict,
    /// `None` when the case never connected (skipped, setup refused).
    pub observation: Option<Observation>,
    pub duration_ms: f64,
    /// Why the case did not run, when it was skipped before connecting.
    pub not_run_reason: Option<String>,
    /// Expectation fields the backend did not judge, each with its reason
    /// (a target's own success page, a program's own status page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjusted: Vec<AdjustedField>,
    /// What was observed, in one line, once [`CaseResult::slim`] let the
    /// observation go.
    #[serde(skip)]
    pub observed: Option<String>,
}

/// An expectation field a backend did not judge, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustedField {
    pub field: String,
    pub reason: String,
}

impl CaseResult {
    /// A result with no observation, no time and nothing adjusted.
    pub fn new(
        scenario: impl Into<String>,
        description: impl Into<String>,
        profile: impl Into<String>,
        tls: TlsVersion,
        verdict: Verdict,
    ) -> Self {
        CaseResult {
            scenario: scenario.into(),
            description: description.into(),
            profile: profile.into(),
            tls,
            verdict,
            observation: None,
            duration_ms: 0.0,
            not_run_reason: None,
            adjusted: Vec::new(),
            observed: None,
        }
    }

    /// Keep only what the table and JUnit reports show: the observation
    /// (with its transcript, tens of KB for a long CA-name list) becomes its
    /// one-line summary. A run whose report needs no observation keeps its
    /// finished cases this small.
    pub fn slim(&mut self) {
        if let Some(obs) = self.observation.take() {
            self.observed = Some(summarize(&obs));
        }
    }

    /// The one-line summary of what was observed, if the case connected.
    pub fn observed_summary(&self) -> Option<String> {
        self.observation
            .as_ref()
            .map(summarize)
            .or_else(|| self.observed.clone())
    }

    /// `nginx::no-cert [nginx TLS1.3]`: the JUnit test name.
    pub fn case_name(&self) -> String {
        format!("{} [{} TLS{}]", self.scenario, self.profile, self.tls)
    }

    /// The short outcome column: what happened, or why it did not run.
    pub fn outcome(&self) -> String {
        match &self.verdict {
            Verdict::Skip { reason } => reason.clone(),
            Verdict::Hang { stage } => format!("timed out in {stage}"),
            Verdict::Pass | Verdict::Fail { .. } => {
                match (self.observed_summary(), &self.not_run_reason) {
                    (Some(observed), _) => observed,
                    (None, Some(reason)) => reason.clone(),
                    (None, None) => "-".into(),
                }
            }
        }
    }
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub hung: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped, {} hung",
            self.passed, self.failed, self.skipped, self.hung
        )
    }
}

/// A run a signal cut short: its report holds the cases that finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub signal: String,
    /// Cases planned.
    pub planned: usize,
    /// Cases that finished (and are in the report).
    pub completed: usize,
}

impl Interruption {
    /// 128 + the signal's number (130 for SIGINT).
    pub fn exit_code(&self) -> i32 {
        crate::interrupt::Signal::ALL
            .into_iter()
            .find(|s| s.name() == self.signal)
            .map_or(exit_codes::INTERRUPTED, |s| s.exit_code())
    }
}

impl std::fmt::Display for Interruption {
    /// `interrupted by SIGINT: 12 of 40 cases finished, the rest did not run`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted by {}: {} of {} cases finished, the rest did not run",
            self.signal, self.completed, self.planned
        )
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub results: Vec<CaseResult>,
    /// `(scenario, profile, reason)` for profiles a scenario does not run on.
    pub not_run: Vec<(String, String, String)>,
    pub wall_ms: f64,
    /// Set when a signal stopped the run: the report is partial.
    #[serde(default)]
    pub interrupted: Option<Interruption>,
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl RunReport {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for r in &self.results {
            match r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Fail { .. } => s.failed += 1,
                Verdict::Skip { .. } => s.skipped += 1,
                Verdict::Hang { .. } => s.hung += 1,
            }
        }
        s
    }

    /// Results ordered by scenario id, profile (in [`PROFILES`] order), TLS
    /// version, whatever order concurrent cases finished in.
    pub fn sorted_results(&self) -> Vec<&CaseResult> {
        let rank = |p: &str| {
            PROFILES
                .iter()
                .position(|q| *q == p)
                .unwrap_or(PROFILES.len())
        };
        let mut sorted: Vec<&CaseResult> = self.results.iter().collect();
        sorted.sort_by(|a, b| {
            (&a.scenario, rank(&a.profile), &a.profile, a.tls).cmp(&(
                &b.scenario,
                rank(&b.profile),
                &b.profile,
                b.tls,
            ))
        });
        sorted
    }

    /// One row per case (id, profile, TLS, verdict, outcome), each failing
    /// row followed by its diffs, then the profiles not run (one line per
    /// reason with its count), then `N passed, N failed, N skipped, N hung`.
    /// ANSI colours only if `color`.
    pub fn render_table(&self, color: bool) -> String {
        self.render_table_with(color, false)
    }

    /// As [`RunReport::render_table`]; `verbose` lists every scenario and
    /// profile not run instead of a count per reason.
    pub fn render_table_with(&self, color: bool, verbose: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("{code}{text}{RESET}")
            } else {
                text.to_string()
            }
        };
        let rows = self.sorted_results();
        let id_w = rows
            .iter()
            .map(|r| r.scenario.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let prof_w = rows
            .iter()
            .map(|r| r.profile.len())
            .max()
            .unwrap_or(0)
            .max(7);

        let mut out = String::new();
        out.push_str(&paint(
            BOLD,
            &format!(
                "{:<id_w$}  {:<prof_w$}  TLS  RESULT  OUTCOME",
                "SCENARIO", "PROFILE"
            ),
        ));
        out.push('\n');
        for r in &rows {
            let label = r.verdict.label();
            let colour = match r.verdict {
                Verdict::Pass => GREEN,
                Verdict::Fail { .. } => RED,
                Verdict::Skip { .. } => YELLOW,
                Verdict::Hang { .. } => MAGENTA,
            };
            out.push_str(&format!(
                "{:<id_w$}  {:<prof_w$}  {}  {}    {}\n",
                r.scenario,
                r.profile,
                r.tls,
                paint(colour, label),
                r.outcome()
            ));
            if let Verdict::Fail { diffs } = &r.verdict {
                for d in diffs {
                    out.push_str(&format!("    {d}\n"));
                }
            }
        }
        if verbose {
            for (scenario, profiles, reason) in self.not_run_grouped() {
                out.push_str(&paint(
                    DIM,
                    &format!("not run: {scenario} on {}: {reason}", profiles.join(", ")),
                ));
                out.push('\n');
            }
        } else {
            for (reason, count) in self.not_run_by_reason() {
                let cases = if count == 1 { "case" } else { "cases" };
                out.push_str(&paint(
                    DIM,
                    &format!("not run: {count} {cases}: {reason} (--verbose lists them)"),
                ));
                out.push('\n');
            }
        }
        let summary = self.summary();
        let line = summary.to_string();
        let line = if !color {
            line
        } else if summary.failed + summary.hung > 0 {
            paint(RED, &line)
        } else {
            paint(GREEN, &line)
        };
        out.push_str(&line);
        out.push('\n');
        if let Some(i) = &self.interrupted {
            out.push_str(&paint(RED, &format!("PARTIAL REPORT: {i}")));
            out.push('\n');
        }
        out
    }

    /// `(reason, how many scenario x profile pairs)`, in first-seen order.
    fn not_run_by_reason(&self) -> Vec<(&str, usize)> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (_, _, reason) in &self.not_run {
            match counts.iter_mut().find(|(r, _)| *r == reason.as_str()) {
                Some((_, n)) => *n += 1,
                None => counts.push((reason, 1)),
            }
        }
        counts
    }

    /// `(scenario, [profiles], reason)`, in first-seen order.
    fn not_run_grouped(&self) -> Vec<(&str, Vec<&str>, &str)> {
        let mut groups: Vec<(&str, Vec<&str>, &str)> = Vec::new();
        for (scenario, profile, reason) in &self.not_run {
            match groups
                .iter_mut()
                .find(|(s, _, r)| *s == scenario.as_str() && *r == reason.as_str())
            {
                Some((_, profiles, _)) => profiles.push(profile),
                None => groups.push((scenario, vec![profile], reason)),
            }
        }
        groups
    }

    /// The whole run as JSON: summary counts, every case (verdict, diffs,
    /// observation) and the profiles not run.
    pub fn to_json(&self) -> serde_json::Value {
        let summary = self.summary();
        let results: Vec<serde_json::Value> = self
            .sorted_results()
            .into_iter()
            .map(|r| {
                let mut case = json!({
                    "scenario": r.scenario,
                    "description": r.description,
                    "profile": r.profile,
                    "tls": r.tls,
                    "verdict": r.verdict.label(),
                    "outcome": r.outcome(),
                    "observation": r.observation,
                    "duration_ms": r.duration_ms,
                });
                let extra = match &r.verdict {
                    Verdict::Fail { diffs } => ("diffs", json!(diffs)),
                    Verdict::Skip { reason } => ("reason", json!(reason)),
                    Verdict::Hang { stage } => ("stage", json!(stage)),
                    Verdict::Pass => ("diffs", json!([])),
                };
                if let Some(obj) = case.as_object_mut() {
                    obj.insert(extra.0.into(), extra.1);
                    if let Some(reason) = &r.not_run_reason {
                        obj.insert("not_run_reason".into(), json!(reason));
                    }
                    if !r.adjusted.is_empty() {
                        obj.insert("adjusted".into(), json!(r.adjusted));
                    }
                }
                case
            })
            .collect();
        let not_run: Vec<serde_json::Value> = self
            .not_run
            .iter()
            .map(|(scenario, profile, reason)| {
                json!({"scenario": scenario, "profile": profile, "reason": reason})
            })
            .collect();
        json!({
            "summary": {
                "passed": summary.passed,
                "failed": summary.failed,
                "skipped": summary.skipped,
                "hung": summary.hung,
                "total": self.results.len(),
                "not_run": self.not_run.len(),
                "wall_ms": self.wall_ms,
                "interrupted": self.interrupted.is_some(),
            },
            "interrupted": self.interrupted,
            "exit_code": self.exit_code(),
            "results": results,
            "not_run": not_run,
        })
    }

    /// JUnit XML (feature `junit`): one testsuite per scenario, one testcase per profile x TLS
    /// version named `<id> [<profile> TLS<v>]`. Failures carry the diffs,
    /// skips their reason, hangs are errors.
    #[cfg(feature = "junit")]
    pub fn to_junit(&self) -> String {
        let mut suites: std::collections::BTreeMap<&str, TestSuite> =
            std::collections::BTreeMap::new();
        for r in self.sorted_results() {
            let suite = suites
                .entry(r.scenario.as_str())
                .or_insert_with(|| TestSuite::new(r.scenario.as_str()));
            let status = match &r.verdict {
                Verdict::Pass => TestCaseStatus::success(),
                Verdict::Fail { diffs } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let lines: Vec<String> = diffs.iter().map(|d| d.to_string()).collect();
                    s.set_message(r.verdict.to_string())
                        .set_type("mismatch")
                        .set_description(lines.join("\n"));
                    s
                }
                Verdict::Skip { reason } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.as_str());
                    s
                }
                Verdict::Hang { stage } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(format!("timed out in {stage}"))
                        .set_type("hang");
                    s
                }
            };
            let mut case = TestCase::new(r.case_name(), status);
            case.set_classname(r.scenario.as_str())
                .set_time(millis(r.duration_ms));
            if let Some(observed) = r.observed_summary() {
                case.set_system_out(format!("outcome: {observed}\n"));
            }
            suite.add_test_case(case);
        }
        for (scenario, profiles, reason) in self.not_run_grouped() {
            if let Some(suite) = suites.get_mut(scenario) {
                suite.add_property(Property::new(
                    "not_run",
                    format!("{}: {reason}", profiles.join(", ")),
                ));
            }
        }
        let mut report = Report::new("mtls-harness");
        report.set_time(millis(self.wall_ms));
        report.add_test_suites(suites.into_values());
        if let Some(i) = &self.interrupted {
            // A partial report must not read as green: one error case says so.
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(i.to_string()).set_type("interrupted");
            let mut suite = TestSuite::new("mtls-harness::interrupted");
            suite.add_property(Property::new("interrupted", i.signal.as_str()));
            suite.add_test_case(TestCase::new("run interrupted", status));
            report.add_test_suite(suite);
        }
        report
            .to_string()
            .unwrap_or_else(|e| junit_error_document(&e.to_string()))
    }

    /// 0 every case passed or was skipped; 1 a case failed or hung; 3 no
    /// case; 128 + the signal when interrupted (130 for SIGINT).
    pub fn exit_code(&self) -> i32 {
        let s = self.summary();
        if let Some(i) = &self.interrupted {
            i.exit_code()
        } else if self.results.is_empty() {
            exit_codes::NO_SCENARIO_SELECTED
        } else if s.failed + s.hung > 0 {
            exit_codes::SCENARIO_FAILED
        } else {
            exit_codes::SUCCESS
        }
    }
}

#[cfg(feature = "junit")]
/// A duration from milliseconds; nonsense (negative, NaN, huge) becomes zero.
fn millis(ms: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(ms / 1000.0).unwrap_or_default()
}

#[cfg(feature = "junit")]
/// A failing JUnit document, so that a CI never reads a broken report as green.
fn junit_error_document(message: &str) -> String {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mtls-harness\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testsuite name=\"mtls-harness\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testcase name=\"junit report\"><error message=\"cannot write the JUnit report: {escaped}\"/></testcase>\n</testsuite>\n</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Handshake, HttpSeen};
    use crate::oracle::judge;
    use crate::scenario::schema::Expectation;

    const NGINX_400: &str =
        "<html><head><title>400 The SSL certificate error</title></head></html>";

    fn nginx_400() -> Observation {
        Observation {
            handshake: Some(Handshake::Complete),
            http: Some(HttpSeen {
                status: 400,
                substatus: None,
                body_excerpt: NGINX_400.into(),
            }),
            ..Observation::default()
        }
    }

    fn case(scenario: &str, profile: &str, tls: TlsVersion, verdict: Verdict) -> CaseResult {
        CaseResult {
            scenario: scenario.into(),
            description: format!("about {scenario}"),
            profile: profile.into(),
            tls,
            observation: matches!(verdict, Verdict::Pass | Verdict::Fail { .. }).then(nginx_400),
            verdict,
            duration_ms: 12.5,
            not_run_reason: None,
            adjusted: Vec::new(),
            observed: None,
        }
    }

    fn sample() -> RunReport {
        let wrong = judge(
            &Expectation {
                alert: Some("unknown_ca".into()),
                alert_sent_by: Some(crate::observation::Side::Server),
                ..Expectation::default()
            },
            &nginx_400(),
        );
        RunReport {
            interrupted: None,
            results: vec![
                case("nginx::no-cert", "nginx", TlsVersion::Tls13, Verdict::Pass),
                case("nginx::no-cert", "strict", TlsVersion::Tls12, wrong),
                case(
                    "a::b",
                    "iis",
                    TlsVersion::Tls12,
                    Verdict::Skip {
                        reason: "real IIS not available".into(),
                    },
                ),
                case(
                    "a::b",
                    "envoy",
                    TlsVersion::Tls13,
                    Verdict::Hang {
                        stage: "handshake".into(),
                    },
                ),
            ],
            not_run: vec![
                (
                    "nginx::no-cert".into(),
                    "layer7".into(),
                    "no expectation".into(),
                ),
                (
                    "nginx::no-cert".into(),
                    "iis".into(),
                    "no expectation".into(),
                ),
            ],
            wall_ms: 250.0,
        }
    }

    #[test]
    fn an_interrupted_report_says_so_in_every_format_and_exits_with_the_signal() {
        let mut r = sample();
        r.interrupted = Some(Interruption {
            signal: "SIGINT".into(),
            planned: 10,
            completed: r.results.len(),
        });
        assert_eq!(r.exit_code(), 130);
        let table = r.render_table(false);
        assert!(
            table.ends_with(
                "PARTIAL REPORT: interrupted by SIGINT: 4 of 10 cases finished, the rest did not run\n"
            ),
            "{table}"
        );
        let json = r.to_json();
        assert_eq!(json["interrupted"]["signal"], "SIGINT");
        assert_eq!(json["summary"]["interrupted"], true);
        assert_eq!(json["exit_code"], 130);
        #[cfg(feature = "junit")]
        {
            let junit = r.to_junit();
            assert!(junit.contains("mtls-harness::interrupted"), "{junit}");
            assert!(junit.contains("type=\"interrupted\""), "{junit}");
        }
        r.interrupted.as_mut().unwrap().signal = "SIGTERM".into();
        assert_eq!(r.exit_code(), 143);
        r.interrupted = None;
        assert_eq!(sample().to_json()["interrupted"], serde_json::Value::Null);
    }

    #[test]
    fn table_rows_diffs_not_run_and_summary() {
        let table = sample().render_table(false);
        assert!(!table.contains('\x1b'), "{table}");
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("SCENARIO"), "{table}");
        // Sorted by id, then profile order (strict before nginx), then version.
        let row_ids: Vec<(&str, &str)> = lines[1..]
            .iter()
            .filter(|l| !l.starts_with(' ') && !l.starts_with("not run") && l.contains("  "))
            .map(|l| {
                let mut cols = l.split_whitespace();
                (cols.next().unwrap_or(""), cols.next().unwrap_or(""))
            })
            .collect();
        assert_eq!(
            row_ids,
            [
                ("a::b", "iis"),
                ("a::b", "envoy"),
                ("nginx::no-cert", "strict"),
                ("nginx::no-cert", "nginx")
            ]
        );
        let fail_row = lines
            .iter()
            .position(|l| l.contains("FAIL"))
            .expect("a FAIL row");
        let cols: Vec<&str> = lines[fail_row].split_whitespace().take(4).collect();
        assert_eq!(cols, ["nginx::no-cert", "strict", "1.2", "FAIL"]);
        assert!(lines[fail_row].ends_with("http 400 \"The SSL certificate error\""));
        assert_eq!(
            lines[fail_row + 1],
            "    expected alert=unknown_ca by server, got http 400 \"The SSL certificate error\""
        );
        assert!(table.contains("HANG    timed out in handshake"), "{table}");
        assert!(table.contains("SKIP    real IIS not available"), "{table}");
        assert!(
            table.contains("not run: 2 cases: no expectation"),
            "one line per reason, with its count: {table}"
        );
        assert!(!table.contains("nginx::no-cert on layer7"), "{table}");
        let verbose = sample().render_table_with(false, true);
        assert!(
            verbose.contains("not run: nginx::no-cert on layer7, iis: no expectation"),
            "{verbose}"
        );
        assert_eq!(lines.last(), Some(&"1 passed, 1 failed, 1 skipped, 1 hung"));
    }

    #[test]
    fn table_colours_only_when_asked() {
        let table = sample().render_table(true);
        assert!(table.contains("\x1b[31mFAIL\x1b[0m"), "{table}");
        assert!(table.contains("\x1b[32mPASS\x1b[0m"), "{table}");
    }

    #[test]
    fn json_has_counts_cases_diffs_and_observations() {
        let v = sample().to_json();
        assert_eq!(v["summary"]["passed"], 1);
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["summary"]["skipped"], 1);
        assert_eq!(v["summary"]["hung"], 1);
        assert_eq!(v["summary"]["not_run"], 2);
        assert_eq!(v["exit_code"], 1);
        let results = v["results"].as_array().expect("results");
        assert_eq!(results.len(), 4);
        let fail = &results[2];
        assert_eq!(fail["scenario"], "nginx::no-cert");
        assert_eq!(fail["profile"], "strict");
        assert_eq!(fail["tls"], "1.2");
        assert_eq!(fail["verdict"], "FAIL");
        assert_eq!(fail["diffs"][0]["field"], "alert");
        assert_eq!(fail["diffs"][0]["expected"], "unknown_ca by server");
        assert_eq!(fail["observation"]["http"]["status"], 400);
        assert_eq!(results[0]["reason"], "real IIS not available");
        assert_eq!(results[1]["stage"], "handshake");
        assert_eq!(v["not_run"][1]["profile"], "iis");
    }

    #[test]
    #[cfg(feature = "junit")]
    fn junit_suites_cases_failures_skips_and_hangs() {
        let xml = sample().to_junit();
        assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
        assert!(
            xml.contains("name=\"nginx::no-cert [strict TLS1.2]\""),
            "{xml}"
        );
        assert!(xml.contains("name=\"a::b [iis TLS1.2]\""), "{xml}");
        assert!(xml.contains("<failure"), "{xml}");
        assert!(
            xml.contains("expected alert=unknown_ca by server, got http 400 &quot;The SSL certificate error&quot;"),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"real IIS not available\""),
            "{xml}"
        );
        assert!(
            xml.contains("<error message=\"timed out in handshake\" type=\"hang\""),
            "{xml}"
        );
        assert!(xml.contains("layer7, iis: no expectation"), "{xml}");
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(
            RunReport::default().exit_code(),
            exit_codes::NO_SCENARIO_SELECTED
        );
        assert_eq!(sample().exit_code(), exit_codes::SCENARIO_FAILED);
        let mut ok = sample();
        ok.results
            .retain(|r| matches!(r.verdict, Verdict::Pass | Verdict::Skip { .. }));
        assert_eq!(ok.exit_code(), exit_codes::SUCCESS);
        let mut hung = sample();
        hung.results
            .retain(|r| matches!(r.verdict, Verdict::Pass | Verdict::Hang { .. }));
        assert_eq!(hung.exit_code(), exit_codes::SCENARIO_FAILED);
    }

    #[test]
    #[cfg(feature = "junit")]
    fn bad_durations_do_not_panic() {
        let mut r = sample();
        r.wall_ms = f64::NAN;
        r.results[0].duration_ms = -5.0;
        r.results[1].duration_ms = f64::INFINITY;
        assert!(r.to_junit().contains("<testsuites"));
    }
}
