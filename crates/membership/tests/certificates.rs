//! Member CAs and node certificates on both schemes: issued, checked, read by OpenSSL, and every refusal named.

use ctchain_membership::{CertError, MemberCa, NodeCertificate, NodeIdentity, NodeRole, ValidityWindow};
use ctchain_sig::{Scheme, SigningKey};

/// 2026-12-01T00:00:00Z.
const NOW: u64 = 1_796_083_200;
const YEAR: u64 = 365 * 86_400;

fn window() -> ValidityWindow {
    ValidityWindow { not_before: NOW - 86_400, not_after: NOW + YEAR }
}

fn key(scheme: Scheme, seed: u8) -> Box<dyn SigningKey> {
    scheme.signing_key(&[seed; 32]).unwrap()
}

fn identity(scheme: Scheme, name: &str, role: NodeRole) -> NodeIdentity {
    NodeIdentity { name: name.into(), role, network_key: [0xab; 32], consensus_key: key(scheme, 42).public_key() }
}

fn not_revoked(_: &str, _: &[u8]) -> bool {
    false
}

#[test]
fn a_member_ca_issues_node_certificates_that_verify_on_both_schemes() {
    for scheme in Scheme::ALL {
        let ca_key = key(scheme, 1);
        let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
        assert_eq!(ca.member(), "bank-a");
        assert_eq!(MemberCa::from_der(ca.der()), Ok(ca.clone()));
        let id = identity(scheme, "validator-1", NodeRole::Validator);
        let der = ca.issue_node(ca_key.as_ref(), &id, 7, window()).unwrap();
        let cert = NodeCertificate::verify(&der, std::slice::from_ref(&ca), NOW, not_revoked).unwrap();
        assert_eq!(cert.member, "bank-a");
        assert_eq!(cert.identity, id);
        assert_eq!(cert.serial, vec![7]);
        assert_eq!(cert.validity, window());
        // An observer's certificate says so.
        let observer = identity(scheme, "observer-1", NodeRole::Observer);
        let der = ca.issue_node(ca_key.as_ref(), &observer, 8, window()).unwrap();
        assert_eq!(NodeCertificate::verify(&der, &[ca], NOW, not_revoked).unwrap().identity.role, NodeRole::Observer);
    }
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("openssl").args(args).output().expect("openssl runs (.ci/setup installs it)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn pem(der: &[u8], dir: &std::path::Path, name: &str) -> String {
    let der_path = dir.join(format!("{name}.der"));
    std::fs::write(&der_path, der).unwrap();
    let pem_path = dir.join(format!("{name}.pem"));
    let (ok, out) =
        openssl(&["x509", "-inform", "DER", "-in", der_path.to_str().unwrap(), "-out", pem_path.to_str().unwrap()]);
    assert!(ok, "OpenSSL cannot read {name}: {out}");
    pem_path.to_str().unwrap().to_owned()
}

/// The certificates are plain X.509: OpenSSL reads both kinds, shows the node's identity, and verifies the chain
/// of a node certificate to its member CA on both schemes (for SM2 with GM/T 0009's default identifier) — an
/// independent check of our SM2 signatures too.
#[test]
fn openssl_reads_the_certificates_and_verifies_their_chains_on_both_schemes() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in Scheme::ALL {
        let ca_key = key(scheme, 1);
        let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
        let id = identity(scheme, "validator-1", NodeRole::Validator);
        let node = ca.issue_node(ca_key.as_ref(), &id, 7, window()).unwrap();
        let ca_pem = pem(ca.der(), dir.path(), &format!("ca-{scheme}"));
        let node_pem = pem(&node, dir.path(), &format!("node-{scheme}"));
        let (ok, text) = openssl(&["x509", "-in", &node_pem, "-noout", "-text"]);
        assert!(ok, "{text}");
        assert!(text.contains("CN = validator-1") || text.contains("CN=validator-1"), "{text}");
        assert!(text.contains(&format!("URI:{}", id.uri())), "{text}");
        assert!(text.contains("CA:FALSE"), "{text}");
        let (ok, text) = openssl(&["x509", "-in", &ca_pem, "-noout", "-text"]);
        assert!(ok && text.contains("CA:TRUE") && text.contains("Certificate Sign"), "{text}");
        {
            let now = NOW.to_string();
            let mut args = vec!["verify", "-attime", &now, "-CAfile", &ca_pem];
            if scheme == Scheme::Sm2 {
                args.extend(["-vfyopt", "distid:1234567812345678"]);
            }
            args.push(&node_pem);
            let (ok, out) = openssl(&args);
            assert!(ok && out.contains("OK"), "OpenSSL does not verify the chain: {out}");
        }
    }
}

