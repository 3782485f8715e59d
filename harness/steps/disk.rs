//! The gateway's trust material as it is on disk, step by step.

use crate::case::CaseError;
use crate::pki::Pki;
use crate::scenario::schema::{CaNamesPolicy, ServerSpec, StepAction, StepSpec};
use std::collections::{BTreeMap, BTreeSet};

/// What a change step touched on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// `issuer`'s CRL file.
    Crl(String),
    /// The server certificate, chain and key files.
    ServerCert,
    /// The trust store (and CA names) file.
    Trust,
}

/// The PKI (its CRLs as published) and `[server]` (its certificate and
/// trust) as the files on disk say.
#[derive(Debug, Clone)]
pub struct Disk {
    pub pki: Pki,
    pub server: ServerSpec,
    /// Each issuer's revoked serials (content octets), as its CRL lists them.
    revoked: BTreeMap<String, Vec<Vec<u8>>>,
    /// Issuers whose CRL was published past its nextUpdate.
    expired: BTreeSet<String>,
}

fn serial_octets(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

impl Disk {
    pub fn new(pki: &Pki, server: &ServerSpec) -> Disk {
        // What each CRL lists already: the certificates whose issuer it is
        // and whose serial it names.
        let mut revoked: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for issuer in &server.crls {
            let Some(crl) = pki.crl(issuer) else { continue };
            let Ok((_, parsed)) = x509_parser::parse_x509_crl(crl) else {
                continue;
            };
            revoked.insert(
                issuer.clone(),
                parsed
                    .iter_revoked_certificates()
                    .map(|r| r.raw_serial().to_vec())
                    .collect(),
            );
        }
        Disk {
            pki: pki.clone(),
            server: server.clone(),
            revoked,
            expired: BTreeSet::new(),
        }
    }

    /// Publish `issuer`'s CRL anew from what is revoked and expired.
    fn republish(&mut self, issuer: &str, step: usize) -> Result<(), CaseError> {
        let ca = self.pki.cert(issuer).map_err(|source| CaseError::Pki {
            field: "step.ca",
            source,
        })?;
        let serials = self.revoked.get(issuer).cloned().unwrap_or_default();
        let crl = crate::pki::sign_crl(
            &ca.der,
            &ca.key_pkcs8,
            ca.key_type,
            time::OffsetDateTime::now_utc(),
            self.expired.contains(issuer),
            &serials,
        )
        .map_err(|e| CaseError::setup_in(format!("step {step}: signing {issuer}'s CRL"), e))?;
        self.pki = self.pki.with_crl(issuer, crl);
        Ok(())
    }

    /// Apply change step `step` (numbered from 1); what it touched and how
    /// to say it.
    pub fn apply(&mut self, step: usize, spec: &StepSpec) -> Result<(Changed, String), CaseError> {
        let named = |v: &Option<String>, field: &'static str| {
            v.clone().ok_or_else(|| {
                CaseError::setup_in(
                    format!("step {step}"),
                    format!("a `{}` step needs `{field}`", spec.action.name()),
                )
            })
        };
        match spec.action {
            StepAction::Revoke => {
                let name = named(&spec.cert, "cert")?;
                let cert = self.pki.cert(&name).map_err(|source| CaseError::Pki {
                    field: "step.cert",
                    source,
                })?;
                let issuer = cert.issuer.clone().unwrap_or_else(|| name.clone());
                let serial = serial_octets(&cert.serial);
                let list = self.revoked.entry(issuer.clone()).or_default();
                if !list.contains(&serial) {
                    list.push(serial);
                }
                self.republish(&issuer, step)?;
                Ok((
                    Changed::Crl(issuer.clone()),
                    format!("revoke {name}: {issuer}'s CRL replaced"),
                ))
            }
            StepAction::ExpireCrl => {
                let ca = named(&spec.ca, "ca")?;
                self.expired.insert(ca.clone());
                self.republish(&ca, step)?;
                Ok((
                    Changed::Crl(ca.clone()),
                    format!("expire-crl {ca}: replaced by one past its nextUpdate"),
                ))
            }
            StepAction::ReplaceServerCert => {
                let cert = named(&spec.cert, "cert")?;
                self.server.cert = cert.clone();
                Ok((
                    Changed::ServerCert,
                    format!("replace-server-cert {cert}: certificate, chain and key replaced"),
                ))
            }
            StepAction::AddCa | StepAction::RemoveCa => {
                let ca = named(&spec.ca, "ca")?;
                let add = spec.action == StepAction::AddCa;
                self.server.trust.retain(|t| t != &ca);
                if add {
                    self.server.trust.push(ca.clone());
                }
                if let CaNamesPolicy::Explicit(names) = &mut self.server.ca_names {
                    names.retain(|n| n != &ca);
                    if add {
                        names.push(ca.clone());
                    }
                }
                Ok((
                    Changed::Trust,
                    format!("{} {ca}: trust store replaced", spec.action.name()),
                ))
            }
            StepAction::Connect | StepAction::Reload => Err(CaseError::setup_in(
                format!("step {step}"),
                format!("`{}` changes nothing on disk", spec.action.name()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::spec::PkiSpec;

    fn setup() -> (Pki, ServerSpec) {
        let spec = PkiSpec::from_toml(
            "[[cert]]\nname = \"root\"\nrole = \"root\"\n\
             [[cert]]\nname = \"new\"\nrole = \"root\"\n\
             [[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n\
             [[cert]]\nname = \"gw2\"\nrole = \"server\"\nissuer = \"root\"\n\
             [[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n\
             [[cert]]\nname = \"bob\"\nrole = \"client\"\nissuer = \"root\"\ndefects = [\"revoked\"]\n",
            "disk.toml",
        )
        .expect("spec");
        let pki = Pki::generate(&spec).expect("pki");
        let server: ServerSpec =
            toml::from_str("cert = \"gw\"\ntrust = [\"root\"]\ncrls = [\"root\"]\n")
                .expect("server");
        (pki, server)
    }

    fn step(action: StepAction, cert: Option<&str>, ca: Option<&str>) -> StepSpec {
        StepSpec {
            action,
            cert: cert.map(str::to_string),
            certs: None,
            ca: ca.map(str::to_string),
            via: None,
            expect: None,
        }
    }

    /// The serials `issuer`'s CRL lists, and whether it is past nextUpdate.
    fn crl_of(pki: &Pki, issuer: &str) -> (Vec<Vec<u8>>, bool) {
        let der = pki.crl(issuer).expect("a CRL");
        let (_, crl) = x509_parser::parse_x509_crl(der).expect("parses");
        let serials = crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        let next = crl.next_update().expect("nextUpdate").timestamp();
        (
            serials,
            next < time::OffsetDateTime::now_utc().unix_timestamp(),
        )
    }

    #[test]
    fn a_revocation_keeps_what_was_listed_and_an_expiry_keeps_what_is_revoked() {
        let (pki, server) = setup();
        let mut disk = Disk::new(&pki, &server);
        let bob = serial_octets(&pki.cert("bob").expect("bob").serial);
        let alice = serial_octets(&pki.cert("alice").expect("alice").serial);
        assert_eq!(crl_of(&disk.pki, "root").0, vec![bob.clone()]);
        let (changed, what) = disk
            .apply(2, &step(StepAction::Revoke, Some("alice"), None))
            .expect("revoke");
        assert_eq!(changed, Changed::Crl("root".into()));
        assert_eq!(what, "revoke alice: root's CRL replaced");
        let (listed, expired) = crl_of(&disk.pki, "root");
        assert_eq!(listed, vec![bob.clone(), alice.clone()]);
        assert!(!expired);
        // The PKI the case started with is untouched.
        assert_eq!(crl_of(&pki, "root").0, vec![bob.clone()]);
        disk.apply(3, &step(StepAction::ExpireCrl, None, Some("root")))
            .expect("expire");
        let (listed, expired) = crl_of(&disk.pki, "root");
        assert_eq!(listed, vec![bob, alice]);
        assert!(expired);
    }

    #[test]
    fn trust_and_server_certificate_changes_touch_server_only() {
        let (pki, server) = setup();
        let mut disk = Disk::new(&pki, &server);
        disk.apply(1, &step(StepAction::AddCa, None, Some("new")))
            .expect("add");
        disk.apply(2, &step(StepAction::AddCa, None, Some("new")))
            .expect("added twice is once");
        assert_eq!(
            disk.server.trust,
            vec!["root".to_string(), "new".to_string()]
        );
        disk.apply(3, &step(StepAction::RemoveCa, None, Some("root")))
            .expect("remove");
        assert_eq!(disk.server.trust, vec!["new".to_string()]);
        let (changed, _) = disk
            .apply(4, &step(StepAction::ReplaceServerCert, Some("gw2"), None))
            .expect("replace");
        assert_eq!(changed, Changed::ServerCert);
        assert_eq!(disk.server.cert, "gw2");
        assert!(disk
            .apply(5, &step(StepAction::Reload, None, None))
            .is_err());
    }
}
