//! A transport that lets the peer's last words be read before a failed write
//! is reported.
//!
//! A server that rejects the client's certificate sends an alert and closes.
//! On TLS 1.3 the client's handshake has already completed, so it is writing
//! its request by then; a write to a socket the peer has reset fails with
//! `ECONNRESET`/`EPIPE`, and the client would report that although the alert
//! sits unread in its receive buffer (curl misses Go's `bad_certificate` this
//! way most of the time). Here such a write error is held back, the write is
//! reported as done, and the next read returns what the peer sent (the alert)
//! before the reset; the error itself surfaces on that read if nothing was
//! left to read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps `IO`; see the module documentation.
#[derive(Debug)]
pub struct DeferWriteErrors<IO> {
    inner: IO,
    /// The write error held back, reported by a read that finds nothing.
    held: Option<io::Error>,
}

impl<IO> DeferWriteErrors<IO> {
    pub fn new(inner: IO) -> Self {
        DeferWriteErrors { inner, held: None }
    }

    pub fn get_ref(&self) -> &IO {
        &self.inner
    }
}

/// A write error that means "the peer is gone": what it said may still be
/// readable.
fn peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

impl<IO: AsyncRead + Unpin> AsyncRead for DeferWriteErrors<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            // End of stream after a held write error: the reset is the news.
            Poll::Ready(Ok(())) if buf.filled().len() == before => match self.held.take() {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Ready(Ok(())),
            },
            other => other,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for DeferWriteErrors<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.held.is_some() {
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                self.held = Some(e);
                Poll::Ready(Ok(buf.len()))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.held.is_some() {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                self.held = Some(e);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Ready(Err(e)) if peer_gone(&e) => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The peer writes its last words, closes with unread data (a reset), and
    /// the client's later write fails: the words are still read.
    #[tokio::test]
    async fn the_peers_last_bytes_are_read_after_a_failed_write() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut first = [0u8; 5];
            s.read_exact(&mut first).await.unwrap();
            s.write_all(b"alert").await.unwrap();
            // Unread data at close makes Linux send a reset.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            drop(s);
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut io = DeferWriteErrors::new(tcp);
        io.write_all(b"hello").await.unwrap();
        io.write_all(b"unread").await.unwrap();
        server.await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // The first write after the reset fails underneath; it is held.
        for _ in 0..3 {
            io.write_all(b"more").await.unwrap();
        }
        assert!(io.held.is_some(), "a write underneath failed on the reset");
        let mut got = [0u8; 5];
        io.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"alert");
        let mut rest = Vec::new();
        let end = io.read_to_end(&mut rest).await;
        assert!(end.is_err() || rest.is_empty(), "{end:?} {rest:?}");
    }
}
