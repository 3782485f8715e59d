//! Middleboxes between client and gateway: an HTTP CONNECT tunnel (bytes pass
//! through untouched), an interceptor (terminates the client's TLS without
//! asking for a certificate and opens a new upstream TLS connection,
//! optionally with a certificate of its own) and an offloader (asks for the
//! client's certificate and forwards it in a header, or not at all).

use super::{provider, Timeouts, TlsError};
use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::observation::TlsVersion;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What a middlebox needs.
#[derive(Debug, Clone)]
pub struct MiddleboxConfig {
    pub kind: MiddleboxKind,
    /// offload: the header carrying the client's certificate.
    pub header: Option<ForwardHeader>,
    /// A terminating proxy asks the client for a certificate.
    pub request_client_cert: bool,
    /// Terminating: the certificate shown to clients.
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: Arc<PrivateKeyDer<'static>>,
    /// The gateway.
    pub upstream: SocketAddr,
    pub upstream_name: String,
    pub upstream_roots: Vec<CertificateDer<'static>>,
    /// The proxy's own client certificate toward the gateway.
    pub upstream_identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    pub versions: Vec<TlsVersion>,
    pub timeouts: Timeouts,
}

/// A running middlebox; dropping it stops it.
pub struct RunningMiddlebox {
    addr: SocketAddr,
    service: super::ServiceHandle,
}

impl RunningMiddlebox {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn shutdown(self) {
        self.service.shutdown().await;
    }
}

struct Shared {
    config: MiddleboxConfig,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    connector: tokio_rustls::TlsConnector,
}

/// Start a middlebox on 127.0.0.1 (port 0).
pub async fn start(config: MiddleboxConfig) -> Result<RunningMiddlebox, TlsError> {
    let versions = super::rustls_versions(&config.versions);
    let acceptor = match config.kind {
        MiddleboxKind::Tunnel => None,
        _ => {
            let mut sc = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
                .with_protocol_versions(&versions)
                .map_err(|source| TlsError::Config {
                    what: "middlebox TLS versions",
                    source,
                })?
                .with_client_cert_verifier(Arc::new(super::server::GatewayVerifier::accept_any(
                    config.request_client_cert,
                )))
                .with_single_cert(config.server_chain.clone(), config.server_key.clone_key())
                .map_err(|source| TlsError::Config {
                    what: "middlebox certificate",
                    source,
                })?;
            sc.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(sc)))
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    for r in &config.upstream_roots {
        roots.add(r.clone()).map_err(|source| TlsError::Config {
            what: "middlebox upstream trust",
            source,
        })?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&versions)
        .map_err(|source| TlsError::Config {
            what: "middlebox TLS versions",
            source,
        })?
        .with_root_certificates(roots);
    let client_config = match &config.upstream_identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|source| TlsError::Config {
                what: "middlebox upstream identity",
                source,
            })?,
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| TlsError::Io {
            what: "middlebox listen".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| TlsError::Io {
        what: "middlebox listen".into(),
        source,
    })?;
    let shared = Arc::new(Shared {
        config,
        acceptor,
        connector,
    });
    let service = super::ServiceHandle::spawn(move |stop| accept_loop(listener, shared, stop));
    Ok(RunningMiddlebox { addr, service })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let shared = shared.clone();
                conns.spawn(async move {
                    let limit = shared.config.timeouts.handshake + shared.config.timeouts.response * 2;
                    let _ = tokio::time::timeout(limit, serve_one(tcp, shared)).await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_one(tcp: TcpStream, shared: Arc<Shared>) {
    match &shared.acceptor {
        None => {
            let s = shared.clone();
            let svc = service_fn(move |req| tunnel(req, s.clone()));
            let io = hyper_util::rt::TokioIo::new(tcp);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .with_upgrades()
                .await;
        }
        Some(acceptor) => {
            let Ok(Ok(tls)) =
                tokio::time::timeout(shared.config.timeouts.handshake, acceptor.accept(tcp)).await
            else {
                return;
            };
            let client_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first().cloned());
            let s = shared.clone();
            let svc = service_fn(move |req| forward(req, s.clone(), client_cert.clone()));
            let io = hyper_util::rt::TokioIo::new(tls);
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(io, svc)
                .await;
        }
    }
}

type ProxyResponse = hyper::Response<Full<Bytes>>;

fn plain(status: u16, text: String) -> Result<ProxyResponse, std::convert::Infallible> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    Ok(r)
}

/// CONNECT to the configured gateway only; bytes pass through untouched.
async fn tunnel(
    req: hyper::Request<hyper::body::Incoming>,
    shared: Arc<Shared>,
) -> Result<ProxyResponse, std::convert::Infallible> {
    if req.method() != hyper::Method::CONNECT {
        return plain(405, "this proxy only tunnels (CONNECT)\n".into());
    }
    let wanted = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let upstream = shared.config.upstream;
    let allowed = [
        upstream.to_string(),
        format!("{}:{}", shared.config.upstream_name, upstream.port()),
    ];
    if !allowed.contains(&wanted) {
        return plain(
            403,
            format!("CONNECT {wanted}: not the configured upstream\n"),
        );
    }
    let timeouts = shared.config.timeouts;
    let Ok(Ok(mut up)) = tokio::time::timeout(timeouts.connect, TcpStream::connect(upstream)).await
    else {
        return plain(502, format!("cannot reach {upstream}\n"));
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let mut client = hyper_util::rt::TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
        }
    });
    plain(200, String::new())
}

