//! Reading a [`WireCapture`]: the TLS records both ways, decrypted with the
//! connection's own key log, into a [`Transcript`] of handshake messages.
//!
//! Records and the messages whose layout does not change with the version
//! (ClientHello, ServerHello, the TLS 1.2 Certificate and CertificateRequest)
//! are parsed by `tls-parser`; the TLS 1.3 CertificateRequest and Certificate
//! (a context and per-entry extensions, which `tls-parser` reads as TLS 1.2)
//! are read here. Decryption follows RFC 8446 §5.2-§7.3 (TLS 1.3) and RFC
//! 5246 §6.3 with RFC 5288 / RFC 7905 nonces (TLS 1.2 AEAD suites), with ring.

use crate::observation::transcript::{
    CertSummary, Transcript, WireCaNames, WireCapture, WireEvent, WireMessage,
};
use crate::observation::Side;
use ring::{aead, hkdf, hmac};
use std::collections::HashMap;

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

const CONTENT_CCS: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPDATA: u8 = 23;

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A readable form of a DER Name (the client's selection uses the same).
pub fn dn_to_string(der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    x509_parser::x509::X509Name::from_der(der)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|_| format!("<{} bytes, not a Name>", der.len()))
}

/// The transcript of one connection.
pub fn decode(capture: &WireCapture) -> Transcript {
    let mut d = Decoder {
        secrets: parse_key_log(&capture.key_log),
        client_random: None,
        server_random: None,
        suite: None,
        tls13: false,
        dirs: [Direction::new(Side::Client), Direction::new(Side::Server)],
        out: Transcript::default(),
    };
    for seg in &capture.segments {
        d.feed(seg.from, &seg.bytes, seg.at_us as f64 / 1000.0);
    }
    for dir in &d.dirs {
        if !dir.raw.is_empty() {
            d.out.notes.push(format!(
                "{}: the last {} bytes are not a whole TLS record (the connection ended)",
                dir.side,
                dir.raw.len()
            ));
        }
        if dir.handshake.len() >= 4 {
            let h = &dir.handshake;
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            d.out.notes.push(format!(
                "{}: a handshake message of type {} ({}) and {} bytes arrived only in part ({} bytes) before the connection ended",
                dir.side,
                h[0],
                handshake_type_name(h[0]),
                len,
                h.len() - 4
            ));
        }
        if dir.undecryptable > 0 {
            d.out.notes.push(format!(
                "{}: {} encrypted records could not be opened with the key log",
                dir.side, dir.undecryptable
            ));
        }
    }
    d.out
}

/// `label -> secret` from NSS key-log lines.
fn parse_key_log(text: &str) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        if let (Some(label), Some(_random), Some(secret)) =
            (parts.next(), parts.next(), parts.next())
        {
            if let Some(secret) = unhex(secret) {
                out.insert(label.to_string(), secret);
            }
        }
    }
    out
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// How a record key builds its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NonceKind {
    /// TLS 1.3 and TLS 1.2 ChaCha20-Poly1305: IV xor sequence number.
    XorSequence,
    /// TLS 1.2 AES-GCM: 4-byte salt and the record's 8-byte explicit part.
    Tls12Explicit,
}

struct RecordKey {
    key: aead::LessSafeKey,
    iv: Vec<u8>,
    nonce: NonceKind,
    tls13: bool,
    seq: u64,
}

impl RecordKey {
    fn new(
        alg: &'static aead::Algorithm,
        key: &[u8],
        iv: Vec<u8>,
        nonce: NonceKind,
        tls13: bool,
    ) -> Option<Self> {
        Some(RecordKey {
            key: aead::LessSafeKey::new(aead::UnboundKey::new(alg, key).ok()?),
            iv,
            nonce,
            tls13,
            seq: 0,
        })
    }

