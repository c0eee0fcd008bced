//! AML rules: each fires on a crafted scenario and stays silent just below its boundary.

mod common;

use common::transfer;
use ctchain_audit::aml::{run, AuditRecord, RuleError, RuleId, RuleSet};

const RULES: &str = r#"
[[asset]]
label = "CNY"
decimals = 2

[large_value]
CNY = "50000.00"

[structuring]
min_count = 3
window_seconds = 3600
lower_percent = 80

[velocity]
window_seconds = 60
max_count = 3
direction = "both"

[pass_through]
window_seconds = 600
min_ratio_percent = 90

[[watch]]
address = "bad"
reason = "sanctions list"
"#;

fn rules_fired(records: &[AuditRecord]) -> Vec<RuleId> {
    let rules = RuleSet::from_toml(RULES).expect("test rules parse");
    run(records, &rules).into_iter().map(|alert| alert.rule).collect()
}

#[test]
fn large_value_fires_at_threshold_not_one_unit_below() {
    assert_eq!(rules_fired(&[transfer("a", 0, "x", "y", 5_000_000)]), vec![RuleId::LargeValue]);
    assert!(rules_fired(&[transfer("a", 0, "x", "y", 4_999_999)]).is_empty());
}

#[test]
fn structuring_needs_min_count_inside_the_window() {
    // 80% of 50,000.00 = 40,000.00 = 4,000,000 units; three of them inside one hour.
    let burst = [
        transfer("a", 0, "s", "r1", 4_000_000),
        transfer("b", 1200, "s", "r2", 4_999_999),
        transfer("c", 3599, "s", "r3", 4_500_000),
    ];
    assert_eq!(rules_fired(&burst), vec![RuleId::Structuring]);
    // The third one hour later leaves the window: the window is (t - 3600 s, t].
    let spread = [burst[0].clone(), burst[1].clone(), transfer("c", 3600, "s", "r3", 4_500_000)];
    assert!(rules_fired(&spread).is_empty());
    // One unit below the lower bound does not qualify.
    let low = [burst[0].clone(), burst[1].clone(), transfer("c", 3599, "s", "r3", 3_999_999)];
    assert!(rules_fired(&low).is_empty());
}

#[test]
fn velocity_fires_above_max_count_in_a_sliding_window() {
    let four: Vec<AuditRecord> =
        (0..4).map(|i| transfer(&format!("t{i}"), i * 10, "busy", &format!("r{i}"), 100)).collect();
    let alerts = rules_fired(&four);
    assert_eq!(alerts, vec![RuleId::Velocity]);
    let three = &four[..3];
    assert!(rules_fired(three).is_empty());
}

#[test]
fn watch_list_and_memo_mismatch_fire() {
    let mut lying = transfer("m", 0, "x", "y", 100);
    lying.memo = "<script>alert(1)</script>".into();
    lying.memo_matches_amount = false;
    let fired = rules_fired(&[transfer("w", 0, "x", "bad", 100), lying]);
    assert_eq!(fired, vec![RuleId::WatchList, RuleId::MemoMismatch]);
}

#[test]
fn pass_through_fires_at_min_ratio_not_below() {
    let through = [transfer("in", 0, "a", "mule", 10_000), transfer("out", 300, "mule", "b", 9_000)];
    assert_eq!(rules_fired(&through), vec![RuleId::PassThrough]);
    let kept = [transfer("in", 0, "a", "mule", 10_000), transfer("out", 300, "mule", "b", 8_999)];
    assert!(rules_fired(&kept).is_empty());
}

#[test]
fn results_do_not_depend_on_input_order() {
    let rules = RuleSet::from_toml(RULES).expect("parse");
    let mut records: Vec<AuditRecord> =
        (0..50).map(|i| transfer(&format!("t{i:02}"), i * 7, &format!("s{}", i % 3), "bad", 4_500_000)).collect();
    let forward = run(&records, &rules);
    records.reverse();
    assert_eq!(forward, run(&records, &rules));
    assert!(!forward.is_empty());
}

#[test]
fn rule_file_errors_name_the_field() {
    let unknown = RULES.replace("CNY = \"50000.00\"", "USD = \"1.00\"");
    assert!(
        matches!(RuleSet::from_toml(&unknown), Err(RuleError::UnknownAsset { field, .. }) if field == "large_value.USD")
    );
    let precise = RULES.replace("50000.00", "50000.001");
    let error = RuleSet::from_toml(&precise).expect_err("too many decimals");
    assert!(error.to_string().starts_with("large_value.CNY:"), "{error}");
    let negative = RULES.replace("window_seconds = 60", "window_seconds = -5");
    assert!(
        matches!(RuleSet::from_toml(&negative), Err(RuleError::OutOfRange { field, .. }) if field == "velocity.window_seconds")
    );
    let unknown_rule = format!("{RULES}\n[round_amounts]\nenabled = true\n");
    assert!(matches!(RuleSet::from_toml(&unknown_rule), Err(RuleError::Syntax(_))));
}

