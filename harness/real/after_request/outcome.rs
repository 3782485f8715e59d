//! What one case gave, in words that do not change from run to run: the
//! HTTP status and whether the protected page came, or the TLS alert and
//! who sent it, or the client's own error; and the codes Apache logged for
//! the connection at level `error`/`warn` (`AH02262`).

use super::apache::PAGE_MARKER;
use crate::observation::{Observation, Side};
use crate::real::client::ClientRun;

/// The client's view of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP response; `page`: it was the protected page.
    Http { status: u16, page: bool },
    /// A TLS alert, named as RFC 8446 names it, and who sent it.
    Alert { alert: String, sent_by: Side },
    /// The client reported the connection closed under it (a broken pipe,
    /// a reset, an unexpected EOF, curl's empty reply): Apache ended it
    /// while the client was still writing, and the client never read the
    /// alert (see [`CaseOutcome`]).
    ConnectionClosed,
    /// Apache refused what the client sent after the request and the
    /// client reported its alert or the connection closed under it: which
    /// it reads first is a race in clients that write while Apache closes
    /// (JSSE, GnuTLS), so for them the two are one outcome.
    ClosedOrAlert,
    /// The client stopped with an error that names no alert (normalized:
    /// no ports, paths or numbers of the run).
    ClientError(String),
    /// The client did not finish within its time limit.
    Hang,
}

impl Outcome {
    /// Whether the protected page was served (the certificate arrived and
    /// was accepted).
    pub fn served(&self) -> bool {
        matches!(
            self,
            Outcome::Http {
                status: 200,
                page: true
            }
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Http { status, page: true } => write!(f, "{status} page"),
            Outcome::Http {
                status,
                page: false,
            } => write!(f, "{status}"),
            Outcome::Alert {
                alert,
                sent_by: Side::Server,
            } => write!(f, "alert {alert} from Apache"),
            Outcome::Alert {
                alert,
                sent_by: Side::Client,
            } => write!(f, "alert {alert} from client"),
            Outcome::ConnectionClosed => write!(f, "connection closed"),
            Outcome::ClosedOrAlert => write!(
                f,
                "Apache's alert or the connection closed (which the client reads first is a race)"
            ),
            Outcome::ClientError(e) => write!(f, "client error: {e}"),
            Outcome::Hang => write!(f, "hang"),
        }
    }
}

/// A case's outcome and what Apache logged.
///
/// Whether a client reads Apache's alert or finds the connection closed
/// while it still writes its side of the new handshake is a race in the
/// client (Java's JSSE mostly reports `Broken pipe`, sometimes the alert):
/// a case whose client reported Apache's alert is run twice more, and a
/// connection closed in any run is what the table shows
/// (`run::REPEATS_OF_AN_ALERT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    pub outcome: Outcome,
    /// The `AHnnnnn` codes Apache logged at `error` or `warn`, in order,
    /// each once.
    pub apache: Vec<String>,
    /// The requests Apache logged, in order: protocol and status
    /// (`HTTP/2.0 403`, then `HTTP/1.1 200` for a client that retried).
    pub requests: Vec<String>,
    /// What the client printed (for the test's diagnostics; not in the table).
    pub detail: String,
}

impl std::fmt::Display for CaseOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.outcome)?;
        let logged: Vec<&str> = self
            .apache
            .iter()
            .chain(&self.requests)
            .map(String::as_str)
            .collect();
        if !logged.is_empty() {
            write!(f, " (Apache: {})", logged.join(", "))?;
        }
        Ok(())
    }
}

/// Alert names as the clients print them (OpenSSL `tlsv1 alert unknown
/// ca`, Go `tls: unknown certificate authority`, Java `handshake_failure`,
/// JSSE's `certificate_unknown` as OpenSSL prints it (`sslv3 alert certificate unknown`),
/// Node `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, GnuTLS `Unknown CA`),
/// lower-cased with `_` as a space, and the RFC's name.
const ALERT_PHRASES: [(&str, &str); 14] = [
    ("certificate required", "certificate_required"),
    ("unknown ca", "unknown_ca"),
    ("unknown certificate authority", "unknown_ca"),
    // After the CA one: Go says `tls: unknown certificate`.
    ("unknown certificate", "certificate_unknown"),
    ("certificate unknown", "certificate_unknown"),
    ("handshake failure", "handshake_failure"),
    ("no renegotiation", "no_renegotiation"),
    ("unexpected message", "unexpected_message"),
    ("bad certificate", "bad_certificate"),
    ("access denied", "access_denied"),
    ("decrypt error", "decrypt_error"),
    ("protocol version", "protocol_version"),
    ("internal error", "internal_error"),
    ("illegal parameter", "illegal_parameter"),
];

