//! From what the probe's exchanges saw on one TLS version to a conclusion
//! with its cause, and from the versions to the probe's exit code.
//!
//! "Required" is judged by whether the exchange without a certificate fails,
//! whatever the alert (Go and Tomcat send bad_certificate, OpenSSL
//! handshake_failure or certificate_required), and also when the server
//! closes or resets the connection after asking instead of answering.

use crate::exit_codes;
use crate::observation::{Handshake, Observation, Side, TlsVersion};
use serde::Serialize;

/// What the probe concludes, on one version or overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conclusion {
    /// The given certificate would be sent and accepted (without one: the
    /// server does not require one).
    Accepted,
    /// It would not be sent, or would be rejected; or none was given and the
    /// server requires one.
    NotAccepted,
    /// The target could not be judged: no TLS, no answer, garbage, a reset.
    Broken,
    /// The server does not speak this TLS version (one version only).
    NotSpoken,
}

impl Conclusion {
    /// The process exit code (see [`exit_codes::PROBE`]).
    pub fn exit_code(self) -> i32 {
        match self {
            Conclusion::Accepted => exit_codes::PROBE_ACCEPTED,
            Conclusion::NotAccepted => exit_codes::PROBE_NOT_ACCEPTED,
            Conclusion::Broken | Conclusion::NotSpoken => exit_codes::PROBE_BROKEN,
        }
    }
}

/// A conclusion and the sentence that says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub conclusion: Conclusion,
    pub cause: String,
}

fn finding(conclusion: Conclusion, cause: impl Into<String>) -> Finding {
    Finding {
        conclusion,
        cause: cause.into(),
    }
}

/// HTTP statuses gateways answer a missing or refused certificate with:
/// nginx 400 (495/496 internally), Layer7-style 401, IIS 403.x.
const REJECTING_STATUSES: [u16; 5] = [400, 401, 403, 495, 496];

/// The client errors that mean the peer closed or reset the connection.
const CLOSED: [&str; 4] = [
    "CONNECTION_RESET",
    "CONNECTION_CLOSED",
    "CONNECTION_ABORTED",
    "BROKEN_PIPE",
];

/// Client errors rustls raises when the server picked a version this client
/// did not offer (a TLS 1.0 server, or a 1.2 server to a 1.3-only hello).
const VERSION_MISMATCH: [&str; 2] = [
    "PEER_INCOMPATIBLE_SERVER_DOES_NOT_SUPPORT_TLS12_OR13",
    "PEER_INCOMPATIBLE_SERVER_TLS_VERSION_IS_DISABLED_BY_OUR_CONFIG",
];

/// The likely cause named when a handshake breaks where a
/// CertificateRequest was due (`oversize/` in the catalog).
pub const OVERSIZED_LIST_CAUSE: &str = "a CA-name list over 65,535 bytes is a known cause: a server that names every CA of a large trust store (rustls's default root hints, nginx's ssl_client_certificate) cannot encode it; OpenSSL-based servers send internal_error, a debug build of rustls panics and closes the connection, a release build sends it with wrapped lengths and clients refuse it";

/// What the target's trust store says about that cause, when it is known
/// and the exchange broke the way an oversized list breaks it.
pub fn trust_store_note(
    bare: &Observation,
    trust_store: Option<crate::probe::TrustStoreSize>,
) -> Option<String> {
    let size = trust_store?;
    let code = bare.client_error.as_deref().unwrap_or("");
    let broke_there = code == "HANDSHAKE_PAYLOAD_TOO_LARGE"
        || server_alert(bare) == Some("internal_error")
        || (closed(bare) && !bare.certificate_requested && bare.http.is_none());
    broke_there.then(|| size.sentence())
}

fn server_alert(o: &Observation) -> Option<&str> {
    o.alert
        .as_ref()
        .filter(|a| a.sent_by == Side::Server)
        .map(|a| a.description.as_str())
}

fn closed(o: &Observation) -> bool {
    o.client_error
        .as_deref()
        .is_some_and(|c| CLOSED.contains(&c))
}

fn detail(o: &Observation) -> String {
    o.client_error_detail
        .clone()
        .or_else(|| o.client_error.clone())
        .unwrap_or_else(|| crate::oracle::summarize(o))
}

/// The exchange was refused by the server: a server alert, a rejecting HTTP
/// status, or the connection closed after the server asked for a certificate.
pub fn refused(o: &Observation) -> bool {
    if o.hang.is_some() {
        return false;
    }
    match &o.http {
        Some(h) => REJECTING_STATUSES.contains(&h.status),
        None => server_alert(o).is_some() || (o.certificate_requested && closed(o)),
    }
}

