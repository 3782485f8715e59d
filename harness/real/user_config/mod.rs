//! `run --gateway-config FILE`: a user's own gateway configuration, the
//! whole tree (nginx `include`, Apache `Include`/`IncludeOptional`), kept
//! directive for directive, with only what ties it to one machine rewritten:
//! - every listen address onto a loopback port of its own (one per port of
//!   the config, so a redirect server on 80 and TLS on 443 stay apart);
//! - the certificate, CA and CRL paths onto the harness's PKI;
//! - pid, log, socket and temporary paths into the run's directory;
//! - upstreams (`proxy_pass`, `upstream { server … }`, HAProxy `server`,
//!   Apache `ProxyPass`) onto the harness's origin on 127.0.0.1;
//! - users that do not exist here, and HAProxy's `chroot`, commented out.
//!
//! Each rewritten file is written under the run's directory; each change is
//! reported with the user's file and line.

mod frame;
mod includes;
mod listen;
mod namespace;
mod served;

pub use namespace::{enter, Isolated, NsPlan};

use super::RealKind;
use listen::{ListenAddr, PortPlan};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a configuration cannot be brought up.
#[derive(Debug, thiserror::Error)]
pub enum UserConfigError {
    #[error("{}: cannot read", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot write", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: no {directive} line: the harness cannot tell where the gateway listens", path.display())]
    NoListen {
        path: PathBuf,
        directive: &'static str,
    },
    #[error("{}: {line}: include `{arg}`: not found (looked for {looked})", file.display())]
    IncludeNotFound {
        file: PathBuf,
        line: usize,
        arg: String,
        looked: String,
    },
    #[error("{}: {line}: includes nested more than {MAX_DEPTH} deep (a loop?)", file.display())]
    IncludeDepth { file: PathBuf, line: usize },
    #[error("a free port on 127.0.0.1")]
    Port(#[source] std::io::Error),
    #[error("--gateway-config takes real:nginx, real:haproxy or real:apache, not {0}")]
    Unsupported(RealKind),
    #[error("{}: a Debian virtual-host fragment (no Listen, no LoadModule) runs inside the distribution's frame, and there is none: looked for {looked}", fragment.display())]
    NoFrame { fragment: PathBuf, looked: String },
    #[error("{}: the frame has no `IncludeOptional sites-enabled/*.conf` line: the fragment {} has nowhere to go", frame.display(), fragment.display())]
    FrameWithoutSites { frame: PathBuf, fragment: PathBuf },
}

/// How deep includes may nest.
const MAX_DEPTH: usize = 16;

/// One line changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The user's file the line is in.
    pub file: PathBuf,
    /// 1-based line number in that file.
    pub line: usize,
    pub before: String,
    pub after: String,
}

/// One listen address of the config and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub file: PathBuf,
    pub line: usize,
    /// As the user wrote it.
    pub original: String,
    /// Where it listens now.
    pub addr: SocketAddr,
    /// It speaks TLS (nginx `ssl`, HAProxy `ssl`, Apache `https` or a
    /// virtual host with `SSLEngine on`).
    pub tls: bool,
}

/// The rewritten tree.
#[derive(Debug, Clone)]
pub struct PreparedConfig {
    /// The main file to start the program with.
    pub main: PathBuf,
    /// The main file's text as written.
    pub text: String,
    pub rewrites: Vec<Rewrite>,
    pub listeners: Vec<Listener>,
    /// Every file written (the main one first).
    pub files: Vec<PathBuf>,
    /// Each written file and the user's file it was rewritten from (line
    /// for line: a line number in one is the same line in the other).
    pub sources: Vec<(PathBuf, PathBuf)>,
    /// What the run adds around the configuration (a distribution frame,
    /// modules, served directories created), one line each for the report.
    pub notes: Vec<String>,
    /// Read before the configuration (Apache `-C Include …`): the modules
    /// a Debian fragment needs.
    pub preload: Option<PathBuf>,
    /// Environment of the program (a Debian frame's `envvars`).
    pub env: Vec<(String, String)>,
    /// Paths (Apache `<Location>`) whose certificate is asked for after the
    /// request: `SSLVerifyClient` inside the section.
    pub after_request: Vec<String>,
    /// HAProxy: the further `-f` files, rewritten, in order.
    pub more_mains: Vec<PathBuf>,
    /// The namespace way: what the namespaces must provide.
    pub namespace: Option<NsPlan>,
}

impl PreparedConfig {
    /// The listener the catalog runs against: the first that speaks TLS,
    /// IPv4 first.
    /// `text` (a program's own message) with each written file's path
    /// replaced by the user's file it came from, so `in …/site.conf:12`
    /// points at the user's own line.
    pub fn in_users_terms(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first: one written path may prefix another.
        let mut sources = self.sources.clone();
        sources.sort_by_key(|(w, _)| std::cmp::Reverse(w.as_os_str().len()));
        for (written, original) in &sources {
            out = out.replace(
                &written.display().to_string(),
                &original.display().to_string(),
            );
        }
        out
    }

    /// The command that runs this configuration as `kind` in the
    /// foreground: [`command`], with the modules read first and the
    /// frame's environment.
    pub fn command(
        &self,
        kind: RealKind,
        run_dir: &Path,
    ) -> Result<std::process::Command, UserConfigError> {
        let mut cmd = command(kind, &self.main, run_dir)?;
        for more in &self.more_mains {
            cmd.arg("-f").arg(more);
        }
        if let Some(preload) = &self.preload {
            cmd.arg("-C")
                .arg(format!("Include \"{}\"", preload.display()));
        }
        for (k, v) in &self.env {
            // The run's user and group only where the account exists here.
            let account = match k.as_str() {
                "APACHE_RUN_USER" => Some(false),
                "APACHE_RUN_GROUP" => Some(true),
                _ => None,
            };
            if account.is_none_or(|group| account_exists(v, group)) {
                cmd.env(k, v);
            }
        }
        Ok(cmd)
    }

    pub fn tls_listener(&self) -> Option<&Listener> {
        let tls = || self.listeners.iter().filter(|l| l.tls);
        tls().find(|l| l.addr.is_ipv4()).or_else(|| tls().next())
    }
}

