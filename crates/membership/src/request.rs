//! Node certificate signing requests (PKCS#10, RFC 2986): what `ctchain-node init` hands its member's CA.
//!
//! The request carries the identity the node asks to be certified — subject `CN=<node>,O=<member>`, and, in a
//! requested subject alternative name, the `ctchain:node:<role>:<network key>` URI — and is signed by the key the
//! certificate will carry (the consensus key; an observer's network key), which proves the node holds it. The CA
//! checks the request ([`NodeRequest::verify`]) and issues the certificate from the identity it states
//! ([`crate::MemberCa::issue_node`]); nothing else of the request is copied into the certificate.

use ctchain_sig::SigningKey;
use der::{Decode as _, Encode as _};
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};

use crate::signer::{self, CertSigner};
use crate::{der_error, node_uri_of, public_key_of, signature_algorithm, CertError, NodeIdentity};

/// A node's certificate request that passed its checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRequest {
    /// The member whose CA is asked.
    pub member: String,
    /// The identity asked for.
    pub identity: NodeIdentity,
    /// The request, DER.
    pub der: Vec<u8>,
}

impl NodeRequest {
    /// A request of `member` for `identity`, signed with `key` (which must be the identity's consensus key).
    pub fn create(member: &str, identity: &NodeIdentity, key: &dyn SigningKey) -> Result<Vec<u8>, CertError> {
        if key.public_key() != identity.consensus_key {
            return Err(CertError::Build("the request must be signed by the key it asks to certify".into()));
        }
        let subject = crate::node_subject(&identity.name, member)?;
        let signer = CertSigner::new(key);
        let mut builder = RequestBuilder::new(subject, &signer).map_err(|e| CertError::Build(e.to_string()))?;
        let uri = der::asn1::Ia5String::new(&identity.uri()).map_err(der_error)?;
        builder
            .add_extension(&SubjectAltName(vec![GeneralName::UniformResourceIdentifier(uri)]))
            .map_err(|e| CertError::Build(e.to_string()))?;
        let request = builder.build::<signer::X509Signature>().map_err(|e| CertError::Build(e.to_string()))?;
        request.to_der().map_err(der_error)
    }

    /// Checks a request: canonical DER, subject `CN=<node>,O=<member>` with valid names, one node identity URI,
    /// and a valid signature by the key it asks to certify.
    pub fn verify(der: &[u8]) -> Result<Self, CertError> {
        let request = CertReq::from_der(der).map_err(der_error)?;
        if request.to_der().map_err(der_error)? != der {
            return Err(CertError::NotCanonical);
        }
        let info = &request.info;
        let key = public_key_of(&info.public_key)?;
        if request.algorithm != signature_algorithm(key.scheme()) {
            return Err(CertError::AlgorithmMismatch {
                expected: key.scheme(),
                found: request.algorithm.oid.to_string(),
            });
        }
        let bytes =
            request.signature.as_bytes().ok_or(CertError::BadSignature(ctchain_sig::SigError::MalformedSignature {
                scheme: key.scheme(),
                reason: "unused bits",
            }))?;
        let signature = signer::signature_from_x509(key.scheme(), bytes).map_err(CertError::BadSignature)?;
        key.verify(&info.to_der().map_err(der_error)?, &signature).map_err(CertError::BadSignature)?;

        let (name, member) = names_of(&info.subject)?;
        let mut extensions = Vec::new();
        for attribute in info.attributes.iter() {
            if attribute.oid != der::oid::db::rfc5912::ID_EXTENSION_REQ {
                continue;
            }
            for value in attribute.values.iter() {
                let requested = ExtensionReq::from_der(&value.to_der().map_err(der_error)?).map_err(der_error)?;
                extensions.extend(requested.0);
            }
        }
        let san: Vec<_> =
            extensions.iter().filter(|e| e.extn_id == der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME).collect();
        let (role, network_key) = node_uri_of(&san)?;
        Ok(Self { member, identity: NodeIdentity { name, role, network_key, consensus_key: key }, der: der.to_vec() })
    }
}

/// `(node, member)` of a subject that is exactly `CN=<node>,O=<member>`.
fn names_of(subject: &Name) -> Result<(String, String), CertError> {
    let (node, member) = (crate::common_name(subject)?, crate::organisation(subject)?);
    if *subject != crate::node_subject(&node, &member)? {
        return Err(CertError::BadSubject(subject.to_string()));
    }
    Ok((node, member))
}
