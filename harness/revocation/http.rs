//! Just enough HTTP/1.x for revocation traffic, on blocking sockets with a
//! timeout on every connect, read and write: a gateway's OCSP or CRL fetch
//! (one request, `Connection: close`) and the responder's side of it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Requests and responses larger than this are refused (a CRL of the
/// harness's PKIs is a few hundred bytes).
pub const MAX_MESSAGE: usize = 1 << 20;

/// Why an HTTP exchange with a responder failed, as a gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("connection refused")]
    Refused,
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    #[error("{0}")]
    Io(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("not an HTTP response")]
    NotHttp,
}

fn io_error(e: std::io::Error, timeout: Duration) -> FetchError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => FetchError::Refused,
        K::TimedOut | K::WouldBlock => FetchError::TimedOut(timeout),
        _ => FetchError::Io(e.to_string()),
    }
}

/// A request to `url` (`http://127.0.0.1:PORT/path`): `body` Some is a POST.
/// Everything, connect included, ends within `timeout`.
pub fn fetch(
    url: &str,
    content_type: &str,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let parsed = url::Url::parse(url).map_err(|e| FetchError::Io(format!("{url}: {e}")))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|_| FetchError::Io(format!("{url}: only IP addresses are fetched")))?;
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(FetchError::TimedOut(timeout))
    };
    let mut stream =
        TcpStream::connect_timeout(&addr, left()?).map_err(|e| io_error(e, timeout))?;
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut head = match body {
        Some(b) => format!(
            "POST {path} HTTP/1.0\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            b.len()
        )
        .into_bytes(),
        None => format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    };
    head.extend_from_slice(body.unwrap_or_default());
    stream
        .set_write_timeout(Some(left()?))
        .map_err(|e| io_error(e, timeout))?;
    stream.write_all(&head).map_err(|e| io_error(e, timeout))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| io_error(e, timeout))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_MESSAGE {
                    return Err(FetchError::Io("response too large".into()));
                }
            }
            Err(e) => return Err(io_error(e, timeout)),
        }
    }
    let split = find(&buf, b"\r\n\r\n").ok_or(FetchError::NotHttp)?;
    let status_line = buf[..split]
        .split(|b| *b == b'\n')
        .next()
        .unwrap_or_default();
    let status = std::str::from_utf8(status_line)
        .ok()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(FetchError::NotHttp)?;
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    Ok(buf[split + 4..].to_vec())
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request as the responder reads it.
#[derive(Debug)]
pub struct Incoming {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// Read one request from `stream`, each read bounded by `timeout`.
pub fn read_request(stream: &mut TcpStream, timeout: Duration) -> Option<Incoming> {
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > MAX_MESSAGE {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?.to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_MESSAGE {
        return None;
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Incoming { method, path, body })
}

/// Write a whole response and close.
pub fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.0 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.write_all(&out);
    let _ = stream.flush();
}
