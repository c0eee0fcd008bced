//! `ctchain-devnet`: the demo and the load generator on a local chain of `ctchain-node` processes (which it
//! finds next to itself: build both, e.g. `cargo build -p ctchain-node -p ctchain-devnet`).

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ctchain-devnet", version, about = "ctchain local chains: the demo and the load generator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: a four-validator chain on loopback doing confidential transfers that a regulator audits.
    Demo {
        /// Keep the chain's directory instead of deleting it.
        #[arg(long)]
        keep: bool,
        /// First port: p2p uses BASE+i, RPC BASE+100+i, metrics BASE+200+i.
        #[arg(long, default_value_t = 27600)]
        base_port: u16,
    },
    /// Load test: pre-built transfers submitted to a local 4-validator chain; reports committed TPS, latency and the
    /// raw verification throughput of the same transactions on this machine.
    Loadgen {
        /// Transfers to submit.
        #[arg(long, default_value_t = 2_000)]
        txs: usize,
        /// Concurrent submissions.
        #[arg(long, default_value_t = 64)]
        in_flight: usize,
        /// First port (see `demo`).
        #[arg(long, default_value_t = 28600)]
        base_port: u16,
        /// Kill or pause the primary part-way through the submissions.
        #[arg(long, value_enum)]
        fault: Option<ctchain_devnet::loadgen::Fault>,
        /// When to inject the fault: the share of transfers submitted by then, or `full-block` (once the first
        /// full block committed).
        #[arg(long, default_value = "0.3")]
        fault_at: ctchain_devnet::loadgen::FaultAt,
        /// The primary waits for full blocks (2 000 transfers; batching delay 25 s, view timeout 30 s).
        #[arg(long)]
        full_blocks: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Chaos: a local 4-validator chain under client load while one validator at a time is killed and restarted,
    /// paused and resumed, cut off from its peers, or loses one link; checks one height and state root everywhere, every acknowledged transfer committed,
    /// and the receiver's balance.
    Chaos {
        /// Fault events.
        #[arg(long, default_value_t = 20)]
        events: usize,
        /// Transfers submitted around each event.
        #[arg(long, default_value_t = 20)]
        transfers_per_event: usize,
        /// Seed of the event sequence (default: from the clock, printed).
        #[arg(long)]
        seed: Option<u64>,
        /// First port (see `demo`).
        #[arg(long, default_value_t = 28900)]
        base_port: u16,
    },
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { keep, base_port } => ctchain_devnet::demo::run(keep, base_port).await,
        Command::Chaos { events, transfers_per_event, seed, base_port } => {
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
            });
            let options = ctchain_devnet::chaos::ChaosOptions { events, transfers_per_event, seed, base_port };
            let r = ctchain_devnet::chaos::run(options).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Command::Loadgen { txs, in_flight, base_port, fault, fault_at, full_blocks, json } => {
            let options = ctchain_devnet::loadgen::LoadOptions {
                count: txs,
                in_flight,
                base_port,
                fault: fault.map(|f| (f, fault_at)),
                full_blocks,
            };
            let r = ctchain_devnet::loadgen::run(options).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "transfers             {} submitted, {} committed in {} blocks",
                r.transactions, r.committed, r.blocks
            );
            println!("committed throughput  {:.0} tx/s", r.committed_tps);
            println!("commit latency        p50 {:.0} ms, p99 {:.0} ms", r.latency_p50_ms, r.latency_p99_ms);
            println!(
                "raw verification      {:.0} tx/s on {} cores (same transactions, in-process)",
                r.raw_verify_tps, r.cores
            );
            println!(
                "ratio                 {:.2} (raw verification / committed; 1.0 = the chain adds nothing)",
                r.ratio
            );
            println!(
                "per validator         {:.2} (4 validators share these cores, each verifies every transaction)",
                r.ratio_per_validator
            );
            println!("longest commit gap    {:.1} s", r.longest_gap_ms / 1_000.0);
            println!(
                "blocks                largest {} transfers (limit {}), {} full, {} full in a later view than the \
                 first; final view {}",
                r.largest_block, r.max_block_txs, r.full_blocks, r.full_blocks_in_later_views, r.final_view
            );
            if let Some(f) = &r.fault {
                println!(
                    "fault                 {} of validator {} (the primary) at {:.1} s; {} transfers submitted again",
                    f.kind,
                    f.validator,
                    f.at_ms / 1_000.0,
                    f.resubmitted
                );
            }
            Ok(())
        }
    }
}