#[test]
fn a_certificate_from_another_members_ca_or_an_impostor_is_refused() {
    let scheme = Scheme::Ed25519;
    let (a_key, b_key) = (key(scheme, 1), key(scheme, 2));
    let a = MemberCa::issue("bank-a", a_key.as_ref(), window()).unwrap();
    let b = MemberCa::issue("bank-b", b_key.as_ref(), window()).unwrap();
    let from_b = b.issue_node(b_key.as_ref(), &identity(scheme, "v1", NodeRole::Validator), 1, window()).unwrap();
    assert_eq!(
        NodeCertificate::verify(&from_b, std::slice::from_ref(&a), NOW, not_revoked),
        Err(CertError::UnknownIssuer("CN=bank-b CA,O=bank-b".into()))
    );
    // An impostor CA with bank-a's name but its own key: same issuer name, wrong signature.
    let impostor_key = key(scheme, 3);
    let impostor = MemberCa::issue("bank-a", impostor_key.as_ref(), window()).unwrap();
    let forged = impostor.issue_node(impostor_key.as_ref(), &identity(scheme, "v1", NodeRole::Validator), 1, window());
    assert!(matches!(
        NodeCertificate::verify(&forged.unwrap(), &[a], NOW, not_revoked),
        Err(CertError::BadSignature(_))
    ));
}

#[test]
fn expired_not_yet_valid_and_revoked_certificates_are_refused() {
    let scheme = Scheme::Sm2;
    let ca_key = key(scheme, 1);
    let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
    let der = ca.issue_node(ca_key.as_ref(), &identity(scheme, "v1", NodeRole::Validator), 9, window()).unwrap();
    let cas = std::slice::from_ref(&ca);
    assert_eq!(
        NodeCertificate::verify(&der, cas, NOW + 2 * YEAR, not_revoked),
        Err(CertError::Expired { not_after: NOW + YEAR, now: NOW + 2 * YEAR })
    );
    assert_eq!(
        NodeCertificate::verify(&der, cas, NOW - 2 * 86_400, not_revoked),
        Err(CertError::NotYetValid { not_before: NOW - 86_400, now: NOW - 2 * 86_400 })
    );
    let revoked = |member: &str, serial: &[u8]| member == "bank-a" && serial == [9];
    assert_eq!(
        NodeCertificate::verify(&der, cas, NOW, revoked),
        Err(CertError::Revoked { member: "bank-a".into(), serial: "09".into() })
    );
}

#[test]
fn a_tampered_certificate_is_refused() {
    for scheme in Scheme::ALL {
        let ca_key = key(scheme, 1);
        let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
        let der = ca.issue_node(ca_key.as_ref(), &identity(scheme, "v1", NodeRole::Validator), 1, window()).unwrap();
        // Change the role in the URI: same length, still valid DER, the signature no longer covers it.
        let at = der.windows(9).position(|w| w == b"validator").expect("the URI is in the certificate");
        let mut as_observer = der.clone();
        as_observer[at..at + 9].copy_from_slice(b"observerx");
        assert!(NodeCertificate::verify(&as_observer, std::slice::from_ref(&ca), NOW, not_revoked).is_err());
        // Every single-byte change anywhere is refused, for one reason or another.
        for i in (0..der.len()).step_by(7) {
            let mut bad = der.clone();
            bad[i] ^= 0x01;
            assert!(
                NodeCertificate::verify(&bad, std::slice::from_ref(&ca), NOW, not_revoked).is_err(),
                "{scheme}: byte {i} changed and the certificate still verifies"
            );
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(
            NodeCertificate::verify(&trailing, std::slice::from_ref(&ca), NOW, not_revoked),
            Err(CertError::Der(_))
        ));
    }
}

#[test]
fn roles_of_certificates_are_not_interchangeable() {
    let scheme = Scheme::Ed25519;
    let ca_key = key(scheme, 1);
    let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
    let node = ca.issue_node(ca_key.as_ref(), &identity(scheme, "v1", NodeRole::Validator), 1, window()).unwrap();
    // A node certificate is no CA.
    assert!(matches!(MemberCa::from_der(&node), Err(CertError::NotACa(_))));
    // A CA certificate is no node certificate (it is a CA, and carries no node identity).
    assert!(NodeCertificate::verify(ca.der(), std::slice::from_ref(&ca), NOW, not_revoked).is_err());
}

