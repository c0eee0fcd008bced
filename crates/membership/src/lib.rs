//! # ctchain-membership: who belongs to the consortium
//!
//! Each member organisation (a bank, the regulator) runs a certificate authority. Its **member CA certificate** is
//! a self-signed X.509 certificate (RFC 5280) over the member's CA key; its **node certificates** bind one node's
//! name, role, network key and consensus key, and are issued by that CA. Both are real X.509 — any X.509 tool reads
//! them (`tests/certificates.rs` has OpenSSL verify one) — signed and checked through `ctchain-sig`, so a chain on
//! Ed25519 and a chain on SM2 use the same code (`id-Ed25519`, RFC 8410; `SM2-with-SM3`, GM/T 0006 OID
//! 1.2.156.10197.1.501).
//!
//! A node certificate's subject is `CN=<node>,O=<member>`; its key (SubjectPublicKeyInfo) is the node's consensus
//! key; and one URI in its subject alternative names, `ctchain:node:<role>:<network key hex>`, carries its role and
//! its 32-byte network key (libp2p's Noise identity). A URI name needs no registered object identifier (the way
//! SPIFFE identities ride in X.509), and every X.509 tool shows it.
//!
//! ## Invariants
//! * A [`MemberCa`] exists only for a self-signed certificate whose signature verifies, that says it is a CA
//!   (basic constraints) allowed to sign certificates (key usage), and whose subject names the member.
//! * A [`NodeCertificate`] exists only for a certificate issued by one of the given member CAs (issuer name and
//!   signature), inside its validity at the time asked, not revoked, not a CA, with exactly one well-formed
//!   `ctchain:node:` URI, a consensus key of the CA's scheme, and a subject that is exactly `CN=<node>,O=<member>`.
//! * Certificates are decoded as strict DER and must re-encode to the same bytes: one encoding per certificate, so
//!   its hash names it.
//! * Nothing here panics on input; every refusal is a [`CertError`] naming its reason.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod request;
mod signer;

use std::str::FromStr;
use std::time::Duration;

use ctchain_sig::{PublicKey, Scheme, SigError, SigningKey};
use der::asn1::{BitString, ObjectIdentifier};
use der::{Decode as _, Encode as _};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectAltName};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

pub use request::NodeRequest;
pub use signer::CertSigner;

