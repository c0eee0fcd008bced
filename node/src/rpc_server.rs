//! The JSON-RPC server: `ctchain_rpc::ChainApiServer` over the shared ledger and mempool.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use ctchain_codec::{Encode, Hash32};
use ctchain_crypto::{AssetId, OutputId, TxId};
use ctchain_governance::{Epoch, Registry};
use ctchain_ledger::{AssetInfo, LedgerError, LedgerTx, TxKind, TxTag, ValidatorInfo};
use ctchain_mempool::AdmitError;
use ctchain_rpc::{
    codes, AssetJson, AuditAccessJson, BlockJson, BlockRef, BlockTxJson, ChainApiServer, ChainStatus, EpochJson,
    GenesisJson, GovernanceJson, MemberJson, NodeJson, NoteJson, NotesPage, NullifierJson, OutputJson,
    OutputRecordJson, OutputsPage, PeerJson, RegistryJson, RevocationJson, RpcResult, ShieldedGenesisJson,
    ShieldedStatusJson, SubmitResult, SupplyJson, TxStatus, ValidatorJson, MAX_OUTPUTS_RANGE,
};
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::server::{Methods, PendingSubscriptionSink, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::node::{header_json, Event, Shared};

/// The RPC implementation.
pub struct Rpc {
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Event>,
}

fn error(code: i32, message: impl Into<String>, check: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), Some(json!({ "check": check })))
}

fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    error(codes::INVALID_PARAMS, message, "params")
}

fn node_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error(codes::NODE_ERROR, format!("node error: {e}"), "storage")
}

/// A 32-byte id or hash parameter (hex, surrounding spaces allowed).
pub fn parse_hash(what: &str, s: &str) -> RpcResult<Hash32> {
    Hash32::from_hex(s.trim()).ok_or_else(|| invalid_params(format!("{what} must be 32 bytes (64 hex digits)")))
}

/// A submission parameter (hex of a transaction or an audit-access record) as the tagged ledger bytes admission
/// takes.
pub fn tagged_submission(tag: TxTag, hex_param: &str) -> RpcResult<Vec<u8>> {
    let what = match tag {
        TxTag::Confidential => "transaction",
        TxTag::AuditAccess => "audit-access record",
        TxTag::Shielded => "shielded transaction",
        TxTag::Governance => "governance transaction",
    };
    let bytes =
        hex::decode(hex_param.trim()).map_err(|_| error(codes::TX_ENCODING, format!("{what} is not hex"), "hex"))?;
    Ok(tag.tagged(&bytes))
}

/// Maps an admission failure to its JSON-RPC error; `data.check` names the failed check.
pub fn admit_error(e: &AdmitError) -> ErrorObjectOwned {
    let message = e.to_string();
    match e {
        AdmitError::TooLarge { .. } => error(codes::TX_TOO_LARGE, message, "size"),
        AdmitError::Encoding(_) => error(codes::TX_ENCODING, message, "encoding"),
        AdmitError::Invalid(v) => error(codes::TX_INVALID, message, &check_name(&format!("{v:?}"))),
        AdmitError::Duplicate(_) => error(codes::TX_DUPLICATE, message, "duplicate"),
        AdmitError::ConflictsWithPending { .. } => error(codes::TX_CONFLICT, message, "pending_conflict"),
        AdmitError::NullifierConflictsWithPending { .. } => {
            error(codes::TX_CONFLICT, message, "pending_nullifier_conflict")
        }
        AdmitError::Rejected(r) => error(codes::TX_REJECTED, message, &check_name(&format!("{r:?}"))),
        AdmitError::Full { .. } => error(codes::MEMPOOL_FULL, message, "mempool_full"),
        AdmitError::Ledger(_) => error(codes::NODE_ERROR, message, "storage"),
    }
}

/// `SomeVariant { .. }` → `some_variant`; nested `Stateless(RangeProof)` → `range_proof`.
fn check_name(debug: &str) -> String {
    let mut name = debug;
    // Take the innermost variant name: the last identifier before a '(' / '{' nesting or the end.
    while let Some(open) = name.find('(') {
        let inner = &name[open + 1..];
        if inner.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            name = inner;
        } else {
            break;
        }
    }
    let ident: String = name.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Most notes one `shielded_notes` call returns.
const MAX_NOTES_PER_PAGE: u32 = 1_000;

