//! Rendering a scenario's `[server]` table and its PKI into the files and the
//! command line of a real gateway. Nothing here starts a process; see
//! [`super::RealServer`].
//!
//! Each program is one file here implementing `RealProgram`, and one line
//! in the registry below. What every program shares (the server chain and
//! key, which trusted CAs are sent as names and which only verify, filler CA
//! certificates, CRLs) is `material.rs`.

mod material;
mod registry;
mod rendered;

use super::{RealError, Unsupported};
use crate::gateway::{GatewayProfile, Profile, ProfileKind, ProfileMode, Registered};
use crate::knobs::{OnlineRevocation, RevocationCheck};
use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::scenario::schema::{ClientAuth, Resumption, ServerSpec};
use material::Material;
use std::path::Path;

pub(crate) use apache::preamble as apache_preamble;
pub use apache::APACHE_MODULES;
pub use caddy::ADMIN_SOCKET as CADDY_ADMIN_SOCKET;
pub use haproxy::{ADMIN_SOCKET as HAPROXY_ADMIN_SOCKET, SERVER_PEM as HAPROXY_SERVER_PEM};
pub use material::{CA_NAMES, CA_VERIFY, CRL, SERVER_CHAIN, SERVER_KEY, TRUST};
use registry::real_programs;
pub use rendered::RenderedGateway;

// The registry: one line per real gateway program, `Variant => module::Program`
// (the program lives in `render/module.rs`). `RealKind` and its per-program
// dispatch are generated from it.
real_programs! {
    /// nginx, judged as the `nginx` profile.
    Nginx => nginx::Nginx,
    /// HAProxy, judged as the `haproxy` profile.
    Haproxy => haproxy::Haproxy,
    /// Apache httpd with mod_ssl, judged as the `apache` profile.
    Apache => apache::Apache,
    /// `openssl s_server`, judged as the `haproxy` profile.
    Openssl => openssl::Openssl,
    /// A Go `net/http` server built from embedded source, judged as the `go` profile.
    Go => go::Go,
    /// lighttpd with mod_openssl, judged as the `lighttpd` profile (`apache` unless a scenario names lighttpd).
    Lighttpd => lighttpd::Lighttpd,
    /// Apache Tomcat (JSSE), judged as the `jsse` profile.
    Tomcat => tomcat::Tomcat,
    /// Caddy 2 (Go's crypto/tls), judged as the `go` profile.
    Caddy => caddy::Caddy,
}

/// Certificate chains longer than this are rejected by every real gateway.
/// nginx and Apache default to 1 (no intermediates at all), which would hide
/// the interesting failures behind "chain too long"; 10 is what deployments set.
pub const VERIFY_DEPTH: u32 = 10;

/// How a real program gets its listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// It can inherit one: the harness binds 127.0.0.1:0 and listens before
    /// starting it, and hands it the socket as file descriptor
    /// [`INHERITED_FD`]. No other process can take the port in between.
    Inherited,
    /// It binds the port itself. The harness picks a free port, and proves
    /// the server that answers there is this case's (a handshake must show
    /// the case's own server certificate: every case's PKI is unique); a
    /// port someone else took is retried, never judged.
    BindsPort,
}

/// The descriptor an inherited listening socket has in the program.
pub const INHERITED_FD: i32 = 3;

/// Where a rendered program listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// It binds 127.0.0.1:port itself (also what `gateway-config` writes).
    Port(u16),
    /// The socket bound to 127.0.0.1:port is its [`INHERITED_FD`].
    Inherited { port: u16 },
}

impl Listen {
    pub fn port(self) -> u16 {
        match self {
            Listen::Port(p) | Listen::Inherited { port: p } => p,
        }
    }
}

/// One real gateway program: everything the harness knows about it.
pub(crate) trait RealProgram {
    /// The name after `real:` (`nginx`).
    const NAME: &'static str;
    /// The executable's file name, looked for on `PATH` and in the sbin
    /// directories.
    const PROGRAM: &'static str;
    /// The Debian package that provides it.
    const PACKAGE: &'static str;
    /// The built-in profile whose expectations (and `[server.mode]` entry)
    /// judge it.
    type Judge: Registered;
    const PROFILE: ProfileKind = <Self::Judge as Registered>::KIND;

