//! The pcapng writer itself (feature `pcap`): synthesized Ethernet, IP and
//! TCP packets around what the tap saw, and the key log in a Decryption
//! Secrets Block.

use super::CaptureError;
use crate::observation::transcript::WireCapture;
use crate::observation::Side;
use etherparse::PacketBuilder;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::unknown::UnknownBlock;
use pcap_file::pcapng::{PcapNgBlock, PcapNgWriter};
use pcap_file::{DataLink, Endianness};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

/// pcapng Decryption Secrets Block.
const DSB_BLOCK_TYPE: u32 = 0x0000_000a;
/// Its secrets type for an NSS TLS key log ("TLSK").
const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;
/// Payload bytes per synthesized TCP segment (well under IPv4's 64 KiB).
const MAX_SEGMENT: usize = 16 * 1024;
const WINDOW: u16 = 65535;

/// One synthesized packet.
struct Packet {
    at: Duration,
    frame: Vec<u8>,
}

/// The connections as one pcapng file's bytes.
pub fn to_pcapng(captures: &[WireCapture]) -> Result<Vec<u8>, CaptureError> {
    let mut packets = Vec::new();
    for (i, c) in captures.iter().enumerate() {
        packets.extend(packets_of(c, i as u32)?);
    }
    // Connections of one case may overlap in time: one timeline.
    packets.sort_by_key(|p| p.at);
    let mut writer = PcapNgWriter::with_endianness(Vec::new(), Endianness::Little)?;
    writer.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Borrowed("lo")),
            // Timestamps are written in nanoseconds.
            InterfaceDescriptionOption::IfTsResol(9),
        ],
    })?;
    let key_log: String = captures.iter().map(|c| c.key_log.as_str()).collect();
    if !key_log.is_empty() {
        let mut body = Vec::with_capacity(8 + key_log.len());
        body.extend_from_slice(&DSB_TLS_KEY_LOG.to_le_bytes());
        body.extend_from_slice(&(key_log.len() as u32).to_le_bytes());
        body.extend_from_slice(key_log.as_bytes());
        // The block writer pads the body to 32 bits, as the format asks.
        writer.write_block(&UnknownBlock::new(DSB_BLOCK_TYPE, 0, &body).into_block())?;
    }
    for p in &packets {
        writer.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: p.at,
            original_len: p.frame.len() as u32,
            data: Cow::Borrowed(&p.frame),
            options: vec![],
        })?;
    }
    Ok(writer.into_inner())
}

/// One TCP connection's packets: SYN, SYN-ACK, ACK, the data both ways,
/// then FIN from each side.
fn packets_of(c: &WireCapture, index: u32) -> Result<Vec<Packet>, CaptureError> {
    let base = c.started.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (client, server) = endpoints(c, index);
    // Distinct initial sequence numbers per connection keep streams apart.
    let mut next = [1_000_000 + index * 7919, 2_000_000 + index * 7919];
    let mut out = Vec::new();
    let mut at = base;
    let mut emit = |from: Side, at: Duration, flags: Flags, payload: &[u8], next: &mut [u32; 2]| {
        let (src, dst, me, them) = match from {
            Side::Client => (client, server, 0, 1),
            Side::Server => (server, client, 1, 0),
        };
        let frame = frame(src, dst, next[me], next[them], flags, payload)?;
        next[me] = next[me]
            .wrapping_add(payload.len() as u32)
            .wrapping_add(u32::from(flags.syn || flags.fin));
        out.push(Packet { at, frame });
        Ok::<(), CaptureError>(())
    };
    emit(Side::Client, at, Flags::SYN, &[], &mut next)?;
    emit(Side::Server, at, Flags::SYN_ACK, &[], &mut next)?;
    emit(Side::Client, at, Flags::ACK, &[], &mut next)?;
    for seg in &c.segments {
        at = base + Duration::from_micros(seg.at_us);
        for chunk in seg.bytes.chunks(MAX_SEGMENT) {
            emit(seg.from, at, Flags::PSH_ACK, chunk, &mut next)?;
        }
    }
    let end = at + Duration::from_micros(1);
    emit(Side::Client, end, Flags::FIN_ACK, &[], &mut next)?;
    emit(Side::Server, end, Flags::FIN_ACK, &[], &mut next)?;
    emit(Side::Client, end, Flags::ACK, &[], &mut next)?;
    Ok(out)
}

