//! What a gateway profile is: one type implementing [`Profile`], with a typed
//! mode enum ([`ProfileMode`], made by [`profile_modes!`]) and a
//! [`ProfileInfo`]. The registry in `gateway/mod.rs` erases the type so the
//! rest of the harness handles every profile alike.

use crate::knobs::RevocationCheck;
use crate::observation::TlsVersion;
use crate::tls::policy::{
    CaListSize, ClientCertStatus, Enforcement, GatewayResponse, OversizedCaList,
    PostHandshakeRefusal,
};
use crate::tls::verify::CertFailure;
use std::marker::PhantomData;

/// How a gateway treats client certificates, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posture {
    /// Refuses a client without a certificate.
    Requires,
    /// Asks, serves a client without one, refuses an untrusted one.
    OptionalVerified,
    /// Asks, serves a client without one and one of any CA.
    OptionalAnyCa,
    /// Never asks.
    DoesNotAsk,
}

/// The facts about a profile that do not depend on its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileInfo {
    /// As scenario files, reports and `--profile` spell it.
    pub name: &'static str,
    /// One line: which gateway, configured how.
    pub summary: &'static str,
    /// Where the modelled behaviour comes from (source files, vendor
    /// documentation, measurements against the real program).
    pub sources: &'static [&'static str],
}

/// A profile's modes. The first in [`ProfileMode::ALL`] is the default: the
/// column of DESIGN.md's behaviour table.
pub trait ProfileMode: Copy + Eq + Default + std::fmt::Debug + Send + Sync + 'static {
    const ALL: &'static [Self];
    /// The spellings of [`ProfileMode::ALL`], in order.
    const NAMES: &'static [&'static str];
    fn name(self) -> &'static str;
    /// What the mode stands for on the real gateway.
    fn summary(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }
}

/// A profile without modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoModes;

impl ProfileMode for NoModes {
    const ALL: &'static [Self] = &[];
    const NAMES: &'static [&'static str] = &[];
    fn name(self) -> &'static str {
        ""
    }
    fn summary(self) -> &'static str {
        ""
    }
}

/// Declares a profile's mode enum: each variant with its doc (the mode's
/// summary) and its spelling; the first is the default.
macro_rules! profile_modes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(#[doc = $first_doc:literal])*
            $first:ident = $first_name:literal,
            $(
                $(#[doc = $doc:literal])*
                $variant:ident = $spelling:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $(#[doc = $first_doc])*
            #[default]
            $first,
            $($(#[doc = $doc])* $variant,)*
        }

        impl $crate::gateway::ProfileMode for $name {
            const ALL: &'static [Self] = &[$name::$first, $($name::$variant,)*];
            const NAMES: &'static [&'static str] = &[$first_name, $($spelling,)*];
            fn name(self) -> &'static str {
                match self {
                    $name::$first => $first_name,
                    $($name::$variant => $spelling,)*
                }
            }
            fn summary(self) -> &'static str {
                match self {
                    $name::$first => concat!($($first_doc),*).trim_ascii(),
                    $($name::$variant => concat!($($doc),*).trim_ascii(),)*
                }
            }
        }
    };
}
pub(crate) use profile_modes;

