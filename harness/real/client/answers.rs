//! What a real client answers when the certificate is asked for after the
//! request (Apache `SSLVerifyClient require` in a `<Location>`): a TLS 1.2
//! renegotiation, a TLS 1.3 post-handshake CertificateRequest (RFC 8446
//! §4.6.2), and what it does on HTTP/2, where both are forbidden (RFC 7540
//! §9.2.1, RFC 8740) and Apache resets the stream with HTTP_1_1_REQUIRED.
//!
//! Each client declares its [`AfterRequest`] next to the rest of what the
//! harness knows about it (`RealClient::AFTER_REQUEST`); the table of
//! `docs/after-request.md` is measured, and `tests/after_request.rs` fails
//! when a declaration and a measurement disagree.

/// How the program answers one mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Always: the certificate goes out on the new handshake / the
    /// post-handshake Certificate message.
    Always,
    /// Only when the harness sets [`AfterRequestOptions`] for it; the text
    /// names the program's own switch (`-enable_pha`).
    WithOption(&'static str),
    /// It takes part and its certificate is accepted (the server serves
    /// the page), but the exchange then fails on its side: the text says
    /// how. The page never reaches it.
    SendsThenFails(&'static str),
    /// Never: the program refuses or cannot take part.
    Never,
}

impl Answer {
    /// Whether the certificate goes out, given whether the program's switch
    /// is on.
    pub fn answers(self, option_on: bool) -> bool {
        match self {
            Answer::Always => true,
            Answer::WithOption(_) => option_on,
            Answer::SendsThenFails(_) | Answer::Never => false,
        }
    }

    /// For the docs: `yes`, `with -enable_pha`, `no`.
    pub fn describe(self) -> String {
        match self {
            Answer::Always => "yes".into(),
            Answer::WithOption(o) => format!("with {o}"),
            Answer::SendsThenFails(how) => format!("sends its certificate, then fails: {how}"),
            Answer::Never => "no".into(),
        }
    }
}

/// What the program does when it offered `h2` and the certificate is asked
/// for after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverH2 {
    /// The harness's program for it speaks HTTP/1.1 only: `h2` is never
    /// offered (not measured over h2).
    NotOffered,
    /// On the stream's HTTP_1_1_REQUIRED it opens a new connection offering
    /// only `http/1.1` and repeats the request there (curl's
    /// `Downgrades to HTTP/1.1`): the HTTP/1.1 answer follows.
    RetriesOverHttp11,
    /// It reports the stream error: no certificate is ever sent.
    FailsWithStreamError,
}

impl OverH2 {
    pub fn describe(self) -> &'static str {
        match self {
            OverH2::NotOffered => "not offered",
            OverH2::RetriesOverHttp11 => "retries over HTTP/1.1",
            OverH2::FailsWithStreamError => "fails (HTTP_1_1_REQUIRED)",
        }
    }
}

/// What a client can answer when the certificate is asked for after the
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterRequest {
    /// TLS 1.2: the server's HelloRequest.
    pub renegotiation: Answer,
    /// TLS 1.3: the post-handshake CertificateRequest (sent only to a client
    /// that offered the `post_handshake_auth` extension).
    pub post_handshake_auth: Answer,
    pub over_h2: OverH2,
}

impl AfterRequest {
    /// What it does about the mechanism a server uses on `version`.
    pub fn answer_on(&self, version: crate::observation::TlsVersion) -> Answer {
        match version {
            crate::observation::TlsVersion::Tls12 => self.renegotiation,
            crate::observation::TlsVersion::Tls13 => self.post_handshake_auth,
        }
    }

    /// Whether the certificate reaches a server that asks after the request
    /// on `version`, with `options` (over h2 when they ask for it).
    pub fn answers(
        &self,
        version: crate::observation::TlsVersion,
        options: &AfterRequestOptions,
    ) -> bool {
        let mechanism = match version {
            crate::observation::TlsVersion::Tls12 => {
                self.renegotiation.answers(options.renegotiation)
            }
            crate::observation::TlsVersion::Tls13 => self
                .post_handshake_auth
                .answers(options.post_handshake_auth),
        };
        let stream_refused = matches!(
            (options.alpn, self.over_h2),
            (Some(Alpn::H2), OverH2::FailsWithStreamError)
        );
        mechanism && !stream_refused
    }
}

/// The ALPN protocols a client is told to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// HTTP/1.1 only (`--http1.1`; programs without HTTP/2 offer no ALPN or
    /// `http/1.1`).
    Http11,
    /// `h2` first, `http/1.1` second (`--http2`, Go's `ForceAttemptHTTP2`).
    H2,
}

impl Alpn {
    pub fn as_str(self) -> &'static str {
        match self {
            Alpn::Http11 => "http/1.1",
            Alpn::H2 => "h2",
        }
    }
}

/// Per-run switches for a certificate asked for after the request. The
/// default is every program's behaviour before this existed: no switch set,
/// the program's own ALPN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfterRequestOptions {
    /// Offer TLS 1.3 post-handshake authentication where it is a switch
    /// (`openssl s_client -enable_pha`, `gnutls-cli --post-handshake-auth`, Python's
    /// `SSLContext.post_handshake_auth = True`).
    pub post_handshake_auth: bool,
    /// Accept a TLS 1.2 renegotiation where it is a switch (Go's
    /// `tls.Config.Renegotiation = tls.RenegotiateOnceAsClient`).
    pub renegotiation: bool,
    /// The ALPN to offer; `None`: the program's default.
    pub alpn: Option<Alpn>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::TlsVersion;

    #[test]
    fn a_switch_counts_only_when_it_is_on_and_h2_only_when_offered() {
        let go = AfterRequest {
            renegotiation: Answer::WithOption("Renegotiation"),
            post_handshake_auth: Answer::Never,
            over_h2: OverH2::FailsWithStreamError,
        };
        let mut o = AfterRequestOptions::default();
        assert!(!go.answers(TlsVersion::Tls12, &o));
        o.renegotiation = true;
        assert!(go.answers(TlsVersion::Tls12, &o));
        assert!(!go.answers(TlsVersion::Tls13, &o));
        o.alpn = Some(Alpn::H2);
        assert!(!go.answers(TlsVersion::Tls12, &o));
        o.alpn = Some(Alpn::Http11);
        assert!(go.answers(TlsVersion::Tls12, &o));
    }
}
