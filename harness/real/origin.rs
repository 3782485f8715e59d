//! The upstream a user's gateway configuration proxies to, served by the
//! harness on 127.0.0.1: it answers 200 on every path (health checks
//! included) and records what each request carried, so a forwarded
//! certificate header can be checked. A config's own upstream hosts are
//! rewritten onto it and never connected to.

use bytes::Bytes;
use http_body_util::Full;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one connection from the gateway may stay open.
const CONNECTION_LIMIT: Duration = Duration::from_secs(60);

/// One request the origin received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
}

impl OriginRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The running origin; dropping it stops it (its thread joined).
pub struct Origin {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<OriginRequest>>>,
    /// One per serving thread: its stop and its handle.
    threads: Vec<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin").field("addr", &self.addr).finish()
    }
}

impl Origin {
    /// Listen on a free port of 127.0.0.1, on a thread of its own.
    pub fn start() -> std::io::Result<Origin> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let mut origin = Origin {
            addr,
            seen: Arc::new(Mutex::new(Vec::new())),
            threads: Vec::new(),
        };
        origin.also_serve(vec![listener])?;
        Ok(origin)
    }

    /// Serve `listeners` too (made elsewhere: inside a namespace of the
    /// harness's own, on the addresses a configuration names), recording
    /// into the same list, on a thread of their own.
    pub fn also_serve(&mut self, listeners: Vec<std::net::TcpListener>) -> std::io::Result<()> {
        if listeners.is_empty() {
            return Ok(());
        }
        for l in &listeners {
            l.set_nonblocking(true)?;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let record = self.seen.clone();
        let thread = std::thread::Builder::new()
            .name("origin".into())
            .spawn(move || runtime.block_on(serve(listeners, record, stopped)))?;
        self.threads.push((stop, thread));
        Ok(())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<OriginRequest> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        for (stop, thread) in self.threads.drain(..) {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

async fn serve(
    listeners: Vec<std::net::TcpListener>,
    seen: Arc<Mutex<Vec<OriginRequest>>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::channel(16);
    let mut acceptors = tokio::task::JoinSet::new();
    for listener in listeners {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            continue;
        };
        let tx = accepted_tx.clone();
        acceptors.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                if tx.send(tcp).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(accepted_tx);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = accepted_rx.recv() => {
                let Some(tcp) = accepted else { break };
                let seen = seen.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let seen = seen.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(req, &seen)) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
                    let _ = tokio::time::timeout(CONNECTION_LIMIT, conn).await;
                });
            }
        }
    }
    acceptors.abort_all();
    connections.abort_all();
}

fn answer(
    req: hyper::Request<hyper::body::Incoming>,
    seen: &Mutex<Vec<OriginRequest>>,
) -> hyper::Response<Full<Bytes>> {
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.to_string());
    let record = OriginRequest {
        method: req.method().to_string(),
        path: path.clone(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    let body = format!("origin: {} {path}\n", record.method);
    seen.lock().unwrap_or_else(|p| p.into_inner()).push(record);
    hyper::Response::builder()
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn answers_every_path_and_records_the_headers() {
        let origin = Origin::start().expect("origin");
        let mut tcp = std::net::TcpStream::connect(origin.addr()).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(b"GET /healthz?x=1 HTTP/1.1\r\nHost: app\r\nX-SSL-Client-Cert: abc\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("origin: GET /healthz?x=1"), "{answer}");
        let seen = origin.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/healthz?x=1");
        assert_eq!(seen[0].header("x-ssl-client-cert"), Some("abc"));
    }
}
