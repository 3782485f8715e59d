//! A client certificate asked for after the request, measured across real
//! clients against a real server (issue 24).
//!
//! Many sites ask for a certificate on one path only (Apache
//! `SSLVerifyClient require` in a `<Location>`): the server asks once the
//! request arrived, by renegotiation on TLS 1.2 and by post-handshake
//! authentication on TLS 1.3 (RFC 8446 §4.6.2). Whether a certificate
//! arrives depends on the client, and on HTTP/2 neither is allowed (RFC 7540
//! §9.2.1, RFC 8740).
//!
//! - [`apache`]: real Apache 2.4 with mod_ssl and mod_http2 asking in
//!   `<Location /admin/>`, started through [`RealServer`](super::RealServer)
//!   (own prefix and process group, a port proven by a handshake, stopped on
//!   drop and on Ctrl-C).
//! - [`plan`]: which clients, switches, versions, ALPN and certificates.
//! - [`run`]: one case, the lanes that run them concurrently (a browser,
//!   which cannot pin its own TLS version, gets an Apache of its own that
//!   offers only the case's).
//! - [`outcome`]: what a case gave, read from the client and Apache's log.
//! - [`table`]: `docs/after-request.md` and the check of each client's
//!   declared [`AfterRequest`](super::client::AfterRequest) against it.
//!
//! `openssl s_server` is not measured: with `-www` it renegotiates on
//! `GET /renegcert` (TLS 1.2 only, and it serves the page whether or not a
//! certificate came: `SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE` without
//! `FAIL_IF_NO_PEER_CERT`, apps/s_server.c `www_body`), and it asks for
//! post-handshake authentication only on the interactive `c` command typed
//! on its standard input while a connection is open (`sv_body`), which
//! cannot be timed against a client's request reliably.

pub mod apache;
mod error;
pub mod outcome;
pub mod plan;
pub mod run;
pub mod scenario;
pub mod table;

pub use error::AfterRequestError;
pub use outcome::{CaseOutcome, Outcome};
pub use plan::{cannot_answer, cannot_answer_on, plan, Case, Presented, Subject, Variant};
pub use run::measure;
pub use table::{disagreements, markdown, Measured};

/// Why `openssl s_server` is not in the table.
pub const S_SERVER_NOT_MEASURED: &str = "`openssl s_server` asks after the request only by renegotiation on `GET /renegcert` with `-www` (TLS 1.2; it serves its page whether or not a certificate came: `SSL_VERIFY_CLIENT_ONCE` without `FAIL_IF_NO_PEER_CERT`), and for TLS 1.3 post-handshake authentication only on the interactive `c` command on its standard input while a connection is open, which cannot be timed against a client's request reliably (apps/s_server.c `www_body`, `sv_body`)";
