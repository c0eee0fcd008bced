//! The `ctchain-audit` command line: a regulator's keys, decryption (whole or threshold), the on-chain access trail,
//! the audit database, AML reports, live supervision and evidence.
//!
//! It lives in the library (the binary only calls [`main`]) so that the end-to-end tests run exactly the commands
//! a supervisor types, against a chain of real node processes. Being the binary's logic, it reports errors with
//! `anyhow` and context; everything below it returns typed errors.
//!
//! Every command that writes does so whole or not at all: keystores, partials and bundles by write-then-rename,
//! the audit database in atomic batches (one per command, or per 256 heights for `scan`), reports through the report module's atomic directory
//! write; a check that fails (wrong key, share of another split, invalid partial, bad rule file) fails before
//! anything is written.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use ctchain_codec::{Decode, Encode, Hash32, Reader, Writer};
use ctchain_crypto::{AuditSecretKey, TxId};
use ctchain_keystore::{KdfParams, KeyKind, KeystoreFile};
use ctchain_ledger::access::AuditAccessRecord;
use ctchain_ledger::{Crossing, Genesis, LedgerTx, TxInclusionProof};
use ctchain_light::{CommittedTx, GenesisTrust, LightClient, LightError};
use ctchain_rpc::ChainApiClient;
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::aml::{self, report, AuditRecord, NotDecrypted, NotDecryptedReason, Pool, RuleSet};
use crate::db::AuditDb;
use crate::decrypt::{self, BlockContents, ChainOutput, Decrypted, Decryption, ShieldedSource, Tables};
use crate::evidence::{self, Evidence};
use crate::keys::RegulatorKeys;
use crate::threshold::{self, KeyShare, PartialDecryption, ThresholdKey};

