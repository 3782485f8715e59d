//! Chromium, headless (`--headless=new --dump-dom`).
//!
//! - Wallet: an NSS database in the run's private HOME (`~/.pki/nssdb`,
//!   where Chromium on Linux keeps client certificates), the wallet
//!   imported with `pk12util` in order, the server's CA trusted.
//! - Selection: headless Chromium waits at the certificate picker when a
//!   certificate matches and nothing selects it (HANG). The harness selects
//!   per run without a system-wide policy file: the private profile's
//!   `auto_select_certificate` content setting for `https://localhost:PORT`
//!   with `filters: [{}]` (what the `AutoSelectCertificateForUrls` policy
//!   sets; a policy entry without a `filter` is ignored), written into
//!   `Default/Preferences` before the start. The profile and HOME live in
//!   the run's temporary directory, removed afterwards (also on Ctrl-C: the
//!   interrupt registry holds the directory and the process group).
//! - Version: the gateway offers only the case's version (Chromium has no
//!   switch for a maximum version).
//! - Result: the page's DOM on stdout (the status is the gateway's); an
//!   error page names Chromium's `ERR_*` code.

use super::{ClientCommand, ClientJob, ClientReport, RealClient, RealClientError};
use super::{AfterRequest, Alpn, Answer, OverH2};
use crate::knobs::SelectionPolicy;

pub(crate) struct Chromium;

impl RealClient for Chromium {
    const NAME: &'static str = "chromium";
    const FAMILY: &'static str = "Chromium";
    const PROGRAM: &'static str = "chromium";
    const PACKAGE: &'static str = "chromium";
    const POLICY: SelectionPolicy = SelectionPolicy::MatchIssuerOrLastIfEmpty;
    const WALLET: &'static str = "NSS database in a private HOME (`certutil`, `pk12util`), auto-selected by the private profile's per-origin setting";
    const EVIDENCE: &'static str = "Chromium offers only identities whose issuer is among the CA names (all on an empty list; `ClientCertIdentity` matching in net/ssl); measured (Chromium 156, filter `{}`): nothing when none matches, the matching one of two, on an empty list the last imported of two";
    /// BoringSSL has no post-handshake authentication; Chromium lets a
    /// server renegotiate an HTTP/1.1 connection (net/socket
    /// `SSLClientSocketImpl`, `ssl_renegotiate_explicit`), and on a stream
    /// reset with HTTP_1_1_REQUIRED retries the request over HTTP/1.1
    /// (`ERR_HTTP_1_1_REQUIRED`). `--disable-http2` keeps it off h2.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::Always,
        post_handshake_auth: Answer::Never,
        over_h2: OverH2::RetriesOverHttp11,
    });
    const BROWSER: bool = true;

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let home = job.dir.join("home");
        super::nss::make_db(&home.join(".pki/nssdb"), job)?;
        let profile = job.dir.join("chromium-profile");
        let default = profile.join("Default");
        std::fs::create_dir_all(&default).map_err(|source| RealClientError::Io {
            path: default.clone(),
            source,
        })?;
        if job.auto_select {
            let origin = format!("https://localhost:{},*", job.port);
            let prefs = serde_json::json!({"profile": {"content_settings": {"exceptions": {
                "auto_select_certificate": { origin: { "setting": { "filters": [ {} ] } } }
            }}}});
            let path = default.join("Preferences");
            std::fs::write(&path, prefs.to_string()).map_err(|source| RealClientError::Io {
                path,
                source,
            })?;
        }
        let mut args: Vec<String> = vec![
            "--headless=new".into(),
            // The harness runs as root in CI; the sandbox refuses root.
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-extensions".into(),
            "--disable-background-networking".into(),
            format!("--user-data-dir={}", profile.display()),
            "--dump-dom".into(),
        ];
        if job.after_request.alpn == Some(Alpn::Http11) {
            // Its default offers h2 and http/1.1.
            args.push("--disable-http2".into());
        }
        args.push(job.url.clone());
        Ok(ClientCommand {
            program: Self::executable()?,
            args,
            env: browser_env(job)?,
            stdin: None,
        })
    }

    fn read(success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        if let Some(code) = stdout
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| w.starts_with("ERR_") && w.len() > 4)
        {
            return ClientReport {
                error: Some(code.to_string()),
                ..Default::default()
            };
        }
        if success && stdout.contains("<html") {
            return ClientReport {
                page: Some(page_text(stdout)),
                ..Default::default()
            };
        }
        ClientReport {
            error: Some(super::last_lines(stderr)),
            ..Default::default()
        }
    }
}

/// A private HOME, XDG directories and TMPDIR in the run's directory:
/// nothing of the user's own profile is read or written, and what the
/// browser leaves behind goes with the run's directory (Chromium left an
/// `org.chromium.Chromium.*` directory with its singleton socket in /tmp
/// per run).
pub(crate) fn browser_env(job: &ClientJob<'_>) -> Result<Vec<(String, String)>, RealClientError> {
    let home = job.dir.join("home");
    let tmp = job.dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|source| RealClientError::Io {
        path: tmp.clone(),
        source,
    })?;
    Ok(vec![
        ("HOME".into(), home.display().to_string()),
        ("XDG_CONFIG_HOME".into(), home.join(".config").display().to_string()),
        ("XDG_CACHE_HOME".into(), home.join(".cache").display().to_string()),
        ("XDG_DATA_HOME".into(), home.join(".local/share").display().to_string()),
        ("XDG_RUNTIME_DIR".into(), job.dir.join("runtime").display().to_string()),
        ("TMPDIR".into(), tmp.display().to_string()),
    ])
}

/// The text of a DOM dump: tags dropped.
fn page_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}
