//! A scenario whose certificate is asked for after the request (`[server]
//! asks = "after-request"`, Apache `per-directory`), run with a real client
//! against real Apache rendered from its `[server]` (`run --gateway
//! real:apache --client real:<name>`).
//!
//! A client runs a case only when what it declares it answers
//! ([`AfterRequest`], checked by `docs/after-request.md`) with the switches
//! the scenario's `[client]` turns on (`post_handshake_auth`,
//! `renegotiation`, `alpn`) is what the scenario's client does on that
//! version; the rest are SKIP with the reason. The case is judged from
//! Apache's side: its log says whether a certificate came and why it was
//! refused (AH02261, AH02262, AH02263, AH10158); the client's own report
//! gives the status and page, or the alert it read.

use super::outcome::{alert_in, apache_codes, closed_in};
use crate::case::{start_responder, CaseError};
use crate::gateway::{GatewayProfile, ProfileKind};
use crate::interrupt::Registry;
use crate::observation::{
    parse_substatus, AlertSeen, Handshake, HttpSeen, Observation, TlsVersion,
};
use crate::pki::Pki;
use crate::real::client::{
    client_timeout, run_real_client, unsupported_client, AfterRequestOptions, Alpn, Answer,
    ClientJob, RealClientKind,
};
use crate::real::{RealKind, RealServer};
use crate::scenario::schema::ScenarioFile;
use crate::tls::policy::Enforcement;
use crate::tls::Timeouts;

/// The real gateways rendered to ask after the request: Apache
/// (`SSLVerifyClient require` in `<Location />`) and Tomcat (a `CLIENT-CERT`
/// constraint on `/*`, `certificateVerification="none"`).
pub const ASKS_AFTER_REQUEST: [RealKind; 2] = [RealKind::Apache, RealKind::Tomcat];

/// Whether `profile` asks for the certificate after the request in this
/// scenario (`asks = "after-request"`, or a mode that does).
pub fn asks_after_request(file: &ScenarioFile, profile: ProfileKind) -> bool {
    let Ok(mode) = profile.mode_for(&file.server.mode, file.server.asks) else {
        return false;
    };
    GatewayProfile::new(profile, mode, file.server.client_auth)
        .is_ok_and(|p| p.enforcement() == Enforcement::PostHandshake)
}

/// The switches the scenario's `[client]` turns on.
pub fn options_of(file: &ScenarioFile) -> AfterRequestOptions {
    AfterRequestOptions {
        post_handshake_auth: file.client.post_handshake_auth,
        renegotiation: file.client.renegotiation,
        alpn: Some(if file.client.offers_h2() {
            Alpn::H2
        } else {
            Alpn::Http11
        }),
    }
}

/// Why `client` cannot stand for the scenario's client on `version`
/// against real `gateway`; `None`: it runs.
pub fn refusal(
    file: &ScenarioFile,
    profile: ProfileKind,
    gateway: RealKind,
    client: RealClientKind,
    version: TlsVersion,
) -> Option<String> {
    if !ASKS_AFTER_REQUEST.contains(&gateway) || !asks_after_request(file, profile) {
        return Some(format!(
            "{client} runs against the built-in gateways, and against real:apache and real:tomcat for a certificate asked after the request"
        ));
    }
    if let Some(why) = unsupported_client(file) {
        return Some(why.into());
    }
    if client.is_browser() {
        return Some(format!(
            "{client} shows a page without its status: measured against Apache in docs/after-request.md only"
        ));
    }
    // A client picks a certificate only when it is asked: one that does
    // not answer never chooses.
    if file.client.answers_after_request(version) {
        if let Some(why) = crate::real::client::unfollowed_selection(file, client) {
            return Some(why);
        }
    }
    if file.client.certs.len() > 1 {
        return Some("a real client asked after the request sends its one certificate ([client] certs names several)".into());
    }
    let declared = match client.after_request() {
        Ok(d) => d,
        Err(why) => return Some(format!("{client}: {why}")),
    };
    let options = options_of(file);
    if let Answer::SendsThenFails(how) = declared.answer_on(version) {
        return Some(format!(
            "{client} sends its certificate, then fails ({how}): neither a client that answers nor one that does not"
        ));
    }
    let answers = declared.answers(version, &options);
    let wanted = file.client.answers_after_request(version);
    (answers != wanted).then(|| {
        let does = |b: bool| if b { "answers" } else { "does not answer" };
        format!(
            "{client} {} a certificate asked after the request on TLS {version} with the scenario's switches; the scenario's client {} (docs/after-request.md)",
            does(answers),
            does(wanted)
        )
    })
}

