//! Listen addresses as each program writes them, and where they go: every
//! port the config listens on gets a port of its own on the loopback
//! addresses (IPv4 127.0.0.1, IPv6 ::1), so a redirect server on 80 and the
//! TLS server on 443 stay two listeners.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One listen address of the user's config, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ListenAddr {
    /// A TCP address: IPv6 or not, and the port.
    Tcp { v6: bool, port: u16 },
    /// A unix socket at this path.
    Unix(String),
}

/// Parse an nginx `listen` or Apache `Listen` / `<VirtualHost>` address:
/// `443`, `*:443`, `10.0.0.1:443`, `[::]:443`, `localhost`, `unix:/p`.
/// `default_port` is what a bare host means (nginx 80, Apache 80).
pub(super) fn parse_nginx_or_apache(arg: &str, default_port: u16) -> Option<ListenAddr> {
    let arg = arg.trim_end_matches([';', '>']).trim_matches('"');
    if let Some(path) = arg.strip_prefix("unix:") {
        return Some(ListenAddr::Unix(path.to_string()));
    }
    if let Some(rest) = arg.strip_prefix('[') {
        let (_, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        return Some(ListenAddr::Tcp { v6: true, port });
    }
    if let Ok(port) = arg.parse::<u16>() {
        return Some(ListenAddr::Tcp { v6: false, port });
    }
    match arg.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some(ListenAddr::Tcp {
            v6: false,
            port: port.parse().ok()?,
        }),
        Some(_) => None,
        None if arg.is_empty() || arg == "_default_" => None,
        None => Some(ListenAddr::Tcp {
            v6: false,
            port: default_port,
        }),
    }
}

/// Parse one address of an HAProxy `bind` list: `:443`, `*:443`,
/// `0.0.0.0:443`, `:::443`, `[::]:443`, `ipv6@:443`, `unix@/p`, `/p`.
pub(super) fn parse_haproxy(addr: &str) -> Option<ListenAddr> {
    if let Some(path) = addr.strip_prefix("unix@") {
        return Some(ListenAddr::Unix(path.to_string()));
    }
    if addr.starts_with('/') {
        return Some(ListenAddr::Unix(addr.to_string()));
    }
    if let Ok(port) = addr.parse::<u16>() {
        return Some(ListenAddr::Tcp { v6: false, port });
    }
    let (forced_v6, addr) = match addr.split_once('@') {
        Some(("ipv6", a)) => (true, a),
        Some(("ipv4", a)) => (false, a),
        Some(_) => return None,
        None => (false, addr),
    };
    let (host, port) = addr.rsplit_once(':')?;
    let port = port.parse().ok()?;
    Some(ListenAddr::Tcp {
        v6: forced_v6 || host.contains(':') || host.starts_with('['),
        port,
    })
}

/// Where each of the config's ports goes.
pub(super) struct PortPlan<'a> {
    next_free: &'a mut dyn FnMut() -> std::io::Result<u16>,
    by_port: BTreeMap<u16, u16>,
    /// Whether ::1 can be bound here; without it, IPv6 listeners go to
    /// 127.0.0.1 too.
    v6_loopback: bool,
}

impl<'a> PortPlan<'a> {
    pub(super) fn new(next_free: &'a mut dyn FnMut() -> std::io::Result<u16>) -> Self {
        PortPlan {
            next_free,
            by_port: BTreeMap::new(),
            v6_loopback: std::net::TcpListener::bind("[::1]:0").is_ok(),
        }
    }

    /// The loopback address that stands for `port` of the config (the same
    /// one each time the port appears).
    pub(super) fn place(&mut self, v6: bool, port: u16) -> std::io::Result<SocketAddr> {
        let new = match self.by_port.get(&port) {
            Some(p) => *p,
            None => {
                let p = (self.next_free)()?;
                self.by_port.insert(port, p);
                p
            }
        };
        let ip = if v6 && self.v6_loopback {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        Ok(SocketAddr::new(ip, new))
    }
}

/// How a program writes a socket address (`[::1]:443` for IPv6).
pub(super) fn written(addr: SocketAddr) -> String {
    addr.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_and_apache_addresses() {
        let tcp = |v6, port| Some(ListenAddr::Tcp { v6, port });
        assert_eq!(parse_nginx_or_apache("443", 80), tcp(false, 443));
        assert_eq!(parse_nginx_or_apache("*:8443;", 80), tcp(false, 8443));
        assert_eq!(parse_nginx_or_apache("10.0.0.1:443", 80), tcp(false, 443));
        assert_eq!(parse_nginx_or_apache("[::]:443", 80), tcp(true, 443));
        assert_eq!(parse_nginx_or_apache("[::1]", 80), tcp(true, 80));
        assert_eq!(parse_nginx_or_apache("localhost;", 80), tcp(false, 80));
        assert_eq!(parse_nginx_or_apache("*:443>", 80), tcp(false, 443));
        assert_eq!(
            parse_nginx_or_apache("unix:/run/a.sock", 80),
            Some(ListenAddr::Unix("/run/a.sock".into()))
        );
        assert_eq!(parse_nginx_or_apache("_default_", 80), None);
    }

    #[test]
    fn haproxy_addresses() {
        let tcp = |v6, port| Some(ListenAddr::Tcp { v6, port });
        assert_eq!(parse_haproxy(":443"), tcp(false, 443));
        assert_eq!(parse_haproxy("443"), tcp(false, 443));
        assert_eq!(parse_haproxy("*:8080"), tcp(false, 8080));
        assert_eq!(parse_haproxy(":::443"), tcp(true, 443));
        assert_eq!(parse_haproxy("[::]:443"), tcp(true, 443));
        assert_eq!(parse_haproxy("ipv6@:443"), tcp(true, 443));
        assert_eq!(
            parse_haproxy("/run/h.sock"),
            Some(ListenAddr::Unix("/run/h.sock".into()))
        );
    }

    #[test]
    fn each_port_gets_one_loopback_port() {
        let mut n = 20_000;
        let mut next = || {
            n += 1;
            Ok(n)
        };
        let mut plan = PortPlan::new(&mut next);
        let a = plan.place(false, 443).unwrap();
        let b = plan.place(false, 80).unwrap();
        let c = plan.place(true, 443).unwrap();
        assert_eq!(a.port(), c.port());
        assert_ne!(a.port(), b.port());
        assert!(a.ip().is_loopback() && c.ip().is_loopback());
    }
}
