//! Governance end to end, with real node processes and the operator's own commands (`ctchain-node governance`):
//! four banks' validators and the regulator's observer, founded by the testnet's genesis consortium.
//!
//! * `registry` prints the founding members and nodes;
//! * a new asset is proposed, approved by three members and refused at submission (four of five are needed), an
//!   approval signed with another member's admin key is refused by name, and with the fourth real approval the
//!   listing commits on every validator; the asset is then issued and its supply counted;
//! * the regulator revokes its own observer's certificate alone (the issuing member may always revoke its own):
//!   the registry drops the node and lists the revocation on every validator;
//! * `governance_log` lists both actions with their approvers.

mod common;

use std::time::Duration;

use common::{Chain, Tool, COMMIT};
use ctchain_crypto::{AssetId, SigningKey, TransactionBuilder, WalletKeys};
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet};
use ctchain_rpc::{ChainApiClient, RegistryJson};
use rand_core::OsRng;

const BASE: u16 = 18_000;
const MEMBERS_DIR: &str = "chain/members";

/// Waits until validator `i`'s registry satisfies `done`.
async fn wait_registry(chain: &Chain, i: usize, done: impl Fn(&RegistryJson) -> bool) -> RegistryJson {
    let client = chain.cluster.client(i);
    let deadline = tokio::time::Instant::now() + COMMIT;
    loop {
        let r = client.governance_registry().await.expect("governance_registry");
        if done(&r) {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "validator {i}'s registry never changed: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn admin_key(member: &str) -> String {
    format!("{MEMBERS_DIR}/{member}/admin.key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_an_asset_and_revoke_a_certificate_through_governance() {
    let chain = Chain::start(4, 1, BASE).await;
    let node = Tool::new("ctchain-node", chain.dir.path());
    let rpc = format!("http://127.0.0.1:{}", BASE + 100);

    let registry = node.ok(&["governance", "registry", "--rpc", &rpc]);
    for line in ["member bank-a (bank)", "member regulator (regulator)", "node observer-0 (observer)", "asset CNY"] {
        assert!(registry.contains(line), "{line:?} missing from:\n{registry}");
    }
    assert!(registry.contains("current epoch 0 from height 1: 4 validators"), "{registry}");

    // A new asset, EUR: proposed against the current registry, approved member by member.
    let issuer = SigningKey::random(&mut OsRng);
    let issuer_hex = hex::encode(issuer.public().as_bytes());
    let proposed = node.ok(&[
        "governance",
        "propose",
        "--rpc",
        &rpc,
        "--out",
        "eur.json",
        "list-asset",
        "--label",
        "EUR",
        "--issuer",
        &issuer_hex,
    ]);
    assert!(proposed.contains("list-asset on ctchain-e2e-1 against registry version 0: list asset EUR"), "{proposed}");
    for member in ["bank-a", "bank-b", "bank-c"] {
        node.ok(&["governance", "approve", "eur.json", "--member", member, "--admin-key", &admin_key(member)]);
    }
    let err = node.fails(&["governance", "submit", "eur.json", "--rpc", &rpc]);
    assert!(err.contains("list-asset needs the approval of 4 members, it has 3"), "{err}");

    // bank-d's approval signed with bank-a's admin key: a valid signature, by the wrong member's key.
    std::fs::copy(chain.dir.path().join("eur.json"), chain.dir.path().join("forged.json")).unwrap();
    node.ok(&["governance", "approve", "forged.json", "--member", "bank-d", "--admin-key", &admin_key("bank-a")]);
    let err = node.fails(&["governance", "submit", "forged.json", "--rpc", &rpc]);
    assert!(err.contains("the approval of bank-d is not signed by one of its admin keys"), "{err}");
    let unchanged = chain.cluster.client(0).governance_registry().await.unwrap();
    assert_eq!((unchanged.version, unchanged.assets.len()), (0, 2), "a refusal changes nothing");

    node.ok(&["governance", "approve", "eur.json", "--member", "regulator", "--admin-key", &admin_key("regulator")]);
    let shown = node.ok(&["governance", "show", "eur.json"]);
    assert!(shown.contains("approvals (signatures valid): bank-a, bank-b, bank-c, regulator"), "{shown}");
    node.ok(&["governance", "submit", "eur.json", "--rpc", &rpc]);
    for i in 0..4 {
        let r = wait_registry(&chain, i, |r| r.version == 1).await;
        assert!(r.assets.iter().any(|a| a.label == "EUR"), "validator {i}: {:?}", r.assets);
    }

    // Listed, the asset can be issued.
    let eur = AssetId::from_label("EUR");
    let alice = WalletKeys::random(&mut OsRng);
    let mut b = TransactionBuilder::new(common::CHAIN_ID, chain.cluster.testnet.genesis.audit_keys.clone());
    b.issue(&issuer, eur, 70_000).pay(alice.address(), eur, 70_000, "first euros");
    let client = chain.cluster.client(1);
    submit_and_wait(&client, &b.build(&mut OsRng).unwrap(), COMMIT).await.expect("the EUR issuance commits");
    let supply = client.asset_supply("EUR".into()).await.unwrap().expect("EUR is listed");
    assert_eq!(supply.issued, "70000");
    let mut wallet = ChainWallet::new("alice", alice);
    wallet.sync(&client).await.unwrap();
    assert_eq!(wallet.balance(eur).unwrap(), 70_000);

    // The regulator revokes its own observer's certificate, alone.
    node.ok(&[
        "governance",
        "propose",
        "--rpc",
        &rpc,
        "--out",
        "revoke.json",
        "revoke-certificate",
        "--member",
        "regulator",
        "--node",
        "observer-0",
    ]);
    node.ok(&["governance", "approve", "revoke.json", "--member", "regulator", "--admin-key", &admin_key("regulator")]);
    node.ok(&["governance", "submit", "revoke.json", "--rpc", &rpc]);
    for i in 0..4 {
        let r = wait_registry(&chain, i, |r| r.version == 2).await;
        assert!(r.nodes.iter().all(|n| n.name != "observer-0"), "validator {i} still lists the observer");
        assert_eq!(r.revocations.len(), 1);
        assert_eq!(r.revocations[0].member, "regulator");
    }
    // Submitting it again is a replay against an old version.
    let err = node.fails(&["governance", "submit", "revoke.json", "--rpc", &rpc]);
    assert!(err.contains("already on the chain") || err.contains("registry version 0"), "{err}");

    let log = chain.cluster.client(2).governance_log().await.unwrap();
    let actions: Vec<(&str, Vec<String>)> = log.iter().map(|g| (g.action.as_str(), g.approvers.clone())).collect();
    assert_eq!(
        actions,
        vec![
            ("list-asset", vec!["bank-a".into(), "bank-b".into(), "bank-c".into(), "regulator".into()]),
            ("revoke-certificate", vec!["regulator".into()]),
        ]
    );
}
