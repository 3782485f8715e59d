//! Value parsers shared by the commands. Named values (profiles, real
//! gateways, TLS versions) come from the library's registries, so clap's
//! help, completion and "possible values" errors follow them with no CLI edit.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;
use globset::{Glob, GlobSet, GlobSetBuilder};
use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::TlsVersion;
use mtls_harness::real::RealKind;
use mtls_harness::runner::{ClientSelection, GatewaySelection};
use mtls_harness::scenario::schema::{CaNamesPolicy, ClientAuth, Resumption};
use std::ffi::OsStr;
use std::time::Duration;

/// A value from a fixed set of names: help and errors list `names`; parsing
/// is the library's own (which may accept aliases the list does not show).
#[derive(Clone)]
pub struct NamedValueParser<T> {
    names: Vec<PossibleValue>,
    parse: fn(&str) -> Option<T>,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for NamedValueParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        if let Some(v) = value.to_str().and_then(self.parse) {
            return Ok(v);
        }
        // Not ours: clap's own parser over the same names words the error
        // (invalid value, possible values, "did you mean").
        PossibleValuesParser::new(self.names.clone())
            .parse_ref(cmd, arg, value)
            .and_then(|name| {
                (self.parse)(&name).ok_or_else(|| {
                    clap::Error::raw(
                        clap::error::ErrorKind::InvalidValue,
                        format!("`{name}` is listed but not parsed (a bug)\n"),
                    )
                })
            })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.names.iter().cloned()))
    }
}

/// A built-in gateway profile, by [`ProfileKind::name`].
pub fn profile() -> NamedValueParser<ProfileKind> {
    NamedValueParser {
        names: ProfileKind::ALL
            .iter()
            .map(|k| PossibleValue::new(k.name()))
            .collect(),
        parse: ProfileKind::from_name,
    }
}

/// A real gateway program, by [`RealKind::name`] (`real:<name>` also accepted).
pub fn real_gateway() -> NamedValueParser<RealKind> {
    NamedValueParser {
        names: RealKind::ALL
            .iter()
            .map(|k| PossibleValue::new(k.name()).help(judged_by(*k)))
            .collect(),
        parse: RealKind::from_name,
    }
}

/// `builtin`, or `real:<name>` for each [`RealKind`].
pub fn gateway_selection() -> NamedValueParser<GatewaySelection> {
    let builtin = PossibleValue::new("builtin").help("the built-in profiles, in process");
    let real = RealKind::ALL
        .iter()
        .map(|k| PossibleValue::new(k.to_string()).help(judged_by(*k)));
    NamedValueParser {
        names: std::iter::once(builtin).chain(real).collect(),
        parse: GatewaySelection::parse,
    }
}

/// `builtin`, or `real:<name>` for each real client program.
pub fn client_selection() -> NamedValueParser<ClientSelection> {
    use mtls_harness::real::client::RealClientKind;
    let builtin = PossibleValue::new("builtin")
        .help("the built-in client with each scenario's selection policy");
    let real = RealClientKind::ALL.iter().map(|k| {
        PossibleValue::new(k.to_string()).help(format!(
            "`{}`, follows `{}`",
            k.program(),
            k.policy().as_str()
        ))
    });
    NamedValueParser {
        names: std::iter::once(builtin).chain(real).collect(),
        parse: ClientSelection::parse,
    }
}

/// `run --middlebox`: the built-in middlebox, or a real program in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MiddleboxChoice(pub Option<mtls_harness::real::middlebox::RealMiddlebox>);

pub fn middlebox_selection() -> NamedValueParser<MiddleboxChoice> {
    use mtls_harness::real::middlebox::RealMiddlebox;
    let builtin = PossibleValue::new("builtin").help("the built-in middleboxes, in process");
    let real = RealMiddlebox::ALL.iter().map(|m| {
        let kinds: Vec<&str> = m.kinds().iter().map(|k| k.name()).collect();
        PossibleValue::new(m.to_string()).help(format!("`{}` ({})", m.program(), kinds.join(", ")))
    });
    NamedValueParser {
        names: std::iter::once(builtin).chain(real).collect(),
        parse: |s| match s {
            "builtin" => Some(MiddleboxChoice(None)),
            _ => s
                .strip_prefix("real:")
                .and_then(RealMiddlebox::from_name)
                .map(|m| MiddleboxChoice(Some(m))),
        },
    }
}

fn judged_by(kind: RealKind) -> String {
    format!(
        "`{}`, judged by the {} profile's expectations",
        kind.program(),
        kind.profile()
    )
}

/// `1.2` or `1.3` (and the spellings [`TlsVersion::parse`] accepts).
pub fn tls_version() -> NamedValueParser<TlsVersion> {
    NamedValueParser {
        names: TlsVersion::ALL
            .iter()
            .map(|v| PossibleValue::new(v.as_str()))
            .collect(),
        parse: TlsVersion::parse,
    }
}

/// `serve --mode`'s help: each profile's modes, the default first.
pub fn mode_help() -> String {
    let modes: Vec<String> = ProfileKind::ALL
        .iter()
        .filter(|k| !k.modes().is_empty())
        .map(|k| format!("{k}: {}", k.modes().join("|")))
        .collect();
    format!(
        "Profile mode, the first of each is the default ({})",
        modes.join("; ")
    )
}

/// Whether a listener asks for a client certificate.
pub fn client_auth() -> NamedValueParser<ClientAuth> {
    NamedValueParser {
        names: ["none", "optional", "required"]
            .into_iter()
            .map(PossibleValue::new)
            .collect(),
        parse: |s| match s {
            "none" => Some(ClientAuth::None),
            "optional" => Some(ClientAuth::Optional),
            "required" => Some(ClientAuth::Required),
            _ => None,
        },
    }
}

