//! Building a [`Report`] from the records, the alerts and the rule set: ordering, decimals, flows, rankings.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::super::engine::{Alert, RuleId};
use super::super::rules::RuleSet;
use super::super::{AuditRecord, NotDecrypted, RecordKind};
use super::error::ReportError;
use super::model::{
    AssetCounterparties, AssetFlows, AssetRulesInForce, Counterparty, FlowBucket, Flows, PassThroughInForce, Period,
    Report, ReportAlert, ReportOptions, ReportTransaction, RuleCount, RulesInForce, StructuringInForce,
    VelocityInForce, REPORT_FORMAT,
};
use ctchain_display::amount::format_grouped;
use ctchain_display::time::utc_iso;

/// At most this many buckets when the bucket size is chosen automatically: enough to see a pattern, few enough
/// that every bar stays wider than a pixel or two on a page.
pub const AUTO_MAX_BUCKETS: u64 = 48;

/// At most this many buckets when the caller fixes the bucket size, so that a one-second bucket over a year of
/// records is an error rather than millions of SVG elements.
pub const MAX_BUCKETS: u64 = 5_000;

pub(super) const MINUTE_MS: u64 = 60_000;
pub(super) const HOUR_MS: u64 = 60 * MINUTE_MS;
pub(super) const DAY_MS: u64 = 24 * HOUR_MS;

/// Bucket sizes tried in order when none is given; past the last, whole days are used.
const BUCKET_LADDER_MS: [u64; 9] =
    [MINUTE_MS, 5 * MINUTE_MS, 15 * MINUTE_MS, HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS, 7 * DAY_MS];

impl Report {
    /// Builds a report with [`ReportOptions::default`].
    pub fn new(records: &[AuditRecord], alerts: &[Alert], rules: &RuleSet) -> Result<Self, ReportError> {
        Self::with_options(records, alerts, rules, &ReportOptions::default())
    }

    /// Builds a report. `alerts` should be what [`run`](crate::aml::run) gave for `records` and `rules`; alerts naming
    /// transactions missing from `records` are reported without their transaction details.
    pub fn with_options(
        records: &[AuditRecord],
        alerts: &[Alert],
        rules: &RuleSet,
        options: &ReportOptions,
    ) -> Result<Self, ReportError> {
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| records[a].order_key().cmp(&records[b].order_key()));
        let decimals = asset_decimals(records, &order, rules)?;
        let period = match (order.first(), order.last()) {
            (Some(&first), Some(&last)) => Some(period(records[first].timestamp_ms, records[last].timestamp_ms)),
            _ => None,
        };
        let alerts: Vec<ReportAlert> =
            alerts.iter().enumerate().map(|(index, alert)| report_alert(index, alert)).collect();
        let alerts_by_rule = RuleId::ALL
            .iter()
            .map(|&rule| RuleCount { rule, count: alerts.iter().filter(|alert| alert.rule == rule).count() as u64 })
            .collect();
        Ok(Report {
            format: REPORT_FORMAT.to_owned(),
            title: options.title.clone(),
            generated_at_ms: options.generated_at_ms,
            period,
            record_count: records.len() as u64,
            rules: rules_in_force(rules),
            alerts_by_rule,
            transactions: transactions(records, &order, &alerts, &decimals),
            flows: flows(records, &order, &decimals, options.bucket_ms)?,
            top_counterparties: top_counterparties(records, &order, &alerts, &decimals, options.top_counterparties),
            alerts,
            not_decrypted: Vec::new(),
        })
    }

    /// The report, listing `not_decrypted`: transactions the rules could not judge because their outputs were not
    /// decrypted (shielded ones without the shielded audit key, or under a split key). The HTML page warns of them
    /// at its top; a report never passes over them in silence.
    pub fn with_not_decrypted(mut self, not_decrypted: &[NotDecrypted]) -> Self {
        self.not_decrypted = not_decrypted.to_vec();
        self
    }
}

