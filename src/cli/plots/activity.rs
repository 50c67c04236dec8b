//! The activity of one run, kept within a bound while it runs, and its figures: `raster.png`
//! (spike raster, one colour band per population or neuron group), `rates.png` (population rates
//! in Hz over time, binned) and `voltage.png` (state traces of a few neurons). `simulate` fills
//! an [`Activity`] piece by piece; `train` fills one from the recording of a test sample.

use std::ops::Range;
use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use super::{
    Area, Band, CAPTION_PT, DESC_PT, FONT, HEIGHT, LegendEntry, TICK_PT, TITLE_PT, Y_LABELS_PX,
    color, draw_err, figure_staged, legend_strip, raster, shade_windows, tick_label,
};
use eligo_engine::io::Staged;

/// Most spikes the raster keeps (16 bytes each: 32 MiB). Later spikes still count in the rates;
/// the raster then ends at the last step it holds completely and says so.
pub const RASTER_MAX_SPIKES: usize = 2_000_000;
/// Most neurons of one population the raster shows (the first ones): a figure has well under a
/// thousand pixel rows.
pub const RASTER_MAX_NEURONS: u32 = 200;
/// Width of a rate bin (ms), unless that gives fewer than [`MIN_BINS`] or more than
/// [`MAX_BINS`] bins.
pub const RATE_BIN_MS: f64 = 10.0;
const MIN_BINS: u64 = 20;
const MAX_BINS: u64 = 2000;
/// Most neurons of one state probe drawn (the first ones), and most probes (panels).
pub const TRACE_MAX_NEURONS: usize = 4;
pub const TRACE_MAX_PANELS: usize = 4;
/// A trace keeps the minimum and maximum of each of at most this many bins of steps: about two
/// points per pixel column, so a long run draws its extremes (spikes, resets) and stays bounded.
const TRACE_BINS: u64 = 1000;

/// Steps per bin: `bin_steps` of `dt_ms`, made coarser or finer so that `steps` has between
/// `MIN_BINS` and `MAX_BINS` bins (never below one step).
fn bin_steps(steps: u64, dt_ms: f64, max_bins: u64) -> u64 {
    let mut b = ((RATE_BIN_MS / dt_ms).round() as u64).max(1);
    if steps / b < MIN_BINS {
        b = (steps / MIN_BINS).max(1);
    }
    if steps.div_ceil(b) > max_bins {
        b = steps.div_ceil(max_bins);
    }
    b
}

/// One population's spikes: the raster's (the first `shown` neurons, up to the spike bound) and
/// every neuron's spike count per rate bin.
struct Track {
    name: String,
    size: u32,
    shown: u32,
    /// Groups of neurons coloured apart (`(label, neurons)`); empty: the whole population.
    groups: Vec<(String, Range<u32>)>,
    spikes: Vec<(u64, u32)>,
    counts: Vec<u64>,
    total: u64,
}

/// The spikes of some populations over one run of `steps` steps, and the time windows to mark.
pub struct Activity {
    dt_ms: f64,
    steps: u64,
    bin: u64,
    tracks: Vec<Track>,
    windows: Vec<(String, Range<u64>)>,
    kept: usize,
    /// The raster holds every spike of a step before this.
    complete_until: u64,
}

impl Activity {
    /// No populations yet; `windows` (`(name, steps)`) are shaded in every panel.
    pub fn new(dt_ms: f64, steps: u64, windows: Vec<(String, Range<u64>)>) -> Self {
        Activity {
            dt_ms,
            steps,
            bin: bin_steps(steps, dt_ms, MAX_BINS),
            tracks: Vec::new(),
            windows,
            kept: 0,
            complete_until: u64::MAX,
        }
    }

    /// Track a population of `size` neurons; `groups` colour parts of it apart (e.g. LIF and
    /// ALIF neurons, or a task's input groups). Returns its index for [`Activity::push`].
    pub fn add(&mut self, name: &str, size: u32, groups: Vec<(String, Range<u32>)>) -> usize {
        self.tracks.push(Track {
            name: name.to_string(),
            size,
            shown: size.min(RASTER_MAX_NEURONS),
            groups,
            spikes: Vec::new(),
            counts: vec![0; self.steps.div_ceil(self.bin) as usize],
            total: 0,
        });
        self.tracks.len() - 1
    }

