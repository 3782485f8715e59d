//! A valid spec -> certificates, keys and CRLs, in the order validation
//! planned (issuers first).

use super::bulk::{self, FILLER_KEY};
use super::crl;
use super::error::{GenerateError, PkiError};
use super::graph::Node;
use super::keys;
use super::names::cross_name;
use super::params::{self, cert_params, subject_of, ExplicitDates};
use super::spec::{CertSpec, Defect, PkiSpec, Role};
use super::validate::Plan;
use super::x509::{hex, random_serial, subject_der};
use super::{IssuedCert, Pki};
use rcgen::{CertificateParams, Issuer, KeyPair, SerialNumber};
use rustls_pki_types::CertificateDer;
use std::collections::{BTreeMap, HashMap, HashSet};
use time::OffsetDateTime;

/// Generate every node of `plan.order`, then the CRLs.
pub(super) fn generate(spec: &PkiSpec, plan: &Plan) -> Result<Pki, PkiError> {
    generate_adopting(spec, plan, HashMap::new())
}

/// As [`generate`], with the CAs of `adopted` (by spec name) taken as they
/// are instead of generated: their subjects are signed by their keys.
pub(super) fn generate_adopting(
    spec: &PkiSpec,
    plan: &Plan,
    adopted: HashMap<String, IssuedCert>,
) -> Result<Pki, PkiError> {
    let mut g = Generator::new(spec);
    g.adopted = adopted;
    for node in &plan.order {
        match *node {
            Node::Cert(i) => g.named(&spec.cert[i], plan.dates[i])?,
            Node::Bulk(b) => g.bulk(b)?,
        }
    }
    g.crls()?;
    Ok(g.pki)
}

/// What a CA needs to issue: its parameters and its real signing key.
struct CaMaterial {
    params: CertificateParams,
    key: KeyPair,
}

/// The chain above a certificate: intermediates (DER and names, nearest
/// first) and the self-signed root they end at.
struct ChainAbove {
    chain: Vec<CertificateDer<'static>>,
    names: Vec<String>,
    root: Option<String>,
}

struct Generator<'s> {
    spec: &'s PkiSpec,
    now: OffsetDateTime,
    pki: Pki,
    /// Named CAs (and `-cross` certificates) by name.
    cas: HashMap<String, CaMaterial>,
    /// The key every filler of a `[[bulk]]` table shares, by prefix.
    bulk_keys: HashMap<String, KeyPair>,
    /// Issuers that must carry pathLen 0 / permitted subtrees because a subject
    /// asked to violate them.
    forced_path_len: HashSet<String>,
    forced_subtrees: HashSet<String>,
    /// Serials per issuer of certs listed (revoked) or covered by an expired CRL.
    revoked: BTreeMap<String, Vec<SerialNumber>>,
    crl_expired: HashSet<String>,
    /// `<name>-cross` -> `<name>`: a cross certificate's subjects are listed
    /// in the CRL of the CA it duplicates (same subject DN, same key).
    cross_of: HashMap<String, String>,
    /// CAs held by the caller (a target's root and its key), by spec name.
    adopted: HashMap<String, IssuedCert>,
}

impl<'s> Generator<'s> {
    fn new(spec: &'s PkiSpec) -> Self {
        let mut forced_path_len = HashSet::new();
        let mut forced_subtrees = HashSet::new();
        // `<name>-cross` issues with <name>'s parameters: force those.
        let original = |issuer: &String| -> String {
            spec.cert
                .iter()
                .find(|o| o.has(Defect::CrossSigned) && cross_name(&o.name) == *issuer)
                .map_or_else(|| issuer.clone(), |o| o.name.clone())
        };
        for c in &spec.cert {
            if let Some(issuer) = c.issuer.as_ref().map(original) {
                if c.has(Defect::PathLenExceeded) {
                    forced_path_len.insert(issuer.clone());
                }
                if c.has(Defect::NameConstraintsViolated) {
                    forced_subtrees.insert(issuer);
                }
            }
        }
        Generator {
            spec,
            now: OffsetDateTime::now_utc(),
            pki: Pki::default(),
            cas: HashMap::new(),
            bulk_keys: HashMap::new(),
            forced_path_len,
            forced_subtrees,
            revoked: BTreeMap::new(),
            crl_expired: HashSet::new(),
            cross_of: HashMap::new(),
            adopted: HashMap::new(),
        }
    }

