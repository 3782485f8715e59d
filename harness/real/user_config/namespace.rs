//! The namespace way of running a user's configuration: the program in a
//! network and mount namespace of the harness's own, so its listeners keep
//! their addresses and ports, its certificate, key, chain, CA and CRL paths
//! are bind-mounted onto the harness's PKI, its logs, pid files and sockets
//! land on a private tmpfs, and its upstreams, addresses and host names as
//! written, are served by the harness's origin inside a second namespace
//! joined to the first by a veth pair. Neither namespace has a route out.
//!
//! What the rewriting keeps as written is recorded here ([`NsPlan`]);
//! [`enter`] builds the namespaces from it.

use crate::real::netns::{overlay_dirs, Namespace, NamespaceError, NetHandle};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Directories that get a private tmpfs in the gateway's mount namespace:
/// a path the configuration writes under one of them is kept as written.
pub(super) const PRIVATE_ROOTS: &[&str] =
    &["/run", "/var/log", "/var/lib", "/var/cache", "/var/tmp"];

/// The first address of the range host names are given (RFC 2544's
/// benchmarking range: never a real host's).
const NAMES_FROM: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The gateway's own address on its side of the veth pair.
const GATEWAY_SIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 1);

/// What the configuration keeps as written and the namespace must provide.
#[derive(Debug, Clone, Default)]
pub struct NsPlan {
    /// (a path the configuration names, the PKI file mounted on it).
    pub mounts: Vec<(PathBuf, PathBuf)>,
    /// Directories that must exist on the private tmpfs (the parents of
    /// pid, log and socket files; a chroot).
    pub private_dirs: Vec<PathBuf>,
    /// Upstreams as written: host (name or address) and port.
    pub upstreams: Vec<(String, u16)>,
    /// Addresses the listeners name that are not loopback.
    pub listen_ips: Vec<IpAddr>,
    /// Host names, each given an address of [`NAMES_FROM`]'s range.
    pub names: BTreeMap<String, Ipv4Addr>,
    /// Where the upstreams the namespace cannot serve as written (TLS to
    /// the upstream, a variable) were rewritten to: the origin listens
    /// there, on the gateway's own loopback.
    pub rewritten_upstreams: Option<SocketAddr>,
}

impl NsPlan {
    /// Whether `path` (absolute) lies under a private root.
    pub(super) fn is_private(path: &Path) -> bool {
        path.is_absolute() && PRIVATE_ROOTS.iter().any(|r| path.starts_with(r))
    }

    pub(super) fn mount(&mut self, target: &Path, source: PathBuf) {
        if !self.mounts.iter().any(|(t, _)| t == target) {
            self.mounts.push((target.to_path_buf(), source));
        }
    }

    pub(super) fn private_file(&mut self, path: &Path) {
        if let Some(parent) = path.parent() {
            self.private_dir(parent);
        }
    }

    pub(super) fn private_dir(&mut self, path: &Path) {
        if !self.private_dirs.iter().any(|d| d == path) {
            self.private_dirs.push(path.to_path_buf());
        }
    }

    /// The address `name` is given inside.
    fn name(&mut self, name: &str) -> Ipv4Addr {
        let next = Ipv4Addr::from(u32::from(NAMES_FROM) + self.names.len() as u32);
        *self.names.entry(name.to_string()).or_insert(next)
    }

    /// Where a listener written `bare` (`*:443`, `10.0.0.1:443`, `[::]:443`,
    /// `ipv4@:443`, `localhost:443`) is reached inside, given its port.
    pub(super) fn listener(&mut self, bare: &str, v6: bool, port: u16) -> SocketAddr {
        let loopback = if v6 {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let ip = match listen_host(bare).as_deref() {
            None | Some("" | "*" | "localhost") => loopback,
            Some(host) => match host.parse::<IpAddr>() {
                Ok(ip) if ip.is_unspecified() => loopback,
                Ok(ip) => {
                    if !ip.is_loopback() && !self.listen_ips.contains(&ip) {
                        self.listen_ips.push(ip);
                    }
                    ip
                }
                Err(_) => {
                    let ip = IpAddr::V4(self.name(host));
                    if !self.listen_ips.contains(&ip) {
                        self.listen_ips.push(ip);
                    }
                    ip
                }
            },
        };
        SocketAddr::new(ip, port)
    }

    /// An upstream written `host[:port]` (port `default_port` if none).
    /// `false` for what the namespace cannot serve as written (a unix
    /// socket, a variable, IPv6).
    pub(super) fn upstream(&mut self, authority: &str, default_port: u16) -> bool {
        let authority = authority.trim_end_matches(';').trim_matches('"');
        if authority.contains('$') || authority.starts_with("unix:") || authority.starts_with('[') {
            return false;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) => (h, p),
                Err(_) => return false,
            },
            None => (authority, default_port),
        };
        if host.is_empty() || host.contains(':') {
            return false;
        }
        if host.parse::<IpAddr>().is_err() && host != "localhost" {
            self.name(host);
        }
        if !self.upstreams.iter().any(|(h, p)| h == host && *p == port) {
            self.upstreams.push((host.to_string(), port));
        }
        true
    }
}

