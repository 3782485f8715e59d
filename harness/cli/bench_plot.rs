//! `bench --plot FILE.svg`: handshakes/s against trust-store size, one line
//! per gateway, with plotters' SVG backend (no font files: its built-in
//! text estimate lays out the labels).

use anyhow::{Context, Result};
use mtls_harness::bench::BenchRun;
use plotters::prelude::*;
use std::path::Path;

/// Draw `runs` into `path` (written whole or not at all).
pub fn plot(path: &Path, runs: &[BenchRun]) -> Result<()> {
    let svg = render(runs)?;
    super::output::write_atomically(path, svg.as_bytes())
        .with_context(|| format!("--plot {}", path.display()))
}

/// The SVG text.
pub fn render(runs: &[BenchRun]) -> Result<String> {
    let points = |r: &BenchRun| -> Vec<(f64, f64)> {
        r.points
            .iter()
            .map(|p| ((p.trust_anchors as f64).log10(), p.stats.handshakes_per_s))
            .collect()
    };
    let max_x = runs
        .iter()
        .flat_map(points)
        .map(|(x, _)| x)
        .fold(1.0, f64::max);
    let max_y = runs
        .iter()
        .flat_map(points)
        .map(|(_, y)| y)
        .fold(1.0, f64::max)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).context("drawing the plot")?;
        let title = runs.first().map_or_else(String::new, |r| {
            format!(
                "handshakes/s vs trust anchors (TLS {}, CA names {})",
                r.tls,
                if r.ca_names { "on" } else { "off" }
            )
        });
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.1..max_x + 0.1, 0.0..max_y)
            .context("drawing the plot")?;
        chart
            .configure_mesh()
            .x_desc("trust anchors (log10)")
            .y_desc("handshakes/s")
            .x_label_formatter(&|x| format!("{:.0}", 10f64.powf(*x)))
            .draw()
            .context("drawing the plot")?;
        for (i, run) in runs.iter().enumerate() {
            let color = Palette99::pick(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points(run), color))
                .context("drawing the plot")?
                .label(run.gateway.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], Palette99::pick(i))
                });
            chart
                .draw_series(
                    points(run)
                        .into_iter()
                        .map(|p| Circle::new(p, 3, Palette99::pick(i).filled())),
                )
                .context("drawing the plot")?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .context("drawing the plot")?;
        root.present().context("drawing the plot")?;
    }
    Ok(svg)
}

/// `bench --during … --plot FILE.svg`: handshakes/s and failed handshakes/s
/// over time, each change marked (a vertical line) with its effect (a dot
/// where the canary first saw it).
pub fn plot_during(path: &Path, run: &mtls_harness::bench::during::DuringRun) -> Result<()> {
    let svg = render_during(run)?;
    super::output::write_atomically(path, svg.as_bytes())
        .with_context(|| format!("--plot {}", path.display()))
}

/// The SVG text of [`plot_during`].
pub fn render_during(run: &mtls_harness::bench::during::DuringRun) -> Result<String> {
    let step = run.timeline_step_s;
    let rate = |n: u64| n as f64 / step;
    let ok: Vec<(f64, f64)> = run
        .timeline
        .iter()
        .enumerate()
        .map(|(i, (n, _))| ((i as f64 + 0.5) * step, rate(*n)))
        .collect();
    let failed: Vec<(f64, f64)> = run
        .timeline
        .iter()
        .enumerate()
        .map(|(i, (_, f))| ((i as f64 + 0.5) * step, rate(*f)))
        .collect();
    let max_y = ok
        .iter()
        .chain(&failed)
        .map(|(_, y)| *y)
        .fold(1.0, f64::max)
        * 1.1;
    let max_x = run.duration_s.max(step);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 500)).into_drawing_area();
        root.fill(&WHITE).context("drawing the plot")?;
        let title = format!(
            "{}: {} every {:.1}s (TLS {}, {} workers)",
            run.gateway,
            run.change.name(),
            run.every_s,
            run.tls,
            run.concurrency
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_x, 0.0..max_y)
            .context("drawing the plot")?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("per second")
            .draw()
            .context("drawing the plot")?;
        chart
            .draw_series(LineSeries::new(ok, BLUE.stroke_width(2)))
            .context("drawing the plot")?
            .label("handshakes/s")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .draw_series(LineSeries::new(failed, RED.stroke_width(2)))
            .context("drawing the plot")?
            .label("failed handshakes/s")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        // Requests that failed on established (keep-alive) connections.
        chart
            .draw_series(
                run.failed_requests_at_s
                    .iter()
                    .map(|t| Cross::new((*t, max_y * 0.02), 5, MAGENTA.stroke_width(2))),
            )
            .context("drawing the plot")?
            .label("failed request on a keep-alive connection")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, MAGENTA.stroke_width(2)));
        for c in &run.changes {
            chart
                .draw_series(LineSeries::new(
                    vec![(c.at_s, 0.0), (c.at_s, max_y)],
                    BLACK.mix(0.5),
                ))
                .context("drawing the plot")?;
            if let Some(e) = c.effect_ms {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (c.at_s + e / 1000.0, max_y * 0.95),
                        4,
                        GREEN.filled(),
                    )))
                    .context("drawing the plot")?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .context("drawing the plot")?;
        root.present().context("drawing the plot")?;
    }
    Ok(svg)
}
