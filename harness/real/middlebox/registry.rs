//! The macro behind the registry of real middlebox programs in `mod.rs`.

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