    /// Open one record (`header` is its 5 bytes): the content type and
    /// plaintext, or `None` if this key does not open it.
    fn open(&self, header: &[u8; 5], payload: &[u8]) -> Option<(u8, Vec<u8>)> {
        let seq = self.seq.to_be_bytes();
        let (nonce, ciphertext) = match self.nonce {
            NonceKind::XorSequence => {
                let mut n = [0u8; 12];
                n.copy_from_slice(self.iv.get(..12)?);
                for (i, b) in seq.iter().enumerate() {
                    n[4 + i] ^= b;
                }
                (n, payload)
            }
            NonceKind::Tls12Explicit => {
                let mut n = [0u8; 12];
                n[..4].copy_from_slice(self.iv.get(..4)?);
                n[4..].copy_from_slice(payload.get(..8)?);
                (n, &payload[8..])
            }
        };
        let plain_len = ciphertext.len().checked_sub(16)?;
        let aad: Vec<u8> = if self.tls13 {
            header.to_vec()
        } else {
            let mut a = seq.to_vec();
            a.extend_from_slice(&header[..3]);
            a.extend_from_slice(&(plain_len as u16).to_be_bytes());
            a
        };
        let mut buf = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut buf,
            )
            .ok()?;
        if !self.tls13 {
            return Some((header[0], plain.to_vec()));
        }
        // TLSInnerPlaintext: content, then the real type, then zero padding.
        let end = plain.iter().rposition(|b| *b != 0)?;
        Some((plain[end], plain[..end].to_vec()))
    }
}

/// One direction of the connection.
struct Direction {
    side: Side,
    /// Bytes not yet a whole record.
    raw: Vec<u8>,
    /// Handshake bytes not yet a whole message, and whether they came
    /// encrypted.
    handshake: Vec<u8>,
    handshake_encrypted: bool,
    /// Keys in the order the side uses them (TLS 1.3: handshake, then
    /// application traffic; TLS 1.2: the one after ChangeCipherSpec).
    keys: Vec<RecordKey>,
    current: usize,
    /// TLS 1.2: this side sent ChangeCipherSpec, so its records are encrypted.
    encrypting: bool,
    http_seen: bool,
    undecryptable: usize,
}

impl Direction {
    fn new(side: Side) -> Self {
        Direction {
            side,
            raw: Vec::new(),
            handshake: Vec::new(),
            handshake_encrypted: false,
            keys: Vec::new(),
            current: 0,
            encrypting: false,
            http_seen: false,
            undecryptable: 0,
        }
    }

