//! The progress display as a role: a bar per phase with the live rate, acknowledgements,
//! throttles and p99 (the collector updates it every interval), then what the drain waits for.

use super::role::{Context, DrainLimit, Hook, Role};
use crate::metrics::collector::{Collector, Row};
use crate::workload::schedule::Schedule;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Progress bars, one per phase; inert when hidden.
#[derive(Clone)]
pub struct Progress {
    inner: Option<Arc<ProgressInner>>,
}

struct ProgressInner {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
    /// For each closed-loop phase, its time span (its bar counts milliseconds, not records).
    closed: Vec<Option<(Duration, Duration)>>,
    started: Mutex<Vec<bool>>,
    /// Set once the producer is done: what the drain is waiting for.
    draining: Mutex<Option<String>>,
}

impl Progress {
    /// `label` (the API variant, when a run has several) goes before each phase name.
    pub fn new(show: bool, schedule: &Schedule, label: Option<&str>) -> Progress {
        if !show {
            return Progress { inner: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ")
        };
        // a fixed rate's bar counts records against the planned count; a closed loop's has no
        // count in advance, so its bar shows the phase's time and its message the records made
        let fixed = style("{prefix:>14} [{bar:30}] {pos:>8}/{len:8} {msg}");
        let closed = style("{prefix:>14} [{bar:30}] {msg}");
        let bars = schedule
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let prefix = match label {
                    Some(l) => format!("{l} {}", p.name),
                    None => p.name.clone(),
                };
                let bar = ProgressBar::hidden()
                    .with_style(if p.closed { &closed } else { &fixed }.clone())
                    .with_prefix(prefix);
                bar.set_length(if p.closed {
                    p.duration.as_millis() as u64
                } else {
                    schedule.count(i)
                });
                bar
            })
            .collect::<Vec<_>>();
        Progress {
            inner: Some(Arc::new(ProgressInner {
                multi,
                started: Mutex::new(vec![false; bars.len()]),
                closed: schedule
                    .phases
                    .iter()
                    .map(|p| p.closed.then_some((p.start, p.duration)))
                    .collect(),
                bars,
                draining: Mutex::new(None),
            })),
        }
    }

    pub fn update(&self, row: &Row, collector: &Collector) {
        let Some(inner) = &self.inner else { return };
        let mut started = inner.started.lock().unwrap_or_else(|e| e.into_inner());
        let current = collector
            .phases
            .iter()
            .rposition(|s| s.counters.scheduled > 0);
        let producing = current.is_some_and(|c| match inner.closed[c] {
            Some((start, duration)) => row.elapsed < start + duration,
            None => collector.phases[c].counters.scheduled < inner.bars[c].length().unwrap_or(0),
        });
        for (i, (bar, total)) in inner.bars.iter().zip(&collector.phases).enumerate() {
            let c = &total.counters;
            if c.scheduled == 0 {
                continue;
            }
            if !started[i] {
                started[i] = true;
                let added = inner.multi.add(bar.clone());
                added.set_draw_target(ProgressDrawTarget::stdout());
            }
            let mut msg = format!(
                "acked {}  throttled {}  gave up {}",
                c.acknowledged,
                c.throttled,
                c.given_up()
            );
            match inner.closed[i] {
                Some((start, duration)) => {
                    let into = row.elapsed.saturating_sub(start).min(duration);
                    bar.set_position(into.as_millis() as u64);
                    msg = format!("{:>8} made (rate = max)  {msg}", c.scheduled);
                }
                None => bar.set_position(c.scheduled),
            }
            if Some(i) == current && producing {
                let secs = row.length.as_secs_f64().max(1e-9);
                msg = format!(
                    "{:>6.0} rec/s  put p99 {:>6.1}ms  {msg}",
                    row.stats.counters.acknowledged as f64 / secs,
                    row.stats.put_response.quantile(0.99).as_secs_f64() * 1000.0
                );
            }
            bar.set_message(msg);
        }
        let draining = inner.draining.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(text), Some(c)) = (draining.as_ref(), current) {
            let all = collector.all_counters();
            inner.bars[c].set_message(format!(
                "{text}: {} of {} acknowledged records read back",
                all.received_distinct(),
                all.acknowledged
            ));
        }
    }

    fn message(&self, text: &str) {
        if let Some(inner) = &self.inner {
            *inner.draining.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.to_string());
        }
    }

    /// Ends the bars; an interrupted run's stay where they were (a finished bar would show the
    /// phase's whole count as done).
    fn finish(&self, interrupted: bool) {
        if let Some(inner) = &self.inner {
            for bar in &inner.bars {
                if interrupted {
                    bar.abandon();
                } else {
                    bar.finish();
                }
            }
            let _ = inner.multi.clear();
        }
    }
}

impl Role for Progress {
    /// Says what the drain waits for, when the run has a consumer to wait for.
    fn drain<'a>(&'a mut self, run: &'a Context, limit: DrainLimit) -> Hook<'a, ()> {
        if !run.scenario.consumers.is_empty() {
            self.message(&format!(
                "draining (up to {})",
                crate::scenario::units::format_duration(limit.limit)
            ));
        }
        Box::pin(async {})
    }

    fn stop<'a>(&'a mut self, run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        self.finish(run.cancel.is_cancelled());
        Box::pin(async { Ok(()) })
    }
}
