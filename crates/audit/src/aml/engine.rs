//! The rules engine: sorted indexes and two-pointer sliding windows, `O(n log n)` in the number of records.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::rules::{Direction, RuleSet, WatchEntry};
use super::{AuditRecord, RecordKind};
use ctchain_display::amount::format_grouped;

/// Which rule raised an alert. The declaration order is the tie-break order of alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    /// A listed address took part.
    WatchList,
    /// A single transfer at or above the threshold.
    LargeValue,
    /// Several transfers just below the threshold.
    Structuring,
    /// Funds received and sent on within a short window.
    PassThrough,
    /// Too many or too much in a window.
    Velocity,
    /// The memo disagreed with a proven field.
    MemoMismatch,
    /// A transaction's proven sender is not the proven receiver of an output it spends: an identity the spender
    /// also controls (an alias).
    SenderNotOwner,
}

impl RuleId {
    /// Every rule, in tie-break order.
    pub const ALL: [RuleId; 7] = [
        RuleId::WatchList,
        RuleId::LargeValue,
        RuleId::Structuring,
        RuleId::PassThrough,
        RuleId::Velocity,
        RuleId::MemoMismatch,
        RuleId::SenderNotOwner,
    ];

    /// The id as written in reports (`"large-value"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::WatchList => "watch-list",
            RuleId::LargeValue => "large-value",
            RuleId::Structuring => "structuring",
            RuleId::PassThrough => "pass-through",
            RuleId::Velocity => "velocity",
            RuleId::MemoMismatch => "memo-mismatch",
            RuleId::SenderNotOwner => "sender-not-owner",
        }
    }
}

/// How urgently a supervisor should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Review.
    Medium,
    /// Review first.
    High,
}

impl Severity {
    /// The severity as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One suspicious finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// Addresses involved, the one the rule is about first.
    pub addresses: Vec<String>,
    /// Asset label.
    pub asset: String,
    /// Decimals used for display amounts.
    pub decimals: u8,
    /// Sum of the triggering amounts, base units.
    pub total_amount: u128,
    /// The same in display units (`"50,000.00"`).
    pub total_display: String,
    /// Triggering transactions, in time order.
    pub tx_ids: Vec<String>,
    /// Their block heights, parallel to `tx_ids`.
    pub heights: Vec<u64>,
    /// Timestamp of the first triggering record, ms.
    pub window_start_ms: u64,
    /// Timestamp of the last triggering record, ms.
    pub window_end_ms: u64,
    /// What happened, in words, amounts in display units.
    pub explanation: String,
}

/// A window's running aggregate; the engine adds records entering on the right and removes those leaving on the left.
trait WindowAggregate {
    fn add(&mut self, position: usize);
    fn remove(&mut self, position: usize);
    fn fires(&self, right: usize) -> bool;
}

/// Slides a window of `window_ms` over `times` (sorted) and returns the merged position ranges `[first, last]` of
/// windows that fire. A window ending at `right` holds the positions whose time `s` has `times[right] - s < window_ms`.
fn firing_episodes(times: &[u64], window_ms: u64, aggregate: &mut impl WindowAggregate) -> Vec<(usize, usize)> {
    let mut episodes: Vec<(usize, usize)> = Vec::new();
    let mut left = 0;
    for right in 0..times.len() {
        aggregate.add(right);
        while times[right] - times[left] >= window_ms {
            aggregate.remove(left);
            left += 1;
        }
        if aggregate.fires(right) {
            match episodes.last_mut() {
                // Overlapping firing windows are one burst: one alert, not one per record.
                Some(last) if left <= last.1 => last.1 = right,
                _ => episodes.push((left, right)),
            }
        }
    }
    episodes
}

struct Context<'a> {
    records: &'a [AuditRecord],
    rules: &'a RuleSet,
}