pub fn resumption() -> NamedValueParser<Resumption> {
    NamedValueParser {
        names: Resumption::ALL
            .into_iter()
            .map(|r| PossibleValue::new(r.name()))
            .collect(),
        parse: |s| Resumption::ALL.into_iter().find(|r| r.name() == s),
    }
}

/// A forwarded-certificate header format (`xfcc`, `rfc9440`, ...; the old
/// `client-cert` and `x-ssl-client-cert` too).
pub fn forward_header() -> NamedValueParser<mtls_harness::knobs::ForwardHeader> {
    NamedValueParser {
        names: mtls_harness::knobs::ForwardHeader::ALL
            .into_iter()
            .map(|h| PossibleValue::new(h.name()))
            .collect(),
        parse: mtls_harness::knobs::ForwardHeader::parse,
    }
}

/// The globs of a repeatable `--filter` as one set; `None` when there are none.
pub fn glob_set(globs: &[Glob]) -> Result<Option<GlobSet>, globset::Error> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for g in globs {
        set.add(g.clone());
    }
    set.build().map(Some)
}

/// How `serve` logs connections and `probe` reports.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Why a free-form value did not parse; clap prints it after the value.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    #[error("expected e.g. 10s or 500ms")]
    NotADuration,
    #[error("unit must be ms, s or m")]
    DurationUnit,
    #[error("must be between 50ms and 1h")]
    DurationRange,
    #[error("expected all-trusted | flagged | empty | truncate:BYTES | filler:N | fill-to:BYTES | explicit:a,b")]
    CaNames,
    #[error("`{policy}:...`: unknown policy")]
    CaNamesPolicy { policy: String },
    #[error("{policy}:{value}: not a number ({source})")]
    CaNamesNumber {
        policy: &'static str,
        value: String,
        #[source]
        source: std::num::ParseIntError,
    },
}

/// `10s`, `500ms`, `1.5m` (a bare number is seconds); 50 ms to 1 h.
pub fn duration(raw: &str) -> Result<Duration, ArgError> {
    let raw = raw.trim();
    let (num, unit) = raw.split_at(
        raw.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(raw.len()),
    );
    let n: f64 = num.parse().map_err(|_| ArgError::NotADuration)?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(ArgError::DurationUnit),
    };
    if !(0.05..=3600.0).contains(&secs) {
        return Err(ArgError::DurationRange);
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The CA-names policy a `serve` gateway sends, as on the command line:
/// `all-trusted`, `flagged`, `empty`, `truncate:BYTES`, `filler:N`,
/// `fill-to:BYTES`, `explicit:a,b`.
pub fn ca_names(raw: &str) -> Result<CaNamesPolicy, ArgError> {
    let number = |value: &str, policy: &'static str| {
        value
            .parse::<usize>()
            .map_err(|source| ArgError::CaNamesNumber {
                policy,
                value: value.to_string(),
                source,
            })
    };
    Ok(match raw.split_once(':') {
        None => match raw {
            "all-trusted" => CaNamesPolicy::AllTrusted,
            "flagged" => CaNamesPolicy::Flagged,
            "empty" => CaNamesPolicy::Empty,
            _ => return Err(ArgError::CaNames),
        },
        Some(("truncate", v)) => CaNamesPolicy::TruncateBytes(number(v, "truncate")?),
        Some(("filler", v)) => CaNamesPolicy::ExtraFiller(number(v, "filler")?),
        Some(("fill-to", v)) => CaNamesPolicy::FillToBytes(number(v, "fill-to")?),
        Some(("explicit", v)) => {
            CaNamesPolicy::Explicit(v.split(',').map(str::to_string).collect())
        }
        Some((k, _)) => {
            return Err(ArgError::CaNamesPolicy {
                policy: k.to_string(),
            })
        }
    })
}

/// `on` or `off`.
pub fn on_off() -> NamedValueParser<bool> {
    NamedValueParser {
        names: vec![PossibleValue::new("on"), PossibleValue::new("off")],
        parse: |s| match s {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_stay_in_range() {
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(matches!(duration("5h"), Err(ArgError::DurationUnit)));
        assert!(matches!(duration("10ms"), Err(ArgError::DurationRange)));
        assert!(matches!(duration("s"), Err(ArgError::NotADuration)));
    }

    #[test]
    fn ca_names_policies_parse_with_their_numbers() {
        assert_eq!(
            ca_names("truncate:16384").unwrap(),
            CaNamesPolicy::TruncateBytes(16384)
        );
        assert_eq!(
            ca_names("explicit:a,b").unwrap(),
            CaNamesPolicy::Explicit(vec!["a".into(), "b".into()])
        );
        let e = ca_names("filler:x").unwrap_err();
        assert!(e.to_string().starts_with("filler:x: not a number ("), "{e}");
        assert!(matches!(
            ca_names("bogus:1"),
            Err(ArgError::CaNamesPolicy { .. })
        ));
        assert!(matches!(ca_names("bogus"), Err(ArgError::CaNames)));
    }

    #[test]
    fn named_values_come_from_the_registries() {
        let profiles: Vec<String> = profile()
            .possible_values()
            .unwrap()
            .map(|v| v.get_name().to_string())
            .collect();
        let expected: Vec<String> = ProfileKind::ALL.iter().map(|k| k.name().into()).collect();
        assert_eq!(profiles, expected);
        let gateways: Vec<String> = gateway_selection()
            .possible_values()
            .unwrap()
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(gateways.len(), RealKind::ALL.len() + 1);
        assert!(gateways.iter().skip(1).all(|g| g.starts_with("real:")));
    }
}
