//! [`PkiBuilder`]: a [`PkiSpec`] written in Rust, one certificate per call,
//! the defects and settings applied to the certificate added last.

use super::spec::{BulkSpec, CertSpec, Defect, KeyType, PkiSpec, Role, Validity};
use super::{Pki, PkiError};

/// The SANs a server certificate of the builder carries unless told
/// otherwise: every name a loopback client may use.
pub const LOOPBACK_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Builds a [`PkiSpec`] and generates it ([`PkiBuilder::build`]).
///
/// Certificates are added in order (issuers first); each defect or setting
/// method applies to the certificate (or `[[bulk]]` table) added last.
///
/// ```
/// use mtls_harness::prelude::*;
///
/// let pki = Pki::builder()
///     .root("root")
///     .intermediate("issuing", "root")
///     .server("gw", "issuing")
///     .client("alice", "issuing")
///     .client("bob", "issuing").expired()
///     .client("carol", "issuing").revoked()
///     .bulk_roots("filler", 3)
///     .build()?;
/// assert!(pki.get("filler-00003").is_some());
/// assert!(pki.cert("bob")?.has(mtls_harness::pki::Defect::Revoked) == false);
/// assert!(pki.cert("carol")?.has(mtls_harness::pki::Defect::Revoked));
/// # Ok::<(), mtls_harness::api::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PkiBuilder {
    spec: PkiSpec,
    last: Option<Last>,
}

#[derive(Debug, Clone, Copy)]
enum Last {
    Cert(usize),
    Bulk(usize),
}

impl Pki {
    /// A [`PkiBuilder`]: the PKI spec written in Rust.
    pub fn builder() -> PkiBuilder {
        PkiBuilder::default()
    }

    /// Parse and generate a PKI spec in its TOML form (docs/pki-spec.md).
    ///
    /// ```
    /// use mtls_harness::prelude::*;
    /// let pki = Pki::from_toml(r#"
    ///     [[cert]]
    ///     name = "root"
    ///     role = "root"
    ///     [[cert]]
    ///     name = "alice"
    ///     role = "client"
    ///     issuer = "root"
    /// "#)?;
    /// assert_eq!(pki.cert("alice")?.issuer.as_deref(), Some("root"));
    /// # Ok::<(), mtls_harness::api::Error>(())
    /// ```
    pub fn from_toml(source: &str) -> Result<Pki, PkiError> {
        let spec = PkiSpec::from_toml(source, "<toml>")?;
        Pki::generate_with_source(&spec, "<toml>", source)
    }
}

impl PkiBuilder {
    fn push(mut self, cert: CertSpec) -> Self {
        self.last = Some(Last::Cert(self.spec.cert.len()));
        self.spec.cert.push(cert);
        self
    }

    fn cert_of(name: &str, role: Role, issuer: Option<&str>) -> CertSpec {
        CertSpec {
            name: name.to_string(),
            role,
            issuer: issuer.map(str::to_string),
            ..CertSpec::default()
        }
    }

    /// A self-signed root CA.
    pub fn root(self, name: &str) -> Self {
        self.push(Self::cert_of(name, Role::Root, None))
    }

    /// An intermediate CA issued by `issuer`.
    pub fn intermediate(self, name: &str, issuer: &str) -> Self {
        self.push(Self::cert_of(name, Role::Intermediate, Some(issuer)))
    }

    /// A server certificate issued by `issuer`, with the SANs localhost,
    /// 127.0.0.1 and ::1 ([`PkiBuilder::sans`] replaces them).
    pub fn server(self, name: &str, issuer: &str) -> Self {
        let mut cert = Self::cert_of(name, Role::Server, Some(issuer));
        cert.sans = LOOPBACK_SANS.iter().map(|s| s.to_string()).collect();
        self.push(cert)
    }

    /// A client certificate issued by `issuer`.
    pub fn client(self, name: &str, issuer: &str) -> Self {
        self.push(Self::cert_of(name, Role::Client, Some(issuer)))
    }

    /// A certificate as a whole spec entry (every field of [`CertSpec`]).
    pub fn cert(self, cert: CertSpec) -> Self {
        self.push(cert)
    }

    /// `count` self-signed filler roots, `<prefix>-00001` ... (as `[[bulk]]`
    /// names them); `<prefix>-*` names them all in a list of names.
    pub fn bulk_roots(self, prefix: &str, count: usize) -> Self {
        self.bulk(BulkSpec {
            prefix: prefix.to_string(),
            role: Role::Root,
            count,
            issuer: None,
            signs_client_certs: false,
            subject: None,
        })
    }

    /// A whole `[[bulk]]` table (one of no fillers adds nothing).
    pub fn bulk(mut self, bulk: BulkSpec) -> Self {
        if bulk.count == 0 {
            return self;
        }
        self.last = Some(Last::Bulk(self.spec.bulk.len()));
        self.spec.bulk.push(bulk);
        self
    }

    fn last_cert(mut self, f: impl FnOnce(&mut CertSpec)) -> Self {
        match self.last {
            Some(Last::Cert(i)) => f(&mut self.spec.cert[i]),
            // Validation names the mistake: a setting with no certificate.
            _ => panic!("PkiBuilder: a certificate setting needs a certificate added before it"),
        }
        self
    }

    /// Add a deliberate defect to the certificate added last.
    pub fn defect(self, defect: Defect) -> Self {
        self.last_cert(|c| {
            if !c.defects.contains(&defect) {
                c.defects.push(defect)
            }
        })
    }