#[test]
fn a_consensus_key_of_another_scheme_than_the_cas_is_refused() {
    let ca_key = key(Scheme::Sm2, 1);
    let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
    let der =
        ca.issue_node(ca_key.as_ref(), &identity(Scheme::Ed25519, "v1", NodeRole::Validator), 1, window()).unwrap();
    assert_eq!(
        NodeCertificate::verify(&der, &[ca], NOW, not_revoked),
        Err(CertError::SchemeMismatch { expected: Scheme::Sm2, found: Scheme::Ed25519 })
    );
}

#[test]
fn names_that_could_inject_into_a_distinguished_name_are_refused() {
    let ca_key = key(Scheme::Ed25519, 1);
    assert_eq!(
        MemberCa::issue("bank-a,O=bank-b", ca_key.as_ref(), window()),
        Err(CertError::BadName("bank-a,O=bank-b".into()))
    );
    let ca = MemberCa::issue("bank-a", ca_key.as_ref(), window()).unwrap();
    for name in ["", "V1", "-v1", "v1+cn=x", "v 1", &"a".repeat(64)] {
        let id = identity(Scheme::Ed25519, name, NodeRole::Validator);
        assert_eq!(ca.issue_node(ca_key.as_ref(), &id, 1, window()), Err(CertError::BadName(name.into())));
    }
    // Only the CA's own key signs for it.
    let other = key(Scheme::Ed25519, 5);
    assert!(matches!(
        ca.issue_node(other.as_ref(), &identity(Scheme::Ed25519, "v1", NodeRole::Validator), 1, window()),
        Err(CertError::Build(_))
    ));
}

/// The other direction: an SM2 member CA and a node certificate made by OpenSSL (uncompressed points, its own DER
/// encoder, its SM2 signatures with the GM/T 0009 default identifier) are accepted, with the identity they state.
#[test]
fn an_openssl_made_sm2_ca_and_node_certificate_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let (ok, out) = openssl(args);
        assert!(ok, "openssl {args:?}: {out}");
    };
    let id = "1234567812345678";
    run(&["genpkey", "-algorithm", "SM2", "-out", &path("ca.key")]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &path("ca.key"),
        "-sm3",
        "-sigopt",
        &format!("distid:{id}"),
        "-subj",
        "/O=bank-c/CN=bank-c CA",
        "-days",
        "3650",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-outform",
        "DER",
        "-out",
        &path("ca.der"),
    ]);
    run(&["genpkey", "-algorithm", "SM2", "-out", &path("node.key")]);
    run(&[
        "req",
        "-new",
        "-key",
        &path("node.key"),
        "-sm3",
        "-sigopt",
        &format!("distid:{id}"),
        "-subj",
        "/O=bank-c/CN=validator-9",
        "-out",
        &path("node.csr"),
    ]);
    let network_key = [0x5a; 32];
    let uri = format!("ctchain:node:validator:{}", "5a".repeat(32));
    std::fs::write(path("ext.cnf"), format!("basicConstraints=CA:FALSE\nsubjectAltName=URI:{uri}\n")).unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &path("node.csr"),
        "-CA",
        &path("ca.der"),
        "-CAform",
        "DER",
        "-CAkey",
        &path("ca.key"),
        "-sm3",
        "-sigopt",
        &format!("distid:{id}"),
        "-vfyopt",
        &format!("distid:{id}"),
        "-set_serial",
        "77",
        "-days",
        "365",
        "-extfile",
        &path("ext.cnf"),
        "-outform",
        "DER",
        "-out",
        &path("node.der"),
    ]);
    let ca = MemberCa::from_der(&std::fs::read(path("ca.der")).unwrap()).expect("OpenSSL's SM2 CA is accepted");
    assert_eq!(ca.member(), "bank-c");
    assert_eq!(ca.key().scheme(), Scheme::Sm2);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let der = std::fs::read(path("node.der")).unwrap();
    let cert = NodeCertificate::verify(&der, std::slice::from_ref(&ca), now, not_revoked)
        .expect("OpenSSL's SM2 node certificate is accepted");
    assert_eq!(cert.member, "bank-c");
    assert_eq!(cert.identity.name, "validator-9");
    assert_eq!(cert.identity.role, NodeRole::Validator);
    assert_eq!(cert.identity.network_key, network_key);
    assert_eq!(cert.serial, vec![77]);
    // And its signature is what makes it so: one changed byte of it is refused.
    let mut bad = der.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(NodeCertificate::verify(&bad, &[ca], now, not_revoked).is_err());
}