#[derive(Parser)]
#[command(name = "ctchain-audit", version, about = "ctchain regulator tools: audit keys, decryption, AML, evidence")]
struct Cli {
    /// The node's JSON-RPC URL (an observer node of the regulator's own, ideally).
    #[arg(long, global = true, env = "CTCHAIN_NODE", default_value = "http://127.0.0.1:8545")]
    node: String,
    /// The chain's genesis hash: every block and record the node serves is checked against this genesis (without
    /// it, against the genesis the node serves, after checking it against the audit database's chain when there
    /// is one).
    #[arg(long, global = true, env = "CTCHAIN_GENESIS_HASH")]
    genesis_hash: Option<String>,
    /// Read keystore passwords from this file (first line) instead of prompting; `CTCHAIN_AUDIT_PASSWORD` also works.
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
    /// Fast key derivation for tests (never for real keys).
    #[arg(long, global = true, hide = true)]
    insecure_fast_kdf: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a regulator's audit keys — the confidential pool's and the shielded pool's, in one keystore — or split
    /// a new confidential-pool key among N supervisors, any K of whom can decrypt; prints the public keys the genesis
    /// lists.
    Keygen {
        /// The chain the key is for.
        #[arg(long)]
        chain_id: String,
        /// Keystore file (whole key) or directory (shares: supervisor-J.json and dealing.hex).
        #[arg(long)]
        out: PathBuf,
        /// Shares needed to decrypt.
        #[arg(long, requires = "shares")]
        threshold: Option<u32>,
        /// Supervisors to split among.
        #[arg(long, requires = "threshold")]
        shares: Option<u32>,
    },
    /// Write a keystore holding existing secrets: `audit_secret` and optionally `shielded_audit_secret` (hex) from a
    /// JSON file such as a local testnet's `testnet-secrets.json`.
    Import {
        /// The chain the keys are for.
        #[arg(long)]
        chain_id: String,
        /// The JSON file holding the secrets.
        #[arg(long)]
        secrets: PathBuf,
        /// Keystore file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Decrypt every output of a committed transaction (confidential or shielded) with a whole audit key.
    Decrypt {
        /// Transaction id.
        txid: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Decrypt heights FROM..=TO with a whole audit key into the audit database.
    Scan {
        /// First height.
        #[arg(long)]
        from: u64,
        /// Last height.
        #[arg(long)]
        to: u64,
        #[command(flatten)]
        key: KeyArgs,
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
    },
    /// Audit-access records: propose, sign (each supervisor), submit.
    #[command(subcommand)]
    Access(AccessCommand),
    /// List every audit-access record ever committed.
    Log,
    /// A supervisor's proven partial decryption of everything an access record authorises.
    Partial {
        /// The access record id.
        #[arg(long)]
        access: String,
        /// The supervisor's share keystore.
        #[arg(long)]
        share: PathBuf,
        /// Only this transaction's outputs (for an evidence bundle), instead of the record's whole range.
        #[arg(long)]
        tx: Option<String>,
        /// Where to write the partial.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify supervisors' partials (naming any wrong one), combine K of them and decrypt into the audit database.
    Combine {
        /// The access record id.
        #[arg(long)]
        access: String,
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
        /// Partial files.
        #[arg(required = true)]
        partials: Vec<PathBuf>,
    },
    /// List the decrypted records of the audit database at heights FROM..=TO (all by default).
    Show {
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
        /// First height.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last height.
        #[arg(long, default_value_t = u64::MAX)]
        to: u64,
    },
    /// Run AML rules over the audit database and write JSON, CSV and HTML reports.
    Aml {
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
        /// The rule file (TOML).
        #[arg(long)]
        rules: PathBuf,
        /// Report directory.
        #[arg(long)]
        out: PathBuf,
        /// Replace existing report files.
        #[arg(long)]
        overwrite: bool,
    },
    /// Follow new blocks (WebSocket subscription), decrypt them and raise AML alerts as they happen.
    Watch {
        /// The node's WebSocket URL.
        #[arg(long)]
        ws: String,
        #[command(flatten)]
        key: KeyArgs,
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
        /// The rule file (TOML).
        #[arg(long)]
        rules: PathBuf,
        /// Stop once this height is decrypted (default: run until interrupted).
        #[arg(long)]
        until_height: Option<u64>,
    },
    /// Write an evidence bundle for a transaction (block, certificate, inclusion proof, proven decryption).
    Evidence {
        /// Transaction id.
        txid: String,
        /// The whole audit key's keystore (or, for a split key, `--access` with supervisors' `--partial` files).
        #[arg(long, required_unless_present = "access")]
        key: Option<PathBuf>,
        /// Index of the key among the genesis audit keys (whole key).
        #[arg(long, default_value_t = 0)]
        key_index: u32,
        /// The committed access record under which the supervisors made their partials (split key).
        #[arg(long, conflicts_with = "key", requires = "partials")]
        access: Option<String>,
        /// Supervisors' partial files made with `partial --access ID --tx TXID`.
        #[arg(long = "partial")]
        partials: Vec<PathBuf>,
        /// Bundle file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an evidence bundle offline against the genesis hash.
    VerifyEvidence {
        /// Bundle file.
        file: PathBuf,
        /// The trusted genesis hash (hex, as `chain_getGenesis` and the genesis file publish it).
        #[arg(long)]
        genesis_hash: String,
    },
}

#[derive(Args)]
struct KeyArgs {
    /// The whole audit key's keystore (with the shielded pool's key too, if `keygen` or `import` put one in).
    #[arg(long)]
    key: PathBuf,
    /// Index of the key among the genesis audit keys.
    #[arg(long, default_value_t = 0)]
    key_index: u32,
}

#[derive(Subcommand)]
enum AccessCommand {
    /// Create an unsigned access record for a case and a height range.
    Request {
        /// Case reference.
        #[arg(long)]
        case: String,
        /// First height.
        #[arg(long)]
        from: u64,
        /// Last height.
        #[arg(long)]
        to: u64,
        /// Any supervisor's share keystore (for the public dealing) — or `--dealing`.
        #[arg(long, conflicts_with = "dealing")]
        share: Option<PathBuf>,
        /// The public dealing file written by `keygen --threshold`.
        #[arg(long)]
        dealing: Option<PathBuf>,
        /// Index of the key among the genesis audit keys.
        #[arg(long, default_value_t = 0)]
        key_index: u32,
        /// Record file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add this supervisor's signature to a record file.
    Sign {
        /// Record file.
        record: PathBuf,
        /// The supervisor's share keystore.
        #[arg(long)]
        share: PathBuf,
    },
    /// Submit a signed record and wait until it is committed.
    Submit {
        /// Record file.
        record: PathBuf,
    },
}

/// Runs the command line with the process's arguments, printing to stdout.
pub fn main() -> Result<()> {
    run(std::env::args_os(), &mut std::io::stdout())
}

/// Runs the command line with `args` (the first is the program name), writing what it reports to `out`.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>, out: &mut dyn Write) -> Result<()> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        // Help and version are answers, not errors.
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            write!(out, "{e}")?;
            return Ok(());
        }
        // clap's own text starts with "error: "; the caller adds that prefix once.
        Err(e) => bail!("{}", e.to_string().trim_start_matches("error: ").trim_end()),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(dispatch(cli, out))
}

async fn dispatch(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let kdf = if cli.insecure_fast_kdf { KdfParams::TEST_ONLY } else { KdfParams::INTERACTIVE };
    let pw = || password(cli.password_file.as_deref());
    match &cli.command {
        Command::Keygen { chain_id, out: path, threshold, shares } => {
            keygen(chain_id, path, *threshold, *shares, &new_password(cli.password_file.as_deref())?, kdf, out)
        }
        Command::Import { chain_id, secrets, out: path } => {
            import(chain_id, secrets, path, &new_password(cli.password_file.as_deref())?, kdf, out)
        }
        Command::Decrypt { txid, key } => {
            let keys = open_whole(&key.key, &pw()?)?;
            decrypt_tx(&node(&cli).await?, txid, key.key_index, &keys, out).await
        }
        Command::Scan { from, to, key, db } => {
            let keys = open_whole(&key.key, &pw()?)?;
            scan(&node(&cli).await?, *from, *to, key.key_index, &keys, db, out).await
        }
        Command::Access(a) => access(&cli, a, out).await,
        Command::Log => log(&node(&cli).await?, out).await,
        Command::Partial { access, share, tx, out: path } => {
            partial(&node(&cli).await?, access, &open_share(share, &pw()?)?, tx.as_deref(), path, out).await
        }
        Command::Combine { access, db, partials } => combine(&node(&cli).await?, access, db, partials, out).await,
        Command::Show { db, from, to } => show(db, *from, *to, out),
        Command::Aml { db, rules, out: dir, overwrite } => run_aml(db, rules, dir, *overwrite, out),
        Command::Watch { ws, key, db, rules, until_height } => {
            let keys = open_whole(&key.key, &pw()?)?;
            watch(ws, trust(&cli)?, key.key_index, &keys, db, rules, *until_height, out).await
        }
        Command::Evidence { txid, key, key_index, access, partials, out: path } => {
            let how = match (key, access) {
                (Some(key), _) => Decryptor::Whole(*key_index, open_whole(key, &pw()?)?.confidential),
                (None, Some(access)) => Decryptor::Partials(access.clone(), partials.clone()),
                (None, None) => bail!("give --key, or --access with --partial files"),
            };
            evidence(&node(&cli).await?, txid, how, path, out).await
        }
        Command::VerifyEvidence { file, genesis_hash } => verify_evidence(file, genesis_hash, out),
    }
}

// ---- keys ----

fn password(file: Option<&Path>) -> Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading password file {}", path.display()))?,
        );
        return Ok(Zeroizing::new(text.lines().next().unwrap_or_default().to_string()));
    }
    if let Ok(p) = std::env::var("CTCHAIN_AUDIT_PASSWORD") {
        return Ok(Zeroizing::new(p));
    }
    Ok(Zeroizing::new(rpassword::prompt_password("Audit keystore password: ")?))
}

/// A new keystore's password: from the file or environment as usual, or typed twice (a typo would lock the key
/// away for good).
fn new_password(file: Option<&Path>) -> Result<Zeroizing<String>> {
    if file.is_some() || std::env::var_os("CTCHAIN_AUDIT_PASSWORD").is_some() {
        return password(file);
    }
    let first = Zeroizing::new(rpassword::prompt_password("New audit keystore password: ")?);
    let second = Zeroizing::new(rpassword::prompt_password("Repeat it: ")?);
    if first != second {
        bail!("the passwords differ; nothing was written");
    }
    Ok(first)
}

