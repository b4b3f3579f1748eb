//! Comparing API variants of one run: a row per variant over the measured phases, and the
//! winner on throughput, on latency and on PUT payload units, with the margin.

use super::VariantSummary;
use serde::{Deserialize, Serialize};

/// Differences smaller than this (relative) are called a tie.
const TIE: f64 = 0.01;

/// One variant, over the measured phases.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComparisonRow {
    pub api: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    /// API calls made (PutRecord or PutRecords).
    pub calls: u64,
    /// User record attempts per call.
    pub records_per_call: f64,
    /// Per call: request -> response.
    pub put_call_p50_ms: f64,
    pub put_call_p99_ms: f64,
    pub put_call_p999_ms: f64,
    /// Per user record: intended send time -> acknowledgement.
    pub put_record_p50_ms: f64,
    pub put_record_p99_ms: f64,
    pub put_record_p999_ms: f64,
    pub e2e_p50_ms: f64,
    pub e2e_p99_ms: f64,
    /// User record attempts rejected as throttled.
    pub throttled: u64,
    /// User record attempts after the first.
    pub retried: u64,
    pub given_up: u64,
    pub acknowledged: u64,
    /// Kinesis records acknowledged (an aggregate counts once).
    pub kinesis_records: u64,
    /// PUT payload units of the acknowledged Kinesis records.
    pub put_units: u64,
    /// Bytes of the put requests sent, every attempt.
    pub request_bytes: u64,
    /// Acknowledged but never read back (all phases).
    pub lost: u64,
    /// The consumer read back every acknowledged record, and nothing else, and every
    /// scheduled record is accounted for.
    pub verified: bool,
    /// The variant's status: only "completed" variants are named winners.
    pub status: String,
}

impl ComparisonRow {
    pub fn of(v: &VariantSummary) -> Option<ComparisonRow> {
        let t = v.total()?;
        let c = &t.counters;
        // rounded to what the measurement resolves, for the CSV and the winners' margins
        let r1 = |x: f64| super::round::to(x, 1);
        let r3 = |x: f64| super::round::to(x, 3);
        Some(ComparisonRow {
            api: v.api.clone(),
            offered_rps: r1(t.offered_rps),
            achieved_rps: r1(t.achieved_rps),
            calls: c.calls,
            records_per_call: if c.calls > 0 {
                r1(c.attempts as f64 / c.calls as f64)
            } else {
                0.0
            },
            put_call_p50_ms: r3(t.put_service.p50_ms),
            put_call_p99_ms: r3(t.put_service.p99_ms),
            put_call_p999_ms: r3(t.put_service.p999_ms),
            put_record_p50_ms: r3(t.put.p50_ms),
            put_record_p99_ms: r3(t.put.p99_ms),
            put_record_p999_ms: r3(t.put.p999_ms),
            e2e_p50_ms: r3(t.e2e.p50_ms),
            e2e_p99_ms: r3(t.e2e.p99_ms),
            throttled: c.throttled,
            retried: c.retried,
            given_up: c.given_up(),
            acknowledged: c.acknowledged,
            kinesis_records: c.kinesis_records,
            put_units: c.put_units,
            request_bytes: c.request_bytes,
            lost: v.accounting.reads.lost,
            verified: v.accounting.consumer && v.accounting.holds,
            status: v.status.clone(),
        })
    }

    /// PUT payload units per 1,000 acknowledged user records.
    pub fn units_per_1000(&self) -> f64 {
        if self.acknowledged == 0 {
            f64::INFINITY
        } else {
            self.put_units as f64 * 1000.0 / self.acknowledged as f64
        }
    }
}

/// The variants side by side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub rows: Vec<ComparisonRow>,
    /// One sentence each on throughput, latency and payload units.
    pub winners: Vec<String>,
}

impl Comparison {
    /// None with fewer than two variants.
    pub fn of(variants: &[VariantSummary]) -> Option<Comparison> {
        Comparison::of_rows(variants.iter().filter_map(ComparisonRow::of).collect())
    }

