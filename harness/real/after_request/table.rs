//! `docs/after-request.md`: the measured table, the capabilities the
//! clients declare, and what is not measured; and the check that each
//! declaration agrees with what was measured.

use super::outcome::CaseOutcome;
use super::plan::{mechanism, not_measured, Case, Presented, Subject, RUSTLS_AFTER_REQUEST};
use crate::real::client::{AfterRequest, RealClientKind};

/// One case and what it gave.
#[derive(Debug, Clone)]
pub struct Measured {
    pub case: Case,
    pub result: CaseOutcome,
}

/// The rows of the table: a variant on one version, its three certificates.
fn rows(measured: &[Measured]) -> Vec<(Case, [Option<&Measured>; 3])> {
    let mut rows: Vec<(Case, [Option<&Measured>; 3])> = Vec::new();
    for m in measured {
        let at = Presented::ALL
            .iter()
            .position(|p| *p == m.case.presented)
            .expect("a presented certificate");
        match rows
            .iter_mut()
            .find(|(c, _)| c.variant == m.case.variant && c.version == m.case.version)
        {
            Some((_, cells)) => cells[at] = Some(m),
            None => {
                let mut cells = [None, None, None];
                cells[at] = Some(m);
                rows.push((m.case, cells));
            }
        }
    }
    rows
}

/// Where a declaration and the measurements disagree (empty: they agree).
/// A client that declares it answers must get the protected page with the
/// matching certificate; one that declares it does not must not. With a
/// non-matching certificate or none, Apache never serves the page.
pub fn disagreements(measured: &[Measured]) -> Vec<String> {
    let mut out = Vec::new();
    for (case, cells) in rows(measured) {
        let v = case.variant;
        let what = format!(
            "{} [{}] over {} on TLS {}",
            v.subject.name(),
            v.switches(),
            v.alpn(),
            case.version.as_str()
        );
        if let (Some(declared), Some(m)) = (v.subject.declared(), cells[0]) {
            let expected = declared.answers(case.version, &v.options);
            let got = m.result.outcome.served();
            // A client that sends, then fails: Apache must have served it.
            let sends_then_fails = matches!(
                declared.answer_on(case.version),
                crate::real::client::Answer::SendsThenFails(_)
            );
            if sends_then_fails && !m.result.requests.iter().any(|r| r.ends_with(" 200")) {
                out.push(format!(
                    "{what}: declared to send its certificate and then fail, but Apache served nothing: {} [{}]",
                    m.result, m.result.detail
                ));
            }
            if expected != got {
                out.push(format!(
                    "{what}: declared {} ({}), measured with the matching certificate: {} [{}]",
                    if expected {
                        "to answer"
                    } else {
                        "not to answer"
                    },
                    describe(&declared),
                    m.result,
                    m.result.detail
                ));
            }
        }
        for m in cells.iter().skip(1).flatten() {
            if m.result.outcome.served() {
                out.push(format!(
                    "{what}: Apache served the page with {} certificate",
                    m.case.presented.as_str()
                ));
            }
        }
    }
    out
}

fn describe(d: &AfterRequest) -> String {
    format!(
        "renegotiation {}, post-handshake auth {}, over h2 {}",
        d.renegotiation.describe(),
        d.post_handshake_auth.describe(),
        d.over_h2.describe()
    )
}

