//! Plots of a training run (PNG, drawn with plotters):
//!
//! - `loss.png`: the loss per iteration (log scale when it spans a decade or more) and, for
//!   classification, a second panel with the training and validation error in %;
//! - `sample.png`: one recorded sample: the input spike raster (the task's input groups coloured
//!   apart), the recurrent spike raster and the readout outputs over time against their targets
//!   (regression, dashed) or with the decision window shaded (classification);
//! - `raster.png`, `rates.png`, `voltage.png` ([`activity`]): a run's spike raster, population
//!   rates and state traces (`simulate --plot`, and `train` for its recorded test sample);
//! - `returns.png` ([`returns`]): a closed-loop run's return per episode and its moving average.
//!
//! Time windows a task marks (cues, the decision window) are shaded in every panel over time.
//! Legends sit in a strip right of the plot, never over the data; every panel of a figure has
//! the same strip, so their time axes line up.
//!
//! A figure is drawn into an RGB buffer, encoded with `png` and written atomically (temporary
//! name, then rename), so a crash never leaves a half-written PNG. Text is drawn with DejaVu
//! Sans, embedded in the binary (crate `dejavu`, drawn through ab_glyph): plots need no system
//! fonts, and neither does the build.

mod activity;
mod returns;

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use eligo_engine::io::Staged;
use eligo_engine::network::{Network, Population};
use eligo_engine::neuron::ModelSpec;
use eligo_engine::optim::Loss;
use eligo_engine::task::{Kind, Layout};
use eligo_engine::train::Recording;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

pub use activity::{Activity, Traces};
pub use returns::learning_curve;

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Figure size (pixels).
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 800;
const FONT: &str = "sans-serif";
const TITLE_PT: u32 = 30;
const CAPTION_PT: u32 = 22;
const DESC_PT: u32 = 19;
const TICK_PT: u32 = 16;
/// Width of the y label area, the same in every panel so that the time axes line up.
const Y_LABELS_PX: u32 = 80;
/// Width of the legend strip right of a panel over time.
const LEGEND_PX: u32 = 230;
/// Height of one legend line.
const LEGEND_LINE_PX: i32 = 22;

/// Line colours: the Tableau 10 palette (distinguishable, also in greyscale print), so the ten
/// classes of a digit set each get their own.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// plotters' errors borrow nothing but are not always `Send + Sync`: keep their message.
fn draw_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// A panel's plot area and, right of it, its legend strip ([`LEGEND_PX`] wide).
fn split_legend<'a>(area: &Area<'a>) -> (Area<'a>, Area<'a>) {
    let w = area.dim_in_pixel().0;
    area.split_horizontally(w.saturating_sub(LEGEND_PX))
}

/// How a legend entry's marker is drawn.
#[derive(Clone, Copy)]
enum Marker {
    /// A filled box (a raster band, a shaded window).
    Fill,
    /// A solid line.
    Line,
    /// A dashed line (a target).
    Dashed,
}

/// One line of a legend.
struct LegendEntry {
    label: String,
    color: RGBAColor,
    marker: Marker,
}

impl LegendEntry {
    fn fill(label: impl Into<String>, color: RGBAColor) -> Self {
        LegendEntry {
            label: label.into(),
            color,
            marker: Marker::Fill,
        }
    }
    fn line(label: impl Into<String>, color: RGBColor) -> Self {
        LegendEntry {
            label: label.into(),
            color: color.to_rgba(),
            marker: Marker::Line,
        }
    }
}

