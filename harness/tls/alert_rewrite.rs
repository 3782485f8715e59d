//! OpenSSL-based servers answer a missing client certificate on TLS 1.2 with
//! handshake_failure (Go and JSSE with bad_certificate), where rustls sends
//! certificate_required. On TLS 1.2 that alert is a plaintext record, so a
//! stream wrapper can say what the gateway says. (On TLS 1.3 it is
//! encrypted: see `post_handshake::send_fatal_alert`.)

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CONTENT_ALERT: u8 = 21;
const LEVEL_FATAL: u8 = 2;
const CERTIFICATE_REQUIRED: u8 = 116;

/// Where the parser is in the outgoing record stream.
#[derive(Debug, Clone, Copy)]
enum State {
    Header { have: usize, bytes: [u8; 5] },
    Body { remaining: usize },
}

/// A stream whose outgoing plaintext `certificate_required` alert records are
/// rewritten to another alert (its code) when one is given.
pub struct AlertRewrite<S> {
    inner: S,
    to: Option<u8>,
    state: State,
    rewrote: Arc<AtomicBool>,
}

impl<S> AlertRewrite<S> {
    pub fn new(inner: S, to: Option<u8>) -> Self {
        AlertRewrite {
            inner,
            to,
            state: State::Header {
                have: 0,
                bytes: [0; 5],
            },
            rewrote: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Set once a record was rewritten.
    pub fn rewrote_flag(&self) -> Arc<AtomicBool> {
        self.rewrote.clone()
    }

    /// Walk `buf` from `state`; return the new state and the offsets of alert
    /// description bytes to rewrite.
    fn scan(mut state: State, buf: &[u8]) -> (State, Vec<usize>) {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < buf.len() {
            match &mut state {
                State::Header { have, bytes } => {
                    bytes[*have] = buf[i];
                    *have += 1;
                    i += 1;
                    if *have == 5 {
                        let len = u16::from_be_bytes([bytes[3], bytes[4]]) as usize;
                        let is_alert = bytes[0] == CONTENT_ALERT && len == 2;
                        if is_alert
                            && i + 2 <= buf.len()
                            && buf[i] == LEVEL_FATAL
                            && buf[i + 1] == CERTIFICATE_REQUIRED
                        {
                            hits.push(i + 1);
                        }
                        state = if len == 0 {
                            State::Header {
                                have: 0,
                                bytes: [0; 5],
                            }
                        } else {
                            State::Body { remaining: len }
                        };
                    }
                }
                State::Body { remaining } => {
                    let take = (*remaining).min(buf.len() - i);
                    *remaining -= take;
                    i += take;
                    if *remaining == 0 {
                        state = State::Header {
                            have: 0,
                            bytes: [0; 5],
                        };
                    }
                }
            }
        }
        (state, hits)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AlertRewrite<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AlertRewrite<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Some(to) = self.to else {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        };
        let (_, hits) = Self::scan(self.state, buf);
        let result = if hits.is_empty() {
            Pin::new(&mut self.inner).poll_write(cx, buf)
        } else {
            let mut copy = buf.to_vec();
            for &h in &hits {
                copy[h] = to;
            }
            Pin::new(&mut self.inner).poll_write(cx, &copy)
        };
        if let Poll::Ready(Ok(n)) = result {
            let (state, written_hits) = Self::scan(self.state, &buf[..n]);
            self.state = state;
            if !written_hits.is_empty() {
                self.rewrote.store(true, Ordering::SeqCst);
            }
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_alert_after_other_records_even_when_split() {
        let mut stream = vec![22, 3, 3, 0, 3, 1, 2, 3];
        stream.extend([21, 3, 3, 0, 2, 2, 116]);
        let (_, hits) = AlertRewrite::<()>::scan(
            State::Header {
                have: 0,
                bytes: [0; 5],
            },
            &stream,
        );
        assert_eq!(hits, vec![14]);
        // The same bytes fed in two writes: the state carries over.
        let (state, first) = AlertRewrite::<()>::scan(
            State::Header {
                have: 0,
                bytes: [0; 5],
            },
            &stream[..6],
        );
        assert!(first.is_empty());
        let (_, second) = AlertRewrite::<()>::scan(state, &stream[6..]);
        assert_eq!(second, vec![8]);
    }

    #[test]
    fn leaves_other_alerts_alone() {
        let stream = [21, 3, 3, 0, 2, 2, 48];
        let (_, hits) = AlertRewrite::<()>::scan(
            State::Header {
                have: 0,
                bytes: [0; 5],
            },
            &stream,
        );
        assert!(hits.is_empty());
    }
}
