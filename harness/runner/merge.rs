//! `report merge`: the reports of several machines (`run --shard K/N`, or
//! `bench` from several load machines) as one. A JSON run report's cases
//! are joined and ordered as one run orders them, its summary and exit code
//! recomputed; JUnit testsuites are joined and ordered by name with the
//! totals recomputed; bench JSON rows are summed per trust-store size
//! ([`crate::bench::BenchRun::merge`]).

use crate::bench::table::BenchJsonError;
use crate::bench::BenchRun;
use crate::exit_codes;
use crate::scenario::PROFILES;
use serde_json::{json, Value};

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error("report {index}: {what}")]
    Shape { index: usize, what: String },
    #[error("the reports are of different kinds (run JSON, bench JSON, JUnit XML)")]
    Mixed,
    #[error("bench rows")]
    Bench(#[source] BenchJsonError),
}

/// What a report file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    RunJson,
    BenchJson,
    Junit,
}

/// Tell a report's kind from its text.
pub fn kind_of(text: &str) -> Option<ReportKind> {
    let t = text.trim_start();
    if t.starts_with('<') {
        return Some(ReportKind::Junit);
    }
    let v: Value = serde_json::from_str(t).ok()?;
    if v.get("results").is_some_and(Value::is_array) {
        Some(ReportKind::RunJson)
    } else if v.get("points").is_some_and(Value::is_array) || v.get("runs").is_some() {
        Some(ReportKind::BenchJson)
    } else {
        None
    }
}

/// Merge report texts of one kind; the merged text.
pub fn merge_texts(texts: &[String]) -> Result<String, MergeError> {
    let kinds: Vec<Option<ReportKind>> = texts.iter().map(|t| kind_of(t)).collect();
    let first = kinds.first().ok_or(MergeError::Empty)?;
    for (index, k) in kinds.iter().enumerate() {
        if k.is_none() {
            return Err(MergeError::Shape {
                index,
                what: "neither a run report (JSON, JUnit) nor bench JSON".into(),
            });
        }
        if k != first {
            return Err(MergeError::Mixed);
        }
    }
    match first.expect("checked above") {
        ReportKind::Junit => merge_junit(texts),
        ReportKind::RunJson => {
            let values = parse_all(texts)?;
            Ok(serde_json::to_string_pretty(&merge_run_json(&values)?).expect("json") + "\n")
        }
        ReportKind::BenchJson => {
            let values = parse_all(texts)?;
            Ok(serde_json::to_string_pretty(&merge_bench_json(&values)?).expect("json") + "\n")
        }
    }
}

fn parse_all(texts: &[String]) -> Result<Vec<Value>, MergeError> {
    texts
        .iter()
        .enumerate()
        .map(|(index, t)| {
            serde_json::from_str(t).map_err(|e| MergeError::Shape {
                index,
                what: e.to_string(),
            })
        })
        .collect()
}

fn profile_rank(p: &str) -> usize {
    PROFILES
        .iter()
        .position(|q| *q == p)
        .unwrap_or(PROFILES.len())
}

/// Run reports (`run --format json`) as one: cases ordered by scenario,
/// profile, TLS version; not-run notes by scenario; summary, wall time (the
/// longest) and exit code recomputed.
pub fn merge_run_json(reports: &[Value]) -> Result<Value, MergeError> {
    if reports.is_empty() {
        return Err(MergeError::Empty);
    }
    let mut results: Vec<Value> = Vec::new();
    let mut not_run: Vec<Value> = Vec::new();
    let mut interrupted = Value::Null;
    let mut wall_ms = 0f64;
    for (index, r) in reports.iter().enumerate() {
        let shape = |what: &str| MergeError::Shape {
            index,
            what: what.into(),
        };
        results.extend(
            r["results"]
                .as_array()
                .ok_or_else(|| shape("no `results` array"))?
                .iter()
                .cloned(),
        );
        not_run.extend(r["not_run"].as_array().into_iter().flatten().cloned());
        if interrupted.is_null() && !r["interrupted"].is_null() {
            interrupted = r["interrupted"].clone();
        }
        wall_ms = wall_ms.max(r["summary"]["wall_ms"].as_f64().unwrap_or(0.0));
    }
    let key = |v: &Value| {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        (
            s("scenario"),
            profile_rank(&s("profile")),
            s("profile"),
            s("tls"),
        )
    };
    results.sort_by_key(key);
    // Stable: a scenario's notes keep their order (they come from one shard).
    not_run.sort_by_key(|v| v["scenario"].as_str().unwrap_or_default().to_string());
    let count = |verdict: &str| {
        results
            .iter()
            .filter(|r| r["verdict"].as_str() == Some(verdict))
            .count()
    };
    let (passed, failed, skipped, hung) =
        (count("PASS"), count("FAIL"), count("SKIP"), count("HANG"));
    let interruption: Option<super::report::Interruption> =
        serde_json::from_value(interrupted.clone()).ok().flatten();
    let exit_code = if let Some(i) = &interruption {
        i64::from(i.exit_code())
    } else if failed + hung > 0 {
        i64::from(exit_codes::SCENARIO_FAILED)
    } else if results.is_empty() {
        i64::from(exit_codes::NO_SCENARIO_SELECTED)
    } else {
        i64::from(exit_codes::SUCCESS)
    };
    Ok(json!({
        "summary": {
            "passed": passed,
            "failed": failed,
            "skipped": skipped,
            "hung": hung,
            "total": results.len(),
            "not_run": not_run.len(),
            "wall_ms": wall_ms,
            "interrupted": !interrupted.is_null(),
        },
        "interrupted": interrupted,
        "exit_code": exit_code,
        "results": results,
        "not_run": not_run,
    }))
}