/// The host part of a listen address as written, if it has one.
fn listen_host(bare: &str) -> Option<String> {
    let bare = bare.split_once('@').map_or(bare, |(_, a)| a);
    if let Some(rest) = bare.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h.to_string());
    }
    if bare.parse::<u16>().is_ok() {
        return None;
    }
    match bare.rsplit_once(':') {
        Some((h, _)) => Some(h.to_string()),
        None => Some(bare.to_string()),
    }
}

/// The namespaces of a running configuration; dropping them ends them.
pub struct Isolated {
    pub gateway: Namespace,
    /// Where the origin's sockets live (`None` when every upstream is on
    /// the gateway's own loopback).
    pub origin: Option<Namespace>,
    /// Each upstream and the socket the origin listens on for it.
    pub origin_listeners: Vec<std::net::TcpListener>,
    /// One line per thing set up, for the report.
    pub notes: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NamespaceError + '_ {
    move |source| NamespaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Build the namespaces `plan` asks for; `scratch` is a directory of the
/// run for the hosts file and the overlays' upper layers.
pub fn enter(plan: &NsPlan, scratch: &Path) -> Result<Isolated, NamespaceError> {
    std::fs::create_dir_all(scratch).map_err(io(scratch))?;
    let gw = Namespace::create(true)?;
    let mut notes = Vec::new();
    // Private tmpfs over the directories a program writes.
    // Each keeps its first level of directories (owner and mode as on the
    // machine, empty): what the programs' packages made there
    // (/var/lib/nginx, /run/haproxy, /var/log/apache2).
    let mut tmpfs = Vec::new();
    let mut script = String::from("set -e\n");
    for root in PRIVATE_ROOTS {
        let p = Path::new(root);
        if !p.is_dir() || p.is_symlink() {
            continue;
        }
        let mut skeleton = Vec::new();
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            use std::os::unix::fs::MetadataExt;
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                skeleton.push(format!(
                    "install -d -m {:o} -o {} -g {} '{}'\n",
                    meta.mode() & 0o7777,
                    meta.uid(),
                    meta.gid(),
                    e.path().display().to_string().replace('\'', "")
                ));
            }
        }
        script.push_str(&format!(
            "mount -t tmpfs -o mode=0755 mtls-harness {root}\n"
        ));
        for line in skeleton {
            script.push_str(&line);
        }
        tmpfs.push(*root);
    }
    gw.run(&["sh", "-c", &script])?;
    notes.push(format!(
        "a private tmpfs on {} (pid files, logs and sockets land there and vanish with the run)",
        tmpfs.join(", ")
    ));
    for dir in &plan.private_dirs {
        gw.run(&["mkdir", "-p", &dir.display().to_string()])?;
    }
    // The PKI onto the configuration's own paths; a path that does not
    // exist here is made in an overlay of its top directory.
    let mut overlays: Vec<PathBuf> = Vec::new();
    for (target, source) in &plan.mounts {
        let exists_inside = target.exists() && !NsPlan::is_private(target);
        if !exists_inside && !NsPlan::is_private(target) {
            let top: PathBuf = target.components().take(2).collect();
            if !overlays.contains(&top) {
                let (upper, work) = overlay_dirs(scratch, &top);
                for d in [&upper, &work] {
                    std::fs::create_dir_all(d).map_err(io(d))?;
                }
                let t = top.display().to_string();
                gw.run(&[
                    "mount",
                    "-t",
                    "overlay",
                    "mtls-harness",
                    "-o",
                    &format!(
                        "lowerdir={t},upperdir={},workdir={}",
                        upper.display(),
                        work.display()
                    ),
                    &t,
                ])?;
                notes.push(format!(
                    "an overlay on {t}: the paths the configuration names there that do not exist are made in it"
                ));
                overlays.push(top);
            }
        }
        if !exists_inside {
            if let Some(parent) = target.parent() {
                gw.run(&["mkdir", "-p", &parent.display().to_string()])?;
            }
            gw.run(&["touch", &target.display().to_string()])?;
        }
        gw.run(&[
            "mount",
            "--bind",
            &source.display().to_string(),
            &target.display().to_string(),
        ])?;
        notes.push(format!(
            "{} is bind-mounted onto the harness's {}",
            target.display(),
            source.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    // Host names: an /etc/hosts of the namespace's own.
    if !plan.names.is_empty() {
        let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        hosts.push_str("\n# mtls-harness: the configuration's host names, served inside\n");
        for (name, ip) in &plan.names {
            hosts.push_str(&format!("{ip} {name}\n"));
        }
        let path = scratch.join("hosts");
        std::fs::write(&path, hosts).map_err(io(&path))?;
        gw.run(&["mount", "--bind", &path.display().to_string(), "/etc/hosts"])?;
        notes.push(format!(
            "host names resolve inside only: {}",
            plan.names
                .iter()
                .map(|(n, ip)| format!("{n} -> {ip}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for ip in &plan.listen_ips {
        let cidr = match ip {
            IpAddr::V4(_) => format!("{ip}/32"),
            IpAddr::V6(_) => format!("{ip}/128"),
        };
        gw.run(&["ip", "addr", "add", &cidr, "dev", "lo"])?;
    }
    if !plan.listen_ips.is_empty() {
        notes.push(format!(
            "listen addresses kept on the namespace's loopback: {}",
            plan.listen_ips
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Upstreams: on the gateway's loopback when written so, else in the
    // origin's namespace behind the veth pair.
    let resolve = |host: &str| -> IpAddr {
        if host == "localhost" {
            return IpAddr::V4(Ipv4Addr::LOCALHOST);
        }
        host.parse()
            .unwrap_or_else(|_| IpAddr::V4(plan.names.get(host).copied().unwrap_or(NAMES_FROM)))
    };
    let mut remote: Vec<IpAddr> = Vec::new();
    for (host, _) in &plan.upstreams {
        let ip = resolve(host);
        if !ip.is_loopback() && !remote.contains(&ip) {
            remote.push(ip);
        }
    }
    let origin = if remote.is_empty() {
        None
    } else {
        let o = Namespace::create(false)?;
        let pid = o.pid().to_string();
        gw.run(&[
            "ip",
            "link",
            "add",
            "mh-gw",
            "type",
            "veth",
            "peer",
            "name",
            "mh-origin",
            "netns",
            &pid,
        ])?;
        gw.run(&[
            "ip",
            "addr",
            "add",
            &format!("{GATEWAY_SIDE}/32"),
            "dev",
            "mh-gw",
        ])?;
        gw.run(&["ip", "link", "set", "mh-gw", "up"])?;
        o.run(&["ip", "link", "set", "mh-origin", "up"])?;
        for ip in &remote {
            o.run(&["ip", "addr", "add", &format!("{ip}/32"), "dev", "mh-origin"])?;
            gw.run(&[
                "ip",
                "route",
                "add",
                &format!("{ip}/32"),
                "dev",
                "mh-gw",
                "src",
                &GATEWAY_SIDE.to_string(),
            ])?;
        }
        o.run(&[
            "ip",
            "route",
            "add",
            &format!("{GATEWAY_SIDE}/32"),
            "dev",
            "mh-origin",
        ])?;
        Some(o)
    };
    let mut origin_listeners = Vec::new();
    let gw_net = gw.handle();
    let origin_net: Option<NetHandle> = origin.as_ref().map(Namespace::handle);
    if let Some(addr) = plan.rewritten_upstreams {
        let l = gw_net
            .bind(addr)
            .map_err(io(Path::new(&format!("the origin on {addr}"))))?;
        origin_listeners.push(l);
    }
    for (host, port) in &plan.upstreams {
        let ip = resolve(host);
        let addr = SocketAddr::new(ip, *port);
        let net = match (&origin_net, ip.is_loopback()) {
            (Some(o), false) => o,
            _ => &gw_net,
        };
        let l = net
            .bind(addr)
            .map_err(io(Path::new(&format!("the origin on {addr}"))))?;
        origin_listeners.push(l);
    }
    if !plan.upstreams.is_empty() {
        notes.push(format!(
            "upstreams served as written by the harness's origin, inside: {}",
            plan.upstreams
                .iter()
                .map(|(h, p)| format!("{h}:{p}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Isolated {
        gateway: gw,
        origin,
        origin_listeners,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_keep_their_address_inside() {
        let mut plan = NsPlan::default();
        assert_eq!(
            plan.listener("*:443", false, 443),
            "127.0.0.1:443".parse().unwrap()
        );
        assert_eq!(
            plan.listener("443", false, 443),
            "127.0.0.1:443".parse().unwrap()
        );
        assert_eq!(
            plan.listener("[::]:443", true, 443),
            "[::1]:443".parse().unwrap()
        );
        assert_eq!(
            plan.listener(":::8443", true, 8443),
            "[::1]:8443".parse().unwrap()
        );
        assert_eq!(
            plan.listener("10.0.0.7:443", false, 443),
            "10.0.0.7:443".parse().unwrap()
        );
        assert_eq!(
            plan.listener("ipv4@0.0.0.0:8443", false, 8443),
            "127.0.0.1:8443".parse().unwrap()
        );
        assert_eq!(plan.listen_ips, vec!["10.0.0.7".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn upstream_names_get_addresses_of_the_benchmark_range() {
        let mut plan = NsPlan::default();
        assert!(plan.upstream("app.internal:8080", 80));
        assert!(plan.upstream("10.0.12.21:8080", 80));
        assert!(plan.upstream("backend", 80));
        assert!(!plan.upstream("unix:/run/app.sock", 80));
        assert!(!plan.upstream("$backend", 80));
        assert_eq!(
            plan.upstreams,
            vec![
                ("app.internal".to_string(), 8080),
                ("10.0.12.21".to_string(), 8080),
                ("backend".to_string(), 80)
            ]
        );
        assert_eq!(plan.names["app.internal"], Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(plan.names["backend"], Ipv4Addr::new(198, 18, 0, 2));
        assert!(NsPlan::is_private(Path::new("/run/haproxy/admin.sock")));
        assert!(!NsPlan::is_private(Path::new("/etc/nginx/ca.pem")));
    }
}
