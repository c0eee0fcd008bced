//! The adapter between `ctchain-sig` and the X.509 builder: our signing key as a `signature::Signer` with its
//! algorithm identifier, and signatures in their X.509 forms (Ed25519: the 64 bytes, RFC 8410; SM2: the DER
//! `SEQUENCE { r INTEGER, s INTEGER }`, GM/T 0009).

use ctchain_sig::{PublicKey, Scheme, SigError, Signature, SigningKey};
use der::asn1::{BitString, UintRef};
use der::{Decode as _, Encode as _, Reader as _};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding};

/// A `ctchain-sig` signing key as the X.509 builder's signer.
pub struct CertSigner<'a> {
    key: &'a dyn SigningKey,
}

impl<'a> CertSigner<'a> {
    /// Signs certificates with `key`.
    pub fn new(key: &'a dyn SigningKey) -> Self {
        Self { key }
    }
}

/// The signer's public key, as the builder asks for it (to compute the authority key identifier).
#[derive(Clone)]
pub struct CertVerifyingKey(PublicKey);

impl EncodePublicKey for CertVerifyingKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        let spki = crate::subject_public_key_info(&self.0);
        Ok(der::Document::try_from(spki.to_der()?)?)
    }
}

impl signature::Keypair for CertSigner<'_> {
    type VerifyingKey = CertVerifyingKey;

    fn verifying_key(&self) -> CertVerifyingKey {
        CertVerifyingKey(self.key.public_key())
    }
}

impl DynSignatureAlgorithmIdentifier for CertSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(crate::signature_algorithm(self.key.scheme()))
    }
}

/// A signature in its X.509 form, ready for the certificate's BIT STRING.
pub struct X509Signature(Vec<u8>);

impl SignatureBitStringEncoding for X509Signature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl signature::Signer<X509Signature> for CertSigner<'_> {
    fn try_sign(&self, message: &[u8]) -> Result<X509Signature, signature::Error> {
        let sig = self.key.sign(message);
        match sig.scheme() {
            Scheme::Ed25519 => Ok(X509Signature(sig.as_bytes().to_vec())),
            Scheme::Sm2 => sm2_to_der(sig.as_bytes()).map(X509Signature).map_err(signature::Error::from_source),
        }
    }
}

fn sm2_to_der(rs: &[u8]) -> der::Result<Vec<u8>> {
    let (r, s) = rs.split_at(32);
    let (r, s) = (UintRef::new(r)?, UintRef::new(s)?);
    let header = der::Header::new(der::Tag::Sequence, (r.encoded_len()? + s.encoded_len()?)?)?;
    let mut out = Vec::new();
    header.encode_to_vec(&mut out)?;
    r.encode_to_vec(&mut out)?;
    s.encode_to_vec(&mut out)?;
    Ok(out)
}

/// The signature of `scheme` in an X.509 signature BIT STRING: Ed25519's 64 bytes, or SM2's strict-DER `(r, s)`.
pub(crate) fn signature_from_x509(scheme: Scheme, bytes: &[u8]) -> Result<Signature, SigError> {
    match scheme {
        Scheme::Ed25519 => Signature::new(scheme, bytes),
        Scheme::Sm2 => {
            let malformed = SigError::MalformedSignature { scheme, reason: "not a DER SEQUENCE of two integers" };
            let mut reader = der::SliceReader::new(bytes).map_err(|_| malformed.clone())?;
            let (r, s) = reader
                .sequence(|seq| Ok((UintRef::decode(seq)?, UintRef::decode(seq)?)))
                .map_err(|_| malformed.clone())?;
            reader.finish(()).map_err(|_| malformed.clone())?;
            let mut rs = [0u8; 64];
            for (half, value) in [(0, r), (32, s)] {
                let v = value.as_bytes();
                if v.len() > 32 {
                    return Err(SigError::MalformedSignature { scheme, reason: "r or s longer than 32 bytes" });
                }
                rs[half + 32 - v.len()..half + 32].copy_from_slice(v);
            }
            Signature::new(scheme, &rs)
        }
    }
}
