//! The macro behind the registry of real clients in `client/mod.rs`.

/// Defines the client modules and [`RealClientKind`] from the registry:
/// each line `Variant => module::Client,` declares `client/module.rs` and
/// the variant it implements [`RealClient`](super::RealClient) for, so
/// adding a real client is one file and one registry line.
macro_rules! real_clients {
    ($($(#[$attr:meta])* $variant:ident => $module:ident::$client:ident,)+) => {
        $(mod $module;)+

        /// A real client program.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RealClientKind {
            $($(#[$attr])* $variant,)+
        }

        impl RealClientKind {
            /// Every real client, in registry order.
            pub const ALL: [RealClientKind; [$(RealClientKind::$variant),+].len()] =
                [$(RealClientKind::$variant),+];

            /// The name after `real:` (`curl`).
            pub const fn name(self) -> &'static str {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::NAME,)+ }
            }

            /// The family `probe` and the docs name (`Chromium`).
            pub const fn family(self) -> &'static str {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::FAMILY,)+ }
            }

            /// The executable's file name.
            pub const fn program(self) -> &'static str {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::PROGRAM,)+ }
            }

            /// The Debian package that provides it.
            pub const fn package(self) -> &'static str {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::PACKAGE,)+ }
            }

            /// The selection policy it was measured to follow.
            pub const fn policy(self) -> $crate::knobs::SelectionPolicy {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::POLICY,)+ }
            }

            /// How it gets the wallet.
            pub const fn wallet(self) -> &'static str {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::WALLET,)+ }
            }

            /// Why it follows [`Self::policy`].
            pub const fn evidence(self) -> &'static str {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::EVIDENCE,)+ }
            }

            /// A headless browser.
            pub const fn is_browser(self) -> bool {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::BROWSER,)+ }
            }

            /// What it answers when the certificate is asked for after the request.
            pub const fn after_request(self) -> Result<AfterRequest, &'static str> {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::AFTER_REQUEST,)+ }
            }

            /// The executable to start (built first for Go).
            pub fn executable(self) -> Result<std::path::PathBuf, RealClientError> {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::executable(),)+ }
            }

            /// The command for one request.
            pub(crate) fn command(self, job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::command(job),)+ }
            }

            /// Read the program's result.
            pub(crate) fn read(self, success: bool, stdout: &str, stderr: &str, job: &ClientJob<'_>) -> ClientReport {
                match self { $(RealClientKind::$variant => <$module::$client as RealClient>::read(success, stdout, stderr, job),)+ }
            }
        }
    };
}
pub(super) use real_clients;
