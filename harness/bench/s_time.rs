//! `bench --compare s_time`: `openssl s_time` (sequential full handshakes,
//! OpenSSL's own load tool) against the same target for the same time, so
//! the harness's load can be stated as a ratio to it.

use super::BenchError;
use crate::observation::TlsVersion;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What `openssl s_time -new` managed against one target.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct STimeStats {
    /// The trust-store size of the point it ran against.
    pub trust_anchors: usize,
    pub connections: u64,
    /// Wall time of the whole `s_time` process.
    pub wall_s: f64,
    pub handshakes_per_s: f64,
    /// s_time's own CPU (user + system) per handshake, from its rusage.
    #[serde(default)]
    pub cpu_us_per_handshake: Option<f64>,
}

/// `N connections in ...` from s_time's output: the count of the last
/// such line (the `-new` pass).
fn connections(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .filter(|l| l.contains(" connections in "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .next_back()
}

/// Run `openssl s_time -new` against `addr` for `duration`, presenting
/// `cert_pem` (the chain) with `key_pem`.
pub async fn s_time(
    addr: SocketAddr,
    version: TlsVersion,
    cert_pem: &str,
    key_pem: &str,
    duration: Duration,
    trust_anchors: usize,
) -> Result<STimeStats, BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::STimeIo)?;
    let cert = dir.path().join("client.crt");
    let key = dir.path().join("client.key");
    std::fs::write(&cert, cert_pem).map_err(BenchError::STimeIo)?;
    std::fs::write(&key, key_pem).map_err(BenchError::STimeIo)?;
    let secs = duration.as_secs().max(1);
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let stdout_file = std::fs::File::create(&out_path).map_err(BenchError::STimeIo)?;
    let stderr_file = std::fs::File::create(&err_path).map_err(BenchError::STimeIo)?;
    let mut cmd = std::process::Command::new("openssl");
    cmd.arg("s_time")
        .arg("-connect")
        .arg(addr.to_string())
        .arg("-new")
        .arg("-time")
        .arg(secs.to_string())
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .arg(match version {
            TlsVersion::Tls12 => "-tls1_2",
            TlsVersion::Tls13 => "-tls1_3",
        })
        .stdin(std::process::Stdio::null())
        .stdout(stdout_file)
        .stderr(stderr_file);
    let started = Instant::now();
    let children0 = children_cpu_seconds();
    // Its own process group: stopped with it whatever happens here.
    let mut child = crate::real::process::ProcessGroup::spawn(&mut cmd, Duration::ZERO)
        .map_err(BenchError::STimeIo)?;
    // It stops by itself after `-time`; polled so the runtime stays free,
    // killed if it does not.
    let deadline = started + duration + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(BenchError::STimeIo)? {
            break status;
        }
        if Instant::now() > deadline {
            child.kill();
            return Err(BenchError::STime(
                "did not finish in its time plus 30 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wall_s = started.elapsed().as_secs_f64();
    // Reaped above: its rusage is now in this process's children's (the
    // only child that ended meanwhile: a real gateway runs to the point's
    // end).
    let cpu = children_cpu_seconds() - children0;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let n = connections(&stdout).ok_or_else(|| {
        BenchError::STime(format!(
            "no `connections in` line ({status}): {} {}",
            stdout.trim(),
            stderr.trim()
        ))
    })?;
    Ok(STimeStats {
        trust_anchors,
        connections: n,
        wall_s,
        handshakes_per_s: n as f64 / wall_s,
        cpu_us_per_handshake: (n > 0 && cpu > 0.0).then(|| cpu * 1e6 / n as f64),
    })
}

/// CPU (user + system, seconds) of this process's reaped children.
fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_comes_from_the_new_pass() {
        let out = "Collecting connection statistics for 5 seconds\n\
                   tttt\n\n1234 connections in 3.10s; 398.06 connections/user sec, bytes read 0\n\
                   1234 connections in 6 real seconds, 0 bytes read per connection\n";
        assert_eq!(connections(out), Some(1234));
        assert_eq!(connections("ERROR\n"), None);
    }
}
