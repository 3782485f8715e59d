//! Rendering a scenario's `[server]` table and its PKI into the files and the
//! command line of a real gateway: nginx, HAProxy, Apache httpd or
//! `openssl s_server`. Nothing here starts a process; see [`super::RealServer`].

use super::{RealError, RealKind};
use crate::gateway::GatewayProfile;
use crate::observation::TlsVersion;
use crate::pki::{IssuedCert, Pki};
use crate::scenario::schema::{ClientAuth, ServerSpec};
use crate::tls::ca_names::AcceptableCaList;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Certificate chains longer than this are rejected by every real gateway.
/// nginx and Apache default to 1 (no intermediates at all), which would hide
/// the interesting failures behind "chain too long"; 10 is what deployments set.
pub const VERIFY_DEPTH: u32 = 10;

/// The files and command line of one real gateway, ready to be written into
/// `prefix` and started.
#[derive(Debug, Clone)]
pub struct RenderedGateway {
    pub kind: RealKind,
    /// Directory every path in the config points into.
    pub prefix: PathBuf,
    pub port: u16,
    /// (path relative to `prefix`, contents, private)
    pub files: Vec<(String, String, bool)>,
    /// Directories (relative to `prefix`) the process needs.
    pub dirs: Vec<String>,
    /// The main config file (relative), if the gateway has one.
    pub config_file: Option<String>,
    /// Arguments after the program.
    pub args: Vec<String>,
    /// Log files (relative) whose tail is the gateway log.
    pub logs: Vec<String>,
    /// A (log file, text) that appears once the gateway is ready: listening
    /// alone is not enough for Apache, whose parent binds the port before
    /// mod_ssl checks the certificate and key (and may then exit).
    pub ready_marker: Option<(String, String)>,
    /// The CA names the server is configured to send (subjects, in order).
    pub ca_names: Vec<String>,
    /// The names list was cut to fit a byte budget.
    pub ca_names_truncated: bool,
}

impl RenderedGateway {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.prefix.join(rel)
    }

    /// Write every file (and directory) below `prefix`.
    pub fn write(&self) -> Result<(), RealError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RealError::Io { path, source }
        };
        std::fs::create_dir_all(&self.prefix).map_err(io(&self.prefix))?;
        for d in &self.dirs {
            let p = self.path(d);
            std::fs::create_dir_all(&p).map_err(io(&p))?;
        }
        for (rel, contents, private) in &self.files {
            let p = self.path(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&p, contents).map_err(io(&p))?;
            #[cfg(unix)]
            if *private {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    .map_err(io(&p))?;
            }
            #[cfg(not(unix))]
            let _ = private;
        }
        Ok(())
    }
}

fn pem_crl(der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("X509 CRL", der.to_vec()), config)
}

/// Subjects of the filler names `ca_names` policies add.
const FILLER_PREFIX: &str = "CN=mtls-harness filler CA ";

/// A self-signed CA certificate whose subject Name is exactly `der` (a
/// single UTF8String CN, as the filler names are built).
fn filler_ca_pem(subject: &str, der: &[u8], key: &rcgen::KeyPair) -> Result<String, RealError> {
    let setup = |e: String| RealError::Setup(format!("filler CA `{subject}`: {e}"));
    let cn = subject.strip_prefix("CN=").unwrap_or(subject);
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| setup(e.to_string()))?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        rcgen::DnValue::Utf8String(cn.to_string()),
    );
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(key).map_err(|e| setup(e.to_string()))?;
    // The name a server sends is the certificate's subject: it must be the
    // filler name byte for byte, or the list sizes drift.
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert.der()).map_err(|e| setup(e.to_string()))?;
    if parsed.tbs_certificate.subject.as_raw() != der {
        return Err(setup(
            "subject encodes differently from the filler name".into(),
        ));
    }
    Ok(cert.pem())
}

fn pems(certs: &[&IssuedCert]) -> String {
    certs.iter().map(|c| c.cert_pem()).collect()
}

/// What every gateway needs from the PKI: server chain and key, which trusted
/// CAs are sent as names and which only verify, CRLs.
struct Material<'a> {
    server: &'a IssuedCert,
    chain_pem: String,
    intermediates_pem: String,
    trusted: Vec<&'a IssuedCert>,
    /// PEM of each CA whose name is sent, in the order sent.
    named: Vec<String>,
    named_subjects: Vec<String>,
    verify_only: Vec<&'a IssuedCert>,
    crls_pem: String,
    truncated: bool,
}

