//! Node certificate requests (PKCS#10) on both schemes: made by the node, checked by the member CA (and by
//! OpenSSL), certified from the identity they state; a tampered request or one signed by another key is refused.

use ctchain_membership::{CertError, MemberCa, NodeCertificate, NodeIdentity, NodeRequest, NodeRole, ValidityWindow};
use ctchain_sig::{Scheme, SigningKey};

/// 2026-12-01T00:00:00Z.
const NOW: u64 = 1_796_083_200;

fn window() -> ValidityWindow {
    ValidityWindow { not_before: NOW - 86_400, not_after: NOW + 365 * 86_400 }
}

fn key(scheme: Scheme, seed: u8) -> Box<dyn SigningKey> {
    scheme.signing_key(&[seed; 32]).unwrap()
}

fn identity(consensus: &dyn SigningKey, role: NodeRole) -> NodeIdentity {
    NodeIdentity { name: "validator-5".into(), role, network_key: [0x5e; 32], consensus_key: consensus.public_key() }
}

#[test]
fn a_request_is_checked_and_certified_with_the_identity_it_states_on_both_schemes() {
    for scheme in Scheme::ALL {
        let consensus = key(scheme, 9);
        let id = identity(consensus.as_ref(), NodeRole::Validator);
        let der = NodeRequest::create("bank-e", &id, consensus.as_ref()).unwrap();
        let request = NodeRequest::verify(&der).unwrap();
        assert_eq!((request.member.as_str(), &request.identity), ("bank-e", &id));

        let ca_key = key(scheme, 1);
        let ca = MemberCa::issue("bank-e", ca_key.as_ref(), window()).unwrap();
        let cert = ca.issue_node(ca_key.as_ref(), &request.identity, 3, window()).unwrap();
        let cert = NodeCertificate::verify(&cert, &[ca], NOW, |_, _| false).unwrap();
        assert_eq!(cert.identity, id);
    }
}

#[test]
fn a_request_must_be_signed_by_the_key_it_asks_to_certify() {
    let consensus = key(Scheme::Ed25519, 9);
    let other = key(Scheme::Ed25519, 10);
    let id = identity(consensus.as_ref(), NodeRole::Validator);
    assert!(matches!(NodeRequest::create("bank-e", &id, other.as_ref()), Err(CertError::Build(_))));
}

#[test]
fn a_tampered_request_is_refused() {
    let consensus = key(Scheme::Ed25519, 9);
    let der =
        NodeRequest::create("bank-e", &identity(consensus.as_ref(), NodeRole::Observer), consensus.as_ref()).unwrap();
    let mut refused = 0;
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0x01;
        match NodeRequest::verify(&bad) {
            Err(_) => refused += 1,
            Ok(r) => panic!("byte {i} changed and the request still verifies as {r:?}"),
        }
    }
    assert_eq!(refused, der.len());
    let mut longer = der.clone();
    longer.push(0);
    assert!(NodeRequest::verify(&longer).is_err());
}

#[test]
fn openssl_verifies_a_request_on_both_schemes() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in Scheme::ALL {
        let consensus = key(scheme, 9);
        let der = NodeRequest::create("bank-e", &identity(consensus.as_ref(), NodeRole::Validator), consensus.as_ref())
            .unwrap();
        let path = dir.path().join(format!("{scheme}.csr"));
        std::fs::write(&path, &der).unwrap();
        let mut args = vec!["req", "-inform", "DER", "-in", path.to_str().unwrap(), "-noout", "-verify", "-text"];
        if scheme == Scheme::Sm2 {
            args.extend(["-vfyopt", "distid:1234567812345678"]);
        }
        let out = std::process::Command::new("openssl").args(&args).output().expect("openssl runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "openssl {args:?}: {text}");
        assert!(text.contains("verify OK") || text.contains("Certificate request self-signature verify OK"), "{text}");
        assert!(text.contains("ctchain:node:validator:"), "{text}");
    }
}
