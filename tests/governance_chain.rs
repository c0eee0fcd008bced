//! Governance end to end, with real node processes and the operator's own commands (`ctchain-node governance`):
//! four banks' validators and the regulator's observer, founded by the testnet's genesis consortium.
//!
//! * `registry` prints the founding members and nodes;
//! * a new asset is proposed, approved by three members and refused at submission (four of five are needed), an
//!   approval signed with another member's admin key is refused by name, and with the fourth real approval the
//!   listing commits on every validator; the asset is then issued and its supply counted;
//! * the regulator revokes its own observer's certificate alone (the issuing member may always revoke its own):
//!   the registry drops the node and lists the revocation on every validator, every validator disconnects the
//!   observer at once and refuses its redials, and the validators go on committing;
//! * `governance_log` lists both actions with their approvers.

mod common;

use std::time::Duration;

use common::{admin_key, govern, wait_registry, Chain, Tool, COMMIT, MEMBERS_DIR};
use ctchain_crypto::{AssetId, SigningKey, TransactionBuilder, WalletKeys};
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet};
use ctchain_rpc::ChainApiClient;
use rand_core::OsRng;

const BASE: u16 = 18_000;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_an_asset_and_revoke_a_certificate_through_governance() {
    let chain = Chain::start(4, 1, BASE).await;
    let node = Tool::new("ctchain-node", chain.dir.path());
    let rpc = format!("http://127.0.0.1:{}", BASE + 100);

    let registry = node.ok(&["governance", "registry", "--rpc", &rpc]);
    for line in ["member bank-a (bank)", "member regulator (regulator)", "node observer-0 (observer)", "asset CNY"] {
        assert!(registry.contains(line), "{line:?} missing from:\n{registry}");
    }
    assert!(registry.contains("current epoch 0 from sequence number 1: 4 validators"), "{registry}");

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
    let wallet_address = alice.address();
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
    // Every validator cut the observer off at once and refuses it from then on; the observer is left alone.
    let observer_name = "regulator/observer-0";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for i in 0..4 {
        loop {
            let s = chain.cluster.client(i).chain_status().await.unwrap();
            if s.peers.iter().all(|p| p.name.as_deref() != Some(observer_name)) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "validator {i} still connected to the revoked observer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    loop {
        let s = chain.cluster.client(4).chain_status().await.unwrap();
        if s.peers.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the revoked observer still has peers: {:?}", s.peers);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // It keeps redialling (1 s, then backing off) and is refused at the handshake.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut refused = 0;
        for i in 0..4 {
            refused += chain.cluster.client(i).chain_status().await.unwrap().refused_connections;
        }
        if refused > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no validator refused the revoked observer's redial");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The four validators go on committing.
    let mut b = TransactionBuilder::new(common::CHAIN_ID, chain.cluster.testnet.genesis.audit_keys.clone());
    b.issue(&issuer, eur, 5).pay(wallet_address, eur, 5, "after the revocation");
    submit_and_wait(&chain.cluster.client(3), &b.build(&mut OsRng).unwrap(), COMMIT).await.expect("commits");

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

    // bank-d's admin key is replaced (lost, say) by four members; its old key approves nothing from then on.
    node.ok(&["member", "new", "--name", "bank-d", "--dir", "bank-d-new"]);
    let approvers = [
        ("bank-a", admin_key("bank-a")),
        ("bank-b", admin_key("bank-b")),
        ("bank-c", admin_key("bank-c")),
        ("regulator", admin_key("regulator")),
    ];
    let admins = ["set-member-admins", "--member", "bank-d", "--admin-key", "bank-d-new/admin.key"];
    govern(&chain, &node, 0, &admins, &approvers, 3).await;
    // The policy: asset listings from now on by half the members, the rest unchanged.
    let policy = ["set-policy", "--assets", "1/2"];
    node.ok(&["governance", "propose", "--rpc", &rpc, "--out", "policy.json", policy[0], policy[1], policy[2]]);
    node.ok(&["governance", "approve", "policy.json", "--member", "bank-d", "--admin-key", &admin_key("bank-d")]);
    let err = node.fails(&["governance", "submit", "policy.json", "--rpc", &rpc]);
    assert!(err.contains("the approval of bank-d is not signed by one of its admin keys"), "the old key: {err}");
    let fresh = [
        ("bank-a", admin_key("bank-a")),
        ("bank-b", admin_key("bank-b")),
        ("bank-c", admin_key("bank-c")),
        ("bank-d", "bank-d-new/admin.key".to_owned()),
    ];
    govern(&chain, &node, 0, &policy, &fresh, 4).await;
    let r = wait_registry(&chain, 3, |r| r.version == 4).await;
    assert!(r.policy.contains(&("assets".into(), "1/2".into())), "{:?}", r.policy);
    assert!(r.policy.contains(&("membership".into(), "2/3".into())), "{:?}", r.policy);
    let unchanged =
        node.fails(&["governance", "propose", "--rpc", &rpc, "--out", "same.json", "set-policy", "--assets", "1/2"]);
    assert!(unchanged.contains("the policy would not change"), "{unchanged}");

    // Certificates the registry refuses, each by name, leaving it as it was: one from a CA that is no member's,
    // one past its validity, and one whose serial its member revoked.
    let banks = [key_of("bank-a"), key_of("bank-b"), key_of("bank-c"), ("bank-d", "bank-d-new/admin.key".to_owned())];
    let certify = |member: &str, member_dir: &str, serial: &str, days: &str| {
        let home = format!("{member}-extra-{serial}");
        node.ok(&["init", "--home", &home, "--name", "extra", "--member", member, "--chain-id", common::CHAIN_ID]);
        let pem = format!("{home}.pem");
        let csr = format!("{home}/node.csr");
        node.ok(&[
            "member",
            "certify",
            "--dir",
            member_dir,
            "--request",
            &csr,
            "--out",
            &pem,
            "--serial",
            serial,
            "--days",
            days,
        ]);
        pem
    };
    node.ok(&["member", "new", "--name", "bank-x", "--dir", "bank-x"]);
    let stranger = certify("bank-x", "bank-x", "1", "30");
    let expired = certify("bank-a", &format!("{MEMBERS_DIR}/bank-a"), "900", "0");
    let revoked_serial = u64::from_str_radix(&r.revocations[0].serial, 16).expect("a serial in hex");
    let reused = certify("regulator", &format!("{MEMBERS_DIR}/regulator"), &revoked_serial.to_string(), "30");
    // A second passes: the expired one's validity ended when it was issued.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for (pem, reason) in [
        (&stranger, "which is no member CA"),
        (&expired, "expired at"),
        (&reused, &format!("revoked: serial {} of regulator", r.revocations[0].serial) as &str),
    ] {
        let err = refused(&chain, &node, &["add-node", "--certificate", pem], &banks, 4).await;
        assert!(err.contains("node certificate refused") && err.contains(reason), "{pem}: {err}");
    }
}

fn key_of(member: &'static str) -> (&'static str, String) {
    (member, admin_key(member))
}

/// Proposes `args` against validator 0, has `approvers` approve and submits; the chain must refuse it, at the
/// proposal or at submission. Returns the reason, once validator 0's registry is shown still at `version`.
async fn refused(chain: &Chain, node: &Tool, args: &[&str], approvers: &[(&str, String)], version: u64) -> String {
    let rpc = chain.cluster.testnet.rpc[0].clone();
    let file = format!(
        "refused-{}.json",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let mut propose = vec!["governance", "propose", "--rpc", &rpc, "--out", &file];
    propose.extend_from_slice(args);
    let out = node.run(&propose);
    let err = if out.status.success() {
        for (member, key) in approvers {
            node.ok(&["governance", "approve", &file, "--member", member, "--admin-key", key]);
        }
        node.fails(&["governance", "submit", &file, "--rpc", &rpc])
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let r = chain.cluster.client(0).governance_registry().await.unwrap();
    assert_eq!(r.version, version, "a refused proposal changes nothing");
    err
}

/// Kills the node processes it holds when dropped (a failing test leaves none behind).
struct Processes(Vec<std::process::Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A real deployment's set-up, command by command as the operators of four banks run it (`docs/deployment.md`):
/// each bank creates its member CA and admin key (`member new`) and a validator home (`init`, which writes the
/// node's certificate request), its CA certifies its node (`member certify`), one of them assembles the genesis
/// from everyone's public material (`genesis assemble`), each node gets the genesis and its peers' addresses, and
/// the chain runs: it commits, and its registry is the consortium that was assembled. A certificate from a CA that
/// is not among the members is refused by the assembly, by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consortium_is_set_up_from_the_command_line_and_its_chain_commits() {
    let base = BASE + 500;
    let dir = tempfile::tempdir().unwrap();
    let node = Tool::new("ctchain-node", dir.path());
    let banks = ["bank-a", "bank-b", "bank-c", "bank-d"];
    let mut network_keys = Vec::new();
    for (i, bank) in banks.iter().enumerate() {
        node.ok(&["member", "new", "--name", bank, "--dir", &format!("{bank}/member")]);
        let out = node.ok(&[
            "init",
            "--home",
            &format!("{bank}/node"),
            "--name",
            "validator",
            "--member",
            bank,
            "--chain-id",
            "ctchain-deploy-1",
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{}", base + i as u16),
            "--rpc",
            &format!("127.0.0.1:{}", base + 100 + i as u16),
        ]);
        let key = out.lines().find_map(|l| l.strip_prefix("network_key = ")).expect("init prints the network key");
        network_keys.push(key.trim_matches('"').to_owned());
        let certified = node.ok(&[
            "member",
            "certify",
            "--dir",
            &format!("{bank}/member"),
            "--request",
            &format!("{bank}/node/node.csr"),
            "--out",
            &format!("{bank}/node.pem"),
            "--serial",
            "1",
        ]);
        assert!(certified.contains(&format!("certified {bank}/validator (validator)")), "{certified}");
    }
    // bank-a's CA cannot certify bank-b's request.
    let err = node.fails(&[
        "member",
        "certify",
        "--dir",
        "bank-a/member",
        "--request",
        "bank-b/node/node.csr",
        "--out",
        "stolen.pem",
        "--serial",
        "2",
    ]);
    assert!(err.contains("the request is for member \"bank-b\""), "{err}");
    node.ok(&["member", "new", "--name", "regulator", "--role", "regulator", "--dir", "regulator/member"]);
    node.ok(&["member", "new", "--name", "outsider", "--dir", "outsider/member"]);
    node.ok(&[
        "init",
        "--home",
        "outsider/node",
        "--name",
        "validator",
        "--member",
        "outsider",
        "--chain-id",
        "ctchain-deploy-1",
    ]);
    node.ok(&[
        "member",
        "certify",
        "--dir",
        "outsider/member",
        "--request",
        "outsider/node/node.csr",
        "--out",
        "outsider.pem",
        "--serial",
        "1",
    ]);

    let audit_key = ctchain_crypto::AuditSecretKey::random(&mut OsRng).public();
    let issuer = SigningKey::random(&mut OsRng);
    let mut assemble: Vec<String> =
        ["genesis", "assemble", "--chain-id", "ctchain-deploy-1"].map(String::from).to_vec();
    for m in banks.iter().chain(&["regulator"]) {
        assemble.extend(["--member".into(), format!("{m}/member/member.toml")]);
    }
    for bank in banks {
        assemble.extend(["--node".into(), format!("{bank}/node.pem")]);
    }
    assemble.extend(["--audit-key".into(), hex::encode(audit_key.0.as_bytes())]);
    assemble.extend(["--asset".into(), format!("CNY:2:{}", hex::encode(issuer.public().as_bytes()))]);
    let mut with_outsider = assemble.clone();
    with_outsider.extend(["--node".into(), "outsider.pem".into(), "--out".into(), "bad-genesis.toml".into()]);
    let err = node.fails(&with_outsider.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("outsider.pem") && err.contains("which is no member CA"), "{err}");
    assemble.extend(["--out".into(), "genesis.toml".into()]);
    let out = node.ok(&assemble.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("5 members, 4 nodes (4 validators), 1 audit keys, 1 assets"), "{out}");

    let mut processes = Processes(Vec::new());
    for (i, bank) in banks.iter().enumerate() {
        let home = dir.path().join(bank).join("node");
        std::fs::copy(dir.path().join("genesis.toml"), home.join("genesis.toml")).unwrap();
        let mut config = std::fs::read_to_string(home.join("node.toml")).unwrap();
        for (j, key) in network_keys.iter().enumerate().filter(|(j, _)| *j != i) {
            config.push_str(&format!(
                "\n[[network.peers]]\nname = \"{}\"\nnetwork_key = \"{key}\"\naddress = \"/ip4/127.0.0.1/tcp/{}\"\n",
                banks[j],
                base + j as u16
            ));
        }
        std::fs::write(home.join("node.toml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join(format!("{bank}.log"))).unwrap();
        processes.0.push(
            std::process::Command::new(&node.bin)
                .args(["start", "--exit-with-parent", "--home"])
                .arg(&home)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }
    let client =
        jsonrpsee::http_client::HttpClientBuilder::default().build(format!("http://127.0.0.1:{}", base + 100)).unwrap();
    let alice = WalletKeys::random(&mut OsRng);
    let cny = AssetId::from_label("CNY");
    let mut b = TransactionBuilder::new("ctchain-deploy-1", vec![audit_key]);
    b.issue(&issuer, cny, 1_000).pay(alice.address(), cny, 1_000, "the first yuan");
    let tx = b.build(&mut OsRng).unwrap();
    let deadline = tokio::time::Instant::now() + COMMIT;
    // The RPC comes up once the node runs; submit until it does, then wait for the commit.
    loop {
        if client.chain_status().await.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the assembled chain's first node never served RPC");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    submit_and_wait(&client, &tx, COMMIT).await.expect("the assembled chain commits");
    let registry = client.governance_registry().await.unwrap();
    let members: Vec<&str> = registry.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(members, ["bank-a", "bank-b", "bank-c", "bank-d", "regulator"]);
    let validators: Vec<&str> = registry.epoch.validators.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(validators, ["bank-a/validator", "bank-b/validator", "bank-c/validator", "bank-d/validator"]);
    drop(processes);
}

/// Waits until a node's status satisfies `done`.
async fn wait_status(
    client: &jsonrpsee::http_client::HttpClient,
    what: &str,
    done: impl Fn(&ctchain_rpc::ChainStatus) -> bool,
) -> ctchain_rpc::ChainStatus {
    let deadline = tokio::time::Instant::now() + 2 * COMMIT;
    loop {
        if let Ok(s) = client.chain_status().await {
            if done(&s) {
                return s;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what} never happened: {s:?}");
        } else {
            assert!(tokio::time::Instant::now() < deadline, "{what}: the node never served RPC");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The validator indices that signed the certificate of the block at `height`.
async fn signers_of(client: &jsonrpsee::http_client::HttpClient, height: u64) -> Vec<u32> {
    use ctchain_codec::Decode;
    let block = client.chain_get_block(ctchain_rpc::BlockRef::Height(height)).await.unwrap().expect("the block");
    let cert = hex::decode(block.certificate.expect("a committed block has its certificate")).unwrap();
    let cert = ctchain_pbft::CommitCertificate::from_bytes(&cert).unwrap();
    assert_eq!(cert.seq, block.header.seq, "the certificate names the header's sequence number");
    cert.signatures.iter().map(|(i, _)| *i).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_bank_joins_with_a_validator_whose_votes_count_and_a_removed_validator_is_no_longer_needed() {
    let base = BASE + 700;
    let (dir, mut cluster) = Chain::create(4, 1, base);
    // Heartbeats every 200 ms: an epoch begins about 48 sequence numbers after the change that schedules it.
    for i in 0..cluster.len() {
        cluster.edit_config(i, |c| c.consensus.idle_block_ms = 200).unwrap();
    }
    let mut chain = Chain::launch(dir, cluster).await;
    let node = Tool::new("ctchain-node", chain.dir.path());
    let key = |m: &'static str| (m, admin_key(m));
    let bank_e_key = "bank-e/member/admin.key".to_owned();

    // bank-e sets itself up as any member does: its CA and admin key, its validator's keys and certificate.
    node.ok(&["member", "new", "--name", "bank-e", "--dir", "bank-e/member"]);
    let (p2p, rpc_port) = (base + 50, base + 150);
    node.ok(&[
        "init",
        "--home",
        "bank-e/node",
        "--name",
        "validator",
        "--member",
        "bank-e",
        "--chain-id",
        common::CHAIN_ID,
        "--listen",
        &format!("/ip4/127.0.0.1/tcp/{p2p}"),
        "--rpc",
        &format!("127.0.0.1:{rpc_port}"),
    ]);
    node.ok(&[
        "member",
        "certify",
        "--dir",
        "bank-e/member",
        "--request",
        "bank-e/node/node.csr",
        "--out",
        "bank-e/node.pem",
        "--serial",
        "1",
    ]);

    // Admitted by four of the five members, its validator registered by four of six.
    let admit = [
        "admit-member",
        "--name",
        "bank-e",
        "--ca-certificate",
        "bank-e/member/ca.pem",
        "--admin-key",
        "bank-e/member/admin.key",
    ];
    govern(&chain, &node, 0, &admit, &[key("bank-a"), key("bank-b"), key("bank-c"), key("regulator")], 1).await;
    let add = ["add-node", "--certificate", "bank-e/node.pem"];
    govern(&chain, &node, 0, &add, &[key("bank-a"), key("bank-b"), key("bank-c"), key("bank-d")], 2).await;
    let registry = chain.cluster.client(0).governance_registry().await.unwrap();
    let next = registry.next_epoch.clone().expect("the validator joins the next epoch");
    assert_eq!((next.number, next.validators.len()), (1, 5));
    assert_eq!(next.validators[4].name, "bank-e/validator");
    assert_eq!(registry.epoch.validators.len(), 4, "the current epoch keeps its validators");

    // Its node starts from the genesis and follows the chain until its epoch begins.
    let bank_e_index = chain.cluster.join(chain.dir.path().join("bank-e/node"), &[0, 1, 2, 3]).unwrap();
    chain.cluster.edit_config(bank_e_index, |c| c.consensus.idle_block_ms = 200).unwrap();
    chain.cluster.start(bank_e_index).unwrap();
    let bank_e = chain.cluster.client(bank_e_index);
    let status = wait_status(&bank_e, "bank-e's validator entering epoch 1", |s| s.epoch >= 1).await;
    assert_eq!(status.validator_index, Some(4), "{status:?}");
    for i in 0..4 {
        let s = wait_status(&chain.cluster.client(i), "epoch 1 at every validator", |s| s.epoch >= 1).await;
        assert_eq!(s.validator_index, Some(i as u32));
    }

    // Five validators need four votes: with bank-d's validator down, the chain commits only with bank-e's.
    chain.cluster.kill(3).unwrap();
    let (cny, issuer) = chain.cny();
    let alice = WalletKeys::random(&mut OsRng);
    let mut b = chain.builder();
    b.issue(&issuer, cny, 500).pay(alice.address(), cny, 500, "voted by five banks");
    let client = chain.cluster.client(0);
    let (_, height) = submit_and_wait(&client, &b.build(&mut OsRng).unwrap(), COMMIT).await.expect("commits");
    let signers = signers_of(&client, height).await;
    assert!(signers.contains(&4), "bank-e's validator signed the commit: {signers:?}");
    assert!(!signers.contains(&3), "bank-d's validator is down: {signers:?}");
    chain.cluster.start(3).unwrap();

    // bank-a's validator is removed by four of six members (not bank-a): it serves to the end of epoch 1, and
    // epoch 2 runs without it.
    let remove = ["remove-node", "--member", "bank-a", "--node", "validator-0"];
    let approvers = [key("bank-b"), key("bank-c"), key("bank-d"), ("bank-e", bank_e_key.clone())];
    govern(&chain, &node, 1, &remove, &approvers, 3).await;
    let status = wait_status(&bank_e, "bank-e entering epoch 2", |s| s.epoch >= 2).await;
    assert_eq!(status.validator_index, Some(3), "bank-e's validator is index 3 of b, c, d, e: {status:?}");
    let leaving = wait_status(&chain.cluster.client(0), "bank-a's node entering epoch 2", |s| s.epoch >= 2).await;
    assert_eq!(leaving.validator_index, None, "bank-a's node is no validator of epoch 2");

    // With bank-a's node down the chain goes on: four validators, and bank-d back among them.
    chain.cluster.kill(0).unwrap();
    let mut b = chain.builder();
    b.issue(&issuer, cny, 700).pay(alice.address(), cny, 700, "without bank-a");
    let client = chain.cluster.client(1);
    let (_, height) = submit_and_wait(&client, &b.build(&mut OsRng).unwrap(), COMMIT).await.expect("commits");
    let signers = signers_of(&client, height).await;
    assert!(signers.len() >= 3 && signers.iter().all(|i| *i < 4), "{signers:?}");
    // The registry after that block (the first of epoch 2): the new validators, bank-a's node gone with epoch 1.
    let registry = client.governance_registry().await.unwrap();
    let validators: Vec<&str> = registry.epoch.validators.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(validators, ["bank-b/validator-1", "bank-c/validator-2", "bank-d/validator-3", "bank-e/validator"]);
    assert_eq!(registry.epoch.number, 2);
    // Every epoch with where it began and which block scheduled it.
    let epochs = client.governance_epochs().await.unwrap();
    let sizes: Vec<(u64, usize)> = epochs.iter().map(|e| (e.number, e.validators.len())).collect();
    assert_eq!(sizes, [(0, 4), (1, 5), (2, 4)]);
    assert!(epochs.windows(2).all(|w| w[0].first_seq < w[1].decided_seq && w[1].decided_seq < w[1].first_seq));
    assert!(registry.nodes.iter().all(|n| n.name != "validator-0"), "gone from the registry with its epoch");
    let s = bank_e.chain_status().await.unwrap();
    assert!(s.height >= height - 1, "bank-e's validator follows: {s:?}");

    // Revoking one of epoch 2's four validators would leave three: refused by name, and nothing changes (the
    // revocation of a validator with real processes is in `tests/snapshots.rs`, with six validators).
    let rpc = chain.cluster.testnet.rpc[1].clone();
    let revoke = ["revoke-certificate", "--member", "bank-c", "--node", "validator-2"];
    let mut propose = vec!["governance", "propose", "--rpc", &rpc, "--out", "revoke-c.json"];
    propose.extend_from_slice(&revoke);
    node.ok(&propose);
    node.ok(&["governance", "approve", "revoke-c.json", "--member", "bank-c", "--admin-key", &admin_key("bank-c")]);
    let err = node.fails(&["governance", "submit", "revoke-c.json", "--rpc", &rpc]);
    assert!(err.contains("the next epoch would have 3 validators; at least 4 are needed"), "{err}");
    assert_eq!(client.governance_registry().await.unwrap().version, 3, "nothing changed");

    // A light client that trusts only the genesis follows the validator changes through the governance log,
    // and checks a block of every epoch; a genesis-only check refuses the blocks after the first change.
    let genesis = chain.cluster.testnet.genesis.clone();
    let light =
        ctchain_light::LightClient::connect(client.clone(), ctchain_light::GenesisTrust::Pinned(genesis.hash()))
            .await
            .expect("the light client follows the epochs");
    assert_eq!(light.epochs().await.unwrap().len(), 3);
    let first = light.block(1).await.expect("a block of epoch 0");
    assert!(
        ctchain_ledger::finality::verify_block_certificate(&genesis, &first.block, &first.certificate_bytes).is_ok()
    );
    let last = light.block(height).await.expect("the first block of epoch 2, certified by its validators");
    assert!(
        ctchain_ledger::finality::verify_block_certificate(&genesis, &last.block, &last.certificate_bytes).is_err(),
        "the genesis validators alone do not certify it"
    );
}

/// The regulator rotates its audit key through governance: from the epoch boundary on, wallets build for the new
/// key (a transaction still made for the old one is refused, by name), and the regulator's tools decrypt each
/// output with the key of its epoch — the old key the outputs before, the new key those after — reporting the
/// others as encrypted to another epoch's key instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_key_is_rotated_and_each_epoch_is_decrypted_with_its_own_key() {
    // Its own range: the tests above hold 18000–18904.
    let base = 20_000;
    let (dir, mut cluster) = Chain::create(4, 1, base);
    for i in 0..cluster.len() {
        cluster.edit_config(i, |c| c.consensus.idle_block_ms = 200).unwrap();
    }
    let chain = Chain::launch(dir, cluster).await;
    let node = Tool::new("ctchain-node", chain.dir.path());
    let key = |m: &'static str| (m, admin_key(m));
    let observer = chain.cluster.testnet.rpc[4].clone();
    let mut audit = Tool::new("ctchain-audit", chain.dir.path());
    std::fs::write(chain.dir.path().join("regulator-password"), "regulator pw\n").unwrap();
    audit.leading = ["--insecure-fast-kdf", "--password-file", "regulator-password", "--node", &observer]
        .map(String::from)
        .to_vec();
    let secrets = chain.cluster.dir.join("testnet-secrets.json");
    audit.ok(&["import", "--chain-id", common::CHAIN_ID, "--secrets", secrets.to_str().unwrap(), "--out", "old.json"]);

    // Wallets made before the rotation.
    let w = common::Wallets::new(&chain, 2);
    let issuer_file = chain.cluster.dir.join("bank-a-CNY.issuer.json");
    w.json("carol.json", &["new", "--insecure-fast-kdf"]);
    w.json("dave.json", &["new", "--insecure-fast-kdf"]);
    let dave = w.json("dave.json", &["address"])["address"].as_str().unwrap().to_owned();

    // Before the rotation: a payment made for the genesis audit key.
    let (cny, issuer) = chain.cny();
    let alice = WalletKeys::random(&mut OsRng);
    let mut b = chain.builder();
    b.issue(&issuer, cny, 4_100).pay(alice.address(), cny, 4_100, "before the rotation");
    let before = b.build(&mut OsRng).unwrap();
    submit_and_wait(&chain.client(0), &before, COMMIT).await.expect("commits");

    // A live watch with the old key runs across the rotation.
    std::fs::write(chain.dir.path().join("rules.toml"), "").unwrap();
    let ws = observer.replace("http://", "ws://");
    let watch_log = chain.dir.path().join("watch.log");
    let watch_args = ["watch", "--ws", &ws, "--key", "old.json", "--db", "db-watch", "--rules", "rules.toml"];
    let mut watcher = Processes(vec![audit.spawn(&watch_args, &watch_log)]);

    // The regulator's new key, rotated in by the regulator and three banks.
    let made = audit.ok(&["keygen", "--chain-id", common::CHAIN_ID, "--out", "new.json", "--rotating", "old.json"]);
    let new_hex = made
        .lines()
        .find_map(|l| l.strip_prefix("audit public key (for the genesis audit_keys): "))
        .expect("keygen prints the public key")
        .trim()
        .to_owned();
    let rotate = ["rotate-audit-key", "--index", "0", "--key", &new_hex];
    govern(&chain, &node, 0, &rotate, &[key("bank-a"), key("bank-b"), key("bank-c"), key("regulator")], 1).await;
    let next = chain.client(0).governance_registry().await.unwrap().next_epoch.expect("the rotation is scheduled");
    assert_eq!((next.number, next.audit_keys.clone()), (1, vec![new_hex.clone()]));
    // Heartbeats carry consensus to the new epoch's first sequence number; the door admits by it from then on.
    wait_status(&chain.client(1), "the new epoch's first sequence number", |s| s.consensus_seq >= next.first_seq).await;

    // A transaction still made for the old key is refused by name; one for the new key commits.
    let mut b = chain.builder();
    b.issue(&issuer, cny, 1).pay(alice.address(), cny, 1, "for the old key");
    let stale = b.build(&mut OsRng).unwrap();
    let refused = submit_and_wait(&chain.client(1), &stale, COMMIT).await.expect_err("refused");
    assert!(refused.to_string().contains("audit"), "{refused}");
    let new_bytes: [u8; 32] = hex::decode(&new_hex).unwrap().try_into().unwrap();
    let new_key = ctchain_crypto::AuditPublicKey(ctchain_crypto::Point::from_bytes(&new_bytes).unwrap());
    let mut b = TransactionBuilder::new(common::CHAIN_ID, vec![new_key]);
    b.issue(&issuer, cny, 5_200).pay(alice.address(), cny, 5_200, "after the rotation");
    let after = b.build(&mut OsRng).unwrap();
    submit_and_wait(&chain.client(1), &after, COMMIT).await.expect("commits");
    let registry = wait_registry(&chain, 1, |r| r.epoch.number == 1).await;
    assert_eq!(registry.epoch.audit_keys, [new_hex.clone()]);
    let status = chain.client(1).chain_status().await.unwrap();
    assert_eq!(status.epoch, 0, "the same validators: consensus keeps its epoch");
    let (before_id, after_id) = (before.id().to_string(), after.id().to_string());
    // The wallets follow the chain's governance: they build for the new key and their payments commit.
    w.json("carol.json", &["issue", "--issuer-key", issuer_file.to_str().unwrap(), "--asset", "CNY", "--amount", "63"]);
    w.json("carol.json", &["send", "--to", &dave, "--asset", "CNY", "--amount", "6.30", "--memo", "after"]);
    assert_eq!(w.confirmed("dave.json", "CNY"), "6.30");

    // Each key decrypts the outputs of its own epoch and names the others.
    let old = audit.ok(&["decrypt", &before_id, "--key", "old.json"]);
    assert!(old.contains("41.00 CNY"), "{old}");
    let err = audit.fails(&["decrypt", &after_id, "--key", "old.json"]);
    assert!(err.contains("another epoch"), "{err}");
    let new = audit.ok(&["decrypt", &after_id, "--key", "new.json"]);
    assert!(new.contains("52.00 CNY"), "{new}");
    chain.wait_caught_up(4).await;
    let tip = chain.client(4).chain_status().await.unwrap().height.to_string();
    let scanned_old = audit.ok(&["scan", "--from", "1", "--to", &tip, "--key", "old.json", "--db", "db-old"]);
    let scanned_new = audit.ok(&["scan", "--from", "1", "--to", &tip, "--key", "new.json", "--db", "db-new"]);
    let shown_old = audit.ok(&["show", "--db", "db-old"]);
    let shown_new = audit.ok(&["show", "--db", "db-new"]);
    assert!(shown_old.contains("41.00") && !shown_old.contains("52.00"), "{shown_old}");
    assert!(shown_new.contains("52.00") && !shown_new.contains("41.00"), "{shown_new}");
    assert!(shown_new.contains("63.00") && shown_new.contains("6.30"), "the wallets' payments: {shown_new}");
    assert!(
        scanned_old.contains(&format!(
            "tx {after_id}: 1 confidential outputs NOT DECRYPTED: encrypted to the audit key of another epoch"
        )),
        "{scanned_old}"
    );
    assert!(scanned_new.contains(&format!("tx {before_id}: 1 confidential outputs NOT DECRYPTED")), "{scanned_new}");
    // The watch learnt the rotation from the chain as it went up: it reports the new epoch's outputs as made for
    // another epoch's key, and goes on.
    let deadline = std::time::Instant::now() + COMMIT;
    let watched = loop {
        let text = std::fs::read_to_string(&watch_log).unwrap_or_default();
        if text.contains(&after_id) || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(watcher.0[0].try_wait().unwrap().is_none(), "the watch is still running:\n{watched}");
    assert!(watched.contains("41.00"), "the old epoch's payment decrypted: {watched}");
    assert!(
        watched.contains(&format!(
            "tx {after_id}: 1 confidential outputs NOT DECRYPTED: encrypted to the audit key of another epoch"
        )),
        "{watched}"
    );
    drop(watcher);
    // A key of no epoch at all is refused before anything is decrypted.
    audit.ok(&["keygen", "--chain-id", common::CHAIN_ID, "--out", "stranger.json"]);
    let err = audit.fails(&["scan", "--from", "1", "--to", &tip, "--key", "stranger.json", "--db", "db-stranger"]);
    assert!(err.contains("audit key 0"), "{err}");

    // Evidence checked offline follows the epochs as well: each bundle verifies with the key of its output's epoch
    // (the bundle carries the governance block that rotated it).
    let genesis_hash = chain.cluster.testnet.genesis.hash().to_string();
    for (id, key, file, amount, epoch) in
        [(&after_id, "new.json", "after.ctev", 5_200, 1), (&before_id, "old.json", "before.ctev", 4_100, 0)]
    {
        audit.ok(&["evidence", id, "--key", key, "--out", file]);
        let verified = audit.ok(&["verify-evidence", file, "--genesis-hash", &genesis_hash]);
        assert!(verified.contains(&format!("final under the certificate of epoch {epoch}'s validators")), "{verified}");
        assert!(verified.contains(&format!("amount {amount} (base units, proven)")), "{verified}");
    }
    let err = audit.fails(&["evidence", &after_id, "--key", "old.json", "--out", "wrong.ctev"]);
    assert!(err.contains("audit key 0") || err.contains("another epoch"), "{err}");
}

/// Consensus parameters changed by governance apply from the epoch boundary on, at every node and without a
/// restart: blocks hold no more transactions than the new limit, and every validator's core runs with the new view
/// timeout (it says so in its log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_parameters_change_at_the_epoch_boundary_without_a_restart() {
    // Its own range, above the rotation test's.
    let base = 20_400;
    let (dir, mut cluster) = Chain::create(4, 0, base);
    for i in 0..cluster.len() {
        cluster.edit_config(i, |c| c.consensus.idle_block_ms = 200).unwrap();
    }
    let chain = Chain::launch(dir, cluster).await;
    let node = Tool::new("ctchain-node", chain.dir.path());
    let key = |m: &'static str| (m, admin_key(m));

    let params = ["set-consensus-params", "--max-block-txs", "2", "--view-timeout-ms", "3500"];
    govern(&chain, &node, 0, &params, &[key("bank-a"), key("bank-b"), key("bank-c"), key("bank-d")], 1).await;
    let next = chain.client(0).governance_registry().await.unwrap().next_epoch.expect("the change is scheduled");
    wait_status(&chain.client(0), "the new epoch's first sequence number", |s| s.consensus_seq >= next.first_seq).await;

    // Six issuances submitted at once take at least three blocks of at most two.
    let (cny, issuer) = chain.cny();
    let mut submitted = Vec::new();
    for i in 0..6u64 {
        let mut b = chain.builder();
        b.issue(&issuer, cny, 100 + i).pay(WalletKeys::random(&mut OsRng).address(), cny, 100 + i, "limited");
        let tx = b.build(&mut OsRng).unwrap();
        let client = chain.client(i as usize % 4);
        submitted.push(tokio::spawn(async move { submit_and_wait(&client, &tx, COMMIT).await }));
    }
    let mut heights = std::collections::BTreeSet::new();
    for task in submitted {
        heights.insert(task.await.unwrap().expect("commits").1);
    }
    assert!(heights.len() >= 3, "six transactions in blocks {heights:?}");
    let client = chain.client(1);
    for h in &heights {
        let block = client.chain_get_block(ctchain_rpc::BlockRef::Height(*h)).await.unwrap().unwrap();
        assert!(block.txs.len() <= 2, "block {h} holds {} transactions", block.txs.len());
    }
    let registry = client.governance_registry().await.unwrap();
    assert_eq!(registry.epoch.number, 1);
    for i in 0..4 {
        let log = std::fs::read_to_string(chain.cluster.log_path(i)).unwrap();
        let line = log.lines().find(|l| l.contains("the consensus timing changes with the epoch"));
        assert!(line.is_some_and(|l| l.contains("3500")), "validator {i} never ran with the new timeout");
    }
}