/// Decimals by asset label: the rule file's where it declares the asset, else the first record's. A record that
/// disagrees is an error, because its amounts would be shown wrongly (and the rules' thresholds misapplied).
fn asset_decimals(
    records: &[AuditRecord],
    order: &[usize],
    rules: &RuleSet,
) -> Result<BTreeMap<String, u8>, ReportError> {
    let mut decimals: BTreeMap<String, (u8, String)> = rules
        .assets
        .iter()
        .map(|(label, asset)| (label.clone(), (asset.decimals, "the rule file".to_owned())))
        .collect();
    for &index in order {
        let record = &records[index];
        match decimals.get(&record.asset_label) {
            Some((expected, source)) if *expected != record.decimals => {
                return Err(ReportError::DecimalsDisagree {
                    asset: record.asset_label.clone(),
                    expected: *expected,
                    expected_from: source.clone(),
                    tx_id: record.tx_id.clone(),
                    found: record.decimals,
                });
            }
            Some(_) => {}
            None => {
                let source = format!("transaction {}", record.tx_id);
                decimals.insert(record.asset_label.clone(), (record.decimals, source));
            }
        }
    }
    Ok(decimals.into_iter().map(|(label, (value, _))| (label, value)).collect())
}

fn period(start_ms: u64, end_ms: u64) -> Period {
    Period { start_ms, end_ms, start_utc: utc_iso(start_ms), end_utc: utc_iso(end_ms) }
}

fn report_alert(index: usize, alert: &Alert) -> ReportAlert {
    ReportAlert {
        id: alert_id(index),
        rule: alert.rule,
        severity: alert.severity,
        asset: alert.asset.clone(),
        decimals: alert.decimals,
        total_amount: alert.total_amount,
        total_display: alert.total_display.clone(),
        addresses: alert.addresses.clone(),
        tx_ids: alert.tx_ids.clone(),
        heights: alert.heights.clone(),
        window_start_ms: alert.window_start_ms,
        window_end_ms: alert.window_end_ms,
        window_start_utc: utc_iso(alert.window_start_ms),
        window_end_utc: utc_iso(alert.window_end_ms),
        explanation: alert.explanation.clone(),
    }
}

fn alert_id(index: usize) -> String {
    format!("A{:04}", index + 1)
}

fn rules_in_force(rules: &RuleSet) -> RulesInForce {
    let display = |units: u64, decimals: u8| format_grouped(units.into(), decimals);
    RulesInForce {
        assets: rules
            .assets
            .iter()
            .map(|(label, asset)| AssetRulesInForce {
                label: label.clone(),
                decimals: asset.decimals,
                large_value: asset.large_value.map(|units| display(units, asset.decimals)),
                velocity_max_sum: asset.velocity_max_sum.map(|units| display(units, asset.decimals)),
                pass_through_min_amount: display(asset.pass_through_min_amount, asset.decimals),
            })
            .collect(),
        structuring: rules.structuring.as_ref().map(|rule| StructuringInForce {
            min_count: rule.min_count as u64,
            window_seconds: rule.window_ms / 1000,
            lower_percent: rule.lower_percent,
        }),
        velocity: rules.velocity.as_ref().map(|rule| VelocityInForce {
            window_seconds: rule.window_ms / 1000,
            max_count: rule.max_count as u64,
            direction: rule.direction,
        }),
        pass_through: rules.pass_through.as_ref().map(|rule| PassThroughInForce {
            window_seconds: rule.window_ms / 1000,
            min_ratio_percent: rule.min_ratio_percent,
        }),
        watch: rules.watch.clone(),
        memo_mismatch: rules.memo_mismatch,
    }
}

fn decimals_of(decimals: &BTreeMap<String, u8>, record: &AuditRecord) -> u8 {
    // Every label was entered by `asset_decimals`; the record's own value is the same by then.
    decimals.get(&record.asset_label).copied().unwrap_or(record.decimals)
}