    /// None with fewer than two rows.
    fn of_rows(rows: Vec<ComparisonRow>) -> Option<Comparison> {
        if rows.len() < 2 {
            return None;
        }
        let metrics = [
            Metric {
                what: "throughput",
                value: |r| r.achieved_rps,
                higher_is_better: true,
                figure: |v| format!("{v:.0} records/s"),
                short: |v| format!("{v:.0}"),
                word: "more",
            },
            Metric {
                what: "latency",
                value: |r| r.put_record_p99_ms,
                higher_is_better: false,
                figure: |v| format!("put p99 {v:.1} ms per record"),
                short: |v| format!("{v:.1} ms"),
                word: "lower",
            },
            Metric {
                what: "payload units",
                value: ComparisonRow::units_per_1000,
                higher_is_better: false,
                figure: |v| format!("{v:.0} PUT payload units per 1,000 records"),
                short: |v| format!("{v:.0}"),
                word: "fewer",
            },
        ];
        // a variant cut short has partial figures, and one that acknowledged nothing has no
        // latency: neither is compared
        let acknowledged: Vec<ComparisonRow> = rows
            .iter()
            .filter(|r| r.acknowledged > 0 && r.status == "completed")
            .cloned()
            .collect();
        let winners = metrics
            .iter()
            .filter_map(|m| {
                let (w, next) = winner(&acknowledged, m.value, m.higher_is_better)?;
                let (a, b) = ((m.value)(&w), (m.value)(&next));
                let (figure, short) = ((m.figure)(a), (m.short)(b));
                let margin = margin(a, b, m.higher_is_better);
                Some(verdict(
                    m.what,
                    (&w.api, &figure),
                    (&next.api, &short),
                    margin,
                    m.word,
                ))
            })
            .chain(rows.iter().filter(|r| r.status != "completed").map(|r| {
                format!(
                    "{} was {}: its figures are partial and it is not compared",
                    r.api, r.status
                )
            }))
            .collect();
        Some(Comparison { winners, rows })
    }
}

/// What a winner is named for.
struct Metric {
    what: &'static str,
    value: fn(&ComparisonRow) -> f64,
    higher_is_better: bool,
    /// The winner's figure, in words.
    figure: fn(f64) -> String,
    /// The runner-up's figure, short.
    short: fn(f64) -> String,
    /// "more", "lower", "fewer".
    word: &'static str,
}

/// The best row by `metric` and the runner-up, whose name lists every row tied with it
/// ("put_record and put_records").
fn winner(
    rows: &[ComparisonRow],
    metric: impl Fn(&ComparisonRow) -> f64,
    higher_is_better: bool,
) -> Option<(ComparisonRow, ComparisonRow)> {
    let mut sorted: Vec<&ComparisonRow> = rows.iter().filter(|r| metric(r).is_finite()).collect();
    sorted.sort_by(|a, b| {
        let (a, b) = (metric(a), metric(b));
        if higher_is_better {
            b.total_cmp(&a)
        } else {
            a.total_cmp(&b)
        }
    });
    let [best, next, rest @ ..] = sorted.as_slice() else {
        return None;
    };
    let mut next = (*next).clone();
    let tied: Vec<&str> = rest
        .iter()
        .filter(|r| (metric(r) - metric(&next)).abs() <= TIE * metric(&next).abs())
        .map(|r| r.api.as_str())
        .collect();
    if !tied.is_empty() {
        next.api = format!("{} and {}", next.api, tied.join(" and "));
    }
    Some(((*best).clone(), next))
}

/// How much better `best` is than `next`, in words: "25%" (more), "20%" (lower), "3.0x"; None
/// for a tie (within 1%).
fn margin(best: f64, next: f64, higher_is_better: bool) -> Option<String> {
    // the factor by which the winner is better, at least 1
    let factor = if higher_is_better {
        best / next
    } else {
        next / best
    };
    if factor.is_nan() || (factor - 1.0).abs() < TIE {
        return None;
    }
    Some(if !factor.is_finite() {
        "incomparably".to_string()
    } else if factor >= 2.0 {
        format!("{factor:.1}x")
    } else if higher_is_better {
        format!("{:.0}%", (factor - 1.0) * 100.0)
    } else {
        format!("{:.0}%", (1.0 - best / next) * 100.0)
    })
}

