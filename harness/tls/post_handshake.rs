//! A gateway that asks for the client certificate only after the request has
//! arrived (Apache `SSLVerifyClient require` in a `<Location>`): on TLS 1.2 it
//! renegotiates (an encrypted HelloRequest), on TLS 1.3 it needs the client's
//! `post_handshake_auth` extension. rustls supports neither, as a client or as
//! a server, so the built-in gateway reproduces what real Apache does to a
//! rustls client (seen in tests/real_gateways.rs): on TLS 1.2 it sends the
//! HelloRequest, the client answers no_renegotiation, and the gateway ends the
//! connection with a fatal handshake_failure alert. rustls has no API to send
//! records after the handshake, so both records are sealed here with the
//! connection's extracted traffic keys (`enable_secret_extraction`).

use super::TlsError;
use ring::aead;
use rustls::ConnectionTrafficSecrets;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPLICATION_DATA: u8 = 23;
const LEVEL_FATAL: u8 = 2;
/// HelloRequest: handshake type 0, empty body.
const HELLO_REQUEST: [u8; 4] = [0, 0, 0, 0];

/// Seal one TLS 1.2 record the way rustls's own TLS 1.2 encrypters do: the
/// nonce is the extracted IV xor the sequence number; AES-GCM records carry
/// the nonce's last 8 bytes as the explicit part.
pub fn seal_tls12_record(
    keys: &ConnectionTrafficSecrets,
    seq: u64,
    content_type: u8,
    plain: &[u8],
) -> Result<Vec<u8>, TlsError> {
    let (alg, key, iv, explicit) = match keys {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv, true),
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv, true),
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
            (&aead::CHACHA20_POLY1305, key, iv, false)
        }
        _ => return Err(TlsError::Seal("unsupported TLS 1.2 cipher")),
    };
    let mut nonce: [u8; 12] = iv
        .as_ref()
        .try_into()
        .map_err(|_| TlsError::Seal("TLS 1.2 IV is not 12 bytes"))?;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    let len = u16::try_from(plain.len()).map_err(|_| TlsError::Seal("record too long"))?;
    let mut aad = Vec::with_capacity(13);
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.push(content_type);
    aad.extend_from_slice(&[3, 3]);
    aad.extend_from_slice(&len.to_be_bytes());
    let unbound =
        aead::UnboundKey::new(alg, key.as_ref()).map_err(|_| TlsError::Seal("bad AEAD key"))?;
    let sealing = aead::LessSafeKey::new(unbound);
    let mut data = plain.to_vec();
    let tag = sealing
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut data,
        )
        .map_err(|_| TlsError::Seal("AEAD seal failed"))?;
    let mut body = Vec::with_capacity(8 + data.len() + 16);
    if explicit {
        body.extend_from_slice(&nonce[4..]);
    }
    body.extend_from_slice(&data);
    body.extend_from_slice(tag.as_ref());
    let body_len = u16::try_from(body.len()).map_err(|_| TlsError::Seal("record too long"))?;
    let mut record = vec![content_type, 3, 3];
    record.extend_from_slice(&body_len.to_be_bytes());
    record.extend_from_slice(&body);
    Ok(record)
}

/// Read the request head (so the refusal comes after the request, as on
/// Apache), then request renegotiation and end the connection with a fatal
/// `alert`. Returns what the gateway logs.
pub async fn refuse_renegotiation<IO>(
    mut tls: tokio_rustls::server::TlsStream<IO>,
    alert: rustls::AlertDescription,
    timeout: Duration,
) -> Result<(), TlsError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let read_head = async {
        loop {
            let n = tls.read(&mut chunk).await.map_err(|source| TlsError::Io {
                what: "reading the request".into(),
                source,
            })?;
            if n == 0 {
                return Err(TlsError::ClosedBeforeRequest);
            }
            head.extend_from_slice(&chunk[..n]);
            if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > 64 * 1024 {
                return Ok(());
            }
        }
    };
    tokio::time::timeout(timeout, read_head)
        .await
        .map_err(|_| TlsError::TimedOut {
            what: "waiting for the request".into(),
        })??;
    let (io, conn) = tls.into_inner();
    let secrets = conn
        .dangerous_extract_secrets()
        .map_err(|source| TlsError::Config {
            what: "cannot extract traffic keys",
            source,
        })?;
    let (seq, keys) = secrets.tx;
    let mut out = seal_tls12_record(&keys, seq, CONTENT_HANDSHAKE, &HELLO_REQUEST)?;
    out.extend(seal_tls12_record(
        &keys,
        seq + 1,
        CONTENT_ALERT,
        &[LEVEL_FATAL, u8::from(alert)],
    )?);
    send_and_close(io, &out, "sending the refusal", timeout).await
}

