//! `[[bulk]]` tables: thousands of filler CAs for large trust stores, signed
//! in parallel with one key per table.

use super::dn::parse_subject;
use super::error::GenerateError;
use super::keys;
use super::names::bulk_name;
use super::spec::BulkSpec;
use super::spec::KeyType;
use super::x509::{random_serial, subject_der};
use rcgen::{
    BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

/// The key type of every filler.
pub const FILLER_KEY: KeyType = KeyType::EcdsaP256;
/// At most this many signing threads.
const MAX_THREADS: usize = 8;

/// One generated filler certificate.
pub struct Filler {
    pub name: String,
    pub subject: String,
    pub der: CertificateDer<'static>,
    pub serial: SerialNumber,
    /// DER of the subject Name.
    pub subject_der: Vec<u8>,
}

/// The fillers of one table, in order, and the key they all share.
pub struct Fillers {
    pub key: KeyPair,
    pub certs: Vec<Filler>,
}

/// The CA that signs a table's fillers: its parameters and key.
pub type IssuerMaterial<'a> = (&'a CertificateParams, &'a KeyPair);

/// Generate every filler of `bulk`: CA certificates (basicConstraints cA,
/// keyCertSign + cRLSign) valid from yesterday for 10 years, self-signed or
/// signed by `issuer`.
pub fn generate(
    bulk: &BulkSpec,
    issuer: Option<IssuerMaterial<'_>>,
    now: OffsetDateTime,
) -> Result<Fillers, GenerateError> {
    // One key for every filler of a table: fillers are names in a trust
    // store, and keygen would dominate the cost of 10,000 of them.
    let key = keys::generate(FILLER_KEY)?;
    let template = bulk
        .subject
        .clone()
        .unwrap_or_else(|| format!("CN={}-{{n}}", bulk.prefix));
    let (not_before, not_after) = (now - Duration::days(1), now + Duration::days(3650));
    let make = |n: usize| -> Result<Filler, GenerateError> {
        let name = bulk_name(&bulk.prefix, n, bulk.count);
        let index = &name[bulk.prefix.len() + 1..];
        let subject = template.replace("{n}", index);
        let mut params = CertificateParams::default();
        params.distinguished_name = parse_subject(&subject)?;
        params.not_before = not_before;
        params.not_after = not_after;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = match issuer {
            Some((issuer_params, issuer_key)) => {
                params.use_authority_key_identifier_extension = true;
                params.signed_by(&key, &Issuer::from_params(issuer_params, issuer_key))
            }
            None => params.self_signed(&key),
        }?;
        let der = cert.der().clone();
        // Parsed here, in the worker threads, not serially afterwards.
        let subject_der = subject_der(&der)?;
        Ok(Filler {
            name,
            subject,
            der,
            serial,
            subject_der,
        })
    };
    // Split the work over the cores: signing dominates.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    let chunk = bulk.count.div_ceil(threads).max(1);
    let chunks: Vec<Result<Vec<Filler>, GenerateError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let make = &make;
                s.spawn(move || {
                    let start = t * chunk + 1;
                    let end = ((t + 1) * chunk).min(bulk.count);
                    (start..=end).map(make).collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(GenerateError::WorkerPanicked)))
            .collect()
    });
    let mut certs = Vec::with_capacity(bulk.count);
    for chunk in chunks {
        certs.extend(chunk?);
    }
    Ok(Fillers { key, certs })
}
