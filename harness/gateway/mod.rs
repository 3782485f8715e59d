//! Gateway profiles: how a real gateway turns the client-certificate result
//! into a TLS alert or an HTTP response.
//!
//! One file per gateway, each exporting one [`Profile`] with a typed mode
//! enum, its responses and log lines, and its sources; the registry below
//! lists them, one line each. Everything that enumerates profiles (the
//! catalog's validation, `--profile`, the fidelity table, `docs/profiles.md`)
//! derives from it. To add a profile: write `gateway/<name>.rs` and add its
//! line to `profiles!`.

mod profile;

pub use crate::observation::parse_substatus;
pub use crate::tls::policy::{
    CaListSize, CertOrigin, ClientCertStatus, Enforcement, GatewayResponse, OversizedCaList,
    PostHandshakeRefusal,
};
pub use nginx::{CERT_ERROR_TEXT, NO_CERT_TEXT};
pub(crate) use profile::profile_modes;
pub use profile::{accepted, NoModes, Posture, Profile, ProfileInfo, ProfileMode};

use crate::knobs::ClientAuth;
use crate::observation::TlsVersion;
use crate::tls::policy::ClientAuthPolicy;
use crate::tls::verify::CertFailure;
use profile::{DynProfile, Erased};
use std::fmt;

/// The registry: `Variant => module::Type,` per profile, in report order.
macro_rules! profiles {
    ($($variant:ident => $module:ident :: $ty:ident,)+) => {
        $(pub mod $module;)+

        /// The gateways the harness models (see each module).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ProfileKind {
            $(
                #[doc = concat!("[`", stringify!($module), "::", stringify!($ty), "`]")]
                $variant,
            )+
        }

        const PROFILE_COUNT: usize = [$(stringify!($variant)),+].len();

        impl ProfileKind {
            /// Every profile, in report order.
            pub const ALL: [ProfileKind; PROFILE_COUNT] = [$(ProfileKind::$variant),+];

            /// Their names, in the same order.
            pub const NAMES: [&'static str; PROFILE_COUNT] =
                [$(<$module::$ty as Profile>::INFO.name),+];

            pub const fn name(self) -> &'static str {
                match self {
                    $(ProfileKind::$variant => <$module::$ty as Profile>::INFO.name,)+
                }
            }

            fn definition(self) -> &'static dyn DynProfile {
                match self {
                    $(ProfileKind::$variant => &Erased::<$module::$ty>::NEW,)+
                }
            }
        }

        $(
            impl Registered for $module::$ty {
                const KIND: ProfileKind = ProfileKind::$variant;
            }
        )+
    };
}

profiles! {
    Strict => strict::Strict,
    Nginx => nginx::Nginx,
    Layer7 => layer7::Layer7,
    Iis => iis::Iis,
    Apache => apache::Apache,
    Haproxy => haproxy::Haproxy,
    Envoy => envoy::Envoy,
    Go => go::Go,
    Jsse => jsse::Jsse,
    Lighttpd => lighttpd::Lighttpd,
}

/// Ties a profile type to its registry entry.
pub trait Registered: Profile {
    const KIND: ProfileKind;
}

impl ProfileKind {
    pub fn info(self) -> &'static ProfileInfo {
        self.definition().info()
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The modes a scenario's `[server.mode]` may give this profile; the
    /// first is the default (the mode DESIGN.md's behaviour table describes).
    pub fn modes(self) -> &'static [&'static str] {
        self.definition().mode_names()
    }

    /// The profile whose expectations (and `[server.mode]` entry) judge
    /// this one where a scenario does not name it (lighttpd -> apache).
    pub fn falls_back_to(self) -> Option<ProfileKind> {
        self.definition()
            .expectations_fall_back_to()
            .and_then(ProfileKind::from_name)
    }

    /// The mode a scenario's `[server.mode]` gives this profile: its own
    /// entry, else that of the profile it falls back to.
    pub fn mode_in(self, modes: &std::collections::BTreeMap<String, String>) -> Option<&str> {
        modes
            .get(self.name())
            .or_else(|| self.falls_back_to().and_then(|f| modes.get(f.name())))
            .map(String::as_str)
    }

    /// The mode a scenario's `[server]` gives this profile: its
    /// `[server.mode]` entry ([`Self::mode_in`]), else, when it asks after
    /// the request (`asks = "after-request"`), the profile's after-request
    /// mode; an error when the profile has none.
    pub fn mode_for(
        self,
        modes: &std::collections::BTreeMap<String, String>,
        asks: crate::knobs::Asks,
    ) -> Result<Option<&str>, ModeError> {
        match (asks, self.mode_in(modes)) {
            (crate::knobs::Asks::AfterRequest, None) => GatewayProfile::after_request_mode(self)
                .map(Some)
                .ok_or(ModeError::CannotAskAfterRequest { profile: self }),
            (_, mode) => Ok(mode),
        }
    }

    /// How `mode` (one of [`Self::modes`], not the default) treats clients
    /// as seen from outside, when that can be told ([`Profile::posture`]).
    pub fn posture(self, mode: &str) -> Option<Posture> {
        self.definition().posture(mode)
    }

    /// What `mode` (one of [`Self::modes`]) stands for on the real gateway.
    pub fn mode_summary(self, mode: &str) -> &'static str {
        self.definition().mode_summary(mode)
    }
}

