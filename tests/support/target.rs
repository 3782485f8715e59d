//! The shared PKI fixture of the CLI tests (written by `mtls-harness pki
//! generate`) and the targets they point the binary at: a real `openssl
//! s_server`, `mtls-harness serve`, and `probe` run with a hard wall limit.

use super::{command, run_bin, Child, Ran};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The PKI every CLI test uses: `root` signs the server `gw` and the
/// client `alice`; `other-root` signs `mallory`; `carol` is expired.
pub const PKI: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "other-root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "root"
[[cert]]
name = "mallory"
role = "client"
issuer = "other-root"
[[cert]]
name = "carol"
role = "client"
issuer = "root"
validity = "expired"
"#;

/// `PKI` written by `mtls-harness pki generate` into a temporary directory
/// (removed on drop), plus `both-roots.pem`.
pub struct PkiDir {
    pub tmp: tempfile::TempDir,
}

impl PkiDir {
    pub fn generate() -> PkiDir {
        let tmp = tempfile::tempdir().expect("temp dir");
        let spec = tmp.path().join("pki.toml");
        std::fs::write(&spec, PKI).expect("spec written");
        let out = command()
            .args(["pki", "generate"])
            .arg(&spec)
            .arg("--out")
            .arg(tmp.path().join("pki"))
            .output()
            .expect("pki generate runs");
        assert!(out.status.success(), "{out:?}");
        let dir = PkiDir { tmp };
        let both = [dir.file("root.crt"), dir.file("other-root.crt")]
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("root pem"))
            .collect::<String>();
        std::fs::write(dir.file("both-roots.pem"), both).expect("bundle written");
        dir
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("pki")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }
}

fn port_of(line: &str) -> Option<u16> {
    line.rsplit(':').next()?.trim().parse().ok()
}

/// A real `openssl s_server -www` on 127.0.0.1 with `gw`'s certificate and
/// `args`; its URL. The test checks `support::require("openssl")` first.
pub fn s_server(pki: &PkiDir, args: &[&str]) -> (Child, String) {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(pki.dir())
        .args([
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-cert",
            "gw.crt",
            "-key",
            "gw.key",
            "-www",
        ])
        .args(args);
    let mut child = Child::spawn(cmd);
    let port = child.wait_line(Duration::from_secs(10), |l| {
        l.starts_with("ACCEPT").then(|| port_of(l)).flatten()
    });
    (child, format!("https://127.0.0.1:{port}"))
}

/// `mtls-harness serve` with `pki` and `args`; its URL.
pub fn serve(pki: &PkiDir, args: &[&str]) -> (Child, String) {
    let mut cmd = command();
    cmd.args(["serve", "--pki"]).arg(pki.dir()).args(args);
    let mut child = Child::spawn(cmd);
    let url = child.wait_line(Duration::from_secs(10), |l| {
        l.strip_prefix("listening on ").map(str::to_string)
    });
    (child, url)
}

/// `mtls-harness probe URL [--cert C --key K] --timeout T`.
pub fn probe(url: &str, cert: Option<(&Path, &Path)>, timeout_secs: u64) -> Ran {
    let t = timeout_secs.to_string();
    let mut args = vec!["probe", url, "--timeout", &t];
    let (c, k);
    if let Some((cert, key)) = cert {
        c = cert.display().to_string();
        k = key.display().to_string();
        args.extend(["--cert", &c, "--key", &k]);
    }
    run_bin(&args, Duration::from_secs(timeout_secs * 12 + 30))
}
