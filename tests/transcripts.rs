//! The transcript of every catalog case (built-in gateways) agrees with the
//! observation the client made of the same connection: the CertificateRequest
//! names on the wire are the CA names the client saw, the Certificate the
//! client sent is empty exactly when the observation says none was sent, the
//! HTTP status and the server's alert are the ones on the wire. The JSON
//! report carries the transcripts.

mod support;

use mtls_harness::observation::transcript::{Transcript, WireMessage};
use mtls_harness::observation::{Observation, Side};
use mtls_harness::oracle::Verdict;
use mtls_harness::runner::execute::{generate_pkis, run_all, RunOptions};
use mtls_harness::runner::report::CaseResult;
use mtls_harness::scenario::{load_catalog, Scenario};
use std::path::Path;

fn catalog_results() -> Vec<CaseResult> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = load_catalog(&root).expect("catalog loads");
    let selected: Vec<&Scenario> = scenarios.iter().collect();
    let pkis = generate_pkis(&selected).expect("PKIs");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt.block_on(run_all(
        &selected,
        &pkis,
        &RunOptions::default(),
        |_, _, _| {},
    ));
    assert!(report.results.len() > 400, "{} cases", report.results.len());
    report.results
}

/// Everything wrong with one case's transcript, as lines.
fn disagreements(obs: &Observation, t: &Transcript) -> Vec<String> {
    let mut wrong = Vec::new();
    let hello = t
        .messages
        .iter()
        .any(|e| matches!(e.message, WireMessage::ClientHello { .. }) && e.from == Side::Client);
    if !hello {
        wrong.push("no ClientHello from the client".into());
    }
    match (t.certificate_request_names(), &obs.ca_names) {
        (Some(wire), Some(seen)) => {
            if wire.names != seen.subjects {
                wrong.push(format!(
                    "CA names on the wire {:?} != observed {:?}",
                    wire.names, seen.subjects
                ));
            }
            if (wire.count, wire.encoded_bytes) != (seen.count, seen.encoded_bytes) {
                wrong.push(format!(
                    "wire {} names / {} bytes, observed {} / {}",
                    wire.count, wire.encoded_bytes, seen.count, seen.encoded_bytes
                ));
            }
        }
        (None, None) => {}
        (Some(_), None) => wrong.push("a CertificateRequest on the wire, none observed".into()),
        (None, Some(_)) => {
            wrong.push("CA names observed, no CertificateRequest on the wire".into())
        }
    }
    if t.certificate_request_names().is_some() != obs.certificate_requested {
        wrong.push(format!(
            "certificate_requested = {} but the wire says otherwise",
            obs.certificate_requested
        ));
    }
    let sent_on_wire = t.client_certificates().is_some_and(|c| !c.is_empty());
    if sent_on_wire != obs.client_certificate_sent {
        wrong.push(format!(
            "client_certificate_sent = {}, client's Certificate on the wire: {:?}",
            obs.client_certificate_sent,
            t.client_certificates()
        ));
    }
    if let Some(http) = &obs.http {
        let on_wire = t.messages.iter().find_map(|e| match &e.message {
            WireMessage::HttpResponse { status, .. } if e.from == Side::Server => Some(*status),
            _ => None,
        });
        if on_wire != Some(http.status) {
            wrong.push(format!(
                "HTTP {} observed, {on_wire:?} on the wire",
                http.status
            ));
        }
    }
    if let Some(alert) = obs.alert.as_ref().filter(|a| a.sent_by == Side::Server) {
        let on_wire = t.messages.iter().any(|e| {
            e.from == Side::Server
                && matches!(&e.message, WireMessage::Alert { description, .. } if *description == alert.description)
        });
        // An alert the client itself received (rather than one the
        // gateway's record adds after the client saw a closed connection)
        // was on the client's wire.
        let received = obs
            .client_error_detail
            .as_deref()
            .is_some_and(|d| d.contains("received fatal alert"));
        if received && !on_wire {
            wrong.push(format!(
                "alert {} from the server observed, not on the wire",
                alert.description
            ));
        }
    }
    if !t.notes.is_empty() && obs.client_error.is_none() && obs.hang.is_none() {
        wrong.push(format!(
            "notes on a connection that ended normally: {:?}",
            t.notes
        ));
    }
    wrong
}