    /// A spike of neuron `i` of population `track` at `step` (steps in non-decreasing order).
    pub fn push(&mut self, track: usize, step: u64, i: u32) {
        let t = &mut self.tracks[track];
        t.total += 1;
        if let Some(c) = t.counts.get_mut((step / self.bin) as usize) {
            *c += 1;
        }
        if i < t.shown && step < self.complete_until {
            if self.kept < RASTER_MAX_SPIKES {
                t.spikes.push((step, i));
                self.kept += 1;
            } else {
                self.complete_until = step;
            }
        }
    }

    /// Each population's mean rate over the whole run (Hz): its spikes / (neurons x duration).
    pub fn rates_hz(&self) -> Vec<(String, f64)> {
        let seconds = self.steps as f64 * self.dt_ms / 1000.0;
        self.tracks
            .iter()
            .map(|t| {
                let r =
                    t.total as f64 / (f64::from(t.size.max(1)) * seconds.max(f64::MIN_POSITIVE));
                (t.name.clone(), r)
            })
            .collect()
    }

    fn t_ms(&self) -> Range<f64> {
        0.0..self.steps.max(1) as f64 * self.dt_ms
    }

    /// The spike raster into `out/raster.png`: populations stacked from the bottom in order.
    /// Staged: it goes into place with the other files of the run.
    pub fn raster_png(&self, out: &Path, title: &str) -> Result<Staged> {
        let mut bands = Vec::new();
        let mut spikes = Vec::new();
        let mut offset = 0u32;
        for t in &self.tracks {
            let shown = if t.shown < t.size {
                format!(", first {} of {}", t.shown, t.size)
            } else {
                format!(", {}", t.size)
            };
            if t.groups.is_empty() {
                bands.push(Band {
                    label: format!("{}{shown}", t.name),
                    from: offset,
                    to: offset + t.shown,
                    color: color(bands.len()),
                });
            } else {
                for (name, r) in &t.groups {
                    let (from, to) = (r.start.min(t.shown), r.end.min(t.shown));
                    if to > from {
                        bands.push(Band {
                            label: format!("{} {name} ({})", t.name, to - from),
                            from: offset + from,
                            to: offset + to,
                            color: color(bands.len()),
                        });
                    }
                }
            }
            spikes.push((t.spikes.as_slice(), offset));
            offset += t.shown;
        }
        let complete = if self.complete_until < self.steps {
            format!(
                " (first {RASTER_MAX_SPIKES} spikes: complete up to {} ms)",
                eligo_engine::error::num(self.complete_until as f64 * self.dt_ms)
            )
        } else {
            String::new()
        };
        let height = (HEIGHT * 3 / 4).max(offset.min(700) + 200);
        figure_staged(&out.join("raster.png"), height, |root| {
            let root = root
                .titled(&format!("{title}: spike raster"), (FONT, TITLE_PT))
                .map_err(draw_err)?;
            raster(
                &root,
                &format!("spikes of the recorded neurons{complete}"),
                "neuron",
                true,
                self.t_ms(),
                self.dt_ms,
                &spikes,
                offset,
                &bands,
                &self.windows,
            )
        })
    }

    /// Population rates over time into `out/rates.png`: spikes per bin / (neurons x bin width).
    pub fn rates_png(&self, out: &Path, title: &str) -> Result<Staged> {
        let bin_ms = self.bin as f64 * self.dt_ms;
        let series: Vec<Vec<(f64, f64)>> = self
            .tracks
            .iter()
            .map(|t| {
                t.counts
                    .iter()
                    .enumerate()
                    .map(|(k, &c)| {
                        let from = k as u64 * self.bin;
                        let len = (self.steps - from).min(self.bin);
                        let width_s = len as f64 * self.dt_ms / 1000.0;
                        let mid = (from as f64 + len as f64 / 2.0) * self.dt_ms;
                        (mid, c as f64 / (f64::from(t.size.max(1)) * width_s))
                    })
                    .collect()
            })
            .collect();
        let top = series.iter().flatten().map(|p| p.1).fold(0.0f64, f64::max);
        let top = if top > 0.0 { top * 1.08 } else { 1.0 };
        figure_staged(&out.join("rates.png"), HEIGHT * 3 / 4, |root| {
            let root = root
                .titled(&format!("{title}: population rates"), (FONT, TITLE_PT))
                .map_err(draw_err)?;
            let (plot, strip) = super::split_legend(&root);
            let mut chart = ChartBuilder::on(&plot)
                .caption(
                    format!(
                        "rate per {} ms bin (spikes / neurons / bin width)",
                        eligo_engine::error::num(bin_ms)
                    ),
                    (FONT, CAPTION_PT),
                )
                .margin(12)
                .x_label_area_size(50)
                .y_label_area_size(Y_LABELS_PX)
                .build_cartesian_2d(self.t_ms(), 0.0..top)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("time (ms)")
                .y_desc("rate (Hz)")
                .x_label_formatter(&|v| tick_label(*v, 100.0))
                .y_label_formatter(&|v| tick_label(*v, top))
                .label_style((FONT, TICK_PT))
                .axis_desc_style((FONT, DESC_PT))
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.1))
                .draw()
                .map_err(draw_err)?;
            let mut legend = shade_windows(&mut chart, &self.windows, self.dt_ms, 0.0..top)?;
            for (k, (t, s)) in self.tracks.iter().zip(&series).enumerate() {
                let c = color(k);
                chart
                    .draw_series(LineSeries::new(s.iter().copied(), c.stroke_width(2)))
                    .map_err(draw_err)?;
                legend.push(LegendEntry::line(format!("{} ({})", t.name, t.size), c));
            }
            legend_strip(&strip, &legend)
        })
    }
}

