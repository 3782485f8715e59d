//! The built-in client's certificate picker (`[client] selection =
//! "prompt"`): once the resolver has decided that a person would have to
//! choose, nothing more goes out on the connection. A browser waits there
//! until someone answers; the harness does not sleep until its timeout but
//! fails the write, so the handshake ends at once with the client's
//! Certificate unsent and the outcome `client_error = "CERTIFICATE_PICKER"`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The code of the outcome in `Observation::client_error`.
pub const CERTIFICATE_PICKER: &str = "CERTIFICATE_PICKER";

/// Wraps `IO`: writes fail once `open` (the picker is showing) is set.
#[derive(Debug)]
pub struct PickerGate<IO> {
    inner: IO,
    open: Arc<AtomicBool>,
}

impl<IO> PickerGate<IO> {
    pub fn new(inner: IO, open: Arc<AtomicBool>) -> Self {
        PickerGate { inner, open }
    }
}

fn waiting() -> io::Error {
    io::Error::other("the client waits at its certificate picker for a person to choose")
}

impl<IO: AsyncRead + Unpin> AsyncRead for PickerGate<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for PickerGate<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.open.load(Ordering::SeqCst) {
            return Poll::Ready(Err(waiting()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.open.load(Ordering::SeqCst) {
            return Poll::Ready(Err(waiting()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
