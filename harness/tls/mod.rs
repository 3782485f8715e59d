//! TLS: the built-in gateway server, the clients, CA-name lists, chain
//! verification and error classification. This layer knows neither the
//! scenario format nor the gateway profiles: the knobs it needs are in
//! [`crate::knobs`], the decisions it delegates are [`policy::ClientAuthPolicy`].

pub mod alert_rewrite;
pub mod ca_names;
pub mod classify;
pub mod client;
pub mod deferred_write_error;
pub mod error;
pub mod forwarded;
pub mod load_client;
pub mod picker;
pub mod policy;
pub mod post_handshake;
pub mod proxy;
pub mod server;
pub mod tap;
pub mod transcript;
pub mod verify;

pub use error::TlsError;

use std::time::Duration;

/// Run `work` that blocks (a network fetch from inside a handshake
/// callback, a CPU-bound measurement) without stalling the async workers:
/// on a multi-thread runtime the other tasks move off this thread first;
/// elsewhere it simply runs. A revocation check that waits a second on a
/// hanging responder otherwise holds one of the two workers of a 2-core
/// machine, and every other case of the run waits with it.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The crypto provider everywhere: ring (it builds much faster than aws-lc-rs
/// on small machines and gives the same results here).
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Install ring as the process default (reqwest's `rustls-no-provider` needs
/// one). Safe to call many times.
pub fn install_default_provider() {
    let _ = provider().install_default();
}

/// rustls's protocol versions for ours.
pub fn rustls_versions(
    versions: &[crate::observation::TlsVersion],
) -> Vec<&'static rustls::SupportedProtocolVersion> {
    use crate::observation::TlsVersion;
    versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect()
}

/// A background service (accept loop) and the switch that stops it; dropping
/// it stops the service too.
#[derive(Debug)]
pub struct ServiceHandle {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ServiceHandle {
    /// Spawn `service`, handing it the stop signal.
    pub fn spawn<F>(service: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F) -> Self
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(service(stop_rx));
        ServiceHandle {
            stop,
            task: Some(task),
        }
    }

    /// Signal the stop and wait (up to 2 s) for the service to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for ServiceHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Per-stage time limits: a silent peer is a HANG, never a stuck test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub handshake: Duration,
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            handshake: Duration::from_secs(5),
            response: Duration::from_secs(5),
        }
    }
}