impl Context<'_> {
    fn decimals(&self, record: &AuditRecord) -> u8 {
        self.rules.assets.get(&record.asset_label).map_or(record.decimals, |asset| asset.decimals)
    }

    fn alert(
        &self,
        rule: RuleId,
        severity: Severity,
        addresses: Vec<String>,
        members: &[usize],
        total_amount: u128,
        explanation: impl FnOnce(&str) -> String,
    ) -> Option<Alert> {
        let first = &self.records[*members.first()?];
        let last = &self.records[*members.last()?];
        let decimals = self.decimals(first);
        let total_display = format_grouped(total_amount, decimals);
        let explanation = explanation(&format!("{total_display} {}", first.asset_label));
        Some(Alert {
            rule,
            severity,
            addresses,
            asset: first.asset_label.clone(),
            decimals,
            total_amount,
            total_display,
            tx_ids: members.iter().map(|&index| self.records[index].tx_id.clone()).collect(),
            heights: members.iter().map(|&index| self.records[index].height).collect(),
            window_start_ms: first.timestamp_ms,
            window_end_ms: last.timestamp_ms,
            explanation,
        })
    }

    fn amount_text(&self, record: &AuditRecord) -> String {
        format!("{} {}", format_grouped(u128::from(record.amount), self.decimals(record)), record.asset_label)
    }
}

fn seconds(window_ms: u64) -> String {
    format!("{} s", window_ms / 1000)
}

/// Runs every enabled rule over `records` (any order) and returns the alerts in a deterministic order.
pub fn run(records: &[AuditRecord], rules: &RuleSet) -> Vec<Alert> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| records[a].order_key().cmp(&records[b].order_key()));
    let context = Context { records, rules };
    let mut alerts = Vec::new();
    watch_list(&context, &order, &mut alerts);
    large_value(&context, &order, &mut alerts);
    structuring(&context, &order, &mut alerts);
    pass_through(&context, &order, &mut alerts);
    velocity(&context, &order, &mut alerts);
    memo_mismatch(&context, &order, &mut alerts);
    sender_not_owner(&context, &order, &mut alerts);
    // Stable sort over a deterministic generation order: same input, same output.
    alerts.sort_by(|a, b| {
        (a.window_start_ms, a.rule, a.tx_ids.first(), &a.addresses).cmp(&(
            b.window_start_ms,
            b.rule,
            b.tx_ids.first(),
            &b.addresses,
        ))
    });
    alerts
}

fn transfers<'a>(context: &'a Context<'a>, order: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
    order.iter().copied().filter(|&index| context.records[index].kind == RecordKind::Transfer)
}

fn watch_list(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    let entries: Vec<(&WatchEntry, Option<String>)> =
        context.rules.watch.iter().map(|entry| (entry, entry.identity())).collect();
    if entries.is_empty() {
        return;
    }
    for &index in order {
        let record = &context.records[index];
        let sides = [
            (record.sender.as_deref(), record.sender_identity.as_deref(), record.sender_customer.as_deref(), "sent"),
            (
                Some(record.receiver.as_str()),
                record.receiver_identity.as_deref(),
                record.receiver_customer.as_deref(),
                "received",
            ),
        ];
        let hit = sides.iter().find_map(|&(text, identity, customer, role)| {
            entries.iter().find_map(|(entry, listed_identity)| {
                let by_address = entry.address.is_some()
                    && (entry.address.as_deref() == text
                        || (listed_identity.is_some() && listed_identity.as_deref() == identity));
                let by_customer = entry.customer.is_some() && entry.customer.as_deref() == customer;
                (by_address || by_customer).then_some((*entry, text, role))
            })
        });
        let Some((entry, text, role)) = hit else { continue };
        let texts: Vec<&str> = sides.iter().filter_map(|s| s.0).collect();
        let mut addresses: Vec<String> = text.into_iter().map(str::to_owned).collect();
        addresses.extend(texts.into_iter().filter(|other| Some(*other) != text).map(str::to_owned));
        let amount = context.amount_text(record);
        let listed = match (&entry.address, &entry.customer) {
            (Some(address), _) => format!("watch-listed address {address}"),
            (None, Some(customer)) => format!("watch-listed customer {customer}"),
            (None, None) => "watch-listed party".into(),
        };
        let reason = &entry.reason;
        // One alert per record even when both sides are listed; the addresses list names both.
        alerts.extend(context.alert(
            RuleId::WatchList,
            Severity::High,
            addresses,
            &[index],
            record.amount.into(),
            |_| format!("{listed} ({reason}) {role} {amount}"),
        ));
    }
}

