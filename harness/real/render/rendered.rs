//! A rendered real gateway: its files and command line, written into its
//! prefix, and the `start.sh` that runs it by hand.

use crate::observation::TlsVersion;
use crate::real::{RealError, RealKind};
use std::path::{Path, PathBuf};

/// The files and command line of one real gateway, ready to be written into
/// `prefix` and started.
#[derive(Debug, Clone)]
pub struct RenderedGateway {
    pub kind: RealKind,
    /// Directory every path in the config points into.
    pub prefix: PathBuf,
    pub port: u16,
    /// The descriptor the program finds its listening socket at, when the
    /// harness hands it one (it binds `port` itself otherwise).
    pub inherited_fd: Option<i32>,
    /// Environment variables the program is started with (nginx: the
    /// inherited socket; Caddy: its data and config directories inside the
    /// prefix).
    pub env: Vec<(String, String)>,
    /// The one TLS version enabled.
    pub version: TlsVersion,
    /// (path relative to `prefix`, contents, private)
    pub files: Vec<(String, String, bool)>,
    /// Files that are not text (a Java keystore): (path relative to
    /// `prefix`, contents).
    pub binary_files: Vec<(String, Vec<u8>)>,
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
    /// mod_ssl checks the certificate and key (and may then exit), nor for
    /// a program whose socket the harness bound.
    pub ready_marker: Option<(String, String)>,
    /// Ready only once a TLS handshake gets an answer: Tomcat accepts TCP
    /// about a second before its connector answers TLS.
    pub ready_by_handshake: bool,
    /// A (log file, text) that means the configuration was refused although
    /// the process keeps running (Tomcat logs SEVERE and never opens the
    /// port): a setup error, at once.
    pub failure_marker: Option<(String, String)>,
    /// Arguments after the program that check the config without serving
    /// (`nginx -t`), if it has a config file.
    pub check_args: Option<Vec<String>>,
    /// The CA names the server is configured to send (subjects, in order).
    pub ca_names: Vec<String>,
    /// The names list was cut to fit a byte budget.
    pub ca_names_truncated: bool,
}

/// The file [`RenderedGateway::write_start_script`] writes.
pub const START_SCRIPT: &str = "start.sh";

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
        for (rel, contents) in &self.binary_files {
            let p = self.path(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&p, contents).map_err(io(&p))?;
        }
        Ok(())
    }

    /// A shell script that runs the gateway in the foreground from its
    /// prefix, as the harness does; `scenario` names what it was rendered
    /// from. The program is the installed one, or its bare name.
    pub fn start_script(&self, scenario: &str) -> String {
        let program = self
            .kind
            .find_program()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| self.kind.program().to_string());
        // Paths and arguments hold no NUL byte; quoting cannot fail.
        let quote =
            |a: &str| shlex::try_quote(a).map_or_else(|_| a.to_string(), |q| q.into_owned());
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        let command = std::iter::once(program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ");
        let command = if env.is_empty() {
            command
        } else {
            format!("env {} {command}", env.join(" "))
        };
        let prefix = self.prefix.display().to_string();
        format!(
            "#!/bin/sh\n# {} for scenario {scenario} (TLS {}), written by mtls-harness gateway-config.\n# Runs in the foreground; logs go under {prefix}.\ncd {} && exec {command}\n",
            self.kind,
            self.version,
            quote(&prefix),
        )
    }

    /// Write [`Self::start_script`] to `start.sh` in the prefix, executable;
    /// returns its path.
    pub fn write_start_script(&self, scenario: &str) -> Result<PathBuf, RealError> {
        let path = self.path(START_SCRIPT);
        let io = |source| RealError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&path, self.start_script(scenario)).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::setup;
    use crate::real::{render, RealKind};

    #[test]
    fn the_start_script_runs_the_rendered_command_from_the_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (pki, server) = setup("");
        let r = render(
            RealKind::Nginx,
            &pki,
            &server,
            TlsVersion::Tls12,
            8443,
            dir.path(),
        )
        .unwrap();
        let prefix = dir.path().display().to_string();
        let quoted = shlex::try_quote(&prefix).unwrap().into_owned();
        let script = r.start_script("render::demo");
        assert!(script.starts_with("#!/bin/sh\n# real:nginx for scenario render::demo (TLS 1.2),"));
        let last = script.lines().last().unwrap();
        assert!(last.starts_with(&format!("cd {quoted} && exec ")), "{last}");
        assert!(
            last.ends_with(&format!(
                "nginx -p {} -e {} -c {} -g 'daemon off;'",
                shlex::try_quote(&format!("{prefix}/")).unwrap(),
                shlex::try_quote(&format!("{prefix}/logs/error.log")).unwrap(),
                shlex::try_quote(&format!("{prefix}/nginx.conf")).unwrap(),
            )),
            "{last}"
        );
        r.write().unwrap();
        let path = r.write_start_script("render::demo").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), script);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }
}
