//! A small HTTPS service that requires a client certificate: hyper over
//! tokio-rustls, rustls's `WebPkiClientVerifier` with the CA's CRLs (the
//! whole chain checked, an unknown status denied). Configured from PEM
//! files, as it would be in production.

use http_body_util::Full;
use hyper::body::Bytes;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the service's TLS material is.
#[derive(Debug, Clone)]
pub struct Config {
    /// The service's certificate chain (leaf first), PEM.
    pub cert_chain: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The CAs whose client certificates it accepts, PEM.
    pub client_cas: PathBuf,
    /// A CRL of each of those CAs, PEM.
    pub crls: Vec<PathBuf>,
    /// Where to listen (port 0: any free one).
    pub listen: SocketAddr,
}

/// Why the service could not start.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error(format!("{what}: {e}"))
}

/// The running service; dropping it stops accepting.
pub struct Service {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Service {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The rustls configuration the service uses.
pub fn tls_config(config: &Config) -> Result<rustls::ServerConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.cert_chain)
        .map_err(|e| err("cert_chain")(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err("cert_chain")(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_file(&config.key).map_err(|e| err("key")(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(&config.client_cas)
        .map_err(|e| err("client_cas")(e.to_string()))?
    {
        let ca = ca.map_err(|e| err("client_cas")(e.to_string()))?;
        roots
            .add(ca)
            .map_err(|e| err("client_cas")(e.to_string()))?;
    }
    let mut crls = Vec::new();
    for path in &config.crls {
        let crl = CertificateRevocationListDer::from_pem_file(path)
            .map_err(|e| err("crls")(format!("{}: {e}", path.display())))?;
        crls.push(crl);
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()
        .map_err(|e| err("client verifier")(e.to_string()))?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("versions")(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| err("certificate")(e.to_string()))
}

/// Start the service: `GET /` answers 200 "hello <client subject>".
pub async fn start(config: Config) -> Result<Service, Error> {
    let tls = Arc::new(tls_config(&config)?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| err("listen")(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| err("listen")(e.to_string()))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let who = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.len())
                    .unwrap_or(0);
                let service = hyper::service::service_fn(move |_req| async move {
                    let body = format!("hello, client with a chain of {who}\n");
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(
                        body,
                    ))))
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Ok(Service { addr, task })
}