/// The alert a client's error names, and who sent it: an alert is the
/// server's unless the client says it raised it itself (Go's `local
/// error`, its `tls: no renegotiation`, a Java `Fatal (…)` it sent).
pub fn alert_in(error: &str) -> Option<(String, Side)> {
    // GnuTLS: `Received alert [48]: CA is unknown`, by its number.
    if let Some(rest) = error.split("Received alert [").nth(1) {
        let code = rest.split(']').next().and_then(|n| n.parse::<u8>().ok());
        if let Some(info) = code.and_then(crate::alert::by_code) {
            return Some((info.name.to_string(), Side::Server));
        }
    }
    let text = error.to_lowercase().replace('_', " ");
    let (_, name) = ALERT_PHRASES.iter().find(|(p, _)| text.contains(p))?;
    let local = text.contains("local error")
        || (*name == "no_renegotiation"
            && !text.contains("alert no renegotiation")
            && !text.contains("remote error"));
    Some((
        name.to_string(),
        if local { Side::Client } else { Side::Server },
    ))
}

/// How clients say the peer closed the connection under them.
const CLOSED_PHRASES: [&str; 9] = [
    "broken pipe",
    // GnuTLS after Apache refused the certificate it sent for a
    // post-handshake request: `GNUTLS_E_INVALID_SESSION`.
    "session has been invalidated",
    "connection reset",
    "reset by peer",
    "empty reply from server",
    "unexpected eof",
    "socket hang up",
    "econnreset",
    "epipe",
];

/// Whether `error` says the connection was closed under the client.
pub fn closed_in(error: &str) -> bool {
    let text = error.to_lowercase();
    CLOSED_PHRASES.iter().any(|p| text.contains(p))
}