/// Run the case: real Apache from the scenario's `[server]`, the real
/// client with the scenario's wallet and switches, judged from both.
pub async fn observe(
    pki: &Pki,
    file: &ScenarioFile,
    gateway: RealKind,
    client: RealClientKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    let setup =
        |e: crate::real::client::RealClientError| CaseError::setup_in(client.to_string(), e);
    client.executable().map_err(setup)?;
    let (responder, server_spec, reissued) = start_responder(pki, file)?;
    let pki = reissued.as_ref().unwrap_or(pki);
    let (dir, dir_registered) = Registry::global()
        .create_temp_dir("mtls-client-")
        .map_err(|e| CaseError::setup_in(format!("{client}: temporary directory"), e))?;
    let wallet = crate::real::client::write_wallet(pki, file, client, dir.path())?;
    let server_ca = crate::real::client::write_server_ca(pki, file, dir.path())?;
    let server = RealServer::start(gateway, pki, &server_spec, version).await?;
    let mark = server.log_mark();
    let port = server.addr().port();
    let job = ClientJob {
        url: format!("https://localhost:{port}/"),
        port,
        version,
        wallet: &wallet,
        server_ca,
        dir: dir.path(),
        timeout: client_timeout(client, timeouts),
        auto_select: true,
        headers: &[],
        connect_to: None,
        after_request: options_of(file),
    };
    let run = run_real_client(client, &job).await;
    let log = super::run::settled_log(&server, &mark).await;
    server.shutdown().await;
    drop(responder);
    let run = run.map_err(setup)?;
    drop(dir);
    drop(dir_registered);
    let mut obs = Observation {
        tls_version: Some(version),
        ..Default::default()
    };
    if let Some(why) = &run.hang {
        obs.hang = Some(why.clone());
    } else if let Some((status, body)) = &run.report.http {
        obs.handshake = Some(Handshake::Complete);
        let mut excerpt = body.clone();
        excerpt.truncate(crate::tls::client::BODY_EXCERPT_BYTES);
        obs.http = Some(HttpSeen {
            status: *status,
            substatus: parse_substatus(body),
            body_excerpt: excerpt,
        });
    } else {
        let error = run
            .report
            .error
            .clone()
            .unwrap_or_else(|| "no output".into());
        if let Some((description, sent_by)) = alert_in(&error) {
            obs.alert = Some(AlertSeen {
                description,
                sent_by,
            });
        } else if !closed_in(&error) {
            obs.client_error = Some("CLIENT_ERROR".into());
        }
        obs.client_error_detail = Some(error);
    }
    // Apache's side: a certificate came when it served the page with it
    // asked for, or refused one that came (AH02262; mod_ssl's verify
    // callback logs "Certificate Verification: Error", AH02276, at `info`
    // before AH02261); none when it logged it missing (AH02263), could not
    // ask (AH10158), or the client refused to renegotiate.
    // Tomcat logs nothing of a refused certificate, but JSSE answers one
    // that came and failed with certificate_unknown, and none with
    // bad_certificate (the gateway's alert, as the client read it).
    let codes = apache_codes(&log);
    let refused_one_that_came = codes.iter().any(|c| c == "AH02262")
        || log.contains("Certificate Verification: Error")
        || (gateway == RealKind::Tomcat
            && obs
                .alert
                .as_ref()
                .is_some_and(|a| a.description == "certificate_unknown"));
    let served = obs.http.as_ref().is_some_and(|h| h.status == 200);
    obs.client_certificate_sent = served || refused_one_that_came;
    if !log.is_empty() {
        obs.gateway_log = Some(log);
    }
    Ok(obs)
}
