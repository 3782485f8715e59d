//! What the gateway saw of each connection, and the book that keeps it.

use crate::observation::{CaNamesSeen, Side, TlsVersion};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
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
    /// The handshake resumed an earlier session: no CertificateRequest,
    /// no Certificate; the identity (if any) is the earlier handshake's.
    pub resumed: bool,
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
    /// The subject of the client's leaf certificate, when the handshake
    /// completed with one (which certificate a real client chose). Not in
    /// `serve`'s JSON lines (their shape is documented).
    #[serde(skip)]
    pub client_cert_subject: Option<String>,
    /// The start of the page the gateway answered with (what a client that
    /// shows no page text, a headless browser, was sent).
    #[serde(skip)]
    pub body_excerpt: Option<String>,
    /// The gateway closed the connection without answering the request
    /// (nginx waiting on an OCSP responder until client_header_timeout).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub closed_without_response: bool,
    #[serde(skip)]
    pub done: bool,
    /// Order of completion.
    #[serde(skip)]
    pub seq: u64,
    /// Order of arrival (the `seq` of the connection's first record).
    #[serde(skip)]
    pub opened: u64,
}

/// How much of its answer's page a record keeps (as a client's observation).
pub(super) const BODY_EXCERPT_BYTES: usize = 4096;

/// How many finished connections a gateway remembers for `record_for`: a
/// long-running `serve` must not grow with every client address it sees.
pub(super) const FINISHED_KEPT: usize = 4096;

/// The records by peer address: every open connection, and the most recent
/// finished ones ([`FINISHED_KEPT`] unless told otherwise).
pub(super) struct RecordBook {
    pub(super) records: Mutex<HashMap<SocketAddr, ServerRecord>>,
    /// Finished records, oldest first, by (seq, peer).
    finished: Mutex<VecDeque<(u64, SocketAddr)>>,
    seq: std::sync::atomic::AtomicU64,
    /// How many finished records are kept.
    kept: std::sync::atomic::AtomicUsize,
    pub(super) changed: Notify,
}

impl Default for RecordBook {
    fn default() -> Self {
        RecordBook {
            records: Mutex::default(),
            finished: Mutex::default(),
            seq: Default::default(),
            kept: FINISHED_KEPT.into(),
            changed: Notify::new(),
        }
    }
}

impl RecordBook {
    /// Keep at most `n` finished records (0: forget each once it is
    /// finished; its event is what reports it).
    pub(super) fn keep_finished(&self, n: usize) {
        self.kept.store(n, Ordering::SeqCst);
    }

    pub(super) fn put(&self, peer: SocketAddr, mut rec: ServerRecord) {
        rec.seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let done = rec.done.then_some(rec.seq);
        let mut records = self.records.lock().expect("record lock");
        rec.opened = match records.get(&peer) {
            Some(open) if !open.done => open.opened,
            _ => rec.seq,
        };
        records.insert(peer, rec);
        if let Some(seq) = done {
            let mut finished = self.finished.lock().expect("record lock");
            finished.push_back((seq, peer));
            let kept = self.kept.load(Ordering::SeqCst);
            while finished.len() > kept {
                let Some((old_seq, old_peer)) = finished.pop_front() else {
                    break;
                };
                // The address may have been reused by a newer connection.
                if records.get(&old_peer).is_some_and(|r| r.seq == old_seq) {
                    records.remove(&old_peer);
                }
            }
        }
        drop(records);
        self.changed.notify_waiters();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.records.lock().expect("record lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_book_told_to_keep_none_forgets_each_finished_record() {
        let book = RecordBook::default();
        book.keep_finished(0);
        let open: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        book.put(open, ServerRecord::default());
        for port in 2..1000u16 {
            let peer = SocketAddr::from(([127, 0, 0, 2], port));
            book.put(peer, ServerRecord::default());
            book.put(
                peer,
                ServerRecord {
                    done: true,
                    ..Default::default()
                },
            );
        }
        assert_eq!(book.len(), 1);
        assert!(book.finished.lock().expect("lock").is_empty());
        assert!(book.records.lock().expect("lock").contains_key(&open));
    }

    #[test]
    fn finished_records_are_bounded_open_ones_are_kept() {
        let book = RecordBook::default();
        let open: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        book.put(open, ServerRecord::default());
        for port in 2..(FINISHED_KEPT as u16 + 1002) {
            let peer = SocketAddr::from(([127, 0, 0, 1], port));
            book.put(
                peer,
                ServerRecord {
                    done: true,
                    ..Default::default()
                },
            );
        }
        assert_eq!(book.len(), FINISHED_KEPT + 1);
        assert!(book.records.lock().expect("lock").contains_key(&open));
        let newest = SocketAddr::from(([127, 0, 0, 1], FINISHED_KEPT as u16 + 1001));
        assert!(book.records.lock().expect("lock").contains_key(&newest));
        let oldest = SocketAddr::from(([127, 0, 0, 1], 2));
        assert!(!book.records.lock().expect("lock").contains_key(&oldest));
    }
}
