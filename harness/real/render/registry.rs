//! The macro behind the registry of real programs in `render/mod.rs`.

/// Defines the program modules and [`RealKind`] from the registry: each line
/// `Variant => module::Program,` declares `render/module.rs` and the variant
/// it implements [`RealProgram`](super::render::RealProgram) for. Everything
/// that differs per program is a `match` generated here, so adding a real
/// gateway is one file and one registry line.
macro_rules! real_programs {
    ($($(#[$attr:meta])* $variant:ident => $module:ident::$program:ident,)+) => {
        $(mod $module;)+

        /// A real gateway program.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RealKind {
            $($(#[$attr])* $variant,)+
        }

        impl RealKind {
            /// Every real gateway, in registry order.
            pub const ALL: [RealKind; [$(RealKind::$variant),+].len()] =
                [$(RealKind::$variant),+];

            /// The name after `real:` (`nginx`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::NAME,)+
                }
            }

            /// The built-in profile whose expectations (and `[server.mode]`
            /// entry) this real gateway uses.
            pub const fn profile(self) -> $crate::gateway::ProfileKind {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::PROFILE,)+
                }
            }

            /// The executable's file name.
            pub const fn program(self) -> &'static str {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::PROGRAM,)+
                }
            }

            /// The Debian package that provides it.
            pub const fn package(self) -> &'static str {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::PACKAGE,)+
                }
            }

            /// Whether it answers with a page of its own instead of the
            /// scenario's body (`openssl s_server -www`'s status page).
            pub const fn serves_own_page(self) -> bool {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::SERVES_OWN_PAGE,)+
                }
            }

            /// Whether it inherits its listening socket or binds the port.
            pub const fn listener(self) -> $crate::real::render::Listener {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::LISTENER,)+
                }
            }

            /// The executable to start (see `RealProgram::executable`).
            pub(crate) fn executable(self) -> Result<std::path::PathBuf, $crate::real::RealError> {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::executable(),)+
                }
            }

            /// Whether it can be configured for `mode` of its profile (when a
            /// client certificate is asked for).
            pub fn supports(self, mode: &str) -> bool {
                match self {
                    $(RealKind::$variant =>
                        $crate::gateway::ProfileMode::from_name(mode).is_some_and(|m|
                            <$module::$program as $crate::real::render::RealProgram>::verify(m)
                                .is_some()),)+
                }
            }

            /// The arguments (after [`Self::program`]) that check, without
            /// starting anything, the config rendered into `prefix`; `None`
            /// when the program has no config file.
            pub fn check_args(self, prefix: &std::path::Path) -> Option<Vec<String>> {
                match self {
                    $(RealKind::$variant =>
                        <$module::$program as $crate::real::render::RealProgram>::check_args(
                            prefix,
                        ),)+
                }
            }

            /// [`render`](super::render) for this program.
            fn render_program(
                self,
                pki: &$crate::pki::Pki,
                server: &$crate::scenario::schema::ServerSpec,
                version: $crate::observation::TlsVersion,
                listen: $crate::real::render::Listen,
                prefix: &std::path::Path,
            ) -> Result<$crate::real::RenderedGateway, $crate::real::RealError> {
                match self {
                    $(RealKind::$variant => $crate::real::render::render_as::<$module::$program>(
                        self, pki, server, version, listen, prefix,
                    ),)+
                }
            }
        }
    };
}
pub(super) use real_programs;