fn keygen(
    chain_id: &str,
    path: &Path,
    threshold: Option<u32>,
    shares: Option<u32>,
    pw: &str,
    kdf: KdfParams,
    out: &mut dyn Write,
) -> Result<()> {
    if pw.is_empty() {
        bail!("an empty password is not allowed");
    }
    let (Some(k), Some(n)) = (threshold, shares) else {
        return write_keys(chain_id, &RegulatorKeys::generate(&mut OsRng), path, pw, kdf, out);
    };
    let secret = AuditSecretKey::random(&mut OsRng);
    let public = hex::encode(secret.public().0.as_bytes());
    let (dealing, key_shares) = threshold::split(&secret, k, n, &mut OsRng)?;
    // The whole secret is dropped (and zeroised) here: from now on only the shares exist.
    drop(secret);
    let files: Vec<PathBuf> = (1..=n).map(|j| path.join(format!("supervisor-{j}.json"))).collect();
    let dealing_path = path.join("dealing.hex");
    if let Some(existing) = files.iter().chain([&dealing_path]).find(|p| p.exists()) {
        bail!("{} already exists; nothing was written", existing.display());
    }
    let sealed = key_shares
        .iter()
        .map(|s| {
            KeystoreFile::seal_audit(
                chain_id,
                KeyKind::AuditShare,
                public.clone(),
                &s.to_keystore_bytes(&dealing),
                pw.as_bytes(),
                kdf,
                &mut OsRng,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    // Written one by one; if any write fails, the ones already written are removed, so no partial split remains.
    let mut written = Vec::new();
    let result = (|| -> Result<()> {
        for (file, sealed) in files.iter().zip(&sealed) {
            sealed.write(file, false)?;
            written.push(file.clone());
        }
        write_private(&dealing_path, hex::encode(dealing.to_bytes()).as_bytes())?;
        Ok(())
    })();
    if let Err(e) = result {
        for f in written {
            let _ = std::fs::remove_file(f);
        }
        return Err(e);
    }
    writeln!(
        out,
        "audit key split {k}-of-{n}: {} (one keystore per supervisor), public dealing {}",
        path.display(),
        dealing_path.display()
    )?;
    writeln!(out, "audit public key (for the genesis audit_keys): {public}")?;
    writeln!(
        out,
        "note: the shielded pool's (Baby Jubjub) audit key is not split by this tool: threshold keys cover the \
         confidential pool only, and shielded outputs are reported as not decryptable with a split key"
    )?;
    Ok(())
}

/// Seals `keys` into a new keystore at `path` and prints the public keys the genesis takes.
fn write_keys(
    chain_id: &str,
    keys: &RegulatorKeys,
    path: &Path,
    pw: &str,
    kdf: KdfParams,
    out: &mut dyn Write,
) -> Result<()> {
    keys.seal(chain_id, pw.as_bytes(), kdf, &mut OsRng)?.write(path, false)?;
    writeln!(out, "audit keys written to {}", path.display())?;
    writeln!(out, "audit public key (for the genesis audit_keys): {}", keys.confidential_public_hex())?;
    match keys.shielded_public_hex() {
        Some(public) => writeln!(out, "shielded audit public key (for the genesis [shielded] audit_key): {public}")?,
        None => writeln!(
            out,
            "no shielded audit key: shielded outputs will be reported as not decryptable without the shielded audit key"
        )?,
    }
    Ok(())
}

fn import(chain_id: &str, secrets: &Path, path: &Path, pw: &str, kdf: KdfParams, out: &mut dyn Write) -> Result<()> {
    if pw.is_empty() {
        bail!("an empty password is not allowed");
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(secrets).with_context(|| format!("reading secrets file {}", secrets.display()))?,
    );
    let keys =
        RegulatorKeys::from_secrets_json(&text).with_context(|| format!("secrets file {}", secrets.display()))?;
    write_keys(chain_id, &keys, path, pw, kdf, out)
}

fn open_whole(path: &Path, pw: &str) -> Result<RegulatorKeys> {
    let file = KeystoreFile::read(path)?;
    RegulatorKeys::open(&file, pw.as_bytes()).with_context(|| format!("audit keystore {}", path.display()))
}

fn open_share(path: &Path, pw: &str) -> Result<(KeyShare, ThresholdKey)> {
    let file = KeystoreFile::read(path)?;
    let bytes = file
        .open_audit(pw.as_bytes(), KeyKind::AuditShare)
        .with_context(|| format!("share keystore {}", path.display()))?;
    let (share, dealing) =
        KeyShare::from_keystore_bytes(&bytes).with_context(|| format!("share keystore {}", path.display()))?;
    Ok((share, dealing))
}

// ---- chain access ----

/// A node's RPC client (HTTP or WebSocket).
trait Rpc: ChainApiClient + Send + Sync {}
impl<C: ChainApiClient + Send + Sync> Rpc for C {}
/// A node's chain as this tool reads it: through the light client.
type Chain<C> = LightClient<C>;

/// Which genesis the node must serve: `--genesis-hash` when given.
fn trust(cli: &Cli) -> Result<GenesisTrust> {
    match &cli.genesis_hash {
        None => Ok(GenesisTrust::FirstUse),
        Some(text) => Hash32::from_hex(text.trim())
            .map(GenesisTrust::Pinned)
            .ok_or_else(|| anyhow!("--genesis-hash {text:?} is not 64 hex digits")),
    }
}

/// The node's chain, read through the light client: every block this tool decrypts is certified by the genesis
/// validators, so a node cannot make supervisors decrypt handles of other heights than the ones authorised.
async fn node(cli: &Cli) -> Result<LightClient<jsonrpsee::http_client::HttpClient>> {
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .max_response_size(64 << 20)
        .build(&cli.node)
        .with_context(|| format!("node URL {}", cli.node))?;
    Ok(LightClient::connect(client, trust(cli)?).await?)
}

/// The confidential outputs and shielded transactions of heights `from..=to`, from certified blocks.
async fn range_contents(chain: &Chain<impl Rpc>, from: u64, to: u64) -> Result<BlockContents> {
    let mut contents = BlockContents::default();
    for h in from..=to {
        contents.extend(BlockContents::of_block(&chain.block(h).await?.block));
    }
    Ok(contents)
}

fn whole_decrypt(
    outputs: &[ChainOutput],
    key_index: u32,
    secret: &AuditSecretKey,
    tables: &mut Tables,
) -> Result<Vec<Decrypted>> {
    let request = decrypt::request(Vec::new(), outputs, key_index as usize)?;
    Ok(decrypt::finish(outputs, key_index as usize, &decrypt::multiply(secret, &request.points), tables)?)
}

fn records(genesis: &Genesis, decrypted: &[Decrypted]) -> Result<Vec<AuditRecord>> {
    decrypted.iter().map(|d| Ok(decrypt::record(genesis, d)?)).collect()
}

fn print_record(out: &mut dyn Write, r: &AuditRecord) -> Result<()> {
    let amount = aml::format_display_amount(u128::from(r.amount), r.decimals);
    match r.pool {
        Pool::Confidential => writeln!(
            out,
            "  output {}: {amount} {} ({})  from {}  to {}  memo {:?}{}",
            r.output_index,
            r.asset_label,
            r.kind.as_str(),
            r.sender.as_deref().unwrap_or("-"),
            r.receiver,
            r.memo,
            if r.memo_matches_amount { "" } else { "  MEMO DISAGREES WITH THE PROVEN AMOUNT" }
        )?,
        // No memo: the shielded audit copy is proven whole (asset, amount, receiver and sender).
        Pool::Shielded => writeln!(
            out,
            "  shielded output {}: {amount} {} ({})  from owner {}  to owner {}",
            r.output_index,
            r.asset_label,
            r.kind.as_str(),
            r.sender.as_deref().unwrap_or("-"),
            r.receiver,
        )?,
    }
    Ok(())
}

fn print_not_decrypted(out: &mut dyn Write, n: &NotDecrypted) -> Result<()> {
    writeln!(
        out,
        "height {} tx {}: {} {} outputs NOT DECRYPTED: {}",
        n.height,
        n.tx_id,
        n.outputs,
        n.pool.as_str(),
        n.reason.as_str()
    )?;
    Ok(())
}

/// `", N dummy shielded outputs (value 0) not recorded"`, or nothing.
fn dummies_text(dummies: usize) -> String {
    if dummies == 0 {
        String::new()
    } else {
        format!(", {dummies} dummy shielded outputs (value 0) not recorded")
    }
}

/// A committed transaction, shown to be in a certified block.
async fn committed(chain: &Chain<impl Rpc>, txid: &str) -> Result<(LedgerTx, u64, TxInclusionProof)> {
    let CommittedTx { tx, height, proof, .. } = chain.committed_tx(txid).await?;
    if let LedgerTx::AuditAccess(_) = tx {
        bail!("{txid} is an audit-access record, not a transfer");
    }
    Ok((tx, height, proof))
}

/// A committed confidential transaction (evidence bundles and partials for one transaction cover those only).
async fn committed_confidential(chain: &Chain<impl Rpc>, txid: &str) -> Result<(TxId, u64, TxInclusionProof)> {
    match committed(chain, txid).await? {
        (LedgerTx::Confidential(tx), height, proof) => Ok((tx.id(), height, proof)),
        (other, ..) => bail!(
            "{txid} is part of shielded transaction {}: evidence bundles cover confidential transactions only \
             (decrypt it with `ctchain-audit decrypt`)",
            other.id()
        ),
    }
}

async fn decrypt_tx(
    chain: &Chain<impl Rpc>,
    txid: &str,
    key_index: u32,
    keys: &RegulatorKeys,
    out: &mut dyn Write,
) -> Result<()> {
    let genesis = chain.genesis().clone();
    decrypt::check_keys(&genesis, key_index as usize, keys)?;
    let (tx, height, proof) = committed(chain, txid).await?;
    let timestamp_ms = proof.header.timestamp_ms;
    let contents = BlockContents::of_tx(&tx, height, timestamp_ms);
    writeln!(out, "transaction {} at height {height} ({})", tx.id(), report::utc_text(timestamp_ms))?;
    let mut tables = Tables::default();
    for source in &contents.shielded {
        print_shielded(out, &genesis, keys, source)?;
    }
    if let Some(crossing) = contents.shielded.first().and_then(|s| s.crossing_id) {
        writeln!(out, "  its confidential side, transaction {crossing}:")?;
    }
    let decrypted = whole_decrypt(&contents.outputs, key_index, &keys.confidential, &mut tables)?;
    for r in records(&genesis, &decrypted)? {
        print_record(out, &r)?;
    }
    Ok(())
}

/// What a shielded transaction does, then each of its outputs (a dummy as such, or why none can be read).
fn print_shielded(out: &mut dyn Write, genesis: &Genesis, keys: &RegulatorKeys, source: &ShieldedSource) -> Result<()> {
    let public = |asset, amount: u64| match genesis.asset(&asset) {
        Some(a) => format!("{} {}", aml::format_display_amount(u128::from(amount), a.decimals), a.label),
        None => format!("{amount} base units of unknown asset {}", hex::encode(asset.0)),
    };
    match source.crossing {
        None => writeln!(out, "  shielded transfer (inside the shielded pool)")?,
        Some(Crossing::Shield { asset, amount }) => {
            writeln!(out, "  shield: {} enters the shielded pool (public amount)", public(asset, amount))?
        }
        Some(Crossing::Unshield { asset, amount }) => {
            writeln!(out, "  unshield: {} leaves the shielded pool (public amount)", public(asset, amount))?
        }
    }
    let Some(secret) = &keys.shielded else {
        let n = source.not_decrypted(NotDecryptedReason::NoShieldedKey);
        writeln!(out, "  shielded outputs 0..{}: NOT DECRYPTED: {}", n.outputs, n.reason.as_str())?;
        return Ok(());
    };
    for (index, plaintext) in decrypt::decrypt_shielded(secret, source)?.iter().enumerate() {
        match decrypt::shielded_record(genesis, source, index, plaintext)? {
            Some(r) => print_record(out, &r)?,
            None => writeln!(
                out,
                "  shielded output {index}: dummy (value 0) to owner {}, not recorded",
                decrypt::owner_hex(&plaintext.receiver)
            )?,
        }
    }
    Ok(())
}

/// Heights `scan` decrypts and stores per batch.
const SCAN_CHUNK: u64 = 256;

async fn scan(
    chain: &Chain<impl Rpc>,
    from: u64,
    to: u64,
    key_index: u32,
    keys: &RegulatorKeys,
    db: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    if from == 0 || from > to {
        bail!("height range {from}..={to} is not valid (need 1 ≤ from ≤ to)");
    }
    let genesis = chain.genesis().clone();
    decrypt::check_keys(&genesis, key_index as usize, keys)?;
    let tip = chain.height().await?;
    if to > tip {
        bail!("the chain is at height {tip}; cannot scan up to {to}");
    }
    // Chunks of heights, each decrypted whole and stored in one atomic batch: memory stays bounded on a long
    // chain, and an interrupted scan leaves whole chunks (rerunning it replaces records with themselves).
    let db_handle = AuditDb::open(db, &genesis.hash().to_string())?;
    let mut tables = Tables::default();
    let (mut count, mut shielded, mut dummies) = (0, 0, 0);
    let mut not_decrypted = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(SCAN_CHUNK - 1));
        let contents = range_contents(chain, start, end).await?;
        let d = decrypt::decrypt_whole(&genesis, key_index as usize, keys, &contents, &mut tables)?;
        db_handle.store(start, end, &d.records, &d.not_decrypted)?;
        count += d.records.len();
        shielded += d.records.iter().filter(|r| r.pool == Pool::Shielded).count();
        dummies += d.dummies;
        not_decrypted.extend(d.not_decrypted);
        start = end + 1;
    }
    writeln!(
        out,
        "decrypted {count} outputs ({shielded} shielded) at heights {from}..={to} into {}{}",
        db.display(),
        dummies_text(dummies)
    )?;
    for n in &not_decrypted {
        print_not_decrypted(out, n)?;
    }
    Ok(())
}

// ---- the access trail and threshold decryption ----

fn read_record(path: &Path) -> Result<AuditAccessRecord> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
    AuditAccessRecord::from_bytes(&bytes).with_context(|| format!("{} is not an audit-access record", path.display()))
}

