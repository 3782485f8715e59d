//! What the gateway saw of each connection, and the book that keeps it.

use crate::observation::{CaNamesSeen, Side, TlsVersion};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use tokio::sync::Notify;

/// What the gateway saw of one connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerRecord {
    pub peer: String,
    pub profile: String,
    pub tls_version: Option<TlsVersion>,
    pub certificate_requested: bool,
    pub ca_names: Option<CaNamesSeen>,
    /// `None` when the handshake ended before it could be known.
    pub client_certificate_sent: Option<bool>,
    pub handshake_complete: bool,
    /// Alert the gateway sent (snake_case), or the one it received.
    pub alert: Option<String>,
    pub alert_sent_by: Option<Side>,
    pub cert_status: Option<String>,
    pub http_status: Option<u16>,
    pub log: String,
    /// The CA list did not fit a CertificateRequest; the gateway aborted as
    /// OpenSSL does.
    pub ca_list_oversized: bool,
    pub hang: Option<String>,
    #[serde(skip)]
    pub done: bool,
    /// Order of completion.
    #[serde(skip)]
    pub seq: u64,
}

#[derive(Default)]
pub(super) struct RecordBook {
    pub(super) records: Mutex<HashMap<SocketAddr, ServerRecord>>,
    seq: std::sync::atomic::AtomicU64,
    pub(super) changed: Notify,
}

impl RecordBook {
    pub(super) fn put(&self, peer: SocketAddr, mut rec: ServerRecord) {
        rec.seq = self.seq.fetch_add(1, Ordering::SeqCst);
        self.records.lock().expect("record lock").insert(peer, rec);
        self.changed.notify_waiters();
    }
}
