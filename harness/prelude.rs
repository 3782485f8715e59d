//! `use mtls_harness::prelude::*;`: everything a test of your own needs.
//!
//! ```
//! use mtls_harness::prelude::*;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mtls_harness::api::Error> {
//! let pki = Pki::builder()
//!     .root("root").intermediate("issuing", "root")
//!     .server("gw", "issuing")
//!     .client("alice", "issuing")
//!     .client("bob", "issuing").expired()
//!     .build()?;
//! let gw = Gateway::builtin(Profile::Nginx).pki(&pki).cert("gw").trust(["root"])
//!     .start().await?;
//! Client::browser().pki(&pki).wallet(["alice"]).get(&gw.url()).await.assert_status(200);
//! // nginx completes the handshake and answers 400 to an expired certificate.
//! Client::curl().pki(&pki).wallet(["bob"]).get(&gw.url()).await.assert_status(400);
//! # Ok(())
//! # }
//! ```

pub use crate::api::{
    CaNameList, Client, Conformance, ConformanceReport, Connection, Error, Gateway, GatewayBuilder,
    KitFiles, TargetKit,
};
pub use crate::gateway::apache::ApacheMode;
pub use crate::gateway::envoy::EnvoyMode;
pub use crate::gateway::go::GoMode;
pub use crate::gateway::haproxy::HaproxyMode;
pub use crate::gateway::iis::IisMode;
pub use crate::gateway::jsse::JsseMode;
pub use crate::gateway::lighttpd::LighttpdMode;
pub use crate::gateway::nginx::NginxMode;
pub use crate::gateway::strict::StrictMode;
/// The gateway profiles as values: `Profile::Nginx`, `Profile::Strict`, ...
pub use crate::gateway::ProfileKind as Profile;
pub use crate::knobs::CaNamesPolicy as CaNames;
pub use crate::knobs::{CaNamesOverflow, ClientAuth, ForwardHeader, Resumption, SelectionPolicy};
pub use crate::observation::{Observation, Side, TlsVersion};
pub use crate::pki::{Defect, KeyType, Pki, PkiBuilder, PkiFiles};
pub use crate::tls::Timeouts;
