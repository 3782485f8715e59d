//! The oracle: a flat [`Expectation`] and an [`Observation`] give a [`Verdict`].
//!
//! A field the expectation leaves out is not checked; a present one must match
//! exactly, except `body_contains` and `log_contains` (substrings) and
//! `ca_names.max_bytes` (an upper bound).

use crate::observation::{Handshake, Observation, Outcome};
use crate::scenario::schema::{Expectation, ExpectedResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Fail {
        diffs: Vec<Diff>,
    },
    Skip {
        reason: String,
    },
    /// A stage timed out (`connect`, `handshake`, `response`).
    Hang {
        stage: String,
    },
}

impl Verdict {
    /// `PASS`, `FAIL`, `SKIP` or `HANG`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail { .. } => "FAIL",
            Verdict::Skip { .. } => "SKIP",
            Verdict::Hang { .. } => "HANG",
        }
    }
}

/// One field that did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The expectation field (`alert`, `http_status`, `ca_names.count`, ...).
    pub field: String,
    pub expected: String,
    /// What was seen instead. For outcome fields (result, handshake, alert,
    /// client error, HTTP) this is the whole outcome ([`summarize`]), because
    /// "expected alert, got none" hides what did happen.
    pub got: String,
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected {}={}, got {}",
            self.field, self.expected, self.got
        )
    }
}

impl fmt::Display for Verdict {
    /// `FAIL: expected alert=unknown_ca by server, got http 400 "The SSL certificate error"`;
    /// diffs that share the same `got` are listed together.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("PASS"),
            Verdict::Skip { reason } => write!(f, "SKIP: {reason}"),
            Verdict::Hang { stage } => write!(f, "HANG: timed out in {stage}"),
            Verdict::Fail { diffs } => {
                f.write_str("FAIL: ")?;
                let mut groups: Vec<(Vec<String>, &str)> = Vec::new();
                for d in diffs {
                    let item = format!("{}={}", d.field, d.expected);
                    match groups.iter_mut().find(|(_, got)| *got == d.got) {
                        Some((items, _)) => items.push(item),
                        None => groups.push((vec![item], &d.got)),
                    }
                }
                let parts: Vec<String> = groups
                    .iter()
                    .map(|(items, got)| format!("expected {}, got {got}", items.join(", ")))
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// Judge one observation. A hang is always [`Verdict::Hang`]: nothing else
/// about a connection that never finished is trustworthy.
pub fn judge(expected: &Expectation, obs: &Observation) -> Verdict {
    if let Some(stage) = &obs.hang {
        return Verdict::Hang {
            stage: stage.clone(),
        };
    }
    let outcome = summarize(obs);
    let mut diffs = Vec::new();
    let mut diff = |field: &str, expected: String, got: String| {
        diffs.push(Diff {
            field: field.to_string(),
            expected,
            got,
        })
    };

    if let Some(want) = expected.result {
        let got = if is_success(obs) {
            ExpectedResult::Success
        } else {
            ExpectedResult::Failure
        };
        if got != want {
            diff("result", result_str(want).into(), outcome.clone());
        }
    }
    if let Some(want) = expected.handshake {
        if obs.handshake != Some(want) {
            diff("handshake", want.to_string(), outcome.clone());
        }
    }
    // alert and alert_sent_by are judged together so that one wrong alert is one diff.
    let alert_ok = unset_or_equal(
        expected.alert.as_deref(),
        obs.alert.as_ref().map(|a| a.description.as_str()),
    );
    let side_ok = unset_or_equal(
        expected.alert_sent_by.as_ref(),
        obs.alert.as_ref().map(|a| &a.sent_by),
    );
    if !(alert_ok && side_ok) {
        match (&expected.alert, expected.alert_sent_by) {
            (Some(name), Some(side)) => diff("alert", format!("{name} by {side}"), outcome.clone()),
            (Some(name), None) => diff("alert", name.clone(), outcome.clone()),
            (None, Some(side)) => diff("alert_sent_by", side.to_string(), outcome.clone()),
            (None, None) => {}
        }
    }
    if let Some(want) = &expected.client_error {
        if obs.client_error.as_ref() != Some(want) {
            diff("client_error", want.clone(), outcome.clone());
        }
    }
    let http = obs.http.as_ref();
    if let Some(want) = expected.http_status {
        if http.map(|h| h.status) != Some(want) {
            diff("http_status", want.to_string(), outcome.clone());
        }
    }
    if let Some(want) = expected.http_substatus {
        if http.and_then(|h| h.substatus) != Some(want) {
            diff("http_substatus", want.to_string(), outcome.clone());
        }
    }
    if let Some(want) = &expected.body_contains {
        if !http.is_some_and(|h| h.body_excerpt.contains(want.as_str())) {
            let got = match http {
                Some(h) => format!("body {:?}", excerpt(&h.body_excerpt, 120)),
                None => outcome.clone(),
            };
            diff("body_contains", format!("{want:?}"), got);
        }
    }
    if let Some(want) = expected.client_certificate_sent {
        if obs.client_certificate_sent != want {
            diff(
                "client_certificate_sent",
                want.to_string(),
                cert_sent_summary(obs),
            );
        }
    }
    if let Some(want) = expected.certificate_requested {
        if obs.certificate_requested != want {
            diff(
                "certificate_requested",
                want.to_string(),
                obs.certificate_requested.to_string(),
            );
        }
    }
    if let Some(want) = expected.resumed {
        if obs.resumed != want {
            diff("resumed", want.to_string(), obs.resumed.to_string());
        }
    }
    if let Some(want) = &expected.ca_names {
        let seen = obs.ca_names.as_ref();
        let none = || "no CA names seen".to_string();
        if let Some(count) = want.count {
            if seen.map(|c| c.count) != Some(count) {
                let got = seen.map_or_else(none, |c| c.count.to_string());
                diff("ca_names.count", count.to_string(), got);
            }
        }
        if let Some(max) = want.max_bytes {
            if seen.is_none_or(|c| c.encoded_bytes > max) {
                let got = seen.map_or_else(none, |c| format!("{} bytes", c.encoded_bytes));
                diff("ca_names.max_bytes", format!("<= {max}"), got);
            }
        }
        if let Some(truncated) = want.truncated {
            if seen.map(|c| c.truncated) != Some(truncated) {
                let got = seen.map_or_else(none, |c| c.truncated.to_string());
                diff("ca_names.truncated", truncated.to_string(), got);
            }
        }
    }
    if let Some(want) = &expected.log_contains {
        if !obs
            .gateway_log
            .as_ref()
            .is_some_and(|l| l.contains(want.as_str()))
        {
            let got = obs
                .gateway_log
                .as_ref()
                .map_or_else(|| "no log line".to_string(), |l| format!("log {l:?}"));
            diff("log_contains", format!("{want:?}"), got);
        }
    }

    if let Some(want) = &expected.server_cert_subject {
        if obs.server_cert_subject.as_ref() != Some(want) {
            let got = obs
                .server_cert_subject
                .clone()
                .unwrap_or_else(|| "no server certificate seen".into());
            diff("server_cert_subject", want.clone(), got);
        }
    }

    if diffs.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail { diffs }
    }
}

/// True when nothing is expected, or what is expected was seen.
fn unset_or_equal<T: PartialEq + ?Sized>(expected: Option<&T>, got: Option<&T>) -> bool {
    expected.is_none_or(|want| got == Some(want))
}

/// Authenticated means a 2xx response.
fn is_success(obs: &Observation) -> bool {
    obs.http
        .as_ref()
        .is_some_and(|h| (200..300).contains(&h.status))
}

fn result_str(r: ExpectedResult) -> &'static str {
    match r {
        ExpectedResult::Success => "SUCCESS",
        ExpectedResult::Failure => "FAILURE",
    }
}