    /// Whether it can inherit its listening socket (then `render` spells
    /// [`Job::inherited_fd`] in its config or environment).
    const LISTENER: Listener = Listener::BindsPort;

    /// Whether it answers with a page of its own rather than the
    /// scenario's body: then `body_contains` is not judged.
    const SERVES_OWN_PAGE: bool = false;

    /// How the program is told to verify client certificates.
    type Verify: Copy;

    /// How the program verifies in `mode` of [`Self::PROFILE`], or `None`
    /// when it has no equivalent. The program's only look at a mode: every
    /// mode it is configured for is named here, so a mode added to a profile
    /// later must be taught to it, not silently rendered as another.
    fn verify(mode: JudgeMode<Self>) -> Option<Self::Verify>;

    /// Add the program's config files, arguments, logs and readiness marker
    /// to `out` (which already holds the shared PKI files).
    /// Whether `render` sets `[server] resumption` (`job.resumption`); a
    /// program that does not is SKIP for a scenario that sets it.
    const RENDERS_RESUMPTION: bool = false;

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError>;

    /// Whether `render` configures an OCSP check of client certificates
    /// (`job.ocsp`). A program that does not, judged by a profile that
    /// makes one, is SKIP for an OCSP scenario.
    const RENDERS_OCSP: bool = false;

    /// The arguments that make the program check the config rendered into
    /// `prefix` without serving; `None` when it has no config file.
    fn check_args(prefix: &Path) -> Option<Vec<String>>;

    /// The executable to start: the installed [`Self::PROGRAM`] unless the
    /// harness builds the program itself (real:go builds its server from
    /// embedded source with the installed toolchain, once per process).
    fn executable() -> Result<std::path::PathBuf, RealError> {
        super::kind::find_installed(Self::PROGRAM, Self::PACKAGE)
    }
}

/// What a program renders from: the shared PKI material and the scenario's
/// settings, with every path below `prefix`.
pub(crate) struct Job<'a, P: RealProgram + ?Sized> {
    pub material: &'a Material<'a>,
    /// How a client certificate is verified; `None`: none is asked for.
    pub verify: Option<P::Verify>,
    /// The profile mode as configured (also when no certificate is asked
    /// for); only the program's `verify` looks into it.
    pub mode: JudgeMode<P>,
    pub version: TlsVersion,
    /// The port on 127.0.0.1 (bound by the program, or by the harness when
    /// the socket is inherited).
    pub port: u16,
    pub listen: Listen,
    /// `[server] resumption`; `None`: the program's own default.
    pub resumption: Option<Resumption>,
    /// The OCSP check (`[revocation] check = "ocsp"`), for a program with
    /// [`RealProgram::RENDERS_OCSP`]. The client's certificates carry the
    /// responder's URL (authorityInfoAccess, re-signed per case), which
    /// nginx (`ssl_ocsp on`) and Apache (`SSLOCSPEnable`) read themselves:
    /// a render sets the URL only for a program that cannot (none so far).
    pub ocsp: Option<&'a OnlineRevocation>,
    pub prefix: &'a Path,
}

impl<P: RealProgram + ?Sized> Job<'_, P> {
    /// The descriptor of the inherited listening socket, when the harness
    /// hands the program one.
    pub fn inherited_fd(&self) -> Option<i32> {
        matches!(self.listen, Listen::Inherited { .. }).then_some(INHERITED_FD)
    }

    /// `rel` below the prefix, as the config spells it.
    pub fn path(&self, rel: &str) -> String {
        self.prefix.join(rel).display().to_string()
    }

    /// OpenSSL's name of the one protocol version enabled (`TLSv1.3`).
    pub fn protocol(&self) -> &'static str {
        match self.version {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    /// Every trusted CA certificate (present when a certificate is asked for).
    pub fn trust_file(&self) -> String {
        self.path(material::TRUST)
    }

    /// The CA certificates whose names are sent (and trusted), if any.
    pub fn names_file(&self) -> Option<String> {
        self.material
            .has_names()
            .then(|| self.path(material::CA_NAMES))
    }

    /// The CA certificates trusted but not named, if any.
    pub fn verify_only_file(&self) -> Option<String> {
        self.material
            .has_verify_only()
            .then(|| self.path(material::CA_VERIFY))
    }

    /// The CRLs the server loads, if any.
    pub fn crl_file(&self) -> Option<String> {
        self.material.has_crls().then(|| self.path(material::CRL))
    }
}