#[test]
fn hundred_thousand_records_give_exactly_the_planted_alerts() {
    let rules = RuleSet::from_toml(RULES).expect("parse");
    // 100k small transfers, each sender sending once per ten minutes: nothing fires...
    let mut records: Vec<AuditRecord> = (0..100_000u64)
        .map(|i| {
            transfer(&format!("{i:08x}"), (i / 1000) * 600, &format!("s{}", i % 1000), &format!("r{}", i % 997), 100)
        })
        .collect();
    // ...except one planted large transfer.
    records.push(transfer("planted", 5, "p", "q", 6_000_000));
    let alerts = run(&records, &rules);
    let fired: Vec<RuleId> = alerts.iter().map(|alert| alert.rule).collect();
    assert_eq!(fired, vec![RuleId::LargeValue], "{:?}", alerts.first());
}

/// The documented example rule file in `examples/` is what the README points to; loading it here keeps it valid.
#[test]
fn the_example_rule_file_loads_with_every_rule_enabled() {
    let rules = RuleSet::from_toml(include_str!("../examples/aml-rules.toml")).expect("example rule file parses");
    assert!(rules.structuring.is_some() && rules.velocity.is_some() && rules.pass_through.is_some());
    assert!(rules.memo_mismatch && !rules.watch.is_empty());
    for (label, asset) in &rules.assets {
        assert!(asset.large_value.is_some() && asset.velocity_max_sum.is_some(), "{label}");
        assert!(asset.pass_through_min_amount > 0, "{label}");
    }
    // And every rule in it can fire: one crafted scenario per rule.
    let watched = rules.watch[0].address.clone().unwrap();
    let mut lying = transfer("memo", 9000, "m1", "m2", 100);
    lying.memo_matches_amount = false;
    let mut records = vec![
        transfer("large", 0, "a", "b", 5_000_000),
        transfer("struct-1", 100, "s", "x1", 4_000_000),
        transfer("struct-2", 200, "s", "x2", 4_100_000),
        transfer("struct-3", 300, "s", "x3", 4_200_000),
        transfer("mule-in", 5000, "c", "mule", 2_000_000),
        transfer("mule-out", 5100, "mule", "d", 1_900_000),
        transfer("watched", 7000, "e", &watched, 100),
        lying,
    ];
    // An alias: the output "o-1" was paid to identity 01; the transaction spending it names identity 02.
    let mut paid = transfer("paid", 8000, "f", "g", 100);
    (paid.output_id, paid.receiver_identity) = ("o-1".into(), Some("01".into()));
    let mut alias = transfer("alias", 8100, "h", "i", 100);
    (alias.spends, alias.sender_identity, alias.sender_proven) = (vec!["o-1".into()], Some("02".into()), true);
    records.extend([paid, alias]);
    records.extend((0..21).map(|i| transfer(&format!("fast-{i:02}"), 20_000 + i, "busy", &format!("f{i}"), 100)));
    let mut fired: Vec<RuleId> = run(&records, &rules).into_iter().map(|alert| alert.rule).collect();
    fired.sort();
    fired.dedup();
    assert_eq!(fired, RuleId::ALL.to_vec());
}

/// The evasion of issue 17: a watch-listed payer's memo names another address, but the record carries the proven
/// identity, which the listed address's spend key matches; and a listed customer is found by the directory's name.
#[test]
fn a_watched_party_is_found_by_its_proven_identity_and_by_customer_whatever_the_memo_says() {
    use ctchain_crypto::WalletKeys;
    use rand_core::OsRng;
    let watched = WalletKeys::random(&mut OsRng).address();
    let watched_text = ctchain_keystore::address::encode_address("ctchain-test", &watched);
    let rules = RuleSet::from_toml(&format!(
        "{RULES}\n[[watch]]\naddress = \"{watched_text}\"\nreason = \"court order\"\n[[watch]]\ncustomer = \"Blue Lantern\"\nreason = \"adverse media\"\n"
    ))
    .unwrap();
    let mut spoofed = transfer("s", 0, "identity 00ff", "y", 100);
    spoofed.sender_identity = Some(hex::encode(watched.spend.as_bytes()));
    spoofed.sender_proven = true;
    spoofed.memo_disagrees = vec!["sender".into()];
    let alerts = run(&[spoofed], &rules);
    let rules_hit: Vec<RuleId> = alerts.iter().map(|a| a.rule).collect();
    assert_eq!(rules_hit, vec![RuleId::WatchList, RuleId::MemoMismatch]);
    assert!(alerts[0].explanation.contains("court order") && alerts[0].explanation.contains("sent"));
    assert!(alerts[1].explanation.contains("memo names another sender"), "{}", alerts[1].explanation);

    let mut to_customer = transfer("c", 0, "x", "y", 100);
    to_customer.receiver_customer = Some("Blue Lantern".into());
    let alerts = run(&[to_customer], &rules);
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].explanation.starts_with("watch-listed customer Blue Lantern (adverse media) received"));

    let both = RuleSet::from_toml(&format!("{RULES}\n[[watch]]\naddress = \"a\"\ncustomer = \"b\"\nreason = \"r\"\n"));
    assert!(both.unwrap_err().to_string().contains("exactly one of address and customer"));
}