/// Whether the server failed the handshake (or, on TLS 1.3, the first read)
/// for want of a certificate, whatever the alert.
pub fn required_in_handshake(bare: &Observation) -> bool {
    bare.certificate_requested && bare.http.is_none() && refused(bare)
}

/// Why the exchange without a certificate shows this version unusable, if it
/// does: the server does not speak it, sent nothing (in time), sent garbage,
/// reset the connection, or sent a handshake message no rustls client reads.
pub fn unusable(bare: &Observation, timeout_secs: u64) -> Option<Finding> {
    if let Some(stage) = &bare.hang {
        let cause = match stage.as_str() {
            "connect" => format!("the TCP connection was not accepted within {timeout_secs} s"),
            "handshake" => format!(
                "the TLS handshake did not finish within {timeout_secs} s (the server accepted the connection but sent no complete handshake: silent or too slow)"
            ),
            _ if bare.certificate_requested => return None,
            _ => format!(
                "the handshake completed but no HTTP answer came within {timeout_secs} s"
            ),
        };
        return Some(finding(Conclusion::Broken, cause));
    }
    let code = bare.client_error.as_deref().unwrap_or("");
    if VERSION_MISMATCH.contains(&code) || server_alert(bare) == Some("protocol_version") {
        return Some(finding(
            Conclusion::NotSpoken,
            format!(
                "the server does not speak the offered TLS version ({})",
                detail(bare)
            ),
        ));
    }
    if code == "HANDSHAKE_PAYLOAD_TOO_LARGE" {
        return Some(finding(
            Conclusion::NotAccepted,
            format!("the server sent a handshake message over 64 KiB (a CertificateRequest whose CA list is too long): rustls and Go clients abort the handshake and send no certificate; {OVERSIZED_LIST_CAUSE}"),
        ));
    }
    if bare.http.is_some() || bare.handshake == Some(Handshake::Complete) {
        return None;
    }
    if bare.certificate_requested && refused(bare) {
        // Asked, then refused the connection without a certificate: judged
        // as "requires one", not as broken.
        return None;
    }
    let cause = if let Some(alert) = server_alert(bare) {
        let hint = if alert == "internal_error" {
            format!("; if it asks for client certificates, {OVERSIZED_LIST_CAUSE}")
        } else {
            String::new()
        };
        format!(
            "the server refused the handshake with alert {alert} before asking for a certificate{hint}"
        )
    } else if closed(bare) {
        format!(
            "the server ended the connection during the handshake ({}); if it asks for client certificates, {OVERSIZED_LIST_CAUSE}",
            detail(bare)
        )
    } else if code.is_empty() {
        format!("no TLS handshake ({})", crate::oracle::summarize(bare))
    } else {
        format!(
            "not a TLS 1.2/1.3 server this client can talk to: {}",
            detail(bare)
        )
    };
    Some(finding(Conclusion::Broken, cause))
}

/// How the exchange without a certificate (rustls: neither renegotiation
/// nor post-handshake auth) shows the certificate asked for after the
/// request on `version`, when it shows it alone: on TLS 1.2 a handshake
/// with no CertificateRequest that completed, then, once the request was
/// sent, the server's handshake_failure (the HelloRequest the client
/// refused: Apache AH02261); on TLS 1.3 IIS's 500 with 0x80070032 (HTTP.sys
/// cannot ask after the handshake). Apache's TLS 1.3 403 looks like any
/// 403: [`after_request_on_tls13`] tells it from the TLS 1.2 exchange.
pub fn asked_after_request(bare: &Observation, version: TlsVersion) -> Option<String> {
    if bare.certificate_requested || bare.hang.is_some() {
        return None;
    }
    match version {
        // The handshake's time is recorded once it completed, before the
        // request; the alert that came after it marks it aborted.
        TlsVersion::Tls12 => (bare.timings.handshake_ms.is_some()
            && bare.http.is_none()
            && server_alert(bare) == Some("handshake_failure"))
        .then(|| {
            "TLS 1.2 renegotiation: the handshake completed without a CertificateRequest, and after the request the server ended the connection with handshake_failure when the client refused to renegotiate".to_string()
        }),
        TlsVersion::Tls13 => bare
            .http
            .as_ref()
            .filter(|h| h.status == 500 && h.body_excerpt.contains("0x80070032"))
            .map(|_| {
                "IIS on TLS 1.3: HTTP.sys has no post-handshake authentication and answers 500.0 with 0x80070032 (ERROR_NOT_SUPPORTED) to every client".to_string()
            }),
    }
}

