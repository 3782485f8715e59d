//! The macro behind the registry of real middlebox programs in `mod.rs`,
//! and what the registry says of each program: its name, where it is
//! installed, which `[middlebox]` tables it can play.

use super::RealMiddlebox;
use crate::knobs::{ForwardHeader, MiddleboxKind};
use crate::scenario::schema::MiddleboxSpec;
use std::fmt;
use std::path::PathBuf;

/// Defines the program modules and [`RealMiddlebox`] from the registry:
/// each line `Variant => module::Program,` declares `middlebox/module.rs`
/// and the variant it implements `MiddleboxProgram` for, so adding a real
/// middlebox is one file and one registry line.
macro_rules! real_middleboxes {
    ($($(#[$attr:meta])* $variant:ident => $module:ident::$program:ident,)+) => {
        $(mod $module;)+

        /// A real middlebox program.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RealMiddlebox {
            $($(#[$attr])* $variant,)+
        }

        impl RealMiddlebox {
            /// Every real middlebox, in registry order.
            pub const ALL: [RealMiddlebox; [$(RealMiddlebox::$variant),+].len()] =
                [$(RealMiddlebox::$variant),+];

            /// The name after `real:` (`tinyproxy`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::NAME,)+
                }
            }

            /// The executable's file name.
            pub const fn program(self) -> &'static str {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::PROGRAM,)+
                }
            }

            /// The Debian package that provides it.
            pub const fn package(self) -> &'static str {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::PACKAGE,)+
                }
            }

            /// The middlebox kinds it can be configured as.
            pub const fn kinds(self) -> &'static [MiddleboxKind] {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::KINDS,)+
                }
            }

            /// The forwarding-header formats it can write (offloaders).
            pub const fn headers(self) -> &'static [ForwardHeader] {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::HEADERS,)+
                }
            }

            /// Whether it needs a second local port (a chained service).
            const fn needs_spare_port(self) -> bool {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::SPARE_PORT,)+
                }
            }

            /// Whether the client sends it CONNECT (a tunnel, or squid `ssl_bump`).
            pub const fn explicit_proxy(self) -> bool {
                match self {
                    $(RealMiddlebox::$variant => <$module::$program as MiddleboxProgram>::EXPLICIT_PROXY,)+
                }
            }

            fn render_program(self, job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
                match self {
                    $(RealMiddlebox::$variant =>
                        <$module::$program as MiddleboxProgram>::render(job, out),)+
                }
            }
        }
    };
}
pub(super) use real_middleboxes;

/// Why a real middlebox cannot be configured as a scenario's `[middlebox]`
/// says (the case is SKIP with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MiddleboxUnsupported {
    #[error("{program} is no {} middlebox", kind.name())]
    Kind {
        program: RealMiddlebox,
        kind: MiddleboxKind,
    },
    #[error("{program} as an interceptor asks the client for no certificate")]
    InterceptorAsks { program: RealMiddlebox },
    #[error("{program} cannot write a {} header", header.name())]
    Header {
        program: RealMiddlebox,
        header: ForwardHeader,
    },
    #[error("{program}: an offloader that asks for no certificate is an interceptor")]
    OffloaderAsksNothing { program: RealMiddlebox },
}

impl fmt::Display for RealMiddlebox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "real:{}", self.name())
    }
}

impl RealMiddlebox {
    /// The middlebox named `name` (after `real:`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The installed executable.
    pub fn find_program(self) -> Result<PathBuf, crate::real::RealError> {
        crate::real::kind::find_installed(self.program(), self.package())
    }

    /// Whether it can be configured as `spec` says; the reason otherwise.
    pub fn supports(self, spec: &MiddleboxSpec) -> Result<(), MiddleboxUnsupported> {
        let program = self;
        if !self.kinds().contains(&spec.kind) {
            return Err(MiddleboxUnsupported::Kind {
                program,
                kind: spec.kind,
            });
        }
        let requests = spec
            .request_client_cert
            .unwrap_or(spec.kind.requests_client_cert());
        if spec.kind == MiddleboxKind::Intercept && requests {
            return Err(MiddleboxUnsupported::InterceptorAsks { program });
        }
        if let Some(header) = spec.header {
            if !self.headers().contains(&header) {
                return Err(MiddleboxUnsupported::Header { program, header });
            }
        }
        if spec.kind == MiddleboxKind::Offload && !requests {
            return Err(MiddleboxUnsupported::OffloaderAsksNothing { program });
        }
        Ok(())
    }
}