/// The two ends; a connection that never learnt its local address (or whose
/// families differ) gets a stand-in loopback one with a distinct port.
fn endpoints(c: &WireCapture, index: u32) -> (SocketAddr, SocketAddr) {
    let same_family = c.client.is_ipv4() == c.server.is_ipv4();
    if c.client.port() != 0 && same_family {
        return (c.client, c.server);
    }
    let ip = match c.server.ip() {
        IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    };
    (
        SocketAddr::new(ip, 40000 + (index % 20000) as u16),
        c.server,
    )
}

#[derive(Debug, Clone, Copy)]
struct Flags {
    syn: bool,
    ack: bool,
    psh: bool,
    fin: bool,
}

impl Flags {
    const SYN: Flags = Flags {
        syn: true,
        ack: false,
        psh: false,
        fin: false,
    };
    const SYN_ACK: Flags = Flags {
        syn: true,
        ack: true,
        psh: false,
        fin: false,
    };
    const ACK: Flags = Flags {
        syn: false,
        ack: true,
        psh: false,
        fin: false,
    };
    const PSH_ACK: Flags = Flags {
        syn: false,
        ack: true,
        psh: true,
        fin: false,
    };
    const FIN_ACK: Flags = Flags {
        syn: false,
        ack: true,
        psh: false,
        fin: true,
    };
}

fn frame(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Result<Vec<u8>, CaptureError> {
    let link = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let ip = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => link.ipv4(s.octets(), d.octets(), 64),
        (s, d) => link.ipv6(v6(s), v6(d), 64),
    };
    let mut tcp = ip.tcp(src.port(), dst.port(), seq, WINDOW);
    if flags.syn {
        tcp = tcp.syn();
    }
    if flags.fin {
        tcp = tcp.fin();
    }
    if flags.psh {
        tcp = tcp.psh();
    }
    if flags.ack {
        tcp = tcp.ack(ack);
    }
    let mut out = Vec::with_capacity(tcp.size(payload.len()));
    tcp.write(&mut out, payload)?;
    Ok(out)
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file_name;
    use crate::observation::transcript::WireSegment;

    fn sample() -> WireCapture {
        let mut c = WireCapture::new(
            "127.0.0.1:50000".parse().expect("addr"),
            "127.0.0.1:8443".parse().expect("addr"),
        );
        c.segments = vec![
            WireSegment {
                from: Side::Client,
                at_us: 10,
                bytes: vec![0x16; 40_000],
            },
            WireSegment {
                from: Side::Server,
                at_us: 20,
                bytes: b"hello".to_vec(),
            },
        ];
        c.key_log = "CLIENT_RANDOM 00 11\n".into();
        c
    }

    #[test]
    fn blocks_in_order_with_the_key_log_before_the_packets() {
        let bytes = to_pcapng(&[sample()]).expect("pcapng");
        let mut blocks = Vec::new();
        let mut rest = &bytes[..];
        while rest.len() >= 12 {
            let kind = u32::from_le_bytes(rest[..4].try_into().expect("4"));
            let len = u32::from_le_bytes(rest[4..8].try_into().expect("4")) as usize;
            assert_eq!(len % 4, 0, "block lengths are 32-bit aligned");
            let trailer = u32::from_le_bytes(rest[len - 4..len].try_into().expect("4"));
            assert_eq!(trailer as usize, len, "trailing length repeats the header");
            blocks.push((kind, rest[8..len - 4].to_vec()));
            rest = &rest[len..];
        }
        assert!(rest.is_empty());
        let kinds: Vec<u32> = blocks.iter().map(|b| b.0).collect();
        // SHB, IDB, DSB, then 3 + 3 (40,000 bytes in 16 KiB segments) + 1 + 3 packets.
        assert_eq!(kinds[..3], [0x0a0d0d0a, 1, DSB_BLOCK_TYPE]);
        assert_eq!(kinds.len(), 3 + 10);
        assert!(kinds[3..].iter().all(|k| *k == 6));
        let dsb = &blocks[2].1;
        assert_eq!(dsb[..4], DSB_TLS_KEY_LOG.to_le_bytes());
        let len = u32::from_le_bytes(dsb[4..8].try_into().expect("4")) as usize;
        assert_eq!(&dsb[8..8 + len], b"CLIENT_RANDOM 00 11\n");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name("seeds::003_x", "nginx (nginx)", "1.3"),
            "seeds__003_x__nginx__nginx___tls1.3.pcapng"
        );
        assert_eq!(
            file_name("a::b", "https://h:1 (iis)", "1.2"),
            "a__b__https___h_1__iis___tls1.2.pcapng"
        );
    }
}
