//! Real client programs: curl, `openssl s_client`, `gnutls-cli`, Python
//! `ssl`, Node `https`, Go `crypto/tls`, Java (JSSE), Chromium and Firefox,
//! each pointed at a built-in gateway with a scenario's wallet.
//!
//! Each program is one file here implementing `RealClient` (its name,
//! executable and Debian package, the [`SelectionPolicy`] it was measured to
//! follow with the evidence, how it gets the wallet, how its TLS version is
//! pinned, how its result is read) and one line in the registry below, from
//! which [`RealClientKind`] is generated. `run --client real:<name>` runs
//! the scenarios whose `[client] selection` is the policy the program
//! follows ([`RealClientKind::follows`]); the others are SKIP with the
//! reason. The outcome is judged from the gateway's side (was a certificate
//! sent, which one, its alert) and the program's own output (status and
//! page, or its error); see `run.rs`.

mod answers;
mod cache;
mod nss;
mod registry;
mod run;
mod wallet;

pub use answers::{AfterRequest, AfterRequestOptions, Alpn, Answer, OverH2};
pub(crate) use run::observation;
pub use run::{
    client_timeout, observe_real_client, observe_real_client_with, run_real_client,
    run_real_client_until, unfollowed_selection, unsupported_client, write_server_ca, write_wallet,
    ClientRun, RealClientError,
};
pub use wallet::{WalletFiles, WALLET_PASSWORD};

use crate::knobs::SelectionPolicy;
use crate::observation::TlsVersion;
use registry::real_clients;
use std::path::{Path, PathBuf};
use std::time::Duration;

// The registry: one line per real client program, `Variant => module::Client`
// (the program lives in `client/module.rs`). `RealClientKind` and its
// per-program dispatch are generated from it.
real_clients! {
    /// curl (libcurl with OpenSSL): `--cert`, one identity.
    Curl => curl::Curl,
    /// `openssl s_client`: `-cert`, one identity.
    Openssl => openssl::Openssl,
    /// `gnutls-cli`: `--x509certfile`, one identity.
    Gnutls => gnutls::Gnutls,
    /// libgnutls's own selection (no retrieve callback), a C program built once per run.
    GnutlsLib => gnutls_lib::GnutlsLib,
    /// Python's `ssl` module: `load_cert_chain` once per certificate.
    Python => python::Python,
    /// Node's `https`: a `pfx` array, one PKCS#12 per certificate.
    Node => node::Node,
    /// Go's `crypto/tls` (`tls.Config.Certificates`), a program built once per run.
    Go => go::Go,
    /// Java 17 JSSE with the PKIX key manager and a PKCS#12 key store.
    Java => java::Java,
    /// Chromium, headless, auto-selecting by a per-profile content setting, NSS database in its HOME.
    Chromium => chromium::Chromium,
    /// Firefox ESR, headless, `security.default_personal_cert` and an NSS database in its profile.
    Firefox => firefox::Firefox,
}

/// The command that installs every real client on Debian/Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install -y curl openssl gnutls-bin gcc libgnutls28-dev python3 nodejs golang-go openjdk-17-jdk-headless libnss3-tools chromium firefox-esr";

/// What one run of a real client is given.
#[derive(Debug)]
pub struct ClientJob<'a> {
    /// `https://localhost:PORT/`.
    pub url: String,
    pub port: u16,
    pub version: TlsVersion,
    /// The wallet's files, in the scenario's order.
    pub wallet: &'a [WalletFiles],
    /// The CA certificate the client trusts for the server (PEM).
    pub server_ca: PathBuf,
    /// The run's private directory (HOME, profiles, scripts, output).
    pub dir: &'a Path,
    /// How long the program may take before it is killed (HANG).
    pub timeout: Duration,
    /// Browsers: select a certificate automatically (Chromium's per-origin
    /// auto-select setting, Firefox's `security.default_personal_cert`);
    /// `false` leaves the certificate picker, which headless waits at.
    pub auto_select: bool,
    /// Request headers to add (curl).
    pub headers: &'a [(String, String)],
    /// Where every connection goes, whatever the URL's host (curl
    /// `--connect-to`): a policy route's host name is never looked up.
    pub connect_to: Option<std::net::SocketAddr>,
    /// Switches for a certificate asked for after the request (default:
    /// none, the program's own ALPN).
    pub after_request: AfterRequestOptions,
}

