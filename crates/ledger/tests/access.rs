//! Audit-access records: a quorum of supervisors of a split audit key records each decryption on chain.

mod common;

use ark_ed_on_bn254::Fr as JubScalar;
use common::{TestChain, CHAIN};
use ctchain_circuits::{AuditPublicKey as ShieldedKey, AuditSecretKey as ShieldedSecret};
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{generators::blinding_base, AuditSecretKey, Point, Scalar};
use ctchain_ledger::access::{AccessError, AuditAccessRecord, DealingError, SupervisorSignature};
use ctchain_ledger::{Block, LedgerError, LedgerTx, TxRejection, VerifiedLedgerTx};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// A k-of-n Shamir dealing of `secret` written out by hand (the ledger does not depend on the audit crate):
/// share secrets `f(j)` and share keys `f(j)·P`.
fn deal(secret: &AuditSecretKey, coefficients: &[Scalar], n: u32) -> (Vec<Scalar>, Vec<Point>) {
    let p = secret.public();
    let shares: Vec<Scalar> = (1..=n)
        .map(|j| {
            let x = Scalar::from(j);
            coefficients.iter().rev().fold(Scalar::ZERO, |acc, a| acc * x + a) * x + secret.scalar()
        })
        .collect();
    let keys = shares.iter().map(|s| Point::new(s * p.0.point()).unwrap()).collect();
    (shares, keys)
}

fn record(threshold: u32, share_keys: Vec<Point>) -> AuditAccessRecord {
    AuditAccessRecord {
        chain_id: CHAIN.into(),
        audit_key_index: 0,
        case_reference: "case 2026-117 (court order 4411)".into(),
        from_height: 1,
        to_height: 40,
        threshold,
        share_keys,
        shielded_share_keys: vec![],
        signatures: vec![],
    }
}

fn sign(record: &mut AuditAccessRecord, auditor: &AuditSecretKey, signers: &[(u32, Scalar)], rng: &mut ChaCha20Rng) {
    let id = record.id();
    for (j, secret) in signers {
        let key = record.share_keys[*j as usize - 1];
        record.signatures.push(SupervisorSignature::sign(&id, &auditor.public(), *j, &key, secret, rng));
    }
}

fn verify(chain: &TestChain, record: AuditAccessRecord) -> Result<VerifiedLedgerTx, TxRejection> {
    VerifiedLedgerTx::verify(LedgerTx::AuditAccess(record), chain.ledger.verifier())
}

fn commit_record(chain: &mut TestChain, record: AuditAccessRecord) -> Result<Block, LedgerError> {
    let verified = verify(chain, record).map_err(|reason| LedgerError::InvalidTransaction {
        height: chain.ledger.height() + 1,
        index: 0,
        tx_id: ctchain_crypto::TxId(Default::default()),
        reason,
    })?;
    let ts = chain.ledger.tip_timestamp_ms() + 1_000;
    let block = chain.ledger.propose(vec![verified], chain.ledger.next_block_seq(), ts, 0, 0)?.to_block();
    let received = block.clone().verify(chain.ledger.verifier())?;
    chain.ledger.apply(received, None)?;
    Ok(block)
}

#[test]
fn two_of_three_supervisors_record_an_access_that_every_node_lists() {
    let mut chain = TestChain::new(71);
    let mut rng = ChaCha20Rng::seed_from_u64(72);
    let auditor = chain.keys.auditor.clone();
    let (shares, keys) = deal(&auditor, &[Scalar::random(&mut rng)], 3);
    let mut r = record(2, keys);
    sign(&mut r, &auditor, &[(1, shares[0]), (3, shares[2])], &mut rng);
    let id = r.id();
    // The encoding is canonical: decoding and re-encoding gives the same bytes and the same id.
    let bytes = LedgerTx::AuditAccess(r.clone()).to_bytes();
    let decoded = LedgerTx::from_bytes(&bytes).unwrap();
    assert_eq!(decoded.to_bytes(), bytes);
    assert_eq!(decoded.id(), id);

    let block = commit_record(&mut chain, r.clone()).unwrap();
    let log = chain.ledger.audit_access_log().unwrap();
    assert_eq!(log, vec![(block.header.height, 0, r.clone())]);
    assert_eq!(log[0].2.signers(), vec![1, 3]);
    // It is a transaction like any other: located, and provably in its block.
    let found = chain.ledger.transaction(&id).unwrap().unwrap();
    assert_eq!(found.tx, LedgerTx::AuditAccess(r.clone()));
    let proof = chain.ledger.inclusion_proof(&id).unwrap().unwrap();
    assert_eq!(proof.verify(&found.tx), Some(block.hash()));
    // Recording it twice is refused.
    let again = commit_record(&mut chain, r).unwrap_err();
    assert!(matches!(again, LedgerError::InvalidTransaction { reason: TxRejection::Duplicate, .. }), "{again}");
    // And the log survives a reopen.
    let dir = chain.dir.path().to_path_buf();
    drop(chain.ledger);
    let reopened = ctchain_ledger::Ledger::open_existing(&dir).unwrap();
    assert_eq!(reopened.audit_access_log().unwrap().len(), 1);
}

