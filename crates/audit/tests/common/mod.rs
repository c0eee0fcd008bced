//! Record builders shared by the AML tests and the benchmark (which includes this file by path).
#![allow(dead_code)] // Each test binary uses a different subset.

use ctchain_audit::aml::{AuditRecord, Pool, RecordKind};

/// A CNY transfer (2 decimals) at `seconds` after the epoch, at height `seconds`, output 0, empty memo.
pub fn transfer(tx: &str, seconds: u64, from: &str, to: &str, amount: u64) -> AuditRecord {
    AuditRecord {
        tx_id: tx.to_owned(),
        output_index: 0,
        height: seconds,
        timestamp_ms: seconds * 1000,
        asset_id: "00".into(),
        asset_label: "CNY".into(),
        decimals: 2,
        amount,
        kind: RecordKind::Transfer,
        sender: Some(from.to_owned()),
        receiver: to.to_owned(),
        memo: String::new(),
        memo_matches_amount: true,
        pool: Pool::Confidential,
        ..Default::default()
    }
}

/// `count` transfers among 1000 senders and 997 receivers over one week, two assets, amounts from a fixed
/// pseudo-random sequence (so every run sees the same data), with planted patterns so that every transfer rule has
/// work to do: occasional large values and memo mismatches, and per few thousand records one structuring burst,
/// one velocity burst and one pass-through (the bursts fit their windows from about 5,000 records a week upwards).
pub fn synthetic(count: u64) -> Vec<AuditRecord> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: tiny, fast, and the same on every machine.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let start = 1_700_000_000;
    (0..count)
        .map(|i| {
            let roll = next();
            let seconds = start + i * 604_800 / count.max(1);
            let mut record =
                transfer(&format!("{i:016x}"), seconds, &format!("s{}", i % 1000), &format!("r{}", i % 997), 0);
            record.amount = if roll % 1000 == 0 { 5_000_000 + roll % 2_000_000 } else { 100 + roll % 500_000 };
            if roll % 7 == 0 {
                record.asset_label = "USD".into();
                record.asset_id = "01".into();
            }
            match (i % 2000, i % 3000, i % 1500) {
                (0..=2, _, _) => {
                    record.sender = Some(format!("structurer-{}", i / 2000));
                    record.amount = 4_100_000 + roll % 800_000;
                    record.asset_label = "CNY".into();
                }
                (_, 100..=124, _) => record.sender = Some(format!("burst-{}", i / 3000)),
                (_, _, 700) => {
                    record.receiver = format!("mule-{}", i / 1500);
                    record.amount = 3_000_000;
                    record.asset_label = "CNY".into();
                }
                (_, _, 701) => {
                    record.sender = Some(format!("mule-{}", i / 1500));
                    record.amount = 2_900_000;
                    record.asset_label = "CNY".into();
                }
                _ => {}
            }
            if record.asset_label == "CNY" {
                record.asset_id = "00".into();
            }
            if roll % 5003 == 0 {
                record.memo = format!("invoice {}", roll % 10_000);
                record.memo_matches_amount = false;
            }
            record
        })
        .collect()
}
