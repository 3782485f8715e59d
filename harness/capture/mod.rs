//! Captures a person opens in Wireshark: the client connections of a case
//! as pcapng, with a Decryption Secrets Block carrying the TLS key log, so
//! Wireshark and tshark decrypt TLS 1.3 (the CertificateRequest, the
//! client's Certificate) with no set-up.
//!
//! The packets are synthesized from what the client's tap saw
//! ([`WireCapture`]): Ethernet, IP and TCP headers around the bytes, one
//! segment per read or write, with a three-way handshake before and FINs
//! after, so that the TCP and TLS dissectors reassemble the streams.

use crate::observation::transcript::WireCapture;
use std::path::{Path, PathBuf};

#[cfg(feature = "pcap")]
mod pcapng;
#[cfg(feature = "pcap")]
pub use pcapng::to_pcapng;

/// The connections as one pcapng file's bytes: built without the `pcap`
/// feature, always [`CaptureError::NotBuilt`].
#[cfg(not(feature = "pcap"))]
pub fn to_pcapng(_captures: &[WireCapture]) -> Result<Vec<u8>, CaptureError> {
    Err(CaptureError::NotBuilt)
}

/// Why a capture file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[cfg(feature = "pcap")]
    #[error("pcapng: {0}")]
    Pcap(#[from] pcap_file::PcapError),
    #[cfg(feature = "pcap")]
    #[error("packet: {0}")]
    Packet(#[from] etherparse::err::packet::BuildWriteError),
    /// Built without the `pcap` feature.
    #[error("pcapng captures need mtls-harness's `pcap` feature")]
    NotBuilt,
}

/// Write the connections to `path` (replacing it).
pub fn write_pcapng(path: &Path, captures: &[WireCapture]) -> Result<(), CaptureError> {
    let bytes = to_pcapng(captures)?;
    std::fs::write(path, bytes).map_err(|source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A file name for a case: `<namespace>__<name>__<profile>__tls<v>.pcapng`
/// with anything but letters, digits, `.`, `-` and `_` made `_`.
pub fn file_name(scenario: &str, profile: &str, tls: &str) -> String {
    let raw = format!("{}__{}__tls{}", scenario.replace("::", "__"), profile, tls);
    let safe: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.pcapng")
}