/// Seal one TLS 1.3 record as rustls's own TLS 1.3 encrypters do: the inner
/// plaintext is the content followed by its type, sent as application_data;
/// the nonce is the extracted IV xor the sequence number; the additional
/// data is the record header.
pub fn seal_tls13_record(
    keys: &ConnectionTrafficSecrets,
    seq: u64,
    content_type: u8,
    plain: &[u8],
) -> Result<Vec<u8>, TlsError> {
    let (alg, key, iv) = match keys {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
            (&aead::CHACHA20_POLY1305, key, iv)
        }
        _ => return Err(TlsError::Seal("unsupported TLS 1.3 cipher")),
    };
    let mut nonce: [u8; 12] = iv
        .as_ref()
        .try_into()
        .map_err(|_| TlsError::Seal("TLS 1.3 IV is not 12 bytes"))?;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    let mut data = plain.to_vec();
    data.push(content_type);
    let len =
        u16::try_from(data.len() + alg.tag_len()).map_err(|_| TlsError::Seal("record too long"))?;
    let mut record = vec![CONTENT_APPLICATION_DATA, 3, 3];
    record.extend_from_slice(&len.to_be_bytes());
    let unbound =
        aead::UnboundKey::new(alg, key.as_ref()).map_err(|_| TlsError::Seal("bad AEAD key"))?;
    let sealing = aead::LessSafeKey::new(unbound);
    let tag = sealing
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&record[..5]),
            &mut data,
        )
        .map_err(|_| TlsError::Seal("AEAD seal failed"))?;
    record.extend_from_slice(&data);
    record.extend_from_slice(tag.as_ref());
    Ok(record)
}

/// End a connection whose handshake rustls completed with a fatal `alert`
/// the gateway would have sent in the handshake (Go and JSSE refuse a
/// missing certificate with bad_certificate; on TLS 1.3 that alert follows
/// the server's Finished, so the client sees it on its first read either
/// way). Sealed with the extracted traffic keys; the client's request, if
/// it sent one, is read and dropped so that closing does not reset the
/// connection before the alert is read.
pub async fn send_fatal_alert<IO>(
    tls: tokio_rustls::server::TlsStream<IO>,
    alert: rustls::AlertDescription,
    timeout: Duration,
) -> Result<(), TlsError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (io, conn) = tls.into_inner();
    let tls13 = conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
    let secrets = conn
        .dangerous_extract_secrets()
        .map_err(|source| TlsError::Config {
            what: "cannot extract traffic keys",
            source,
        })?;
    let (seq, keys) = secrets.tx;
    let body = [LEVEL_FATAL, u8::from(alert)];
    let record = if tls13 {
        seal_tls13_record(&keys, seq, CONTENT_ALERT, &body)?
    } else {
        seal_tls12_record(&keys, seq, CONTENT_ALERT, &body)?
    };
    send_and_close(io, &record, "sending the alert", timeout).await
}

/// Write `records`, then let the client's answer (a no_renegotiation warning,
/// its close) arrive before closing: closing with unread data would reset the
/// connection and could destroy the alert before the client reads it.
async fn send_and_close<IO>(
    mut io: IO,
    records: &[u8],
    what: &str,
    timeout: Duration,
) -> Result<(), TlsError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(records).await.map_err(|source| TlsError::Io {
        what: what.into(),
        source,
    })?;
    let _ = io.flush().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(timeout.min(Duration::from_secs(2)), async {
        while let Ok(n) = io.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    let _ = io.shutdown().await;
    Ok(())
}