impl ClientJob<'_> {
    /// `1.2` or `1.3`.
    pub fn version_number(&self) -> &'static str {
        match self.version {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }

    /// The path (and query) of [`Self::url`]: what the raw clients and
    /// the scripts that take a port request.
    pub fn path(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            },
            Err(_) => "/".into(),
        }
    }

    /// The HTTP/1.1 request the raw-TLS clients write (`openssl
    /// s_client`, `gnutls-cli`).
    pub fn raw_request(&self) -> String {
        format!(
            "GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            self.path()
        )
    }

    /// How the harness's own client programs (Go, C, Python, Node) take
    /// their arguments: `lead` (script, URL or port), the TLS version, the
    /// server's CA file and the timeout in seconds; the wallet follows.
    pub fn program_args(&self, lead: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut args: Vec<String> = lead.into_iter().collect();
        args.extend([
            self.version_number().to_string(),
            self.server_ca.display().to_string(),
            self.timeout.as_secs().max(1).to_string(),
        ]);
        args
    }

    /// The wallet as PEM arguments: `chain key` per entry, in order.
    pub fn pem_wallet_args(&self) -> impl Iterator<Item = String> + '_ {
        self.wallet
            .iter()
            .flat_map(|w| [w.chain.display().to_string(), w.key.display().to_string()])
    }

    /// The wallet as PKCS#12 files, in order (made on first use).
    pub fn p12_wallet_args(&self) -> Result<Vec<String>, RealClientError> {
        self.wallet
            .iter()
            .map(|w| Ok(w.p12()?.display().to_string()))
            .collect()
    }

    /// `text` written to `name` in the run's directory (a client script).
    pub fn write_script(&self, name: &str, text: &str) -> Result<PathBuf, RealClientError> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).map_err(|source| RealClientError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

impl ClientCommand {
    /// `program` with `args`, no environment or input of its own.
    pub fn of(program: PathBuf, args: Vec<String>) -> ClientCommand {
        ClientCommand {
            program,
            args,
            ..Default::default()
        }
    }
}

/// What to start.
#[derive(Debug, Default)]
pub struct ClientCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Written to the program's standard input (then closed).
    pub stdin: Option<String>,
}

/// What a real client reported, read from its own output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientReport {
    /// The response, when one arrived: status and body.
    pub http: Option<(u16, String)>,
    /// The program's error, as it wrote it.
    pub error: Option<String>,
    /// The page's text when the program shows no status (a browser's
    /// DOM): the status is the gateway's.
    pub page: Option<String>,
}

/// One real client program: everything the harness knows about it.
pub(crate) trait RealClient {
    /// The name after `real:` (`curl`).
    const NAME: &'static str;
    /// The family named in `probe` verdicts and docs (`curl`, `Chromium`).
    const FAMILY: &'static str;
    /// The executable's file name.
    const PROGRAM: &'static str;
    /// The Debian package that provides it.
    const PACKAGE: &'static str;
    /// The selection policy the program was measured to follow
    /// (`tests/client_fidelity.rs`, `docs/client-fidelity.md`).
    const POLICY: SelectionPolicy;
    /// How it gets the wallet, and why it follows [`Self::POLICY`] (the
    /// evidence, for the docs).
    const WALLET: &'static str;
    const EVIDENCE: &'static str;
    /// A browser: slow to start, opens extra connections, may hang at a
    /// certificate picker.
    const BROWSER: bool = false;
    /// What it answers when the certificate is asked for after the request
    /// (measured: `tests/after_request.rs`, `docs/after-request.md`), or
    /// why it is not measured.
    const AFTER_REQUEST: Result<AfterRequest, &'static str>;

