//! A tap on the client's connection: every byte read and written, with its
//! time, and the TLS secrets rustls logs ([`rustls::KeyLog`]), into one
//! [`WireCapture`]. The same tap serves built-in gateways, real ones and
//! external targets, since it sits on the client's socket.
//!
//! Captures made inside [`CaptureSink::scope`] are also handed to that sink
//! as soon as the connection opens, so whoever runs a case (or a probe) can
//! write them out, even for a connection that never finished.

use super::transcript::hex;
use crate::observation::transcript::{Transcript, WireCapture, WireSegment};
use crate::observation::Side;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What one direction keeps at most: far above any handshake (a 64 KiB
/// CA-name list, a 100 KiB chain) and a 64 KiB body, but bounded against a
/// target that streams without end.
const MAX_BYTES_PER_DIRECTION: usize = 4 * 1024 * 1024;

/// A capture being written by a connection and read by its owner.
pub type SharedCapture = Arc<Mutex<WireCapture>>;

/// A capture for a connection to `server`, not yet made.
pub fn new_capture(server: SocketAddr) -> SharedCapture {
    let unspecified = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
    Arc::new(Mutex::new(WireCapture::new(unspecified, server)))
}

/// The connection is made from `local`: note the address and hand the
/// capture to the current [`CaptureSink`], if any.
pub fn connected(capture: &SharedCapture, local: Option<SocketAddr>) {
    {
        let mut c = capture.lock().expect("capture lock");
        if let Some(local) = local {
            c.client = local;
        }
        c.started = std::time::SystemTime::now();
    }
    CaptureSink::register(capture);
}

/// `config` with rustls logging this connection's secrets into `capture`.
pub fn with_key_log(
    config: &Arc<rustls::ClientConfig>,
    capture: &SharedCapture,
) -> Arc<rustls::ClientConfig> {
    let mut c = (**config).clone();
    c.key_log = Arc::new(KeyLogInto(capture.clone()));
    Arc::new(c)
}

/// The transcript of what the capture holds (`None` if nothing was sent).
pub fn transcript_of(capture: &SharedCapture) -> Option<Transcript> {
    let c = capture.lock().expect("capture lock").clone();
    (!c.segments.is_empty()).then(|| super::transcript::decode(&c))
}

/// Appends what passes through `inner` to a [`WireCapture`].
#[derive(Debug)]
pub struct TapStream<IO> {
    inner: IO,
    capture: SharedCapture,
    t0: Instant,
}

impl<IO> TapStream<IO> {
    pub fn new(inner: IO, capture: SharedCapture) -> Self {
        TapStream {
            inner,
            capture,
            t0: Instant::now(),
        }
    }

    fn record(&self, from: Side, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let at_us = self.t0.elapsed().as_micros() as u64;
        let mut c = self.capture.lock().expect("capture lock");
        let kept: usize = c
            .segments
            .iter()
            .filter(|s| s.from == from)
            .map(|s| s.bytes.len())
            .sum();
        let room = MAX_BYTES_PER_DIRECTION.saturating_sub(kept);
        if room == 0 {
            return;
        }
        let bytes = &bytes[..bytes.len().min(room)];
        // Consecutive reads of one flight become one segment.
        match c.segments.last_mut() {
            Some(last) if last.from == from && at_us.saturating_sub(last.at_us) < 200 => {
                last.bytes.extend_from_slice(bytes)
            }
            _ => c.segments.push(WireSegment {
                from,
                at_us,
                bytes: bytes.to_vec(),
            }),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for TapStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.record(Side::Server, &buf.filled()[before..]);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for TapStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            this.record(Side::Client, &buf[..n]);
        }
        polled
    }

    // rustls writes a flight as several buffers: they must go out in one
    // write as without the tap (split, a peer that rejects the first message
    // would close before the rest, and the client would see a broken pipe).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            let mut left = n;
            let mut written = Vec::with_capacity(n);
            for b in bufs {
                if left == 0 {
                    break;
                }
                let take = b.len().min(left);
                written.extend_from_slice(&b[..take]);
                left -= take;
            }
            this.record(Side::Client, &written);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// rustls's secrets for one connection, as NSS key-log lines in its capture.
#[derive(Debug)]
pub struct KeyLogInto(pub SharedCapture);

impl rustls::KeyLog for KeyLogInto {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        self.0.lock().expect("capture lock").key_log.push_str(&line);
    }
}

tokio::task_local! {
    static SINK: CaptureSink;
}

/// Collects the captures of every client connection made inside
/// [`CaptureSink::scope`] (on this task).
#[derive(Debug, Clone, Default)]
pub struct CaptureSink(Arc<Mutex<Vec<SharedCapture>>>);

impl CaptureSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `fut` with this sink collecting its connections.
    pub async fn scope<F: std::future::Future>(&self, fut: F) -> F::Output {
        SINK.scope(self.clone(), fut).await
    }

    /// Every connection so far, in the order they opened.
    pub fn captures(&self) -> Vec<WireCapture> {
        self.0
            .lock()
            .expect("sink lock")
            .iter()
            .map(|c| c.lock().expect("capture lock").clone())
            .collect()
    }

    /// Hand a new connection's capture to the sink of the current scope, if
    /// there is one.
    pub fn register(capture: &SharedCapture) {
        let _ = SINK.try_with(|sink| sink.0.lock().expect("sink lock").push(capture.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_tap_records_both_directions_and_the_sink_sees_it() {
        let (a, mut b) = tokio::io::duplex(64);
        let addr = "127.0.0.1:1".parse().expect("addr");
        let capture = Arc::new(Mutex::new(WireCapture::new(addr, addr)));
        let sink = CaptureSink::new();
        sink.scope(async {
            CaptureSink::register(&capture);
            let mut tap = TapStream::new(a, capture.clone());
            tap.write_all(b"hello").await.expect("write");
            b.write_all(b"world").await.expect("peer write");
            let mut got = [0u8; 5];
            tap.read_exact(&mut got).await.expect("read");
        })
        .await;
        let seen = sink.captures();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].stream(Side::Client), b"hello");
        assert_eq!(seen[0].stream(Side::Server), b"world");
        // A vectored write is one write, recorded whole.
        {
            let mut tap = TapStream::new(tokio::io::sink(), capture.clone());
            let bufs = [io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")];
            let n = tap.write_vectored(&bufs).await.expect("write");
            assert_eq!(n, 4, "tokio's sink takes both buffers at once");
            assert!(tap.is_write_vectored());
        }
        assert_eq!(
            capture.lock().expect("lock").stream(Side::Client),
            b"helloabcd"
        );
        // Outside a scope, registering is a no-op.
        CaptureSink::register(&capture);
        assert_eq!(sink.captures().len(), 1);
    }
}
