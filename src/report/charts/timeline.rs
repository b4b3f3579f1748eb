//! What the two charts over time share: the phases of a variant on the time axis, the ones not
//! measured shaded and each start marked by a dashed line with the phase's name, and the pick
//! of a figure from an interval row.

use super::draw::{Area, FONT, GREY, SHADE, SMALL_SIZE, err, text_width};
use crate::report::VariantSummary;
use crate::report::load::IntervalRow;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// Where a phase starts on the time axis.
pub(super) struct PhaseMark {
    start_s: f64,
    end_s: f64,
    name: String,
    pub(super) measured: bool,
}

/// One mark per run of rows of the same phase; a phase starts where its first interval does.
pub(super) fn phase_marks(v: &VariantSummary, rows: &[&IntervalRow]) -> Vec<PhaseMark> {
    let mut marks: Vec<PhaseMark> = Vec::new();
    for r in rows {
        match marks.last_mut() {
            Some(m) if m.name == r.phase => m.end_s = r.elapsed_s,
            _ => marks.push(PhaseMark {
                start_s: (r.elapsed_s - r.interval_s).max(0.0),
                end_s: r.elapsed_s,
                name: r.phase.clone(),
                measured: v
                    .phases
                    .iter()
                    .find(|p| p.phase == r.phase)
                    .is_none_or(|p| p.measure),
            }),
        }
    }
    marks
}

/// Pixel x of time `x` in a plot spanning `px` for the times `range`.
fn px_of(x: f64, range: &Range<f64>, px: &Range<i32>) -> i32 {
    let span = range.end - range.start;
    if span.is_nan() || span <= 0.0 {
        return px.start;
    }
    let f = ((x - range.start) / span).clamp(0.0, 1.0);
    px.start + (f * f64::from(px.end - px.start)).round() as i32
}

/// Grey shading under the phases that are not measured (the warm-up).
pub(super) fn shade_unmeasured(
    root: &Area,
    marks: &[PhaseMark],
    x_range: &Range<f64>,
    (px, py): &(Range<i32>, Range<i32>),
) -> anyhow::Result<()> {
    for m in marks.iter().filter(|m| !m.measured) {
        let (x0, x1) = (px_of(m.start_s, x_range, px), px_of(m.end_s, x_range, px));
        if x1 > x0 {
            root.draw(&Rectangle::new(
                [(x0, py.start), (x1, py.end)],
                SHADE.filled(),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

/// Dashed vertical lines where each phase after the first starts, and (with `labels`) the phase
/// names near the top, stacked in up to three rows so that they never overlap.
pub(super) fn draw_phase_marks(
    root: &Area,
    marks: &[PhaseMark],
    x_range: &Range<f64>,
    (px, py): &(Range<i32>, Range<i32>),
    labels: bool,
) -> anyhow::Result<()> {
    let line = ShapeStyle::from(&GREY).stroke_width(1);
    let mut rows: [Vec<Range<i32>>; 3] = Default::default();
    for (i, m) in marks.iter().enumerate() {
        let x = px_of(m.start_s, x_range, px);
        if i > 0 {
            let mut y = py.start;
            while y < py.end {
                let y1 = (y + 5).min(py.end);
                root.draw(&Rectangle::new([(x, y), (x + 1, y1)], line.filled()))
                    .map_err(err)?;
                y += 9;
            }
        }
        if !labels {
            continue;
        }
        let text = m.name.clone();
        let w = text_width(&text, SMALL_SIZE);
        // right of the line, or left of it when it would run past the plot
        let right = x + 4 + w <= px.end;
        let span = if right {
            x + 4..x + 4 + w
        } else {
            (x - 4 - w).max(px.start)..x - 4
        };
        let Some(row) = rows.iter().position(|placed| {
            placed
                .iter()
                .all(|p| span.end + 6 <= p.start || p.end + 6 <= span.start)
        }) else {
            continue;
        };
        rows[row].push(span.clone());
        let (tx, anchor) = if right {
            (span.start, HPos::Left)
        } else {
            (span.end, HPos::Right)
        };
        let style = (FONT, SMALL_SIZE)
            .into_font()
            .color(&GREY)
            .pos(Pos::new(anchor, VPos::Top));
        root.draw(&Text::new(
            text,
            (tx, py.start + 4 + 16 * row as i32),
            style,
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Picks one figure of an interval row.
pub(super) type Pick = fn(&IntervalRow) -> f64;