    fn index(side: Side) -> usize {
        match side {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

struct Decoder {
    secrets: HashMap<String, Vec<u8>>,
    client_random: Option<Vec<u8>>,
    server_random: Option<Vec<u8>>,
    suite: Option<u16>,
    tls13: bool,
    dirs: [Direction; 2],
    out: Transcript,
}

impl Decoder {
    fn feed(&mut self, from: Side, bytes: &[u8], at_ms: f64) {
        let i = Direction::index(from);
        self.dirs[i].raw.extend_from_slice(bytes);
        loop {
            let raw = std::mem::take(&mut self.dirs[i].raw);
            let (consumed, record) = match tls_parser::parse_tls_raw_record(&raw) {
                Ok((rest, rec)) => {
                    let mut header = [0u8; 5];
                    header[0] = rec.hdr.record_type.0;
                    header[1..3].copy_from_slice(&rec.hdr.version.0.to_be_bytes());
                    header[3..5].copy_from_slice(&rec.hdr.len.to_be_bytes());
                    (raw.len() - rest.len(), Some((header, rec.data.to_vec())))
                }
                Err(tls_parser::Err::Incomplete(_)) => (0, None),
                Err(_) => {
                    self.out.notes.push(format!(
                        "{from}: {} bytes that are not TLS records",
                        raw.len()
                    ));
                    (raw.len(), None)
                }
            };
            self.dirs[i].raw = raw[consumed..].to_vec();
            match record {
                Some((header, payload)) => self.record(from, header, &payload, at_ms),
                None => break,
            }
        }
    }

    fn record(&mut self, from: Side, header: [u8; 5], payload: &[u8], at_ms: f64) {
        let i = Direction::index(from);
        let encrypted = if self.tls13 {
            header[0] == CONTENT_APPDATA && !self.dirs[i].keys.is_empty()
        } else {
            self.dirs[i].encrypting
        };
        let (content, plain) = if encrypted {
            match self.open(i, &header, payload) {
                Some(p) => p,
                None => {
                    self.dirs[i].undecryptable += 1;
                    return;
                }
            }
        } else {
            (header[0], payload.to_vec())
        };
        match content {
            CONTENT_HANDSHAKE => {
                let dir = &mut self.dirs[i];
                if dir.handshake.is_empty() {
                    dir.handshake_encrypted = encrypted;
                }
                dir.handshake.extend_from_slice(&plain);
                self.handshake_messages(from, at_ms);
            }
            // TLS 1.3's ChangeCipherSpec is a compatibility dummy: left out.
            CONTENT_CCS if !self.tls13 => {
                self.dirs[i].encrypting = true;
                self.push(from, at_ms, encrypted, WireMessage::ChangeCipherSpec);
            }
            CONTENT_ALERT => {
                for pair in plain.chunks(2) {
                    if let [level, code] = pair {
                        let level = match level {
                            1 => "warning".to_string(),
                            2 => "fatal".to_string(),
                            l => format!("level {l}"),
                        };
                        let description = crate::alert::by_code(*code)
                            .map(|a| a.name.to_string())
                            .unwrap_or_else(|| format!("alert {code}"));
                        self.push(
                            from,
                            at_ms,
                            encrypted,
                            WireMessage::Alert { level, description },
                        );
                    }
                }
            }
            // The first application data each way: the request or status line.
            CONTENT_APPDATA if !self.dirs[i].http_seen => {
                self.dirs[i].http_seen = true;
                if let Some(m) = http_line(from, &plain) {
                    self.push(from, at_ms, encrypted, m);
                }
            }
            _ => {}
        }
    }

    /// Open a record from direction `i`, moving to its next key when the
    /// current one does not open it (TLS 1.3: handshake -> application).
    fn open(&mut self, i: usize, header: &[u8; 5], payload: &[u8]) -> Option<(u8, Vec<u8>)> {
        let dir = &mut self.dirs[i];
        for k in dir.current..dir.keys.len() {
            if let Some(opened) = dir.keys[k].open(header, payload) {
                dir.current = k;
                dir.keys[k].seq += 1;
                return Some(opened);
            }
        }
        None
    }

    fn push(&mut self, from: Side, at_ms: f64, encrypted: bool, message: WireMessage) {
        self.out.messages.push(WireEvent {
            from,
            at_ms: (at_ms * 10.0).round() / 10.0,
            encrypted,
            message,
        });
    }

    fn handshake_messages(&mut self, from: Side, at_ms: f64) {
        let i = Direction::index(from);
        loop {
            let buf = &self.dirs[i].handshake;
            if buf.len() < 4 {
                return;
            }
            let len = u32::from_be_bytes([0, buf[1], buf[2], buf[3]]) as usize;
            if buf.len() < 4 + len {
                return;
            }
            let msg: Vec<u8> = buf[..4 + len].to_vec();
            let encrypted = self.dirs[i].handshake_encrypted;
            self.dirs[i].handshake.drain(..4 + len);
            let message = self.handshake_message(from, &msg);
            self.push(from, at_ms, encrypted, message);
        }
    }

    fn handshake_message(&mut self, from: Side, msg: &[u8]) -> WireMessage {
        let body = &msg[4..];
        match msg[0] {
            1 => self.client_hello(msg),
            2 => self.server_hello(msg),
            8 => WireMessage::EncryptedExtensions,
            11 => WireMessage::Certificate {
                certificates: if self.tls13 {
                    certificate_tls13(body)
                } else {
                    certificate_tls12(msg)
                },
            },
            13 => {
                if self.tls13 {
                    certificate_request_tls13(body)
                } else {
                    certificate_request_tls12(msg)
                }
            }
            12 => WireMessage::ServerKeyExchange,
            14 => WireMessage::ServerHelloDone,
            16 => WireMessage::ClientKeyExchange,
            15 => WireMessage::CertificateVerify {
                scheme: body
                    .get(..2)
                    .map(|s| scheme_name(u16::from_be_bytes([s[0], s[1]])))
                    .unwrap_or_default(),
            },
            20 => WireMessage::Finished,
            4 => WireMessage::NewSessionTicket,
            24 => WireMessage::KeyUpdate,
            t => {
                let _ = from;
                WireMessage::OtherHandshake {
                    handshake_type: t,
                    bytes: body.len(),
                }
            }
        }
    }

    fn client_hello(&mut self, msg: &[u8]) -> WireMessage {
        use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};
        let mut versions = Vec::new();
        let mut sni = None;
        let mut signature_algorithms = Vec::new();
        if let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
            tls_parser::parse_tls_message_handshake(msg)
        {
            self.client_random = Some(ch.random.to_vec());
            let exts = ch
                .ext
                .and_then(|e| tls_parser::parse_tls_client_hello_extensions(e).ok())
                .map(|(_, v)| v)
                .unwrap_or_default();
            for ext in exts {
                match ext {
                    TlsExtension::SupportedVersions(vs) => {
                        versions = vs.iter().map(|v| version_name(v.0)).collect();
                    }
                    TlsExtension::SNI(names) => {
                        sni = names
                            .first()
                            .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
                    }
                    TlsExtension::SignatureAlgorithms(algs) => {
                        signature_algorithms = algs.iter().map(|a| scheme_name(*a)).collect();
                    }
                    _ => {}
                }
            }
            if versions.is_empty() {
                versions.push(version_name(ch.version.0));
            }
        }
        WireMessage::ClientHello {
            versions,
            sni,
            signature_algorithms,
        }
    }

    fn server_hello(&mut self, msg: &[u8]) -> WireMessage {
        use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};
        let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
            tls_parser::parse_tls_message_handshake(msg)
        else {
            return WireMessage::OtherHandshake {
                handshake_type: 2,
                bytes: msg.len() - 4,
            };
        };
        if sh.random == HRR_RANDOM {
            return WireMessage::HelloRetryRequest;
        }
        let mut version = sh.version.0;
        let exts = sh
            .ext
            .and_then(|e| tls_parser::parse_tls_server_hello_extensions(e).ok())
            .map(|(_, v)| v)
            .unwrap_or_default();
        for ext in exts {
            if let TlsExtension::SupportedVersions(vs) = ext {
                if let Some(v) = vs.first() {
                    version = v.0;
                }
            }
        }
        self.server_random = Some(sh.random.to_vec());
        self.suite = Some(sh.cipher.0);
        self.tls13 = version == 0x0304;
        self.derive_keys();
        WireMessage::ServerHello {
            version: version_name(version),
            cipher_suite: format!("{:?}", rustls::CipherSuite::from(sh.cipher.0)),
        }
    }

    /// Record keys for both directions from the key log, once the
    /// ServerHello named the version and suite.
    fn derive_keys(&mut self) {
        let Some(suite) = self.suite.and_then(Suite::of) else {
            if let Some(s) = self.suite {
                self.out.notes.push(format!(
                    "cipher suite {:?} is not one this decoder opens",
                    rustls::CipherSuite::from(s)
                ));
            }
            return;
        };
        if self.tls13 {
            for (i, [hs, app]) in [
                (
                    0,
                    ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"],
                ),
                (
                    1,
                    ["SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"],
                ),
            ] {
                self.dirs[i].keys = [hs, app]
                    .iter()
                    .filter_map(|label| self.secrets.get(*label))
                    .filter_map(|secret| suite.tls13_key(secret))
                    .collect();
                self.dirs[i].current = 0;
            }
        } else {
            let (Some(master), Some(cr), Some(sr)) = (
                self.secrets.get("CLIENT_RANDOM"),
                &self.client_random,
                &self.server_random,
            ) else {
                // Records sent encrypted later are counted as unopened.
                return;
            };
            let [client, server] = suite.tls12_keys(master, cr, sr);
            self.dirs[0].keys = client.into_iter().collect();
            self.dirs[1].keys = server.into_iter().collect();
        }
    }
}

/// What decryption needs to know of a cipher suite.
#[derive(Debug, Clone, Copy)]
struct Suite {
    aead: &'static aead::Algorithm,
    key_len: usize,
    sha384: bool,
    chacha: bool,
}

impl Suite {
    fn of(id: u16) -> Option<Suite> {
        let gcm128 = Suite {
            aead: &aead::AES_128_GCM,
            key_len: 16,
            sha384: false,
            chacha: false,
        };
        let gcm256 = Suite {
            aead: &aead::AES_256_GCM,
            key_len: 32,
            sha384: true,
            chacha: false,
        };
        let chacha = Suite {
            aead: &aead::CHACHA20_POLY1305,
            key_len: 32,
            sha384: false,
            chacha: true,
        };
        match id {
            0x1301 | 0xc02b | 0xc02f | 0x009c | 0x009e => Some(gcm128),
            0x1302 | 0xc02c | 0xc030 | 0x009d | 0x009f => Some(gcm256),
            0x1303 | 0xcca8 | 0xcca9 | 0xccaa => Some(chacha),
            _ => None,
        }
    }

