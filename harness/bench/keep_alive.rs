//! Requests on established connections while `bench --during` changes the
//! gateway: a few HTTP/1.1 keep-alive connections beside the handshake
//! load, each sending `GET /` every [`EVERY`] for the whole run. A graceful
//! reload must not fail a request already on its way; what a real client
//! meets instead is counted:
//!
//! - a request **failed**: sent on an open connection and answered with
//!   no response (the connection closed under it), a status other than
//!   200, or nothing within the timeout;
//! - a connection **closed by the server between requests**: noticed
//!   before the next request was sent (a client opens a new one; not a
//!   failure, but the reconnection is a handshake the change caused).
//!
//! The load's client is never refused, so neither is its own doing.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Connections kept open beside the load.
pub const CONNECTIONS: usize = 2;

/// How often each connection sends a request.
pub const EVERY: Duration = Duration::from_millis(10);

/// How long a handshake or a response may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What happened to one request (or between two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestEvent {
    /// Answered 200.
    Served,
    /// Sent and not answered 200; why.
    Failed(String),
    /// The server closed the connection before the next request.
    ClosedBetween,
}

/// The figures of the keep-alive connections over a whole run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct KeepAliveStats {
    /// Connections kept open at once.
    pub connections: usize,
    /// Requests sent on established connections.
    pub requests: u64,
    /// Of those, answered with no 200.
    pub failed: u64,
    /// Why, counted.
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Connections the server closed between two requests.
    pub closed_by_server: u64,
}

impl KeepAliveStats {
    pub fn of(connections: usize, events: &[(f64, RequestEvent)]) -> KeepAliveStats {
        let mut s = KeepAliveStats {
            connections,
            ..Default::default()
        };
        for (_, e) in events {
            match e {
                RequestEvent::Served => s.requests += 1,
                RequestEvent::Failed(why) => {
                    s.requests += 1;
                    s.failed += 1;
                    *s.failures_by_kind.entry(why.clone()).or_default() += 1;
                }
                RequestEvent::ClosedBetween => s.closed_by_server += 1,
            }
        }
        s
    }
}

/// Why a request failed, in a few words that count well.
fn failure_kind(e: &hyper::Error) -> String {
    if e.is_incomplete_message() {
        "connection closed before the response".into()
    } else if e.is_canceled() {
        "connection closed before the request was sent".into()
    } else if e.is_closed() {
        "connection closed".into()
    } else {
        let text = e.to_string();
        text.split(':').next().unwrap_or(&text).to_string()
    }
}

/// One keep-alive connection's requests until `deadline`, each event with
/// its time in seconds from `started`. A connection that fails or is
/// closed is replaced by a new one.
pub async fn run(
    connector: tokio_rustls::TlsConnector,
    name: rustls_pki_types::ServerName<'static>,
    addr: SocketAddr,
    started: Instant,
    deadline: Instant,
) -> Vec<(f64, RequestEvent)> {
    let mut events = Vec::new();
    let at = || started.elapsed().as_secs_f64();
    'connection: while Instant::now() < deadline {
        let open = async {
            let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
            let _ = tcp.set_nodelay(true);
            let tls = connector.connect(name.clone(), tcp).await.ok()?;
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(hyper_util::rt::TokioIo::new(
                tls,
            ))
            .await
            .ok()
        };
        let Some((mut sender, connection)) =
            tokio::time::timeout(TIMEOUT, open).await.ok().flatten()
        else {
            // A handshake that failed is the load's figure, not a request's.
            tokio::time::sleep(EVERY).await;
            continue;
        };
        let driver = tokio::spawn(connection);
        loop {
            if Instant::now() >= deadline {
                driver.abort();
                break 'connection;
            }
            // What a pooled client checks before reusing a connection.
            if sender.is_closed() || sender.ready().await.is_err() {
                events.push((at(), RequestEvent::ClosedBetween));
                continue 'connection;
            }
            let request = hyper::Request::get("/")
                .header(hyper::header::HOST, "localhost")
                .body(Empty::<Bytes>::new());
            let Ok(request) = request else {
                break 'connection;
            };
            let answered = tokio::time::timeout(TIMEOUT, async {
                let response = sender.send_request(request).await?;
                let status = response.status();
                response.into_body().collect().await?;
                Ok::<_, hyper::Error>(status)
            })
            .await;
            let event = match answered {
                Ok(Ok(status)) if status == hyper::StatusCode::OK => RequestEvent::Served,
                Ok(Ok(status)) => RequestEvent::Failed(format!("HTTP {}", status.as_u16())),
                Ok(Err(e)) => RequestEvent::Failed(failure_kind(&e)),
                Err(_) => RequestEvent::Failed("no response within 5 s".into()),
            };
            let failed = event != RequestEvent::Served;
            events.push((at(), event));
            if failed {
                driver.abort();
                continue 'connection;
            }
            tokio::time::sleep(EVERY).await;
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_failures_and_closes_are_counted_apart() {
        let events = vec![
            (0.1, RequestEvent::Served),
            (0.2, RequestEvent::ClosedBetween),
            (0.3, RequestEvent::Failed("HTTP 503".into())),
            (0.4, RequestEvent::Served),
            (0.5, RequestEvent::Failed("HTTP 503".into())),
        ];
        let s = KeepAliveStats::of(2, &events);
        assert_eq!((s.requests, s.failed, s.closed_by_server), (4, 2, 1));
        assert_eq!(s.failures_by_kind.get("HTTP 503"), Some(&2));
        assert_eq!(s.connections, 2);
    }
}