    /// One `[[cert]]` (and its cross certificate, if `cross-signed`).
    fn named(&mut self, c: &CertSpec, dates: ExplicitDates) -> Result<(), PkiError> {
        let failed = |source: GenerateError| PkiError::Generate {
            name: c.name.clone(),
            source,
        };
        if let Some(held) = self.adopted.get(&c.name) {
            let mut held = held.clone();
            held.name = c.name.clone();
            held.root = Some(c.name.clone());
            self.pki.push(held);
            return Ok(());
        }
        // A revoked subject of an adopted CA carries the serial that CA's
        // published CRL reserves for revocation (see `adopt`).
        let serial = match c.issuer.as_deref().and_then(|i| self.adopted.get(i)) {
            Some(held) if c.has(Defect::Revoked) => super::adopt::revoked_serial(held),
            _ => random_serial(),
        };
        let ctx = params::Context {
            now: self.now,
            dates,
            force_path_len_zero: self.forced_path_len.contains(&c.name),
            force_permitted_subtree: self.forced_subtrees.contains(&c.name),
            issuer_has_name_constraints: self.issuer_constrained(c),
        };
        let mut params = cert_params(c, serial.clone(), &ctx).map_err(failed)?;
        let key = keys::generate(c.key).map_err(|e| failed(e.into()))?;
        let der = match c.issuer.as_deref() {
            None => params.self_signed(&key).map_err(GenerateError::from),
            Some(issuer) => {
                params.use_authority_key_identifier_extension = true;
                self.sign(&params, &key, issuer)
            }
        }
        .map_err(failed)?
        .der()
        .clone();
        let handed_key = if c.has(Defect::KeyMismatch) {
            keys::generate(c.key).map_err(|e| failed(e.into()))?
        } else {
            keys::duplicate(&key)
        };
        let above = self.chain_above(c.issuer.as_deref());
        let subject_der = subject_der(&der).map_err(|e| failed(e.into()))?;

        if let Some(issuer) = &c.issuer {
            let issuer = self.cross_of.get(issuer).unwrap_or(issuer).clone();
            if c.has(Defect::Revoked) {
                self.revoked
                    .entry(issuer.clone())
                    .or_default()
                    .push(serial.clone());
            }
            if c.has(Defect::CrlExpired) {
                self.crl_expired.insert(issuer.clone());
                self.revoked.entry(issuer).or_default();
            }
        }

        self.pki.push(IssuedCert {
            name: c.name.clone(),
            role: c.role,
            subject: subject_of(c),
            subject_der,
            issuer: c.issuer.clone(),
            serial: hex(&serial.to_bytes()),
            key_type: c.key,
            der,
            key_pkcs8: keys::output_pkcs8(&handed_key),
            chain: above.chain,
            chain_names: above.names,
            root: above
                .root
                .or_else(|| c.issuer.is_none().then(|| c.name.clone())),
            defects: c.defects.clone(),
            signs_client_certs: c.signs_client_certs,
            bulk: None,
            files: c.files(),
        });

        if c.role.is_ca() {
            if let (true, Some(other)) = (c.has(Defect::CrossSigned), c.cross_signed_by.as_deref())
            {
                let cross = cross_name(&c.name);
                self.cross(c, &params, &key, other)
                    .map_err(|source| PkiError::Generate {
                        name: cross.clone(),
                        source,
                    })?;
                // `<name>-cross` may be named as an issuer: same subject and
                // key, so it signs exactly as `<name>` does.
                self.cross_of.insert(cross.clone(), c.name.clone());
                self.cas.insert(
                    cross,
                    CaMaterial {
                        params: params.clone(),
                        key: keys::duplicate(&key),
                    },
                );
            }
            self.cas.insert(c.name.clone(), CaMaterial { params, key });
        }
        Ok(())
    }

    fn issuer_constrained(&self, c: &CertSpec) -> bool {
        let Some(issuer) = &c.issuer else {
            return false;
        };
        self.cas
            .get(issuer)
            .is_some_and(|m| m.params.name_constraints.is_some())
    }

    /// The same subject and key as `c`, also certified by `other`.
    fn cross(
        &mut self,
        c: &CertSpec,
        params: &CertificateParams,
        key: &KeyPair,
        other: &str,
    ) -> Result<(), GenerateError> {
        let mut p = params.clone();
        let serial = random_serial();
        p.serial_number = Some(serial.clone());
        p.use_authority_key_identifier_extension = true;
        let der = self.sign(&p, key, other)?.der().clone();
        let above = self.chain_above(Some(other));
        self.pki.push(IssuedCert {
            name: cross_name(&c.name),
            role: Role::Intermediate,
            subject: subject_of(c),
            subject_der: subject_der(&der)?,
            issuer: Some(other.to_string()),
            serial: hex(&serial.to_bytes()),
            key_type: c.key,
            der,
            key_pkcs8: keys::output_pkcs8(key),
            chain: above.chain,
            chain_names: above.names,
            root: above.root,
            defects: vec![Defect::CrossSigned],
            signs_client_certs: c.signs_client_certs,
            bulk: None,
            files: super::spec::CredentialFiles::default(),
        });
        Ok(())
    }