fn transactions(
    records: &[AuditRecord],
    order: &[usize],
    alerts: &[ReportAlert],
    decimals: &BTreeMap<String, u8>,
) -> Vec<ReportTransaction> {
    let mut alert_ids: HashMap<&str, Vec<&str>> = HashMap::new();
    for alert in alerts {
        for tx_id in alert.tx_ids.iter().collect::<BTreeSet<_>>() {
            alert_ids.entry(tx_id.as_str()).or_default().push(alert.id.as_str());
        }
    }
    order
        .iter()
        .map(|&index| &records[index])
        .filter_map(|record| {
            let ids = alert_ids.get(record.tx_id.as_str())?;
            Some(ReportTransaction {
                tx_id: record.tx_id.clone(),
                output_index: record.output_index,
                height: record.height,
                timestamp_ms: record.timestamp_ms,
                time_utc: utc_iso(record.timestamp_ms),
                kind: record.kind,
                asset: record.asset_label.clone(),
                amount: record.amount,
                amount_display: format_grouped(record.amount.into(), decimals_of(decimals, record)),
                sender: record.sender.clone(),
                receiver: record.receiver.clone(),
                memo: record.memo.clone(),
                memo_matches_amount: record.memo_matches_amount,
                pool: record.pool,
                sender_proven: record.sender_proven,
                sender_customer: record.customer_text(true),
                receiver_customer: record.customer_text(false),
                memo_disagrees: record.memo_disagrees.clone(),
                alert_ids: ids.iter().map(|&id| id.to_owned()).collect(),
            })
        })
        .collect()
}

/// Number of `bucket_ms` buckets from the one holding `first` to the one holding `last`.
fn bucket_count(first: u64, last: u64, bucket_ms: u64) -> u64 {
    last / bucket_ms - first / bucket_ms + 1
}

fn choose_bucket(first: u64, last: u64, requested: Option<u64>) -> Result<u64, ReportError> {
    if let Some(bucket_ms) = requested {
        if bucket_ms == 0 {
            return Err(ReportError::ZeroBucket);
        }
        let count = bucket_count(first, last, bucket_ms);
        if count > MAX_BUCKETS {
            return Err(ReportError::TooManyBuckets { bucket_ms, count, max: MAX_BUCKETS });
        }
        return Ok(bucket_ms);
    }
    if let Some(&bucket_ms) =
        BUCKET_LADDER_MS.iter().find(|&&bucket_ms| bucket_count(first, last, bucket_ms) <= AUTO_MAX_BUCKETS)
    {
        return Ok(bucket_ms);
    }
    // Whole days wide enough: `count <= span / bucket + 2`, so `bucket >= span / (AUTO_MAX_BUCKETS - 2)` suffices.
    let at_least = (last - first).div_ceil(AUTO_MAX_BUCKETS - 2);
    Ok(at_least.div_ceil(DAY_MS).saturating_mul(DAY_MS))
}

fn transfer_order<'a>(records: &'a [AuditRecord], order: &'a [usize]) -> impl Iterator<Item = &'a AuditRecord> + 'a {
    order.iter().map(|&index| &records[index]).filter(|record| record.kind == RecordKind::Transfer)
}

fn flows(
    records: &[AuditRecord],
    order: &[usize],
    decimals: &BTreeMap<String, u8>,
    requested_bucket: Option<u64>,
) -> Result<Flows, ReportError> {
    let mut by_asset: BTreeMap<&str, Vec<&AuditRecord>> = BTreeMap::new();
    for record in transfer_order(records, order) {
        by_asset.entry(record.asset_label.as_str()).or_default().push(record);
    }
    let first = by_asset.values().filter_map(|transfers| transfers.first()).map(|r| r.timestamp_ms).min();
    let last = by_asset.values().filter_map(|transfers| transfers.last()).map(|r| r.timestamp_ms).max();
    let bucket_ms = match (first, last) {
        (Some(first), Some(last)) => choose_bucket(first, last, requested_bucket)?,
        // No transfers: nothing to cut; still validate an explicit size, and record a sensible default.
        _ => match requested_bucket {
            Some(0) => return Err(ReportError::ZeroBucket),
            Some(bucket_ms) => bucket_ms,
            None => HOUR_MS,
        },
    };
    let mut assets = Vec::new();
    for (asset, transfers) in by_asset {
        let (Some(first), Some(last)) = (transfers.first(), transfers.last()) else { continue };
        let asset_decimals = decimals_of(decimals, first);
        let first_bucket = first.timestamp_ms / bucket_ms;
        let last_bucket = last.timestamp_ms / bucket_ms;
        // Bounded by choose_bucket: at most MAX_BUCKETS entries.
        let mut sums: Vec<(u64, u128)> = vec![(0, 0); (last_bucket - first_bucket + 1) as usize];
        for record in &transfers {
            let slot = &mut sums[(record.timestamp_ms / bucket_ms - first_bucket) as usize];
            slot.0 += 1;
            slot.1 += u128::from(record.amount);
        }
        let buckets = sums
            .into_iter()
            .enumerate()
            .map(|(offset, (transfer_count, total_amount))| {
                let start_ms = (first_bucket + offset as u64).saturating_mul(bucket_ms);
                FlowBucket {
                    start_ms,
                    start_utc: utc_iso(start_ms),
                    transfer_count,
                    total_amount,
                    total_display: format_grouped(total_amount, asset_decimals),
                }
            })
            .collect();
        assets.push(AssetFlows { asset: asset.to_owned(), decimals: asset_decimals, buckets });
    }
    Ok(Flows { bucket_ms, assets })
}