/// The page, from `measured`.
pub fn markdown(measured: &[Measured]) -> String {
    let mut out = String::from(
        "# A client certificate asked for after the request\n\n\
         Generated from real runs by `UPDATE_DOCS=1 cargo test --test after_request` \
         (`harness/real/after_request/`); do not edit. The test fails when this page \
         is stale or when a client's declared capability (its `AFTER_REQUEST` in \
         `harness/real/client/<name>.rs`) disagrees with a row.\n\n\
         The server is real Apache 2.4 (mod_ssl, mod_http2): `SSLVerifyClient none` in the \
         virtual host, `SSLVerifyClient require` in `<Location /admin/>`, `Protocols h2 \
         http/1.1`, TLS 1.2 and 1.3 enabled; the client pins one version and requests \
         `/admin/page.txt`. Apache asks once the request arrived: by renegotiation on TLS 1.2, \
         by post-handshake authentication (RFC 8446 §4.6.2) on TLS 1.3, and on an HTTP/2 \
         stream by neither (RFC 7540 §9.2.1, RFC 8740): it resets the stream with \
         HTTP_1_1_REQUIRED.\n\n\
         The matching certificate is issued by the root Apache trusts; the non-matching one \
         by another root; \"none\": the client holds no certificate. A cell is what the client \
         got — `200 page` (the protected page), another HTTP status, `alert <name> from \
         Apache|client` (as the client reported it), or the client's own error — and, in \
         parentheses, what Apache logged: the codes at `error`/`warn` (AH02261 renegotiation \
         handshake failed, AH02262 client verification failed, AH02263 client certificate \
         missing, AH10158 cannot perform post-handshake authentication), then each answer to \
         the page (once, however often the client repeated it) with the protocol it came on \
         and the status Apache decided (an h2 stream it refused \
         is logged `HTTP/2.0 403` and reset with HTTP_1_1_REQUIRED; a client that retries \
         shows a second, `HTTP/1.1`, request). `connection closed`: the client found the \
         connection closed under it (a broken pipe, a reset, curl's empty reply) instead of \
         reading Apache's alert, a race in the client; a case whose client reported Apache's \
         alert is run twice more and a connection closed in any run is shown.\n\n\
         ## Measured\n\n\
         | client | switch | ALPN offered | TLS | Apache asks by | matching | non-matching | none |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (case, cells) in rows(measured) {
        let v = case.variant;
        let cell = |c: Option<&Measured>| c.map_or("not run".to_string(), |m| m.result.to_string());
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            v.subject.name(),
            v.switches(),
            v.alpn(),
            case.version.as_str(),
            mechanism(case.version),
            cell(cells[0]),
            cell(cells[1]),
            cell(cells[2]),
        ));
    }
    out.push_str(
        "\n## Declared\n\n\
         What each client's registry entry says it answers; the rows above are checked \
         against it.\n\n\
         | client | renegotiation (TLS 1.2) | post-handshake auth (TLS 1.3) | when it offered h2 |\n\
         |---|---|---|---|\n",
    );
    let mut declared: Vec<(String, AfterRequest)> = RealClientKind::ALL
        .into_iter()
        .filter_map(|k| k.after_request().ok().map(|d| (format!("`{k}`"), d)))
        .collect();
    declared.push((
        format!("`{}`", Subject::Rustls.name()),
        RUSTLS_AFTER_REQUEST,
    ));
    for (name, d) in declared {
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            d.renegotiation.describe(),
            d.post_handshake_auth.describe(),
            d.over_h2.describe()
        ));
    }
    out.push_str(
        "\n## Where the declarations are used\n\n\
         - Scenarios: `[server] asks = \"after-request\"` with `[client] renegotiation`, \
         `post_handshake_auth` and `alpn` (docs/scenario-format.md, `scenarios/after_request/`). \
         `run --gateway real:apache|real:tomcat --client real:<name>` runs a case only with a \
         client whose declaration above, with the scenario's switches, answers as the \
         scenario's client does; `tests/after_request.rs` runs every such scenario with every \
         client and fails when a case fails or no client ran it.\n\
         - Tomcat 10.1 (JSSE), a `CLIENT-CERT` constraint on the path and \
         `certificateVerification=\"none\"` (jsse mode `client-cert-path`): TLS 1.2, a \
         renegotiation, and the certificate checked as `required` (the page, \
         `certificate_unknown`, or `bad_certificate` for none; `handshake_failure` to a \
         client that refuses to renegotiate); TLS 1.3, 401 \"No client certificate chain in \
         this request\" to every client, curl and `openssl s_client -enable_pha` included: \
         JSSE has no post-handshake authentication, and Tomcat warns at startup that \
         CLIENT-CERT is not compatible with TLS 1.3 and JSSE unless certificateVerification \
         is required.\n\
         - IIS (documented only, no IIS runs here; `iis` mode `per-path`): renegotiation on \
         TLS 1.2; on TLS 1.3 HTTP.sys has no post-handshake authentication, and Windows \
         Server 2025 answers 500.0 with 0x80070032 to every client.\n\
         - `gateway-config` names the clients that cannot answer a route Apache asks for after \
         the request; `probe URL` names such a path per version, with the clients that \
         cannot answer it.\n",
    );
    out.push_str("\n## Not measured\n\n");
    for k in not_measured() {
        if let Err(why) = k.after_request() {
            out.push_str(&format!("- `{k}`: {why}.\n"));
        }
    }
    out.push_str(&format!(
        "- The server `openssl s_server`: {}.\n",
        super::S_SERVER_NOT_MEASURED
    ));
    out
}