fn large_value(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    for index in transfers(context, order) {
        let record = &context.records[index];
        let Some(threshold) = context.rules.assets.get(&record.asset_label).and_then(|asset| asset.large_value) else {
            continue;
        };
        if record.amount < threshold {
            continue;
        }
        let addresses = record.sender.iter().cloned().chain([record.receiver.clone()]).collect();
        let threshold_text = format_grouped(threshold.into(), context.decimals(record));
        alerts.extend(context.alert(
            RuleId::LargeValue,
            Severity::Medium,
            addresses,
            &[index],
            record.amount.into(),
            |total| format!("single transfer of {total} is at or above the large-value threshold of {threshold_text}"),
        ));
    }
}

struct CountWindow {
    count: usize,
    min_count: usize,
}

impl WindowAggregate for CountWindow {
    fn add(&mut self, _: usize) {
        self.count += 1;
    }
    fn remove(&mut self, _: usize) {
        self.count -= 1;
    }
    fn fires(&self, _: usize) -> bool {
        self.count >= self.min_count
    }
}

fn structuring(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    let Some(rule) = &context.rules.structuring else { return };
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for index in transfers(context, order) {
        let record = &context.records[index];
        let (Some(sender), Some(threshold)) = (
            record.sender.as_deref(),
            context.rules.assets.get(&record.asset_label).and_then(|asset| asset.large_value),
        ) else {
            continue;
        };
        let lower = (u128::from(threshold) * u128::from(rule.lower_percent)).div_ceil(100);
        if u128::from(record.amount) >= lower && record.amount < threshold {
            groups.entry((sender, record.asset_label.as_str())).or_default().push(index);
        }
    }
    for ((sender, _), members) in groups {
        let times: Vec<u64> = members.iter().map(|&index| context.records[index].timestamp_ms).collect();
        let mut window = CountWindow { count: 0, min_count: rule.min_count };
        for (first, last) in firing_episodes(&times, rule.window_ms, &mut window) {
            let burst = &members[first..=last];
            let total: u128 = burst.iter().map(|&index| u128::from(context.records[index].amount)).sum();
            let record = &context.records[burst[0]];
            let threshold = context.rules.assets.get(&record.asset_label).and_then(|asset| asset.large_value);
            let threshold_text = format_grouped(threshold.unwrap_or(0).into(), context.decimals(record));
            let count = burst.len();
            alerts.extend(context.alert(
                RuleId::Structuring,
                Severity::High,
                vec![sender.to_owned()],
                burst,
                total,
                |total| {
                    format!(
                    "{sender} sent {count} transfers totalling {total}, each just below the large-value threshold of \
                     {threshold_text}, with at least {} inside {}",
                    rule.min_count,
                    seconds(rule.window_ms)
                )
                },
            ));
        }
    }
}

struct VelocityWindow<'a> {
    amounts: &'a [u64],
    count: usize,
    sum: u128,
    max_count: usize,
    max_sum: Option<u64>,
}

impl WindowAggregate for VelocityWindow<'_> {
    fn add(&mut self, position: usize) {
        self.count += 1;
        self.sum += u128::from(self.amounts[position]);
    }
    fn remove(&mut self, position: usize) {
        self.count -= 1;
        self.sum -= u128::from(self.amounts[position]);
    }
    fn fires(&self, _: usize) -> bool {
        self.count > self.max_count || self.max_sum.is_some_and(|limit| self.sum > u128::from(limit))
    }
}

