//! `kbench compare` and `kbench report`: two report directories side by side, and one report
//! directory's charts, report.html and summary drawn again from its files.

use super::load::{self, ReportData};
use super::regression::{RunComparison, Threshold, Thresholds};
use super::summary;
use crate::console::{EXIT_BREACH, EXIT_OK, out};
use std::path::Path;

/// Prints the comparison of `b` against the baseline `a`; exit 2 when `b` regressed.
pub fn compare(a: &Path, b: &Path, max_regression: &[Threshold]) -> anyhow::Result<i32> {
    let base = load::load_summary(a)?;
    let run = load::load_summary(b)?;
    let c = RunComparison::of(&base, &run, &Thresholds::new(max_regression))?;
    out(c
        .render(&a.display().to_string(), &b.display().to_string())
        .trim_end());
    Ok(if c.regressions().next().is_some() {
        EXIT_BREACH
    } else {
        EXIT_OK
    })
}

/// Draws `dir`'s charts and report.html again and prints its summary.
pub fn report(dir: &Path) -> anyhow::Result<i32> {
    let data = ReportData::load(dir)?;
    super::write_visuals(&data)?;
    out(summary::render(&data.summary, &dir.display().to_string()).trim_end());
    Ok(EXIT_OK)
}