    /// The command that makes one request to `job.url` with the wallet.
    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError>;

    /// Read the program's result from its exit status and output.
    fn read(success: bool, stdout: &str, stderr: &str, job: &ClientJob<'_>) -> ClientReport;

    /// The executable to start (the installed [`Self::PROGRAM`] unless the
    /// harness builds one, as for Go).
    fn executable() -> Result<PathBuf, RealClientError> {
        crate::real::kind::find_installed(Self::PROGRAM, Self::PACKAGE)
            .map_err(RealClientError::Missing)
    }
}

/// The `HTTP <status>` / body protocol the harness's own scripts (Python,
/// Node, Go, Java) print, or `ERROR <message>`.
pub(crate) fn read_script_output(stdout: &str, stderr: &str) -> ClientReport {
    if let Some(rest) = stdout.strip_prefix("HTTP ") {
        let (status, body) = rest.split_once('\n').unwrap_or((rest, ""));
        if let Ok(status) = status.trim().parse() {
            return ClientReport {
                http: Some((status, body.to_string())),
                ..Default::default()
            };
        }
    }
    let error = stdout
        .strip_prefix("ERROR ")
        .map(str::trim)
        .map(str::to_string)
        .unwrap_or_else(|| last_lines(stderr));
    ClientReport {
        error: Some(error),
        ..Default::default()
    }
}

/// An HTTP/1 response in raw output (`openssl s_client`, `gnutls-cli`):
/// the status line and what follows the blank line.
pub(crate) fn read_raw_http(stdout: &str) -> Option<(u16, String)> {
    let start = stdout.find("HTTP/1.")?;
    let resp = &stdout[start..];
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp
        .split_once("\r\n\r\n")
        .or_else(|| resp.split_once("\n\n"))
        .map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}

/// The last few non-empty lines of an error output.
pub(crate) fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(3);
    let joined = lines[from..].join(" | ");
    if joined.is_empty() {
        "no output".into()
    } else {
        joined
    }
}

impl RealClientKind {
    /// `curl` or `real:curl`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.strip_prefix("real:").unwrap_or(name);
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the program sends what a client following `policy` sends,
    /// for a wallet of `wallet_len` certificates.
    pub fn follows(self, policy: SelectionPolicy, wallet_len: usize) -> bool {
        self.policy().same_as(policy, wallet_len)
    }

    /// The real clients measured to follow `policy`, in registry order.
    pub fn following(policy: SelectionPolicy) -> Vec<RealClientKind> {
        Self::ALL
            .into_iter()
            .filter(|k| k.policy() == policy)
            .collect()
    }

    /// The families that follow any of `policies`, as a sentence list
    /// (`Chromium, Firefox, Java and Go`).
    pub fn families(policies: &[SelectionPolicy]) -> String {
        let mut names: Vec<&str> = Vec::new();
        for k in Self::ALL {
            if policies.contains(&k.policy()) && !names.contains(&k.family()) {
                names.push(k.family());
            }
        }
        match names.len() {
            0 => String::new(),
            1 => names[0].to_string(),
            n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        }
    }
}

/// The policies that look at the CA names before sending.
const FILTERING: [SelectionPolicy; 3] = [
    SelectionPolicy::MatchIssuer,
    SelectionPolicy::MatchIssuerOrAnyIfEmpty,
    SelectionPolicy::MatchIssuerOrLastIfEmpty,
];

/// The measured client families that send a certificate only when its
/// issuer is among the CA names (`Go, Java, Chromium and Firefox`).
pub fn filtering_families() -> String {
    RealClientKind::families(&FILTERING)
}

/// The measured client families that send their certificate whatever the
/// CA names (`curl, OpenSSL, GnuTLS, Python and Node`).
pub fn sending_families() -> String {
    RealClientKind::families(&[SelectionPolicy::Always, SelectionPolicy::AlwaysLast])
}

impl std::fmt::Display for RealClientKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "real:{}", self.name())
    }
}

