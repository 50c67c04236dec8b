//! `returns.png`: the learning curve of a closed-loop run — every episode's return and the mean
//! of the last [`WINDOW`] episodes.

use std::path::Path;

use anyhow::{Result, anyhow};
use eligo_engine::train::agent_run::{WINDOW, moving_average};
use plotters::prelude::*;

use super::{CAPTION_PT, DESC_PT, FONT, HEIGHT, TICK_PT, TITLE_PT, Y_LABELS_PX};
use super::{color, draw_err, figure, padded};

/// The learning curve of `returns` (episode order) into `out/returns.png`; `title` names the
/// run, `target` (if any) is drawn as a dashed line.
pub fn learning_curve(out: &Path, returns: &[f64], title: &str, target: Option<f64>) -> Result<()> {
    if returns.is_empty() {
        return Ok(()); // no episode ran: nothing to draw
    }
    if returns.iter().any(|r| !r.is_finite()) {
        return Err(anyhow!("a return is not finite"));
    }
    let avg: Vec<(f64, f64)> = (1..=returns.len())
        .map(|n| (n as f64, moving_average(&returns[..n])))
        .collect();
    let lo = returns
        .iter()
        .copied()
        .chain(target)
        .fold(f64::INFINITY, f64::min);
    let hi = returns
        .iter()
        .copied()
        .chain(target)
        .fold(f64::NEG_INFINITY, f64::max);
    let n = returns.len() as f64;
    figure(&out.join("returns.png"), HEIGHT, |root| {
        let root = root
            .titled(&format!("{title}: learning curve"), (FONT, TITLE_PT))
            .map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("return per episode", (FONT, CAPTION_PT))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(Y_LABELS_PX)
            .build_cartesian_2d(0.5..n + 0.5, padded(lo, hi))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("episode")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("return")
            .label_style((FONT, TICK_PT))
            .axis_desc_style((FONT, DESC_PT))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()
            .map_err(draw_err)?;
        let c = color(0).mix(0.45);
        chart
            .draw_series(
                returns
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| Circle::new(((k + 1) as f64, r), 2, c.filled())),
            )
            .map_err(draw_err)?
            .label("episode return")
            .legend(move |(x, y)| Circle::new((x + 12, y), 3, c.filled()));
        let m = color(1);
        chart
            .draw_series(LineSeries::new(avg.iter().copied(), m.stroke_width(3)))
            .map_err(draw_err)?
            .label(format!("mean of the last {WINDOW}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], m.stroke_width(3)));
        if let Some(t) = target {
            let g = color(2);
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.5, t), (n + 0.5, t)],
                    8,
                    6,
                    g.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(format!("target {t}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], g.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, TICK_PT))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    })
}