    /// Past its notAfter.
    pub fn expired(self) -> Self {
        self.validity(Validity::Expired)
    }

    /// Before its notBefore.
    pub fn not_yet_valid(self) -> Self {
        self.validity(Validity::NotYetValid)
    }

    /// Valid, expired or not yet valid.
    pub fn validity(self, validity: Validity) -> Self {
        self.last_cert(|c| c.validity = Some(validity))
    }

    /// Listed in its issuer's CRL.
    pub fn revoked(self) -> Self {
        self.defect(Defect::Revoked)
    }

    /// Its issuer's CRL is past its nextUpdate.
    pub fn crl_expired(self) -> Self {
        self.defect(Defect::CrlExpired)
    }

    /// extendedKeyUsage serverAuth only (a client certificate no server should accept).
    pub fn eku_server_only(self) -> Self {
        self.defect(Defect::EkuServerOnly)
    }

    /// No extendedKeyUsage extension.
    pub fn no_eku(self) -> Self {
        self.defect(Defect::NoEku)
    }

    /// The key handed out does not match the certificate.
    pub fn key_mismatch(self) -> Self {
        self.defect(Defect::KeyMismatch)
    }

    /// A leaf that signs itself.
    pub fn self_signed_leaf(self) -> Self {
        self.defect(Defect::SelfSignedLeaf)
    }

    /// A CA with basicConstraints cA=FALSE.
    pub fn ca_flag_false(self) -> Self {
        self.defect(Defect::CaFlagFalse)
    }

    /// A CA without basicConstraints.
    pub fn basic_constraints_absent(self) -> Self {
        self.defect(Defect::BasicConstraintsAbsent)
    }

    /// A CA whose keyUsage lacks keyCertSign.
    pub fn no_key_cert_sign(self) -> Self {
        self.defect(Defect::NoKeyCertSign)
    }

    /// The chain exceeds an issuer's pathLenConstraint.
    pub fn path_len_exceeded(self) -> Self {
        self.defect(Defect::PathLenExceeded)
    }

    /// The name falls outside the issuer's permitted subtrees.
    pub fn name_constraints_violated(self) -> Self {
        self.defect(Defect::NameConstraintsViolated)
    }

    /// A CA also certified by `other` (`<name>-cross`).
    pub fn cross_signed_by(self, other: &str) -> Self {
        self.defect(Defect::CrossSigned)
            .last_cert(|c| c.cross_signed_by = Some(other.to_string()))
    }

    /// The key type (default ECDSA P-256).
    pub fn key(self, key: KeyType) -> Self {
        self.last_cert(|c| c.key = key)
    }

    /// The subject (`CN=..,O=..`; default `CN=<name>`).
    pub fn subject(self, subject: &str) -> Self {
        self.last_cert(|c| c.subject = Some(subject.to_string()))
    }

    /// The SANs (DNS names, IPs, e-mail addresses).
    pub fn sans<I, S>(self, sans: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sans = sans.into_iter().map(|s| s.as_ref().to_string()).collect();
        self.last_cert(|c| c.sans = sans)
    }

    /// Mark a CA (or the last `[[bulk]]` table) as one that signs client
    /// certificates (what the `flagged` CA-names policy lists).
    pub fn signs_client_certs(mut self) -> Self {
        if let Some(Last::Bulk(i)) = self.last {
            self.spec.bulk[i].signs_client_certs = true;
            return self;
        }
        self.last_cert(|c| c.signs_client_certs = true)
    }

    /// A CA's pathLenConstraint.
    pub fn path_len(self, n: u8) -> Self {
        self.last_cert(|c| c.path_len = Some(n))
    }

    /// A CA's permitted DNS subtrees.
    pub fn permitted_dns<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        self.last_cert(|c| c.permitted_dns = names)
    }

    /// notBefore, RFC 3339.
    pub fn not_before(self, when: &str) -> Self {
        self.last_cert(|c| c.not_before = Some(when.to_string()))
    }

    /// notAfter, RFC 3339.
    pub fn not_after(self, when: &str) -> Self {
        self.last_cert(|c| c.not_after = Some(when.to_string()))
    }

    /// An OCSP responder URL (authorityInfoAccess).
    pub fn ocsp_url(self, url: &str) -> Self {
        self.last_cert(|c| c.ocsp_url = Some(url.to_string()))
    }

    /// A CRL distribution point URL (one more each call).
    pub fn crl_distribution_point(self, url: &str) -> Self {
        self.last_cert(|c| c.crl_distribution_points.push(url.to_string()))
    }

    /// The spec built so far.
    pub fn spec(&self) -> &PkiSpec {
        &self.spec
    }

    /// The spec, to keep or write as TOML.
    pub fn into_spec(self) -> PkiSpec {
        self.spec
    }

    /// Validate (every error at once) and generate.
    pub fn build(self) -> Result<Pki, PkiError> {
        Pki::generate(&self.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_to_the_certificate_added_last() {
        let spec = Pki::builder()
            .root("root")
            .client("alice", "root")
            .client("bob", "root")
            .expired()
            .revoked()
            .into_spec();
        assert_eq!(spec.cert[1].validity, None);
        assert_eq!(spec.cert[2].validity, Some(Validity::Expired));
        assert_eq!(spec.cert[2].defects, vec![Defect::Revoked]);
    }

    #[test]
    fn servers_carry_the_loopback_names() {
        let spec = Pki::builder().root("root").server("gw", "root").into_spec();
        assert_eq!(spec.cert[1].sans, LOOPBACK_SANS);
    }
}
