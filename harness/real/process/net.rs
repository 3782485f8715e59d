//! The host's TCP sockets, from /proc/net/tcp and /proc/net/tcp6: looking
//! makes no connection a gateway or middlebox would log. Linux only; every
//! answer is `None` (or [`Holder::Unknown`]) where the tables cannot be
//! read.

use super::group_members;
use std::net::SocketAddr;

/// `127.0.0.1:port` as /proc/net/tcp spells it (`0100007F:1F90`).
fn proc_net_addr(addr: SocketAddr) -> String {
    let ip = match addr {
        SocketAddr::V4(a) => u32::from_ne_bytes(a.ip().octets()),
        SocketAddr::V6(_) => 0,
    };
    format!("{ip:08X}:{:04X}", addr.port())
}

/// One row of /proc/net/tcp or /proc/net/tcp6: local and remote address
/// (IPv4-mapped IPv6 addresses in the IPv4 spelling: a JVM binds a
/// dual-stack socket even for 127.0.0.1), state, inode.
struct SocketRow {
    local: String,
    remote: String,
    state: String,
    inode: String,
}

/// Every TCP socket of the host. `None`: /proc/net/tcp cannot be read.
fn socket_rows() -> Option<Vec<SocketRow>> {
    const V4_MAPPED: &str = "0000000000000000FFFF0000";
    let unmap = |a: &str| a.strip_prefix(V4_MAPPED).unwrap_or(a).to_string();
    let v4 = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let v6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    Some(
        v4.lines()
            .skip(1)
            .chain(v6.lines().skip(1))
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.len() > 9).then(|| SocketRow {
                    local: unmap(cols[1]),
                    remote: unmap(cols[2]),
                    state: cols[3].to_string(),
                    inode: cols[9].to_string(),
                })
            })
            .collect(),
    )
}

/// The state (hex, `0A` listening) of every TCP socket from `local` to
/// `remote` (`None`: any remote). `None`: the table cannot be read.
fn socket_states(local: SocketAddr, remote: Option<SocketAddr>) -> Option<Vec<String>> {
    let local = proc_net_addr(local);
    let remote = remote.map(proc_net_addr);
    Some(
        socket_rows()?
            .into_iter()
            .filter(|r| r.local == local && remote.as_deref().is_none_or(|want| r.remote == want))
            .map(|r| r.state)
            .collect(),
    )
}

/// Whether something listens on 127.0.0.1:`port`. `None`: unknown.
pub fn listening(port: u16) -> Option<bool> {
    let states = socket_states(([127, 0, 0, 1], port).into(), None)?;
    Some(states.iter().any(|s| s == "0A"))
}

/// The inode of the socket listening on 127.0.0.1:`port`. `None`: nothing
/// listens there, or the table cannot be read.
fn listening_inode(port: u16) -> Option<Option<String>> {
    let local = proc_net_addr(([127, 0, 0, 1], port).into());
    Some(
        socket_rows()?
            .into_iter()
            .find(|r| r.local == local && r.state == "0A")
            .map(|r| r.inode),
    )
}

/// Whether the server end of the connection `server` <- `client` is closed
/// (the server called close(2): every line it logs about the connection is
/// written by then). `None`: unknown.
pub fn server_closed(server: SocketAddr, client: SocketAddr) -> Option<bool> {
    // 01 established, 03 SYN received, 08 close-wait: still open there.
    let states = socket_states(server, Some(client))?;
    Some(
        !states
            .iter()
            .any(|s| matches!(s.as_str(), "01" | "03" | "08")),
    )
}

/// Who holds the socket listening on 127.0.0.1 at a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A process of the group asked about.
    Group,
    /// Another process (the port was taken by someone else).
    Someone,
    /// Nothing listens on 127.0.0.1 there (yet).
    Nobody,
    /// /proc cannot tell (the tables or the group's descriptors cannot be
    /// read).
    Unknown,
}

/// Who holds the socket listening on 127.0.0.1:`port`: a process of group
/// `pgid` (found by the socket's inode among its open descriptors), or
/// someone else.
pub fn listener_holder(pgid: u32, port: u16) -> Holder {
    let inode = match listening_inode(port) {
        None => return Holder::Unknown,
        Some(None) => return Holder::Nobody,
        Some(Some(inode)) => inode,
    };
    let target = format!("socket:[{inode}]");
    let mut readable = false;
    for (pid, _) in group_members(pgid) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        readable = true;
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target.as_str()) {
                return Holder::Group;
            }
        }
    }
    if readable {
        Holder::Someone
    } else {
        Holder::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn addresses_are_spelled_as_the_kernel_does() {
        assert_eq!(
            proc_net_addr(([127, 0, 0, 1], 8080).into()),
            "0100007F:1F90"
        );
    }

    #[test]
    fn a_listener_and_a_connection_are_seen() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(listening(addr.port()), Some(true));
        // SAFETY: getpgrp has no preconditions.
        let ours = unsafe { libc::getpgrp() } as u32;
        assert_eq!(listener_holder(ours, addr.port()), Holder::Group);
        let client = TcpStream::connect(addr).unwrap();
        let (server_end, _) = l.accept().unwrap();
        let local = client.local_addr().unwrap();
        assert_eq!(server_closed(addr, local), Some(false));
        drop(server_end);
        assert_eq!(server_closed(addr, local), Some(true));
        drop(l);
        assert_eq!(listening(addr.port()), Some(false));
        assert_eq!(listener_holder(ours, addr.port()), Holder::Nobody);
    }
}