#[test]
fn an_unsplit_audit_key_records_access_as_a_one_of_one_dealing() {
    let mut chain = TestChain::new(73);
    let mut rng = ChaCha20Rng::seed_from_u64(74);
    let auditor = chain.keys.auditor.clone();
    // s·P = B: the single "share key" of the whole secret is the blinding base.
    let mut r = record(1, vec![Point::new(blinding_base()).unwrap()]);
    sign(&mut r, &auditor, &[(1, *auditor.scalar())], &mut rng);
    commit_record(&mut chain, r).unwrap();
    assert_eq!(chain.ledger.audit_access_log().unwrap().len(), 1);
}

#[test]
fn fewer_than_k_signatures_a_forged_one_or_a_repeated_signer_are_refused() {
    let chain = TestChain::new(75);
    let mut rng = ChaCha20Rng::seed_from_u64(76);
    let auditor = chain.keys.auditor.clone();
    let (shares, keys) = deal(&auditor, &[Scalar::random(&mut rng), Scalar::random(&mut rng)], 5);

    let mut two = record(3, keys.clone());
    sign(&mut two, &auditor, &[(2, shares[1]), (4, shares[3])], &mut rng);
    assert_eq!(
        verify(&chain, two.clone()).unwrap_err(),
        TxRejection::Access(AccessError::NotEnoughSignatures { found: 2, threshold: 3 })
    );

    // Supervisor 5 signs with supervisor 1's share: named.
    let mut forged = two.clone();
    sign(&mut forged, &auditor, &[(5, shares[0])], &mut rng);
    assert_eq!(verify(&chain, forged).unwrap_err(), TxRejection::Access(AccessError::BadSignature(5)));

    // One supervisor counted twice.
    let mut repeated = two.clone();
    sign(&mut repeated, &auditor, &[(4, shares[3])], &mut rng);
    assert_eq!(verify(&chain, repeated).unwrap_err(), TxRejection::Access(AccessError::BadSigner(4)));

    // A signature made for another record does not carry over (it signs the other id).
    let mut other = two.clone();
    other.to_height = 41;
    other.signatures.clear();
    sign(&mut other, &auditor, &[(5, shares[4])], &mut rng);
    let mut spliced = two;
    spliced.signatures.push(other.signatures[0].clone());
    assert_eq!(verify(&chain, spliced).unwrap_err(), TxRejection::Access(AccessError::BadSignature(5)));
}