fn shielded_genesis_json(s: &ctchain_ledger::ShieldedConfig) -> ShieldedGenesisJson {
    ShieldedGenesisJson {
        verifying_key_hash: s.verifying_key_hash.to_hex(),
        audit_key: hex::encode(s.audit_key.to_bytes()),
        recent_roots: s.recent_roots,
    }
}

fn validators_json(validators: &[ValidatorInfo]) -> Vec<ValidatorJson> {
    validators
        .iter()
        .enumerate()
        .map(|(i, v)| ValidatorJson {
            index: i as u32,
            name: v.name.clone(),
            consensus_key: hex::encode(v.consensus_key),
            network_key: hex::encode(v.network_key),
        })
        .collect()
}

fn audit_keys_json(keys: &[ctchain_crypto::AuditPublicKey]) -> Vec<String> {
    keys.iter().map(|k| hex::encode(k.0.as_bytes())).collect()
}

fn asset_json(a: &AssetInfo) -> AssetJson {
    AssetJson {
        id: hex::encode(a.id.0),
        label: a.label.clone(),
        decimals: a.decimals,
        issuer: hex::encode(a.issuer.as_bytes()),
    }
}

fn epoch_json(e: &Epoch) -> EpochJson {
    let c = &e.consensus;
    EpochJson {
        number: e.number,
        first_seq: e.first_seq,
        decided_seq: e.decided_seq,
        validators: validators_json(&e.validators),
        audit_keys: audit_keys_json(&e.audit_keys),
        max_block_txs: c.max_block_txs,
        max_block_bytes: c.max_block_bytes,
        view_timeout_ms: c.view_timeout_ms,
        checkpoint_interval: c.checkpoint_interval,
        window: c.window,
        max_clock_drift_ms: c.max_clock_drift_ms,
    }
}

/// The registry as `governance_registry` shows it.
pub fn registry_json(r: &Registry, height: u64) -> RegistryJson {
    RegistryJson {
        height,
        version: r.version(),
        hex: hex::encode(r.to_bytes()),
        policy: r.policy().rules().map(|(class, rule)| (class.name().to_owned(), rule.to_text())).collect(),
        members: r
            .members()
            .iter()
            .map(|m| MemberJson {
                name: m.name.clone(),
                role: m.role.name().into(),
                admin_keys: m.admin_keys.iter().map(|k| k.to_text()).collect(),
                ca_certificate: ctchain_membership::certificate_pem(&m.ca_certificate),
            })
            .collect(),
        nodes: r
            .nodes()
            .iter()
            .map(|n| NodeJson {
                member: n.member.clone(),
                name: n.name.clone(),
                role: n.role.name().into(),
                network_key: hex::encode(n.network_key),
                consensus_key: n.consensus_key.to_text(),
                serial: hex::encode(&n.serial),
                not_before: n.not_before,
                not_after: n.not_after,
                added_height: n.added_height,
                leaving_since: n.leaving_since,
            })
            .collect(),
        revocations: r
            .revocations()
            .iter()
            .map(|v| RevocationJson { member: v.member.clone(), serial: hex::encode(&v.serial), height: v.height })
            .collect(),
        assets: r.assets().iter().map(asset_json).collect(),
        epoch: epoch_json(r.epoch()),
        next_epoch: r.next_epoch().map(epoch_json),
        channels: r
            .channels()
            .iter()
            .map(|c| ctchain_rpc::ChannelJson {
                id: c.id.clone(),
                genesis_hash: c.genesis.to_hex(),
                members: c.members.clone(),
                regulator_required: c.regulator_required,
            })
            .collect(),
    }
}

fn kind_name(tx: &LedgerTx) -> &'static str {
    match tx.kind() {
        TxKind::Transfer => "transfer",
        TxKind::Issue => "issue",
        TxKind::Burn => "burn",
        TxKind::AuditAccess => "audit_access",
        TxKind::ShieldedTransfer => "shielded_transfer",
        TxKind::Shield => "shield",
        TxKind::Unshield => "unshield",
        TxKind::Governance => "governance",
    }
}

impl Rpc {
    /// Admits tagged bytes within the node's admission capacity; a full queue is refused as busy
    /// (`MEMPOOL_FULL`, check `busy`: try again shortly).
    async fn admit(&self, tagged: Vec<u8>) -> RpcResult<SubmitResult> {
        match self.shared.admit_within_capacity(tagged).await {
            Ok(result) => self.admitted(result),
            Err(busy) => Err(error(codes::MEMPOOL_FULL, busy.to_string(), "busy")),
        }
    }

