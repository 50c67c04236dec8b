//! Plots of a training run (PNG, drawn with plotters):
//!
//! - `loss.png`: the loss per iteration (log scale when it spans a decade or more) and, for
//!   classification, a second panel with the training and validation error in %;
//! - `sample.png`: one recorded sample: the input spike raster, the recurrent spike raster and the
//!   readout outputs over time against their targets (regression, dashed) or with the decision
//!   window shaded (classification).
//!
//! A figure is drawn into an RGB buffer, encoded with `png` and written atomically (temporary
//! name, then rename), so a crash never leaves a half-written PNG. Text is drawn with DejaVu
//! Sans, embedded in the binary (crate `dejavu`, drawn through ab_glyph): plots need no system
//! fonts, and neither does the build.

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use eligo_engine::network::Network;
use eligo_engine::neuron::ModelSpec;
use eligo_engine::optim::Loss;
use eligo_engine::task::Kind;
use eligo_engine::train::Recording;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

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

/// Line colours (the Tableau 10 palette: distinguishable, also in greyscale print).
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// plotters' errors borrow nothing but are not always `Send + Sync`: keep their message.
fn draw_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// Draw a `WIDTH x height` figure with `draw` and write it to `path` as PNG, atomically.
fn figure(path: &Path, height: u32, draw: impl FnOnce(&Area) -> Result<()>) -> Result<()> {
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
    eligo_engine::io::write_atomic(path, |w| {
        let mut enc = png::Encoder::new(w, WIDTH, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut png = enc.write_header()?;
        png.write_image_data(&buf)?;
        png.finish()?;
        Ok(())
    })?;
    Ok(())
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
        .build_cartesian_2d(iters, 0.0..top)
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
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, TICK_PT))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// One recorded sample into `out/sample.png`: input raster, recurrent raster, readout. `net` names
/// and sizes the populations; `loss` is the sample's (its decision window is shaded).
pub fn sample(out: &Path, title: &str, net: &Network, rec: &Recording, loss: &Loss) -> Result<()> {
    let dt = net.dt_ms;
    let t_ms = 0.0..rec.steps.max(1) as f64 * dt;
    let input = net
        .population("in")
        .map(|p| &net.populations[p])
        .ok_or_else(|| anyhow!("the network has no input population 'in'"))?;
    let recurrent: Vec<_> = net
        .populations
        .iter()
        .filter(|p| matches!(p.model, ModelSpec::Lif(_) | ModelSpec::Alif(_)))
        .collect();
    figure(&out.join("sample.png"), 900, |root| {
        let root = root
            .titled(&format!("{title}: test sample 0"), (FONT, TITLE_PT))
            .map_err(draw_err)?;
        let h = root.dim_in_pixel().1;
        let (top, rest) = root.split_vertically(h * 27 / 100);
        let (middle, bottom) = rest.split_vertically(h * 38 / 100);

        // input raster: one colour
        let rate = rate_hz(rec.input.len(), input.size, rec.steps, dt);
        let rows = vec![Band {
            label: String::new(),
            from: 0,
            to: input.size,
            color: RGBColor(60, 60, 60),
        }];
        raster(
            &top,
            &format!(
                "input spikes ({}: {} neurons, {rate:.1} Hz)",
                input.name, input.size
            ),
            "input neuron",
            t_ms.clone(),
            dt,
            &[(rec.input.as_slice(), 0)],
            input.size,
            &rows,
        )?;

        // recurrent raster: populations stacked; LIF and ALIF parts of a population coloured apart
        let mut bands = Vec::new();
        let mut spikes = Vec::new();
        let mut offset = 0u32;
        let mut n_spikes = 0usize;
        for (k, p) in recurrent.iter().enumerate() {
            let lif = match &p.model {
                ModelSpec::Alif(a) => (a.n_lif as u32).min(p.size),
                _ => p.size,
            };
            for (name, from, to) in [("LIF", 0, lif), ("ALIF", lif, p.size)] {
                if to > from {
                    bands.push(Band {
                        label: format!("{} {name} ({})", p.name, to - from),
                        from: offset + from,
                        to: offset + to,
                        color: color(bands.len()),
                    });
                }
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
            t_ms.clone(),
            dt,
            &spikes,
            offset,
            &bands,
        )?;

        readout(&bottom, rec, loss, t_ms, dt)
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
/// vertical tick one step wide.
#[allow(clippy::too_many_arguments)]
fn raster(
    area: &Area,
    caption: &str,
    y_desc: &str,
    t_ms: Range<f64>,
    dt: f64,
    spikes: &[(&[(u64, u32)], u32)],
    n: u32,
    bands: &[Band],
) -> Result<()> {
    let n = n.max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, CAPTION_PT))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(t_ms, -0.5..f64::from(n) - 0.5)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .y_desc(y_desc)
        .label_style((FONT, TICK_PT))
        .axis_desc_style((FONT, DESC_PT))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .disable_mesh()
        .draw()
        .map_err(draw_err)?;
    let band_of = |row: u32| bands.iter().find(|b| (b.from..b.to).contains(&row));
    // a tick covers most of its row, but at least a pixel: rows can be thinner than one
    let half = 0.42;
    for b in bands.iter().filter(|b| !b.label.is_empty()) {
        let c = b.color;
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(draw_err)?
            .label(b.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], c.filled()));
    }
    for &(list, offset) in spikes {
        chart
            .draw_series(list.iter().map(|&(t, i)| {
                let row = offset + i;
                let c = band_of(row).map_or(BLACK, |b| b.color);
                let (x, y) = (t as f64 * dt, f64::from(row));
                Rectangle::new([(x, y - half), (x + dt, y + half)], c.filled())
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
    if bands.iter().any(|b| !b.label.is_empty()) {
        let (t, n) = (chart.x_range().end.max(f64::MIN_POSITIVE), f64::from(n));
        let labelled: Vec<&Band> = bands.iter().filter(|b| !b.label.is_empty()).collect();
        let corner = legend_position(
            spikes.iter().flat_map(|&(list, offset)| {
                list.iter()
                    .map(move |&(s, i)| (s as f64 * dt / t, (f64::from(offset + i) + 0.5) / n))
            }),
            labelled.len(),
            labelled.iter().map(|b| b.label.len()).max().unwrap_or(0),
            chart.plotting_area().dim_in_pixel(),
        );
        chart
            .configure_series_labels()
            .position(corner)
            .label_font((FONT, TICK_PT))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The readout outputs over time: against the dashed targets (regression), or with the
/// decision window shaded and the true and predicted class in the caption (classification).
fn readout(area: &Area, rec: &Recording, loss: &Loss, t_ms: Range<f64>, dt: f64) -> Result<()> {
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
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (-1.0, 1.0)
    };
    let pad = 0.08 * (hi - lo);
    let y_range = lo - pad..hi + pad;
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

    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, CAPTION_PT))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(50)
        .y_label_area_size(Y_LABELS_PX)
        .build_cartesian_2d(t_ms, y_range.clone())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("time (ms)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| tick_label(*v, span))
        .y_desc("output y")
        .label_style((FONT, TICK_PT))
        .axis_desc_style((FONT, DESC_PT))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.1))
        .draw()
        .map_err(draw_err)?;
    if let Some((from, to)) = window {
        let shade = BLACK.mix(0.08);
        chart
            .draw_series([Rectangle::new(
                [
                    (from as f64 * dt, y_range.start),
                    (to as f64 * dt, y_range.end),
                ],
                shade.filled(),
            )])
            .map_err(draw_err)?
            .label("decision window")
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], shade.filled()));
    }
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
            .map_err(draw_err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], c.stroke_width(3)));
        if rec.targets.len() == rec.y.len() {
            chart
                .draw_series(DashedLineSeries::new(
                    series(&rec.targets, k),
                    8,
                    6,
                    c.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(format!("target {k}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 10, y)], c.stroke_width(2)));
        }
    }
    let t = chart.x_range().end.max(f64::MIN_POSITIVE);
    let labels = [
        usize::from(window.is_some()),
        n_out,
        if rec.targets.len() == rec.y.len() {
            n_out
        } else {
            0
        },
    ];
    let corner = legend_position(
        (0..n_out)
            .flat_map(|k| series(&rec.y, k).into_iter().chain(series(&rec.targets, k)))
            .map(|(x, y)| (x / t, (y - y_range.start) / span)),
        labels.iter().sum(),
        if window.is_some() { 15 } else { 10 },
        chart.plotting_area().dim_in_pixel(),
    );
    chart
        .configure_series_labels()
        .position(corner)
        .label_font((FONT, TICK_PT))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_err)?;
    Ok(())
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
            &rec,
            &Loss::Mse { targets },
        )
        .unwrap();
        for f in ["loss.png", "sample.png"] {
            let bytes = std::fs::read(dir.path().join(f)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{f}");
        }
    }
}