    /// RFC 8446 §7.3: key and IV from a traffic secret.
    fn tls13_key(&self, secret: &[u8]) -> Option<RecordKey> {
        let alg = if self.sha384 {
            hkdf::HKDF_SHA384
        } else {
            hkdf::HKDF_SHA256
        };
        let key = hkdf_expand_label(alg, secret, b"key", self.key_len)?;
        let iv = hkdf_expand_label(alg, secret, b"iv", 12)?;
        RecordKey::new(self.aead, &key, iv, NonceKind::XorSequence, true)
    }

    /// RFC 5246 §6.3: the key block from the master secret, split into the
    /// client's and the server's write key and IV.
    fn tls12_keys(
        &self,
        master: &[u8],
        client_random: &[u8],
        server_random: &[u8],
    ) -> [Option<RecordKey>; 2] {
        let alg = if self.sha384 {
            hmac::HMAC_SHA384
        } else {
            hmac::HMAC_SHA256
        };
        let iv_len = if self.chacha { 12 } else { 4 };
        let seed = [server_random, client_random].concat();
        let block = prf(
            alg,
            master,
            b"key expansion",
            &seed,
            2 * (self.key_len + iv_len),
        );
        let (ck, rest) = block.split_at(self.key_len);
        let (sk, rest) = rest.split_at(self.key_len);
        let (civ, siv) = rest.split_at(iv_len);
        let nonce = if self.chacha {
            NonceKind::XorSequence
        } else {
            NonceKind::Tls12Explicit
        };
        [
            RecordKey::new(self.aead, ck, civ.to_vec(), nonce, false),
            RecordKey::new(self.aead, sk, siv.to_vec(), nonce, false),
        ]
    }
}

struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// RFC 8446 §7.1 HKDF-Expand-Label with an empty context.
fn hkdf_expand_label(
    alg: hkdf::Algorithm,
    secret: &[u8],
    label: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let prk = hkdf::Prk::new_less_safe(alg, secret);
    let full_label = [b"tls13 ".as_slice(), label].concat();
    let out_len = (len as u16).to_be_bytes();
    let label_len = [full_label.len() as u8];
    let info: [&[u8]; 4] = [&out_len, &label_len, &full_label, &[0u8]];
    let okm = prk.expand(&info, OutLen(len)).ok()?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out).ok()?;
    Some(out)
}