/// Where programs the harness builds (real:go's server, real:tomcat's
/// servlet) are kept between runs: `$XDG_CACHE_HOME` or `~/.cache`, else
/// the temp dir, then `mtls-harness/`.
pub(crate) fn cache_root() -> std::path::PathBuf {
    use std::path::PathBuf;
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("mtls-harness")
}

/// FNV-1a over `parts`: the key of a cached build (source and toolchain).
pub(crate) fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The typed mode of the profile that judges program `P`.
pub(crate) type JudgeMode<P> = <<P as RealProgram>::Judge as Profile>::Mode;

/// The profile mode a real gateway is configured from (validated against the
/// built-in profile's modes).
fn mode_of<P: RealProgram>(server: &ServerSpec) -> Result<JudgeMode<P>, RealError> {
    let mode = P::PROFILE
        .mode_for(&server.mode, server.asks)
        .map_err(RealError::Mode)?;
    let profile =
        GatewayProfile::new(P::PROFILE, mode, server.client_auth).map_err(RealError::Mode)?;
    Ok(profile
        .mode_of::<P::Judge>()
        .expect("the profile is P's judge"))
}

/// Render `kind`'s config for `server` on 127.0.0.1:`port` (the program
/// binds it), TLS `version` only, with every path below `prefix`.
pub fn render(
    kind: RealKind,
    pki: &Pki,
    server: &ServerSpec,
    version: TlsVersion,
    port: u16,
    prefix: &Path,
) -> Result<RenderedGateway, RealError> {
    kind.render_program(pki, server, version, Listen::Port(port), prefix)
}

/// [`render`] listening as `listen` says (an inherited socket only for a
/// program whose [`RealKind::listener`] is [`Listener::Inherited`]).
pub fn render_listening(
    kind: RealKind,
    pki: &Pki,
    server: &ServerSpec,
    version: TlsVersion,
    listen: Listen,
    prefix: &Path,
) -> Result<RenderedGateway, RealError> {
    kind.render_program(pki, server, version, listen, prefix)
}

