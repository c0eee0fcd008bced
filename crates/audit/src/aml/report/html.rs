//! The HTML rendering: one self-contained page, no script, no external resource.

use std::collections::HashMap;
use std::fmt::Write;

use super::{svg, Report, ReportAlert, RulesInForce};

/// Transactions listed in the page at most; the JSON lists all. A browser stays responsive with this many rows.
pub(super) const MAX_TRANSACTION_ROWS: usize = 2_000;

/// Transactions linked from one alert's row at most; the rest are counted.
const MAX_TX_PER_ALERT: usize = 12;

/// `text` escaped for HTML element content and quoted attribute values.
///
/// `& < > " '` become entities. Characters a reader cannot see but that change what is shown — control characters,
/// zero-width characters, bidirectional overrides (which can display an address reversed) — are written as a
/// visible `[U+XXXX]`, because memos and addresses are written by senders and the supervisor must see exactly them.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(character),
            hidden if is_hidden(hidden) => {
                let _ = write!(out, "[U+{:04X}]", u32::from(hidden));
            }
            visible => out.push(visible),
        }
    }
    out
}

fn is_hidden(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#1a1a1a}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.meta{color:#555}nav a{margin-right:1em}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
svg.chart{max-width:100%;height:auto;font-size:12px}
svg .label{fill:#333}svg .value{fill:#333}svg .tick{fill:#555;font-size:11px}svg .flag{fill:#b00020;font-weight:600}
svg .grid{stroke:#e3e3e3}svg .axis{stroke:#777}svg .mono{font-family:ui-monospace,Menlo,Consolas,monospace}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f3f3f3;position:sticky;top:0}
td.num{text-align:right;white-space:nowrap}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.text{white-space:pre-wrap;overflow-wrap:anywhere}.nowrap{white-space:nowrap}
.sev-high{color:#b00020;font-weight:600}.sev-medium{color:#b45f06;font-weight:600}.sev-low{color:#555}
.mismatch{color:#b00020;font-weight:600}.note{color:#555;font-style:italic}
dl{display:grid;grid-template-columns:max-content auto;gap:.3em 1em}dt{font-weight:600}dd{margin:0}
@media print{nav{display:none}th{position:static}}
";

impl Report {
    /// The self-contained HTML report.
    pub fn to_html(&self) -> String {
        render(self)
    }
}

fn render(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024 + report.alerts.len() * 1024);
    let title = escape(&report.title);
    // The policy forbids scripts, connections, images and fonts: even a string that escaped escaping could run
    // nothing and fetch nothing. Inline styles are the only thing the page needs.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    header(&mut out, report, &title);
    out.push_str(
        "<nav><a href=\"#by-rule\">Alerts by rule</a><a href=\"#flows\">Flows over time</a><a \
         href=\"#counterparties\">Top counterparties</a><a href=\"#alerts\">Alerts</a><a \
         href=\"#transactions\">Transactions</a><a href=\"#rules\">Rules in force</a></nav>\n",
    );

    out.push_str("<section id=\"by-rule\">\n<h2>Alerts by rule</h2>\n<figure>");
    out.push_str(&svg::alerts_by_rule(&report.alerts_by_rule));
    out.push_str("</figure>\n</section>\n");

    let _ = write!(
        out,
        "<section id=\"flows\">\n<h2>Flows over time</h2>\n<p class=\"meta\">Sum of transfer amounts per {} bucket \
         (UTC), per asset.</p>\n",
        escape(&svg::duration_text(report.flows.bucket_ms))
    );
    if report.flows.assets.is_empty() {
        out.push_str("<p class=\"note\">No transfers in the period.</p>\n");
    }
    for (index, series) in report.flows.assets.iter().enumerate() {
        let _ = write!(out, "<figure><figcaption>{}</figcaption>", escape(&series.asset));
        out.push_str(&svg::flows(series, report.flows.bucket_ms, index));
        out.push_str("</figure>\n");
    }
    out.push_str("</section>\n");

    out.push_str(
        "<section id=\"counterparties\">\n<h2>Top counterparties</h2>\n<p class=\"meta\">Addresses with the largest \
         transfer volume (sent plus received), per asset; hover a bar for exact figures.</p>\n",
    );
    if report.top_counterparties.is_empty() {
        out.push_str("<p class=\"note\">No transfers in the period.</p>\n");
    }
    for ranking in &report.top_counterparties {
        let _ = write!(out, "<figure><figcaption>{}</figcaption>", escape(&ranking.asset));
        out.push_str(&svg::counterparties(ranking));
        out.push_str("</figure>\n");
    }
    out.push_str("</section>\n");

    alerts_table(&mut out, report);
    transactions_table(&mut out, report);
    rules_section(&mut out, &report.rules);
    let _ = write!(
        out,
        "<footer class=\"meta\"><p>Report format {}.</p></footer>\n</body>\n</html>\n",
        escape(&report.format)
    );
    out
}

fn header(out: &mut String, report: &Report, title: &str) {
    let _ = write!(out, "<header>\n<h1>{title}</h1>\n<p class=\"meta\">");
    match &report.period {
        Some(period) => {
            let _ = write!(out, "Period {} to {}", escape(&period.start_utc), escape(&period.end_utc));
        }
        None => out.push_str("No records"),
    }
    let _ = write!(out, " · {} record(s) · {} alert(s)", report.record_count, report.alerts.len());
    if let Some(generated) = report.generated_at_ms {
        let _ = write!(out, " · generated {}", escape(&ctchain_display::time::utc_iso(generated)));
    }
    out.push_str("</p>\n");
    if !report.not_decrypted.is_empty() {
        let outputs: u64 = report.not_decrypted.iter().map(|n| u64::from(n.outputs)).sum();
        let _ = write!(
            out,
            "<p class=\"mismatch\">{} transaction(s) with {outputs} output(s) were NOT decrypted, so no rule judged \
             them:</p>\n<ul>\n",
            report.not_decrypted.len()
        );
        for n in &report.not_decrypted {
            let _ = writeln!(
                out,
                "<li class=\"mono\">height {} · {} · {} {} output(s): {}</li>",
                n.height,
                escape(&n.tx_id),
                n.outputs,
                n.pool.as_str(),
                n.reason.as_str()
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n");
}

/// Row anchors of the transactions table: the first row of each transaction id.
fn transaction_anchors(report: &Report) -> HashMap<&str, usize> {
    let mut anchors = HashMap::new();
    for (row, transaction) in report.transactions.iter().take(MAX_TRANSACTION_ROWS).enumerate() {
        anchors.entry(transaction.tx_id.as_str()).or_insert(row);
    }
    anchors
}

fn alerts_table(out: &mut String, report: &Report) {
    out.push_str("<section id=\"alerts\">\n<h2>Alerts</h2>\n");
    if report.alerts.is_empty() {
        out.push_str("<p class=\"note\">No rule raised an alert.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>Id</th><th>Rule</th><th>Severity</th><th>Window (UTC)</th><th>Asset</th>\
         <th>Total</th><th>Addresses</th><th>Transactions</th><th>Explanation</th></tr></thead>\n<tbody>\n",
    );
    let anchors = transaction_anchors(report);
    for alert in &report.alerts {
        alert_row(out, alert, &anchors);
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn alert_row(out: &mut String, alert: &ReportAlert, anchors: &HashMap<&str, usize>) {
    let id = escape(&alert.id);
    let severity = alert.severity.as_str();
    let _ = write!(
        out,
        "<tr id=\"{id}\"><td class=\"mono nowrap\">{id}</td><td class=\"nowrap\">{}</td><td class=\"nowrap \
         sev-{severity}\">{severity}</td><td class=\"mono nowrap\">{}<br>{}</td><td>{}</td><td class=\"num\">{}</td><td \
         class=\"mono\">",
        escape(alert.rule.as_str()),
        escape(&alert.window_start_utc),
        escape(&alert.window_end_utc),
        escape(&alert.asset),
        escape(&alert.total_display),
    );
    for (position, address) in alert.addresses.iter().enumerate() {
        if position > 0 {
            out.push_str("<br>");
        }
        out.push_str(&escape(address));
    }
    out.push_str("</td><td class=\"mono\">");
    for (position, tx_id) in alert.tx_ids.iter().take(MAX_TX_PER_ALERT).enumerate() {
        if position > 0 {
            out.push_str("<br>");
        }
        // Ids are shortened to keep the table readable; the tooltip and the transactions table have them whole.
        let short = escape(&svg::shorten(tx_id, 17));
        let _ = match anchors.get(tx_id.as_str()) {
            Some(row) => write!(out, "<a href=\"#t{row}\" title=\"{}\" class=\"nowrap\">{short}</a>", escape(tx_id)),
            None => write!(out, "<span title=\"{}\" class=\"nowrap\">{short}</span>", escape(tx_id)),
        };
    }
    if alert.tx_ids.len() > MAX_TX_PER_ALERT {
        let _ = write!(out, "<br><span class=\"note\">and {} more</span>", alert.tx_ids.len() - MAX_TX_PER_ALERT);
    }
    let _ = writeln!(out, "</td><td class=\"text\">{}</td></tr>", escape(&alert.explanation));
}

fn transactions_table(out: &mut String, report: &Report) {
    out.push_str("<section id=\"transactions\">\n<h2>Transactions named in alerts</h2>\n");
    if report.transactions.is_empty() {
        out.push_str("<p class=\"note\">None.</p>\n</section>\n");
        return;
    }
    if report.transactions.len() > MAX_TRANSACTION_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {MAX_TRANSACTION_ROWS} of {} outputs; the JSON report lists all.</p>",
            report.transactions.len()
        );
    }
    out.push_str(
        "<table>\n<thead><tr><th>Time (UTC)</th><th>Height</th><th>Transaction</th><th>Kind</th><th>Asset</th>\
         <th>Amount</th><th>Sender</th><th>Receiver</th><th>Memo</th><th>Alerts</th></tr></thead>\n<tbody>\n",
    );
    for (row, transaction) in report.transactions.iter().take(MAX_TRANSACTION_ROWS).enumerate() {
        let _ = write!(
            out,
            "<tr id=\"t{row}\"><td class=\"mono nowrap\">{}</td><td class=\"num\">{}</td><td class=\"mono\">{}:{}</td>\
             <td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td>\
             <td class=\"text\">{}",
            escape(&transaction.time_utc),
            transaction.height,
            escape(&transaction.tx_id),
            transaction.output_index,
            match transaction.pool {
                super::super::Pool::Confidential => transaction.kind.as_str().to_owned(),
                pool => format!("{} ({})", transaction.kind.as_str(), pool.as_str()),
            },
            escape(&transaction.asset),
            escape(&transaction.amount_display),
            transaction.sender.as_deref().map_or("—".to_owned(), |sender| party_cell(
                sender,
                transaction.sender_customer.as_deref(),
                transaction.sender_proven
            )),
            party_cell(&transaction.receiver, transaction.receiver_customer.as_deref(), true),
            escape(&transaction.memo),
        );
        if !transaction.memo_matches_amount {
            out.push_str("<br><span class=\"mismatch\">memo disagrees with the proven amount</span>");
        }
        let parties: Vec<&str> = transaction
            .memo_disagrees
            .iter()
            .map(String::as_str)
            .filter(|f| *f == "sender" || *f == "receiver")
            .collect();
        if !parties.is_empty() {
            let _ = write!(
                out,
                "<br><span class=\"mismatch\">memo names another {} than the proven one</span>",
                parties.join(" and ")
            );
        }
        out.push_str("</td><td class=\"mono\">");
        for (position, alert_id) in transaction.alert_ids.iter().enumerate() {
            if position > 0 {
                out.push(' ');
            }
            let alert_id = escape(alert_id);
            let _ = write!(out, "<a href=\"#{alert_id}\">{alert_id}</a>");
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// A party's cell: its name (escaped), the directory's customer, and whether the proofs establish it.
fn party_cell(name: &str, customer: Option<&str>, proven: bool) -> String {
    let customer = customer.map(|c| format!("<br><b>{}</b>", escape(c))).unwrap_or_default();
    let mark = if proven { "proven" } else { "memo's claim" };
    format!("{}{customer}<br><span class=\"provenance\">{mark}</span>", escape(name))
}

fn rules_section(out: &mut String, rules: &RulesInForce) {
    out.push_str("<section id=\"rules\">\n<h2>Rules in force</h2>\n<dl>\n");
    for asset in &rules.assets {
        let _ = writeln!(
            out,
            "<dt>Asset {}</dt><dd>{} decimals; large value {}; velocity sum limit {}; pass-through minimum {}</dd>",
            escape(&asset.label),
            asset.decimals,
            escape(asset.large_value.as_deref().unwrap_or("off")),
            escape(asset.velocity_max_sum.as_deref().unwrap_or("none")),
            escape(&asset.pass_through_min_amount),
        );
    }
    out.push_str("<dt>Structuring</dt><dd>");
    match &rules.structuring {
        Some(rule) => {
            let _ = write!(
                out,
                "at least {} transfers from one sender within {} s, each from {}% of the large-value threshold to just \
                 below it",
                rule.min_count, rule.window_seconds, rule.lower_percent
            );
        }
        None => out.push_str("off"),
    }
    out.push_str("</dd>\n<dt>Velocity</dt><dd>");
    match &rules.velocity {
        Some(rule) => {
            let _ = write!(
                out,
                "more than {} transfers (or more than the asset's sum limit) within {} s, counting {}",
                rule.max_count,
                rule.window_seconds,
                rule.direction.as_str()
            );
        }
        None => out.push_str("off"),
    }
    out.push_str("</dd>\n<dt>Pass-through</dt><dd>");
    match &rules.pass_through {
        Some(rule) => {
            let _ = write!(
                out,
                "at least {}% of what an address received sent on within {} s",
                rule.min_ratio_percent, rule.window_seconds
            );
        }
        None => out.push_str("off"),
    }
    let _ = write!(
        out,
        "</dd>\n<dt>Memo mismatch</dt><dd>{}</dd>\n<dt>Sender not owner</dt><dd>always on</dd>\n<dt>Watch list</dt><dd>",
        if rules.memo_mismatch { "on" } else { "off" }
    );
    if rules.watch.is_empty() {
        out.push_str("empty");
    }
    for (position, entry) in rules.watch.iter().enumerate() {
        if position > 0 {
            out.push_str("<br>");
        }
        let listed = match (&entry.address, &entry.customer) {
            (Some(address), _) => format!("<span class=\"mono\">{}</span>", escape(address)),
            (None, Some(customer)) => format!("customer {}", escape(customer)),
            (None, None) => String::new(),
        };
        let _ = write!(out, "{listed} — {}", escape(&entry.reason));
    }
    out.push_str("</dd>\n</dl>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_shows_invisible_characters() {
        assert_eq!(escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("pay\u{202E}lio"), "pay[U+202E]lio");
        assert_eq!(escape("a\u{0}b\u{200B}c"), "a[U+0000]b[U+200B]c");
        assert_eq!(escape("line\nbreak\tand 中文"), "line\nbreak\tand 中文");
    }
}