/// RFC 5246 §5 PRF (P_hash).
fn prf(alg: hmac::Algorithm, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let key = hmac::Key::new(alg, secret);
    let label_seed = [label, seed].concat();
    let mut a = hmac::sign(&key, &label_seed).as_ref().to_vec();
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&a);
        ctx.update(&label_seed);
        out.extend_from_slice(ctx.sign().as_ref());
        a = hmac::sign(&key, &a).as_ref().to_vec();
    }
    out.truncate(len);
    out
}

fn handshake_type_name(t: u8) -> String {
    format!("{:?}", rustls::HandshakeType::from(t))
}

fn version_name(v: u16) -> String {
    match v {
        0x0304 => "1.3".into(),
        0x0303 => "1.2".into(),
        0x0302 => "1.1".into(),
        0x0301 => "1.0".into(),
        other => format!("{:?}", rustls::ProtocolVersion::from(other)),
    }
}

fn scheme_name(s: u16) -> String {
    // OpenSSL offers some that rustls has no name for.
    let extra = match s {
        0x0301 => "RSA_PKCS1_SHA224",
        0x0303 => "ECDSA_SHA224",
        0x0809 => "RSA_PSS_PSS_SHA256",
        0x080a => "RSA_PSS_PSS_SHA384",
        0x080b => "RSA_PSS_PSS_SHA512",
        0x081a => "ECDSA_BRAINPOOLP256R1TLS13_SHA256",
        0x081b => "ECDSA_BRAINPOOLP384R1TLS13_SHA384",
        0x081c => "ECDSA_BRAINPOOLP512R1TLS13_SHA512",
        _ => return format!("{:?}", rustls::SignatureScheme::from(s)),
    };
    extra.to_string()
}