async fn access(cli: &Cli, command: &AccessCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        AccessCommand::Request { case, from, to, share, dealing, key_index, out: path } => {
            let dealing = match (share, dealing) {
                (Some(s), _) => open_share(s, &password(cli.password_file.as_deref())?)?.1,
                (None, Some(d)) => {
                    let text = std::fs::read_to_string(d).with_context(|| format!("reading {}", d.display()))?;
                    ThresholdKey::from_bytes(&hex::decode(text.trim())?).context("the dealing file does not decode")?
                }
                (None, None) => bail!("give --share or --dealing"),
            };
            dealing.check()?;
            let chain = node(cli).await?;
            let genesis = chain.genesis().clone();
            if genesis.audit_keys.get(*key_index as usize) != Some(&dealing.public) {
                bail!("the dealing is not of the chain's audit key {key_index}");
            }
            let record = AuditAccessRecord {
                chain_id: genesis.chain_id.clone(),
                audit_key_index: *key_index,
                case_reference: case.clone(),
                from_height: *from,
                to_height: *to,
                threshold: dealing.threshold,
                share_keys: dealing.share_keys.clone(),
                signatures: vec![],
            };
            if path.exists() {
                bail!("{} already exists; nothing was written", path.display());
            }
            write_private(path, hex::encode(record.to_bytes()).as_bytes())?;
            writeln!(
                out,
                "access record {} for case {case:?}, heights {from}..={to}: {} signatures needed",
                record.id(),
                record.threshold
            )?;
            writeln!(out, "written to {}; each supervisor runs `ctchain-audit access sign`", path.display())?;
            Ok(())
        }
        AccessCommand::Sign { record: path, share } => {
            let mut record = read_record(path)?;
            let (share, dealing) = open_share(share, &password(cli.password_file.as_deref())?)?;
            if record.share_keys != dealing.share_keys || record.threshold != dealing.threshold {
                bail!("this share is from another split than the one the record names");
            }
            let index = share.index();
            if record.signatures.iter().any(|s| s.supervisor == index) {
                bail!("supervisor {index} has already signed this record");
            }
            let signature = share.sign_access(&dealing, &record.id(), &mut OsRng)?;
            record.signatures.push(signature);
            record.signatures.sort_by_key(|s| s.supervisor);
            write_private(path, hex::encode(record.to_bytes()).as_bytes())?;
            writeln!(
                out,
                "supervisor {index} signed access record {} ({} of {} signatures)",
                record.id(),
                record.signatures.len(),
                record.threshold
            )?;
            Ok(())
        }
        AccessCommand::Submit { record: path } => {
            let record = read_record(path)?;
            let chain = node(cli).await?;
            let id = chain
                .rpc()
                .audit_submit_access(hex::encode(record.to_bytes()))
                .await
                .context("the node refused the record")?
                .id;
            let height = chain.wait_committed(&id, Duration::from_millis(200), Duration::from_secs(120)).await?;
            writeln!(out, "access record {id} committed at height {height}")?;
            Ok(())
        }
    }
}

