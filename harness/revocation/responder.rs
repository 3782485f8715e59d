//! The harness's revocation responder: one HTTP server on 127.0.0.1 that is
//! both the PKI's OCSP responder (`POST /ocsp`, `GET /ocsp/<base64>`) and
//! its CRL distribution point (`GET /crl/<issuer>.crl`), answering from
//! the PKI's own state, in one of the [`ResponderState`]s.
//!
//! It runs on its own threads with blocking sockets, so a gateway may query
//! it from inside a handshake callback whatever runtime drives the gateway.
//! Dropping it stops every thread (joined) and closes every socket.

use super::der::{self, Answer, CertId, CertStatus, HashAlg};
use super::http;
use super::RevocationError;
use crate::knobs::ResponderState;
use crate::pki::{Defect, IssuedCert, Pki};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use time::OffsetDateTime;

/// How long the responder waits for a request's bytes.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the accept loop and a hanging connection look at the stop flag.
const POLL: Duration = Duration::from_millis(10);

/// One CA of the PKI as the responder knows it.
struct Authority {
    name: String,
    der: Vec<u8>,
    key: rcgen::KeyPair,
    subject: Vec<u8>,
    key_bits: Vec<u8>,
    crl: Vec<u8>,
    stale_crl: Vec<u8>,
}

/// One certificate: who issued it, its serial, and what the responder says.
struct Issued {
    issuer: String,
    serial: Vec<u8>,
    revoked: bool,
    unknown: bool,
}

struct State {
    mode: ResponderState,
    authorities: Vec<Authority>,
    issued: Vec<Issued>,
    requests: AtomicUsize,
    stop: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// A running responder. See the module docs.
pub struct Responder {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
    /// `down`: a socket bound to the port and never listening, so a
    /// connection is refused and no one else can take the port.
    _reserved: Option<OwnedFd>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("addr", &self.addr)
            .field("mode", &self.state.mode)
            .finish()
    }
}

