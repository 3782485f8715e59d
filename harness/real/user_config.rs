//! `run --gateway-config FILE`: a user's own gateway configuration, kept
//! directive for directive, with only what ties it to one machine rewritten:
//! the listen addresses (onto a port of 127.0.0.1), the certificate, CA and
//! CRL paths (onto the harness's PKI), and the pid and error-log files (onto
//! a temporary directory). Each rewrite is reported.

use super::RealKind;
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
    #[error("{}: no {directive} line: the harness cannot tell where the gateway listens", path.display())]
    NoListen {
        path: PathBuf,
        directive: &'static str,
    },
    #[error("--gateway-config takes real:nginx, real:haproxy or real:apache, not {0}")]
    Unsupported(RealKind),
}

/// One line changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// 1-based line number in the user's file.
    pub line: usize,
    pub before: String,
    pub after: String,
}

/// The configuration to start, and what was changed.
#[derive(Debug, Clone)]
pub struct RewrittenConfig {
    pub text: String,
    pub rewrites: Vec<Rewrite>,
}

/// What replaces the arguments of a directive.
enum With {
    /// The listen address (first argument) -> 127.0.0.1:port.
    Address,
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
            ("listen", Address),
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
        RealKind::Haproxy => &[("bind", Address), ("pidfile", Run("haproxy.pid"))],
        RealKind::Apache => &[
            ("listen", Address),
            ("<virtualhost", Address),
            ("sslcertificatefile", Pki("gw.chain.pem")),
            ("sslcertificatekeyfile", Pki("gw.key")),
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

/// Rewrite `text` (read from `path`) for `kind`: listen on `port`, the PKI
/// in `pki`, pid and logs in `run_dir`.
pub fn rewrite(
    kind: RealKind,
    path: &Path,
    text: &str,
    port: u16,
    pki: &Path,
    run_dir: &Path,
) -> Result<RewrittenConfig, UserConfigError> {
    let table = directives(kind).ok_or(UserConfigError::Unsupported(kind))?;
    let address = format!("127.0.0.1:{port}");
    let mut out = String::new();
    let mut rewrites = Vec::new();
    let mut listens = false;
    for (i, line) in text.lines().enumerate() {
        let indent_len = line.len() - line.trim_start().len();
        let (indent, body) = line.split_at(indent_len);
        let mut words: Vec<String> = body.split_whitespace().map(str::to_string).collect();
        let Some(first) = words.first().map(|w| w.to_ascii_lowercase()) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        if first.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut changed = false;
        if let Some((_, with)) = table.iter().find(|(d, _)| *d == first) {
            if words.len() >= 2 {
                let arg = &words[1];
                // Keep what closes the directive: nginx's `;`, Apache's `>`.
                let tail: String = arg
                    .chars()
                    .rev()
                    .take_while(|c| *c == ';' || *c == '>')
                    .collect();
                let new = match with {
                    With::Address => {
                        listens = true;
                        address.clone()
                    }
                    With::Pki(f) => pki.join(f).display().to_string(),
                    With::Run(f) => run_dir.join(f).display().to_string(),
                    With::Value(v) => v.to_string(),
                    With::Log(_) if writes_no_file(arg) => arg.trim_end_matches(';').to_string(),
                    With::Log(f) => run_dir.join(f).display().to_string(),
                };
                let new = format!("{new}{tail}");
                if *arg != new {
                    words[1] = new;
                    changed = true;
                }
            }
        }
        if kind == RealKind::Haproxy && first == "bind" {
            for j in 1..words.len().saturating_sub(1) {
                if let Some((_, f)) = HAPROXY_BIND_FILES.iter().find(|(o, _)| *o == words[j]) {
                    let new = pki.join(f).display().to_string();
                    if words[j + 1] != new {
                        words[j + 1] = new;
                        changed = true;
                    }
                }
            }
        }
        let after = if changed {
            format!("{indent}{}", words.join(" "))
        } else {
            line.to_string()
        };
        if changed {
            rewrites.push(Rewrite {
                line: i + 1,
                before: line.trim().to_string(),
                after: after.trim().to_string(),
            });
        }
        out.push_str(&after);
        out.push('\n');
    }
    if !listens {
        return Err(UserConfigError::NoListen {
            path: path.to_path_buf(),
            directive: match kind {
                RealKind::Haproxy => "bind",
                RealKind::Apache => "Listen",
                _ => "listen",
            },
        });
    }
    Ok(RewrittenConfig {
        text: out,
        rewrites,
    })
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
            c.arg("-f").arg(conf).arg("-DFOREGROUND");
            c.env("APACHE_RUN_DIR", run_dir)
                .env("APACHE_LOCK_DIR", run_dir)
                .env("APACHE_PID_FILE", run_dir.join("apache.pid"))
                .env("APACHE_LOG_DIR", run_dir);
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

    #[test]
    fn nginx_keeps_every_directive_and_reports_each_rewrite() {
        let text = "server {\n  listen 443 ssl http2;\n  ssl_certificate /etc/x.crt;\n  ssl_verify_client on;\n  ssl_crl /etc/c.crl;\n}\n";
        let got = rewrite(
            RealKind::Nginx,
            Path::new("n.conf"),
            text,
            9000,
            Path::new("/p"),
            Path::new("/r"),
        )
        .expect("rewritten");
        assert!(
            got.text.contains("  listen 127.0.0.1:9000 ssl http2;"),
            "{}",
            got.text
        );
        assert!(got.text.contains("ssl_certificate /p/gw.chain.pem;"));
        assert!(got.text.contains("ssl_crl /p/root.crl;"));
        assert!(got.text.contains("  ssl_verify_client on;"));
        assert_eq!(got.rewrites.len(), 3);
        assert_eq!(got.rewrites[0].line, 2);
    }

    #[test]
    fn paths_a_program_creates_at_start_land_in_the_run_directory() {
        let nginx = "http {\n  client_body_temp_path /run/gateway;\n  access_log /var/log/nginx/a.log combined;\n  access_log off;\n  server {\n    listen 443 ssl;\n  }\n}\n";
        let got = rewrite(
            RealKind::Nginx,
            Path::new("n.conf"),
            nginx,
            9000,
            Path::new("/p"),
            Path::new("/r"),
        )
        .expect("rewritten");
        assert!(
            got.text
                .contains("client_body_temp_path /r/client_body_temp;"),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("access_log /r/access.log combined;"),
            "{}",
            got.text
        );
        assert!(got.text.contains("access_log off;"), "{}", got.text);
        let apache =
            "ServerRoot \"/run/gateway\"\nCustomLog ${APACHE_LOG_DIR}/x.log combined\nListen 443\n";
        let got = rewrite(
            RealKind::Apache,
            Path::new("a.conf"),
            apache,
            9000,
            Path::new("/p"),
            Path::new("/r"),
        )
        .expect("rewritten");
        assert!(
            got.text.contains("ServerRoot /r/\n") || got.text.contains("ServerRoot /r\n"),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("CustomLog /r/access.log combined"),
            "{}",
            got.text
        );
    }

    #[test]
    fn haproxy_bind_options_point_at_the_pki() {
        let text = "frontend f\n  bind :443 ssl crt /x.pem ca-file /ca.pem verify required\n";
        let got = rewrite(
            RealKind::Haproxy,
            Path::new("h.cfg"),
            text,
            9000,
            Path::new("/p"),
            Path::new("/r"),
        )
        .expect("rewritten");
        assert!(
            got.text.contains(
                "bind 127.0.0.1:9000 ssl crt /p/gw.pem ca-file /p/root.crt verify required"
            ),
            "{}",
            got.text
        );
    }

    #[test]
    fn a_config_that_listens_nowhere_is_refused() {
        let err = rewrite(
            RealKind::Nginx,
            Path::new("n.conf"),
            "events {}\n",
            9000,
            Path::new("/p"),
            Path::new("/r"),
        )
        .expect_err("no listen");
        assert!(err.to_string().contains("no listen line"), "{err}");
    }
}