/// What replaces the arguments of a directive.
enum With {
    /// A file of the PKI directory.
    Pki(&'static str),
    /// A file of the run directory.
    Run(&'static str),
    /// A fixed value.
    Value(&'static str),
    /// A log file of the run directory, unless logging is off or goes to
    /// stderr or syslog (kept as written).
    Log(&'static str),
}

/// Log targets that write no file of their own: kept as written.
fn writes_no_file(arg: &str) -> bool {
    let arg = arg.trim_matches(|c| c == '"' || c == ';');
    arg == "off" || arg == "stderr" || arg.starts_with("syslog:") || arg == "/dev/null"
}

/// Directives (case-insensitive) whose first argument is rewritten.
fn directives(kind: RealKind) -> Option<&'static [(&'static str, With)]> {
    use With::*;
    Some(match kind {
        RealKind::Nginx => &[
            ("ssl_certificate", Pki("gw.chain.pem")),
            ("ssl_certificate_key", Pki("gw.key")),
            ("ssl_client_certificate", Pki("root.crt")),
            ("ssl_trusted_certificate", Pki("root.crt")),
            ("ssl_crl", Pki("root.crl")),
            ("pid", Run("nginx.pid")),
            ("error_log", Value("stderr")),
            ("access_log", Log("access.log")),
            ("daemon", Value("off")),
            // Directories nginx creates at start: inside the run directory,
            // never on the machine (a user's `/run/gateway` would be made).
            ("client_body_temp_path", Run("client_body_temp")),
            ("proxy_temp_path", Run("proxy_temp")),
            ("fastcgi_temp_path", Run("fastcgi_temp")),
            ("uwsgi_temp_path", Run("uwsgi_temp")),
            ("scgi_temp_path", Run("scgi_temp")),
        ],
        RealKind::Haproxy => &[("pidfile", Run("haproxy.pid"))],
        RealKind::Apache => &[
            ("sslcertificatefile", Pki("gw.chain.pem")),
            ("sslcertificatekeyfile", Pki("gw.key")),
            // The kit's server certificate is issued by its root directly.
            ("sslcertificatechainfile", Pki("root.crt")),
            ("sslcacertificatefile", Pki("root.crt")),
            ("sslcarevocationfile", Pki("root.crl")),
            // Relative paths of the file resolve against the run directory.
            ("serverroot", Run("")),
            ("pidfile", Run("apache.pid")),
            ("errorlog", Log("error.log")),
            ("customlog", Log("access.log")),
            ("transferlog", Log("access.log")),
            ("scoreboardfile", Run("apache.scoreboard")),
            ("defaultruntimedir", Run("")),
        ],
        _ => return None,
    })
}

/// HAProxy `bind` options whose argument is a PKI file.
const HAPROXY_BIND_FILES: &[(&str, &str)] = &[
    ("crt", "gw.pem"),
    ("ca-file", "root.crt"),
    ("crl-file", "root.crl"),
];

/// HAProxy `server` options about TLS to the upstream, dropped with it (the
/// origin speaks plain HTTP); those followed by an argument first.
const HAPROXY_SERVER_TLS: &[&str] = &["ca-file", "crt", "crl-file", "sni", "verify", "verifyhost"];
const HAPROXY_SERVER_TLS_FLAGS: &[&str] = &["ssl", "check-ssl"];

/// The program's own configuration directory, which `--config-root` stands for.
fn conf_dir(kind: RealKind) -> &'static str {
    match kind {
        RealKind::Haproxy => "/etc/haproxy",
        RealKind::Apache => "/etc/apache2",
        _ => "/etc/nginx",
    }
}

/// Whether `name` is a user (or, with `group`, a group) of this machine.
fn account_exists(name: &str, group: bool) -> bool {
    let file = if group { "/etc/group" } else { "/etc/passwd" };
    let name = name.trim_end_matches(';').trim_matches('"');
    if name.parse::<u32>().is_ok() {
        return true;
    }
    std::fs::read_to_string(file)
        .map(|t| t.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(false)
}

/// Rewrite the tree rooted at `file` for `kind`, into `run_dir`.
pub struct Preparation<'a> {
    pub kind: RealKind,
    /// The user's main file.
    pub file: &'a Path,
    /// Further files read after it (HAProxy's several `-f`), in order.
    pub also: &'a [PathBuf],
    /// Stands for the program's configuration directory (`/etc/nginx`):
    /// included paths are looked up under it first.
    pub config_root: &'a Path,
    /// The PKI the gateway gets (`target-kit`'s files).
    pub pki: &'a Path,
    /// The run's own directory: rewritten files, pid, logs, sockets.
    pub run_dir: &'a Path,
    /// Where upstreams go; `None` leaves them as written. In the namespace
    /// way, those it cannot keep as written (TLS to the upstream, a
    /// variable): an address of the namespace's loopback.
    pub origin: Option<SocketAddr>,
    /// The paths the run requests: a served directory that does not exist
    /// here is created with a page for each.
    pub routes: &'a [String],
    /// How the configuration is tied to the run.
    pub way: Way,
}

/// How a configuration is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// In namespaces of the harness's own: listeners, PKI paths, private
    /// paths and upstreams kept as written ([`NsPlan`]).
    Namespace,
    /// Rewritten onto loopback ports, the PKI, the run's directory and the
    /// origin on 127.0.0.1.
    Rewrite,
}

impl Way {
    pub fn name(self) -> &'static str {
        match self {
            Way::Namespace => "namespace",
            Way::Rewrite => "rewritten",
        }
    }
}