async fn log(chain: &Chain<impl Rpc>, out: &mut dyn Write) -> Result<()> {
    let log = chain.rpc().audit_access_log().await.context("asking for the access log")?;
    if log.is_empty() {
        writeln!(out, "no audit access has been recorded")?;
    }
    for a in log {
        writeln!(
            out,
            "height {} record {}: case {:?}, heights {}..={}, audit key {}, signed by supervisors {:?} ({} of {} needed)",
            a.height, a.id, a.case_reference, a.from_height, a.to_height, a.audit_key_index, a.signers, a.threshold, a.supervisors
        )?;
    }
    Ok(())
}

/// The committed access record with this id: shown to be in a certified block, and checked again locally (a
/// record that was signed but never committed authorises nothing).
async fn access_record(chain: &Chain<impl Rpc>, genesis: &Genesis, id: &str) -> Result<AuditAccessRecord> {
    let record = match chain.committed_tx(id).await {
        Ok(CommittedTx { tx: LedgerTx::AuditAccess(record), .. }) => record,
        Ok(_) => bail!("{id} is a transaction, not an audit-access record"),
        Err(LightError::NotCommitted { .. }) => {
            bail!("no committed audit-access record {id}: record the access on chain first")
        }
        Err(e) => return Err(e.into()),
    };
    let verified =
        record.verify(&genesis.chain_id, &genesis.audit_keys).context("the access record does not verify")?;
    Ok(verified.record().clone())
}