#[test]
fn a_dealing_of_another_key_or_a_bad_range_or_chain_is_refused() {
    let chain = TestChain::new(77);
    let mut rng = ChaCha20Rng::seed_from_u64(78);
    let auditor = chain.keys.auditor.clone();
    // Supervisors of some other regulator's key cannot record access to this chain's audit key: their dealing
    // interpolates to B too (s'·P' = B), but they know no share key's logarithm to *this* key's base.
    let stranger = AuditSecretKey::random(&mut rng);
    let (shares, keys) = deal(&stranger, &[Scalar::random(&mut rng)], 3);
    let mut r = record(2, keys);
    sign(&mut r, &stranger, &[(1, shares[0]), (2, shares[1])], &mut rng);
    assert_eq!(verify(&chain, r).unwrap_err(), TxRejection::Access(AccessError::BadSignature(1)));

    // A share key that is off the polynomial: the dealing itself is refused.
    let (shares, mut keys) = deal(&auditor, &[Scalar::random(&mut rng)], 3);
    let honest = keys.clone();
    keys[2] = Point::new(Scalar::random(&mut rng) * blinding_base()).unwrap();
    let mut r = record(2, keys);
    sign(&mut r, &auditor, &[(1, shares[0]), (2, shares[1])], &mut rng);
    assert_eq!(
        verify(&chain, r).unwrap_err(),
        TxRejection::Access(AccessError::BadDealing { audit_key: 0, reason: DealingError::Inconsistent })
    );
    let keys = honest;
    let signed = |mut r: AuditAccessRecord, rng: &mut ChaCha20Rng| {
        sign(&mut r, &auditor, &[(1, shares[0]), (2, shares[1])], rng);
        r
    };
    let mut backwards = record(2, keys.clone());
    backwards.from_height = 9;
    backwards.to_height = 8;
    assert_eq!(
        verify(&chain, signed(backwards, &mut rng)).unwrap_err(),
        TxRejection::Access(AccessError::BadRange { from: 9, to: 8 })
    );
    let mut elsewhere = record(2, keys.clone());
    elsewhere.chain_id = "another-chain".into();
    assert!(matches!(
        verify(&chain, signed(elsewhere, &mut rng)).unwrap_err(),
        TxRejection::Access(AccessError::WrongChain { .. })
    ));
    let mut no_key = record(2, keys.clone());
    no_key.audit_key_index = 1;
    assert_eq!(
        verify(&chain, signed(no_key, &mut rng)).unwrap_err(),
        TxRejection::Access(AccessError::UnknownAuditKey(1))
    );
    let too_high = record(4, keys);
    assert_eq!(
        verify(&chain, too_high).unwrap_err(),
        TxRejection::Access(AccessError::BadDealing {
            audit_key: 0,
            reason: DealingError::BadThreshold { threshold: 4, shares: 3 }
        })
    );
}

/// A k-of-n dealing of a shielded (Baby Jubjub) audit secret `secret`, by hand: share keys `f(j)·G`.
fn deal_shielded(secret: &ShieldedSecret, coefficients: &[JubScalar], n: u32) -> Vec<ShieldedKey> {
    use ark_ec::CurveGroup;
    use ark_ff::PrimeField;
    let s = JubScalar::from_le_bytes_mod_order(&secret.to_bytes());
    (1..=n)
        .map(|j| {
            let x = JubScalar::from(u64::from(j));
            let value = coefficients.iter().rev().fold(JubScalar::from(0u64), |acc, c| acc * x + c) * x + s;
            let bytes = ctchain_circuits::encoding::point_to_bytes(
                &(ctchain_circuits::keys::generator() * value).into_affine(),
            );
            ShieldedKey::from_bytes(&bytes).unwrap()
        })
        .collect()
}