/// `id-Ed25519` (RFC 8410): the algorithm of Ed25519 keys and of Ed25519 signatures.
pub const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-ecPublicKey` (RFC 5480): the algorithm of SM2 public keys, with the SM2 curve as parameter.
pub const EC_PUBLIC_KEY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// The SM2 curve (GM/T 0006).
pub const SM2_CURVE_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// `SM2-with-SM3` signatures (GM/T 0006).
pub const SM2_WITH_SM3_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// The prefix of the subject alternative name URI that carries a node's role and network key.
pub const NODE_URI_PREFIX: &str = "ctchain:node:";

/// Longest node or member name.
pub const MAX_NAME_LEN: usize = 63;

/// What a node does in the consortium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRole {
    /// Votes in consensus.
    Validator,
    /// Follows the chain and serves clients; never votes.
    Observer,
}

impl NodeRole {
    /// The name used on the command line and in listings.
    pub fn name(self) -> &'static str {
        match self {
            NodeRole::Validator => "validator",
            NodeRole::Observer => "observer",
        }
    }
}

/// What a node certificate binds: the node's name and role, its network key, its consensus key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    /// The node's name, unique within its member (`[a-z0-9][a-z0-9.-]*`).
    pub name: String,
    /// Its role.
    pub role: NodeRole,
    /// Its Ed25519 network key (the Noise identity its peers authenticate).
    pub network_key: [u8; 32],
    /// Its consensus key, of the chain's scheme.
    pub consensus_key: PublicKey,
}

impl NodeIdentity {
    /// The subject alternative name URI: `ctchain:node:<role>:<network key hex>`.
    pub fn uri(&self) -> String {
        format!("{NODE_URI_PREFIX}{}:{}", self.role.name(), hex_lower(&self.network_key))
    }
}

/// The role and network key of a `ctchain:node:` URI (lower-case hex, exactly 64 digits).
fn parse_node_uri(uri: &str) -> Result<(NodeRole, [u8; 32]), CertError> {
    let bad = || CertError::BadIdentity(format!("not a {NODE_URI_PREFIX}<role>:<network key> URI: {uri:?}"));
    let rest = uri.strip_prefix(NODE_URI_PREFIX).ok_or_else(bad)?;
    let (role, key) = rest.split_once(':').ok_or_else(bad)?;
    let role = match role {
        "validator" => NodeRole::Validator,
        "observer" => NodeRole::Observer,
        _ => return Err(bad()),
    };
    if key.len() != 64 || !key.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return Err(bad());
    }
    let mut network_key = [0u8; 32];
    for (i, byte) in network_key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&key[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok((role, network_key))
}

/// Why a certificate was refused, or could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not a DER certificate.
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    /// Valid DER that is not the one encoding of its value (it does not re-encode to the same bytes).
    #[error("the certificate is not in canonical DER")]
    NotCanonical,
    /// A name that is not `[a-z0-9][a-z0-9.-]*` of at most [`MAX_NAME_LEN`] characters.
    #[error("bad name {0:?}: lower-case letters, digits, '.' and '-', starting with a letter or digit, at most 63")]
    BadName(String),
    /// The subject is not `CN=<node>,O=<member>` (or `CN=<member> CA,O=<member>` for a CA).
    #[error("unexpected subject {0}")]
    BadSubject(String),
    /// No given member CA issued it.
    #[error("issued by {0}, which is no member CA")]
    UnknownIssuer(String),
    /// A CA certificate is not self-signed, or not a CA allowed to sign certificates.
    #[error("not a member CA certificate: {0}")]
    NotACa(&'static str),
    /// A node certificate that says it is a CA.
    #[error("a node certificate must not be a CA")]
    NodeIsCa,
    /// A key or signature algorithm ctchain does not use.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The signature algorithm is not the one of the signer's key, or the two algorithm fields differ.
    #[error("signature algorithm {found} where the issuer's key is {expected}")]
    AlgorithmMismatch {
        /// The issuer key's scheme.
        expected: Scheme,
        /// What the certificate says.
        found: String,
    },
    /// A key in the certificate is not a valid key.
    #[error("bad key in the certificate: {0}")]
    BadKey(SigError),
    /// The signature does not verify under the issuer's key.
    #[error("the certificate's signature does not verify: {0}")]
    BadSignature(SigError),
    /// Before the certificate's validity.
    #[error("not valid before {not_before} (Unix seconds); now is {now}")]
    NotYetValid {
        /// Start of validity.
        not_before: u64,
        /// The time asked.
        now: u64,
    },
    /// After the certificate's validity.
    #[error("expired at {not_after} (Unix seconds); now is {now}")]
    Expired {
        /// End of validity.
        not_after: u64,
        /// The time asked.
        now: u64,
    },
    /// On the revocation list.
    #[error("revoked: serial {serial} of {member}")]
    Revoked {
        /// The issuing member.
        member: String,
        /// The serial number, in hex.
        serial: String,
    },
    /// No `ctchain:node:` URI, or more than one.
    #[error("the certificate names no node identity (a ctchain:node: URI), or several")]
    MissingIdentity,
    /// The node identity is malformed.
    #[error("bad node identity: {0}")]
    BadIdentity(String),
    /// The consensus key's scheme is not the issuing CA's.
    #[error("consensus key of {found} under a {expected} member CA")]
    SchemeMismatch {
        /// The CA's scheme.
        expected: Scheme,
        /// The consensus key's.
        found: Scheme,
    },
    /// The certificate could not be built (a validity the encoding cannot hold, for instance).
    #[error("cannot build the certificate: {0}")]
    Build(String),
}

fn der_error(e: impl std::fmt::Display) -> CertError {
    CertError::Der(e.to_string())
}

/// Checks a node or member name: `[a-z0-9][a-z0-9.-]*`, at most [`MAX_NAME_LEN`]. Names go into distinguished
/// names, so nothing that the RFC 4514 string form would read as structure (`,`, `=`, `+`, quotes) can appear.
pub fn check_name(name: &str) -> Result<(), CertError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(CertError::BadName(name.to_owned()))
    }
}

/// A validity window, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityWindow {
    /// First second of validity.
    pub not_before: u64,
    /// Last second of validity.
    pub not_after: u64,
}

fn x509_time(unix_s: u64) -> Result<Time, CertError> {
    // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    let d = Duration::from_secs(unix_s);
    let time = if unix_s < 2_524_608_000 {
        der::asn1::UtcTime::from_unix_duration(d).map(Time::UtcTime)
    } else {
        der::asn1::GeneralizedTime::from_unix_duration(d).map(Time::GeneralTime)
    };
    time.map_err(|e| CertError::Build(e.to_string()))
}

fn validity(window: ValidityWindow) -> Result<Validity, CertError> {
    if window.not_after < window.not_before {
        return Err(CertError::Build("validity ends before it starts".into()));
    }
    Ok(Validity { not_before: x509_time(window.not_before)?, not_after: x509_time(window.not_after)? })
}

/// The SubjectPublicKeyInfo of a key: `id-Ed25519` with the 32 bytes, or `id-ecPublicKey` on the SM2 curve with
/// the compressed point.
pub fn subject_public_key_info(key: &PublicKey) -> SubjectPublicKeyInfoOwned {
    let algorithm = match key.scheme() {
        Scheme::Ed25519 => AlgorithmIdentifierOwned { oid: ED25519_OID, parameters: None },
        Scheme::Sm2 => {
            AlgorithmIdentifierOwned { oid: EC_PUBLIC_KEY_OID, parameters: Some(der::Any::from(&SM2_CURVE_OID)) }
        }
    };
    SubjectPublicKeyInfoOwned {
        algorithm,
        subject_public_key: BitString::from_bytes(key.as_bytes()).expect("a key of at most 33 bytes fits a bit string"),
    }
}

/// The key in a SubjectPublicKeyInfo, if it is an Ed25519 or SM2 key ctchain accepts.
pub fn public_key_of(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, CertError> {
    let scheme = match (spki.algorithm.oid, &spki.algorithm.parameters) {
        (ED25519_OID, None) => Scheme::Ed25519,
        (EC_PUBLIC_KEY_OID, Some(params)) if params.decode_as::<ObjectIdentifier>() == Ok(SM2_CURVE_OID) => Scheme::Sm2,
        (oid, _) => return Err(CertError::UnsupportedAlgorithm(oid.to_string())),
    };
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(CertError::BadKey(SigError::MalformedKey { scheme, reason: "unused bits" }))?;
    match scheme {
        // OpenSSL writes SM2 points uncompressed; the key is kept in its one (compressed) form.
        Scheme::Sm2 => PublicKey::sm2_from_sec1(bytes),
        Scheme::Ed25519 => PublicKey::new(scheme, bytes),
    }
    .map_err(CertError::BadKey)
}

fn signature_algorithm(scheme: Scheme) -> AlgorithmIdentifierOwned {
    match scheme {
        Scheme::Ed25519 => AlgorithmIdentifierOwned { oid: ED25519_OID, parameters: None },
        Scheme::Sm2 => AlgorithmIdentifierOwned { oid: SM2_WITH_SM3_OID, parameters: None },
    }
}

/// Decodes strict DER and insists on the one encoding.
/// The PEM form (RFC 7468) of DER bytes under `label` (`CERTIFICATE`, `CERTIFICATE REQUEST`).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).expect("PEM of any bytes under a valid label")
}

/// The label and DER bytes of a PEM text (surrounding whitespace allowed); refuses bad base64 or framing.
pub fn pem_decode(text: &str) -> Result<(String, Vec<u8>), CertError> {
    let (label, der) = der::pem::decode_vec(text.trim().as_bytes()).map_err(der_error)?;
    Ok((label.to_owned(), der))
}

/// The PEM form (label `CERTIFICATE`) of a DER certificate: how genesis files and operators carry it.
pub fn certificate_pem(der: &[u8]) -> String {
    pem_encode("CERTIFICATE", der)
}

/// The DER bytes of a PEM certificate; refuses another label. The bytes are not checked as a certificate here:
/// whoever takes them does.
pub fn certificate_from_pem(text: &str) -> Result<Vec<u8>, CertError> {
    let (label, der) = pem_decode(text)?;
    if label != "CERTIFICATE" {
        return Err(CertError::Der(format!("a PEM {label:?}, not a CERTIFICATE")));
    }
    Ok(der)
}

/// What a certificate says of itself — subject, serial, and node identity if any — for people to read before they
/// approve it. Nothing is checked but the encoding: this is no verification.
pub fn certificate_summary(der: &[u8]) -> Result<String, CertError> {
    let cert = decode_certificate(der)?;
    let tbs = &cert.tbs_certificate;
    let uri = extension(&cert, der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .first()
        .and_then(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .and_then(|names| {
            names.0.into_iter().find_map(|n| match n {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                _ => None,
            })
        });
    let serial = hex_lower(tbs.serial_number.as_bytes());
    Ok(match uri {
        Some(uri) => format!("{} (serial {serial}, {uri})", tbs.subject),
        None => format!("{} (serial {serial})", tbs.subject),
    })
}

fn decode_certificate(der: &[u8]) -> Result<Certificate, CertError> {
    let cert = Certificate::from_der(der).map_err(der_error)?;
    if cert.to_der().map_err(der_error)? != der {
        return Err(CertError::NotCanonical);
    }
    Ok(cert)
}

/// Checks `cert`'s signature under `issuer_key`: both algorithm fields must be the key's scheme's.
fn check_signature(cert: &Certificate, issuer_key: &PublicKey) -> Result<(), CertError> {
    let expected = signature_algorithm(issuer_key.scheme());
    if cert.signature_algorithm != expected || cert.tbs_certificate.signature != expected {
        return Err(CertError::AlgorithmMismatch {
            expected: issuer_key.scheme(),
            found: cert.signature_algorithm.oid.to_string(),
        });
    }
    let signature_bytes = cert.signature.as_bytes().ok_or(CertError::BadSignature(SigError::MalformedSignature {
        scheme: issuer_key.scheme(),
        reason: "unused bits",
    }))?;
    let signature =
        signer::signature_from_x509(issuer_key.scheme(), signature_bytes).map_err(CertError::BadSignature)?;
    let tbs = cert.tbs_certificate.to_der().map_err(der_error)?;
    issuer_key.verify(&tbs, &signature).map_err(CertError::BadSignature)
}

fn extension<'a>(cert: &'a Certificate, oid: ObjectIdentifier) -> Vec<&'a Extension> {
    cert.tbs_certificate.extensions.iter().flatten().filter(|e| e.extn_id == oid).collect()
}

fn basic_constraints(cert: &Certificate) -> Result<Option<BasicConstraints>, CertError> {
    match extension(cert, der::oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS).as_slice() {
        [] => Ok(None),
        [e] => BasicConstraints::from_der(e.extn_value.as_bytes()).map(Some).map_err(der_error),
        _ => Err(CertError::Der("basic constraints repeated".into())),
    }
}

fn unix_seconds(time: &Time) -> u64 {
    time.to_unix_duration().as_secs()
}

fn member_ca_subject(member: &str) -> Result<Name, CertError> {
    check_name(member)?;
    Name::from_str(&format!("CN={member} CA,O={member}")).map_err(der_error)
}

fn node_subject(node: &str, member: &str) -> Result<Name, CertError> {
    check_name(node)?;
    check_name(member)?;
    Name::from_str(&format!("CN={node},O={member}")).map_err(der_error)
}

/// A member's CA: its self-signed certificate, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberCa {
    member: String,
    key: PublicKey,
    subject: Name,
    der: Vec<u8>,
}

impl MemberCa {
    /// Makes the self-signed CA certificate of `member` over `ca_key`, valid over `window`.
    pub fn issue(member: &str, ca_key: &dyn SigningKey, window: ValidityWindow) -> Result<Self, CertError> {
        let subject = member_ca_subject(member)?;
        let signer = CertSigner::new(ca_key);
        let builder = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::from(1u32),
            validity(window)?,
            subject,
            subject_public_key_info(&ca_key.public_key()),
            &signer,
        )
        .map_err(|e| CertError::Build(e.to_string()))?;
        let cert = builder.build::<signer::X509Signature>().map_err(|e| CertError::Build(e.to_string()))?;
        Self::from_der(&cert.to_der().map_err(der_error)?)
    }

    /// Checks a member CA certificate: self-signed, a CA that signs certificates, subject `CN=<m> CA,O=<m>`.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let cert = decode_certificate(der)?;
        let tbs = &cert.tbs_certificate;
        if tbs.issuer != tbs.subject {
            return Err(CertError::NotACa("not self-signed"));
        }
        let key = public_key_of(&tbs.subject_public_key_info)?;
        check_signature(&cert, &key)?;
        if !basic_constraints(&cert)?.is_some_and(|b| b.ca) {
            return Err(CertError::NotACa("basic constraints do not say CA"));
        }
        let usage = match extension(&cert, der::oid::db::rfc5280::ID_CE_KEY_USAGE).as_slice() {
            [e] => KeyUsage::from_der(e.extn_value.as_bytes()).map_err(der_error)?,
            _ => return Err(CertError::NotACa("no key usage")),
        };
        if !usage.key_cert_sign() {
            return Err(CertError::NotACa("key usage does not allow signing certificates"));
        }
        let member = organisation(&tbs.subject)?;
        if tbs.subject != member_ca_subject(&member)? {
            return Err(CertError::BadSubject(tbs.subject.to_string()));
        }
        Ok(Self { member, key, subject: tbs.subject.clone(), der: der.to_vec() })
    }

    /// The member's name.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// The CA's key (its scheme is the scheme of every certificate it issues).
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Issues a node certificate for `identity`, signed with `ca_key` (this CA's key).
    pub fn issue_node(
        &self,
        ca_key: &dyn SigningKey,
        identity: &NodeIdentity,
        serial: u64,
        window: ValidityWindow,
    ) -> Result<Vec<u8>, CertError> {
        if ca_key.public_key() != self.key {
            return Err(CertError::Build("the signing key is not this CA's key".into()));
        }
        let signer = CertSigner::new(ca_key);
        let mut builder = CertificateBuilder::new(
            Profile::Leaf { issuer: self.subject.clone(), enable_key_agreement: false, enable_key_encipherment: false },
            SerialNumber::from(serial),
            validity(window)?,
            node_subject(&identity.name, &self.member)?,
            // The certificate's own key is the consensus key; the network key rides in the identity extension.
            subject_public_key_info(&identity.consensus_key),
            &signer,
        )
        .map_err(|e| CertError::Build(e.to_string()))?;
        let uri = der::asn1::Ia5String::new(&identity.uri()).map_err(der_error)?;
        builder
            .add_extension(&SubjectAltName(vec![GeneralName::UniformResourceIdentifier(uri)]))
            .map_err(|e| CertError::Build(e.to_string()))?;
        let cert = builder.build::<signer::X509Signature>().map_err(|e| CertError::Build(e.to_string()))?;
        cert.to_der().map_err(der_error)
    }
}

/// The value of the attribute `key` (`"O="`, `"CN="`) in `name`, if it is a valid name. Callers then compare the
/// whole subject with the one rebuilt from the values, so nothing else can hide in it.
fn attribute(name: &Name, key: &str) -> Result<String, CertError> {
    let text = name.to_string();
    let value =
        text.split(',').find_map(|part| part.strip_prefix(key)).ok_or_else(|| CertError::BadSubject(text.clone()))?;
    check_name(value)?;
    Ok(value.to_owned())
}

fn organisation(name: &Name) -> Result<String, CertError> {
    attribute(name, "O=")
}

/// A node certificate that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCertificate {
    /// The issuing member.
    pub member: String,
    /// What it binds.
    pub identity: NodeIdentity,
    /// The serial number (unique per member CA), as its DER integer bytes.
    pub serial: Vec<u8>,
    /// Its validity.
    pub validity: ValidityWindow,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

impl NodeCertificate {
    /// Checks `der` as a node certificate issued by one of `cas`, valid at `now` (Unix seconds), and not revoked
    /// (`revoked(member, serial)`).
    pub fn verify(
        der: &[u8],
        cas: &[MemberCa],
        now: u64,
        revoked: impl Fn(&str, &[u8]) -> bool,
    ) -> Result<Self, CertError> {
        let cert = decode_certificate(der)?;
        let tbs = &cert.tbs_certificate;
        let ca = cas
            .iter()
            .find(|ca| ca.subject == tbs.issuer)
            .ok_or_else(|| CertError::UnknownIssuer(tbs.issuer.to_string()))?;
        check_signature(&cert, &ca.key)?;
        let window = ValidityWindow {
            not_before: unix_seconds(&tbs.validity.not_before),
            not_after: unix_seconds(&tbs.validity.not_after),
        };
        if now < window.not_before {
            return Err(CertError::NotYetValid { not_before: window.not_before, now });
        }
        if now > window.not_after {
            return Err(CertError::Expired { not_after: window.not_after, now });
        }
        let serial = tbs.serial_number.as_bytes().to_vec();
        if revoked(&ca.member, &serial) {
            return Err(CertError::Revoked { member: ca.member.clone(), serial: hex_lower(&serial) });
        }
        if basic_constraints(&cert)?.is_some_and(|b| b.ca) {
            return Err(CertError::NodeIsCa);
        }
        let name = common_name(&tbs.subject)?;
        if tbs.subject != node_subject(&name, &ca.member)? {
            return Err(CertError::BadSubject(tbs.subject.to_string()));
        }
        let (role, network_key) = node_uri_of(&extension(&cert, der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME))?;
        let consensus_key = public_key_of(&tbs.subject_public_key_info)?;
        let identity = NodeIdentity { name, role, network_key, consensus_key };
        if identity.consensus_key.scheme() != ca.key.scheme() {
            return Err(CertError::SchemeMismatch {
                expected: ca.key.scheme(),
                found: identity.consensus_key.scheme(),
            });
        }
        Ok(Self { member: ca.member.clone(), identity, serial, validity: window, der: der.to_vec() })
    }
}

/// The role and network key of the one `ctchain:node:` URI in the one subject-alternative-name extension.
fn node_uri_of(extensions: &[&Extension]) -> Result<(NodeRole, [u8; 32]), CertError> {
    let names = match extensions {
        [e] => SubjectAltName::from_der(e.extn_value.as_bytes()).map_err(der_error)?,
        _ => return Err(CertError::MissingIdentity),
    };
    let uris: Vec<&str> = names
        .0
        .iter()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.as_str()),
            _ => None,
        })
        .filter(|uri| uri.starts_with(NODE_URI_PREFIX))
        .collect();
    let [uri] = uris.as_slice() else { return Err(CertError::MissingIdentity) };
    parse_node_uri(uri)
}

fn common_name(name: &Name) -> Result<String, CertError> {
    attribute(name, "CN=")
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