fn velocity(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    let Some(rule) = &context.rules.velocity else { return };
    let count_sending = matches!(rule.direction, Direction::Sending | Direction::Both);
    let count_receiving = matches!(rule.direction, Direction::Receiving | Direction::Both);
    // Key: (address, asset, side); side 0 = sending, 1 = receiving.
    let mut groups: BTreeMap<(&str, &str, u8), Vec<usize>> = BTreeMap::new();
    for index in transfers(context, order) {
        let record = &context.records[index];
        if !context.rules.assets.contains_key(&record.asset_label) {
            continue;
        }
        if let (true, Some(sender)) = (count_sending, record.sender.as_deref()) {
            groups.entry((sender, record.asset_label.as_str(), 0)).or_default().push(index);
        }
        if count_receiving {
            groups.entry((record.receiver.as_str(), record.asset_label.as_str(), 1)).or_default().push(index);
        }
    }
    for ((address, asset, side), members) in groups {
        let times: Vec<u64> = members.iter().map(|&index| context.records[index].timestamp_ms).collect();
        let amounts: Vec<u64> = members.iter().map(|&index| context.records[index].amount).collect();
        let max_sum = context.rules.assets.get(asset).and_then(|asset| asset.velocity_max_sum);
        let mut window = VelocityWindow { amounts: &amounts, count: 0, sum: 0, max_count: rule.max_count, max_sum };
        for (first, last) in firing_episodes(&times, rule.window_ms, &mut window) {
            let burst = &members[first..=last];
            let total: u128 = amounts[first..=last].iter().map(|&amount| u128::from(amount)).sum();
            let verb = if side == 0 { "sent" } else { "received" };
            let count = burst.len();
            let decimals = context.decimals(&context.records[burst[0]]);
            let limit_text = match max_sum {
                Some(limit) => {
                    format!("{} transfers or {} {asset}", rule.max_count, format_grouped(limit.into(), decimals))
                }
                None => format!("{} transfers", rule.max_count),
            };
            alerts.extend(context.alert(RuleId::Velocity, Severity::Medium, vec![address.to_owned()], burst, total, |total| {
                format!(
                    "{address} {verb} {count} transfers totalling {total}; a {} window exceeded the limit of {limit_text}",
                    seconds(rule.window_ms)
                )
            }));
        }
    }
}

struct PassThroughWindow<'a> {
    events: &'a [(usize, bool, u64)],
    received: u128,
    sent: u128,
    min_ratio_percent: u8,
    min_amount: u64,
}

impl PassThroughWindow<'_> {
    fn apply(&mut self, position: usize, add: bool) {
        let (_, is_receipt, amount) = self.events[position];
        let total = if is_receipt { &mut self.received } else { &mut self.sent };
        if add {
            *total += u128::from(amount);
        } else {
            *total -= u128::from(amount);
        }
    }
}

impl WindowAggregate for PassThroughWindow<'_> {
    fn add(&mut self, position: usize) {
        self.apply(position, true);
    }
    fn remove(&mut self, position: usize) {
        self.apply(position, false);
    }
    fn fires(&self, right: usize) -> bool {
        let ends_with_send = !self.events[right].1;
        ends_with_send
            && self.received > 0
            && self.sent >= u128::from(self.min_amount)
            && self.sent * 100 >= self.received * u128::from(self.min_ratio_percent)
    }
}