/// On TLS 1.3, a path that asks after the request by renegotiation on
/// TLS 1.2 asks by post-handshake authentication: the exchange without a
/// certificate completed without a CertificateRequest and was refused with
/// a status (Apache: 403, AH10158, to a client that did not offer it).
pub fn after_request_on_tls13(bare13: &Observation) -> Option<String> {
    let refused = bare13.http.as_ref().is_some_and(|h| h.status == 403);
    (!bare13.certificate_requested && refused).then(|| {
        "TLS 1.3 post-handshake auth: the handshake completed without a CertificateRequest and the request got 403; the same path asks by renegotiation on TLS 1.2".to_string()
    })
}

/// The finding for a path that asks after the request (`how`), on `version`.
pub fn after_request_finding(how: &str, version: TlsVersion) -> Finding {
    let who = if how.starts_with("IIS") {
        "no client can answer it on TLS 1.3".to_string()
    } else {
        format!(
            "these clients cannot answer: {}",
            crate::real::after_request::cannot_answer_on(version)
        )
    };
    finding(
        Conclusion::NotAccepted,
        format!("this path asks for a certificate after the request ({how}); {who}"),
    )
}

/// What one version says, given the exchange without a certificate and,
/// when a certificate was given, whether a client filtering by CA names
/// sends it (and why) and the exchange that sends it whatever the names.
pub fn judge_version(
    bare: &Observation,
    with_cert: Option<(Option<bool>, Option<&str>, &Observation)>,
    timeout_secs: u64,
) -> Finding {
    if let Some(f) = unusable(bare, timeout_secs) {
        return f;
    }
    let without = crate::oracle::summarize(bare);
    let Some((browser_sends, browser_reason, sent)) = with_cert else {
        if !bare.certificate_requested {
            return finding(
                Conclusion::Accepted,
                format!("the server does not ask for a certificate: {without}"),
            );
        }
        if bare.hang.is_some() {
            return finding(
                Conclusion::Broken,
                format!("the server asked for a certificate, then did not answer within {timeout_secs} s"),
            );
        }
        if refused(bare) {
            return finding(
                Conclusion::NotAccepted,
                format!("the server requires a certificate and none was given: {without}"),
            );
        }
        return finding(
            Conclusion::Accepted,
            format!("the server asks for a certificate but answers without one: {without}"),
        );
    };
    if !bare.certificate_requested {
        return finding(
            Conclusion::NotAccepted,
            format!("the server does not ask for a client certificate, so yours is never sent ({without})"),
        );
    }
    if browser_sends == Some(false) {
        return finding(
            Conclusion::NotAccepted,
            format!(
                "{} (and Windows clients) will not send it: {}",
                crate::real::client::filtering_families(),
                browser_reason.unwrap_or("its issuer is not among the CA names")
            ),
        );
    }
    let answer = crate::oracle::summarize(sent);
    if let Some(stage) = &sent.hang {
        return finding(
            Conclusion::Broken,
            format!("with the certificate, no answer within {timeout_secs} s ({stage})"),
        );
    }
    if refused(sent) {
        return finding(
            Conclusion::NotAccepted,
            format!("the server rejects it: {answer}"),
        );
    }
    if sent.http.is_some() {
        return finding(
            Conclusion::Accepted,
            format!("it is sent and accepted: {answer}"),
        );
    }
    // The certificate went out and neither an answer nor a refusal came back.
    finding(
        Conclusion::NotAccepted,
        format!("with the certificate the exchange failed: {}", detail(sent)),
    )
}