/// One sentence naming the winner, its figure and its margin over the runner-up.
fn verdict(
    what: &str,
    (api, figure): (&str, &str),
    (next_api, next_figure): (&str, &str),
    margin: Option<String>,
    word: &str,
) -> String {
    match margin {
        None => format!(
            "{what}: a tie between {api} ({figure}) and {next_api} ({next_figure}), within 1%"
        ),
        Some(m) => {
            format!("{what}: {api} wins with {figure}, {m} {word} than {next_api} ({next_figure})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(api: &str, achieved: f64, p99: f64, units: u64) -> ComparisonRow {
        ComparisonRow {
            api: api.into(),
            offered_rps: 3000.0,
            achieved_rps: achieved,
            calls: 10,
            records_per_call: 1.0,
            put_call_p50_ms: 1.0,
            put_call_p99_ms: 2.0,
            put_call_p999_ms: 3.0,
            put_record_p50_ms: 1.0,
            put_record_p99_ms: p99,
            put_record_p999_ms: p99,
            e2e_p50_ms: 100.0,
            e2e_p99_ms: 200.0,
            throttled: 0,
            retried: 0,
            given_up: 0,
            acknowledged: 1000,
            kinesis_records: units,
            put_units: units,
            request_bytes: 1,
            lost: 0,
            verified: true,
            status: "completed".into(),
        }
    }

    #[test]
    fn names_the_winner_and_the_margin_against_the_runner_up() {
        let rows = vec![
            row("put_record", 1500.0, 900.0, 1000),
            row("put_records", 3000.0, 25.0, 1000),
            row("put_records_aggregated", 2990.0, 30.0, 20),
        ];
        let (w, next) = winner(&rows, ComparisonRow::units_per_1000, false).expect("rows");
        assert_eq!(w.api, "put_records_aggregated");
        assert_eq!(
            next.api, "put_record and put_records",
            "ties are named together"
        );
        let (w, next) = winner(&rows, |r| r.achieved_rps, true).expect("two rows");
        assert_eq!(
            (w.api.as_str(), next.api.as_str()),
            ("put_records", "put_records_aggregated")
        );
        assert_eq!(
            margin(w.achieved_rps, next.achieved_rps, true),
            None,
            "a tie"
        );

        // higher is better: 25% more; lower is better: 20 ms is 20% lower than 25 ms
        assert_eq!(margin(1250.0, 1000.0, true).as_deref(), Some("25%"));
        assert_eq!(margin(20.0, 25.0, false).as_deref(), Some("20%"));
        assert_eq!(margin(1.0, 3.0, false).as_deref(), Some("3.0x"));
        assert_eq!(margin(3000.0, 1000.0, true).as_deref(), Some("3.0x"));
        let text = verdict(
            "latency",
            ("a", "1 ms"),
            ("b", "3 ms"),
            margin(1.0, 3.0, false),
            "lower",
        );
        assert_eq!(text, "latency: a wins with 1 ms, 3.0x lower than b (3 ms)");
        let tie = verdict("t", ("a", "x"), ("b", "y"), None, "more");
        assert_eq!(tie, "t: a tie between a (x) and b (y), within 1%");
    }

    #[test]
    fn a_variant_cut_short_is_shown_but_not_compared() {
        let mut cut = row("put_records_aggregated", 9000.0, 1.0, 1);
        cut.status = "interrupted".into();
        let c = Comparison::of_rows(vec![
            row("put_record", 1500.0, 900.0, 1000),
            row("put_records", 3000.0, 25.0, 1000),
            cut,
        ])
        .expect("three rows");
        assert_eq!(c.rows.len(), 3);
        assert!(
            c.winners[0].starts_with("throughput: put_records wins"),
            "{:?}",
            c.winners
        );
        assert!(
            c.winners[1].starts_with("latency: put_records wins"),
            "{:?}",
            c.winners
        );
        assert_eq!(
            c.winners.last().map(String::as_str),
            Some(
                "put_records_aggregated was interrupted: its figures are partial and it is not compared"
            )
        );
    }
}
