//! A Debian Apache virtual-host fragment (`sites-available/app.conf`) runs
//! inside the distribution's own frame, as `a2ensite` would run it:
//! `apache2.conf` (from `--config-root`, else `/etc/apache2`) with the
//! fragment in place of `sites-enabled/`, the modules the fragment needs
//! enabled as `a2enmod` would (their `mods-available/*.load` and `*.conf`),
//! and the variables of the frame's `envvars`.

use std::path::{Path, PathBuf};

/// The distribution's configuration directory.
const DEBIAN_ROOT: &str = "/etc/apache2";

/// A file that only holds virtual hosts: no `Listen`, no `LoadModule`, no
/// `ServerRoot` of its own, and at least one `<VirtualHost>`.
pub(super) fn is_fragment(text: &str) -> bool {
    let mut vhost = false;
    for line in text.lines() {
        let first = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match first.as_str() {
            "listen" | "loadmodule" | "serverroot" => return false,
            "<virtualhost" => vhost = true,
            _ => {}
        }
    }
    vhost
}

/// The frame's `apache2.conf`: under `config_root`, else the machine's.
pub(super) fn find(config_root: &Path) -> Result<PathBuf, Vec<PathBuf>> {
    let candidates = [
        config_root.join("apache2.conf"),
        Path::new(DEBIAN_ROOT).join("apache2.conf"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| candidates.to_vec())
}

/// Whether an include line of the frame is its `sites-enabled` one.
pub(super) fn is_sites_include(arg: &str) -> bool {
    arg.trim_matches('"').contains("sites-enabled")
}

/// The modules a fragment's directives need (the names `a2enmod` takes),
/// each with the directive that needs it.
pub(super) fn needed_modules(text: &str) -> Vec<(&'static str, String)> {
    const TABLE: &[(&str, &[&str])] = &[
        ("sslengine", &["socache_shmcb", "ssl"]),
        ("requestheader", &["headers"]),
        ("header", &["headers"]),
        ("proxypass", &["proxy", "proxy_http"]),
        ("proxypassmatch", &["proxy", "proxy_http"]),
        ("rewriteengine", &["rewrite"]),
        ("protocols", &["http2"]),
        ("balancermember", &["proxy", "proxy_http", "proxy_balancer"]),
    ];
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for line in text.lines() {
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        let first = first.to_ascii_lowercase();
        if first == "protocols" && !line.contains("h2") {
            continue;
        }
        if let Some((_, modules)) = TABLE.iter().find(|(d, _)| *d == first) {
            for m in *modules {
                if !out.iter().any(|(n, _)| n == m) {
                    out.push((m, line.trim().to_string()));
                }
            }
        }
    }
    out
}

/// The text that enables `modules` as `a2enmod` would, each guarded so a
/// module the frame's `mods-enabled` already loads is not loaded twice:
/// the `mods-available/<name>.load` lines and, where there is one, an
/// `Include` of `mods-available/<name>.conf`.
pub(super) fn enable_text(config_root: &Path, modules: &[(&'static str, String)]) -> String {
    let available = |name: &str, ext: &str| {
        [config_root, Path::new(DEBIAN_ROOT)]
            .iter()
            .map(|r| r.join("mods-available").join(format!("{name}.{ext}")))
            .find(|p| p.is_file())
    };
    let mut out =
        String::from("# mtls-harness: the modules the fragment needs, as a2enmod enables them\n");
    for (name, why) in modules {
        out.push_str(&format!("# {name}: for `{why}`\n"));
        let load = available(name, "load")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_else(|| {
                format!("LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so\n")
            });
        for line in load.lines().filter(|l| {
            l.trim_start()
                .to_ascii_lowercase()
                .starts_with("loadmodule")
        }) {
            let module = line.split_whitespace().nth(1).unwrap_or_default();
            out.push_str(&format!(
                "<IfModule !{module}>\n  {}\n</IfModule>\n",
                line.trim()
            ));
        }
        if let Some(conf) = available(name, "conf") {
            out.push_str(&format!("Include \"{}\"\n", conf.display()));
        }
    }
    out
}

/// The variables the frame's `envvars` exports with a plain value, except
/// the directories (those are the run's own).
pub(super) fn envvars(config_root: &Path) -> Vec<(String, String)> {
    const RUN_OWN: &[&str] = &[
        "APACHE_RUN_DIR",
        "APACHE_LOCK_DIR",
        "APACHE_PID_FILE",
        "APACHE_LOG_DIR",
    ];
    let Some(text) = [config_root, Path::new(DEBIAN_ROOT)]
        .iter()
        .map(|r| r.join("envvars"))
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches(|c| c == '"' || c == '\'')))
        .filter(|(k, v)| {
            !RUN_OWN.contains(k)
                && !v.contains('$')
                && !v.contains('`')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vhost_file_without_listen_is_a_fragment() {
        assert!(is_fragment(
            "<IfModule mod_ssl.c>\n<VirtualHost _default_:443>\nSSLEngine on\n</VirtualHost>\n</IfModule>\n"
        ));
        assert!(!is_fragment(
            "Listen 443 https\n<VirtualHost *:443>\n</VirtualHost>\n"
        ));
        assert!(!is_fragment(
            "LoadModule ssl_module x.so\n<VirtualHost *:443>\n"
        ));
        assert!(!is_fragment("ServerName a\n"));
    }

    #[test]
    fn modules_follow_the_directives_and_are_guarded() {
        let needed = needed_modules(
            "SSLEngine on\nRequestHeader set X a\nHeader always set Y b\nProxyPass / http://a/\nProtocols h2 http/1.1\n",
        );
        let names: Vec<&str> = needed.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "socache_shmcb",
                "ssl",
                "headers",
                "proxy",
                "proxy_http",
                "http2"
            ]
        );
        let tmp = tempfile::tempdir().unwrap();
        let avail = tmp.path().join("mods-available");
        std::fs::create_dir_all(&avail).unwrap();
        std::fs::write(
            avail.join("ssl.load"),
            "# Depends: setenvif mime socache_shmcb\nLoadModule ssl_module /m/mod_ssl.so\n",
        )
        .unwrap();
        std::fs::write(avail.join("ssl.conf"), "SSLRandomSeed startup builtin\n").unwrap();
        let text = enable_text(tmp.path(), &needed[1..2]);
        assert!(
            text.contains(
                "<IfModule !ssl_module>\n  LoadModule ssl_module /m/mod_ssl.so\n</IfModule>"
            ),
            "{text}"
        );
        assert!(text.contains(&format!("Include \"{}\"", avail.join("ssl.conf").display())));
    }

    #[test]
    fn envvars_keep_plain_values_and_leave_directories_to_the_run() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("envvars"),
            "unset HOME\nexport APACHE_RUN_USER=www-data\nexport APACHE_LOG_DIR=/var/log/apache2$SUFFIX\nexport APACHE_PID_FILE=/run/apache2/apache2.pid\nexport LANG=C\n",
        )
        .unwrap();
        assert_eq!(
            envvars(tmp.path()),
            vec![
                ("APACHE_RUN_USER".to_string(), "www-data".to_string()),
                ("LANG".to_string(), "C".to_string())
            ]
        );
    }
}
