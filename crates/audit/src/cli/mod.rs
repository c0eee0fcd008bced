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
//!
//! | module | commands and concern |
//! |---|---|
//! | this file | the command-line grammar and the dispatch |
//! | `keys` | `keygen`, `import`; opening keystores and shares; passwords |
//! | `chain` | every read of the chain, through the light client (certified blocks, committed records) |
//! | `scan` | `decrypt`, `scan`: decrypting with a whole key |
//! | `access` | `access request/sign/submit`, `log`, `partial`, `combine`: the access trail and threshold decryption |
//! | `partial_file` | the file format of a supervisor's partial decryption |
//! | `reports` | `show`, `aml`, `directory import/show` |
//! | `watch` | `watch`: live supervision |
//! | `bundles` | `evidence`, `verify-evidence` |
//! | `view` | the demo's closing regulator view |
//! | `print` | how records, alerts and what was not decrypted are printed |

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use ctchain_codec::{Decode, Encode, Hash32};
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
use crate::keys::{Dealings, RegulatorKeys, SupervisorKeys};
use crate::partials::PartialFile;
use crate::threshold::{self, PartialDecryption, ThresholdKey};
use crate::threshold_shielded::{self, ShieldedDealing, ShieldedPartial};

mod access;
mod bundles;
mod chain;
mod files;
mod keys;
mod partial_file;
mod print;
mod reports;
mod scan;
mod view;
mod watch;

use access::*;
use bundles::*;
use chain::*;
use files::*;
use keys::*;
use partial_file::*;
use print::*;
use reports::*;
use scan::*;
pub use view::regulator_view;
use watch::*;

#[derive(Parser)]
#[command(name = "ctchain-audit", version, about = "ctchain regulator tools: audit keys, decryption, AML, evidence")]
struct Cli {
    /// The node's JSON-RPC URL (an observer node of the regulator's own, ideally).
    #[arg(long, global = true, env = "CTCHAIN_NODE", default_value = "http://127.0.0.1:8545")]
    node: String,
    /// A private channel to read instead of the consortium chain (`<node>/channels/<id>`; the genesis hash, when
    /// given, is the channel's). Run once per channel the regulator observes, each with its own audit database.
    #[arg(long, global = true, env = "CTCHAIN_CHANNEL")]
    channel: Option<String>,
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
    /// both among N supervisors, any K of whom can decrypt (new keys, or those of a whole keystore with --split);
    /// prints the public keys the genesis lists.
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
        /// Split the keys of this whole keystore (opened with the same password) instead of new ones; the keystore
        /// itself is left in place, for its holder to destroy once every supervisor holds a share.
        #[arg(long, requires = "threshold")]
        split: Option<PathBuf>,
        /// A new confidential-pool key to rotate in by governance (`rotate-audit-key`), keeping the shielded key
        /// of this keystore: the shielded pool's audit key is the genesis's, which governance does not rotate.
        #[arg(long, conflicts_with = "threshold")]
        rotating: Option<PathBuf>,
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
        /// The audit database directory; repeat it to judge several chains together (the consortium chain and
        /// each private channel the regulator observes, each scanned into its own database).
        #[arg(long, required = true)]
        db: Vec<PathBuf>,
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
    /// The KYC directory (address → customer, member bank) that names the proven parties in `show`, `aml` and
    /// `watch`.
    #[command(subcommand)]
    Directory(DirectoryCommand),
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
enum DirectoryCommand {
    /// Replace the audit database's directory with a CSV file (`address,customer,bank`); a file with any bad line
    /// changes nothing.
    Import {
        /// The CSV file.
        csv: PathBuf,
        /// The chain the addresses are of.
        #[arg(long)]
        chain_id: String,
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
    },
    /// List the directory's customers.
    Show {
        /// The audit database directory.
        #[arg(long)]
        db: PathBuf,
    },
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
        Command::Keygen { chain_id, out: path, rotating: Some(old), .. } => {
            let old = open_whole(old, &pw()?)?;
            let keys = RegulatorKeys { confidential: AuditSecretKey::random(&mut OsRng), shielded: old.shielded };
            write_keys(chain_id, &keys, path, &new_password(cli.password_file.as_deref())?, kdf, out)
        }
        Command::Keygen { chain_id, out: path, threshold, shares, split, rotating: None } => {
            let pw = new_password(cli.password_file.as_deref())?;
            let existing = split.as_deref().map(|p| open_whole(p, &pw)).transpose()?;
            keygen(chain_id, path, *threshold, *shares, existing, &pw, kdf, out)
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
            let ws = ctchain_rpc::channel_url(ws, cli.channel.as_deref());
            watch(&ws, trust(&cli)?, key.key_index, &keys, db, rules, *until_height, out).await
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
        Command::Directory(DirectoryCommand::Import { csv, chain_id, db }) => import_directory(csv, chain_id, db, out),
        Command::Directory(DirectoryCommand::Show { db }) => show_directory(db, out),
    }
}