/// One state probe's trace of a few neurons: per bin of steps the minimum and maximum.
struct Trace {
    caption: String,
    y_desc: String,
    /// Probe columns drawn (the first ones).
    cols: usize,
    /// Columns of a probe's sample row.
    width: usize,
    neurons: Vec<u32>,
    /// Per drawn neuron, per bin: (min, max).
    bins: Vec<Vec<(f32, f32)>>,
    step: u64,
}

/// State traces of a few neurons of each probe (at most [`TRACE_MAX_PANELS`] probes), bounded
/// whatever the run's length.
pub struct Traces {
    dt_ms: f64,
    steps: u64,
    bin: u64,
    traces: Vec<Trace>,
    windows: Vec<(String, Range<u64>)>,
}

impl Traces {
    /// No probes yet.
    pub fn new(dt_ms: f64, steps: u64, windows: Vec<(String, Range<u64>)>) -> Self {
        Traces {
            dt_ms,
            steps,
            bin: steps.div_ceil(TRACE_BINS).max(1),
            traces: Vec::new(),
            windows,
        }
    }

    /// A probe of variable `var` (`unit`, empty if none) of population `pop` on `neurons`;
    /// returns false (and keeps nothing) beyond the first [`TRACE_MAX_PANELS`].
    pub fn add(&mut self, pop: &str, var: &str, unit: &str, neurons: &[u32]) -> bool {
        if self.traces.len() >= TRACE_MAX_PANELS {
            return false;
        }
        let cols = neurons.len().min(TRACE_MAX_NEURONS);
        let list: Vec<String> = neurons[..cols].iter().map(u32::to_string).collect();
        let more = if neurons.len() > cols {
            format!(" (first {cols} of {} probed)", neurons.len())
        } else {
            String::new()
        };
        self.traces.push(Trace {
            caption: format!("{pop}: {var} of neuron {}{more}", list.join(", ")),
            y_desc: if unit.is_empty() {
                var.to_string()
            } else {
                format!("{var} ({unit})")
            },
            cols,
            width: neurons.len(),
            neurons: neurons[..cols].to_vec(),
            bins: vec![Vec::new(); cols],
            step: 0,
        });
        true
    }

    /// Rows (`steps x probe neurons`) of probe `k` that follow the ones given before.
    pub fn push(&mut self, k: usize, rows: &[f32]) {
        let bin = self.bin;
        let Some(t) = self.traces.get_mut(k) else {
            return;
        };
        for row in rows.chunks(t.width.max(1)) {
            let b = (t.step / bin) as usize;
            for (c, bins) in t.bins.iter_mut().enumerate().take(t.cols) {
                let v = row[c];
                if bins.len() <= b {
                    bins.push((v, v));
                } else {
                    let e = &mut bins[b];
                    *e = (e.0.min(v), e.1.max(v));
                }
            }
            t.step += 1;
        }
    }

    /// Whether any probe is kept.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The traces into `out/voltage.png`, one panel per probe.
    pub fn png(&self, out: &Path, title: &str) -> Result<Staged> {
        let n = self.traces.len().max(1) as u32;
        let t_ms = 0.0..self.steps.max(1) as f64 * self.dt_ms;
        figure_staged(&out.join("voltage.png"), 120 + 280 * n, |root| {
            let root = root
                .titled(&format!("{title}: recorded state"), (FONT, TITLE_PT))
                .map_err(draw_err)?;
            let panels = root.split_evenly((n as usize, 1));
            for (t, area) in self.traces.iter().zip(&panels) {
                self.panel(area, t, t_ms.clone())?;
            }
            Ok(())
        })
    }