/// The probe's conclusion from each version's: any refusal wins (1), then a
/// broken version (2), then acceptance (0); no version spoken is broken.
pub fn overall(versions: &[(crate::observation::TlsVersion, &Finding)]) -> Finding {
    let pick = |c: Conclusion| versions.iter().find(|(_, f)| f.conclusion == c);
    for c in [
        Conclusion::NotAccepted,
        Conclusion::Broken,
        Conclusion::Accepted,
    ] {
        if let Some((v, f)) = pick(c) {
            return finding(c, format!("TLS {v}: {}", f.cause));
        }
    }
    let causes: Vec<String> = versions
        .iter()
        .map(|(v, f)| format!("TLS {v}: {}", f.cause))
        .collect();
    finding(
        Conclusion::Broken,
        format!(
            "the server speaks neither TLS 1.2 nor TLS 1.3 ({})",
            causes.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{AlertSeen, HttpSeen};

    fn requested() -> Observation {
        Observation {
            certificate_requested: true,
            handshake: Some(Handshake::Complete),
            ..Observation::default()
        }
    }

    fn alert(mut o: Observation, name: &str) -> Observation {
        o.handshake = Some(Handshake::Aborted);
        o.alert = Some(AlertSeen {
            description: name.into(),
            sent_by: Side::Server,
        });
        o
    }

    fn http(mut o: Observation, status: u16) -> Observation {
        o.http = Some(HttpSeen {
            status,
            substatus: None,
            body_excerpt: String::new(),
        });
        o
    }

    #[test]
    fn any_server_alert_after_asking_means_required() {
        for name in [
            "certificate_required",
            "handshake_failure",
            "bad_certificate",
        ] {
            let bare = alert(requested(), name);
            assert!(required_in_handshake(&bare), "{name}");
            let f = judge_version(&bare, None, 5);
            assert_eq!(f.conclusion, Conclusion::NotAccepted, "{name}");
        }
        let mut reset = requested();
        reset.client_error = Some("CONNECTION_RESET".into());
        assert!(required_in_handshake(&reset));
    }

    #[test]
    fn optional_servers_and_servers_that_do_not_ask_accept_no_certificate() {
        let f = judge_version(&http(requested(), 200), None, 5);
        assert_eq!(f.conclusion, Conclusion::Accepted);
        let f = judge_version(&http(Observation::default(), 200), None, 5);
        assert_eq!(f.conclusion, Conclusion::Accepted);
        let f = judge_version(&http(requested(), 400), None, 5);
        assert_eq!(f.conclusion, Conclusion::NotAccepted);
    }

    #[test]
    fn a_given_certificate_is_accepted_only_when_sent_and_answered() {
        let bare = alert(requested(), "certificate_required");
        let ok = http(requested(), 200);
        assert_eq!(
            judge_version(&bare, Some((Some(true), None, &ok)), 5).conclusion,
            Conclusion::Accepted
        );
        assert_eq!(
            judge_version(&bare, Some((Some(false), Some("why"), &ok)), 5).conclusion,
            Conclusion::NotAccepted
        );
        let rejected = alert(requested(), "unknown_ca");
        assert_eq!(
            judge_version(&bare, Some((Some(true), None, &rejected)), 5).conclusion,
            Conclusion::NotAccepted
        );
        let not_asked = http(Observation::default(), 200);
        assert_eq!(
            judge_version(&not_asked, Some((None, None, &not_asked)), 5).conclusion,
            Conclusion::NotAccepted
        );
    }

    #[test]
    fn silence_versions_and_garbage_are_named() {
        let hang = Observation {
            hang: Some("handshake".into()),
            ..Observation::default()
        };
        let f = judge_version(&hang, None, 7);
        assert_eq!(f.conclusion, Conclusion::Broken);
        assert!(f.cause.contains("7 s"), "{}", f.cause);
        let old = Observation {
            client_error: Some(VERSION_MISMATCH[0].into()),
            handshake: Some(Handshake::Aborted),
            ..Observation::default()
        };
        assert_eq!(
            judge_version(&old, None, 5).conclusion,
            Conclusion::NotSpoken
        );
        let garbage = Observation {
            client_error: Some("INVALID_MESSAGE_INVALID_CONTENT_TYPE".into()),
            handshake: Some(Handshake::Aborted),
            ..Observation::default()
        };
        assert_eq!(
            judge_version(&garbage, None, 5).conclusion,
            Conclusion::Broken
        );
    }

    #[test]
    fn overall_prefers_refusal_then_broken_then_accepted() {
        use crate::observation::TlsVersion::{Tls12, Tls13};
        let a = finding(Conclusion::Accepted, "a");
        let n = finding(Conclusion::NotAccepted, "n");
        let b = finding(Conclusion::Broken, "b");
        let s = finding(Conclusion::NotSpoken, "s");
        assert_eq!(
            overall(&[(Tls12, &a), (Tls13, &n)]).conclusion,
            Conclusion::NotAccepted
        );
        assert_eq!(
            overall(&[(Tls12, &a), (Tls13, &b)]).conclusion,
            Conclusion::Broken
        );
        assert_eq!(
            overall(&[(Tls12, &a), (Tls13, &s)]).conclusion,
            Conclusion::Accepted
        );
        let none = overall(&[(Tls12, &s), (Tls13, &s)]);
        assert_eq!(none.conclusion, Conclusion::Broken);
        assert_eq!(none.conclusion.exit_code(), 2);
    }
}