    /// Gossips an admitted transaction (tagged ledger encoding) and tells subscribers; maps a refusal.
    fn admitted(&self, result: Result<TxId, AdmitError>) -> RpcResult<SubmitResult> {
        match result {
            Ok(id) => {
                if let Some(gossip) = self.shared.gossip_bytes(&id) {
                    let _ = self.shared.net.publish(ctchain_net::Topic::Transactions, gossip);
                }
                let _ = self.shared.tx_updates.send(id);
                let _ = self.events.send(Event::TxAdmitted);
                Ok(SubmitResult { id: id.to_string() })
            }
            Err(e) => {
                self.shared.count_rejection(&e);
                Err(admit_error(&e))
            }
        }
    }

    fn status_of(&self, id: &TxId) -> RpcResult<TxStatus> {
        if self.shared.mempool.lock().map_err(node_error)?.contains(id) {
            return Ok(TxStatus::Pending);
        }
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        if let Some(record) = ledger.transaction(id).map_err(node_error)? {
            let proof =
                ledger.inclusion_proof(id).map_err(node_error)?.ok_or_else(|| node_error("inclusion proof missing"))?;
            return Ok(TxStatus::Committed {
                height: record.height,
                index: record.index,
                block_hash: proof.header.hash().to_string(),
                timestamp_ms: proof.header.timestamp_ms,
                hex: hex::encode(record.tx.to_bytes()),
                inclusion_proof: hex::encode(proof.to_bytes()),
            });
        }
        drop(ledger);
        if let Some(reason) = self.shared.rejected.lock().map_err(node_error)?.get(id) {
            return Ok(TxStatus::Rejected { reason: reason.clone() });
        }
        Ok(TxStatus::Unknown)
    }

    /// An asset the registry lists, by label (any case) or id (hex).
    fn resolve_asset(registry: &Registry, asset: &str) -> Option<AssetInfo> {
        if let Some(a) = registry.assets().iter().find(|a| a.label.eq_ignore_ascii_case(asset)) {
            return Some(a.clone());
        }
        let bytes: [u8; 32] = hex::decode(asset).ok()?.try_into().ok()?;
        registry.asset(&AssetId(bytes)).cloned()
    }
}

#[async_trait]
impl ChainApiServer for Rpc {
    async fn chain_status(&self) -> RpcResult<ChainStatus> {
        let (height, tip_hash, state_root, tip_ts) = {
            let l = self.shared.ledger.read().map_err(node_error)?;
            (l.height(), l.tip_hash(), l.state_root(), l.tip_timestamp_ms())
        };
        let c = self.shared.consensus.read().map_err(node_error)?.clone();
        let (mempool_txs, mempool_bytes) = {
            let m = self.shared.mempool.lock().map_err(node_error)?;
            (m.len() as u64, m.bytes() as u64)
        };
        let net = self.shared.net.status();
        let peers = net
            .connected
            .iter()
            .map(|p| {
                let known = self.shared.peer_names.read().ok().and_then(|names| names.get(p).cloned());
                let (name, validator) = known.map_or((None, false), |(n, v)| (Some(n), v));
                PeerJson { peer_id: p.to_string(), name, validator }
            })
            .collect();
        Ok(ChainStatus {
            chain_id: self.shared.genesis.chain_id.clone(),
            genesis_hash: self.shared.genesis_hash.to_string(),
            node_name: self.shared.name.clone(),
            validator_index: c.validator_index,
            epoch: c.epoch,
            height,
            tip_hash: tip_hash.to_string(),
            state_root: state_root.to_string(),
            tip_timestamp_ms: tip_ts,
            consensus_seq: c.seq,
            view: c.view,
            primary: c.primary,
            view_normal: c.normal,
            syncing: c.syncing,
            peers,
            refused_connections: net.refused_connections,
            mempool_txs,
            mempool_bytes,
        })
    }