fn cert_summary(der: &[u8]) -> CertSummary {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => CertSummary {
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
        },
        Err(_) => CertSummary {
            subject: format!("<{} bytes, not a certificate>", der.len()),
            issuer: String::new(),
        },
    }
}

fn ca_names(names: &[&[u8]]) -> WireCaNames {
    WireCaNames {
        count: names.len(),
        encoded_bytes: names.iter().map(|n| 2 + n.len()).sum(),
        names: names.iter().map(|n| dn_to_string(n)).collect(),
    }
}

fn certificate_tls12(msg: &[u8]) -> Vec<CertSummary> {
    use tls_parser::{TlsMessage, TlsMessageHandshake};
    match tls_parser::parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) => {
            c.cert_chain.iter().map(|c| cert_summary(c.data)).collect()
        }
        _ => Vec::new(),
    }
}

fn certificate_request_tls12(msg: &[u8]) -> WireMessage {
    use tls_parser::{TlsMessage, TlsMessageHandshake};
    match tls_parser::parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::CertificateRequest(cr)))) => {
            WireMessage::CertificateRequest {
                context: String::new(),
                ca_names: ca_names(&cr.unparsed_ca),
                signature_algorithms: cr
                    .sig_hash_algs
                    .unwrap_or_default()
                    .into_iter()
                    .map(scheme_name)
                    .collect(),
            }
        }
        _ => WireMessage::OtherHandshake {
            handshake_type: 13,
            bytes: msg.len() - 4,
        },
    }
}

/// A cursor over a TLS structure (RFC 8446 §3 vectors).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn uint(&mut self, width: usize) -> Option<usize> {
        Some(
            self.take(width)?
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize),
        )
    }
    /// A vector with a `width`-byte length prefix.
    fn vector(&mut self, width: usize) -> Option<&'a [u8]> {
        let n = self.uint(width)?;
        self.take(n)
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// TLS 1.3 Certificate: context, then entries of cert data and extensions.
fn certificate_tls13(body: &[u8]) -> Vec<CertSummary> {
    let mut r = Reader(body);
    let mut out = Vec::new();
    let _context = r.vector(1);
    let Some(list) = r.vector(3) else {
        return out;
    };
    let mut entries = Reader(list);
    while !entries.is_empty() {
        let (Some(cert), Some(_ext)) = (entries.vector(3), entries.vector(2)) else {
            break;
        };
        out.push(cert_summary(cert));
    }
    out
}