#[test]
fn every_catalog_case_has_a_transcript_that_agrees_with_its_observation() {
    let results = catalog_results();
    let mut checked = 0;
    let mut with_request = 0;
    let mut wrong = Vec::new();
    for r in &results {
        // A case the built-in gateway cannot model never connected.
        if matches!(r.verdict, Verdict::Skip { .. }) {
            continue;
        }
        let Some(obs) = &r.observation else {
            wrong.push(format!("{}: no observation", r.case_name()));
            continue;
        };
        let Some(t) = &obs.transcript else {
            wrong.push(format!("{}: no transcript", r.case_name()));
            continue;
        };
        checked += 1;
        if t.certificate_request_names().is_some() {
            with_request += 1;
        }
        for w in disagreements(obs, t) {
            wrong.push(format!("{}: {w}", r.case_name()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    println!("{checked} transcripts checked, {with_request} with a CertificateRequest");
    // Most of the catalog asks for a certificate: the comparison is not vacuous.
    assert!(with_request * 2 > checked, "{with_request} of {checked}");
}

#[test]
fn the_json_report_carries_the_transcripts() {
    let mut cmd = support::command();
    cmd.args([
        "run",
        "--filter",
        "seeds::003_iis_405_roots_truncated_client_root_last",
        "--format",
        "json",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    let out = support::run_command(cmd, support::WALL);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let results: Vec<&serde_json::Value> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["profile"] == "iis")
        .collect();
    assert_eq!(results.len(), 2, "iis on TLS 1.2 and 1.3");
    for r in results {
        let obs = &r["observation"];
        let messages = obs["transcript"]["messages"].as_array().expect("messages");
        let request = messages
            .iter()
            .find(|m| m["type"] == "certificate_request")
            .expect("a CertificateRequest");
        assert_eq!(request["from"], "server");
        assert_eq!(request["ca_names"]["names"], obs["ca_names"]["subjects"]);
        assert_eq!(request["ca_names"]["count"], obs["ca_names"]["count"]);
        // Seed 003: the list is cut to IIS's 16 KB, so the client's root
        // (listed last) is gone and the client sends an empty Certificate.
        assert!(
            request["ca_names"]["encoded_bytes"]
                .as_u64()
                .expect("bytes")
                <= 16 * 1024
        );
        let client_cert = messages
            .iter()
            .find(|m| m["type"] == "certificate" && m["from"] == "client")
            .expect("the client's Certificate");
        assert_eq!(client_cert["certificates"], serde_json::json!([]));
        // TLS 1.3 hides both messages unless decrypted with the key log.
        let encrypted = r["tls"] == "1.3";
        assert_eq!(request["encrypted"].as_bool().unwrap_or(false), encrypted);
        assert_eq!(
            client_cert["encrypted"].as_bool().unwrap_or(false),
            encrypted
        );
        assert!(messages
            .iter()
            .any(|m| m["type"] == "http_response" && m["status"] == 403));
    }
}

#[test]
fn run_trace_and_explain_trace_print_the_transcript() {
    let id = "seeds::000_unflagged_ca_browser_sends_nothing";
    for args in [
        vec![
            "run",
            "--filter",
            id,
            "--tls",
            "1.3",
            "--trace",
            "--no-color",
        ],
        vec!["explain", id, "--trace"],
    ] {
        let mut cmd = support::command();
        cmd.args(&args).current_dir(env!("CARGO_MANIFEST_DIR"));
        let out = support::run_command(cmd, support::WALL);
        let text = out.stdout;
        assert_eq!(out.code, 0, "{args:?}: {text}");
        for needle in [
            "client -> server   ClientHello",
            "server -> client * CertificateRequest  1 CA name (",
            "client -> server * Certificate         empty: no certificate",
            "server -> client * HTTP response       HTTP/1.1 401",
            "gateway log:",
        ] {
            assert!(
                text.contains(needle),
                "{args:?}: `{needle}` missing in\n{text}"
            );
        }
    }
}