fn cert_sent_summary(obs: &Observation) -> String {
    let detail = if obs.client_certificate_sent {
        &obs.chosen_cert
    } else {
        &obs.selection_reason
    };
    match detail {
        Some(d) => format!("{} ({d})", obs.client_certificate_sent),
        None => obs.client_certificate_sent.to_string(),
    }
}

/// One phrase for what happened: the [`Outcome`], with a short title of the
/// body for an HTTP response, and the handshake state when nothing else was
/// seen; `(resumed session)` after it when the connection resumed one.
pub fn summarize(obs: &Observation) -> String {
    let text = summarize_outcome(obs);
    if obs.resumed {
        format!("{text} (resumed session)")
    } else {
        text
    }
}

fn summarize_outcome(obs: &Observation) -> String {
    let outcome = obs.outcome();
    match (&outcome, &obs.http) {
        (Outcome::Http { status, .. }, Some(http)) => {
            let title = body_title(&http.body_excerpt, *status);
            if title.is_empty() {
                outcome.to_string()
            } else {
                format!("{outcome} {title:?}")
            }
        }
        (Outcome::Nothing, _) => match obs.handshake {
            Some(Handshake::Complete) => "handshake complete, no response".into(),
            Some(Handshake::Aborted) => "handshake aborted, no alert".into(),
            None => "no connection".into(),
        },
        _ => outcome.to_string(),
    }
}

/// A short title for a response body: `<title>` (without a leading status
/// code, as nginx writes `400 The SSL certificate error`), else the first line
/// of text.
fn body_title(body: &str, status: u16) -> String {
    let from_title = tag_text(body, "title").map(|t| {
        let code = status.to_string();
        t.strip_prefix(code.as_str())
            .map_or(t, |rest| rest.trim_start())
            .to_string()
    });
    let text = from_title.filter(|t| !t.is_empty()).unwrap_or_else(|| {
        strip_tags(body)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    });
    excerpt(&text, 60)
}