/// A record may carry a dealing of the genesis shielded audit key for the same supervisors: it is recorded like
/// any other. A shielded dealing of another key, off its polynomial, of another size, or on a chain without a
/// shielded pool is refused by name.
#[test]
fn a_record_with_a_shielded_dealing_covers_both_pools_and_a_wrong_one_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(91);
    let shielded = ShieldedSecret::random(&mut rng);
    let config = ctchain_ledger::ShieldedConfig {
        verifying_key_hash: Default::default(),
        audit_key: shielded.public_key(),
        recent_roots: 4,
    };
    let mut chain = TestChain::with_genesis(90, |g| g.shielded = Some(config));
    let auditor = chain.keys.auditor.clone();
    let (shares, keys) = deal(&auditor, &[Scalar::random(&mut rng)], 3);
    let with = |shielded_share_keys: Vec<ShieldedKey>, rng: &mut ChaCha20Rng| {
        let mut r = record(2, keys.clone());
        r.shielded_share_keys = shielded_share_keys;
        sign(&mut r, &auditor, &[(1, shares[0]), (3, shares[2])], rng);
        r
    };
    let a = JubScalar::from(77u64);

    // Another regulator's shielded key: every stateless check passes (the dealing is consistent), the chain's own
    // shielded audit key refuses it when the record is applied.
    let stranger = ShieldedSecret::random(&mut rng);
    let other = with(deal_shielded(&stranger, &[a], 3), &mut rng);
    assert!(verify(&chain, other.clone()).is_ok());
    let err = commit_record(&mut chain, other).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::InvalidTransaction { reason: TxRejection::Access(AccessError::ShieldedKeyMismatch), .. }
        ),
        "{err}"
    );
    // Off the polynomial.
    let mut off = deal_shielded(&shielded, &[a], 3);
    off.swap(0, 1);
    assert!(matches!(
        verify(&chain, with(off, &mut rng)).unwrap_err(),
        TxRejection::Access(AccessError::BadShieldedDealing(ctchain_circuits::threshold::DealingError::Inconsistent))
    ));
    // Another number of supervisors than the confidential dealing's.
    assert_eq!(
        verify(&chain, with(deal_shielded(&shielded, &[a], 4), &mut rng)).unwrap_err(),
        TxRejection::Access(AccessError::ShieldedShareCount { confidential: 3, shielded: 4 })
    );
    // A shielded dealing changes the id: a signature on the record without it does not carry over.
    let mut plain = record(2, keys.clone());
    sign(&mut plain, &auditor, &[(1, shares[0]), (3, shares[2])], &mut rng);
    let mut grafted = plain.clone();
    grafted.shielded_share_keys = deal_shielded(&shielded, &[a], 3);
    assert_ne!(grafted.id(), plain.id());
    assert_eq!(verify(&chain, grafted).unwrap_err(), TxRejection::Access(AccessError::BadSignature(1)));

    // The chain's own shielded key, split among the same three supervisors: recorded and listed.
    let good = with(deal_shielded(&shielded, &[a], 3), &mut rng);
    let verified = good.clone().verify(CHAIN, &[auditor.public()]).unwrap();
    assert_eq!(verified.shielded_key(), Some(&shielded.public_key()));
    commit_record(&mut chain, good.clone()).unwrap();
    let log = chain.ledger.audit_access_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].2, good);

    // On a chain without a shielded pool, a shielded dealing has nothing to share.
    let mut plain_chain = TestChain::new(92);
    let auditor = plain_chain.keys.auditor.clone();
    let (shares, keys) = deal(&auditor, &[Scalar::random(&mut rng)], 3);
    let mut r = record(2, keys);
    r.shielded_share_keys = deal_shielded(&shielded, &[a], 3);
    sign(&mut r, &auditor, &[(1, shares[0]), (2, shares[1])], &mut rng);
    let err = commit_record(&mut plain_chain, r).unwrap_err();
    assert!(
        matches!(err, LedgerError::InvalidTransaction { reason: TxRejection::Access(AccessError::NoShieldedPool), .. }),
        "{err}"
    );
}

/// The canonical encoding is fixed: a record built from fixed keys and a seeded signer always has these bytes.
#[test]
fn encoding_test_vector() {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let auditor = AuditSecretKey::random(&mut rng);
    let b = Point::new(blinding_base()).unwrap();
    let mut r = AuditAccessRecord {
        chain_id: "ctchain-vector".into(),
        audit_key_index: 0,
        case_reference: "case-1".into(),
        from_height: 3,
        to_height: 5,
        threshold: 1,
        share_keys: vec![b],
        // A 1-of-1 shielded dealing: the one share key is the shielded audit key itself.
        shielded_share_keys: vec![ShieldedSecret::from_bytes(&[1u8; 32]).unwrap().public_key()],
        signatures: vec![],
    };
    let id = r.id();
    r.signatures.push(SupervisorSignature::sign(&id, &auditor.public(), 1, &b, auditor.scalar(), &mut rng));
    let verified = r.clone().verify("ctchain-vector", &[auditor.public()]).unwrap();
    assert_eq!(verified.id(), id);
    let hex_bytes = hex::encode(LedgerTx::AuditAccess(r.clone()).to_bytes());
    let expected = include_str!("../vectors/audit_access.hex").trim();
    assert_eq!(hex_bytes, expected, "the encoding of an audit-access record changed");
    assert_eq!(AuditAccessRecord::from_bytes(&r.to_bytes()).unwrap(), r);
}

/// A record whose signatures fail is refused for them before its dealing is interpolated (the costly check):
/// with a dealing off the polynomial and no valid signature, the signature is named.
#[test]
fn signatures_are_checked_before_the_dealing() {
    let chain = TestChain::new(79);
    let mut rng = ChaCha20Rng::seed_from_u64(80);
    let auditor = chain.keys.auditor.clone();
    let (shares, mut keys) = deal(&auditor, &[Scalar::random(&mut rng)], 3);
    keys[2] = Point::new(Scalar::random(&mut rng) * blinding_base()).unwrap();
    let mut r = record(2, keys);
    let stranger = AuditSecretKey::random(&mut rng);
    sign(&mut r, &stranger, &[(1, shares[0]), (2, shares[1])], &mut rng);
    assert_eq!(verify(&chain, r).unwrap_err(), TxRejection::Access(AccessError::BadSignature(1)));
}
