//! The `[[phase]]` tables: names, durations and rates, each phase checked, then the phases
//! together (how many, how long in all, whether they offer any record).

use super::Validator;
use super::values::parse_rate;
use crate::scenario::limits::MAX_PHASES;
use crate::scenario::model::{RawPhase, S};
use crate::scenario::units::{MAX_DURATION, format_duration, parse_duration};
use crate::scenario::{Phase, Rate};
use std::time::Duration;

impl Validator<'_> {
    pub(super) fn phases(&mut self, raw: &[S<RawPhase>]) -> Vec<Phase> {
        if raw.is_empty() {
            self.push(0..0, Some("phase"), "the scenario has no phases; add at least one [[phase]] table with a duration and a rate, e.g.\n  [[phase]]\n  duration = \"10s\"\n  rate = 1000");
            return Vec::new();
        }
        let before = self.issues.len();
        let mut phases = Vec::new();
        for (i, sp) in raw.iter().enumerate() {
            let p = sp.get_ref();
            let key = |k: &str| format!("phase[{}].{k}", i + 1);
            let name = p
                .name
                .as_ref()
                .map(|n| n.get_ref().clone())
                .unwrap_or_else(|| format!("phase-{}", i + 1));
            // reports name phases: the summary adds `total`, the time series `drain`
            let span = p.name.as_ref().map_or(sp.span(), |n| n.span());
            if name == "total" || name == "drain" {
                self.push(
                    span,
                    Some(&key("name")),
                    format!("`{name}` is reserved for the report; call the phase something else"),
                );
            } else if phases.iter().any(|q: &Phase| q.name == name) {
                self.push(
                    span,
                    Some(&key("name")),
                    format!("another phase is already called `{name}`; phase names must be unique, as reports and comparisons go by them"),
                );
            }
            let duration = match &p.duration {
                None => {
                    self.push(
                        sp.span(),
                        Some(&key("duration")),
                        "the phase has no duration; add e.g. duration = \"10s\"",
                    );
                    Duration::ZERO
                }
                Some(d) => self.get(&Some(d.clone()), &key("duration"), Duration::ZERO, |s| {
                    let d = parse_duration(s)?;
                    if d.is_zero() {
                        Err("a phase must last longer than 0s".into())
                    } else {
                        Ok(d)
                    }
                }),
            };
            let rate = match &p.rate {
                None => {
                    self.push(sp.span(), Some(&key("rate")), "the phase has no rate; add e.g. rate = 1000 (records per second) or rate = { from = 100, to = 1000 }");
                    Rate { from: 1.0, to: 1.0 }
                }
                Some(r) => self.get(
                    &Some(r.clone()),
                    &key("rate"),
                    Rate { from: 1.0, to: 1.0 },
                    parse_rate,
                ),
            };
            phases.push(Phase {
                name,
                duration,
                rate,
                measure: p.measure.unwrap_or(true),
            });
        }
        let each_valid = self.issues.len() == before;
        self.check_phases_together(raw, &phases, each_valid);
        if phases.iter().all(|p| !p.measure) {
            self.push(raw[0].span(), Some("phase[1].measure"), "every phase has measure = false, so nothing would be measured; measure at least one phase");
        }
        phases
    }

    /// The phases as a whole: at most [`MAX_PHASES`], at most [`MAX_DURATION`] in all, and some
    /// record offered; a phase that offers none is noted.
    fn check_phases_together(&mut self, raw: &[S<RawPhase>], phases: &[Phase], each_valid: bool) {
        if let Some(extra) = raw.get(MAX_PHASES) {
            self.push(extra.span(), Some(&format!("phase[{}]", MAX_PHASES + 1)), format!(
                "the scenario has {} phases; kbench runs at most {MAX_PHASES} (each keeps its own statistics and report row): merge short phases, e.g. into ramps with rate = {{ from, to }}",
                raw.len()));
            return;
        }
        let total: Duration = phases.iter().map(|p| p.duration).sum();
        if total > MAX_DURATION {
            self.push(
                raw[0].span(),
                Some("phase"),
                format!(
                    "the phases add up to {}; a run lasts at most 30 days: shorten the phases",
                    format_duration(total)
                ),
            );
            return;
        }
        if !each_valid {
            return;
        }
        let silent: Vec<(usize, String)> = phases
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.offers_no_record().map(|why| (i, why)))
            .collect();
        if silent.len() == phases.len() && !phases.is_empty() {
            self.push(raw[0].span(), Some("phase"), format!(
                "no phase offers a record ({}), so the run would send nothing: lengthen the phases or raise their rates",
                silent[0].1));
            return;
        }
        for (i, why) in silent {
            let (line, col) = super::position::line_col(self.src, raw[i].span().start);
            self.notes.push(super::Issue {
                line,
                col,
                key: format!("phase[{}]", i + 1),
                message: format!(
                    "phase `{}` offers no record: {why}; lengthen it or raise its rate",
                    phases[i].name
                ),
            });
        }
    }
}
