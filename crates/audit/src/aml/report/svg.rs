//! Inline SVG charts. Geometry is computed in `f64` and printed with one decimal, so the same report always gives
//! the same bytes; amounts shown as text come from the exact display strings, never from the floats.

use std::fmt::Write;

use super::compute::{DAY_MS, HOUR_MS, MINUTE_MS};
use super::html::escape;
use super::{AssetCounterparties, AssetFlows, RuleCount};
use ctchain_display::amount::format_grouped;

/// Okabe–Ito colours: distinguishable with the common forms of colour blindness, and in greyscale print.
const PALETTE: [&str; 7] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"];

/// The colour of series `index`.
pub(super) fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

fn open(out: &mut String, width: u32, height: u32, label: &str) {
    // No xmlns: inline SVG in HTML needs none, and the report names no URL at all.
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"{label}\"><title>{label}</title>",
        label = escape(label)
    );
}

/// Smallest of 1, 2, 5 × 10^k at or above `max` (1 for 0), so axis labels are round numbers in base units.
fn nice_ceiling(max: u128) -> u128 {
    let mut power: u128 = 1;
    while let Some(next) = power.checked_mul(10) {
        if next > max {
            break;
        }
        power = next;
    }
    [1, 2, 5, 10].iter().filter_map(|&step| power.checked_mul(step)).find(|&top| top >= max).unwrap_or(max).max(1)
}

fn ratio(value: u128, top: u128) -> f64 {
    if top == 0 {
        0.0
    } else {
        value as f64 / top as f64
    }
}

/// Horizontal bars: alerts per rule, every rule shown, zeros included, so absence is visible too.
pub(super) fn alerts_by_rule(counts: &[RuleCount]) -> String {
    const WIDTH: u32 = 640;
    const LABEL: f64 = 130.0;
    const ROW: f64 = 30.0;
    const TOP: f64 = 12.0;
    let height = (TOP * 2.0 + ROW * counts.len() as f64).ceil() as u32;
    let max = counts.iter().map(|entry| entry.count).max().unwrap_or(0);
    let bar_space = f64::from(WIDTH) - LABEL - 70.0;
    let mut out = String::new();
    open(&mut out, WIDTH, height, "Alerts by rule");
    for (index, entry) in counts.iter().enumerate() {
        let y = TOP + ROW * index as f64;
        let width = ratio(u128::from(entry.count), u128::from(max)) * bar_space;
        let rule = escape(entry.rule.as_str());
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"label\">{rule}</text>",
            LABEL - 8.0,
            y + 17.0
        );
        if entry.count > 0 {
            let _ = write!(
                out,
                "<rect x=\"{LABEL:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"20.0\" fill=\"{}\"><title>{rule}: {} \
                 alert(s)</title></rect>",
                y + 3.0,
                colour(index),
                entry.count
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{}</text>",
            LABEL + width + 6.0,
            y + 17.0,
            entry.count
        );
    }
    out.push_str("</svg>");
    out
}

/// A bucket start as an axis label: dates for whole-day buckets, date and time otherwise.
fn time_label(ms: u64, bucket_ms: u64) -> String {
    let text = ctchain_display::time::utc_iso(ms);
    if bucket_ms % DAY_MS == 0 {
        text[..text.len() - 14].to_owned()
    } else {
        format!("{} {}", &text[..text.len() - 14], &text[text.len() - 13..text.len() - 8])
    }
}

/// The width of a bucket in words.
pub(super) fn duration_text(ms: u64) -> String {
    let (unit, name) =
        [(DAY_MS, "day"), (HOUR_MS, "hour"), (MINUTE_MS, "minute"), (1000, "second"), (1, "millisecond")]
            .into_iter()
            .find(|&(unit, _)| ms % unit == 0)
            .unwrap_or((1, "millisecond"));
    let count = ms / unit;
    if count == 1 {
        format!("1 {name}")
    } else {
        format!("{count} {name}s")
    }
}

/// Vertical bars: the sum of one asset's transfers per bucket.
pub(super) fn flows(series: &AssetFlows, bucket_ms: u64, series_index: usize) -> String {
    const WIDTH: u32 = 960;
    const HEIGHT: u32 = 260;
    const LEFT: f64 = 104.0;
    const RIGHT: f64 = 56.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 40.0;
    let plot_width = f64::from(WIDTH) - LEFT - RIGHT;
    let plot_height = f64::from(HEIGHT) - TOP - BOTTOM;
    let baseline = TOP + plot_height;
    let max = series.buckets.iter().map(|bucket| bucket.total_amount).max().unwrap_or(0);
    let top = nice_ceiling(max);
    let asset = escape(&series.asset);
    let mut out = String::new();
    open(&mut out, WIDTH, HEIGHT, &format!("{} transfers per {} (UTC)", series.asset, duration_text(bucket_ms)));
    for tick in 0..=4u128 {
        // floor(top · tick / 4) without forming top · tick, which overflows for a top near u128::MAX (a report
        // read from JSON can hold any amount).
        let value = top / 4 * tick + top % 4 * tick / 4;
        let y = baseline - ratio(value, top) * plot_height;
        let _ = write!(
            out,
            "<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"grid\"/><text x=\"{:.1}\" \
             y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>",
            LEFT + plot_width,
            LEFT - 6.0,
            y + 4.0,
            escape(&format_grouped(value, series.decimals))
        );
    }
    let count = series.buckets.len().max(1);
    let slot = plot_width / count as f64;
    let bar = (slot * 0.8).max(0.5);
    for (index, bucket) in series.buckets.iter().enumerate() {
        if bucket.transfer_count == 0 {
            continue;
        }
        let height = ratio(bucket.total_amount, top) * plot_height;
        let x = LEFT + slot * index as f64 + (slot - bar) / 2.0;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" fill=\"{}\"><title>{}: {} \
             {asset} in {} transfer(s)</title></rect>",
            baseline - height,
            colour(series_index),
            escape(&bucket.start_utc),
            escape(&bucket.total_display),
            bucket.transfer_count
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{LEFT:.1}\" y1=\"{baseline:.1}\" x2=\"{:.1}\" y2=\"{baseline:.1}\" class=\"axis\"/>",
        LEFT + plot_width
    );
    // At most six labels, evenly spread, always the first and the last bucket.
    let labels = series.buckets.len().min(6);
    let mut last_labelled = None;
    for step in 0..labels {
        let index = if labels == 1 { 0 } else { step * (series.buckets.len() - 1) / (labels - 1) };
        if last_labelled == Some(index) {
            continue;
        }
        last_labelled = Some(index);
        let x = LEFT + slot * (index as f64 + 0.5);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{baseline:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" class=\"axis\"/><text x=\"{x:.1}\" \
             y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">{}</text>",
            baseline + 4.0,
            baseline + 18.0,
            escape(&time_label(series.buckets[index].start_ms, bucket_ms))
        );
    }
    out.push_str("</svg>");
    out
}

