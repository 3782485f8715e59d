//! Targets that misbehave: `probe`, `run --target` and `bench --target` must
//! each end within their timeout with a named cause and the right exit code,
//! whatever the target does. Every target listens on 127.0.0.1 in this test
//! (or is a real `openssl s_server` child), and is stopped at the end.
//!
//! | target | probe | run / bench --target |
//! |---|---|---|
//! | accepts and stays silent | 2 | 2 |
//! | drips one byte per second | 2 | 2 |
//! | answers garbage | 2 | 2 |
//! | resets the connection | 2 | 2 |
//! | speaks only TLS 1.0 (`openssl s_server -tls1`) | 2 | 2 |
//! | sends a CA list over 64 KiB (TLS 1.2) | 1 | 2 |
//! | refuses the load's client certificate (bench only) | | 2 |
//!
//! The CA list over 64 KiB makes the certificate unsendable for rustls and
//! Go clients (probe: 1, "would not be sent"); `run`/`bench --target` cannot
//! judge anything through it (2).

mod support;

use mtls_harness::probe::wire;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use support::target::{s_server, serve, PkiDir};
use support::{run_bin, Child, Ran};

/// The per-stage timeout every command below is given.
const TIMEOUT_SECS: u64 = 2;

/// A misbehaving server on 127.0.0.1: one thread per connection running
/// `behave`, all stopped (and the accept loop joined) on drop.
struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

type Behaviour = Arc<dyn Fn(TcpStream, &AtomicBool) + Send + Sync>;

impl Hostile {
    fn start(behave: Behaviour) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let accept = std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).expect("blocking");
                        let (behave, stop) = (behave.clone(), stopped.clone());
                        conns.push(std::thread::spawn(move || behave(s, &stop)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            for c in conns {
                let _ = c.join();
            }
        });
        Hostile {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

/// Sleep `d` in small steps, returning early once `stop` is set.
fn nap(d: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(20);
    let mut slept = Duration::ZERO;
    while slept < d && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(step);
        slept += step;
    }
}

/// Read what the client sends first (its ClientHello), up to 200 ms.
fn read_hello(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    buf.truncate(n);
    buf
}

fn silent() -> Behaviour {
    Arc::new(|s, stop| {
        let _keep = s;
        nap(Duration::from_secs(600), stop);
    })
}

fn drip() -> Behaviour {
    Arc::new(|mut s, stop| {
        read_hello(&mut s);
        // A ServerHello record that would be 64 bytes long, one byte a second.
        let mut bytes = vec![
            0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00, 0x00, 0x3c, 0x03, 0x03,
        ];
        bytes.resize(5 + 64, 0x42);
        for b in bytes {
            if stop.load(Ordering::SeqCst) || s.write_all(&[b]).is_err() {
                return;
            }
            nap(Duration::from_secs(1), stop);
        }
        nap(Duration::from_secs(600), stop);
    })
}

fn garbage() -> Behaviour {
    Arc::new(|mut s, stop| {
        read_hello(&mut s);
        let mut x: u32 = 0x9e37_79b9;
        let noise: Vec<u8> = (0..512)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if i == 0 {
                    0xa5
                } else {
                    x as u8
                }
            })
            .collect();
        let _ = s.write_all(&noise);
        nap(Duration::from_millis(500), stop);
    })
}

fn reset() -> Behaviour {
    Arc::new(|mut s, _| {
        read_hello(&mut s);
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a socket we own, with a correctly sized value.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &linger as *const libc::linger as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        drop(s);
    })
}

/// Number and CN length of the filler names: about 74 KB of list.
const OVERSIZED_NAMES: usize = 1300;

/// A proxy in front of a real TLS 1.2 server that swaps the CertificateRequest
/// in the server's plaintext flight for one listing `OVERSIZED_NAMES` CAs (its
/// u16 length wrapped, as a server that does not check writes it).
fn oversized_ca_list(upstream: SocketAddr) -> Behaviour {
    let names: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..OVERSIZED_NAMES)
            .map(|i| mtls_harness::tls::ca_names::filler_name(i, 40).0)
            .collect(),
    );
    Arc::new(move |mut client, stop| {
        let Ok(mut server) = TcpStream::connect(upstream) else {
            return;
        };
        let (mut c2, mut s2) = (
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
        );
        let forward = std::thread::spawn(move || {
            let _ = std::io::copy(&mut c2, &mut s2);
            let _ = s2.shutdown(Shutdown::Write);
        });
        server
            .set_read_timeout(Some(Duration::from_millis(100)))
            .ok();
        let mut flight = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        while !stop.load(Ordering::SeqCst) {
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => flight.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
            if let Ok((messages, true)) = wire::handshake_messages(&flight) {
                // A flight without a CertificateRequest (an alert to a TLS
                // 1.3 hello) goes through as it came.
                let out = if messages.iter().any(|(t, _)| *t == 13) {
                    rewrite(&messages, &names)
                } else {
                    flight.clone()
                };
                let _ = client.write_all(&out);
                break;
            }
        }
        nap(Duration::from_secs(2), stop);
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        let _ = forward.join();
    })
}