impl Preparation<'_> {
    /// Rewrite and write the tree; `next_free_port` gives a free port of
    /// 127.0.0.1 for each port the config listens on.
    pub fn prepare(
        &self,
        next_free_port: &mut dyn FnMut() -> std::io::Result<u16>,
    ) -> Result<PreparedConfig, UserConfigError> {
        let table = directives(self.kind).ok_or(UserConfigError::Unsupported(self.kind))?;
        let conf_out = self.run_dir.join("conf");
        std::fs::create_dir_all(&conf_out).map_err(|source| UserConfigError::Write {
            path: conf_out.clone(),
            source,
        })?;
        let users_text = read(self.file)?;
        // A Debian vhost fragment: the frame is the main file.
        let fragment = (self.kind == RealKind::Apache && frame::is_fragment(&users_text))
            .then(|| self.file.to_path_buf());
        let (main_path, text) = match &fragment {
            Some(f) => {
                let frame_file =
                    frame::find(self.config_root).map_err(|looked| UserConfigError::NoFrame {
                        fragment: f.clone(),
                        looked: looked
                            .iter()
                            .map(|l| l.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?;
                let text = read(&frame_file)?;
                (frame_file, text)
            }
            None => (self.file.to_path_buf(), users_text.clone()),
        };
        let mut rewriter = Rewriter {
            p: self,
            table,
            conf_out: conf_out.clone(),
            ports: PortPlan::new(next_free_port),
            rewrites: Vec::new(),
            listeners: Vec::new(),
            files: Vec::new(),
            sources: Vec::new(),
            tls_ports: Default::default(),
            includes: 0,
            served: served::Served::new(self.run_dir, self.routes),
            fragment: fragment.clone(),
            fragment_placed: false,
            location: None,
            after_request: Vec::new(),
            ns: (self.way == Way::Namespace).then(NsPlan::default),
        };
        let mut out = rewriter.file(&main_path, &text, 0)?;
        // HAProxy's further `-f` files: each read on its own, in order.
        let mut more_mains = Vec::new();
        for (i, extra) in self.also.iter().enumerate() {
            let text = read(extra)?;
            let rewritten = rewriter.file(extra, &text, 0)?;
            let name = extra
                .file_name()
                .map_or_else(|| "extra.cfg".into(), |n| n.to_string_lossy().to_string());
            let dest = conf_out.join(format!("f{}-{name}", i + 2));
            write(&dest, &rewritten)?;
            rewriter.sources.push((dest.clone(), extra.clone()));
            rewriter.files.push(dest.clone());
            more_mains.push(dest);
        }
        let mut notes = Vec::new();
        let mut preload = None;
        let mut env = Vec::new();
        if let Some(f) = &fragment {
            if !rewriter.fragment_placed {
                return Err(UserConfigError::FrameWithoutSites {
                    frame: main_path.clone(),
                    fragment: f.clone(),
                });
            }
            notes.push(format!(
                "{} is a Debian virtual-host fragment: it runs inside {} in place of its sites-enabled/ (the machine's own sites are not loaded)",
                f.display(),
                main_path.display()
            ));
            let modules = frame::needed_modules(&users_text);
            if !modules.is_empty() {
                let path = conf_out.join("a2enmod.conf");
                write(&path, &frame::enable_text(self.config_root, &modules))?;
                notes.push(format!(
                    "modules the fragment needs, enabled as a2enmod would (read before the configuration): {}",
                    modules.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ")
                ));
                preload = Some(path);
            }
            env = frame::envvars(self.config_root);
            notes.push(format!(
                "environment as the frame's envvars sets it{}{}; APACHE_RUN_DIR, APACHE_LOCK_DIR, APACHE_LOG_DIR and APACHE_PID_FILE are the run's directory",
                if env.is_empty() { "" } else { ": " },
                env.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !rewriter.served.moved.is_empty() {
            if self.kind == RealKind::Apache {
                out = rewriter.follow_directories(&main_path, &out);
                for (written, original) in rewriter.sources.clone() {
                    let text = read(&written)?;
                    let fixed = rewriter.follow_directories(&original, &text);
                    if fixed != text {
                        write(&written, &fixed)?;
                    }
                }
            }
            for m in &rewriter.served.moved {
                notes.push(format!(
                    "served directory {} does not exist on this machine: created at {} with a page for each route ({})",
                    m.display(),
                    rewriter.served.mirror(m).display(),
                    std::iter::once("/")
                        .chain(self.routes.iter().map(String::as_str).filter(|r| *r != "/"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        for l in &mut rewriter.listeners {
            l.tls |= rewriter.tls_ports.contains(&l.addr.port());
        }
        if rewriter.listeners.is_empty() {
            return Err(UserConfigError::NoListen {
                path: self.file.to_path_buf(),
                directive: match self.kind {
                    RealKind::Haproxy => "bind",
                    RealKind::Apache => "Listen",
                    _ => "listen",
                },
            });
        }
        let name = main_path.file_name().map_or_else(
            || "gateway.conf".into(),
            |n| n.to_string_lossy().to_string(),
        );
        let main = conf_out.join(name);
        write(&main, &out)?;
        let mut files = vec![main.clone()];
        files.extend(rewriter.files);
        let mut sources = vec![(main.clone(), main_path.clone())];
        sources.extend(rewriter.sources);
        Ok(PreparedConfig {
            main,
            text: out,
            rewrites: rewriter.rewrites,
            listeners: rewriter.listeners,
            files,
            sources,
            notes,
            preload,
            env,
            after_request: rewriter.after_request,
            more_mains,
            namespace: rewriter.ns.map(|mut ns| {
                // Rewritten upstreams reach the origin inside the namespace.
                ns.rewritten_upstreams = self.origin;
                ns
            }),
        })
    }
}

fn read(path: &Path) -> Result<String, UserConfigError> {
    std::fs::read_to_string(path).map_err(|source| UserConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, text: &str) -> Result<(), UserConfigError> {
    std::fs::write(path, text).map_err(|source| UserConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

struct Rewriter<'a, 'p> {
    p: &'a Preparation<'p>,
    table: &'static [(&'static str, With)],
    conf_out: PathBuf,
    ports: PortPlan<'a>,
    rewrites: Vec<Rewrite>,
    listeners: Vec<Listener>,
    files: Vec<PathBuf>,
    sources: Vec<(PathBuf, PathBuf)>,
    /// Ports an Apache virtual host with `SSLEngine on` serves.
    tls_ports: std::collections::BTreeSet<u16>,
    includes: usize,
    served: served::Served,
    /// A Debian fragment, included in place of the frame's `sites-enabled`.
    fragment: Option<PathBuf>,
    fragment_placed: bool,
    /// The Apache `<Location>` being read.
    location: Option<String>,
    after_request: Vec<String>,
    /// The namespace way: what is kept as written.
    ns: Option<NsPlan>,
}

/// What a line became.
enum Change {
    /// Kept.
    Same,
    /// These words instead.
    Words(Vec<String>),
    /// Commented out, for this reason.
    Dropped(&'static str),
}

/// The closing characters of an argument (nginx `;`, Apache `>`).
fn tail_of(arg: &str) -> String {
    let n = arg.len() - arg.trim_end_matches([';', '>']).len();
    arg[arg.len() - n..].to_string()
}

fn strip_tail(arg: &str) -> &str {
    arg.trim_end_matches([';', '>'])
}

/// `scheme://host[:port][/path]` with the authority replaced by `origin`
/// (plain HTTP); `None` for anything with a variable or no scheme.
fn onto_origin(url: &str, origin: SocketAddr) -> Option<String> {
    if let Some(inner) = url.strip_prefix('"').and_then(|u| u.strip_suffix('"')) {
        return onto_origin(inner, origin).map(|u| format!("\"{u}\""));
    }
    if url.contains('$') {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    Some(format!("http://{origin}{path}"))
}

/// Where the URL of an Apache `ProxyPass PATH URL` is: the second word,
/// or the first inside a `<Location>` (`ProxyPass URL`).
fn proxy_url_at(words: &[String]) -> Option<usize> {
    (1..words.len().min(3)).find(|&i| words[i].contains("://"))
}

/// An absolute path that names a file (not a directory: one that exists
/// as one here, or is written with a trailing `/`), which a file can be
/// bind-mounted onto.
fn is_file_path(path: &Path) -> bool {
    path.is_absolute() && !path.is_dir() && !path.as_os_str().to_string_lossy().ends_with('/')
}

/// The `host[:port]` of a plain-HTTP URL and its default port; `None` for
/// HTTPS (the origin speaks plain HTTP), a variable or no scheme.
fn http_authority(url: &str) -> Option<(String, u16)> {
    let url = url.trim_matches('"');
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    (!authority.is_empty() && !authority.contains('$')).then(|| (authority.to_string(), 80))
}

/// nginx statements of one line, each with its closing `;`, `{` or `}`; a
/// trailing comment is one piece. Quoted text is not split.
fn split_statements(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote = None;
    for (i, c) in body.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '#' if body[start..i].trim().is_empty() => {
                out.push(&body[start..]);
                return out;
            }
            ';' | '{' | '}' => {
                out.push(&body[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !body[start..].trim().is_empty() {
        out.push(&body[start..]);
    }
    out
}

impl Rewriter<'_, '_> {
    fn file(&mut self, path: &Path, text: &str, depth: usize) -> Result<String, UserConfigError> {
        let kind = self.p.kind;
        let mut out = String::new();
        // nginx blocks / Apache sections open at this point.
        let mut blocks: Vec<String> = Vec::new();
        // HAProxy section.
        let mut section = String::new();
        // The (new) ports of the Apache virtual host being read.
        let mut vhost: Vec<u16> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let indent_len = line.len() - line.trim_start().len();
            let (indent, body) = line.split_at(indent_len);
            if body.is_empty() || body.starts_with('#') {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            // nginx may put several statements on a line
            // (`location / { proxy_pass http://app; }`): each is its own.
            let pieces = match kind {
                RealKind::Nginx => split_statements(body),
                _ => vec![body],
            };
            let mut changed = false;
            let mut new_pieces = Vec::new();
            let mut dropped = Vec::new();
            for piece in pieces {
                let words: Vec<String> = piece.split_whitespace().map(str::to_string).collect();
                let Some(first) = words.first().map(|w| w.to_ascii_lowercase()) else {
                    continue;
                };
                if first.starts_with('#') || first == "}" {
                    new_pieces.push(piece.trim().to_string());
                    if first == "}" {
                        blocks.pop();
                    }
                    continue;
                }
                if kind == RealKind::Haproxy && indent.is_empty() {
                    section = first.clone();
                }
                let ctx = LineCtx {
                    path,
                    line: i + 1,
                    depth,
                    block: blocks.last().map(String::as_str),
                    section: &section,
                };
                match self.line(&ctx, &first, &words, &mut vhost)? {
                    Change::Same => new_pieces.push(piece.trim().to_string()),
                    Change::Words(w) if w == words => new_pieces.push(piece.trim().to_string()),
                    Change::Words(w) => {
                        let joined = w.join(" ");
                        changed |= joined != piece.trim();
                        new_pieces.push(joined);
                    }
                    Change::Dropped(why) => {
                        changed = true;
                        dropped.push(format!("# {} # mtls-harness: {why}", piece.trim()));
                    }
                }
                // Blocks, after the statement itself (its directive opens them).
                match kind {
                    RealKind::Nginx if piece.trim_end().ends_with('{') => {
                        blocks.push(first.clone())
                    }
                    RealKind::Apache => {
                        if let Some(tag) = first.strip_prefix("</") {
                            blocks.pop();
                            if tag.trim_end_matches('>') == "virtualhost" {
                                vhost.clear();
                            }
                        } else if let Some(tag) = first.strip_prefix('<') {
                            blocks.push(tag.trim_end_matches('>').to_string());
                        }
                    }
                    _ => {}
                }
            }
            let after = if changed {
                new_pieces.extend(dropped);
                format!("{indent}{}", new_pieces.join(" "))
            } else {
                line.to_string()
            };
            if changed {
                self.rewrites.push(Rewrite {
                    file: path.to_path_buf(),
                    line: i + 1,
                    before: line.trim().to_string(),
                    after: after.trim().to_string(),
                });
            }
            out.push_str(&after);
            out.push('\n');
        }
        Ok(out)
    }

    fn line(
        &mut self,
        ctx: &LineCtx<'_>,
        first: &str,
        words: &[String],
        vhost: &mut Vec<u16>,
    ) -> Result<Change, UserConfigError> {
        let p = self.p;
        let kind = p.kind;
        let arg = words.get(1).map(String::as_str);
        match (kind, first) {
            (RealKind::Nginx, "listen") | (RealKind::Apache, "listen") => {
                let Some(arg) = arg else {
                    return Ok(Change::Same);
                };
                let tls = match (kind, words.get(2)) {
                    (RealKind::Nginx, _) => words.iter().any(|w| strip_tail(w) == "ssl"),
                    (_, Some(protocol)) => protocol.eq_ignore_ascii_case("https"),
                    // Apache's `Listen` without a protocol: https on 443 only.
                    (_, None) => matches!(
                        listen::parse_nginx_or_apache(arg, 80),
                        Some(ListenAddr::Tcp { port: 443, .. })
                    ),
                };
                let mut words = words.to_vec();
                words[1] = self.listen(ctx, arg, tls)?;
                return Ok(Change::Words(words));
            }
            (RealKind::Apache, "<virtualhost") => {
                // A virtual host's addresses are not sockets of their own
                // (`Listen` makes those): each goes where its port went.
                let mut words = words.to_vec();
                for w in words.iter_mut().skip(1) {
                    let tail = tail_of(w);
                    let bare = strip_tail(w).trim_matches('"').to_string();
                    if let (Some(ListenAddr::Tcp { port, .. }), true) =
                        (listen::parse_nginx_or_apache(&bare, 80), self.ns.is_some())
                    {
                        // Kept as written: the port is the configuration's own.
                        vhost.push(port);
                    } else if let Some(ListenAddr::Tcp { v6, port }) =
                        listen::parse_nginx_or_apache(&bare, 80)
                    {
                        let addr = self.ports.place(v6, port).map_err(UserConfigError::Port)?;
                        *w = format!("{}{tail}", listen::written(addr));
                        vhost.push(addr.port());
                    }
                }
                return Ok(Change::Words(words));
            }
            (RealKind::Apache, "sslengine") => {
                if arg.is_some_and(|a| a.eq_ignore_ascii_case("on")) {
                    self.tls_ports.extend(vhost.iter().copied());
                }
                return Ok(Change::Same);
            }
            (RealKind::Haproxy, "bind") => {
                let Some(arg) = arg else {
                    return Ok(Change::Same);
                };
                let tls = words.iter().any(|w| w == "ssl");
                let mut placed = Vec::new();
                for addr in arg.split(',') {
                    placed.push(self.listen(ctx, addr, tls)?);
                }
                let mut words = words.to_vec();
                words[1] = placed.join(",");
                for j in 2..words.len().saturating_sub(1) {
                    if let Some((_, f)) = HAPROXY_BIND_FILES.iter().find(|(o, _)| *o == words[j]) {
                        let written = Path::new(&words[j + 1]);
                        match &mut self.ns {
                            // A file path is mounted onto; a directory of
                            // certificates is not a file: rewritten.
                            Some(ns) if is_file_path(written) => {
                                ns.mount(written, p.pki.join(f));
                            }
                            _ => words[j + 1] = p.pki.join(f).display().to_string(),
                        }
                    }
                }
                return Ok(Change::Words(words));
            }
            (RealKind::Nginx, "include")
            | (RealKind::Apache, "include")
            | (RealKind::Apache, "includeoptional") => {
                let Some(arg) = arg else {
                    return Ok(Change::Same);
                };
                return self.include(ctx, first, words, arg);
            }
            (RealKind::Nginx, "user") | (RealKind::Haproxy, "user" | "uid") => {
                return Ok(match arg {
                    Some(a) if !account_exists(a, false) => {
                        Change::Dropped("no such user on this machine")
                    }
                    _ => Change::Same,
                });
            }
            (RealKind::Haproxy, "group" | "gid") if ctx.section == "global" => {
                return Ok(match arg {
                    Some(a) if !account_exists(a, true) => {
                        Change::Dropped("no such group on this machine")
                    }
                    _ => Change::Same,
                });
            }
            (RealKind::Apache, "<location") => {
                self.location = arg.map(|a| strip_tail(a).trim_matches('"').to_string());
                return Ok(Change::Same);
            }
            (RealKind::Apache, "</location>") => {
                self.location = None;
                return Ok(Change::Same);
            }
            (RealKind::Apache, "sslverifyclient") => {
                let asks = arg.is_some_and(|a| !a.eq_ignore_ascii_case("none"));
                if let (true, Some(path)) = (asks, &self.location) {
                    if !self.after_request.contains(path) {
                        self.after_request.push(path.clone());
                    }
                }
                return Ok(Change::Same);
            }
            (RealKind::Nginx, "root" | "alias") | (RealKind::Apache, "documentroot") => {
                return self.serve(words, 1);
            }
            (RealKind::Apache, "alias") => return self.serve(words, 2),
            (RealKind::Haproxy, "chroot")
                if self.ns.is_some() && arg.is_some_and(|a| NsPlan::is_private(Path::new(a))) =>
            {
                if let (Some(ns), Some(a)) = (&mut self.ns, arg) {
                    ns.private_dir(Path::new(a));
                }
                return Ok(Change::Same);
            }
            (RealKind::Haproxy, "chroot") => {
                return Ok(Change::Dropped(
                    "the run's directory is the gateway's own already",
                ));
            }
            (RealKind::Haproxy, "stats")
                if arg == Some("socket")
                    && self.ns.is_some()
                    && words
                        .get(2)
                        .is_some_and(|w| NsPlan::is_private(Path::new(w))) =>
            {
                if let (Some(ns), Some(w)) = (&mut self.ns, words.get(2)) {
                    ns.private_file(Path::new(w));
                }
                return Ok(Change::Same);
            }
            (RealKind::Haproxy, "stats") if arg == Some("socket") => {
                let mut words = words.to_vec();
                if let Some(path) = words.get(2).cloned() {
                    let name = Path::new(&path)
                        .file_name()
                        .map_or_else(|| "admin.sock".into(), |n| n.to_string_lossy().to_string());
                    words[2] = p.run_dir.join(name).display().to_string();
                }
                return Ok(Change::Words(words));
            }
            _ => {}
        }
        if let Some(ns) = &mut self.ns {
            // Upstreams as written, served inside; what the namespace
            // cannot serve so (TLS to the upstream, a variable, a unix
            // socket) is rewritten below as in the other way.
            let kept = match (kind, first) {
                (RealKind::Nginx, "server") if ctx.block == Some("upstream") => {
                    arg.is_some_and(|a| ns.upstream(strip_tail(a), 80))
                }
                (RealKind::Nginx, "proxy_pass") => arg
                    .and_then(|a| http_authority(strip_tail(a)))
                    .is_some_and(|(auth, port)| ns.upstream(&auth, port)),
                (RealKind::Haproxy, "server")
                    if (ctx.section == "backend" || ctx.section == "listen")
                        && words.len() >= 3 =>
                {
                    !words[3..]
                        .iter()
                        .any(|w| HAPROXY_SERVER_TLS_FLAGS.contains(&w.as_str()))
                        && ns.upstream(&words[2], 80)
                }
                (RealKind::Apache, "proxypass" | "proxypassreverse") => proxy_url_at(words)
                    .and_then(|i| http_authority(&words[i]))
                    .is_some_and(|(auth, port)| ns.upstream(&auth, port)),
                (RealKind::Apache, "balancermember") => arg
                    .and_then(http_authority)
                    .is_some_and(|(auth, port)| ns.upstream(&auth, port)),
                _ => false,
            };
            if kept {
                return Ok(Change::Same);
            }
        }
        if let Some(origin) = p.origin {
            match (kind, first) {
                (RealKind::Nginx, "server") if ctx.block == Some("upstream") => {
                    if let Some(arg) = arg {
                        let mut words = words.to_vec();
                        words[1] = format!("{origin}{}", tail_of(arg));
                        return Ok(Change::Words(words));
                    }
                }
                (RealKind::Nginx, "proxy_pass") => {
                    if let Some(url) = arg.and_then(|a| onto_origin(strip_tail(a), origin)) {
                        let mut words = words.to_vec();
                        words[1] = format!("{url}{}", tail_of(words[1].as_str()));
                        return Ok(Change::Words(words));
                    }
                }
                (RealKind::Haproxy, "server")
                    if (ctx.section == "backend" || ctx.section == "listen")
                        && words.len() >= 3 =>
                {
                    let mut out = vec![words[0].clone(), words[1].clone(), origin.to_string()];
                    let mut rest = words[3..].iter();
                    while let Some(w) = rest.next() {
                        if HAPROXY_SERVER_TLS.contains(&w.as_str()) {
                            rest.next();
                        } else if !HAPROXY_SERVER_TLS_FLAGS.contains(&w.as_str()) {
                            out.push(w.clone());
                        }
                    }
                    return Ok(Change::Words(out));
                }
                (RealKind::Apache, "proxypass" | "proxypassreverse") => {
                    if let Some((i, url)) = proxy_url_at(words)
                        .and_then(|i| onto_origin(&words[i], origin).map(|u| (i, u)))
                    {
                        let mut words = words.to_vec();
                        words[i] = url;
                        return Ok(Change::Words(words));
                    }
                }
                (RealKind::Apache, "balancermember") => {
                    if let Some(url) = arg.and_then(|u| onto_origin(u, origin)) {
                        let mut words = words.to_vec();
                        words[1] = url;
                        return Ok(Change::Words(words));
                    }
                }
                _ => {}
            }
        }
        let Some((_, with)) = self.table.iter().find(|(d, _)| *d == first) else {
            return Ok(Change::Same);
        };
        let Some(arg) = arg else {
            return Ok(Change::Same);
        };
        let tail = tail_of(arg);
        let written = Path::new(strip_tail(arg).trim_matches('"'));
        if let Some(ns) = &mut self.ns {
            match with {
                With::Pki(f) if is_file_path(written) => {
                    ns.mount(written, p.pki.join(f));
                    return Ok(Change::Same);
                }
                // `""`: the directive names a directory (ServerRoot).
                With::Run("") if NsPlan::is_private(written) => {
                    ns.private_dir(written);
                    return Ok(Change::Same);
                }
                With::Run(_) if NsPlan::is_private(written) => {
                    ns.private_file(written);
                    return Ok(Change::Same);
                }
                With::Log(_) if NsPlan::is_private(written) => {
                    ns.private_file(written);
                    return Ok(Change::Same);
                }
                _ => {}
            }
        }
        let new = match with {
            With::Pki(f) => p.pki.join(f).display().to_string(),
            With::Run(f) => p.run_dir.join(f).display().to_string(),
            With::Value(v) => v.to_string(),
            With::Log(_) if writes_no_file(arg) => strip_tail(arg).to_string(),
            With::Log(f) => p.run_dir.join(f).display().to_string(),
        };
        let new = format!("{new}{tail}");
        if new == arg {
            return Ok(Change::Same);
        }
        let mut words = words.to_vec();
        words[1] = new;
        Ok(Change::Words(words))
    }

    /// Place one listen address; record it.
    fn listen(
        &mut self,
        ctx: &LineCtx<'_>,
        arg: &str,
        tls: bool,
    ) -> Result<String, UserConfigError> {
        let tail = tail_of(arg);
        let bare = strip_tail(arg);
        let parsed = match self.p.kind {
            RealKind::Haproxy => listen::parse_haproxy(bare),
            _ => listen::parse_nginx_or_apache(bare, 80),
        };
        match parsed {
            Some(ListenAddr::Tcp { v6, port }) if self.ns.is_some() => {
                let Some(ns) = &mut self.ns else {
                    unreachable!("checked by the guard")
                };
                let addr = ns.listener(bare, v6, port);
                self.listeners.push(Listener {
                    file: ctx.path.to_path_buf(),
                    line: ctx.line,
                    original: bare.to_string(),
                    addr,
                    tls,
                });
                Ok(arg.to_string())
            }
            Some(ListenAddr::Tcp { v6, port }) => {
                let addr = self.ports.place(v6, port).map_err(UserConfigError::Port)?;
                self.listeners.push(Listener {
                    file: ctx.path.to_path_buf(),
                    line: ctx.line,
                    original: bare.to_string(),
                    addr,
                    tls,
                });
                Ok(format!("{}{tail}", listen::written(addr)))
            }
            Some(ListenAddr::Unix(path)) => {
                let name = Path::new(&path)
                    .file_name()
                    .map_or_else(|| "listen.sock".into(), |n| n.to_string_lossy().to_string());
                let new = self.p.run_dir.join(name).display().to_string();
                Ok(match self.p.kind {
                    RealKind::Nginx => format!("unix:{new}{tail}"),
                    _ => format!("{new}{tail}"),
                })
            }
            None => Ok(arg.to_string()),
        }
    }

    /// A served path (word `at` of the line) that does not exist here:
    /// onto the run's own copy.
    fn serve(&mut self, words: &[String], at: usize) -> Result<Change, UserConfigError> {
        let Some(arg) = words.get(at) else {
            return Ok(Change::Same);
        };
        let bare = strip_tail(arg).trim_matches('"');
        let placed = self
            .served
            .place(bare)
            .map_err(|source| UserConfigError::Write {
                path: self.served.mirror(Path::new(bare)),
                source,
            })?;
        let Some(new) = placed else {
            return Ok(Change::Same);
        };
        let slash = if bare.ends_with('/') { "/" } else { "" };
        let mut words = words.to_vec();
        words[at] = format!("{}{slash}{}", new.display(), tail_of(arg));
        Ok(Change::Words(words))
    }

    /// Apache `<Directory>` lines over a moved served path, onto its copy;
    /// each change recorded against `original`'s line.
    fn follow_directories(&mut self, original: &Path, text: &str) -> String {
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            let is_dir = words
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case("<directory"));
            let moved = words.get(1).filter(|_| is_dir).and_then(|w| {
                let bare = strip_tail(w).trim_matches('"');
                self.served
                    .follows(bare)
                    .map(|m| (m, bare.ends_with('/'), tail_of(w)))
            });
            match moved {
                Some((m, slash, tail)) => {
                    words[1] = format!("{}{}{tail}", m.display(), if slash { "/" } else { "" });
                    let indent = &line[..line.len() - line.trim_start().len()];
                    let after = format!("{indent}{}", words.join(" "));
                    self.rewrites.push(Rewrite {
                        file: original.to_path_buf(),
                        line: i + 1,
                        before: line.trim().to_string(),
                        after: after.trim().to_string(),
                    });
                    out.push_str(&after);
                }
                None => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Rewrite the included files into a directory of their own and point
    /// the line at it.
    fn include(
        &mut self,
        ctx: &LineCtx<'_>,
        first: &str,
        words: &[String],
        arg: &str,
    ) -> Result<Change, UserConfigError> {
        let p = self.p;
        if ctx.depth >= MAX_DEPTH {
            return Err(UserConfigError::IncludeDepth {
                file: ctx.path.to_path_buf(),
                line: ctx.line,
            });
        }
        let found = match &self.fragment {
            Some(fragment) if p.kind == RealKind::Apache && frame::is_sites_include(arg) => {
                self.fragment_placed = true;
                includes::Included {
                    files: vec![fragment.clone()],
                    pattern: None,
                    looked: Vec::new(),
                }
            }
            _ => includes::resolve(arg, p.config_root, conf_dir(p.kind)),
        };
        if found.files.is_empty() && found.pattern.is_none() && first != "includeoptional" {
            return Err(UserConfigError::IncludeNotFound {
                file: ctx.path.to_path_buf(),
                line: ctx.line,
                arg: strip_tail(arg).trim_matches('"').to_string(),
                looked: found
                    .looked
                    .iter()
                    .map(|l| l.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        self.includes += 1;
        let dir = self.conf_out.join(format!("include-{}", self.includes));
        std::fs::create_dir_all(&dir).map_err(|source| UserConfigError::Write {
            path: dir.clone(),
            source,
        })?;
        for file in &found.files {
            let text = read(file)?;
            let rewritten = self.file(file, &text, ctx.depth + 1)?;
            let name = file.file_name().map_or_else(
                || "included.conf".into(),
                |n| n.to_string_lossy().to_string(),
            );
            let dest = dir.join(name);
            write(&dest, &rewritten)?;
            self.sources.push((dest.clone(), file.clone()));
            self.files.push(dest);
        }
        let target = match (&found.pattern, found.files.first()) {
            (Some(pattern), _) if pattern.is_empty() => format!("{}/", dir.display()),
            (Some(pattern), _) => dir.join(pattern).display().to_string(),
            (None, Some(file)) => dir
                .join(file.file_name().unwrap_or_default())
                .display()
                .to_string(),
            // IncludeOptional of nothing: an empty directory.
            (None, None) => format!("{}/", dir.display()),
        };
        let mut words = words.to_vec();
        words[1] = format!("{target}{}", tail_of(arg));
        Ok(Change::Words(words))
    }
}

/// Where a line is.
struct LineCtx<'a> {
    path: &'a Path,
    line: usize,
    depth: usize,
    /// The innermost nginx block or Apache section.
    block: Option<&'a str>,
    /// The HAProxy section.
    section: &'a str,
}

/// The command that runs the rewritten config `conf` in the foreground.
pub fn command(
    kind: RealKind,
    conf: &Path,
    run_dir: &Path,
) -> Result<std::process::Command, UserConfigError> {
    let mut cmd = match kind {
        RealKind::Nginx => {
            let mut c = std::process::Command::new("nginx");
            // `-e`: the log of the start itself, before the file is read
            // (otherwise the compiled-in /var/log/nginx/error.log).
            c.arg("-c")
                .arg(conf)
                .arg("-p")
                .arg(run_dir)
                .args(["-e", "stderr"]);
            c
        }
        RealKind::Haproxy => {
            let mut c = std::process::Command::new("haproxy");
            c.arg("-f").arg(conf).arg("-db");
            c
        }
        RealKind::Apache => {
            let mut c = std::process::Command::new("apache2");
            // `-d`: relative paths and the compiled-in PidFile
            // (logs/apache2.pid under /etc/apache2) in the run directory.
            c.arg("-d")
                .arg(run_dir)
                .arg("-f")
                .arg(conf)
                .arg("-DFOREGROUND");
            // What Debian's envvars would set, inside the run directory.
            let user = if account_exists("www-data", false) {
                "www-data"
            } else {
                "nobody"
            };
            let group = if account_exists("www-data", true) {
                "www-data"
            } else {
                "nogroup"
            };
            c.env("APACHE_RUN_DIR", run_dir)
                .env("APACHE_LOCK_DIR", run_dir)
                .env("APACHE_PID_FILE", run_dir.join("apache.pid"))
                .env("APACHE_LOG_DIR", run_dir)
                .env("APACHE_RUN_USER", user)
                .env("APACHE_RUN_GROUP", group);
            c
        }
        other => return Err(UserConfigError::Unsupported(other)),
    };
    cmd.current_dir(run_dir);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rewrites `text` (as `name` in a config tree that also holds `extra`
    /// files) for `kind`; the PKI is `/p`, the run directory a temporary one.
    fn prepared(
        kind: RealKind,
        name: &str,
        text: &str,
        extra: &[(&str, &str)],
    ) -> (PreparedConfig, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        for (rel, body) in extra.iter().chain([(name, text)].iter()) {
            let path = tree.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        let run = tmp.path().join("run");
        let mut port = 9000;
        let mut next = || {
            port += 1;
            Ok(port)
        };
        let got = Preparation {
            kind,
            file: &tree.join(name),
            config_root: &tree,
            also: &[],
            pki: Path::new("/p"),
            run_dir: &run,
            origin: Some("127.0.0.1:7000".parse().unwrap()),
            routes: &["/".to_string()],
            way: Way::Rewrite,
        }
        .prepare(&mut next)
        .expect("prepared");
        (got, tmp)
    }

    #[test]
    fn nginx_statements_of_one_line_are_split_quotes_kept() {
        assert_eq!(
            split_statements("location / { proxy_pass http://a; } # x; y"),
            vec!["location / {", " proxy_pass http://a;", " }", " # x; y"]
        );
        assert_eq!(
            split_statements("return 200 \"a;b{\";"),
            vec!["return 200 \"a;b{\";"]
        );
    }

    #[test]
    fn nginx_keeps_every_directive_and_reports_each_rewrite() {
        let text = "server {\n  listen 443 ssl http2;\n  ssl_certificate /etc/x.crt;\n  ssl_verify_client on;\n  ssl_crl /etc/c.crl;\n}\n";
        let (got, _tmp) = prepared(RealKind::Nginx, "n.conf", text, &[]);
        assert!(
            got.text.contains("  listen 127.0.0.1:9001 ssl http2;"),
            "{}",
            got.text
        );
        assert!(got.text.contains("ssl_certificate /p/gw.chain.pem;"));
        assert!(got.text.contains("ssl_crl /p/root.crl;"));
        assert!(got.text.contains("  ssl_verify_client on;"));
        assert_eq!(got.rewrites.len(), 3);
        assert_eq!(got.rewrites[0].line, 2);
        assert_eq!(got.tls_listener().map(|l| l.addr.port()), Some(9001));
    }

    #[test]
    fn every_port_is_a_listener_of_its_own() {
        let text = "http {\n server {\n  listen 80;\n  listen [::]:80;\n  return 301 https://$host$request_uri;\n }\n server {\n  listen 443 ssl;\n  listen [::]:443 ssl;\n }\n}\n";
        let (got, _tmp) = prepared(RealKind::Nginx, "n.conf", text, &[]);
        let ports: Vec<(u16, bool)> = got
            .listeners
            .iter()
            .map(|l| (l.addr.port(), l.tls))
            .collect();
        assert_eq!(
            ports,
            vec![(9001, false), (9001, false), (9002, true), (9002, true)]
        );
        assert!(got.listeners[1].addr.ip().is_loopback());
        assert_eq!(
            got.tls_listener().unwrap().addr,
            "127.0.0.1:9002".parse().unwrap()
        );
        let haproxy = "frontend f\n  bind *:8443 ssl crt /x.pem ca-file /ca.pem verify required\n  bind *:8080\n";
        let (got, _tmp) = prepared(RealKind::Haproxy, "h.cfg", haproxy, &[]);
        assert!(
            got.text.contains(
                "bind 127.0.0.1:9001 ssl crt /p/gw.pem ca-file /p/root.crt verify required"
            ),
            "{}",
            got.text
        );
        assert!(got.text.contains("bind 127.0.0.1:9002\n"), "{}", got.text);
        assert_eq!(got.tls_listener().unwrap().addr.port(), 9001);
    }

    #[test]
    fn includes_are_followed_rewritten_and_pointed_at() {
        let text = "http {\n  include /etc/nginx/conf.d/*.conf;\n}\n";
        let site = "server {\n  listen 443 ssl;\n  include snippets/mtls.conf;\n  location / { proxy_pass http://app.internal:8080; }\n  location /api/ {\n    proxy_pass https://backend/v1/;\n  }\n}\nupstream backend {\n  server 10.0.12.21:8080 max_fails=3;\n}\n";
        let snippet = "ssl_client_certificate /etc/nginx/ca/clients.pem;\nssl_verify_client on;\n";
        let (got, _tmp) = prepared(
            RealKind::Nginx,
            "nginx.conf",
            text,
            &[("conf.d/site.conf", site), ("snippets/mtls.conf", snippet)],
        );
        assert_eq!(got.files.len(), 3, "{:?}", got.files);
        let site_out = std::fs::read_to_string(&got.files[2]).unwrap_or_default();
        let all: String = got
            .files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        assert!(all.contains("ssl_client_certificate /p/root.crt;"), "{all}");
        assert!(all.contains("listen 127.0.0.1:9001 ssl;"), "{all}");
        assert!(all.contains("proxy_pass http://127.0.0.1:7000;"), "{all}");
        assert!(
            all.contains("proxy_pass http://127.0.0.1:7000/v1/;"),
            "{all}"
        );
        assert!(all.contains("server 127.0.0.1:7000 max_fails=3;"), "{all}");
        assert!(!got.text.contains("/etc/nginx"), "{}", got.text);
        assert!(site_out.contains("include "), "{site_out}");
        assert!(
            !site_out.contains("/etc/nginx") && !site_out.contains("snippets/"),
            "{site_out}"
        );
        let reported: Vec<String> = got
            .rewrites
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r.file.file_name().unwrap().to_string_lossy(),
                    r.line
                )
            })
            .collect();
        assert!(
            reported.contains(&"mtls.conf:1".to_string()),
            "{reported:?}"
        );
        assert!(
            reported.contains(&"site.conf:10".to_string()),
            "{reported:?}"
        );
    }

    /// Why an nginx file `text` (alone in its tree) cannot be prepared, and
    /// the tree's directory.
    fn refused(text: &str) -> (String, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("nginx.conf");
        std::fs::write(&main, text).unwrap();
        let mut next = || Ok(9000);
        let err = Preparation {
            kind: RealKind::Nginx,
            file: &main,
            config_root: tmp.path(),
            also: &[],
            pki: Path::new("/p"),
            run_dir: &tmp.path().join("run"),
            origin: None,
            routes: &[],
            way: Way::Rewrite,
        }
        .prepare(&mut next)
        .expect_err("refused");
        (err.to_string(), tmp)
    }

    #[test]
    fn a_missing_include_names_the_file_line_and_where_it_looked() {
        let (text, tmp) = refused("events {}\ninclude /etc/nginx/nowhere.conf;\n");
        assert!(
            text.contains("nginx.conf: 2: include `/etc/nginx/nowhere.conf`"),
            "{text}"
        );
        assert!(
            text.contains(&tmp.path().join("nowhere.conf").display().to_string()),
            "{text}"
        );
    }

    #[test]
    fn paths_a_program_creates_at_start_land_in_the_run_directory() {
        let nginx = "user nosuchuser-here;\nhttp {\n  client_body_temp_path /run/gateway;\n  access_log /var/log/nginx/a.log combined;\n  access_log off;\n  server {\n    listen 443 ssl;\n  }\n}\n";
        let (got, tmp) = prepared(RealKind::Nginx, "n.conf", nginx, &[]);
        let run = tmp.path().join("run");
        assert!(
            got.text.contains(&format!(
                "client_body_temp_path {};",
                run.join("client_body_temp").display()
            )),
            "{}",
            got.text
        );
        assert!(
            got.text.contains(&format!(
                "access_log {} combined;",
                run.join("access.log").display()
            )),
            "{}",
            got.text
        );
        assert!(got.text.contains("access_log off;"), "{}", got.text);
        assert!(got.text.contains("# user nosuchuser-here;"), "{}", got.text);
        let apache = "ServerRoot \"/run/gateway\"\nCustomLog ${APACHE_LOG_DIR}/x.log combined\nListen 443\n<VirtualHost *:443 [::]:443>\n  SSLEngine on\n  SSLCertificateChainFile /etc/ssl/chain.pem\n  ProxyPass /app http://app:8080/app\n  ProxyPass \"/b\" \"http://b.internal/b/\"\n</VirtualHost>\n";
        let (got, tmp) = prepared(RealKind::Apache, "a.conf", apache, &[]);
        let run = tmp.path().join("run");
        assert!(
            got.text
                .contains(&format!("ServerRoot {}\n", run.display()))
                || got
                    .text
                    .contains(&format!("ServerRoot {}/\n", run.display())),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("SSLCertificateChainFile /p/root.crt"),
            "{}",
            got.text
        );
        assert!(
            got.text
                .contains("ProxyPass /app http://127.0.0.1:7000/app"),
            "{}",
            got.text
        );
        assert!(
            got.text
                .contains("ProxyPass \"/b\" \"http://127.0.0.1:7000/b/\""),
            "{}",
            got.text
        );
        // `Listen 443` is the one socket; the virtual host marks it TLS.
        assert_eq!(got.listeners.len(), 1, "{:?}", got.listeners);
        assert!(got.listeners[0].tls, "{:?}", got.listeners);
        let haproxy = "global\n  chroot /var/lib/haproxy\n  stats socket /run/haproxy/admin.sock mode 660 level admin\n  user haproxy-nobody-here\nfrontend f\n  bind :443 ssl crt /x.pem\nbackend app\n  server app1 10.0.12.21:8443 check ssl verify required ca-file /ca.pem\n";
        let (got, tmp) = prepared(RealKind::Haproxy, "h.cfg", haproxy, &[]);
        let run = tmp.path().join("run");
        assert!(
            got.text.contains("# chroot /var/lib/haproxy"),
            "{}",
            got.text
        );
        assert!(
            got.text.contains(&format!(
                "stats socket {} mode",
                run.join("admin.sock").display()
            )),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("# user haproxy-nobody-here"),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("server app1 127.0.0.1:7000 check\n"),
            "{}",
            got.text
        );
    }

    #[test]
    fn a_config_that_listens_nowhere_is_refused() {
        let (err, _tmp) = refused("events {}\n");
        assert!(err.contains("no listen line"), "{err}");
    }
}
