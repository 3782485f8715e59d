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