    /// Sign `params` (the subject's key `key`) by the already generated `issuer_name`.
    fn sign(
        &self,
        params: &CertificateParams,
        key: &KeyPair,
        issuer_name: &str,
    ) -> Result<rcgen::Certificate, GenerateError> {
        if let Some(held) = self.adopted.get(issuer_name) {
            let held_key = KeyPair::try_from(held.key_pkcs8.as_slice())?;
            let issuer = Issuer::from_ca_cert_der(&held.der, held_key)?;
            return Ok(params.signed_by(key, &issuer)?);
        }
        if let Some(m) = self.cas.get(issuer_name) {
            let issuer = Issuer::from_params(&m.params, &m.key);
            return Ok(params.signed_by(key, &issuer)?);
        }
        // A bulk-generated issuer: rebuild its issuer data from the DER.
        // Validation orders issuers first; never panic if that ever breaks.
        let not_ready = || GenerateError::IssuerNotReady {
            issuer: issuer_name.to_string(),
        };
        let ca = self.pki.get(issuer_name).ok_or_else(not_ready)?;
        let prefix = ca.bulk.as_deref().ok_or_else(not_ready)?;
        let bulk_key = self.bulk_keys.get(prefix).ok_or_else(not_ready)?;
        let issuer = Issuer::from_ca_cert_der(&ca.der, bulk_key)?;
        Ok(params.signed_by(key, &issuer)?)
    }

    /// Intermediates from `issuer` up to (excluding) the root.
    fn chain_above(&self, issuer: Option<&str>) -> ChainAbove {
        let mut above = ChainAbove {
            chain: Vec::new(),
            names: Vec::new(),
            root: None,
        };
        let mut cur = issuer.map(str::to_string);
        while let Some(name) = cur {
            let Some(c) = self.pki.get(&name) else { break };
            if c.issuer.is_none() {
                above.root = Some(c.name.clone());
                break;
            }
            above.chain.push(c.der.clone());
            above.names.push(c.name.clone());
            cur = c.issuer.clone();
            // Validation rules out cycles; never loop if that ever breaks.
            if above.names.len() > 64 {
                break;
            }
        }
        above
    }

    /// One `[[bulk]]` table.
    fn bulk(&mut self, b: usize) -> Result<(), PkiError> {
        let spec = &self.spec.bulk[b];
        let failed = |source: GenerateError| PkiError::Generate {
            name: format!("{}-*", spec.prefix),
            source,
        };
        let issuer = match &spec.issuer {
            None => None,
            Some(name) => {
                let m = self
                    .cas
                    .get(name)
                    .ok_or_else(|| failed(GenerateError::BulkIssuerNotNamed))?;
                Some((&m.params, &m.key))
            }
        };
        let fillers = bulk::generate(spec, issuer, self.now).map_err(failed)?;
        let above = self.chain_above(spec.issuer.as_deref());
        let start = self.pki.certs.len();
        let key_der = keys::output_pkcs8(&fillers.key);
        for f in fillers.certs {
            self.pki.push(IssuedCert {
                root: match spec.issuer {
                    None => Some(f.name.clone()),
                    Some(_) => above.root.clone(),
                },
                name: f.name,
                role: spec.role,
                subject: f.subject,
                subject_der: f.subject_der,
                issuer: spec.issuer.clone(),
                serial: hex(&f.serial.to_bytes()),
                key_type: FILLER_KEY,
                der: f.der,
                key_pkcs8: key_der.clone(),
                chain: above.chain.clone(),
                chain_names: above.names.clone(),
                defects: vec![],
                signs_client_certs: spec.signs_client_certs,
                bulk: Some(spec.prefix.clone()),
                files: super::spec::CredentialFiles::default(),
            });
        }
        self.pki
            .bulk
            .insert(spec.prefix.clone(), start..self.pki.certs.len());
        self.bulk_keys.insert(spec.prefix.clone(), fillers.key);
        Ok(())
    }

    /// A CRL for every named CA: listing its revoked subjects (or expired, if
    /// a subject is `crl-expired`), else empty. A `-cross` certificate shares
    /// the CRL of the CA it duplicates.
    fn crls(&mut self) -> Result<(), PkiError> {
        for (issuer, m) in &self.cas {
            if self.cross_of.contains_key(issuer) {
                continue;
            }
            let listed = self.revoked.get(issuer);
            let expired = self.crl_expired.contains(issuer);
            let serials = listed.map(Vec::as_slice).unwrap_or_default();
            let der = crl::sign(&m.params, &m.key, self.now, expired, serials).map_err(|e| {
                PkiError::Generate {
                    name: format!("{issuer}.crl"),
                    source: e.into(),
                }
            })?;
            if listed.is_some() {
                self.pki.crls.insert(issuer.clone(), der);
            } else {
                self.pki.empty_crls.insert(issuer.clone(), der);
            }
        }
        Ok(())
    }
}