/// The text inside the first `<tag ...>...</tag>`, case-insensitive.
fn tag_text<'b>(body: &'b str, tag: &str) -> Option<&'b str> {
    let lower = body.to_ascii_lowercase();
    let open = lower.find(&format!("<{tag}"))?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find(&format!("</{tag}"))?;
    body.get(start..end).map(str::trim)
}

fn strip_tags(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// At most `max` characters, with `...` when cut.
fn excerpt(s: &str, max: usize) -> String {
    let collapsed: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let cut: String = collapsed.chars().take(max).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{AlertSeen, CaNamesSeen, HttpSeen, Side};
    use crate::scenario::schema::CaNamesExpectation;

    const NGINX_400: &str = "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error</center>\r\n</body></html>";

    fn alert(name: &str, by: Side) -> Observation {
        Observation {
            handshake: Some(Handshake::Aborted),
            alert: Some(AlertSeen {
                description: name.into(),
                sent_by: by,
            }),
            ..Observation::default()
        }
    }

    fn http(status: u16, substatus: Option<u16>, body: &str) -> Observation {
        Observation {
            handshake: Some(Handshake::Complete),
            client_certificate_sent: true,
            chosen_cert: Some("alice".into()),
            http: Some(HttpSeen {
                status,
                substatus,
                body_excerpt: body.into(),
            }),
            ..Observation::default()
        }
    }

    fn expect_alert(name: &str, by: Option<Side>) -> Expectation {
        Expectation {
            alert: Some(name.into()),
            alert_sent_by: by,
            ..Expectation::default()
        }
    }

    fn failed_fields(v: &Verdict) -> Vec<&str> {
        match v {
            Verdict::Fail { diffs } => diffs.iter().map(|d| d.field.as_str()).collect(),
            other => panic!("expected FAIL, got {other}"),
        }
    }

    #[test]
    fn table_of_pass_and_fail() {
        let ok_200 = http(200, None, "hello");
        let cases: Vec<(&str, Expectation, Observation, Vec<&str>)> = vec![
            (
                "nothing expected",
                Expectation::default(),
                ok_200.clone(),
                vec![],
            ),
            (
                "success on 2xx",
                Expectation {
                    result: Some(ExpectedResult::Success),
                    ..Default::default()
                },
                http(204, None, ""),
                vec![],
            ),
            (
                "an error page is a failure",
                Expectation {
                    result: Some(ExpectedResult::Success),
                    ..Default::default()
                },
                http(400, None, NGINX_400),
                vec!["result"],
            ),
            (
                "an alert is a failure",
                Expectation {
                    result: Some(ExpectedResult::Failure),
                    ..Default::default()
                },
                alert("unknown_ca", Side::Server),
                vec![],
            ),
            (
                "right alert and side",
                expect_alert("unknown_ca", Some(Side::Server)),
                alert("unknown_ca", Side::Server),
                vec![],
            ),
            (
                "wrong failure: another alert",
                expect_alert("unknown_ca", Some(Side::Server)),
                alert("bad_certificate", Side::Server),
                vec!["alert"],
            ),
            (
                "right alert, wrong side",
                expect_alert("decode_error", Some(Side::Server)),
                alert("decode_error", Side::Client),
                vec!["alert"],
            ),
            (
                "side only",
                Expectation {
                    alert_sent_by: Some(Side::Client),
                    ..Default::default()
                },
                alert("decode_error", Side::Server),
                vec!["alert_sent_by"],
            ),
            (
                "alert expected, http seen",
                expect_alert("unknown_ca", None),
                http(400, None, NGINX_400),
                vec!["alert"],
            ),
            (
                "handshake",
                Expectation {
                    handshake: Some(Handshake::Complete),
                    ..Default::default()
                },
                alert("certificate_required", Side::Server),
                vec!["handshake"],
            ),
            (
                "client error",
                Expectation {
                    client_error: Some("HANDSHAKE_PAYLOAD_TOO_LARGE".into()),
                    ..Default::default()
                },
                Observation {
                    client_error: Some("MESSAGE_BUFFER_FULL".into()),
                    ..Default::default()
                },
                vec!["client_error"],
            ),
            (
                "iis substatus",
                Expectation {
                    http_status: Some(403),
                    http_substatus: Some(7),
                    ..Default::default()
                },
                http(403, Some(16), "403.16"),
                vec!["http_substatus"],
            ),
            (
                "body is a substring",
                Expectation {
                    http_status: Some(400),
                    body_contains: Some("SSL certificate error".into()),
                    ..Default::default()
                },
                http(400, None, NGINX_400),
                vec![],
            ),
            (
                "body missing text",
                Expectation {
                    body_contains: Some("No required SSL certificate".into()),
                    ..Default::default()
                },
                http(400, None, NGINX_400),
                vec!["body_contains"],
            ),
            (
                "cert sent",
                Expectation {
                    client_certificate_sent: Some(false),
                    certificate_requested: Some(true),
                    ..Default::default()
                },
                ok_200.clone(),
                vec!["client_certificate_sent", "certificate_requested"],
            ),
            (
                "log substring",
                Expectation {
                    log_contains: Some("FAILED:certificate".into()),
                    ..Default::default()
                },
                Observation {
                    gateway_log: Some("client SSL certificate verify error".into()),
                    ..Default::default()
                },
                vec!["log_contains"],
            ),
        ];
        for (name, expected, obs, fields) in cases {
            let verdict = judge(&expected, &obs);
            if fields.is_empty() {
                assert_eq!(verdict, Verdict::Pass, "{name}");
            } else {
                assert_eq!(failed_fields(&verdict), fields, "{name}");
            }
        }
    }

    #[test]
    fn ca_names_fields() {
        let seen = Observation {
            ca_names: Some(CaNamesSeen {
                count: 3,
                encoded_bytes: 16_000,
                truncated: true,
                subjects: vec![],
            }),
            ..Observation::default()
        };
        let want = |count, max_bytes, truncated| Expectation {
            ca_names: Some(CaNamesExpectation {
                count,
                max_bytes,
                truncated,
            }),
            ..Expectation::default()
        };
        assert_eq!(
            judge(&want(Some(3), Some(16_384), Some(true)), &seen),
            Verdict::Pass
        );
        assert_eq!(judge(&want(None, Some(16_000), None), &seen), Verdict::Pass);
        assert_eq!(
            failed_fields(&judge(&want(None, Some(15_999), None), &seen)),
            ["ca_names.max_bytes"]
        );
        assert_eq!(
            failed_fields(&judge(&want(Some(2), None, Some(false)), &seen)),
            ["ca_names.count", "ca_names.truncated"]
        );
        let nothing = judge(&want(Some(0), None, None), &Observation::default());
        assert_eq!(
            nothing.to_string(),
            "FAIL: expected ca_names.count=0, got no CA names seen"
        );
    }

    #[test]
    fn hang_wins() {
        let obs = Observation {
            hang: Some("handshake".into()),
            http: Some(HttpSeen {
                status: 200,
                ..Default::default()
            }),
            ..Observation::default()
        };
        let v = judge(&Expectation::default(), &obs);
        assert_eq!(
            v,
            Verdict::Hang {
                stage: "handshake".into()
            }
        );
        assert_eq!(v.to_string(), "HANG: timed out in handshake");
    }

    #[test]
    fn fail_display_says_what_happened() {
        let v = judge(
            &expect_alert("unknown_ca", Some(Side::Server)),
            &http(400, None, NGINX_400),
        );
        assert_eq!(
            v.to_string(),
            "FAIL: expected alert=unknown_ca by server, got http 400 \"The SSL certificate error\""
        );
        let v = judge(
            &Expectation {
                http_status: Some(400),
                body_contains: Some("No required".into()),
                client_certificate_sent: Some(false),
                ..Default::default()
            },
            &alert("certificate_required", Side::Server),
        );
        assert_eq!(
            v.to_string(),
            "FAIL: expected http_status=400, body_contains=\"No required\", got alert certificate_required by server"
        );
    }

    #[test]
    fn summaries() {
        assert_eq!(
            summarize(&alert("unknown_ca", Side::Server)),
            "alert unknown_ca by server"
        );
        assert_eq!(
            summarize(&Observation {
                client_error: Some("DECODE_ERROR".into()),
                ..Default::default()
            }),
            "client error DECODE_ERROR"
        );
        assert_eq!(
            summarize(&http(
                403,
                Some(7),
                "<h2>403 - Forbidden: Access is denied.</h2>"
            )),
            "http 403.7 \"403 - Forbidden: Access is denied.\""
        );
        assert_eq!(summarize(&http(200, None, "")), "http 200");
        assert_eq!(
            summarize(&Observation {
                handshake: Some(Handshake::Complete),
                ..Default::default()
            }),
            "handshake complete, no response"
        );
        assert_eq!(
            summarize(&Observation {
                handshake: Some(Handshake::Aborted),
                ..Default::default()
            }),
            "handshake aborted, no alert"
        );
        assert_eq!(summarize(&Observation::default()), "no connection");
        assert_eq!(
            summarize(&Observation {
                hang: Some("response".into()),
                ..http(200, None, "authenticated")
            }),
            "hang in response"
        );
        let long = "x".repeat(500);
        assert_eq!(
            summarize(&http(500, None, &long)).len(),
            "http 500 \"\"".len() + 63
        );
    }
}