/// One gateway profile: how a real gateway turns the client-certificate
/// result into a TLS alert or an HTTP response.
pub trait Profile: Send + Sync + 'static {
    type Mode: ProfileMode;
    const INFO: ProfileInfo;

    /// Where and by whose rules the certificate is checked; `asks` is whether
    /// the listener asks for one at all (`client_auth != none`).
    fn enforcement(mode: Self::Mode, asks: bool) -> Enforcement;

    /// The response to a request whose certificate status is `status` (for
    /// handshake-enforcing modes, only what got past TLS).
    fn respond(mode: Self::Mode, status: &ClientCertStatus) -> GatewayResponse;

    /// The alert sent when verification by OpenSSL's rules fails in the
    /// handshake: OpenSSL's `ssl_verify_alarm_type` unless the gateway
    /// changes it.
    fn verify_alert(_mode: Self::Mode, failure: &CertFailure) -> &'static str {
        failure.openssl_alert()
    }

    /// The line logged when the handshake fails with `alert` (OpenSSL's
    /// wording unless the gateway has its own).
    fn handshake_failure_log(alert: &str, failure: Option<&CertFailure>) -> String {
        format!(
            "SSL_do_handshake() failed: sent alert {alert}{}",
            reason(failure)
        )
    }

    /// How `mode` treats clients as seen from outside (a client without a
    /// certificate, one of an untrusted CA), when that can be told from
    /// outside at all; `None` (the default) for a mode whose difference
    /// shows only in its pages or logs. The default mode is not asked: it
    /// stands for the scenario's `client_auth`.
    fn posture(_mode: Self::Mode) -> Option<Posture> {
        None
    }

    /// What follows when the certificate is asked for after the request
    /// ([`Enforcement::PostHandshake`]); only profiles with such a mode
    /// override it.
    fn post_handshake_refusal(_mode: Self::Mode, _version: TlsVersion) -> PostHandshakeRefusal {
        PostHandshakeRefusal::Http(GatewayResponse::text(
            403,
            "client certificate required after the request\n",
            "client certificate required after the request",
        ))
    }

    /// The mode that asks for the certificate after the request
    /// ([`Enforcement::PostHandshake`]): what `[server] asks =
    /// "after-request"` selects where `[server.mode]` names none. `None`:
    /// the gateway cannot ask after the request.
    fn after_request_mode() -> Option<Self::Mode> {
        None
    }

    /// How an after-request `mode` checks the certificate of a client that
    /// answers the ask on `version` (renegotiates on TLS 1.2, offered
    /// post-handshake auth on TLS 1.3). The built-in gateway asks in the
    /// handshake in its place (rustls, as client and server, implements
    /// neither mechanism) and answers as the real gateway does once the
    /// certificate arrived. `None`: the gateway cannot take it on that
    /// version, and [`Self::post_handshake_refusal`] follows.
    fn answered_after_request(_mode: Self::Mode, _version: TlsVersion) -> Option<Enforcement> {
        None
    }

    /// The line logged when a certificate asked for after the request on
    /// `version` fails with `alert` (`failure`: it came and failed; `None`:
    /// none came); `None`: [`Self::handshake_failure_log`].
    fn after_request_failure_log(
        _version: TlsVersion,
        _alert: &str,
        _failure: Option<&CertFailure>,
    ) -> Option<String> {
        None
    }

    /// The alert (as scenario files spell it) a missing mandatory
    /// certificate gets, where the gateway sends neither rustls's
    /// certificate_required nor OpenSSL's (handshake_failure on TLS 1.2);
    /// `None`: those, per [`Enforcement::Handshake::openssl_alerts`].
    fn missing_cert_alert(_mode: Self::Mode) -> Option<&'static str> {
        None
    }

    /// What the gateway does with a CA-names list of `size` that does not
    /// fit in a CertificateRequest on `version`: OpenSSL's internal_error
    /// unless the gateway differs.
    fn oversized_ca_list(
        _mode: Self::Mode,
        _version: TlsVersion,
        _size: CaListSize,
    ) -> OversizedCaList {
        OversizedCaList::Abort
    }

    /// The alert (as scenario files spell it) for a client CertificateVerify
    /// that does not verify; `None`: decrypt_error (rustls, OpenSSL, Go).
    fn bad_signature_alert(_mode: Self::Mode) -> Option<&'static str> {
        None
    }

    /// Whether the CA names sent are always every trusted CA, whatever the
    /// scenario's `ca_names` says (Go and JSSE have no separate list);
    /// filler names of an oversized list stay (they stand for CA
    /// certificates the gateway loads).
    fn sends_whole_trust_store(_mode: Self::Mode) -> bool {
        false
    }

    /// The profile whose expectations judge this one where a scenario does
    /// not name it (its table then refines that one's), and whose
    /// `[server.mode]` entry it takes when it has none of its own (the modes
    /// must have the same names): lighttpd is judged as apache.
    fn expectations_fall_back_to() -> Option<&'static str> {
        None
    }

    /// Whether a client certificate whose issuer is not among the CA names
    /// sent is refused (X509_V_ERR_CERT_REJECTED), when those names are not
    /// every trusted CA: lighttpd's `ssl.ca-dn-file`.
    fn requires_named_issuer(_mode: Self::Mode) -> bool {
        false
    }

    /// The online revocation checks the gateway makes when configured for
    /// them (`[revocation] check`); a check not listed is ignored: the
    /// gateway has no such setting, so the certificate is judged without it.
    fn online_revocation(_mode: Self::Mode) -> &'static [RevocationCheck] {
        &[]
    }
}

/// ` (reason)` for a log line, or nothing.
pub(super) fn reason(failure: Option<&CertFailure>) -> String {
    failure.map_or_else(String::new, |f| format!(" ({f})"))
}

/// The 200 every profile gives an accepted request.
pub fn accepted(status: &ClientCertStatus) -> GatewayResponse {
    match status {
        ClientCertStatus::Verified { subject } => GatewayResponse::text(
            200,
            format!("authenticated: {subject}\n"),
            format!("200 client certificate accepted: {subject}"),
        ),
        _ => GatewayResponse::text(200, "anonymous\n", "200 no client certificate"),
    }
}