/// `text` cut to `keep` characters (on a character boundary) with an ellipsis, for labels whose full text is in a
/// tooltip.
pub(super) fn shorten(text: &str, keep: usize) -> String {
    if text.chars().count() <= keep {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(keep.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Horizontal stacked bars: sent and received per counterparty, largest volume first.
pub(super) fn counterparties(ranking: &AssetCounterparties) -> String {
    const WIDTH: u32 = 960;
    const LABEL: f64 = 200.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 34.0;
    let height = (TOP + 10.0 + ROW * ranking.parties.len() as f64).ceil() as u32;
    let bar_space = f64::from(WIDTH) - LABEL - 190.0;
    let max = ranking.parties.iter().map(|party| party.volume).max().unwrap_or(0);
    let asset = escape(&ranking.asset);
    let mut out = String::new();
    open(&mut out, WIDTH, height, &format!("Top counterparties in {} by transfer volume", ranking.asset));
    // Legend.
    for (index, name) in ["sent", "received"].into_iter().enumerate() {
        let x = LABEL + 110.0 * index as f64;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"8.0\" width=\"12.0\" height=\"12.0\" fill=\"{}\"/><text x=\"{:.1}\" y=\"18.0\" \
             class=\"label\">{name}</text>",
            colour(index),
            x + 18.0
        );
    }
    for (row, party) in ranking.parties.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let address = escape(&party.address);
        let sent = ratio(party.sent, max) * bar_space;
        let received = ratio(party.received, max) * bar_space;
        let tooltip = format!(
            "{address}: sent {} {asset}, received {} {asset}, {} transfer(s), {} alert(s)",
            escape(&party.sent_display),
            escape(&party.received_display),
            party.transfer_count,
            party.alert_count
        );
        let _ = write!(
            out,
            "<g><title>{tooltip}</title><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"label mono\">{}</text>\
             <rect x=\"{LABEL:.1}\" y=\"{:.1}\" width=\"{sent:.1}\" height=\"18.0\" fill=\"{}\"/><rect x=\"{:.1}\" \
             y=\"{:.1}\" width=\"{received:.1}\" height=\"18.0\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" \
             class=\"value\">{} {asset}</text>",
            LABEL - 8.0,
            y + 14.0,
            escape(&shorten(&party.address, 24)),
            y + 1.0,
            colour(0),
            LABEL + sent,
            y + 1.0,
            colour(1),
            LABEL + sent + received + 6.0,
            y + 14.0,
            escape(&party.volume_display),
        );
        if party.alert_count > 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"flag\">{} alert(s)</text>",
                f64::from(WIDTH) - 4.0,
                y + 14.0,
                party.alert_count
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceiling_rounds_up_to_one_two_five() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(5_000_000), 5_000_000);
        assert_eq!(nice_ceiling(5_000_001), 10_000_000);
        assert_eq!(nice_ceiling(u128::MAX), u128::MAX);
    }

    #[test]
    fn extreme_amounts_draw_without_overflow() {
        use super::super::FlowBucket;
        let bucket = |total_amount| FlowBucket {
            start_ms: u64::MAX - 1,
            start_utc: String::new(),
            transfer_count: 1,
            total_amount,
            total_display: String::new(),
        };
        let series =
            AssetFlows { asset: "X".into(), decimals: 18, buckets: vec![bucket(u128::MAX), bucket(u128::MAX / 3)] };
        let chart = flows(&series, 0, 0);
        assert_eq!(chart.matches("<rect ").count(), 2);
        assert!(chart.contains("340,282,366,920,938,463,463.374607431768211455"), "top tick is the exact maximum");
    }

    #[test]
    fn labels_and_durations_read_naturally() {
        assert_eq!(time_label(1_700_000_000_000, HOUR_MS), "2023-11-14 22:13");
        assert_eq!(time_label(1_700_000_000_000, DAY_MS), "2023-11-14");
        assert_eq!(duration_text(HOUR_MS), "1 hour");
        assert_eq!(duration_text(15 * MINUTE_MS), "15 minutes");
        assert_eq!(duration_text(7 * DAY_MS), "7 days");
        assert_eq!(duration_text(1500), "1500 milliseconds");
        assert_eq!(shorten("ab", 24), "ab");
        assert_eq!(shorten(&"é".repeat(30), 24).chars().count(), 24);
    }
}