/// TLS 1.3 CertificateRequest: context and extensions, of which
/// `certificate_authorities` (47) and `signature_algorithms` (13).
fn certificate_request_tls13(body: &[u8]) -> WireMessage {
    let mut r = Reader(body);
    let context = r.vector(1).map(hex).unwrap_or_default();
    let mut names: Vec<&[u8]> = Vec::new();
    let mut signature_algorithms = Vec::new();
    if let Some(exts) = r.vector(2) {
        let mut exts = Reader(exts);
        while let (Some(kind), Some(data)) = (exts.uint(2), exts.vector(2)) {
            let mut data = Reader(data);
            match kind {
                47 => {
                    if let Some(list) = data.vector(2) {
                        let mut list = Reader(list);
                        while let Some(name) = list.vector(2) {
                            names.push(name);
                        }
                    }
                }
                13 => {
                    if let Some(list) = data.vector(2) {
                        let mut list = Reader(list);
                        while let Some(s) = list.uint(2) {
                            signature_algorithms.push(scheme_name(s as u16));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    WireMessage::CertificateRequest {
        context,
        ca_names: ca_names(&names),
        signature_algorithms,
    }
}

/// The request line or status line at the start of application data.
fn http_line(from: Side, data: &[u8]) -> Option<WireMessage> {
    let end = data
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(data.len().min(200));
    let line = String::from_utf8_lossy(&data[..end]).into_owned();
    match from {
        Side::Server => {
            let status = line
                .strip_prefix("HTTP/1.")?
                .get(2..5)?
                .parse::<u16>()
                .ok()?;
            Some(WireMessage::HttpResponse { status, line })
        }
        Side::Client => line
            .contains(" HTTP/")
            .then_some(WireMessage::HttpRequest { line }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_expand_label_matches_rfc8448() {
        // RFC 8448 §3 (simple 1-RTT): server handshake traffic secret ->
        // write key and IV.
        let secret =
            unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38").expect("hex");
        let key = hkdf_expand_label(hkdf::HKDF_SHA256, &secret, b"key", 16).expect("key");
        let iv = hkdf_expand_label(hkdf::HKDF_SHA256, &secret, b"iv", 12).expect("iv");
        assert_eq!(hex(&key), "3fce516009c21727d0f2e4e86ee403bc");
        assert_eq!(hex(&iv), "5d313eb2671276ee13000b30");
    }

    #[test]
    fn http_lines_are_read_from_either_side() {
        assert_eq!(
            http_line(Side::Server, b"HTTP/1.1 403 Forbidden\r\nx: y\r\n\r\n"),
            Some(WireMessage::HttpResponse {
                status: 403,
                line: "HTTP/1.1 403 Forbidden".into()
            })
        );
        assert_eq!(
            http_line(Side::Client, b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"),
            Some(WireMessage::HttpRequest {
                line: "GET / HTTP/1.1".into()
            })
        );
        assert_eq!(http_line(Side::Server, b"\x00\x01garbage"), None);
    }

    #[test]
    fn tls13_certificate_request_with_names_and_context() {
        let dn = |cn: &str| {
            let mut params = rcgen::CertificateParams::default();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            let key = rcgen::KeyPair::generate().expect("key");
            let cert = params.self_signed(&key).expect("cert");
            let (_, c) = x509_parser::parse_x509_certificate(cert.der()).expect("parse");
            c.subject().as_raw().to_vec()
        };
        let (a, b) = (dn("Root A"), dn("Root B"));
        let mut list = Vec::new();
        for n in [&a, &b] {
            list.extend_from_slice(&(n.len() as u16).to_be_bytes());
            list.extend_from_slice(n);
        }
        let mut ext47 = (list.len() as u16).to_be_bytes().to_vec();
        ext47.extend_from_slice(&list);
        let mut exts = vec![0, 47];
        exts.extend_from_slice(&(ext47.len() as u16).to_be_bytes());
        exts.extend_from_slice(&ext47);
        exts.extend_from_slice(&[0, 13, 0, 4, 0, 2, 0x04, 0x03]);
        let mut body = vec![2, 0xab, 0xcd];
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        match certificate_request_tls13(&body) {
            WireMessage::CertificateRequest {
                context,
                ca_names,
                signature_algorithms,
            } => {
                assert_eq!(context, "abcd");
                assert_eq!(ca_names.count, 2);
                assert_eq!(ca_names.encoded_bytes, 4 + a.len() + b.len());
                assert_eq!(ca_names.names, ["CN=Root A", "CN=Root B"]);
                assert_eq!(signature_algorithms, ["ECDSA_NISTP256_SHA256"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