/// [`render`] for program `P`: what no real gateway can do is refused here,
/// before `P` renders.
pub(crate) fn render_as<P: RealProgram>(
    kind: RealKind,
    pki: &Pki,
    server: &ServerSpec,
    version: TlsVersion,
    listen: Listen,
    prefix: &Path,
) -> Result<RenderedGateway, RealError> {
    // Only a program that can inherit a socket is handed one.
    let listen = match (listen, P::LISTENER) {
        (Listen::Inherited { port }, Listener::BindsPort) => Listen::Port(port),
        (l, _) => l,
    };
    let port = listen.port();
    if let Some(h) = server.trust_forwarded_header {
        return Err(Unsupported::ForwardedHeaderTrust {
            header: h.header_name(),
        }
        .into());
    }
    if server.resumption.is_some() && !P::RENDERS_RESUMPTION {
        return Err(Unsupported::Resumption { kind }.into());
    }
    let material = Material::from_pki(pki, server)?;
    let mode = mode_of::<P>(server)?;
    let ocsp = server
        .online_revocation
        .as_ref()
        .filter(|o| o.check == RevocationCheck::Ocsp);
    if let Some(o) = &server.online_revocation {
        let judge = GatewayProfile::new(
            P::PROFILE,
            P::PROFILE
                .mode_for(&server.mode, server.asks)
                .map_err(RealError::Mode)?,
            server.client_auth,
        )
        .map_err(RealError::Mode)?;
        if judge.checks_online(o.check) && !(o.check == RevocationCheck::Ocsp && P::RENDERS_OCSP) {
            return Err(Unsupported::Revocation {
                kind,
                check: o.check.name(),
            }
            .into());
        }
    }
    let verify = match server.client_auth {
        ClientAuth::None => None,
        ClientAuth::Optional | ClientAuth::Required => {
            Some(P::verify(mode).ok_or(Unsupported::Mode {
                kind,
                profile: P::PROFILE,
                mode: mode.name(),
            })?)
        }
    };
    if verify.is_some() && material.trusted.is_empty() {
        return Err(Unsupported::EmptyTrust.into());
    }
    let mut out = RenderedGateway {
        kind,
        prefix: prefix.to_path_buf(),
        port,
        inherited_fd: None,
        env: Vec::new(),
        version,
        files: material.files(),
        dirs: vec!["logs".into()],
        config_file: None,
        args: Vec::new(),
        logs: Vec::new(),
        ready_marker: None,
        ready_by_handshake: false,
        failure_marker: None,
        binary_files: Vec::new(),
        check_args: P::check_args(prefix),
        ca_names: material.named_subjects.clone(),
        ca_names_truncated: material.truncated,
    };
    let job = Job {
        material: &material,
        verify,
        mode,
        version,
        port,
        listen,
        resumption: server.resumption,
        ocsp,
        prefix,
    };
    out.inherited_fd = job.inherited_fd();
    P::render(&job, &mut out)?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A scenario every program renders in the unit tests.

    use super::RenderedGateway;
    use crate::pki::Pki;
    use crate::scenario::schema::{ScenarioFile, ServerSpec};

    const FILE: &str = r#"
description = "render"
[[pki.cert]]
name = "root-a"
role = "root"
signs_client_certs = true
[[pki.cert]]
name = "root-b"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root-a"
[server]
cert = "gw"
trust = ["root-a", "root-b"]
ca_names = "flagged"
crls = ["root-a"]
"#;

    /// The PKI and `[server]` of [`FILE`] with `extra` appended to it.
    pub fn setup(extra: &str) -> (Pki, ServerSpec) {
        let file: ScenarioFile = toml::from_str(&format!("{FILE}{extra}")).expect("scenario");
        (Pki::generate(&file.pki).expect("pki"), file.server)
    }

    /// The contents of the rendered file `rel`.
    /// `kind`'s rendering of `server` on port 1 below `/p`.
    pub fn rendered(
        kind: super::RealKind,
        pki: &Pki,
        server: &ServerSpec,
        version: crate::observation::TlsVersion,
    ) -> RenderedGateway {
        super::render(kind, pki, server, version, 1, std::path::Path::new("/p"))
            .unwrap_or_else(|e| panic!("{kind} renders: {e}"))
    }

    pub fn file<'a>(r: &'a RenderedGateway, rel: &str) -> &'a str {
        &r.files.iter().find(|f| f.0 == rel).expect(rel).1
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{file, rendered, setup};
    use super::*;
    use crate::scenario::schema::{CaNamesPolicy, ForwardHeader};

    #[test]
    fn named_and_verify_only_cas_go_to_separate_files() {
        let (pki, server) = setup("");
        let n = rendered(RealKind::Nginx, &pki, &server, TlsVersion::Tls12);
        assert!(file(&n, "crl.pem").contains("BEGIN X509 CRL"));
        assert_eq!(
            n.ca_names,
            vec![pki.cert("root-a").unwrap().subject.clone()]
        );
        // root-a only is named; root-b only verifies.
        assert_eq!(
            file(&n, "ca-names.pem")
                .matches("BEGIN CERTIFICATE")
                .count(),
            1
        );
        assert_eq!(
            file(&n, "ca-verify.pem")
                .matches("BEGIN CERTIFICATE")
                .count(),
            1
        );
    }

    #[test]
    fn what_a_real_gateway_cannot_do_is_unsupported_with_a_reason() {
        let p = Path::new("/p");
        let (pki, mut server) = setup("");
        server.ca_names = CaNamesPolicy::Explicit(vec!["gw".into()]);
        for kind in RealKind::ALL {
            match render(kind, &pki, &server, TlsVersion::Tls13, 1, p) {
                Err(RealError::Unsupported(why)) => {
                    assert!(why.to_string().contains("not a trusted CA"), "{why}")
                }
                other => panic!("{kind}: {other:?}"),
            }
        }
        let (pki, mut server) = setup("");
        server.trust_forwarded_header = Some(ForwardHeader::Xfcc);
        for kind in RealKind::ALL {
            assert!(
                matches!(
                    render(kind, &pki, &server, TlsVersion::Tls13, 1, p),
                    Err(RealError::Unsupported(
                        Unsupported::ForwardedHeaderTrust { .. }
                    ))
                ),
                "{kind}"
            );
        }
        let (pki, mut server) = setup("");
        server.trust.clear();
        server.crls.clear();
        server.ca_names = CaNamesPolicy::Empty;
        for kind in RealKind::ALL {
            assert!(
                matches!(
                    render(kind, &pki, &server, TlsVersion::Tls13, 1, p),
                    Err(RealError::Unsupported(Unsupported::EmptyTrust))
                ),
                "{kind}"
            );
        }
    }

    #[test]
    fn a_mode_the_program_has_no_equivalent_for_is_unsupported() {
        // s_server has no HTTP-level deny.
        let (pki, server) = setup("mode = { haproxy = \"optional-deny\" }\n");
        let got = render(
            RealKind::Openssl,
            &pki,
            &server,
            TlsVersion::Tls13,
            1,
            Path::new("/p"),
        );
        match got {
            Err(RealError::Unsupported(why)) => assert_eq!(
                why.to_string(),
                "real:openssl cannot be configured for haproxy mode `optional-deny`"
            ),
            other => panic!("{other:?}"),
        }
        assert!(!RealKind::Openssl.supports("optional-deny"));
        assert!(RealKind::Haproxy.supports("optional-deny"));
        // Not asking for a certificate, the mode does not matter.
        let (pki, mut server) = setup("mode = { haproxy = \"optional-deny\" }\n");
        server.client_auth = ClientAuth::None;
        let o = rendered(RealKind::Openssl, &pki, &server, TlsVersion::Tls13);
        assert!(!o.args.iter().any(|a| a == "-Verify" || a == "-verify"));
    }

    #[test]
    fn filler_names_become_filler_ca_certificates() {
        let (pki, mut server) = setup("");
        server.ca_names = CaNamesPolicy::ExtraFiller(3);
        let n = rendered(RealKind::Nginx, &pki, &server, TlsVersion::Tls13);
        assert_eq!(n.ca_names.len(), 5);
        assert!(n.ca_names[4].starts_with(material::FILLER_PREFIX));
        assert_eq!(
            file(&n, "ca-names.pem")
                .matches("BEGIN CERTIFICATE")
                .count(),
            5
        );
    }

    #[test]
    fn scenario_errors_keep_their_source() {
        let p = Path::new("/p");
        let (pki, mut server) = setup("");
        server.cert = "nope".into();
        let e = render(RealKind::Nginx, &pki, &server, TlsVersion::Tls13, 1, p).unwrap_err();
        assert!(matches!(e, RealError::ServerCert(_)), "{e:?}");
        assert!(e.to_string().starts_with("server.cert: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());

        let (pki, mut server) = setup("");
        server.crls = vec!["root-b".into(), "gw".into()];
        let e = render(RealKind::Nginx, &pki, &server, TlsVersion::Tls13, 1, p).unwrap_err();
        assert!(matches!(e, RealError::NoCrl { .. }), "{e:?}");

        let (pki, server) = setup("mode = { nginx = \"sometimes\" }\n");
        let e = render(RealKind::Nginx, &pki, &server, TlsVersion::Tls13, 1, p).unwrap_err();
        assert!(matches!(e, RealError::Mode(_)), "{e:?}");
        assert!(e.to_string().contains("sometimes"), "{e}");
    }

    #[test]
    fn names_and_the_registry_agree() {
        for kind in RealKind::ALL {
            assert_eq!(RealKind::from_name(kind.name()), Some(kind));
            assert_eq!(RealKind::from_name(&kind.to_string()), Some(kind));
            assert!(
                crate::real::INSTALL_HINT
                    .split_whitespace()
                    .any(|p| p == kind.package()),
                "INSTALL_HINT lacks {}",
                kind.package()
            );
        }
        assert_eq!(RealKind::from_name("squid"), None);
        assert_eq!(RealKind::Openssl.profile(), ProfileKind::Haproxy);
        assert_eq!(RealKind::Apache.program(), "apache2");
    }
}