/// A profile with its type erased, mode given by name (already validated:
/// an unknown name falls back to the default and cannot occur through
/// [`super::GatewayProfile::new`]).
pub(super) trait DynProfile: Sync {
    fn info(&self) -> &'static ProfileInfo;
    fn mode_names(&self) -> &'static [&'static str];
    fn mode_summary(&self, mode: &str) -> &'static str;
    fn after_request_mode(&self) -> Option<&'static str>;
    fn answered_after_request(&self, mode: &str, version: TlsVersion) -> Option<Enforcement>;
    fn after_request_failure_log(
        &self,
        version: TlsVersion,
        alert: &str,
        failure: Option<&CertFailure>,
    ) -> Option<String>;
    fn enforcement(&self, mode: &str, asks: bool) -> Enforcement;
    fn respond(&self, mode: &str, status: &ClientCertStatus) -> GatewayResponse;
    fn verify_alert(&self, mode: &str, failure: &CertFailure) -> &'static str;
    fn handshake_failure_log(&self, alert: &str, failure: Option<&CertFailure>) -> String;
    fn post_handshake_refusal(&self, mode: &str, version: TlsVersion) -> PostHandshakeRefusal;
    fn missing_cert_alert(&self, mode: &str) -> Option<&'static str>;
    fn oversized_ca_list(
        &self,
        mode: &str,
        version: TlsVersion,
        size: CaListSize,
    ) -> OversizedCaList;
    fn bad_signature_alert(&self, mode: &str) -> Option<&'static str>;
    fn sends_whole_trust_store(&self, mode: &str) -> bool;
    fn expectations_fall_back_to(&self) -> Option<&'static str>;
    fn requires_named_issuer(&self, mode: &str) -> bool;
    fn online_revocation(&self, mode: &str) -> &'static [RevocationCheck];
    fn posture(&self, mode: &str) -> Option<Posture>;
}

/// The erasing adapter; `fn() -> P` keeps it `Sync` whatever `P` holds.
pub(super) struct Erased<P>(PhantomData<fn() -> P>);

impl<P> Erased<P> {
    pub(super) const NEW: Erased<P> = Erased(PhantomData);
}

fn typed<M: ProfileMode>(mode: &str) -> M {
    M::from_name(mode).unwrap_or_default()
}

impl<P: Profile> DynProfile for Erased<P> {
    fn info(&self) -> &'static ProfileInfo {
        &P::INFO
    }
    fn mode_names(&self) -> &'static [&'static str] {
        P::Mode::NAMES
    }
    fn mode_summary(&self, mode: &str) -> &'static str {
        typed::<P::Mode>(mode).summary()
    }
    fn after_request_mode(&self) -> Option<&'static str> {
        P::after_request_mode().map(ProfileMode::name)
    }
    fn answered_after_request(&self, mode: &str, version: TlsVersion) -> Option<Enforcement> {
        P::answered_after_request(typed(mode), version)
    }
    fn after_request_failure_log(
        &self,
        version: TlsVersion,
        alert: &str,
        failure: Option<&CertFailure>,
    ) -> Option<String> {
        P::after_request_failure_log(version, alert, failure)
    }
    fn enforcement(&self, mode: &str, asks: bool) -> Enforcement {
        P::enforcement(typed(mode), asks)
    }
    fn respond(&self, mode: &str, status: &ClientCertStatus) -> GatewayResponse {
        P::respond(typed(mode), status)
    }
    fn verify_alert(&self, mode: &str, failure: &CertFailure) -> &'static str {
        P::verify_alert(typed(mode), failure)
    }
    fn handshake_failure_log(&self, alert: &str, failure: Option<&CertFailure>) -> String {
        P::handshake_failure_log(alert, failure)
    }
    fn post_handshake_refusal(&self, mode: &str, version: TlsVersion) -> PostHandshakeRefusal {
        P::post_handshake_refusal(typed(mode), version)
    }
    fn missing_cert_alert(&self, mode: &str) -> Option<&'static str> {
        P::missing_cert_alert(typed(mode))
    }
    fn oversized_ca_list(
        &self,
        mode: &str,
        version: TlsVersion,
        size: CaListSize,
    ) -> OversizedCaList {
        P::oversized_ca_list(typed(mode), version, size)
    }
    fn bad_signature_alert(&self, mode: &str) -> Option<&'static str> {
        P::bad_signature_alert(typed(mode))
    }
    fn sends_whole_trust_store(&self, mode: &str) -> bool {
        P::sends_whole_trust_store(typed(mode))
    }
    fn expectations_fall_back_to(&self) -> Option<&'static str> {
        P::expectations_fall_back_to()
    }
    fn requires_named_issuer(&self, mode: &str) -> bool {
        P::requires_named_issuer(typed(mode))
    }
    fn online_revocation(&self, mode: &str) -> &'static [RevocationCheck] {
        P::online_revocation(typed(mode))
    }
    fn posture(&self, mode: &str) -> Option<Posture> {
        P::posture(typed(mode))
    }
}