impl Responder {
    /// Start a responder for `pki` in `mode` on 127.0.0.1 (a free port).
    /// `unknown`: certificates the OCSP responder has no record of.
    pub fn start(
        pki: &Pki,
        mode: ResponderState,
        unknown: &[String],
    ) -> Result<Self, RevocationError> {
        let now = OffsetDateTime::now_utc();
        let mut authorities = Vec::new();
        let mut issued = Vec::new();
        for c in pki.certs() {
            let serial = raw_serial(&c.der).ok_or_else(|| RevocationError::Cert(c.name.clone()))?;
            if let Some(issuer) = &c.issuer {
                issued.push(Issued {
                    issuer: issuer.clone(),
                    serial,
                    revoked: c.has(Defect::Revoked),
                    unknown: unknown.contains(&c.name),
                });
            }
            if let Some(crl) = pki.crl(&c.name) {
                authorities.push(authority(pki, c, crl.to_vec(), now)?);
            }
        }
        let state = Arc::new(State {
            mode,
            authorities,
            issued,
            requests: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            workers: Mutex::new(Vec::new()),
        });
        if mode == ResponderState::Down {
            let (fd, addr) = reserve_port()?;
            return Ok(Responder {
                addr,
                state,
                accept: None,
                _reserved: Some(fd),
            });
        }
        let listener = TcpListener::bind("127.0.0.1:0").map_err(RevocationError::Bind)?;
        let addr = listener.local_addr().map_err(RevocationError::Bind)?;
        listener
            .set_nonblocking(true)
            .map_err(RevocationError::Bind)?;
        let loop_state = state.clone();
        let accept = std::thread::Builder::new()
            .name("revocation-responder".into())
            .spawn(move || accept_loop(listener, loop_state))
            .map_err(RevocationError::Bind)?;
        Ok(Responder {
            addr,
            state,
            accept: Some(accept),
            _reserved: None,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn mode(&self) -> ResponderState {
        self.state.mode
    }

    /// The OCSP responder's URL.
    pub fn ocsp_url(&self) -> String {
        format!("http://{}/ocsp", self.addr)
    }

    /// The base of the CRL distribution points: `<base><issuer>.crl`, see
    /// [`super::crl_path`].
    pub fn crl_base_url(&self) -> String {
        format!("http://{}/crl/", self.addr)
    }

    /// Requests answered (or held, when hanging) so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Stop and join every thread.
    pub fn stop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let workers: Vec<_> = self
            .state
            .workers
            .lock()
            .expect("workers")
            .drain(..)
            .collect();
        for w in workers {
            let _ = w.join();
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop();
    }
}

fn authority(
    pki: &Pki,
    c: &IssuedCert,
    crl: Vec<u8>,
    now: OffsetDateTime,
) -> Result<Authority, RevocationError> {
    let bad = || RevocationError::Cert(c.name.clone());
    let (_, parsed) = x509_parser::parse_x509_certificate(&c.der).map_err(|_| bad())?;
    let subject = parsed.tbs_certificate.subject.as_raw().to_vec();
    let key_bits = parsed
        .tbs_certificate
        .subject_pki
        .subject_public_key
        .data
        .to_vec();
    let key = signing_key(c)?;
    let revoked: Vec<Vec<u8>> = pki
        .certs()
        .iter()
        .filter(|o| o.issuer.as_deref() == Some(&c.name) && o.has(Defect::Revoked))
        .filter_map(|o| raw_serial(&o.der))
        .collect();
    let stale_crl = crate::pki::sign_crl(&c.der, &c.key_pkcs8, c.key_type, now, true, &revoked)
        .map_err(|source| RevocationError::Sign {
            name: c.name.clone(),
            source,
        })?
        .to_vec();
    Ok(Authority {
        name: c.name.clone(),
        der: c.der.to_vec(),
        key,
        subject,
        key_bits,
        crl,
        stale_crl,
    })
}

fn signing_key(c: &IssuedCert) -> Result<rcgen::KeyPair, RevocationError> {
    let alg = crate::pki::signature_algorithm_of(c.key_type);
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&c.pkcs8(), alg).map_err(|source| {
        RevocationError::Sign {
            name: c.name.clone(),
            source,
        }
    })
}

/// The serial number's content octets.
pub(crate) fn raw_serial(der: &[u8]) -> Option<Vec<u8>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, c)| c.tbs_certificate.raw_serial().to_vec())
}

/// A TCP socket bound to 127.0.0.1:0 that never listens.
fn reserve_port() -> Result<(OwnedFd, SocketAddr), RevocationError> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(RevocationError::Bind(std::io::Error::last_os_error()));
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len) < 0 {
            return Err(RevocationError::Bind(std::io::Error::last_os_error()));
        }
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut got_len = len;
        if libc::getsockname(fd, &mut got as *mut _ as *mut libc::sockaddr, &mut got_len) < 0 {
            return Err(RevocationError::Bind(std::io::Error::last_os_error()));
        }
        let port = u16::from_be(got.sin_port);
        Ok((owned, SocketAddr::from(([127, 0, 0, 1], port))))
    }
}