    fn panel(&self, area: &Area, t: &Trace, t_ms: Range<f64>) -> Result<()> {
        let (lo, hi) = t
            .bins
            .iter()
            .flatten()
            .filter(|b| b.0.is_finite() && b.1.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(f64::from(v.0)), b.max(f64::from(v.1)))
            });
        let y = super::padded(lo, hi);
        let span = y.end - y.start;
        let (plot, strip) = super::split_legend(area);
        let mut chart = ChartBuilder::on(&plot)
            .caption(&t.caption, (FONT, CAPTION_PT))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(Y_LABELS_PX)
            .build_cartesian_2d(t_ms, y.clone())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("time (ms)")
            .y_desc(&t.y_desc)
            .x_label_formatter(&|v| tick_label(*v, 100.0))
            .y_label_formatter(&|v| tick_label(*v, span))
            .label_style((FONT, TICK_PT))
            .axis_desc_style((FONT, DESC_PT))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()
            .map_err(draw_err)?;
        let mut legend = shade_windows(&mut chart, &self.windows, self.dt_ms, y)?;
        let dt = self.dt_ms;
        for (k, bins) in t.bins.iter().enumerate() {
            let c = color(k);
            // per bin its minimum then its maximum: exact when a bin is one step
            let pts = bins.iter().enumerate().flat_map(|(b, &(lo, hi))| {
                let x = (b as u64 * self.bin) as f64 * dt;
                if self.bin == 1 {
                    vec![(x, f64::from(lo))]
                } else {
                    vec![(x, f64::from(lo)), (x, f64::from(hi))]
                }
            });
            // one pixel wide: plotters joins wider lines with mitres, which shoot far out of
            // the plot at the sharp turns of a spike and its reset
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(1)))
                .map_err(draw_err)?;
            legend.push(LegendEntry::line(format!("neuron {}", t.neurons[k]), c));
        }
        legend_strip(&strip, &legend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_of_rates() {
        // 10 ms at dt 0.1 ms for a 1 s run
        assert_eq!(bin_steps(10_000, 0.1, MAX_BINS), 100);
        // a 150 ms sequence at 1 ms: 20 bins of 7 steps, not 15 of 10
        assert_eq!(bin_steps(150, 1.0, MAX_BINS), 7);
        // an hour at 1 ms: at most MAX_BINS bins
        assert_eq!(bin_steps(3_600_000, 1.0, MAX_BINS), 1800);
        assert_eq!(bin_steps(3, 1.0, MAX_BINS), 1);
    }

    #[test]
    fn rates_and_the_spike_bound() {
        let mut a = Activity::new(1.0, 1000, Vec::new());
        let p = a.add("p", 4, Vec::new());
        let q = a.add("q", 400, Vec::new());
        for t in 0..1000 {
            a.push(p, t, (t % 4) as u32);
            a.push(q, t, 399);
        }
        let r = a.rates_hz();
        // 1000 spikes of 4 neurons in 1 s; 1000 spikes of 400 neurons in 1 s
        assert_eq!(r, vec![("p".into(), 250.0), ("q".into(), 2.5)]);
        // neuron 399 is beyond the raster's rows: counted, not kept
        assert_eq!(a.tracks[1].spikes.len(), 0);
        assert_eq!(a.tracks[0].spikes.len(), 1000);
        assert_eq!(a.complete_until, u64::MAX);
    }

    #[test]
    fn the_raster_keeps_at_most_its_bound() {
        // 10 spikes a step: the bound is reached during step RASTER_MAX_SPIKES / 10
        let steps = (RASTER_MAX_SPIKES / 10 + 100) as u64;
        let mut a = Activity::new(1.0, steps, Vec::new());
        let p = a.add("p", 10, Vec::new());
        for t in 0..steps {
            for i in 0..10 {
                a.push(p, t, i);
            }
        }
        assert_eq!(a.kept, RASTER_MAX_SPIKES);
        assert_eq!(a.complete_until, (RASTER_MAX_SPIKES / 10) as u64);
        // the rates count every spike
        assert_eq!(a.rates_hz()[0].1, 1000.0);
    }
}