fn pass_through(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    let Some(rule) = &context.rules.pass_through else { return };
    // Events per (address, asset): (record index, is_receipt, amount), in record order.
    type Events = Vec<(usize, bool, u64)>;
    let mut groups: BTreeMap<(&str, &str), Events> = BTreeMap::new();
    for index in transfers(context, order) {
        let record = &context.records[index];
        let Some(sender) = record.sender.as_deref() else { continue };
        // A transfer to oneself moves nothing on; counting it both ways would make it look like a pass-through.
        if sender == record.receiver || !context.rules.assets.contains_key(&record.asset_label) {
            continue;
        }
        let asset = record.asset_label.as_str();
        groups.entry((record.receiver.as_str(), asset)).or_default().push((index, true, record.amount));
        groups.entry((sender, asset)).or_default().push((index, false, record.amount));
    }
    for ((address, asset), events) in groups {
        let times: Vec<u64> = events.iter().map(|&(index, _, _)| context.records[index].timestamp_ms).collect();
        let min_amount = context.rules.assets.get(asset).map_or(0, |asset| asset.pass_through_min_amount);
        let mut window = PassThroughWindow {
            events: &events,
            received: 0,
            sent: 0,
            min_ratio_percent: rule.min_ratio_percent,
            min_amount,
        };
        for (first, last) in firing_episodes(&times, rule.window_ms, &mut window) {
            let burst = &events[first..=last];
            let members: Vec<usize> = burst.iter().map(|&(index, _, _)| index).collect();
            let received: u128 = burst.iter().filter(|event| event.1).map(|event| u128::from(event.2)).sum();
            let sent: u128 = burst.iter().filter(|event| !event.1).map(|event| u128::from(event.2)).sum();
            let decimals = context.decimals(&context.records[members[0]]);
            let received_text = format_grouped(received, decimals);
            let mut addresses = vec![address.to_owned()];
            for &(index, is_receipt, _) in burst {
                let record = &context.records[index];
                let counterparty = if is_receipt { record.sender.as_deref() } else { Some(record.receiver.as_str()) };
                if let Some(counterparty) = counterparty {
                    if !addresses.iter().any(|known| known == counterparty) {
                        addresses.push(counterparty.to_owned());
                    }
                }
            }
            alerts.extend(context.alert(RuleId::PassThrough, Severity::High, addresses, &members, sent, |total| {
                format!(
                    "{address} received {received_text} {asset} and sent on {total} within {} (at least {}% passed through)",
                    seconds(rule.window_ms),
                    rule.min_ratio_percent
                )
            }));
        }
    }
}

fn memo_mismatch(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    if !context.rules.memo_mismatch {
        return;
    }
    for &index in order {
        let record = &context.records[index];
        if record.memo_matches_amount && record.memo_disagrees.is_empty() {
            continue;
        }
        let addresses = record.sender.iter().cloned().chain([record.receiver.clone()]).collect();
        let amount = context.amount_text(record);
        let parties: Vec<&str> =
            record.memo_disagrees.iter().map(String::as_str).filter(|f| *f == "sender" || *f == "receiver").collect();
        alerts.extend(context.alert(
            RuleId::MemoMismatch,
            Severity::Medium,
            addresses,
            &[index],
            record.amount.into(),
            |_| {
                if record.memo_matches_amount {
                    format!("memo names another {} than the proven one (amount {amount})", parties.join(" and "))
                } else {
                    format!("memo {:?} disagrees with the proven amount {amount}", record.memo)
                }
            },
        ));
    }
}

/// Links each spent output to its own record: the proven receiver of what a transaction spends is the identity
/// that was paid, so a proven sender that differs is an alias of the spender (the proofs allow only identities
/// whose spend secret the spender holds; see `crates/crypto/docs/party-identity.md`). Always on.
fn sender_not_owner(context: &Context<'_>, order: &[usize], alerts: &mut Vec<Alert>) {
    let owners: HashMap<&str, &str> = context
        .records
        .iter()
        .filter(|r| !r.output_id.is_empty())
        .filter_map(|r| Some((r.output_id.as_str(), r.receiver_identity.as_deref()?)))
        .collect();
    let mut judged = std::collections::HashSet::new();
    for &index in order {
        let record = &context.records[index];
        let Some(sender) = record.sender_identity.as_deref().filter(|_| record.sender_proven) else { continue };
        if record.spends.is_empty() || !judged.insert(record.tx_id.as_str()) {
            continue;
        }
        let Some((spent, owner)) =
            record.spends.iter().find_map(|s| owners.get(s.as_str()).filter(|o| **o != sender).map(|o| (s, *o)))
        else {
            continue;
        };
        let addresses = record.sender.iter().cloned().chain([record.receiver.clone()]).collect();
        let short = |h: &str| h.chars().take(16).collect::<String>();
        alerts.extend(context.alert(
            RuleId::SenderNotOwner,
            Severity::High,
            addresses,
            &[index],
            record.amount.into(),
            |_| {
                format!(
                    "the proven sender {}… is not the proven receiver {}… of output {}… it spends: an alias of the spender",
                    short(sender),
                    short(owner),
                    short(spent)
                )
            },
        ));
    }
}