impl fmt::Display for ProfileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `[server.mode]` entry the profile does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error("profile `{profile}` has no modes (got `{mode}`)")]
    NoModes { profile: ProfileKind, mode: String },
    #[error("profile `{profile}` has no mode `{mode}` (known: {})", profile.modes().join(", "))]
    Unknown { profile: ProfileKind, mode: String },
    #[error("{profile} cannot ask for a certificate after the request (`[server] asks = \"after-request\"`)")]
    CannotAskAfterRequest { profile: ProfileKind },
}

/// A gateway profile with its mode: what the built-in server consults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayProfile {
    pub kind: ProfileKind,
    /// One of `kind.modes()`, or "" for profiles without modes.
    pub mode: &'static str,
    pub client_auth: ClientAuth,
    /// The TLS version on which the case's client answers a certificate
    /// asked for after the request ([`Self::answering_after_request`]).
    pub answered_after_request: Option<TlsVersion>,
}

impl GatewayProfile {
    /// `mode` None picks the profile's default mode (the one in DESIGN.md's
    /// table). `client_auth` says whether the listener asks for a certificate
    /// at all (`none`: never); what a missing or bad one leads to is the mode's
    /// business, as on a real gateway (nginx `on` asks without failing the
    /// handshake, whatever the listener is called).
    pub fn new(
        kind: ProfileKind,
        mode: Option<&str>,
        client_auth: ClientAuth,
    ) -> Result<Self, ModeError> {
        let modes = kind.modes();
        let mode = match mode {
            Some(m) => *modes.iter().find(|x| **x == m).ok_or_else(|| {
                let mode = m.to_string();
                if modes.is_empty() {
                    ModeError::NoModes {
                        profile: kind,
                        mode,
                    }
                } else {
                    ModeError::Unknown {
                        profile: kind,
                        mode,
                    }
                }
            })?,
            None => modes.first().copied().unwrap_or(""),
        };
        Ok(GatewayProfile {
            kind,
            mode,
            client_auth,
            answered_after_request: None,
        })
    }

    /// The mode that asks after the request (`[server] asks =
    /// "after-request"`), when the gateway has one.
    pub fn after_request_mode(kind: ProfileKind) -> Option<&'static str> {
        kind.definition().after_request_mode()
    }

    /// The case's client answers a certificate asked for after the request
    /// on `version` (renegotiation, post-handshake auth): an after-request
    /// mode then checks the certificate as the profile says
    /// ([`Profile::answered_after_request`]).
    pub fn answering_after_request(mut self, version: TlsVersion) -> Self {
        self.answered_after_request = Some(version);
        self
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The mode as `P`'s typed enum, when this is profile `P` (real gateway
    /// renderers use it to pick directives).
    pub fn mode_of<P: Registered>(&self) -> Option<P::Mode> {
        (self.kind == P::KIND).then(|| P::Mode::from_name(self.mode).unwrap_or_default())
    }

    fn asks(&self) -> bool {
        self.client_auth != ClientAuth::None
    }

    pub fn enforcement(&self) -> Enforcement {
        let definition = self.kind.definition();
        let enforcement = definition.enforcement(self.mode, self.asks());
        match (enforcement, self.answered_after_request) {
            (Enforcement::PostHandshake, Some(version)) => definition
                .answered_after_request(self.mode, version)
                .unwrap_or(enforcement),
            _ => enforcement,
        }
    }

    /// The response to a request on a connection whose certificate status is
    /// `status` (for handshake-enforced profiles, only what got past TLS).
    pub fn respond(&self, status: &ClientCertStatus) -> GatewayResponse {
        self.kind.definition().respond(self.mode, status)
    }

    /// Whether the CA names sent are every trusted CA whatever the scenario
    /// says (see [`Profile::sends_whole_trust_store`]).
    pub fn sends_whole_trust_store(&self) -> bool {
        self.kind.definition().sends_whole_trust_store(self.mode)
    }

    /// Whether the gateway makes online revocation check `check` (see
    /// [`Profile::online_revocation`]).
    pub fn checks_online(&self, check: crate::knobs::RevocationCheck) -> bool {
        self.kind
            .definition()
            .online_revocation(self.mode)
            .contains(&check)
    }

    /// The alert this profile sends when handshake verification by OpenSSL's
    /// rules fails with `failure`.
    pub fn openssl_alert(&self, failure: &CertFailure) -> &'static str {
        self.kind.definition().verify_alert(self.mode, failure)
    }
}