/// The reference page of the real clients and the policies they follow
/// (`docs/clients.md`), generated from the registry.
pub fn clients_markdown() -> String {
    let mut out = String::from(
        "# Real clients and the selection policies they follow\n\n\
         Generated from the client registry (`harness/real/client/mod.rs`) by \
         `UPDATE_DOCS=1 cargo test --test client_fidelity`; do not edit.\n\n\
         A scenario's `[client] selection` is a policy of the built-in client. \
         `run --client real:<name>` runs the scenarios whose policy the program \
         follows (with a one-certificate wallet, `always` and `always-last` are \
         the same client); the others are SKIP with the reason. Whether each \
         program really follows its policy is measured cell by cell in \
         [client-fidelity.md](client-fidelity.md).\n\n\
         ## Policies\n\n| policy | what it sends | real clients measured to follow it |\n|---|---|---|\n",
    );
    for p in SelectionPolicy::ALL {
        let mut who: Vec<String> = RealClientKind::following(p)
            .iter()
            .map(|k| format!("`{k}`"))
            .collect();
        if p == SelectionPolicy::Prompt {
            // Measured by the picker test of tests/client_fidelity.rs.
            who.extend(
                RealClientKind::ALL
                    .into_iter()
                    .filter(|k| k.is_browser())
                    .map(|k| format!("`{k}` without auto-select (headless: HANG)")),
            );
        }
        let who = if who.is_empty() {
            "none measured (a model only)".to_string()
        } else {
            who.join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            p.as_str(),
            p.summary(),
            who
        ));
    }
    out.push_str("\n## Clients\n\n| client | package | policy | wallet | evidence |\n|---|---|---|---|---|\n");
    for k in RealClientKind::ALL {
        out.push_str(&format!(
            "| `{k}` | `{}` | `{}` | {} | {} |\n",
            k.package(),
            k.policy().as_str(),
            k.wallet(),
            k.evidence()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_packages_and_families_come_from_the_registry() {
        for k in RealClientKind::ALL {
            assert_eq!(RealClientKind::from_name(k.name()), Some(k));
            assert_eq!(RealClientKind::from_name(&k.to_string()), Some(k));
            assert!(
                INSTALL_HINT.split_whitespace().any(|p| p == k.package()),
                "INSTALL_HINT lacks {}",
                k.package()
            );
            assert!(k.follows(k.policy(), 2));
        }
        assert_eq!(RealClientKind::from_name("lynx"), None);
        assert_eq!(filtering_families(), "Go, Java, Chromium and Firefox");
        assert_eq!(sending_families(), "curl, OpenSSL, GnuTLS, Python and Node");
        assert!(clients_markdown().contains("| `always-last` |"));
    }

    #[test]
    fn one_identity_makes_first_and_last_the_same_client() {
        use SelectionPolicy::*;
        let python = RealClientKind::Python;
        assert!(python.follows(Always, 1));
        assert!(!python.follows(Always, 2));
        assert!(RealClientKind::Chromium.follows(MatchIssuerOrAnyIfEmpty, 1));
        assert!(!RealClientKind::Chromium.follows(MatchIssuerOrAnyIfEmpty, 2));
        assert!(!RealClientKind::Curl.follows(MatchIssuer, 1));
        assert!(RealClientKind::Curl.follows(Never, 0));
    }

    #[test]
    fn script_and_raw_outputs_are_read() {
        let r = read_script_output("HTTP 403\nno", "");
        assert_eq!(r.http, Some((403, "no".into())));
        let r = read_script_output("ERROR SSLError: alert\n", "");
        assert_eq!(r.error.as_deref(), Some("SSLError: alert"));
        let r = read_script_output("", "a\n\nb\nc\nd\n");
        assert_eq!(r.error.as_deref(), Some("b | c | d"));
        let raw =
            "depth=0\nHTTP/1.1 400 Bad Request\r\nx: y\r\n\r\nNo required SSL certificate was sent";
        assert_eq!(
            read_raw_http(raw),
            Some((400, "No required SSL certificate was sent".into()))
        );
        assert_eq!(read_raw_http("*** Fatal error"), None);
    }
}
