//! `ctchain-wallet`: the command line over the wallet library and the node's RPC.
//!
//! Every command prints text for people, or one JSON document with `--json`; every failure prints `error: …`
//! to standard error and exits with status 1 (2 for a malformed command line), leaving no file half-written.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use ctchain_codec::Decode;
use ctchain_crypto::SigningKey;
use ctchain_keystore::address::{decode_address, decode_shielded_address, encode_shielded_address};
use ctchain_keystore::{KeystoreFile, WalletSecret};
use ctchain_wallet::client::{FailoverSource, DEFAULT_RPC_URL};
use ctchain_wallet::history::history;
use ctchain_wallet::proof::PaymentProof;
use ctchain_wallet::session::{Outcome, Outgoing, Session, Submitted, Synced, Wait};
use ctchain_wallet::shielded::Prover;
use ctchain_wallet::sync::{chain_info, committed_tx, wait_committed, ChainSource, ShieldedSource};
use ctchain_wallet::WalletError;
use rand_core::OsRng;
use serde_json::json;
use zeroize::Zeroizing;

mod prompt;
mod render;

use prompt::{kdf, password};
use render::print;

#[derive(Parser)]
#[command(name = "ctchain-wallet", version, about = "Confidential and shielded wallet for ctchain")]
struct Cli {
    /// The keystore file (the local store sits next to it as NAME.store.json).
    #[arg(long, global = true, env = "CTCHAIN_WALLET", default_value = "wallet.json")]
    wallet: PathBuf,
    /// The node's RPC address, or several nodes' separated by commas: each request goes to the next one when a
    /// node cannot be reached.
    #[arg(long, global = true, env = "CTCHAIN_RPC", default_value = DEFAULT_RPC_URL)]
    rpc: String,
    /// A private channel to use instead of the consortium chain (`<rpc>/channels/<id>`); a wallet belongs to one
    /// chain, so keep one wallet file per channel.
    #[arg(long, global = true, env = "CTCHAIN_CHANNEL")]
    channel: Option<String>,
    /// Read the password from this file (first line) instead of prompting; `CTCHAIN_WALLET_PASSWORD` also works.
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// The shielded pool's proving parameters (transfer.pk, transfer.vk, SM3SUMS; a testnet writes them to
    /// <testnet dir>/params): needed by `shield`, `send --shielded` and `unshield`.
    #[arg(long, global = true, env = "CTCHAIN_PARAMS", value_name = "DIR")]
    params: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a wallet (shows its recovery phrase once), or a view-only wallet from an exported view key.
    New {
        /// Create a view-only wallet from `export-view-key`'s output.
        #[arg(long, value_name = "KEY")]
        view_only: Option<String>,
        /// The chain id; by default it is read from the node.
        #[arg(long)]
        chain_id: Option<String>,
        /// Cheap key derivation, for tests only: a stolen keystore is then easy to brute-force.
        #[arg(long, hide = true)]
        insecure_fast_kdf: bool,
    },
    /// Rebuild a wallet from its 24-word recovery phrase.
    Restore {
        /// Read the phrase from this file instead of prompting.
        #[arg(long)]
        phrase_file: Option<PathBuf>,
        /// The chain id; by default it is read from the node.
        #[arg(long)]
        chain_id: Option<String>,
        #[arg(long, hide = true)]
        insecure_fast_kdf: bool,
    },
    /// Create an asset issuer's key in its own keystore and print its public key (for the genesis).
    NewIssuerKey {
        /// Where to write the issuer keystore.
        #[arg(long)]
        out: PathBuf,
        /// The chain id the key is for.
        #[arg(long)]
        chain_id: String,
        #[arg(long, hide = true)]
        insecure_fast_kdf: bool,
    },
    /// Put an existing issuer secret (hex, e.g. from a testnet's secrets) into an issuer keystore.
    ImportIssuerKey {
        /// File holding the 32-byte issuer secret in hex.
        #[arg(long)]
        secret_file: PathBuf,
        /// Where to write the issuer keystore.
        #[arg(long)]
        out: PathBuf,
        /// The chain id the key is for.
        #[arg(long)]
        chain_id: String,
        #[arg(long, hide = true)]
        insecure_fast_kdf: bool,
    },
    /// Print the wallet's address.
    Address,
    /// Print the wallet's shielded address (for `send --shielded`).
    ShieldedAddress,
    /// Scan the chain for this wallet's outputs, notes and spends.
    Sync,
    /// Balances per asset (syncs first).
    Balance {
        /// Show the last synced state (the node is still asked for the chain's assets).
        #[arg(long)]
        no_sync: bool,
    },
    /// Transactions with counterparty, amount, memo, height and time (syncs first).
    History {
        /// Show the last synced state (the node is still asked for the chain's assets).
        #[arg(long)]
        no_sync: bool,
    },
    /// Send a confidential payment, or with --shielded a payment from notes to a shielded address.
    Send {
        /// Recipient address (a shielded address with --shielded).
        #[arg(long)]
        to: String,
        /// Pay from this wallet's notes to a shielded address: the chain sees neither party nor the amount.
        #[arg(long)]
        shielded: bool,
        /// Asset label (e.g. CNY) or id.
        #[arg(long)]
        asset: String,
        /// Amount in the asset's display units, e.g. 12.50.
        #[arg(long)]
        amount: String,
        /// A note only the recipient and the regulators can read.
        #[arg(long, default_value = "")]
        memo: String,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Issue new units of an asset (needs the asset's issuer keystore).
    Issue {
        /// The issuer keystore (`new-issuer-key`); its password comes from `CTCHAIN_ISSUER_PASSWORD`,
        /// `--issuer-password-file`, or a prompt.
        #[arg(long)]
        issuer_key: PathBuf,
        /// Read the issuer keystore's password from this file.
        #[arg(long)]
        issuer_password_file: Option<PathBuf>,
        /// Asset label or id.
        #[arg(long)]
        asset: String,
        /// Amount in display units.
        #[arg(long)]
        amount: String,
        /// Recipient (default: this wallet).
        #[arg(long)]
        to: Option<String>,
        /// Note.
        #[arg(long, default_value = "issuance")]
        memo: String,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Destroy (redeem) units of an asset held by this wallet.
    Burn {
        /// Asset label or id.
        #[arg(long)]
        asset: String,
        /// Amount in display units.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Move value from this wallet's confidential outputs into its notes in the shielded pool.
    Shield {
        /// Asset label or id.
        #[arg(long)]
        asset: String,
        /// Amount in display units (public: the pool boundary shows what crosses it).
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Move value from this wallet's notes back into a confidential output.
    Unshield {
        /// Asset label or id.
        #[arg(long)]
        asset: String,
        /// Amount in display units (public: the pool boundary shows what crosses it).
        #[arg(long)]
        amount: String,
        /// Confidential recipient (default: this wallet).
        #[arg(long)]
        to: Option<String>,
        /// A note only the recipient and the regulators can read.
        #[arg(long, default_value = "")]
        memo: String,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Submit a transaction written by `send`/`issue`/`burn`/`shield`/`unshield --out`.
    Submit {
        /// The file with the transaction's hex.
        file: PathBuf,
        /// Return once the node accepted it.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for the commitment.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Print the view key (with the shielded viewing key), from which `new --view-only KEY` makes a wallet that
    /// sees but cannot spend.
    ExportViewKey,
    /// Prove to a third party that an output of a transaction paid this wallet (amount and recipient).
    ProvePayment {
        /// Transaction id.
        txid: String,
        /// Output index.
        #[arg(long)]
        output: u32,
        /// Write the proof here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a payment proof against the chain (needs no wallet).
    VerifyPayment {
        /// The proof file.
        proof: PathBuf,
    },
}

#[derive(clap::Args)]
struct SubmitArgs {
    /// Return once the node accepted the transaction, without waiting for its block.
    #[arg(long)]
    no_wait: bool,
    /// Write the signed transaction (hex) to this file and do not submit it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds to wait for the commitment.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        if e.downcast_ref::<OutcomeUnknown>().is_some() {
            std::process::exit(3);
        }
        if json {
            println!("{}", json!({ "error": format!("{e:#}") }));
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn wallet_password(cli: &Cli, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    password(cli.password_file.as_deref(), "CTCHAIN_WALLET_PASSWORD", "Wallet password", confirm)
}

fn open_wallet(cli: &Cli) -> anyhow::Result<(KeystoreFile, WalletSecret)> {
    let file = KeystoreFile::read(&cli.wallet)?;
    let pw = wallet_password(cli, false)?;
    let secret = file.open(pw.as_bytes())?;
    Ok((file, secret))
}

async fn chain_id_for_new(cli: &Cli, given: Option<&String>) -> anyhow::Result<String> {
    match given {
        Some(id) => Ok(id.clone()),
        None => {
            let source = FailoverSource::new(&ctchain_rpc::channel_url(&cli.rpc, cli.channel.as_deref()))?;
            let info =
                chain_info(&source, None).await.context("reading the chain id from the node (or give --chain-id)")?;
            Ok(info.chain_id)
        }
    }
}

/// The wallet opened on the node's chain, with its store.
async fn start(cli: &Cli) -> anyhow::Result<Session<FailoverSource>> {
    let (file, secret) = open_wallet(cli)?;
    Ok(Session::with_secret(
        FailoverSource::new(&ctchain_rpc::channel_url(&cli.rpc, cli.channel.as_deref()))?,
        &cli.wallet,
        file,
        secret,
    )
    .await?)
}

/// A session about to build a transaction: it first takes the audit keys of the next block's epoch and the
/// assets listed, from the chain's governance (followed from the genesis by the light client).
async fn start_building(cli: &Cli) -> anyhow::Result<Session<FailoverSource>> {
    let mut s = start(cli).await?;
    s.follow_chain_rules().await?;
    Ok(s)
}

/// Syncs both pools, with a progress bar for the confidential scan on a terminal.
async fn sync_with_progress(s: &mut Session<FailoverSource>, json: bool) -> anyhow::Result<Synced> {
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("scanning {bar:40} {pos}/{len} blocks ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let start = s.store.scanned_height;
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total.saturating_sub(start));
            bar.set_position(done.saturating_sub(start));
        }
    };
    let report = s.sync(&mut progress).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

/// The proving key from `--params`, checked against the chain.
fn prover(cli: &Cli, s: &Session<FailoverSource>) -> anyhow::Result<Prover> {
    let dir = cli.params.as_deref().ok_or(WalletError::NoParameters)?;
    Ok(Prover::load(dir, &s.chain)?)
}

/// Writes a built transaction to `--out`, or submits it and (unless told not to) waits for its block.
async fn finish(
    s: &mut Session<FailoverSource>,
    outgoing: Outgoing,
    args: &SubmitArgs,
    json: bool,
) -> anyhow::Result<()> {
    let id = outgoing.tx_id().to_owned();
    if let Some(out) = &args.out {
        if out.exists() {
            bail!("{} already exists", out.display());
        }
        std::fs::write(out, outgoing.hex()).with_context(|| format!("writing {}", out.display()))?;
        print(json, json!({ "tx_id": id, "file": out }), || {
            format!("signed transaction {id} written to {} (not submitted)", out.display())
        });
        return Ok(());
    }
    let wait = (!args.no_wait)
        .then(|| Wait { interval: Duration::from_millis(300), timeout: Duration::from_secs(args.timeout) });
    let submitted = s.submit(&outgoing, wait).await?;
    report(json, &submitted)
}

/// Prints what is known of a submitted transaction; an unknown outcome ends the command with status 3.
fn report(json: bool, submitted: &Submitted) -> anyhow::Result<()> {
    print(json, serde_json::to_value(submitted)?, || render::submitted(submitted));
    match submitted.outcome {
        Outcome::Unknown { .. } => Err(OutcomeUnknown.into()),
        _ => Ok(()),
    }
}

/// A submitted transaction whose fate is not known (already reported): exit status 3, no error line.
#[derive(Debug, thiserror::Error)]
#[error("the outcome is unknown")]
struct OutcomeUnknown;

async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match &cli.command {
        Command::New { view_only, chain_id, insecure_fast_kdf } => {
            if cli.wallet.exists() {
                bail!("{} already exists; refusing to overwrite it", cli.wallet.display());
            }
            let secret = match view_only {
                Some(key) => {
                    let bytes =
                        Zeroizing::new(hex::decode(key.trim()).map_err(|_| anyhow!("the view key is not hex"))?);
                    WalletSecret::view_only_from_bytes(&bytes).map_err(|e| anyhow!("not a view key: {e}"))?
                }
                None => WalletSecret::generate(&mut OsRng),
            };
            let chain_id = chain_id_for_new(&cli, chain_id.as_ref()).await?;
            let pw = wallet_password(&cli, true)?;
            let file = KeystoreFile::seal(&chain_id, &secret, pw.as_bytes(), kdf(*insecure_fast_kdf), &mut OsRng)?;
            file.write(&cli.wallet, false)?;
            let phrase = secret.recovery_phrase().ok();
            let value = json!({ "wallet": cli.wallet, "address": file.address, "kind": file.kind, "chain_id": chain_id,
                                "recovery_phrase": phrase.as_ref().map(|p| p.as_str()) });
            let sees_notes = secret.shielded_viewing_key().is_some();
            print(json, value, || {
                render::new_wallet(&cli.wallet, &file.address, phrase.as_ref().map(|p| p.as_str()), sees_notes)
            });
        }
        Command::Restore { phrase_file, chain_id, insecure_fast_kdf } => {
            if cli.wallet.exists() {
                bail!("{} already exists; refusing to overwrite it", cli.wallet.display());
            }
            let phrase = match phrase_file {
                Some(p) => {
                    Zeroizing::new(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
                }
                None if std::io::stdin().is_terminal() => {
                    Zeroizing::new(rpassword::prompt_password("Recovery phrase (24 words): ")?)
                }
                None => bail!("no recovery phrase: use --phrase-file when not running in a terminal"),
            };
            let secret = WalletSecret::from_phrase(&phrase)?;
            let chain_id = chain_id_for_new(&cli, chain_id.as_ref()).await?;
            let pw = wallet_password(&cli, true)?;
            let file = KeystoreFile::seal(&chain_id, &secret, pw.as_bytes(), kdf(*insecure_fast_kdf), &mut OsRng)?;
            file.write(&cli.wallet, false)?;
            print(json, json!({ "wallet": cli.wallet, "address": file.address }), || {
                format!(
                    "wallet {} restored\naddress: {}\nRun `sync` to find its funds.",
                    cli.wallet.display(),
                    file.address
                )
            });
        }
        Command::NewIssuerKey { out, chain_id, insecure_fast_kdf } => {
            let key = SigningKey::random(&mut OsRng);
            let pw = password(None, "CTCHAIN_ISSUER_PASSWORD", "Issuer key password", true)
                .or_else(|_| wallet_password(&cli, true))?;
            let file = KeystoreFile::seal_issuer(chain_id, &key, pw.as_bytes(), kdf(*insecure_fast_kdf), &mut OsRng)?;
            file.write(out, false)?;
            print(json, json!({ "file": out, "issuer_public_key": file.address }), || {
                format!("issuer key {} created\npublic key: {}", out.display(), file.address)
            });
        }
        Command::ImportIssuerKey { secret_file, out, chain_id, insecure_fast_kdf } => {
            let text = Zeroizing::new(
                std::fs::read_to_string(secret_file).with_context(|| format!("reading {}", secret_file.display()))?,
            );
            let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| anyhow!("the issuer secret is not hex"))?);
            let key = SigningKey::from_bytes(&bytes).map_err(|e| anyhow!("not an issuer secret: {e}"))?;
            let pw = password(None, "CTCHAIN_ISSUER_PASSWORD", "Issuer key password", true)
                .or_else(|_| wallet_password(&cli, true))?;
            let file = KeystoreFile::seal_issuer(chain_id, &key, pw.as_bytes(), kdf(*insecure_fast_kdf), &mut OsRng)?;
            file.write(out, false)?;
            print(json, json!({ "file": out, "issuer_public_key": file.address }), || {
                format!("issuer key {} imported\npublic key: {}", out.display(), file.address)
            });
        }
        Command::Address => {
            // The address is public in the keystore: no password needed.
            let file = KeystoreFile::read(&cli.wallet)?;
            print(json, json!({ "address": file.address, "kind": file.kind, "chain_id": file.chain_id }), || {
                file.address.clone()
            });
        }
        Command::ShieldedAddress => {
            let (file, secret) = open_wallet(&cli)?;
            let viewer = secret.shielded_viewing_key().ok_or(WalletError::NoShieldedKey)?;
            let address = encode_shielded_address(&file.chain_id, &viewer.address());
            print(json, json!({ "shielded_address": address, "chain_id": file.chain_id }), || address.clone());
        }
        Command::Sync => {
            let mut s = start(&cli).await?;
            let r = sync_with_progress(&mut s, json).await?;
            print(json, serde_json::to_value(&r)?, || render::synced(&r));
        }
        Command::Balance { no_sync } => {
            let mut s = start(&cli).await?;
            if !no_sync {
                sync_with_progress(&mut s, json).await?;
            }
            let (confidential, shielded) = s.balances();
            let rows = render::balance_rows(&s.chain, &confidential);
            let shielded_rows = s.chain.shielded.is_some().then(|| render::balance_rows(&s.chain, &shielded));
            let view_only = s.keystore.kind == ctchain_keystore::KeyKind::ViewOnly;
            let tree_size = s.store.shielded.tree_size;
            let value = json!({ "height": s.store.scanned_height, "view_only": view_only, "balances": rows,
                                "shielded": shielded_rows.as_ref().map(|r| json!({ "tree_size": tree_size, "balances": r })) });
            print(json, value, || {
                render::balances(s.store.scanned_height, &rows, shielded_rows.as_deref().map(|r| (tree_size, r)))
            });
        }
        Command::History { no_sync } => {
            let mut s = start(&cli).await?;
            if !no_sync {
                sync_with_progress(&mut s, json).await?;
            }
            let rows = render::history_rows(&s.chain, &history(&s.store));
            print(json, json!({ "history": rows }), || render::history_table(&rows));
        }
        Command::Send { to, shielded: true, asset, amount, memo, submit } => {
            if !memo.is_empty() {
                bail!("a shielded payment carries no memo (a note holds only asset, value and owner); drop --memo");
            }
            // Everything that needs neither the node nor the parameters is checked first.
            let to = decode_shielded_address(&KeystoreFile::read(&cli.wallet)?.chain_id, to)?;
            let mut s = start_building(&cli).await?;
            s.shielded_request(asset, amount)?;
            if s.shielded_address()? == to {
                return Err(WalletError::SendToSelf(encode_shielded_address(&s.chain.chain_id, &to)).into());
            }
            let prover = prover(&cli, &s)?;
            let to = encode_shielded_address(&s.chain.chain_id, &to);
            let built = s.build_send_shielded(&prover, &to, asset, amount).await?;
            finish(&mut s, Outgoing::Shielded(built), submit, json).await?;
        }
        Command::Send { to, shielded: false, asset, amount, memo, submit } => {
            // The address is checked against the wallet's chain before anything else, node or password.
            decode_address(&KeystoreFile::read(&cli.wallet)?.chain_id, to)?;
            let mut s = start_building(&cli).await?;
            s.secret.wallet_keys()?;
            s.confidential_request(asset, amount)?;
            sync_with_progress(&mut s, json).await?;
            let built = s.build_transfer(to, asset, amount, memo).await?;
            finish(&mut s, Outgoing::Confidential(built), submit, json).await?;
        }
        Command::Shield { asset, amount, submit } => {
            let mut s = start_building(&cli).await?;
            s.shielded_request(asset, amount)?;
            let prover = prover(&cli, &s)?;
            let built = s.build_shield(&prover, asset, amount).await?;
            finish(&mut s, Outgoing::Shielded(built), submit, json).await?;
        }
        Command::Unshield { asset, amount, to, memo, submit } => {
            let wallet_chain = KeystoreFile::read(&cli.wallet)?.chain_id;
            if let Some(to) = to {
                decode_address(&wallet_chain, to)?;
            }
            let mut s = start_building(&cli).await?;
            s.shielded_request(asset, amount)?;
            let prover = prover(&cli, &s)?;
            let built = s.build_unshield(&prover, asset, amount, to.as_deref(), memo).await?;
            finish(&mut s, Outgoing::Shielded(built), submit, json).await?;
        }
        Command::Issue { issuer_key, issuer_password_file, asset, amount, to, memo, submit } => {
            if let Some(to) = to {
                decode_address(&KeystoreFile::read(&cli.wallet)?.chain_id, to)?;
            }
            let mut s = start_building(&cli).await?;
            let file = KeystoreFile::read(issuer_key)?;
            let pw =
                password(issuer_password_file.as_deref(), "CTCHAIN_ISSUER_PASSWORD", "Issuer key password", false)?;
            let key = file.open_issuer(pw.as_bytes())?;
            let built = s.build_issue(&key, asset, amount, to.as_deref(), memo)?;
            finish(&mut s, Outgoing::Confidential(built), submit, json).await?;
        }
        Command::Burn { asset, amount, submit } => {
            let mut s = start_building(&cli).await?;
            s.secret.wallet_keys()?;
            s.confidential_request(asset, amount)?;
            sync_with_progress(&mut s, json).await?;
            let built = s.build_burn(asset, amount).await?;
            finish(&mut s, Outgoing::Confidential(built), submit, json).await?;
        }
        Command::Submit { file, no_wait, timeout } => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let source = FailoverSource::new(&ctchain_rpc::channel_url(&cli.rpc, cli.channel.as_deref()))?;
            // A shielded transaction goes to its own method; the two encodings cannot be mistaken for each other.
            let bytes = hex::decode(text.trim())
                .map_err(|_| anyhow!("{} does not hold a transaction's hex", file.display()))?;
            let tx_id = match ctchain_ledger::ShieldedTx::from_bytes(&bytes) {
                Ok(tx) => tx.id().to_string(),
                Err(_) => ctchain_crypto::Transaction::from_bytes(&bytes)
                    .map_err(|e| anyhow!("{} does not hold a transaction: {e}", file.display()))?
                    .id()
                    .to_string(),
            };
            let submission = if ctchain_ledger::ShieldedTx::from_bytes(&bytes).is_ok() {
                source.shielded_submit(text.trim()).await
            } else {
                source.submit(text.trim()).await
            };
            let unknown = |e: WalletError| Outcome::Unknown { reason: e.to_string() };
            let outcome = match submission {
                Err(e) if e.outcome_unknown() => unknown(e),
                Err(e) => return Err(e.into()),
                Ok(_) if *no_wait => Outcome::Pending,
                Ok(_) => {
                    match wait_committed(&source, &tx_id, Duration::from_millis(300), Duration::from_secs(*timeout))
                        .await
                    {
                        Ok(height) => Outcome::Committed { height },
                        Err(e) if e.outcome_unknown() => unknown(e),
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            report(json, &Submitted { tx_id, outcome })?;
        }
        Command::ExportViewKey => {
            let (file, secret) = open_wallet(&cli)?;
            let key = Zeroizing::new(hex::encode(secret.view_key_bytes()));
            print(json, json!({ "view_key": key.as_str(), "address": file.address }), || {
                format!(
                    "{}\n(anyone with this key sees this wallet's incoming funds, amounts and memos, its notes and \
                     when they are spent, but cannot spend)",
                    key.as_str()
                )
            });
        }
        Command::ProvePayment { txid, output, out } => {
            let s = start(&cli).await?;
            let (tx, height, _) = committed_tx(&s.source, txid.trim()).await?;
            let proof = PaymentProof::create(&s.secret.viewing_keys(), &s.chain, &tx, height, *output, &mut OsRng)?;
            match out {
                Some(path) => {
                    if path.exists() {
                        bail!("{} already exists", path.display());
                    }
                    std::fs::write(path, proof.to_json()).with_context(|| format!("writing {}", path.display()))?;
                    if !json {
                        println!("payment proof written to {}", path.display());
                    } else {
                        println!("{}", json!({ "file": path }));
                    }
                }
                None => println!("{}", proof.to_json()),
            }
        }
        Command::VerifyPayment { proof } => {
            let text = std::fs::read_to_string(proof).with_context(|| format!("reading {}", proof.display()))?;
            let proof = PaymentProof::from_json(&text)?;
            let source = FailoverSource::new(&ctchain_rpc::channel_url(&cli.rpc, cli.channel.as_deref()))?;
            let chain = chain_info(&source, None).await?;
            let (_, _, evidence) = committed_tx(&source, &proof.tx_id).await?;
            let v = proof.verify(&chain, &evidence)?;
            print(json, serde_json::to_value(&v)?, || render::verified_payment(&v));
        }
    }
    Ok(())
}
