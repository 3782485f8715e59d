//! What a real middlebox program is ([`MiddleboxProgram`]), what it renders
//! from ([`MiddleboxJob`]) and into ([`RenderedMiddlebox`]), and writing
//! that into its prefix.

use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::observation::TlsVersion;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One real middlebox program.
pub(crate) trait MiddleboxProgram {
    /// The name after `real:`.
    const NAME: &'static str;
    /// The executable, looked for on `PATH` and in the sbin directories.
    const PROGRAM: &'static str;
    /// The Debian package that provides it.
    const PACKAGE: &'static str;
    /// The kinds it can be configured as.
    const KINDS: &'static [MiddleboxKind];
    /// The header formats it can write.
    const HEADERS: &'static [ForwardHeader] = &[];
    /// It needs a second local port (stunnel's chained upstream service).
    const SPARE_PORT: bool = false;
    /// The client sends it CONNECT although it terminates TLS (squid
    /// `ssl_bump`), as to a tunnel.
    const EXPLICIT_PROXY: bool = false;

    /// Add its config files and arguments to `out`.
    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox);
}

/// What a middlebox program renders from; every path is below `prefix`.
#[derive(Debug)]
pub(crate) struct MiddleboxJob<'a> {
    pub prefix: &'a Path,
    pub port: u16,
    /// A second free port on 127.0.0.1 (programs with `SPARE_PORT`).
    pub spare_port: u16,
    pub upstream: SocketAddr,
    /// The name the upstream's certificate carries (and SNI).
    pub upstream_name: &'a str,
    pub kind: MiddleboxKind,
    pub header: Option<ForwardHeader>,
    pub request_client_cert: bool,
    pub version: TlsVersion,
    /// Whether it authenticates upstream with `proxy.pem` / `proxy.key`.
    pub upstream_identity: bool,
}

impl MiddleboxJob<'_> {
    pub fn path(&self, rel: &str) -> String {
        self.prefix.join(rel).display().to_string()
    }
}

/// The files the harness writes for every program: the certificate shown to
/// clients, the CAs that verify clients and the upstream, and the proxy's
/// own upstream identity.
pub mod files {
    /// The certificate shown to clients, with its intermediates.
    pub const FRONT_CHAIN: &str = "front.pem";
    pub const FRONT_KEY: &str = "front.key";
    /// Chain and key in one file (mitmproxy `--certs`).
    pub const FRONT_COMBINED: &str = "front-combined.pem";
    /// The gateway's trust anchors: what an offloader verifies clients with.
    pub const CLIENT_CA: &str = "client-ca.pem";
    /// The root the gateway's certificate chains to.
    pub const UPSTREAM_CA: &str = "upstream-ca.pem";
    /// `[middlebox] upstream_cert`, with its intermediates.
    pub const PROXY_CHAIN: &str = "proxy.pem";
    pub const PROXY_KEY: &str = "proxy.key";
    /// Chain and key in one file (mitmproxy `client_certs`).
    pub const PROXY_COMBINED: &str = "proxy-combined.pem";
    /// The root of the gateway's certificate with its key: what an
    /// interceptor that mints certificates signs them with (the client
    /// trusts it).
    pub const SIGNING_CA: &str = "signing-ca.pem";
}

/// A rendered middlebox: its files and command line.
#[derive(Debug, Clone, Default)]
pub struct RenderedMiddlebox {
    /// (path relative to the prefix, contents)
    pub files: Vec<(String, String)>,
    pub dirs: Vec<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The main config file (relative), if the program has one.
    pub config_file: Option<String>,
    /// Log files (relative) whose new lines are the middlebox's log.
    pub logs: Vec<String>,
    /// Commands (argv) run in the prefix before it starts.
    pub setup: Vec<Vec<String>>,
    /// Files and directories (relative) its unprivileged workers must read
    /// and write when it runs as root and drops privileges to
    /// [`super::WORKER_USER`] (squid): handed to that user, still private to it
    /// (files 0600, directories 0700); the prefix is made traversable.
    pub shared: Vec<String>,
}

impl RenderedMiddlebox {
    /// Write every file and directory below `prefix` (keys mode 0600).
    pub fn write(&self, prefix: &Path) -> Result<(), std::io::Error> {
        write(self, prefix)
            .map_err(|(path, e)| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

/// Write every file and directory of `r` below `prefix` (keys mode 0600);
/// `Err` names the path.
pub(super) fn write(r: &RenderedMiddlebox, prefix: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    for d in &r.dirs {
        let p = prefix.join(d);
        std::fs::create_dir_all(&p).map_err(|e| (p, e))?;
    }
    for (rel, contents) in &r.files {
        let p = prefix.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| (parent.to_path_buf(), e))?;
        }
        std::fs::write(&p, contents).map_err(|e| (p.clone(), e))?;
        if rel.ends_with(".key") || rel.ends_with("combined.pem") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| (p.clone(), e))?;
        }
    }
    Ok(())
}