fn accept_loop(listener: TcpListener, state: Arc<State>) {
    while !state.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let s = state.clone();
                let worker = std::thread::Builder::new()
                    .name("revocation-connection".into())
                    .spawn(move || serve(stream, &s));
                if let Ok(w) = worker {
                    let mut workers = state.workers.lock().expect("workers");
                    workers.retain(|w| !w.is_finished());
                    workers.push(w);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

fn serve(mut stream: TcpStream, state: &State) {
    if state.mode == ResponderState::Hang {
        // Accept and never answer: hold the socket until stopped.
        state.requests.fetch_add(1, Ordering::SeqCst);
        while !state.stop.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
        }
        return;
    }
    let Some(req) = http::read_request(&mut stream, READ_TIMEOUT) else {
        return;
    };
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (status, content_type, body) = answer(state, &req);
    http::respond(&mut stream, status, content_type, &body, READ_TIMEOUT);
}

const OCSP_TYPE: &str = "application/ocsp-response";
const CRL_TYPE: &str = "application/pkix-crl";

fn answer(state: &State, req: &http::Incoming) -> (u16, &'static str, Vec<u8>) {
    let path = req.path.split('?').next().unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/crl/") {
        let key = rest.strip_suffix(".crl").unwrap_or(rest);
        let Some(ca) = state
            .authorities
            .iter()
            .find(|a| super::crl_path(&a.subject) == key || a.name == key)
        else {
            return (404, "text/plain", b"no such CRL\n".to_vec());
        };
        return match state.mode {
            ResponderState::Malformed => (200, CRL_TYPE, MALFORMED.to_vec()),
            ResponderState::Stale => (200, CRL_TYPE, ca.stale_crl.clone()),
            _ => (200, CRL_TYPE, ca.crl.clone()),
        };
    }
    let request = if req.method == "POST" && path.starts_with("/ocsp") {
        req.body.clone()
    } else if let Some(encoded) = path.strip_prefix("/ocsp/") {
        // RFC 6960 A.1.1: GET {url}/{url-encoding of base-64 of the DER}.
        let decoded = percent_decode(encoded);
        use base64::Engine;
        match base64::engine::general_purpose::STANDARD.decode(decoded) {
            Ok(d) => d,
            Err(_) => {
                return (
                    200,
                    OCSP_TYPE,
                    der::encode_error(der::status::MALFORMED_REQUEST),
                )
            }
        }
    } else {
        return (404, "text/plain", b"not found\n".to_vec());
    };
    if state.mode == ResponderState::Malformed {
        return (200, OCSP_TYPE, MALFORMED.to_vec());
    }
    (200, OCSP_TYPE, ocsp_response(state, &request))
}

/// What a `malformed` responder sends: not DER.
const MALFORMED: &[u8] = b"this is not a DER OCSP response or CRL\n";

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The signed OCSPResponse for a request's DER, from the PKI's state.
fn ocsp_response(state: &State, request: &[u8]) -> Vec<u8> {
    let Ok(req) = der::parse_request(request) else {
        return der::encode_error(der::status::MALFORMED_REQUEST);
    };
    let now = OffsetDateTime::now_utc();
    let (this_update, next_update) = if state.mode == ResponderState::Stale {
        (
            now - time::Duration::days(30),
            now - time::Duration::days(1),
        )
    } else {
        (
            now - time::Duration::hours(1),
            now + time::Duration::days(1),
        )
    };
    let mut signer = None;
    let mut answers = Vec::new();
    for id in &req.ids {
        // A CertID whose issuer is none of the PKI's CAs: not this
        // responder's to answer (as `openssl ocsp` says of a foreign CA).
        let Some(ca) = state.authorities.iter().find(|a| issued_by(id, a)) else {
            return der::encode_error(der::status::UNAUTHORIZED);
        };
        signer.get_or_insert(ca);
        let cert = state
            .issued
            .iter()
            .find(|c| c.issuer == ca.name && c.serial == id.serial);
        let status = match cert {
            None => CertStatus::Unknown,
            Some(c) if c.unknown => CertStatus::Unknown,
            Some(c) if c.revoked => CertStatus::Revoked {
                at: now - time::Duration::hours(2),
            },
            Some(_) => CertStatus::Good,
        };
        answers.push(Answer {
            id: id.clone(),
            status,
            this_update,
            next_update: Some(next_update),
        });
    }
    let Some(ca) = signer else {
        return der::encode_error(der::status::MALFORMED_REQUEST);
    };
    let key_hash = HashAlg::Sha1.digest(&ca.key_bits);
    let data = der::encode_response_data(&key_hash, now, &answers, req.nonce.as_deref());
    use rcgen::SigningKey;
    let Ok(signature) = ca.key.sign(&data) else {
        return der::encode_error(2);
    };
    der::encode_response(
        &data,
        &der::signature_algorithm(&ca.key),
        &signature,
        &[ca.der.as_slice()],
    )
}

fn issued_by(id: &CertId, ca: &Authority) -> bool {
    id.name_hash == id.hash.digest(&ca.subject) && id.key_hash == id.hash.digest(&ca.key_bits)
}
