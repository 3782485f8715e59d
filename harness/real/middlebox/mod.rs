//! Real middleboxes between the client and a gateway (built-in or real):
//! tunnels (tinyproxy, squid), interceptors (mitmproxy, nginx without
//! `ssl_verify_client`) and TLS offloaders (stunnel, nginx, HAProxy, Apache),
//! each rendered
//! from a scenario's `[middlebox]` table into its own temporary prefix on
//! 127.0.0.1, started per case in its own process group and always stopped
//! (the group killed and the leader reaped, also on panic and interruption:
//! the group and the prefix are in the [`crate::interrupt`] registry while they live).
//!
//! Each program is one file here implementing `MiddleboxProgram` and one line
//! in the registry below.
//!
//! The jobs, one file each: `registry.rs` (the macro behind the registry,
//! names and what each program can be), `program.rs` (the trait, what a
//! program renders from and into, writing it), `render.rs` (a scenario's
//! `[middlebox]` and PKI to a rendered program), `chown.rs` (setup commands
//! and handing files to the unprivileged workers of a program that starts
//! as root), `supervise.rs` (start, readiness, stop), `error.rs` and
//! `run.rs` (one case through a middlebox).

mod chown;
mod error;
mod program;
mod registry;
mod render;
mod run;
mod supervise;

use crate::knobs::{ForwardHeader, MiddleboxKind};
use registry::real_middleboxes;

pub use chown::WORKER_USER;
pub use error::MiddleboxError;
pub use program::{files, RenderedMiddlebox};
pub(crate) use program::{MiddleboxJob, MiddleboxProgram};
pub use registry::MiddleboxUnsupported;
pub use render::render;
pub use run::{observe_through_middlebox, Origin};
pub use supervise::{RunningRealMiddlebox, START_TIMEOUT};

// The registry: one line per real middlebox program, `Variant => module::Program`.
real_middleboxes! {
    /// tinyproxy: an HTTP CONNECT tunnel.
    Tinyproxy => tinyproxy::Tinyproxy,
    /// squid without bumping: an HTTP CONNECT tunnel.
    Squid => squid::Squid,
    /// mitmproxy's `mitmdump` in reverse mode: an interceptor.
    Mitmproxy => mitmproxy::Mitmproxy,
    /// squid with `ssl_bump`: an interceptor the client sends CONNECT to.
    SquidBump => squid_bump::SquidBump,
    /// stunnel: an offloader that cannot add headers (a chained `client = yes` service upstream).
    Stunnel => stunnel::Stunnel,
    /// nginx `proxy_pass https://`: an offloader (or an interceptor without `ssl_verify_client`).
    Nginx => nginx::Nginx,
    /// HAProxy: an offloader writing RFC 9440 `Client-Cert` or base64 DER.
    Haproxy => haproxy::Haproxy,
    /// Apache httpd mod_proxy: an offloader writing `%{SSL_CLIENT_CERT}s`.
    Apache => apache::Apache,
}

/// The command that installs every real middlebox on Debian/Ubuntu.
pub const INSTALL_HINT: &str =
    "apt-get install -y tinyproxy squid-openssl mitmproxy stunnel4 nginx";