fn material<'a>(pki: &'a Pki, server: &ServerSpec) -> Result<Material<'a>, RealError> {
    let setup = |e: String| RealError::Setup(e);
    let cert = pki
        .cert(&server.cert)
        .map_err(|e| setup(format!("server.cert: {e}")))?;
    let chain: Vec<_> = if server.send_chain.unwrap_or(true) {
        cert.chain_with_leaf()
    } else {
        vec![cert.der.clone()]
    };
    let chain_pem: String = chain.iter().map(|c| IssuedCert::pem_of(c)).collect();
    let intermediates_pem: String = chain[1..].iter().map(|c| IssuedCert::pem_of(c)).collect();
    let trusted = pki
        .resolve(&server.trust)
        .map_err(|e| setup(format!("server.trust: {e}")))?;
    let list = AcceptableCaList::from_policy(&server.ca_names, &trusted, pki)
        .map_err(|e| setup(e.to_string()))?;
    // A real server sends the subjects of the CA certificates in its names
    // file: map each name back to a trusted certificate, or, for the filler
    // names of `extra-filler` / `fill-to-bytes`, make a self-signed CA
    // certificate with exactly that subject (nobody holds a cert it issued).
    let mut named_certs: Vec<&IssuedCert> = Vec::new();
    let mut named = Vec::new();
    let mut filler_key = None;
    for (der, subject) in list.names.iter().zip(&list.subjects) {
        let found = trusted
            .iter()
            .find(|c| &c.subject_der == der && !named_certs.iter().any(|n| n.name == c.name));
        match found {
            Some(c) => {
                named_certs.push(c);
                named.push(c.cert_pem());
            }
            None if subject.starts_with(FILLER_PREFIX) => {
                let key = match &filler_key {
                    Some(k) => k,
                    None => filler_key.insert(
                        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                            .map_err(|e| setup(format!("filler CA key: {e}")))?,
                    ),
                };
                named.push(filler_ca_pem(subject, der, key)?);
            }
            None => {
                return Err(RealError::Unsupported(format!(
                    "CA name `{subject}` is not a trusted CA certificate: a real gateway sends the \
                     names of the CA certificates it loads (an untrusted explicit name cannot be \
                     expressed)"
                )))
            }
        }
    }
    let verify_only: Vec<&IssuedCert> = trusted
        .iter()
        .copied()
        .filter(|c| !named_certs.iter().any(|n| n.name == c.name))
        .collect();
    let mut crls_pem = String::new();
    for issuer in &server.crls {
        let crl = pki.crl(issuer).ok_or_else(|| {
            setup(format!(
                "server.crls: `{issuer}` is not a CA of this PKI that publishes a CRL"
            ))
        })?;
        crls_pem.push_str(&pem_crl(crl));
    }
    Ok(Material {
        server: cert,
        chain_pem,
        intermediates_pem,
        trusted,
        named,
        named_subjects: list.subjects.clone(),
        verify_only,
        crls_pem,
        truncated: list.truncated,
    })
}

/// The profile mode a real gateway is configured from (validated against the
/// built-in profile's modes).
fn mode_of(kind: RealKind, server: &ServerSpec) -> Result<&'static str, RealError> {
    let profile = kind.profile();
    let mode = server.mode.get(profile.name()).map(String::as_str);
    GatewayProfile::new(profile, mode, server.client_auth)
        .map(|p| p.mode)
        .map_err(|e| RealError::Setup(format!("server.mode: {e}")))
}