/// An error without what changes between runs: ports, addresses, paths,
/// long numbers; at most 120 characters.
pub fn normalize(error: &str) -> String {
    let re_addr = regex_lite::Regex::new(r"(localhost|127\.0\.0\.1|\[::1\]):\d+").expect("regex");
    let re_path = regex_lite::Regex::new(r"/[A-Za-z0-9._/-]*mtls-[A-Za-z0-9._/-]*").expect("regex");
    let re_num = regex_lite::Regex::new(r"\b0x[0-9a-fA-F]+\b|\b\d{3,}\b").expect("regex");
    // Go names the request first: `Get "https://…": `.
    let re_request = regex_lite::Regex::new(r#"^(Get|GET) "[^"]*": "#).expect("regex");
    let s = re_request.replace(error.trim(), "");
    let s = re_addr.replace_all(&s, "$1:PORT");
    let s = re_path.replace_all(&s, "<dir>");
    let s = re_num.replace_all(&s, "N");
    let s = s.replace('|', "/").replace('\n', " ");
    let mut s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 120 {
        s = s.chars().take(117).collect::<String>() + "...";
    }
    s
}

/// The `AHnnnnn` codes of the `error`/`warn` lines of `log`.
pub fn apache_codes(log: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r"\b(AH\d{5})\b").expect("regex");
    let mut codes: Vec<String> = Vec::new();
    for line in log.lines() {
        if !(line.contains(":error]") || line.contains(":warn]")) {
            continue;
        }
        if let Some(m) = re.captures(line) {
            let code = m[1].to_string();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    codes
}

/// The requests for the page in the access lines of `log` (`HTTP/1.1
/// 200`), each answer once: a browser's other requests (`/favicon.ico`)
/// are left out, and how often a client repeats the same request (Java's
/// HttpsURLConnection retries a GET once, Chromium sometimes opens a second
/// h2 connection) varies from run to run. The h2 ones come first: Apache may
/// log a refused h2 stream after the HTTP/1.1 retry it caused (a retry only
/// ever goes from h2 to HTTP/1.1), and the HTTP/1.1 ones stay in their
/// order (one connection after another).
pub fn apache_requests(log: &str) -> Vec<String> {
    let mut requests: Vec<String> = log
        .lines()
        .filter_map(|l| l.strip_prefix(super::apache::ACCESS_PREFIX))
        .filter_map(|l| l.trim().strip_prefix(super::apache::PAGE))
        .map(|l| l.trim().to_string())
        .collect();
    requests.sort_by_key(|r| !r.starts_with("HTTP/2"));
    let mut once: Vec<String> = Vec::new();
    for r in requests {
        if !once.contains(&r) {
            once.push(r);
        }
    }
    once
}

/// A real client's run, read; `requests` are Apache's access lines of the
/// run ([`apache_requests`]): a browser shows a page without its status,
/// which is the last request's.
pub fn of_real_run(run: &ClientRun, requests: &[String], browser: bool) -> Outcome {
    if run.hang.is_some() {
        return Outcome::Hang;
    }
    if let (None, Some(page)) = (&run.report.http, &run.report.page) {
        let status = requests
            .last()
            .and_then(|r| r.rsplit(' ').next())
            .and_then(|s| s.parse().ok());
        return match status {
            // Firefox (`--screenshot`) shows no text: that Apache answered
            // the page with 200 is then the evidence.
            Some(status) => Outcome::Http {
                status,
                page: page.contains(PAGE_MARKER) || (page.is_empty() && status == 200),
            },
            None => Outcome::ClientError("a page without a request in Apache's log".into()),
        };
    }
    if let Some((status, body)) = &run.report.http {
        return Outcome::Http {
            status: *status,
            page: body.contains(PAGE_MARKER),
        };
    }
    let error = run
        .report
        .error
        .clone()
        .unwrap_or_else(|| "no output".into());
    if browser && run.stdout.trim().is_empty() && !error.starts_with("ERR_") {
        // Headless Chromium dumps no DOM when the load fails without an
        // error page; its stderr is start-up noise.
        return Outcome::ClientError("no page (an empty DOM)".into());
    }
    match alert_in(&error) {
        Some((alert, sent_by)) => Outcome::Alert { alert, sent_by },
        // GnuTLS failing on its own side after a renegotiation Apache
        // accepted: its error, not the connection closed under it.
        None if error.contains("unexpected TLS packet") => Outcome::ClientError(normalize(&error)),
        None if closed_in(&error) => Outcome::ConnectionClosed,
        None => Outcome::ClientError(normalize(&error)),
    }
}

/// The harness's own client's observation, read.
pub fn of_observation(obs: &Observation) -> Outcome {
    if obs.hang.is_some() {
        return Outcome::Hang;
    }
    if let Some(h) = &obs.http {
        return Outcome::Http {
            status: h.status,
            page: h.body_excerpt.contains(PAGE_MARKER),
        };
    }
    if let Some(a) = &obs.alert {
        return Outcome::Alert {
            alert: a.description.clone(),
            sent_by: a.sent_by,
        };
    }
    Outcome::ClientError(normalize(
        obs.client_error_detail
            .as_deref()
            .or(obs.client_error.as_deref())
            .unwrap_or("no response"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_named_and_attributed_as_clients_print_them() {
        let server = |s: &str| alert_in(s).map(|(a, by)| (a, by == Side::Server));
        assert_eq!(
            server("error:0A000418:SSL routines::tlsv1 alert unknown ca"),
            Some(("unknown_ca".into(), true))
        );
        assert_eq!(
            server(
                "Get \"https://localhost:1/\": remote error: tls: unknown certificate authority"
            ),
            Some(("unknown_ca".into(), true))
        );
        assert_eq!(
            server("Get \"https://localhost:1/admin/\": local error: tls: no renegotiation"),
            Some(("no_renegotiation".into(), false))
        );
        assert_eq!(
            server("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED x"),
            Some(("certificate_required".into(), true))
        );
        assert_eq!(server("Empty reply from server"), None);
        assert_eq!(
            server("Received alert [116]: Certificate is required"),
            Some(("certificate_required".into(), true))
        );
        assert!(closed_in("java.net.SocketException: Broken pipe"));
        assert!(closed_in("curl: (56) Empty reply from server"));
        assert!(!closed_in("tlsv1 alert unknown ca"));
    }

    #[test]
    fn errors_lose_what_changes_between_runs() {
        assert_eq!(
            normalize("dial tcp localhost:40123: EOF"),
            "dial tcp localhost:PORT: EOF"
        );
        assert_eq!(normalize("a | b\n c"), "a / b c");
        assert_eq!(
            normalize(
                "Get \"https://localhost:1/x\": stream error: stream ID 1; HTTP_1_1_REQUIRED"
            ),
            "stream error: stream ID 1; HTTP_1_1_REQUIRED"
        );
        assert_eq!(
            apache_codes("[ssl:info] AH01964: x\n[ssl:error] [client 127.0.0.1:5] AH02263: y\n[ssl:error] AH02263: y"),
            ["AH02263"]
        );
        assert_eq!(
            apache_requests(
                "[ssl:info] x\nACCESS /admin/page.txt HTTP/1.1 403\nACCESS /admin/page.txt HTTP/1.1 200\nACCESS /admin/page.txt HTTP/1.1 403\nACCESS /admin/page.txt HTTP/2.0 403\nACCESS /favicon.ico HTTP/1.1 404\n"
            ),
            ["HTTP/2.0 403", "HTTP/1.1 403", "HTTP/1.1 200"]
        );
    }
}