/// The flight with each CertificateRequest's CA list replaced by `names`.
fn rewrite(messages: &[wire::HandshakeMessage], names: &[Vec<u8>]) -> Vec<u8> {
    let mut joined = Vec::new();
    for (typ, body) in messages {
        let body = if *typ == 13 {
            let prefix_len = 1 + body[0] as usize;
            let sig_len = u16::from_be_bytes([body[prefix_len], body[prefix_len + 1]]) as usize;
            let mut new = body[..prefix_len + 2 + sig_len].to_vec();
            let list: Vec<u8> = names
                .iter()
                .flat_map(|n| {
                    let mut e = (n.len() as u16).to_be_bytes().to_vec();
                    e.extend_from_slice(n);
                    e
                })
                .collect();
            new.extend_from_slice(&(list.len() as u16).to_be_bytes());
            new.extend_from_slice(&list);
            new
        } else {
            body.clone()
        };
        joined.push(*typ);
        joined.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        joined.extend_from_slice(&body);
    }
    let mut out = Vec::new();
    for chunk in joined.chunks(16_384) {
        out.extend_from_slice(&[22, 3, 3]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// What keeps a target alive: dropping it stops the target.
#[allow(dead_code)] // held only for its Drop
enum Running {
    InTest(Hostile),
    Child(Child),
    Proxied(Hostile, Child),
}

struct Target {
    name: &'static str,
    /// Words the probe's conclusion (and the run/bench error) must contain.
    cause: &'static [&'static str],
    probe_exit: i32,
}

const T: u64 = TIMEOUT_SECS;

fn commands(url: &str, pki: &PkiDir) -> Vec<(&'static str, Vec<String>)> {
    let t = T.to_string();
    let dir = pki.dir().display().to_string();
    vec![
        (
            "probe",
            vec!["probe".into(), url.into(), "--timeout".into(), t.clone()],
        ),
        (
            "run --target",
            vec![
                "run".into(),
                "--target".into(),
                url.into(),
                "--pki".into(),
                dir.clone(),
                "--profile".into(),
                "strict".into(),
                "--timeout".into(),
                t.clone(),
            ],
        ),
        (
            "bench --target",
            vec![
                "bench".into(),
                "--target".into(),
                url.into(),
                "--pki".into(),
                dir,
                "--timeout".into(),
                t,
                "--duration".into(),
                "1s".into(),
            ],
        ),
    ]
}

/// `serve` with `gw`, trusting `root`, as the strict profile, on `tls` only.
fn serve_strict(pki: &PkiDir, tls: &str) -> (Child, String) {
    let args = ["--cert", "gw", "--trust", "root", "--profile", "strict"];
    serve(pki, &[&args[..], &["--tls", tls]].concat())
}

fn start(name: &str, pki: &PkiDir) -> (Running, String) {
    match name {
        "silent" => {
            let h = Hostile::start(silent());
            let url = h.url();
            (Running::InTest(h), url)
        }
        "drip" => {
            let h = Hostile::start(drip());
            let url = h.url();
            (Running::InTest(h), url)
        }
        "garbage" => {
            let h = Hostile::start(garbage());
            let url = h.url();
            (Running::InTest(h), url)
        }
        "reset" => {
            let h = Hostile::start(reset());
            let url = h.url();
            (Running::InTest(h), url)
        }
        "tls1.0 only" => {
            let (c, url) = s_server(pki, &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
            (Running::Child(c), url)
        }
        "ca list over 64 KiB" => {
            let (c, url) = serve_strict(pki, "1.2");
            let upstream: SocketAddr = url
                .trim_start_matches("https://")
                .parse()
                .expect("serve's address");
            let h = Hostile::start(oversized_ca_list(upstream));
            let url = h.url();
            (Running::Proxied(h, c), url)
        }
        other => panic!("no target {other}"),
    }
}

/// The targets and what each must lead to.
const TARGETS: &[Target] = &[
    Target {
        name: "silent",
        cause: &["did not finish within 2 s"],
        probe_exit: 2,
    },
    Target {
        name: "drip",
        cause: &["did not finish within 2 s"],
        probe_exit: 2,
    },
    Target {
        name: "garbage",
        cause: &["not a TLS 1.2/1.3 server"],
        probe_exit: 2,
    },
    Target {
        name: "reset",
        cause: &["ended the connection during the handshake", "reset"],
        probe_exit: 2,
    },
    Target {
        name: "tls1.0 only",
        cause: &["does not speak the offered TLS version"],
        probe_exit: 2,
    },
    Target {
        name: "ca list over 64 KiB",
        cause: &["over 64 KiB"],
        probe_exit: 1,
    },
];

fn check_one(target: &Target, pki: &PkiDir, wrong: &mut Vec<String>) {
    let (_running, url) = start(target.name, pki);
    for (command, args) in commands(&url, pki) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran: Ran = run_bin(&args, Duration::from_secs(T * 12 + 30));
        let want = if command == "probe" {
            target.probe_exit
        } else {
            2
        };
        let said = if command == "probe" {
            ran.stdout
                .lines()
                .find(|l| l.contains("conclusion"))
                .unwrap_or("")
                .trim()
                .to_string()
        } else {
            ran.stderr.trim().to_string()
        };
        eprintln!(
            "{:<20} {command:<15} exit {} after {:.2} s: {said}",
            target.name,
            ran.code,
            ran.elapsed.as_secs_f64()
        );
        let named = target.cause.iter().all(|w| said.contains(w));
        if ran.code != want || !named {
            wrong.push(format!(
                "{} / {command}: exit {} (want {want}), cause must contain {:?}: {said}\n{}{}",
                target.name, ran.code, target.cause, ran.stdout, ran.stderr
            ));
        }
    }
}

#[test]
fn every_hostile_target_ends_with_a_named_cause_and_the_right_exit_code() {
    // One target is a real `openssl s_server -tls1`.
    if !support::require("openssl") {
        return;
    }
    let pki = PkiDir::generate();
    let mut wrong = Vec::new();
    for target in TARGETS {
        check_one(target, &pki, &mut wrong);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn the_probe_reads_an_oversized_ca_list_from_the_raw_tls_1_2_flight() {
    let pki = PkiDir::generate();
    let (_running, url) = start("ca list over 64 KiB", &pki);
    let ran = run_bin(
        &["probe", &url, "--timeout", "2", "--format", "json"],
        Duration::from_secs(60),
    );
    assert_eq!(ran.code, 1, "{ran:?}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("json");
    let v12 = &report["versions"][0];
    assert_eq!(v12["tls"], "1.2", "{v12}");
    assert_eq!(
        v12["raw_ca_names"]["count"].as_u64(),
        Some(OVERSIZED_NAMES as u64),
        "{v12}"
    );
    let bytes = v12["raw_ca_names"]["encoded_bytes"].as_u64().unwrap();
    assert!(bytes > 0xffff, "{bytes}");
    assert_eq!(
        v12["raw_ca_names"]["declared_bytes"].as_u64(),
        Some(bytes % 0x10000)
    );
    assert!(
        v12["limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("wrapped")),
        "{v12}"
    );
}

/// A target that refuses the load's client certificate: on TLS 1.3 the
/// client's side of each handshake completes before the server rejects the
/// certificate, so a load would count refused handshakes as done. `bench
/// --target` names the refusal (the certificate, the version, the server's
/// alert) and exits 2 before any load, on both versions; with a certificate
/// the target trusts it measures (0).
#[test]
fn bench_target_names_a_refused_client_certificate_before_any_load() {
    let pki = PkiDir::generate();
    for tls in ["1.2", "1.3"] {
        let (_served, url) = serve_strict(&pki, tls);
        let dir = pki.dir().display().to_string();
        let bench = |client: &str| {
            run_bin(
                &[
                    "bench",
                    "--target",
                    &url,
                    "--pki",
                    &dir,
                    "--client",
                    client,
                    "--tls",
                    tls,
                    "--duration",
                    "300ms",
                ],
                Duration::from_secs(60),
            )
        };
        let refused = bench("mallory");
        assert_eq!(refused.code, 2, "TLS {tls}: {refused:?}");
        assert!(
            refused.stderr.contains(&format!(
                "refuses client certificate `mallory` on TLS {tls}: alert unknown_ca from the server"
            )),
            "TLS {tls}: {refused:?}"
        );
        assert!(refused.stdout.is_empty(), "no table: {refused:?}");
        let trusted = bench("alice");
        assert_eq!(trusted.code, 0, "TLS {tls}: {trusted:?}");
        assert!(trusted.stdout.contains("handshakes/s"), "{trusted:?}");
    }
}