/// Bench JSON rows of several load machines, summed per point.
pub fn merge_bench_json(reports: &[Value]) -> Result<Value, MergeError> {
    let runs: Vec<BenchRun> = reports
        .iter()
        .map(BenchRun::from_json)
        .collect::<Result<_, _>>()
        .map_err(MergeError::Bench)?;
    Ok(BenchRun::merge(&runs).map_err(MergeError::Bench)?.to_json())
}

/// `name="..."` of an element's start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// JUnit XML reports as one: every `<testsuite>` element, ordered by name,
/// under one `<testsuites>` whose counts are the sums (its time the
/// longest).
pub fn merge_junit(texts: &[String]) -> Result<String, MergeError> {
    let mut suites: Vec<(String, String)> = Vec::new();
    let (mut tests, mut failures, mut errors, mut time) = (0u64, 0u64, 0u64, 0f64);
    for (index, text) in texts.iter().enumerate() {
        let shape = |what: &str| MergeError::Shape {
            index,
            what: what.into(),
        };
        let open = text
            .find("<testsuites")
            .ok_or_else(|| shape("no <testsuites>"))?;
        let open_end = open
            + text[open..]
                .find('>')
                .ok_or_else(|| shape("unclosed <testsuites>"))?;
        let root = &text[open..open_end];
        let num = |n: &str| {
            attr(root, n)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        tests += num("tests");
        failures += num("failures");
        errors += num("errors");
        time = time.max(
            attr(root, "time")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
        );
        if root.ends_with('/') {
            continue;
        }
        let mut rest = &text[open_end + 1..];
        while let Some(start) = rest
            .find("<testsuite ")
            .or_else(|| rest.find("<testsuite>"))
        {
            let head_end = start
                + rest[start..]
                    .find('>')
                    .ok_or_else(|| shape("unclosed <testsuite>"))?;
            let head = &rest[start..head_end];
            let end = if head.ends_with('/') {
                head_end + 1
            } else {
                head_end
                    + rest[head_end..]
                        .find("</testsuite>")
                        .ok_or_else(|| shape("unclosed <testsuite>"))?
                    + "</testsuite>".len()
            };
            let name = attr(head, "name").unwrap_or_default().to_string();
            suites.push((name, rest[start..end].to_string()));
            rest = &rest[end..];
        }
    }
    suites.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"mtls-harness\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n"
    ));
    for (_, s) in suites {
        out.push_str("    ");
        out.push_str(&s);
        out.push('\n');
    }
    out.push_str("</testsuites>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart() {
        assert_eq!(kind_of("<?xml ?><testsuites/>"), Some(ReportKind::Junit));
        assert_eq!(kind_of(r#"{"results": []}"#), Some(ReportKind::RunJson));
        assert_eq!(kind_of(r#"{"points": []}"#), Some(ReportKind::BenchJson));
        assert_eq!(kind_of("{}"), None);
        assert!(matches!(
            merge_texts(&["{\"results\": []}".into(), "<testsuites/>".into()]),
            Err(MergeError::Mixed)
        ));
    }

    #[test]
    fn junit_suites_are_joined_in_name_order_with_summed_counts() {
        let a = "<?xml version=\"1.0\"?>\n<testsuites name=\"mtls-harness\" tests=\"2\" failures=\"1\" errors=\"0\" time=\"1.5\">\n<testsuite name=\"b::x\" tests=\"2\"><testcase name=\"t\"/></testsuite>\n</testsuites>\n";
        let b = "<?xml version=\"1.0\"?>\n<testsuites name=\"mtls-harness\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"2.0\">\n<testsuite name=\"a::y\" tests=\"1\"><testcase name=\"u\"/></testsuite>\n</testsuites>\n";
        let m = merge_junit(&[a.into(), b.into()]).unwrap();
        assert!(
            m.contains("tests=\"3\" failures=\"1\" errors=\"1\" time=\"2.000\""),
            "{m}"
        );
        assert!(m.find("a::y").unwrap() < m.find("b::x").unwrap(), "{m}");
    }
}