fn dealing_of(record: &AuditAccessRecord, genesis: &Genesis) -> Result<ThresholdKey> {
    let public = *genesis
        .audit_keys
        .get(record.audit_key_index as usize)
        .ok_or_else(|| anyhow!("no audit key {}", record.audit_key_index))?;
    Ok(ThresholdKey { public, threshold: record.threshold, share_keys: record.share_keys.clone() })
}

/// A partial file: the access record id it answers, the last height it covers (a record may authorise heights the
/// chain has not reached yet; a partial covers what existed when it was made), then the partial; canonical bytes, hex.
fn write_partial(path: &Path, id: &TxId, covered_to: u64, partial: &PartialDecryption) -> Result<()> {
    let mut w = Writer::new();
    w.put(id);
    w.u64(covered_to);
    w.put(partial);
    if path.exists() {
        bail!("{} already exists; nothing was written", path.display());
    }
    Ok(write_private(path, hex::encode(w.into_bytes()).as_bytes())?)
}

fn read_partial(path: &Path) -> Result<(TxId, u64, PartialDecryption)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
    let mut r = Reader::new(&bytes);
    let parsed = (|| Ok::<_, ctchain_codec::DecodeError>((r.get()?, r.u64("covered height")?, r.get()?)))();
    let (id, covered_to, partial) =
        parsed.with_context(|| format!("{} is not a partial decryption", path.display()))?;
    r.finish().with_context(|| format!("{} has trailing bytes", path.display()))?;
    Ok((id, covered_to, partial))
}

async fn partial(
    chain: &Chain<impl Rpc>,
    access: &str,
    (share, dealing): &(KeyShare, ThresholdKey),
    tx: Option<&str>,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let genesis = chain.genesis().clone();
    let record = access_record(chain, &genesis, access).await?;
    if record.share_keys != dealing.share_keys || record.threshold != dealing.threshold {
        bail!("this share is from another split than the one access record {access} names");
    }
    let chain_dealing = dealing_of(&record, &genesis)?;
    let (request, covered_to, what) = match tx {
        Some(txid) => {
            let (tx_id, height, _) = committed_confidential(chain, txid).await?;
            if height < record.from_height || height > record.to_height {
                bail!(
                    "transaction {txid} is at height {height}, outside the authorised range {}..={}",
                    record.from_height,
                    record.to_height
                );
            }
            let block = chain.block(height).await?.block;
            let request = evidence::request_for(&block, &tx_id, record.audit_key_index, Some(&record))?;
            (request, height, format!("transaction {tx_id} (for an evidence bundle)"))
        }
        None => {
            let tip = chain.height().await?;
            let to = record.to_height.min(tip);
            if to < record.from_height {
                bail!(
                    "nothing to decrypt yet: the record starts at height {}, the chain is at {tip}",
                    record.from_height
                );
            }
            // The confidential outputs only: a split key does not cover the shielded pool.
            let outputs = range_contents(chain, record.from_height, to).await?.outputs;
            let context = record.id().as_bytes().to_vec();
            let request = decrypt::request(context, &outputs, record.audit_key_index as usize)?;
            (request, to, format!("{} outputs at heights {}..={to}", outputs.len(), record.from_height))
        }
    };
    let partial = share.partial_decrypt(&chain_dealing, &request, &mut OsRng)?;
    write_partial(path, &record.id(), covered_to, &partial)?;
    writeln!(
        out,
        "supervisor {}: proven partial decryption of {what} for case {:?} written to {}",
        share.index(),
        record.case_reference,
        path.display()
    )?;
    Ok(())
}

async fn combine(
    chain: &Chain<impl Rpc>,
    access: &str,
    db: &Path,
    paths: &[PathBuf],
    out: &mut dyn Write,
) -> Result<()> {
    let genesis = chain.genesis().clone();
    let record = access_record(chain, &genesis, access).await?;
    let dealing = dealing_of(&record, &genesis)?;
    let mut read = Vec::new();
    for path in paths {
        let (id, covered_to, p) = read_partial(path)?;
        if id != record.id() {
            bail!("{} answers access record {id}, not {}", path.display(), record.id());
        }
        read.push((path, covered_to, p));
    }
    // Every partial must cover the same heights: they were made when the chain had reached `to`.
    let covered: BTreeSet<u64> = read.iter().map(|(_, c, _)| *c).collect();
    let to = match covered.iter().collect::<Vec<_>>()[..] {
        [&to] if to >= record.from_height && to <= record.to_height => to,
        [&to] => bail!(
            "the partials cover heights up to {to}, outside the record's {}..={}",
            record.from_height,
            record.to_height
        ),
        _ => bail!(
            "the partials cover different heights (up to {covered:?}); ask the supervisors for partials of one range"
        ),
    };
    let contents = range_contents(chain, record.from_height, to).await?;
    let outputs = contents.outputs;
    let request = decrypt::request(record.id().as_bytes().to_vec(), &outputs, record.audit_key_index as usize)?;
    let mut partials = Vec::new();
    let mut invalid = BTreeSet::new();
    for (path, _, p) in read {
        match dealing.verify_partial(&request, &p) {
            Ok(()) => partials.push(p),
            Err(e) => {
                writeln!(out, "REJECTED {}: {e}", path.display())?;
                invalid.insert(p.index);
            }
        }
    }
    let points = dealing.combine(&request, &partials).map_err(|e| match e {
        threshold::ThresholdError::NotEnoughPartials { valid, needed, .. } => anyhow!(
            "{valid} valid partial decryptions, {needed} are needed (invalid: supervisors {:?}); nothing was decrypted",
            invalid
        ),
        other => anyhow!(other),
    })?;
    let decrypted = decrypt::finish(&outputs, record.audit_key_index as usize, &points, &mut Tables::default())?;
    let recs = records(&genesis, &decrypted)?;
    let db_handle = AuditDb::open(db, &genesis.hash().to_string())?;
    // A split key cannot read the shielded pool: its transactions are listed as not decrypted, unless a whole key
    // already decrypted them into this database.
    let done: BTreeSet<String> = db_handle
        .records(record.from_height, to)?
        .into_iter()
        .filter(|r| r.pool == Pool::Shielded)
        .map(|r| r.tx_id)
        .collect();
    let not_decrypted: Vec<NotDecrypted> = contents
        .shielded
        .iter()
        .filter(|s| !done.contains(&s.tx_id.to_string()))
        .map(|s| s.not_decrypted(NotDecryptedReason::SplitKey))
        .collect();
    db_handle.store(record.from_height, to, &recs, &not_decrypted)?;
    writeln!(
        out,
        "combined {} valid partials of supervisors {:?} for case {:?}: {} outputs at heights {}..={to} decrypted into {}",
        partials.len(),
        partials.iter().map(|p| p.index).collect::<Vec<_>>(),
        record.case_reference,
        recs.len(),
        record.from_height,
        db.display()
    )?;
    for n in &not_decrypted {
        print_not_decrypted(out, n)?;
    }
    Ok(())
}