    async fn chain_get_block(&self, at: BlockRef) -> RpcResult<Option<BlockJson>> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let block = match at {
            BlockRef::Height(h) => ledger.block(h).map_err(node_error)?,
            BlockRef::Hash(h) => ledger.block_by_hash(&parse_hash("hash", &h)?).map_err(node_error)?,
        };
        let Some(block) = block else { return Ok(None) };
        let certificate = ledger.certificate(block.header.height).map_err(node_error)?.map(hex::encode);
        Ok(Some(BlockJson {
            header: header_json(&block.header, block.txs.len()),
            header_hex: hex::encode(block.header.to_bytes()),
            txs: block
                .txs
                .iter()
                .map(|tx| BlockTxJson {
                    id: tx.id().to_string(),
                    kind: kind_name(tx).into(),
                    hex: hex::encode(tx.to_bytes()),
                })
                .collect(),
            certificate,
        }))
    }

    async fn chain_get_genesis(&self) -> RpcResult<GenesisJson> {
        let g = &self.shared.genesis;
        Ok(GenesisJson {
            hex: hex::encode(g.to_bytes()),
            hash: self.shared.genesis_hash.to_string(),
            chain_id: g.chain_id.clone(),
            genesis_time_ms: g.genesis_time_ms,
            validators: validators_json(&g.validators),
            audit_keys: audit_keys_json(&g.audit_keys),
            assets: g.assets.iter().map(asset_json).collect(),
            shielded: g.shielded.as_ref().map(shielded_genesis_json),
        })
    }

    async fn governance_submit(&self, tx_hex: String) -> RpcResult<SubmitResult> {
        self.admit(tagged_submission(TxTag::Governance, &tx_hex)?).await
    }

    async fn governance_registry(&self) -> RpcResult<RegistryJson> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        Ok(registry_json(ledger.registry(), ledger.height()))
    }

    async fn governance_epochs(&self) -> RpcResult<Vec<EpochJson>> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let mut epochs = ledger.epochs().map_err(node_error)?;
        epochs.extend(ledger.registry().next_epoch().cloned());
        Ok(epochs.iter().map(epoch_json).collect())
    }

    async fn governance_log(&self) -> RpcResult<Vec<GovernanceJson>> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let log = ledger.governance_log().map_err(node_error)?;
        Ok(log
            .into_iter()
            .map(|(height, index, tx)| GovernanceJson {
                id: tx.id().to_string(),
                height,
                index,
                action: tx.proposal.action.name().into(),
                registry_version: tx.proposal.registry_version,
                approvers: tx.approvals.iter().map(|a| a.member.clone()).collect(),
                hex: hex::encode(tx.to_bytes()),
            })
            .collect())
    }

    async fn tx_submit(&self, tx_hex: String) -> RpcResult<SubmitResult> {
        self.admit(tagged_submission(TxTag::Confidential, &tx_hex)?).await
    }

    async fn audit_submit_access(&self, record_hex: String) -> RpcResult<SubmitResult> {
        self.admit(tagged_submission(TxTag::AuditAccess, &record_hex)?).await
    }

    async fn shielded_submit(&self, tx_hex: String) -> RpcResult<SubmitResult> {
        self.admit(tagged_submission(TxTag::Shielded, &tx_hex)?).await
    }

    async fn shielded_status(&self) -> RpcResult<ShieldedStatusJson> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let params = self.shared.genesis.shielded.as_ref().map(shielded_genesis_json);
        Ok(match ledger.note_tree() {
            Some((tree_size, root, anchors)) => ShieldedStatusJson {
                enabled: true,
                height: ledger.height(),
                tree_size,
                root: hex::encode(root.to_bytes()),
                anchors: anchors.iter().map(|a| hex::encode(a.to_bytes())).collect(),
                params,
            },
            None => ShieldedStatusJson {
                enabled: false,
                height: ledger.height(),
                tree_size: 0,
                root: String::new(),
                anchors: Vec::new(),
                params,
            },
        })
    }

    async fn shielded_notes(&self, from: u64, limit: u32) -> RpcResult<NotesPage> {
        let limit = limit.clamp(1, MAX_NOTES_PER_PAGE);
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let Some((tree_size, root, _)) = ledger.note_tree() else {
            return Err(error(codes::NO_SHIELDED_POOL, "this chain has no shielded pool", "no_shielded_pool"));
        };
        let notes = ledger
            .notes_range(from, limit as usize)
            .map_err(node_error)?
            .into_iter()
            .map(|n| NoteJson {
                position: n.position,
                commitment: hex::encode(n.commitment.to_bytes()),
                ciphertext: hex::encode(n.ciphertext.to_bytes()),
                tx_id: n.tx_id.to_string(),
                height: n.height,
            })
            .collect();
        Ok(NotesPage { notes, tree_size, root: hex::encode(root.to_bytes()), height: ledger.height() })
    }

    async fn shielded_nullifier(&self, nullifier: String) -> RpcResult<Option<NullifierJson>> {
        let bytes = parse_hash("nullifier", &nullifier)?;
        let nf =
            ctchain_circuits::Nullifier::from_bytes(&bytes.0).map_err(|e| invalid_params(format!("nullifier: {e}")))?;
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        Ok(ledger
            .nullifier(&nf)
            .map_err(node_error)?
            .map(|r| NullifierJson { tx_id: r.tx_id.to_string(), height: r.height }))
    }

    async fn audit_access_log(&self) -> RpcResult<Vec<AuditAccessJson>> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let log = ledger.audit_access_log().map_err(node_error)?;
        Ok(log
            .into_iter()
            .map(|(height, index, r)| AuditAccessJson {
                id: r.id().to_string(),
                height,
                index,
                audit_key_index: r.audit_key_index,
                case_reference: r.case_reference.clone(),
                from_height: r.from_height,
                to_height: r.to_height,
                threshold: r.threshold,
                supervisors: r.share_keys.len() as u32,
                signers: r.signers(),
                hex: hex::encode(r.to_bytes()),
            })
            .collect())
    }

    async fn tx_get(&self, id: String) -> RpcResult<TxStatus> {
        let id = TxId(parse_hash("transaction id", &id)?);
        self.status_of(&id)
    }

    async fn output_get(&self, id: String) -> RpcResult<Option<OutputJson>> {
        let id = OutputId(parse_hash("output id", &id)?);
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        Ok(ledger.output(&id).map_err(node_error)?.map(|status| OutputJson {
            record: record_json(&status.record),
            spent_by: status.spent.map(|s| s.tx_id.to_string()),
            spent_height: status.spent.map(|s| s.height),
        }))
    }

    async fn outputs_range(&self, from: u64, to: u64) -> RpcResult<OutputsPage> {
        if from == 0 || to < from {
            return Err(invalid_params("expected 1 <= from <= to"));
        }
        if to - from >= MAX_OUTPUTS_RANGE {
            return Err(error(
                codes::RANGE_TOO_LARGE,
                format!("at most {MAX_OUTPUTS_RANGE} heights per call"),
                "range",
            ));
        }
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let height = ledger.height();
        let to = to.min(height);
        if from > to {
            return Ok(OutputsPage { from, to, height, outputs: vec![], block_times: vec![] });
        }
        let outputs = ledger.outputs_range(from, to).map_err(node_error)?.iter().map(record_json).collect();
        let mut block_times = Vec::new();
        for h in from..=to {
            if let Some(header) = ledger.header(h).map_err(node_error)? {
                block_times.push((h, header.timestamp_ms));
            }
        }
        Ok(OutputsPage { from, to, height, outputs, block_times })
    }

    async fn asset_supply(&self, asset: String) -> RpcResult<Option<SupplyJson>> {
        let ledger = self.shared.ledger.read().map_err(node_error)?;
        let Some(info) = Self::resolve_asset(ledger.registry(), &asset) else { return Ok(None) };
        let id = info.id;
        let s = ledger.supply(&id).map_err(|e: LedgerError| node_error(e))?;
        Ok(Some(SupplyJson {
            asset: hex::encode(id.0),
            label: info.label,
            decimals: info.decimals,
            issued: s.issued.to_string(),
            burned: s.burned.to_string(),
            fees: s.fees.to_string(),
            outstanding: s.outstanding().to_string(),
            shielded: s.shielded.to_string(),
            unshielded: s.unshielded.to_string(),
            confidential_pool: s.confidential_pool().to_string(),
            shielded_pool: s.shielded_pool().to_string(),
            height: ledger.height(),
        }))
    }

    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut heads = self.shared.heads.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                head = heads.recv() => match head {
                    Ok(h) => sink.send(serde_json::value::to_raw_value(&h)?).await?,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
    }

    async fn subscribe_tx_status(&self, pending: PendingSubscriptionSink, id: String) -> SubscriptionResult {
        let tx_id = match parse_hash("transaction id", &id) {
            Ok(h) => TxId(h),
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let mut updates = self.shared.tx_updates.subscribe();
        let sink = pending.accept().await?;
        let mut last = self.status_of(&tx_id)?;
        sink.send(serde_json::value::to_raw_value(&last)?).await?;
        loop {
            if matches!(last, TxStatus::Committed { .. } | TxStatus::Rejected { .. }) {
                return Ok(());
            }
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                update = updates.recv() => match update {
                    Ok(id) if id != tx_id => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        let now = self.status_of(&tx_id)?;
                        if now != last {
                            sink.send(serde_json::value::to_raw_value(&now)?).await?;
                            last = now;
                        }
                    }
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
    }
}

fn record_json(r: &ctchain_ledger::OutputRecord) -> OutputRecordJson {
    OutputRecordJson {
        id: r.id.to_string(),
        tx_id: r.tx_id.to_string(),
        index: r.index,
        height: r.height,
        output: hex::encode(r.output.to_bytes()),
    }
}

/// Starts the HTTP + WebSocket server.
pub async fn start(
    section: &crate::config::RpcSection,
    routes: RpcRoutes,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let addr = section.listen;
    let config = jsonrpsee::server::ServerConfig::builder()
        .max_request_body_size(section.max_request_bytes)
        .max_response_body_size(64 << 20)
        .max_connections(section.max_connections)
        .build();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for RPC on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let builder = Server::builder().set_config(config).to_service_builder();
    let (stop, handle) = jsonrpsee::server::stop_channel();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::debug!("RPC accept failed: {e}");
                        continue;
                    }
                },
                _ = stop.clone().shutdown() => break,
            };
            let (routes, builder, stop2) = (routes.clone(), builder.clone(), stop.clone());
            let service = tower::service_fn(move |request: jsonrpsee::server::HttpRequest<hyper::body::Incoming>| {
                let path = request.uri().path().trim_end_matches('/').to_owned();
                let methods = routes.get(if path.is_empty() { "/" } else { path.as_str() });
                let mut service = methods.map(|m| builder.clone().build(m, stop2.clone()));
                async move {
                    match service.as_mut() {
                        Some(service) => tower::Service::call(service, request).await,
                        None => Ok(unknown_channel(&path)),
                    }
                }
            });
            tokio::spawn(jsonrpsee::server::serve_with_graceful_shutdown(stream, service, stop.clone().shutdown()));
        }
    });
    Ok((local, handle))
}

