//! Firefox ESR, headless (`--headless --screenshot`: loads the page once
//! and exits).
//!
//! - Wallet: the NSS database of a private profile directory (`cert9.db`,
//!   `key4.db`), the wallet imported with `pk12util` in order, the server's
//!   CA trusted.
//! - Selection: `security.default_personal_cert = "Select Automatically"`
//!   in the profile's `user.js` (without it Firefox asks, and headless
//!   waits at the picker: HANG).
//! - Version: `security.tls.version.min` = `max` (3 = 1.2, 4 = 1.3).
//! - Result: Firefox shows no page text in this mode: the status is the
//!   gateway's; a failed load is its stderr.

use super::{ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Alpn};
use crate::knobs::SelectionPolicy;

pub(crate) struct Firefox;

impl RealClient for Firefox {
    const NAME: &'static str = "firefox";
    const FAMILY: &'static str = "Firefox";
    const PROGRAM: &'static str = "firefox-esr";
    const PACKAGE: &'static str = "firefox-esr";
    const POLICY: SelectionPolicy = SelectionPolicy::MatchIssuerOrAnyIfEmpty;
    const WALLET: &'static str = "NSS database in a private profile (`certutil`, `pk12util`), `security.default_personal_cert = \"Select Automatically\"`";
    const EVIDENCE: &'static str = "NSS `NSS_GetClientAuthData` / Firefox's `ClientAuthDataRunnable` keeps certificates whose chain has an issuer among the CA names (any on an empty list) and auto-selects the first; measured (Firefox ESR 153): nothing when none matches, the matching one of two, on an empty list the first imported of two";
    /// Not in the table: measured in this harness (Firefox ESR, headless),
    /// with `security.tls.enable_post_handshake_auth` (the switch
    /// `post_handshake_auth` sets) it answers Apache's post-handshake
    /// request sometimes with its certificate and sometimes with none
    /// (AH02263), run to run; a renegotiation it answers after a first
    /// refused attempt, and on h2 it retries over HTTP/1.1
    /// (`network.http.http2.enabled = false`, the switch for HTTP/1.1
    /// only, keeps it off h2).
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Err(
        "with `security.tls.enable_post_handshake_auth` headless Firefox ESR answers Apache's post-handshake request sometimes with its certificate, sometimes with none (AH02263), so no stable row can be generated; each run also takes seconds (`--screenshot` never returns from an error page)",
    );
    const BROWSER: bool = true;

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let profile = job.dir.join("firefox-profile");
        super::nss::make_db(&profile, job)?;
        let v = match job.version {
            crate::observation::TlsVersion::Tls12 => 3,
            crate::observation::TlsVersion::Tls13 => 4,
        };
        let mut prefs = vec![
            format!("user_pref(\"security.tls.version.min\", {v});"),
            format!("user_pref(\"security.tls.version.max\", {v});"),
            "user_pref(\"browser.shell.checkDefaultBrowser\", false);".into(),
            "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);".into(),
            "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);".into(),
            "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");".into(),
            "user_pref(\"app.update.enabled\", false);".into(),
            "user_pref(\"network.connectivity-service.enabled\", false);".into(),
            "user_pref(\"network.captive-portal-service.enabled\", false);".into(),
        ];
        if job.after_request.post_handshake_auth {
            prefs.push("user_pref(\"security.tls.enable_post_handshake_auth\", true);".into());
        }
        if job.after_request.alpn == Some(Alpn::Http11) {
            prefs.push("user_pref(\"network.http.http2.enabled\", false);".into());
        }
        if job.auto_select {
            prefs.push(
                "user_pref(\"security.default_personal_cert\", \"Select Automatically\");".into(),
            );
        }
        let user_js = profile.join("user.js");
        std::fs::write(&user_js, prefs.join("\n") + "\n").map_err(|source| {
            RealClientError::Io {
                path: user_js,
                source,
            }
        })?;
        Ok(ClientCommand {
            program: Self::executable()?,
            args: vec![
                "--headless".into(),
                "--no-remote".into(),
                "--profile".into(),
                profile.display().to_string(),
                "--screenshot".into(),
                job.dir.join("firefox.png").display().to_string(),
                job.url.clone(),
            ],
            env: super::chromium::browser_env(job)?,
            stdin: None,
        })
    }

    fn read(success: bool, _stdout: &str, stderr: &str, job: &ClientJob<'_>) -> ClientReport {
        if success && job.dir.join("firefox.png").is_file() {
            // Loaded: the page is in the picture, the status with the gateway.
            return ClientReport {
                page: Some(String::new()),
                ..Default::default()
            };
        }
        ClientReport {
            error: Some(super::last_lines(stderr)),
            ..Default::default()
        }
    }
}