/// Render `kind`'s config for `server` on 127.0.0.1:`port`, TLS `version`
/// only, with every path below `prefix`.
pub fn render(
    kind: RealKind,
    pki: &Pki,
    server: &ServerSpec,
    version: TlsVersion,
    port: u16,
    prefix: &Path,
) -> Result<RenderedGateway, RealError> {
    if let Some(h) = server.trust_forwarded_header {
        return Err(RealError::Unsupported(format!(
            "server.trust_forwarded_header = {}: real gateways are not configured to trust \
             forwarding headers",
            h.header_name()
        )));
    }
    let m = material(pki, server)?;
    let mode = mode_of(kind, server)?;
    let asks = server.client_auth != ClientAuth::None;
    // Every mode a real gateway is configured for is named here: a mode
    // added to a profile later must be taught to its real gateway, not
    // silently rendered as another.
    let known: &[&str] = match kind {
        RealKind::Nginx => &["on", "optional", "optional_no_ca"],
        RealKind::Haproxy => &["required", "optional", "optional-deny"],
        RealKind::Apache => &["per-server", "optional", "per-directory"],
        RealKind::Openssl => &["required", "optional"],
    };
    if asks && !known.contains(&mode) {
        return Err(RealError::Unsupported(format!(
            "{kind} cannot be configured for {} mode `{mode}`",
            kind.profile()
        )));
    }
    if asks && m.trusted.is_empty() {
        return Err(RealError::Unsupported(
            "server.trust is empty: real gateways need a CA file to verify client certificates"
                .into(),
        ));
    }
    let mut r = RenderedGateway {
        kind,
        prefix: prefix.to_path_buf(),
        port,
        files: vec![
            ("server.crt".into(), m.chain_pem.clone(), false),
            ("server.key".into(), m.server.key_pem(), true),
        ],
        dirs: vec!["logs".into()],
        config_file: None,
        args: Vec::new(),
        logs: Vec::new(),
        ready_marker: None,
        ca_names: m.named_subjects.clone(),
        ca_names_truncated: m.truncated,
    };
    let p = |rel: &str| prefix.join(rel).display().to_string();
    if !m.trusted.is_empty() {
        r.files.push(("trust.pem".into(), pems(&m.trusted), false));
    }
    if !m.named.is_empty() {
        r.files
            .push(("ca-names.pem".into(), m.named.concat(), false));
    }
    if !m.verify_only.is_empty() {
        r.files
            .push(("ca-verify.pem".into(), pems(&m.verify_only), false));
    }
    let has_crl = !m.crls_pem.is_empty();
    if has_crl {
        r.files.push(("crl.pem".into(), m.crls_pem.clone(), false));
    }
    let (ossl_proto, word) = match version {
        TlsVersion::Tls12 => ("TLSv1.2", "-tls1_2"),
        TlsVersion::Tls13 => ("TLSv1.3", "-tls1_3"),
    };
    match kind {
        RealKind::Nginx => {
            let verify = if asks { mode } else { "off" };
            if asks && m.named.is_empty() && verify != "optional_no_ca" {
                // nginx 1.22: "no ssl_client_certificate for ssl_verify_client"
                return Err(RealError::Unsupported(
                    "nginx needs ssl_client_certificate (sent as CA names) for ssl_verify_client \
                     on|optional: it cannot send an empty CA list"
                        .into(),
                ));
            }
            let mut c = String::new();
            let _ = writeln!(c, "# mtls-harness: real nginx for one case");
            let _ = writeln!(c, "error_log {} info;", p("logs/error.log"));
            let _ = writeln!(c, "pid {};", p("logs/nginx.pid"));
            let _ = writeln!(c, "events {{ worker_connections 64; }}");
            let _ = writeln!(c, "http {{");
            let _ = writeln!(c, "  access_log {};", p("logs/access.log"));
            for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                let _ = writeln!(c, "  {t}_temp_path {};", p(&format!("tmp/{t}")));
            }
            let _ = writeln!(c, "  server {{");
            let _ = writeln!(c, "    listen 127.0.0.1:{port} ssl;");
            let _ = writeln!(c, "    server_name localhost;");
            let _ = writeln!(c, "    ssl_certificate {};", p("server.crt"));
            let _ = writeln!(c, "    ssl_certificate_key {};", p("server.key"));
            let _ = writeln!(c, "    ssl_protocols {ossl_proto};");
            let _ = writeln!(c, "    ssl_verify_client {verify};");
            if asks {
                let _ = writeln!(c, "    ssl_verify_depth {VERIFY_DEPTH};");
                if !m.named.is_empty() {
                    let _ = writeln!(c, "    # sent as CA names");
                    let _ = writeln!(c, "    ssl_client_certificate {};", p("ca-names.pem"));
                }
                if !m.verify_only.is_empty() {
                    let _ = writeln!(c, "    # trusted, not sent");
                    let _ = writeln!(c, "    ssl_trusted_certificate {};", p("ca-verify.pem"));
                }
                if has_crl {
                    let _ = writeln!(c, "    ssl_crl {};", p("crl.pem"));
                }
            }
            let _ = writeln!(c, "    default_type text/plain;");
            let _ = writeln!(c, "    location / {{");
            let _ = writeln!(
                c,
                "      if ($ssl_client_verify != SUCCESS) {{ return 200 \"anonymous\\n\"; }}"
            );
            let _ = writeln!(
                c,
                "      return 200 \"authenticated: $ssl_client_s_dn\\n\";"
            );
            let _ = writeln!(c, "    }}\n  }}\n}}");
            r.files.push(("nginx.conf".into(), c, false));
            r.dirs.push("tmp".into());
            r.config_file = Some("nginx.conf".into());
            r.args = vec![
                "-p".into(),
                p(""),
                "-e".into(),
                p("logs/error.log"),
                "-c".into(),
                p("nginx.conf"),
                "-g".into(),
                "daemon off; master_process off;".into(),
            ];
            r.logs = vec!["logs/error.log".into()];
        }
        RealKind::Haproxy => {
            let mut pem = m.chain_pem.clone();
            pem.push_str(&m.server.key_pem());
            r.files.push(("server.pem".into(), pem, true));
            let mut bind = format!(
                "bind 127.0.0.1:{port} ssl crt {} ssl-min-ver {ossl_proto} ssl-max-ver {ossl_proto} alpn http/1.1",
                p("server.pem")
            );
            if asks {
                // ca-file: CAs sent as names (and trusted); ca-verify-file:
                // trusted, not sent. HAProxy 2.6 accepts ca-verify-file alone
                // (`haproxy -c`), which sends an empty CA list.
                if !m.named.is_empty() {
                    let _ = write!(bind, " ca-file {}", p("ca-names.pem"));
                }
                if !m.verify_only.is_empty() {
                    let _ = write!(bind, " ca-verify-file {}", p("ca-verify.pem"));
                }
                if has_crl {
                    let _ = write!(bind, " crl-file {}", p("crl.pem"));
                }
                match mode {
                    "optional-deny" => {
                        bind.push_str(" verify optional ca-ignore-err all crt-ignore-err all")
                    }
                    "optional" => bind.push_str(" verify optional"),
                    _ => bind.push_str(" verify required"),
                }
            } else {
                bind.push_str(" verify none");
            }
            let mut c = String::new();
            let _ = writeln!(c, "# mtls-harness: real HAProxy for one case");
            let _ = writeln!(c, "global\n  log stderr format raw local0 info");
            let _ = writeln!(
                c,
                "defaults\n  mode http\n  log global\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s"
            );
            // The httplog fields plus the client-certificate verdict, so the
            // log says why a request was denied (ssl_c_verify is the
            // X509_V_ERR_* code; 0 means verified).
            let _ = writeln!(
                c,
                "  log-format \"%ci:%cp [%tr] %ft %b/%s %ST %B %tsc ssl_c_used=%[ssl_c_used] ssl_c_verify=%[ssl_c_verify] ssl_c_ca_err=%[ssl_c_ca_err] ssl_c_err=%[ssl_c_err] %{{+Q}}r\""
            );
            let _ = writeln!(c, "frontend fe\n  {bind}");
            if asks && mode == "optional-deny" {
                let _ = writeln!(
                    c,
                    "  http-request deny if !{{ ssl_c_used }} || !{{ ssl_c_verify 0 }}"
                );
            }
            let _ = writeln!(
                c,
                "  http-request return status 200 content-type text/plain lf-string \"authenticated: %[ssl_c_s_dn]\\n\" if {{ ssl_c_used }} {{ ssl_c_verify 0 }}"
            );
            let _ = writeln!(
                c,
                "  http-request return status 200 content-type text/plain string \"anonymous\\n\""
            );
            r.files.push(("haproxy.cfg".into(), c, false));
            r.config_file = Some("haproxy.cfg".into());
            r.args = vec!["-f".into(), p("haproxy.cfg"), "-db".into()];
            r.logs = vec!["stderr.log".into()];
        }
        RealKind::Apache => {
            let per_dir = mode == "per-directory";
            let verify_line = format!(
                "SSLVerifyClient {}",
                match (asks, mode) {
                    (false, _) => "none",
                    (true, "optional") => "optional",
                    (true, _) => "require",
                }
            );
            let modules = [
                ("mpm_event_module", "mod_mpm_event.so"),
                ("authz_core_module", "mod_authz_core.so"),
                ("socache_shmcb_module", "mod_socache_shmcb.so"),
                ("ssl_module", "mod_ssl.so"),
                ("rewrite_module", "mod_rewrite.so"),
                ("mime_module", "mod_mime.so"),
            ];
            let mut c = String::new();
            let _ = writeln!(c, "# mtls-harness: real Apache httpd for one case");
            let _ = writeln!(c, "ServerRoot \"{}\"", p(""));
            let _ = writeln!(c, "ServerName localhost");
            let _ = writeln!(c, "PidFile \"{}\"", p("logs/httpd.pid"));
            let _ = writeln!(c, "DefaultRuntimeDir \"{}\"", p("run"));
            for (name, file) in modules {
                let _ = writeln!(
                    c,
                    "LoadModule {name} {}",
                    Path::new(super::APACHE_MODULES).join(file).display()
                );
            }
            let _ = writeln!(
                c,
                "StartServers 1\nServerLimit 1\nThreadLimit 8\nThreadsPerChild 8\nMaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8"
            );
            let _ = writeln!(c, "ErrorLog \"{}\"", p("logs/error.log"));
            let _ = writeln!(c, "LogLevel info ssl:info");
            let _ = writeln!(c, "TypesConfig /dev/null\nAddType text/plain .txt");
            let _ = writeln!(
                c,
                "SSLSessionCache \"shmcb:{}(65536)\"",
                p("run/ssl_scache")
            );
            let _ = writeln!(c, "Listen 127.0.0.1:{port} https");
            let _ = writeln!(c, "DocumentRoot \"{}\"", p("htdocs"));
            let _ = writeln!(
                c,
                "<Directory \"{}\">\n  Require all granted\n</Directory>",
                p("htdocs")
            );
            let _ = writeln!(c, "<VirtualHost 127.0.0.1:{port}>");
            let _ = writeln!(c, "  ServerName localhost");
            let _ = writeln!(c, "  SSLEngine on");
            let _ = writeln!(c, "  SSLProtocol -all +{ossl_proto}");
            let _ = writeln!(c, "  SSLCertificateFile \"{}\"", p("server.crt"));
            let _ = writeln!(c, "  SSLCertificateKeyFile \"{}\"", p("server.key"));
            if asks {
                let _ = writeln!(c, "  SSLCACertificateFile \"{}\"", p("trust.pem"));
                if m.named.is_empty() {
                    return Err(RealError::Unsupported(
                        "Apache refuses an empty SSLCADNRequestFile (AH00526) and without one \
                         sends the SSLCACertificateFile names: it cannot send an empty CA list"
                            .into(),
                    ));
                }
                let _ = writeln!(c, "  # the CA names sent");
                let _ = writeln!(c, "  SSLCADNRequestFile \"{}\"", p("ca-names.pem"));
                let _ = writeln!(c, "  SSLVerifyDepth {VERIFY_DEPTH}");
                if has_crl {
                    let _ = writeln!(c, "  SSLCARevocationFile \"{}\"", p("crl.pem"));
                    let _ = writeln!(c, "  SSLCARevocationCheck chain");
                }
            }
            if !per_dir {
                let _ = writeln!(c, "  {verify_line}");
            }
            let _ = writeln!(c, "  RewriteEngine on");
            let _ = writeln!(c, "  RewriteCond %{{SSL:SSL_CLIENT_VERIFY}} !=SUCCESS");
            let _ = writeln!(c, "  RewriteRule ^/$ /anonymous.txt [L]");
            let _ = writeln!(c, "  RewriteRule ^/$ /authenticated.txt [L]");
            if per_dir {
                let _ = writeln!(c, "  <Location />\n    {verify_line}\n  </Location>");
            }
            let _ = writeln!(c, "</VirtualHost>");
            r.files.push(("httpd.conf".into(), c, false));
            r.files.push((
                "htdocs/authenticated.txt".into(),
                "authenticated\n".into(),
                false,
            ));
            r.files
                .push(("htdocs/anonymous.txt".into(), "anonymous\n".into(), false));
            r.dirs.push("run".into());
            r.config_file = Some("httpd.conf".into());
            r.args = vec![
                "-d".into(),
                p(""),
                "-f".into(),
                p("httpd.conf"),
                "-DFOREGROUND".into(),
            ];
            r.logs = vec!["logs/error.log".into()];
            r.ready_marker = Some(("logs/error.log".into(), "resuming normal operations".into()));
        }
        RealKind::Openssl => {
            if asks && !["required", "optional"].contains(&mode) {
                return Err(RealError::Unsupported(format!(
                    "openssl s_server verifies only in the handshake: haproxy mode `{mode}` \
                     cannot be expressed"
                )));
            }
            r.files
                .push(("server.leaf.crt".into(), m.server.cert_pem(), false));
            r.args = vec![
                "s_server".into(),
                "-accept".into(),
                format!("127.0.0.1:{port}"),
                "-cert".into(),
                p("server.leaf.crt"),
                "-key".into(),
                p("server.key"),
                word.into(),
                "-www".into(),
            ];
            if !m.intermediates_pem.is_empty() {
                r.files.push((
                    "server.intermediates.pem".into(),
                    m.intermediates_pem.clone(),
                    false,
                ));
                r.args.push("-cert_chain".into());
                r.args.push(p("server.intermediates.pem"));
            }
            if asks {
                // Verification store: every trusted CA plus the CRLs (a PEM
                // file may carry both). The names come from -CAfile.
                let mut verify = pems(&m.trusted);
                verify.push_str(&m.crls_pem);
                r.files.push(("verify.pem".into(), verify, false));
                r.args.extend([
                    // -Verify: a certificate is required; -verify: asked for.
                    if mode == "optional" {
                        "-verify"
                    } else {
                        "-Verify"
                    }
                    .into(),
                    VERIFY_DEPTH.to_string(),
                    // Without it s_server's verify callback accepts every
                    // certificate, only printing the error.
                    "-verify_return_error".into(),
                    "-verifyCAfile".into(),
                    p("verify.pem"),
                ]);
                if m.named.is_empty() {
                    r.args.push("-no_ca_names".into());
                } else {
                    r.args.extend(["-CAfile".into(), p("ca-names.pem")]);
                }
                if has_crl {
                    r.args.push("-crl_check_all".into());
                }
            }
            r.logs = vec!["stdout.log".into(), "stderr.log".into()];
            r.ready_marker = Some(("stdout.log".into(), "ACCEPT".into()));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::schema::ScenarioFile;

    const FILE: &str = r#"
description = "render"
[[pki.cert]]
name = "root-a"
role = "root"
signs_client_certs = true
[[pki.cert]]
name = "root-b"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root-a"
[server]
cert = "gw"
trust = ["root-a", "root-b"]
ca_names = "flagged"
crls = ["root-a"]
"#;

    fn setup(extra: &str) -> (Pki, ServerSpec) {
        let file: ScenarioFile = toml::from_str(&format!("{FILE}{extra}")).expect("scenario");
        (Pki::generate(&file.pki).expect("pki"), file.server)
    }

    fn file<'a>(r: &'a RenderedGateway, rel: &str) -> &'a str {
        &r.files.iter().find(|f| f.0 == rel).expect(rel).1
    }

    #[test]
    fn named_and_verify_only_cas_go_to_the_right_directives() {
        let (pki, server) = setup("");
        let prefix = Path::new("/p");
        let n = render(RealKind::Nginx, &pki, &server, TlsVersion::Tls12, 1, prefix).unwrap();
        let conf = file(&n, "nginx.conf");
        assert!(conf.contains("ssl_client_certificate /p/ca-names.pem;"));
        assert!(conf.contains("ssl_trusted_certificate /p/ca-verify.pem;"));
        assert!(conf.contains("ssl_protocols TLSv1.2;"));
        assert!(conf.contains("ssl_crl /p/crl.pem;"));
        assert!(file(&n, "crl.pem").contains("BEGIN X509 CRL"));
        assert_eq!(
            n.ca_names,
            vec![pki.cert("root-a").unwrap().subject.clone()]
        );
        // root-a only is named; root-b only verifies.
        assert_eq!(
            file(&n, "ca-names.pem")
                .matches("BEGIN CERTIFICATE")
                .count(),
            1
        );
        assert_eq!(
            file(&n, "ca-verify.pem")
                .matches("BEGIN CERTIFICATE")
                .count(),
            1
        );

        let h = render(
            RealKind::Haproxy,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            prefix,
        )
        .unwrap();
        let cfg = file(&h, "haproxy.cfg");
        assert!(cfg.contains("ca-file /p/ca-names.pem ca-verify-file /p/ca-verify.pem"));
        assert!(cfg.contains("ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3"));
        assert!(cfg.contains("verify required"));

        let a = render(
            RealKind::Apache,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            prefix,
        )
        .unwrap();
        let conf = file(&a, "httpd.conf");
        assert!(conf.contains("SSLCACertificateFile \"/p/trust.pem\""));
        assert!(conf.contains("SSLCADNRequestFile \"/p/ca-names.pem\""));
        assert!(conf.contains("SSLCARevocationCheck chain"));
        assert!(conf.contains("  SSLVerifyClient require\n"));

        let o = render(
            RealKind::Openssl,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            prefix,
        )
        .unwrap();
        let args = o.args.join(" ");
        assert!(args.contains("-CAfile /p/ca-names.pem"), "{args}");
        assert!(args.contains("-verifyCAfile /p/verify.pem"), "{args}");
        assert!(args.contains("-Verify 10 -verify_return_error"), "{args}");
        assert!(
            args.contains("-tls1_3") && args.contains("-crl_check_all"),
            "{args}"
        );
    }

    #[test]
    fn modes_render_as_the_gateway_spells_them() {
        let (pki, server) =
            setup("mode = { nginx = \"optional_no_ca\", haproxy = \"optional-deny\", apache = \"per-directory\" }\n");
        let p = Path::new("/p");
        let n = render(RealKind::Nginx, &pki, &server, TlsVersion::Tls13, 1, p).unwrap();
        assert!(file(&n, "nginx.conf").contains("ssl_verify_client optional_no_ca;"));
        let h = render(RealKind::Haproxy, &pki, &server, TlsVersion::Tls13, 1, p).unwrap();
        let cfg = file(&h, "haproxy.cfg");
        assert!(cfg.contains("verify optional ca-ignore-err all crt-ignore-err all"));
        assert!(cfg.contains("http-request deny if !{ ssl_c_used } || !{ ssl_c_verify 0 }"));
        let a = render(RealKind::Apache, &pki, &server, TlsVersion::Tls13, 1, p).unwrap();
        assert!(file(&a, "httpd.conf")
            .contains("<Location />\n    SSLVerifyClient require\n  </Location>"));
        // s_server has no HTTP-level deny.
        assert!(matches!(
            render(RealKind::Openssl, &pki, &server, TlsVersion::Tls13, 1, p),
            Err(RealError::Unsupported(_))
        ));
    }

    #[test]
    fn what_a_real_gateway_cannot_do_is_unsupported_with_a_reason() {
        let p = Path::new("/p");
        let (pki, mut server) = setup("");
        server.ca_names = crate::scenario::schema::CaNamesPolicy::Explicit(vec!["gw".into()]);
        for kind in RealKind::ALL {
            match render(kind, &pki, &server, TlsVersion::Tls13, 1, p) {
                Err(RealError::Unsupported(why)) => {
                    assert!(why.contains("not a trusted CA"), "{why}")
                }
                other => panic!("{kind}: {other:?}"),
            }
        }
        // Filler names become filler CA certificates with exactly that subject.
        server.ca_names = crate::scenario::schema::CaNamesPolicy::ExtraFiller(3);
        let n = render(RealKind::Nginx, &pki, &server, TlsVersion::Tls13, 1, p).unwrap();
        assert_eq!(n.ca_names.len(), 5);
        assert!(n.ca_names[4].starts_with(FILLER_PREFIX));
        assert_eq!(
            file(&n, "ca-names.pem")
                .matches("BEGIN CERTIFICATE")
                .count(),
            5
        );
        server.ca_names = crate::scenario::schema::CaNamesPolicy::Empty;
        for kind in [RealKind::Nginx, RealKind::Apache] {
            assert!(matches!(
                render(kind, &pki, &server, TlsVersion::Tls13, 1, p),
                Err(RealError::Unsupported(_))
            ));
        }
        let o = render(RealKind::Openssl, &pki, &server, TlsVersion::Tls13, 1, p).unwrap();
        assert!(o.args.iter().any(|a| a == "-no_ca_names"));
        // HAProxy: everything in ca-verify-file, no ca-file.
        let h = render(RealKind::Haproxy, &pki, &server, TlsVersion::Tls13, 1, p).unwrap();
        let cfg = file(&h, "haproxy.cfg");
        assert!(
            cfg.contains("ca-verify-file") && !cfg.contains("ca-file"),
            "{cfg}"
        );
        let (pki, mut server) = setup("");
        server.cert = "nope".into();
        assert!(matches!(
            render(RealKind::Nginx, &pki, &server, TlsVersion::Tls13, 1, p),
            Err(RealError::Setup(_))
        ));
    }
}
