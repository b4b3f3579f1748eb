//! What every chart is drawn with: the palette and type, the SVG document with its white
//! background and margins, the header of title and legend, grey notes, round markers and the
//! polyline of a series.

use super::axis::Axis;
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Okabe-Ito, a palette that colour-blind readers tell apart.
pub(super) const DEEP_BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub(super) const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
pub(super) const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
pub(super) const BLUISH_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
pub(super) const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
pub(super) const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
pub(super) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(super) const GREY: RGBColor = RGBColor(0x70, 0x70, 0x70);
pub(super) const GRID: RGBColor = RGBColor(0xE2, 0xE2, 0xE2);
pub(super) const SHADE: RGBColor = RGBColor(0xF1, 0xF1, 0xF1);

/// The type of every text: the reader's sans-serif (no font is embedded).
pub(super) const FONT: &str = "sans-serif";
/// Sizes as plotters takes them (the SVG gets size / 1.24 as font-size).
const TITLE_SIZE: f64 = 21.0;
pub(super) const TEXT_SIZE: f64 = 16.0;
pub(super) const SMALL_SIZE: f64 = 15.0;

/// Every chart's width in pixels.
pub(super) const WIDTH: u32 = 900;

/// A part of a chart's SVG document to draw in.
pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A plot on `area` with the margins every chart uses; `right` is the right margin, `x_labels`
/// the height of the x axis's label area (smaller for an upper panel without axis title).
pub(super) fn plot<'a, 'b>(
    area: &'a Area<'b>,
    right: u32,
    bottom: u32,
    x_labels: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(area);
    b.margin_left(12)
        .margin_right(right)
        .margin_bottom(bottom)
        .x_label_area_size(x_labels)
        .y_label_area_size(72);
    b
}

/// Estimated width in pixels of `text` at plotters size `size` (proportional sans-serif).
pub(super) fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size / 1.24 * 0.55).ceil() as i32
}

/// Text in ink at plotters size `size`.
pub(super) fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

/// A plotters drawing error, as the report's error.
pub(super) fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw a chart: {e}")
}

/// Draws into an SVG document of `size` pixels, white background.
pub(super) fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
pub(super) enum Swatch {
    Line(u32),
    Bar,
    /// The grey shading of the phases not measured.
    Shade,
    Dashed,
    /// A round marker, filled or (false) hollow: white inside, ringed in the colour.
    Marker(bool),
}

pub(super) struct Key {
    label: String,
    color: RGBColor,
    swatch: Swatch,
}

pub(super) fn key(label: &str, color: RGBColor, swatch: Swatch) -> Key {
    Key {
        label: label.to_string(),
        color,
        swatch,
    }
}

/// The title, then a row of legend entries under it (wrapping when it has to) and `remark` in
/// grey, right-aligned on the last row or on a row of its own; returns the height it took.
pub(super) fn header(root: &Area, title: &str, keys: &[Key], remark: &str) -> anyhow::Result<u32> {
    let title_style = (FONT, TITLE_SIZE)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK);
    root.draw(&Text::new(title.to_string(), (16, 10), title_style))
        .map_err(err)?;
    let (mut x, mut y) = (16, 46);
    for k in keys {
        let w = 24 + 6 + text_width(&k.label, TEXT_SIZE) + 22;
        if x + w > WIDTH as i32 - 10 && x > 16 {
            x = 16;
            y += 20;
        }
        // swatches are rectangles, never polylines, so that a series' polyline is its only one
        match k.swatch {
            Swatch::Line(width) => {
                let half = (width as i32).max(2) / 2;
                root.draw(&Rectangle::new(
                    [(x, y - half), (x + 24, y - half + (width as i32).max(2))],
                    k.color.filled(),
                ))
                .map_err(err)?;
            }
            Swatch::Bar => {
                root.draw(&Rectangle::new(
                    [(x + 4, y - 6), (x + 20, y + 6)],
                    k.color.filled(),
                ))
                .map_err(err)?;
            }
            Swatch::Shade => {
                root.draw(&Rectangle::new(
                    [(x + 4, y - 6), (x + 20, y + 6)],
                    SHADE.filled(),
                ))
                .map_err(err)?;
                root.draw(&Rectangle::new([(x + 4, y - 6), (x + 20, y + 6)], GRID))
                    .map_err(err)?;
            }
            Swatch::Dashed => {
                for dx in [0, 10, 20] {
                    root.draw(&Rectangle::new(
                        [(x + dx, y - 1), (x + dx + 5, y + 1)],
                        k.color.filled(),
                    ))
                    .map_err(err)?;
                }
            }
            Swatch::Marker(filled) => marker(root, (x + 12, y), k.color, filled)?,
        }
        let style = font(TEXT_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(k.label.clone(), (x + 30, y), style))
            .map_err(err)?;
        x += w;
    }
    if !remark.is_empty() {
        let right = WIDTH as i32 - 16;
        if x + text_width(remark, SMALL_SIZE) > right {
            y += 20;
        }
        note(
            root,
            remark,
            (right, y),
            Pos::new(HPos::Right, VPos::Center),
        )?;
    }
    Ok((y + 16) as u32)
}

/// A note in small grey type at pixel `(x, y)`, anchored by `pos`.
pub(super) fn note(area: &Area, text: &str, (x, y): (i32, i32), pos: Pos) -> anyhow::Result<()> {
    let style = (FONT, SMALL_SIZE).into_font().color(&GREY).pos(pos);
    area.draw(&Text::new(text.to_string(), (x, y), style))
        .map_err(err)
}

/// Radius of a filled marker; a hollow one has a ring of 2 pixels one pixel inside it, so that
/// both reach as far.
const MARKER_RADIUS: i32 = 5;

/// A round marker at pixel `at`: filled, or hollow (white inside, ringed in `color`).
pub(super) fn marker(
    area: &Area,
    at: (i32, i32),
    color: RGBColor,
    filled: bool,
) -> anyhow::Result<()> {
    if filled {
        area.draw(&Circle::new(at, MARKER_RADIUS, color.filled()))
            .map_err(err)
    } else {
        area.draw(&Circle::new(at, MARKER_RADIUS - 1, WHITE.filled()))
            .map_err(err)?;
        area.draw(&Circle::new(at, MARKER_RADIUS - 1, color.stroke_width(2)))
            .map_err(err)
    }
}

pub(super) struct Line {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) width: u32,
    pub(super) points: Vec<(f64, f64)>,
}

impl Line {
    pub(super) fn key(&self) -> Key {
        key(&self.label, self.color, Swatch::Line(self.width))
    }

    pub(super) fn draw(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<Axis, Axis>>,
    ) -> anyhow::Result<()> {
        if self.points.is_empty() {
            return Ok(());
        }
        chart
            .draw_series(LineSeries::new(
                self.points.iter().copied(),
                self.color.stroke_width(self.width),
            ))
            .map_err(err)?;
        Ok(())
    }
}