/// The chains the RPC server serves, by path; a channel the node starts serving later is added while it runs.
#[derive(Clone, Default)]
pub struct RpcRoutes(Arc<std::sync::RwLock<BTreeMap<String, Methods>>>);

impl RpcRoutes {
    /// Serves `chain` at its channel's path from now on.
    pub fn add(&self, chain: RpcChain) {
        let methods = Methods::from(Rpc { shared: chain.shared, events: chain.events }.into_rpc());
        if let Ok(mut routes) = self.0.write() {
            routes.insert(rpc_path(&chain.scope), methods);
        }
    }

    fn get(&self, path: &str) -> Option<Methods> {
        self.0.read().ok()?.get(path).cloned()
    }
}

/// One chain the RPC server serves, at the path of its channel.
pub struct RpcChain {
    /// Its channel.
    pub scope: crate::channels::Scope,
    /// What its driver shares.
    pub shared: Arc<Shared>,
    /// Its driver's events (a submission wakes the primary).
    pub events: mpsc::UnboundedSender<Event>,
}

/// The path a chain's RPC is served at: `/` for the system channel, `/channels/<id>` for a private channel.
pub fn rpc_path(scope: &crate::channels::Scope) -> String {
    match scope {
        crate::channels::Scope::System => "/".into(),
        crate::channels::Scope::Channel(id) => format!("/channels/{id}"),
    }
}

/// A path that names no chain this node serves: a JSON-RPC error, HTTP 404.
fn unknown_channel(path: &str) -> jsonrpsee::server::HttpResponse {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": codes::UNKNOWN_CHANNEL,
            "message": format!("this node serves no channel at {path:?} (it serves / and /channels/<id> of its channels)"),
            "data": { "check": "unknown_channel" },
        },
    });
    jsonrpsee::server::HttpResponse::builder()
        .status(404)
        .header("content-type", "application/json")
        .body(jsonrpsee::server::HttpBody::from(body.to_string()))
        .expect("a static response")
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn check_names_are_snake_case_innermost_variants() {
        assert_eq!(check_name("Stateless(RangeProof)"), "range_proof");
        assert_eq!(check_name("AlreadySpent { input: 0, output: x, height: 3 }"), "already_spent");
        assert_eq!(check_name("WrongChain(\"x\")"), "wrong_chain");
    }
}