// ---- AML ----

fn load_rules(path: &Path) -> Result<RuleSet> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading rule file {}", path.display()))?;
    RuleSet::from_toml(&text).with_context(|| format!("rule file {}", path.display()))
}

fn open_db_for_reading(db: &Path) -> Result<AuditDb> {
    if !db.exists() {
        bail!("no audit database at {}: run `scan` or `combine` first", db.display());
    }
    Ok(AuditDb::open_existing(db)?)
}

fn show(db: &Path, from: u64, to: u64, out: &mut dyn Write) -> Result<()> {
    let db = open_db_for_reading(db)?;
    let records = db.records(from, to)?;
    let missing = db.not_decrypted(from, to)?;
    // In height order: the transactions not decrypted among the records.
    let mut pending = missing.iter().peekable();
    for r in &records {
        while let Some(n) = pending.next_if(|n| n.height < r.height) {
            print_not_decrypted(out, n)?;
        }
        write!(out, "height {} tx {}", r.height, r.tx_id)?;
        print_record(out, r)?;
    }
    for n in pending {
        print_not_decrypted(out, n)?;
    }
    writeln!(out, "{} records", records.len())?;
    print_missing_summary(out, &missing)?;
    Ok(())
}

/// The warning that some transactions were not decrypted (nothing if all were).
fn print_missing_summary(out: &mut dyn Write, missing: &[NotDecrypted]) -> Result<()> {
    if !missing.is_empty() {
        writeln!(
            out,
            "WARNING: {} transactions ({} outputs) were NOT decrypted and are in no record: {}",
            missing.len(),
            missing.iter().map(|n| u64::from(n.outputs)).sum::<u64>(),
            missing
                .iter()
                .map(|n| n.reason.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("; ")
        )?;
    }
    Ok(())
}

fn run_aml(db: &Path, rules: &Path, dir: &Path, overwrite: bool, out: &mut dyn Write) -> Result<()> {
    let rules = load_rules(rules)?;
    let db = open_db_for_reading(db)?;
    let records = db.all()?;
    let missing = db.not_decrypted(0, u64::MAX)?;
    let alerts = aml::run(&records, &rules);
    let report = report::Report::new(&records, &alerts, &rules)?.with_not_decrypted(&missing);
    let files =
        report.write_dir(dir, if overwrite { report::Overwrite::Replace } else { report::Overwrite::Refuse })?;
    writeln!(out, "{} records, {} alerts", records.len(), alerts.len())?;
    for a in &alerts {
        print_alert(out, a)?;
    }
    // The rules could not judge these: said here and in the reports.
    print_missing_summary(out, &missing)?;
    writeln!(out, "reports: {}, {}, {}", files.json.display(), files.csv.display(), files.html.display())?;
    Ok(())
}

// ---- live supervision ----

#[allow(clippy::too_many_arguments)]
async fn watch(
    ws: &str,
    trust: GenesisTrust,
    key_index: u32,
    keys: &RegulatorKeys,
    db_path: &Path,
    rules: &Path,
    until: Option<u64>,
    out: &mut dyn Write,
) -> Result<()> {
    let rules = load_rules(rules)?;
    let client = jsonrpsee::ws_client::WsClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .build(ws)
        .await
        .with_context(|| format!("connecting to {ws}"))?;
    let chain = LightClient::connect(client, trust).await?;
    let genesis = chain.genesis().clone();
    decrypt::check_keys(&genesis, key_index as usize, keys)?;
    let db = AuditDb::open(db_path, &genesis.hash().to_string())?;
    // Subscribe first, then catch up: a block committed in between is seen twice, never missed (storing a record
    // again replaces it with itself).
    let mut heads = chain.rpc().subscribe_new_heads().await.context("subscribing to new heads")?;
    let mut tables = Tables::default();
    let mut seen_alerts = BTreeSet::new();
    for a in aml::run(&db.all()?, &rules) {
        seen_alerts.insert(alert_key(&a));
    }
    let mut next = db.height()? + 1;
    writeln!(out, "watching {} from height {next}", genesis.chain_id)?;
    loop {
        // Decrypt everything up to the tip, then run the rules once: a long catch-up costs one AML pass, not one
        // per block, while a block that arrives alone is judged as soon as it is stored.
        let tip = chain.height().await?;
        let stop = until.map_or(tip, |u| tip.min(u));
        if next <= stop {
            while next <= stop {
                let block = chain.block(next).await?.block;
                let contents = BlockContents::of_block(&block);
                let d = decrypt::decrypt_whole(&genesis, key_index as usize, keys, &contents, &mut tables)?;
                db.store(next, next, &d.records, &d.not_decrypted)?;
                for r in &d.records {
                    write!(out, "height {next} tx {}", r.tx_id)?;
                    print_record(out, r)?;
                }
                for n in &d.not_decrypted {
                    print_not_decrypted(out, n)?;
                }
                next += 1;
            }
            for a in aml::run(&db.all()?, &rules) {
                if seen_alerts.insert(alert_key(&a)) {
                    print_alert(out, &a)?;
                }
            }
            out.flush()?;
        }
        if until.is_some_and(|u| next > u) {
            return Ok(());
        }
        match heads.next().await {
            Some(Ok(_head)) => {}
            Some(Err(e)) => bail!("subscription: {e}"),
            None => bail!("the node closed the subscription"),
        }
    }
}

fn print_alert(out: &mut dyn Write, a: &aml::Alert) -> Result<()> {
    writeln!(
        out,
        "ALERT {} [{}] {} — transactions {}",
        a.rule.as_str(),
        a.severity.as_str(),
        a.explanation,
        a.tx_ids.join(", ")
    )?;
    Ok(())
}

fn alert_key(a: &aml::Alert) -> (String, Vec<String>, String) {
    (a.rule.as_str().to_string(), a.tx_ids.clone(), a.addresses.join(","))
}

// ---- the demo's closing view ----

/// The regulator's view of a whole chain, as text: every output of both pools decrypted with `keys` (the
/// confidential key must be the chain's audit key 0; without a shielded key, each shielded transaction is listed as
/// not decrypted) and the alerts of the rule file `rules_toml`. The node's demo ends with it.
pub async fn regulator_view<C: ChainApiClient + Send + Sync>(
    chain: &LightClient<C>,
    keys: &RegulatorKeys,
    rules_toml: &str,
) -> Result<String> {
    let rules = RuleSet::from_toml(rules_toml).context("the demo's rule file")?;
    let genesis = chain.genesis().clone();
    decrypt::check_keys(&genesis, 0, keys)?;
    let tip = chain.height().await?;
    let contents = range_contents(chain, 1, tip).await?;
    let Decryption { records: recs, not_decrypted, dummies } =
        decrypt::decrypt_whole(&genesis, 0, keys, &contents, &mut Tables::default())?;
    let mut out = Vec::new();
    let shielded = recs.iter().filter(|r| r.pool == Pool::Shielded).count();
    writeln!(
        out,
        "    {} outputs ({shielded} shielded) at heights 1..={tip}, every amount decrypted and proven{}:",
        recs.len(),
        dummies_text(dummies)
    )?;
    // Addresses and owner tags shortened to their first characters: a terminal line per output.
    let short = |a: &str| a.chars().take(18).collect::<String>() + "…";
    for r in &recs {
        let pool = match r.pool {
            Pool::Confidential => "",
            Pool::Shielded => " shielded",
        };
        writeln!(
            out,
            "    height {} tx {}…{pool} output {}: {:>16} {} {:<8}  {} → {}  memo {:?}{}",
            r.height,
            r.tx_id.chars().take(12).collect::<String>(),
            r.output_index,
            aml::format_display_amount(u128::from(r.amount), r.decimals),
            r.asset_label,
            r.kind.as_str(),
            r.sender.as_deref().map_or("-".into(), short),
            short(&r.receiver),
            r.memo,
            if r.memo_matches_amount { "" } else { "  MEMO DISAGREES" }
        )?;
    }
    for n in &not_decrypted {
        write!(out, "    ")?;
        print_not_decrypted(&mut out, n)?;
    }
    let alerts = aml::run(&recs, &rules);
    writeln!(out, "    AML: {} alerts", alerts.len())?;
    for a in &alerts {
        write!(out, "    ")?;
        print_alert(&mut out, a)?;
    }
    Ok(String::from_utf8(out)?)
}

// ---- evidence ----

/// How an evidence bundle's decryption is proven.
enum Decryptor {
    /// A whole key (at this genesis index) proves its own decryption.
    Whole(u32, AuditSecretKey),
    /// Supervisors' partials (files) under a committed access record (id).
    Partials(String, Vec<PathBuf>),
}

async fn evidence(chain: &Chain<impl Rpc>, txid: &str, how: Decryptor, path: &Path, out: &mut dyn Write) -> Result<()> {
    if path.exists() {
        bail!("{} already exists; nothing was written", path.display());
    }
    let genesis = chain.genesis().clone();
    let (tx_id, height, inclusion) = committed_confidential(chain, txid).await?;
    let certified = chain.block(height).await?;
    let located =
        evidence::Located { tx_id, block: certified.block, certificate: certified.certificate_bytes, inclusion };
    let (bundle, decrypted) = match how {
        Decryptor::Whole(key_index, secret) => {
            Evidence::with_whole_key(&genesis, located, key_index, &secret, &mut OsRng)?
        }
        Decryptor::Partials(access, files) => {
            let record = access_record(chain, &genesis, &access).await?;
            let dealing = dealing_of(&record, &genesis)?;
            let mut partials = Vec::new();
            for file in &files {
                let (id, _, p) = read_partial(file)?;
                if id != record.id() {
                    bail!("{} answers access record {id}, not {}", file.display(), record.id());
                }
                partials.push(p);
            }
            let key_index = record.audit_key_index;
            Evidence::from_partials(&genesis, located, key_index, dealing, Some(record), partials)?
        }
    };
    // Check before writing: a bundle that would not verify is never handed out.
    bundle.verify(&genesis.hash().to_string())?;
    write_private(path, &bundle.to_bytes())?;
    writeln!(out, "evidence for transaction {} (height {height}) written to {}", tx_id, path.display())?;
    for r in records(&genesis, &decrypted)? {
        print_record(out, &r)?;
    }
    writeln!(
        out,
        "verify offline with: ctchain-audit verify-evidence {} --genesis-hash {}",
        path.display(),
        genesis.hash()
    )?;
    Ok(())
}

fn verify_evidence(path: &Path, genesis_hash: &str, out: &mut dyn Write) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bundle =
        Evidence::from_bytes(&bytes).with_context(|| format!("{} is not an evidence bundle", path.display()))?;
    let v = bundle.verify(genesis_hash).with_context(|| format!("evidence {} does NOT verify", path.display()))?;
    writeln!(
        out,
        "evidence verified: transaction {} at height {} ({}) on chain {}, final under the genesis validators' certificate",
        v.tx_id,
        v.height,
        report::utc_text(v.timestamp_ms),
        v.chain_id
    )?;
    if let Some(case) = &v.case_reference {
        writeln!(out, "decrypted under audit-access record for case {case:?}")?;
    }
    for o in &v.outputs {
        writeln!(
            out,
            "  output {}: amount {} (base units)  from {}  to {}  memo {:?}{}",
            o.index,
            o.amount,
            o.sender.as_deref().unwrap_or("-"),
            o.receiver,
            o.memo,
            if o.memo_agrees { "" } else { "  MEMO DISAGREES WITH THE PROVEN AMOUNT" }
        )?;
    }
    Ok(())
}

/// Writes a supervisor's file (dealings, records, partials, evidence) whole, readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ctchain_files::FileError> {
    ctchain_files::write_atomic(path, bytes, ctchain_files::Replace::Allow, ctchain_files::Access::OwnerOnly)
}
