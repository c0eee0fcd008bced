//! Applying many blocks: state root, supply turnstile, queries, and a second node agreeing on every root.

mod common;

use std::collections::HashMap;

use common::*;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{AssetId, LimbTable};
use ctchain_ledger::{Ledger, LedgerTx, Supply, TxInclusionProof, TxKind};

#[test]
fn hundreds_of_blocks_keep_state_root_and_supply_in_agreement_with_recomputation() {
    let mut chain = TestChain::new(1);
    let (cny, usd) = (chain.keys.cny, chain.keys.usd);
    let alice = chain.keys.alice.clone();
    let bob = chain.keys.bob.clone();
    // The test's own tally of the turnstile, kept independently of the ledger.
    let mut tally: HashMap<AssetId, Supply> = HashMap::new();
    let mut tally_at: Vec<HashMap<AssetId, Supply>> = vec![tally.clone()];

    let blocks = 120u64;
    for round in 0..blocks {
        let mut txs = Vec::new();
        match round % 4 {
            0 => {
                let asset = if round % 8 == 0 { cny } else { usd };
                let amount = 10_000 + round;
                txs.push(chain.issue(&alice, asset, amount));
                tally.entry(asset).or_default().issued += u128::from(amount);
            }
            1 | 2 => {
                let (from, to) = if round % 4 == 1 { (&alice, &bob) } else { (&bob, &alice) };
                if let Some(o) = chain.unspent(from).into_iter().max_by_key(|o| o.opening.amount) {
                    let asset = o.opening.asset;
                    let pay = o.opening.amount / 3;
                    let mut b = chain.builder();
                    b.spend(o).pay(to.address(), asset, pay.max(1), "").fee(asset, 1).change_to(from.address());
                    txs.push(b.build(&mut chain.rng).unwrap());
                    tally.entry(asset).or_default().fees += 1;
                }
            }
            _ => {
                if let Some(o) = chain.unspent(&alice).into_iter().min_by_key(|o| o.opening.amount) {
                    let asset = o.opening.asset;
                    let burn = (o.opening.amount / 2).max(1);
                    let mut b = chain.builder();
                    b.spend(o).burn(asset, burn).change_to(alice.address());
                    txs.push(b.build(&mut chain.rng).unwrap());
                    tally.entry(asset).or_default().burned += u128::from(burn);
                }
            }
        }
        chain.commit(txs);
        tally_at.push(tally.clone());
    }
    assert_eq!(chain.ledger.height(), blocks);

    // The incremental root equals a recomputation over the whole database.
    assert_eq!(chain.ledger.recompute_state_root().unwrap(), chain.ledger.state_root());
    assert_eq!(chain.ledger.header(blocks).unwrap().unwrap().state_root, chain.ledger.state_root());

    // The turnstile agrees with the tally now and at every height.
    for asset in [cny, usd] {
        assert_eq!(chain.ledger.supply(&asset).unwrap(), tally[&asset]);
        for h in [0, 1, 7, 50, 99, blocks] {
            assert_eq!(
                chain.ledger.supply_at(&asset, h).unwrap(),
                tally_at[h as usize].get(&asset).copied().unwrap_or_default(),
                "height {h}"
            );
        }
    }

    // The regulator checks the turnstile without trusting anyone: decrypt every unspent output and add up.
    let mut decrypted: HashMap<AssetId, u128> = HashMap::new();
    let tables: HashMap<AssetId, LimbTable> = [cny, usd].into_iter().map(|a| (a, LimbTable::new(a))).collect();
    for record in chain.ledger.outputs_range(1, blocks).unwrap() {
        if chain.ledger.output(&record.id).unwrap().unwrap().spent.is_none() {
            let amount =
                chain.keys.auditor.audit_output(0, &record.output, &tables[&record.output.asset]).unwrap().amount;
            *decrypted.entry(record.output.asset).or_default() += u128::from(amount);
        }
    }
    for asset in [cny, usd] {
        assert_eq!(decrypted[&asset], chain.ledger.supply(&asset).unwrap().outstanding(), "turnstile of {asset}");
    }
    // And the wallets agree with it.
    let wallets: u128 = [&alice, &bob].iter().map(|w| u128::from(chain.balance(w, cny))).sum();
    assert_eq!(wallets, decrypted[&cny]);

    // A second node applying the same blocks (verifying them itself) reaches the same root at every height.
    let dir = tempfile::tempdir().unwrap();
    let mut other = Ledger::open(dir.path(), chain.ledger.genesis()).unwrap();
    for block in &chain.blocks {
        other.apply(block.clone().verify(other.verifier()).unwrap(), None).unwrap();
        assert_eq!(other.state_root(), block.header.state_root);
    }
    assert_eq!(other.tip_hash(), chain.ledger.tip_hash());
}

#[test]
fn queries_answer_what_rpc_and_wallets_ask() {
    let mut chain = TestChain::new(2);
    let alice = chain.keys.alice.clone();
    let bob = chain.keys.bob.clone();
    let issue = chain.issue(&alice, chain.keys.cny, 500);
    let issue_id = issue.id();
    let b1 = chain.commit(vec![issue]);
    let o = chain.unspent(&alice).remove(0);
    let spent_id = o.output_id;
    let mut b = chain.builder();
    b.spend(o).pay(bob.address(), chain.keys.cny, 200, "").change_to(alice.address());
    let transfer = b.build(&mut chain.rng).unwrap();
    let transfer_id = transfer.id();
    let other = chain.issue(&bob, chain.keys.usd, 9);
    let b2 = chain.commit(vec![other, transfer]);

    assert_eq!(chain.ledger.block(1).unwrap().unwrap(), b1);
    assert_eq!(chain.ledger.block_by_hash(&b2.hash()).unwrap().unwrap(), b2);
    assert!(chain.ledger.block(3).unwrap().is_none());
    assert_eq!(chain.ledger.certificate(2).unwrap().as_deref(), Some(&b"test-certificate"[..]));

    let rec = chain.ledger.transaction(&transfer_id).unwrap().unwrap();
    assert_eq!((rec.height, rec.index), (2, 1));
    assert_eq!(rec.tx.kind(), TxKind::Transfer);
    assert_eq!(chain.ledger.transaction(&issue_id).unwrap().unwrap().tx.kind(), TxKind::Issue);

    let spent = chain.ledger.output(&spent_id).unwrap().unwrap();
    assert_eq!(spent.spent.unwrap().tx_id, transfer_id);
    assert_eq!(spent.record.height, 1);
    assert_eq!(chain.ledger.outputs_range(2, 2).unwrap().len(), 3);
    assert_eq!(chain.ledger.outputs_range(1, 9).unwrap().len(), 4);

    // An inclusion proof checks offline, from its bytes, and names the block by hash.
    let proof = chain.ledger.inclusion_proof(&transfer_id).unwrap().unwrap();
    let proof = TxInclusionProof::from_bytes(&proof.to_bytes()).unwrap();
    assert_eq!(proof.verify(&rec.tx), Some(b2.hash()));
    let LedgerTx::Confidential(mut forged) = rec.tx.clone() else { panic!("a confidential transaction") };
    forged.body.chain_id.push('!');
    assert_eq!(proof.verify(&LedgerTx::Confidential(forged)), None);
    assert_eq!(proof.verify(&b2.txs[0]), None, "another transaction of the same block");
}