/// Re-send the request over a new TLS connection to the gateway.
async fn forward(
    req: hyper::Request<hyper::body::Incoming>,
    shared: Arc<Shared>,
    client_cert: Option<CertificateDer<'static>>,
) -> Result<ProxyResponse, std::convert::Infallible> {
    let cfg = &shared.config;
    let t = cfg.timeouts;
    let Ok(Ok(tcp)) = tokio::time::timeout(t.connect, TcpStream::connect(cfg.upstream)).await
    else {
        return plain(
            502,
            format!("middlebox: cannot reach the gateway at {}\n", cfg.upstream),
        );
    };
    let Ok(name) = ServerName::try_from(cfg.upstream_name.clone()) else {
        return plain(502, "middlebox: bad upstream name\n".into());
    };
    let tls = match tokio::time::timeout(t.handshake, shared.connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            return plain(
                502,
                format!("middlebox: upstream TLS handshake failed: {e}\n"),
            )
        }
        Err(_) => return plain(504, "middlebox: upstream TLS handshake timed out\n".into()),
    };
    let io = hyper_util::rt::TokioIo::new(tls);
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io).await
    else {
        return plain(502, "middlebox: upstream HTTP failed\n".into());
    };
    let conn_task = tokio::spawn(conn);
    let mut up = hyper::Request::builder()
        .method(req.method())
        .uri(req.uri().path());
    for (k, v) in req.headers() {
        // The proxy owns the forwarding header: drop any the client sent.
        if cfg
            .header
            .is_some_and(|h| k.as_str().eq_ignore_ascii_case(h.header_name()))
        {
            continue;
        }
        up = up.header(k, v);
    }
    if let (MiddleboxKind::Offload, Some(h), Some(cert)) = (cfg.kind, cfg.header, &client_cert) {
        up = up.header(h.header_name(), super::forwarded::encode(h, cert));
    }
    let Ok(up) = up.body(Empty::<Bytes>::new()) else {
        return plain(502, "middlebox: cannot build the upstream request\n".into());
    };
    let result = tokio::time::timeout(t.response, async {
        let resp = sender.send_request(up).await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, headers, body))
    })
    .await;
    conn_task.abort();
    match result {
        Ok(Ok((status, headers, body))) => {
            let mut r = hyper::Response::new(Full::new(body));
            *r.status_mut() = status;
            if let Some(ct) = headers.get("content-type") {
                r.headers_mut().insert("content-type", ct.clone());
            }
            Ok(r)
        }
        Ok(Err(e)) => {
            let alert = super::classify::find_rustls_error(&e)
                .map(|e| e.to_string())
                .unwrap_or_else(|| e.to_string());
            plain(502, format!("middlebox: upstream failed: {alert}\n"))
        }
        Err(_) => plain(504, "middlebox: upstream response timed out\n".into()),
    }
}

/// Open a CONNECT tunnel through `proxy` to `target`; the stream is then the
/// raw connection to the target.
pub async fn connect_via(
    proxy: SocketAddr,
    target: &str,
    timeouts: Timeouts,
) -> Result<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>, TlsError> {
    let tcp = tokio::time::timeout(timeouts.connect, TcpStream::connect(proxy))
        .await
        .map_err(|_| TlsError::TimedOut {
            what: format!("connect to proxy {proxy}"),
        })?
        .map_err(|source| TlsError::Io {
            what: format!("connect to proxy {proxy}"),
            source,
        })?;
    let as_proxy_error = |source| TlsError::Proxy { proxy, source };
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(hyper_util::rt::TokioIo::new(tcp))
            .await
            .map_err(as_proxy_error)?;
    tokio::spawn(conn.with_upgrades());
    let req = hyper::Request::builder()
        .method(hyper::Method::CONNECT)
        .uri(target)
        .header("host", target)
        .body(Empty::<Bytes>::new())
        .expect("a CONNECT request with a host header is valid");
    let resp = tokio::time::timeout(timeouts.response, sender.send_request(req))
        .await
        .map_err(|_| TlsError::TimedOut {
            what: format!("proxy {proxy}: CONNECT {target}"),
        })?
        .map_err(as_proxy_error)?;
    if resp.status() != hyper::StatusCode::OK {
        return Err(TlsError::ConnectRefused {
            proxy,
            status: resp.status(),
        });
    }
    let upgraded = hyper::upgrade::on(resp).await.map_err(as_proxy_error)?;
    Ok(hyper_util::rt::TokioIo::new(upgraded))
}