fn top_counterparties(
    records: &[AuditRecord],
    order: &[usize],
    alerts: &[ReportAlert],
    decimals: &BTreeMap<String, u8>,
    limit: usize,
) -> Vec<AssetCounterparties> {
    #[derive(Default)]
    struct Tally {
        sent: u128,
        received: u128,
        transfers: u64,
    }
    let mut by_asset: BTreeMap<&str, HashMap<&str, Tally>> = BTreeMap::new();
    for record in transfer_order(records, order) {
        let parties = by_asset.entry(record.asset_label.as_str()).or_default();
        if let Some(sender) = record.sender.as_deref() {
            let tally = parties.entry(sender).or_default();
            tally.sent += u128::from(record.amount);
            tally.transfers += 1;
        }
        let tally = parties.entry(record.receiver.as_str()).or_default();
        tally.received += u128::from(record.amount);
        // A transfer to oneself is one transfer, not two.
        if record.sender.as_deref() != Some(record.receiver.as_str()) {
            tally.transfers += 1;
        }
    }
    let mut alert_counts: HashMap<(&str, &str), u64> = HashMap::new();
    for alert in alerts {
        for address in alert.addresses.iter().collect::<BTreeSet<_>>() {
            *alert_counts.entry((alert.asset.as_str(), address.as_str())).or_default() += 1;
        }
    }
    by_asset
        .into_iter()
        .map(|(asset, parties)| {
            let asset_decimals = decimals.get(asset).copied().unwrap_or(0);
            let mut ranked: Vec<(&str, Tally)> = parties.into_iter().collect();
            // HashMap order is random; the address tie-break makes the ranking deterministic.
            ranked.sort_by(|a, b| (b.1.sent + b.1.received).cmp(&(a.1.sent + a.1.received)).then(a.0.cmp(b.0)));
            ranked.truncate(limit);
            let display = |units: u128| format_grouped(units, asset_decimals);
            let parties = ranked
                .into_iter()
                .map(|(address, tally)| Counterparty {
                    address: address.to_owned(),
                    sent: tally.sent,
                    sent_display: display(tally.sent),
                    received: tally.received,
                    received_display: display(tally.received),
                    volume: tally.sent + tally.received,
                    volume_display: display(tally.sent + tally.received),
                    transfer_count: tally.transfers,
                    alert_count: alert_counts.get(&(asset, address)).copied().unwrap_or(0),
                })
                .collect();
            AssetCounterparties { asset: asset.to_owned(), decimals: asset_decimals, parties }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_buckets_stay_within_the_limit() {
        assert_eq!(choose_bucket(0, 0, None).ok(), Some(MINUTE_MS));
        assert_eq!(choose_bucket(0, 47 * MINUTE_MS, None).ok(), Some(MINUTE_MS));
        assert_eq!(choose_bucket(0, 48 * MINUTE_MS, None).ok(), Some(5 * MINUTE_MS));
        assert_eq!(choose_bucket(0, 30 * DAY_MS, None).ok(), Some(DAY_MS));
        for (first, last) in [(0, u64::MAX), (12_345, 400 * DAY_MS), (u64::MAX - 1, u64::MAX)] {
            let bucket = choose_bucket(first, last, None).expect("automatic size");
            assert!(bucket_count(first, last, bucket) <= AUTO_MAX_BUCKETS, "{first} {last} {bucket}");
        }
        assert!(matches!(choose_bucket(0, DAY_MS, Some(0)), Err(ReportError::ZeroBucket)));
        assert!(matches!(choose_bucket(0, DAY_MS, Some(1000)), Err(ReportError::TooManyBuckets { count: 86_401, .. })));
    }
}