/// `entries` in the legend strip `area`, top down from the plot's top, in as many columns as
/// the strip's height needs (and its width allows: entries beyond are summarized as "+N more").
fn legend_strip(area: &Area, entries: &[LegendEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (w, h) = area.dim_in_pixel();
    // below the caption, as the plot area starts
    let top = CAPTION_PT as i32 + 24;
    let rows = ((h as i32 - top - 10) / LEGEND_LINE_PX).max(1) as usize;
    let cols = entries.len().div_ceil(rows);
    let chars = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0);
    let col_px = (0.55 * f64::from(TICK_PT) * chars as f64) as i32 + 40;
    let fit = ((w as i32 - 8) / col_px.max(1)).max(1) as usize;
    let (cols, col_px) = if cols <= fit {
        (cols, col_px)
    } else {
        (fit, (w as i32 - 8) / fit as i32)
    };
    let room = cols * rows;
    let font = (FONT, TICK_PT).into_font().color(&BLACK);
    for (k, e) in entries.iter().enumerate().take(room) {
        let (c, r) = (k / rows, k % rows);
        let x = 6 + c as i32 * col_px;
        let y = top + r as i32 * LEGEND_LINE_PX + LEGEND_LINE_PX / 2;
        let last = k + 1 == room && entries.len() > room;
        if last {
            let more = format!("+{} more", entries.len() - room + 1);
            area.draw(&Text::new(more, (x, y - 8), font.clone()))
                .map_err(draw_err)?;
            break;
        }
        match e.marker {
            Marker::Fill => area.draw(&Rectangle::new(
                [(x, y - 7), (x + 22, y + 7)],
                e.color.filled(),
            )),
            Marker::Line => area.draw(&PathElement::new(
                [(x, y), (x + 22, y)],
                e.color.stroke_width(3),
            )),
            Marker::Dashed => area
                .draw(&PathElement::new(
                    [(x, y), (x + 8, y)],
                    e.color.stroke_width(2),
                ))
                .and_then(|_| {
                    area.draw(&PathElement::new(
                        [(x + 14, y), (x + 22, y)],
                        e.color.stroke_width(2),
                    ))
                }),
        }
        .map_err(draw_err)?;
        area.draw(&Text::new(e.label.clone(), (x + 28, y - 8), font.clone()))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The shade of time window `name`: grey for the decision window, a tint per other name.
fn window_color(name: &str, others: usize) -> RGBAColor {
    const TINTS: [RGBColor; 3] = [
        RGBColor(255, 190, 40),
        RGBColor(120, 200, 240),
        RGBColor(150, 220, 120),
    ];
    if name == DECISION {
        BLACK.mix(0.10)
    } else {
        TINTS[others % TINTS.len()].mix(0.30)
    }
}

/// The name of the decision window (a classification loss's window).
const DECISION: &str = "decision window";

/// Shade `windows` (`(name, steps)`; the chart's x axis is in ms, `dt_ms` per step) over `y`;
/// returns one legend entry per window name.
fn shade_windows(
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    windows: &[(String, Range<u64>)],
    dt_ms: f64,
    y: Range<f64>,
) -> Result<Vec<LegendEntry>> {
    let mut names: Vec<&str> = Vec::new();
    let mut entries = Vec::new();
    for (name, steps) in windows {
        let k = match names.iter().position(|n| n == name) {
            Some(k) => k,
            None => {
                names.push(name);
                let others = names.iter().filter(|n| **n != DECISION).count();
                let c = window_color(name, others.saturating_sub(1));
                entries.push(LegendEntry::fill(name.clone(), c));
                names.len() - 1
            }
        };
        let c = entries[k].color;
        chart
            .draw_series([Rectangle::new(
                [
                    (steps.start as f64 * dt_ms, y.start),
                    (steps.end as f64 * dt_ms, y.end),
                ],
                c.filled(),
            )])
            .map_err(draw_err)?;
    }
    Ok(entries)
}

/// Draw a `WIDTH x height` figure with `draw` and write it to `path` as PNG, atomically.
fn figure(path: &Path, height: u32, draw: impl FnOnce(&Area) -> Result<()>) -> Result<()> {
    figure_staged(path, height, draw)?.commit()?;
    Ok(())
}

/// [`figure`], left under its temporary name to go into place with the other files of a set.
fn figure_staged(
    path: &Path,
    height: u32,
    draw: impl FnOnce(&Area) -> Result<()>,
) -> Result<Staged> {
    static FONT_READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ready = FONT_READY.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if !ready {
        return Err(anyhow!("the embedded DejaVu Sans font could not be read"));
    }
    let mut buf = vec![255u8; (WIDTH * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(eligo_engine::io::write_staged(path, |w| {
        let mut enc = png::Encoder::new(w, WIDTH, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut png = enc.write_header()?;
        png.write_image_data(&buf)?;
        png.finish()?;
        Ok(())
    })?)
}

/// One line of `metrics.jsonl` (missing or non-finite values are `None`).
struct Row {
    iteration: u64,
    loss: Option<f64>,
    train_error: Option<f64>,
    validation_error: Option<f64>,
}

fn read_metrics(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the metrics {}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", path.display(), n + 1))?;
        let num = |k: &str| v[k].as_f64().filter(|x| x.is_finite());
        let Some(iteration) = v["iteration"].as_u64() else {
            return Err(anyhow!(
                "{} line {}: no \"iteration\"",
                path.display(),
                n + 1
            ));
        };
        rows.push(Row {
            iteration,
            loss: num("loss"),
            train_error: num("train_error"),
            validation_error: num("validation_error"),
        });
    }
    Ok(rows)
}

/// Loss and error curves from `metrics` into `out/loss.png`; `title` names the run.
pub fn training(out: &Path, metrics: &Path, kind: Kind, title: &str) -> Result<()> {
    let rows = read_metrics(metrics)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(()); // no iteration ran: nothing to draw
    };
    let iters = first.iteration.min(last.iteration)..last.iteration.max(first.iteration + 1);
    figure(&out.join("loss.png"), HEIGHT, |root| {
        let root = root
            .titled(&format!("{title}: training"), (FONT, TITLE_PT))
            .map_err(draw_err)?;
        match kind {
            Kind::Regression => loss_panel(&root, &rows, iters, true),
            Kind::Classification => {
                let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 / 2);
                loss_panel(&top, &rows, iters.clone(), false)?;
                error_panel(&bottom, &rows, iters)
            }
        }
    })
}

/// The loss per iteration; on a log axis when it spans a decade or more.
fn loss_panel(area: &Area, rows: &[Row], iters: Range<u64>, x_desc: bool) -> Result<()> {
    let pts: Vec<(u64, f64)> = rows
        .iter()
        .filter_map(|r| r.loss.map(|l| (r.iteration, l)))
        .collect();
    let lo = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if pts.is_empty() {
        return Err(anyhow!("no finite loss in the metrics"));
    }
    if lo > 0.0 && hi / lo >= 10.0 {
        let y = (lo / 1.25..hi * 1.25).log_scale();
        loss_chart(area, iters, y, &pts, "loss (log scale)", x_desc)
    } else {
        let pad = 0.08 * (hi - lo).max(hi.abs() * 0.05).max(1e-6);
        // an axis from 0 shows how far the loss still is from perfect, unless that squashes it
        let y0 = if lo >= 0.0 && lo < 2.0 * (hi - lo) {
            0.0
        } else {
            lo - pad
        };
        loss_chart(area, iters, y0..hi + pad, &pts, "loss", x_desc)
    }
}

fn loss_chart<Y>(
    area: &Area,
    iters: Range<u64>,
    y: Y,
    pts: &[(u64, f64)],
    y_desc: &str,
    x_desc: bool,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption("loss per iteration", (FONT, CAPTION_PT))
        .margin(12)
        .x_label_area_size(if x_desc { 50 } else { 35 })
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(iters, y)
        .map_err(draw_err)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .label_style((FONT, TICK_PT))
        .axis_desc_style((FONT, DESC_PT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.1));
    if x_desc {
        mesh.x_desc("iteration");
    }
    mesh.draw().map_err(draw_err)?;
    chart
        .draw_series(LineSeries::new(
            pts.iter().copied(),
            color(0).stroke_width(2),
        ))
        .map_err(draw_err)?;
    if pts.len() <= 60 {
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color(0).filled())))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Training error (every iteration, one batch) and validation error, in %.
fn error_panel(area: &Area, rows: &[Row], iters: Range<u64>) -> Result<()> {
    let train: Vec<(u64, f64)> = rows
        .iter()
        .filter_map(|r| r.train_error.map(|e| (r.iteration, 100.0 * e)))
        .collect();
    let val: Vec<(u64, f64)> = rows
        .iter()
        .filter_map(|r| r.validation_error.map(|e| (r.iteration, 100.0 * e)))
        .collect();
    let top = train.iter().chain(&val).map(|p| p.1).fold(0.0, f64::max);
    // up to the next multiple of 10 %, at most 100 %
    let top = (10.0 * ((top / 10.0).floor() + 1.0)).min(100.0);
    let mut chart = ChartBuilder::on(area)
        .caption("classification error", (FONT, CAPTION_PT))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(iters.clone(), 0.0..top)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("error (%)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, TICK_PT))
        .axis_desc_style((FONT, DESC_PT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.1))
        .draw()
        .map_err(draw_err)?;
    if !train.is_empty() {
        let c = color(0).mix(0.55);
        chart
            .draw_series(LineSeries::new(train.iter().copied(), c.stroke_width(2)))
            .map_err(draw_err)?
            .label("training (one batch)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], c.stroke_width(2)));
    }
    if !val.is_empty() {
        let c = color(1);
        chart
            .draw_series(LineSeries::new(val.iter().copied(), c.stroke_width(3)))
            .map_err(draw_err)?
            .label("validation")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], c.stroke_width(3)));
        chart
            .draw_series(val.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(draw_err)?;
    }
    // the corner the curves leave free (usually the upper right: errors fall)
    let (x0, span) = (iters.start as f64, (iters.end - iters.start).max(1) as f64);
    let corner = legend_position(
        train
            .iter()
            .chain(&val)
            .map(|&(i, e)| ((i as f64 - x0) / span, e / top)),
        usize::from(!train.is_empty()) + usize::from(!val.is_empty()),
        20,
        chart.plotting_area().dim_in_pixel(),
    );
    chart
        .configure_series_labels()
        .position(corner)
        .label_font((FONT, TICK_PT))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// Per-population rates as `summary.json`'s `rates_hz` object, `{population: Hz}`.
pub fn rates_json(rates: &[(String, f64)]) -> serde_json::Value {
    serde_json::Value::Object(
        rates
            .iter()
            .map(|(name, r)| (name.clone(), serde_json::json!(r)))
            .collect(),
    )
}

/// The time windows of a sample: the task's (e.g. cues) and, for a classification loss, its
/// decision window.
pub fn sample_windows(layout: &Layout, loss: &Loss, steps: u64) -> Vec<(String, Range<u64>)> {
    let mut w = layout.windows.clone();
    if let Loss::CrossEntropy { from, to, .. } = loss {
        w.push((DECISION.to_string(), *from..(*to).min(steps)));
    }
    w
}

/// The populations a recording holds: the input population `input` and the recurrent (LIF and
/// ALIF) ones, in network order (the order of `Recording::rec`).
fn recorded_populations<'a>(
    net: &'a Network,
    input: &str,
) -> Result<(&'a Population, Vec<&'a Population>)> {
    let input = net
        .population(input)
        .map(|p| &net.populations[p])
        .ok_or_else(|| anyhow!("the network has no input population '{input}'"))?;
    let recurrent = net
        .populations
        .iter()
        .filter(|p| matches!(p.model, ModelSpec::Lif(_) | ModelSpec::Alif(_)))
        .collect();
    Ok((input, recurrent))
}

/// A population's LIF and ALIF parts (an ALIF population's first `n_lif` neurons are LIF).
fn model_groups(p: &Population) -> Vec<(String, Range<u32>)> {
    let lif = match &p.model {
        ModelSpec::Alif(a) => (a.n_lif as u32).min(p.size),
        _ => p.size,
    };
    [("LIF", 0, lif), ("ALIF", lif, p.size)]
        .into_iter()
        .filter(|&(_, from, to)| to > from)
        .map(|(name, from, to)| (name.to_string(), from..to))
        .collect()
}

/// A recorded sample as an [`Activity`] (for `raster.png` and `rates.png`): the input population
/// `input` with the task's input groups, then the recurrent populations with their LIF and ALIF
/// parts; the task's windows and the loss's decision window marked.
pub fn recording_activity(
    net: &Network,
    input: &str,
    rec: &Recording,
    loss: &Loss,
    layout: &Layout,
) -> Result<Activity> {
    let (inp, recurrent) = recorded_populations(net, input)?;
    let windows = sample_windows(layout, loss, rec.steps);
    let mut a = Activity::new(net.dt_ms, rec.steps, windows);
    let k = a.add(&inp.name, inp.size, layout.input_groups.clone());
    let mut input_spikes = rec.input.clone();
    input_spikes.sort_unstable();
    for &(t, i) in &input_spikes {
        a.push(k, t, i);
    }
    for (p, spikes) in recurrent.iter().zip(&rec.rec) {
        let k = a.add(&p.name, p.size, model_groups(p));
        for &(t, i) in spikes {
            a.push(k, t, i);
        }
    }
    Ok(a)
}

/// One recorded sample into `out/sample.png`: input raster, recurrent raster, readout. `net` names
/// and sizes the populations, `input` is the population the sample's spikes were clamped onto;
/// `loss` is the sample's (its decision window is shaded) and `layout` the task's (its input
/// groups coloured, its windows shaded).
pub fn sample(
    out: &Path,
    title: &str,
    net: &Network,
    input: &str,
    rec: &Recording,
    loss: &Loss,
    layout: &Layout,
) -> Result<()> {
    let dt = net.dt_ms;
    let t_ms = 0.0..rec.steps.max(1) as f64 * dt;
    let (input, recurrent) = recorded_populations(net, input)?;
    let windows = sample_windows(layout, loss, rec.steps);
    figure(&out.join("sample.png"), 900, |root| {
        let root = root
            .titled(&format!("{title}: test sample 0"), (FONT, TITLE_PT))
            .map_err(draw_err)?;
        let h = root.dim_in_pixel().1;
        let (top, rest) = root.split_vertically(h * 27 / 100);
        let (middle, bottom) = rest.split_vertically(h * 38 / 100);

        // input raster: the task's input groups coloured apart, else one colour
        let rate = rate_hz(rec.input.len(), input.size, rec.steps, dt);
        let rows: Vec<Band> = if layout.input_groups.is_empty() {
            vec![Band {
                label: String::new(),
                from: 0,
                to: input.size,
                color: RGBColor(60, 60, 60),
            }]
        } else {
            layout
                .input_groups
                .iter()
                .enumerate()
                .map(|(k, (name, r))| Band {
                    label: format!("{name} ({})", r.end - r.start),
                    from: r.start,
                    to: r.end,
                    color: color(k),
                })
                .collect()
        };
        raster(
            &top,
            &format!(
                "input spikes ({}: {} neurons, {rate:.1} Hz)",
                input.name, input.size
            ),
            "input neuron",
            false,
            t_ms.clone(),
            dt,
            &[(rec.input.as_slice(), 0)],
            input.size,
            &rows,
            &windows,
        )?;

        // recurrent raster: populations stacked; LIF and ALIF parts of a population coloured apart
        let mut bands = Vec::new();
        let mut spikes = Vec::new();
        let mut offset = 0u32;
        let mut n_spikes = 0usize;
        for (k, p) in recurrent.iter().enumerate() {
            for (name, r) in model_groups(p) {
                bands.push(Band {
                    label: format!("{} {name} ({})", p.name, r.end - r.start),
                    from: offset + r.start,
                    to: offset + r.end,
                    color: color(bands.len()),
                });
            }
            if let Some(s) = rec.rec.get(k) {
                spikes.push((s.as_slice(), offset));
                n_spikes += s.len();
            }
            offset += p.size;
        }
        let rate = rate_hz(n_spikes, offset, rec.steps, dt);
        raster(
            &middle,
            &format!("recurrent spikes ({offset} neurons, {rate:.1} Hz)"),
            "neuron",
            false,
            t_ms.clone(),
            dt,
            &spikes,
            offset,
            &bands,
            &windows,
        )?;

        readout(&bottom, rec, loss, &windows, t_ms, dt)
    })
}

/// Mean rate (Hz) of `n` neurons firing `spikes` spikes in `steps` steps of `dt` ms.
fn rate_hz(spikes: usize, n: u32, steps: u64, dt_ms: f64) -> f64 {
    let s = f64::from(n.max(1)) * steps.max(1) as f64 * dt_ms / 1000.0;
    spikes as f64 / s
}

/// Neurons `from..to` of a raster drawn in one colour, named in the legend.
struct Band {
    label: String,
    from: u32,
    to: u32,
    color: RGBColor,
}

/// A spike raster: `spikes` are `(list, row offset)`, each spike `(step, neuron)` a short
/// vertical tick one step wide (at least a pixel); `windows` shaded behind; the bands' legend in
/// the strip right of it. `x_desc`: label the time axis (the bottom panel of a figure).
#[allow(clippy::too_many_arguments)]
fn raster(
    area: &Area,
    caption: &str,
    y_desc: &str,
    x_desc: bool,
    t_ms: Range<f64>,
    dt: f64,
    spikes: &[(&[(u64, u32)], u32)],
    n: u32,
    bands: &[Band],
    windows: &[(String, Range<u64>)],
) -> Result<()> {
    let n = n.max(1);
    let (plot, strip) = split_legend(area);
    let mut chart = ChartBuilder::on(&plot)
        .caption(caption, (FONT, CAPTION_PT))
        .margin(12)
        .x_label_area_size(if x_desc { 50 } else { 30 })
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(t_ms, -0.5..f64::from(n) - 0.5)
        .map_err(draw_err)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .label_style((FONT, TICK_PT))
        .axis_desc_style((FONT, DESC_PT))
        .x_label_formatter(&|v| tick_label(*v, 100.0))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .disable_mesh();
    if x_desc {
        mesh.x_desc("time (ms)");
    }
    mesh.draw().map_err(draw_err)?;
    let y = chart.y_range();
    let mut legend = shade_windows(&mut chart, windows, dt, y)?;
    let band_of = |row: u32| bands.iter().find(|b| (b.from..b.to).contains(&row));
    // a tick covers most of its row and its step, but at least 2 x 2 pixels: at 0.1 ms steps
    // over a second, or a few hundred rows, a step or a row is thinner than a pixel
    let (w_px, h_px) = chart.plotting_area().dim_in_pixel();
    let x = chart.x_range();
    let width = dt.max(2.0 * (x.end - x.start) / f64::from(w_px.max(1)));
    let half = 0.42f64.max(f64::from(n) / f64::from(h_px.max(1)));
    for &(list, offset) in spikes {
        chart
            .draw_series(list.iter().map(|&(t, i)| {
                let row = offset + i;
                let c = band_of(row).map_or(BLACK, |b| b.color);
                let (x, y) = (t as f64 * dt, f64::from(row));
                Rectangle::new([(x, y - half), (x + width, y + half)], c.filled())
            }))
            .map_err(draw_err)?;
    }
    // boundaries between bands
    for b in bands.iter().skip(1) {
        let y = f64::from(b.from) - 0.5;
        chart
            .draw_series(LineSeries::new(
                [(chart.x_range().start, y), (chart.x_range().end, y)],
                BLACK.mix(0.35),
            ))
            .map_err(draw_err)?;
    }
    // the legend lists the bands top down, as they are stacked (the first at the bottom)
    let mut entries: Vec<LegendEntry> = bands
        .iter()
        .rev()
        .filter(|b| !b.label.is_empty())
        .map(|b| LegendEntry::fill(b.label.clone(), b.color.to_rgba()))
        .collect();
    entries.append(&mut legend);
    legend_strip(&strip, &entries)
}

/// The readout outputs over time: against the dashed targets (regression), or with the
/// decision window shaded and the true and predicted class in the caption (classification).
fn readout(
    area: &Area,
    rec: &Recording,
    loss: &Loss,
    windows: &[(String, Range<u64>)],
    t_ms: Range<f64>,
    dt: f64,
) -> Result<()> {
    let n_out = rec.n_out.max(1);
    let steps = (rec.y.len() / n_out) as u64;
    let series = |v: &[f32], k: usize| -> Vec<(f64, f64)> {
        (0..(v.len() / n_out))
            .map(|t| (t as f64 * dt, f64::from(v[t * n_out + k])))
            .collect()
    };
    let values = rec.y.iter().chain(&rec.targets).map(|&v| f64::from(v));
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let y_range = padded(lo, hi);
    let span = y_range.end - y_range.start;

    let window = match loss {
        Loss::CrossEntropy { from, to, .. } => Some((*from, (*to).min(steps))),
        Loss::Mse { .. } => None,
    };
    let caption = match (window, rec.label) {
        (Some((from, to)), Some(label)) => {
            // the decision: the class whose output summed over the window is largest
            let sums: Vec<f64> = (0..n_out)
                .map(|k| {
                    (from..to)
                        .map(|t| f64::from(rec.y[t as usize * n_out + k]))
                        .sum()
                })
                .collect();
            let predicted = (0..n_out)
                .max_by(|&a, &b| sums[a].total_cmp(&sums[b]))
                .unwrap_or(0);
            format!(
                "readout: true class {label}, predicted class {predicted} ({})",
                if predicted == label {
                    "correct"
                } else {
                    "wrong"
                }
            )
        }
        (_, Some(label)) => format!("readout: true class {label}"),
        _ => "readout outputs (solid) and targets (dashed)".to_string(),
    };

    let (plot, strip) = split_legend(area);
    let mut chart = ChartBuilder::on(&plot)
        .caption(caption, (FONT, CAPTION_PT))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(t_ms, y_range.clone())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("time (ms)")
        .x_label_formatter(&|v| tick_label(*v, 100.0))
        .y_label_formatter(&|v| tick_label(*v, span))
        .y_desc("output y")
        .label_style((FONT, TICK_PT))
        .axis_desc_style((FONT, DESC_PT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.1))
        .draw()
        .map_err(draw_err)?;
    let mut entries = shade_windows(&mut chart, windows, dt, y_range)?;
    for k in 0..n_out {
        let c = color(k);
        let name = if window.is_some() {
            format!("class {k}")
        } else {
            format!("y{k}")
        };
        let width = if rec.label == Some(k) { 3 } else { 2 };
        chart
            .draw_series(LineSeries::new(series(&rec.y, k), c.stroke_width(width)))
            .map_err(draw_err)?;
        entries.push(LegendEntry::line(name, c));
        if rec.targets.len() == rec.y.len() {
            chart
                .draw_series(DashedLineSeries::new(
                    series(&rec.targets, k),
                    8,
                    6,
                    c.stroke_width(2),
                ))
                .map_err(draw_err)?;
            entries.push(LegendEntry {
                label: format!("target {k}"),
                color: c.to_rgba(),
                marker: Marker::Dashed,
            });
        }
    }
    legend_strip(&strip, &entries)
}

/// A tick label with as many decimals as ticks about a tenth of `span` apart need, and no "-0".
fn tick_label(v: f64, span: f64) -> String {
    let decimals = (1.0 - span.abs().max(1e-12).log10()).ceil().clamp(0.0, 6.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// Where a legend of `entries` lines, the longest `chars` characters, hides the fewest of `points`
/// in a plot of `plot_px` pixels: a corner or the top or bottom middle. Points are fractions of the
/// axes (x right, y up). Ties go to the upper right, then the upper left.
fn legend_position(
    points: impl Iterator<Item = (f64, f64)>,
    entries: usize,
    chars: usize,
    plot_px: (u32, u32),
) -> SeriesLabelPosition {
    use SeriesLabelPosition::*;
    // the legend box as plotters draws it (marker, padding, a text line per entry), plus its
    // margin to the axes
    let w = (0.6 * f64::from(TICK_PT) * chars as f64 + 60.0) / f64::from(plot_px.0.max(1));
    let h = (f64::from(TICK_PT + 6) * entries as f64 + 25.0) / f64::from(plot_px.1.max(1));
    let (w, h) = (w.min(1.0), h.min(1.0));
    let candidates = [
        (UpperRight, 1.0 - w, true),
        (UpperLeft, 0.0, true),
        (UpperMiddle, 0.5 - w / 2.0, true),
        (LowerRight, 1.0 - w, false),
        (LowerLeft, 0.0, false),
        (LowerMiddle, 0.5 - w / 2.0, false),
    ];
    let mut counts = [0usize; 6];
    for (x, y) in points {
        for (c, &(_, x0, upper)) in counts.iter_mut().zip(&candidates) {
            let in_y = if upper { y >= 1.0 - h } else { y <= h };
            if in_y && x >= x0 && x <= x0 + w {
                *c += 1;
            }
        }
    }
    let best = (0..candidates.len())
        .min_by_key(|&i| counts[i])
        .unwrap_or(0);
    candidates[best].0.clone()
}

/// The y range of a plot of values from `lo` to `hi` (infinite when there were none): 8 % of
/// the span added on each side; a single value gets +-1 around it, no value -1..1.
pub(crate) fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (-1.0, 1.0)
    };
    let pad = 0.08 * (hi - lo);
    lo - pad..hi + pad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legend_goes_where_the_data_is_not() {
        // a line along the top and the right edge: the lower left is free
        let pts = (0..100)
            .map(|i| (f64::from(i) / 100.0, 0.95))
            .chain((0..100).map(|i| (0.99, f64::from(i) / 100.0)));
        let pos = legend_position(pts, 2, 10, (1000, 300));
        assert_eq!(pos, SeriesLabelPosition::LowerLeft);
        // no data: upper right
        let pos = legend_position(std::iter::empty(), 2, 10, (1000, 300));
        assert_eq!(pos, SeriesLabelPosition::UpperRight);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick_label(-0.0000001, 2.0), "0.0");
        assert_eq!(tick_label(0.30000000000000004, 2.0), "0.3");
        assert_eq!(tick_label(-1.5, 6.0), "-1.5");
        assert_eq!(tick_label(250.0, 900.0), "250");
    }

    /// The regression path (no regression task ships yet): dashed targets, a log-scale loss.
    #[test]
    fn regression_figures() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = dir.path().join("metrics.jsonl");
        let lines: Vec<String> = (1..=40)
            .map(|i| format!(r#"{{"iteration":{i},"loss":{}}}"#, 3.0 / f64::from(i * i)))
            .collect();
        std::fs::write(&metrics, lines.join("\n")).unwrap();
        training(dir.path(), &metrics, Kind::Regression, "synthetic / test").unwrap();

        let opts = eligo_engine::task::TaskOptions {
            seed: 1,
            scale: 0.2,
        };
        let task = eligo_engine::task::by_name("evidence", &opts).unwrap();
        let net = task.network(1).build().unwrap();
        let (steps, n_out) = (300u64, 2usize);
        let wave = |phase: f64| -> Vec<f32> {
            (0..steps as usize * n_out)
                .map(|j| ((j / n_out) as f64 / 40.0 + phase * (j % n_out) as f64).sin() as f32)
                .collect()
        };
        let targets = wave(1.0);
        let rec = Recording {
            steps,
            input: (0..steps)
                .step_by(7)
                .map(|t| (t, (t % 40) as u32))
                .collect(),
            rec: vec![
                (0..steps)
                    .step_by(3)
                    .map(|t| (t, (t % 100) as u32))
                    .collect(),
            ],
            y: wave(0.8).iter().map(|v| 0.8 * v).collect(),
            n_out,
            targets: targets.clone(),
            label: None,
        };
        sample(
            dir.path(),
            "synthetic / test",
            &net,
            "in",
            &rec,
            &Loss::Mse { targets },
            &Layout::default(),
        )
        .unwrap();
        for f in ["loss.png", "sample.png"] {
            let bytes = std::fs::read(dir.path().join(f)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{f}");
        }
    }
}