impl ClientAuthPolicy for GatewayProfile {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn asks(&self) -> bool {
        GatewayProfile::asks(self)
    }

    fn enforcement(&self) -> Enforcement {
        GatewayProfile::enforcement(self)
    }

    fn verify_alert(&self, failure: &CertFailure) -> &'static str {
        self.openssl_alert(failure)
    }

    fn respond(&self, status: &ClientCertStatus, origin: CertOrigin) -> GatewayResponse {
        match (status, self.enforcement(), origin) {
            // A forwarded certificate that fails where the profile verifies
            // in the handshake: there is no alert to send any more.
            (
                ClientCertStatus::Failed(f),
                Enforcement::Handshake { .. },
                CertOrigin::ForwardedHeader,
            ) => GatewayResponse::text(
                403,
                format!("forwarded client certificate rejected: {f}\n"),
                format!("forwarded client certificate rejected: {f}"),
            ),
            _ => GatewayProfile::respond(self, status),
        }
    }

    fn post_handshake_refusal(&self, version: TlsVersion) -> PostHandshakeRefusal {
        self.kind
            .definition()
            .post_handshake_refusal(self.mode, version)
    }

    fn handshake_failure_log(&self, alert: &str, failure: Option<&CertFailure>) -> String {
        let definition = self.kind.definition();
        self.answered_after_request
            .filter(|_| {
                definition.enforcement(self.mode, self.asks()) == Enforcement::PostHandshake
            })
            .and_then(|v| definition.after_request_failure_log(v, alert, failure))
            .unwrap_or_else(|| definition.handshake_failure_log(alert, failure))
    }

    fn missing_cert_alert(&self) -> Option<rustls::AlertDescription> {
        let name = self.kind.definition().missing_cert_alert(self.mode)?;
        // A profile names an alert of the one table (checked by a unit test).
        crate::alert::by_name(name).map(|a| a.rustls)
    }

    fn requires_named_issuer(&self) -> bool {
        self.kind.definition().requires_named_issuer(self.mode)
    }

    fn oversized_ca_list(&self, version: TlsVersion, size: CaListSize) -> OversizedCaList {
        self.kind
            .definition()
            .oversized_ca_list(self.mode, version, size)
    }

    fn bad_signature_alert(&self) -> Option<rustls::AlertDescription> {
        let name = self.kind.definition().bad_signature_alert(self.mode)?;
        crate::alert::by_name(name).map(|a| a.rustls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_parse_back() {
        for (i, k) in ProfileKind::ALL.iter().enumerate() {
            assert_eq!(ProfileKind::from_name(k.name()), Some(*k));
            assert!(ProfileKind::ALL[..i].iter().all(|o| o.name() != k.name()));
            assert!(!k.info().summary.is_empty(), "{k} has no summary");
            assert!(!k.info().sources.is_empty(), "{k} cites no source");
        }
        assert_eq!(ProfileKind::from_name("squid"), None);
    }

    #[test]
    fn every_mode_has_a_summary_and_the_first_is_the_default() {
        for k in ProfileKind::ALL {
            for m in k.modes() {
                assert!(!k.mode_summary(m).is_empty(), "{k} mode {m}");
            }
            let default = GatewayProfile::new(k, None, ClientAuth::Required).expect("default");
            assert_eq!(default.mode, k.modes().first().copied().unwrap_or(""));
        }
        assert_eq!(
            ProfileKind::Nginx.modes(),
            &["on", "optional", "optional_no_ca"][..]
        );
    }

    #[test]
    fn profile_alerts_are_in_the_alert_table() {
        for k in ProfileKind::ALL {
            for m in k.modes() {
                let alerts = [
                    k.definition().missing_cert_alert(m),
                    k.definition().bad_signature_alert(m),
                ];
                for name in alerts.into_iter().flatten() {
                    assert!(crate::alert::is_known(name), "{k} {m}: {name}");
                }
            }
        }
    }

    #[test]
    fn unknown_modes_are_typed_errors() {
        let e = GatewayProfile::new(ProfileKind::Nginx, Some("sometimes"), ClientAuth::Required)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "profile `nginx` has no mode `sometimes` (known: on, optional, optional_no_ca)"
        );
        let e =
            GatewayProfile::new(ProfileKind::Layer7, Some("on"), ClientAuth::Required).unwrap_err();
        assert_eq!(e.to_string(), "profile `layer7` has no modes (got `on`)");
    }

    #[test]
    fn mode_of_gives_the_typed_mode_of_the_right_profile_only() {
        let p = GatewayProfile::new(
            ProfileKind::Nginx,
            Some("optional_no_ca"),
            ClientAuth::Required,
        )
        .expect("mode");
        assert_eq!(
            p.mode_of::<nginx::Nginx>(),
            Some(nginx::NginxMode::OptionalNoCa)
        );
        assert_eq!(p.mode_of::<haproxy::Haproxy>(), None);
    }
}
