//! The results of a run: the plain-text table, the CSV and the SVG plot of total time
//! against work size.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use crate::measure::{median, strategy};

/// One workload at one size: every strategy's samples.
pub struct Row {
    /// The workload's name.
    pub workload: &'static str,
    /// The size its export was called with.
    pub size: i32,
    /// The checksum every run of every strategy returned.
    pub checksum: i64,
    /// The run times of each strategy, in the order of [`Report::strategies`].
    pub times: Vec<Vec<Duration>>,
}

impl Row {
    /// The median time of each strategy.
    pub fn medians(&self) -> Vec<Duration> {
        self.times.iter().map(|times| median(times)).collect()
    }

    /// Each strategy's median divided by the fastest median of the baseline strategies
    /// (interp and compiled) among `strategies`; `None` when none of them was measured.
    pub fn ratios(&self, strategies: &[&str]) -> Option<Vec<f64>> {
        let medians = self.medians();
        let best = strategies
            .iter()
            .zip(&medians)
            .filter(|(name, _)| strategy(name).is_some_and(|s| s.baseline))
            .map(|(_, median)| *median)
            .min()?;
        Some(
            medians
                .iter()
                .map(|median| median.as_secs_f64() / best.as_secs_f64())
                .collect(),
        )
    }
}

/// Everything one run of the harness measured.
pub struct Report {
    /// The strategies measured, in the order given.
    pub strategies: Vec<&'static str>,
    /// Runs per strategy, workload and size.
    pub runs: usize,
    /// One row per workload and size, in the order measured.
    pub rows: Vec<Row>,
}

/// Milliseconds, for printing.
fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// A column's width in the table.
const COLUMN: usize = 10;

impl Report {
    /// The table's header lines.
    pub fn header(&self) -> String {
        let times = format!("total ms, median of {}", self.runs);
        let ratios = "/ fastest of interp, compiled";
        let width = self.strategies.len() * (COLUMN + 1);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<22}|{:^width$}|{:^width$}",
            "",
            if times.len() < width { &times } else { "ms" },
            if ratios.len() < width {
                ratios
            } else {
                "ratio"
            },
        );
        let _ = write!(out, "{:<11} {:>10}", "workload", "size");
        for _ in 0..2 {
            out.push('|');
            for name in &self.strategies {
                let _ = write!(out, "{name:>COLUMN$} ");
            }
        }
        out.push('\n');
        out
    }

    /// The table's line for `row`.
    pub fn line(&self, row: &Row) -> String {
        let mut out = format!("{:<11} {:>10}|", row.workload, row.size);
        for median in row.medians() {
            let _ = write!(out, "{:>COLUMN$.2} ", ms(median));
        }
        out.push('|');
        match row.ratios(&self.strategies) {
            Some(ratios) => {
                for ratio in ratios {
                    let _ = write!(out, "{ratio:>COLUMN$.2} ");
                }
            }
            None => {
                for _ in &self.strategies {
                    let _ = write!(out, "{:>COLUMN$} ", "-");
                }
            }
        }
        out.push('\n');
        out
    }

    /// The CSV: one line per workload, size and strategy.
    pub fn csv(&self) -> String {
        let mut out =
            String::from("workload,size,strategy,runs,median_ms,min_ms,max_ms,ratio,checksum\n");
        for row in &self.rows {
            let ratios = row.ratios(&self.strategies);
            for (index, (name, times)) in self.strategies.iter().zip(&row.times).enumerate() {
                let min = times.iter().min().copied().unwrap_or_default();
                let max = times.iter().max().copied().unwrap_or_default();
                let ratio = ratios
                    .as_ref()
                    .map_or(String::new(), |ratios| format!("{:.4}", ratios[index]));
                let _ = writeln!(
                    out,
                    "{},{},{name},{},{:.4},{:.4},{:.4},{ratio},{}",
                    row.workload,
                    row.size,
                    times.len(),
                    ms(median(times)),
                    ms(min),
                    ms(max),
                    row.checksum
                );
            }
        }
        out
    }

    /// Draws one log-log panel per workload (total ms against size, a line per strategy) into
    /// the SVG file `path`.
    pub fn plot(&self, path: &Path) -> Result<()> {
        let mut workloads: Vec<&'static str> = Vec::new();
        for row in &self.rows {
            if !workloads.contains(&row.workload) {
                workloads.push(row.workload);
            }
        }
        let columns = workloads.len().clamp(1, 4);
        let rows = workloads.len().div_ceil(columns).max(1);
        let (panel_width, panel_height) = (380, 280);
        let size = (
            (columns * panel_width) as u32,
            (rows * panel_height + 40) as u32,
        );
        let root = SVGBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let root = root
            .titled(
                &format!(
                    "Total time of a fresh start (Module::new + instantiate + call), median of {} run{}",
                    self.runs,
                    if self.runs == 1 { "" } else { "s" }
                ),
                ("sans-serif", 18),
            )
            .map_err(plot_error)?;
        for (panel, workload) in root.split_evenly((rows, columns)).iter().zip(&workloads) {
            self.panel(panel, workload)?;
        }
        root.present()
            .map_err(plot_error)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Draws `workload`'s panel.
    fn panel(
        &self,
        area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
        workload: &str,
    ) -> Result<()> {
        let rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|row| row.workload == workload)
            .collect();
        let sizes: Vec<f64> = rows.iter().map(|row| f64::from(row.size)).collect();
        let all_ms: Vec<f64> = rows
            .iter()
            .flat_map(|row| row.medians())
            .map(|median| ms(median).max(1e-3))
            .collect();
        let (x_min, x_max) = bounds(&sizes);
        let (y_min, y_max) = bounds(&all_ms);
        let mut chart = ChartBuilder::on(area)
            .caption(workload, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(
                (x_min / 1.3..x_max * 1.3)
                    .log_scale()
                    .with_key_points(sizes.clone()),
                (y_min / 1.5..y_max * 1.5)
                    .log_scale()
                    .with_key_points(ticks(y_min / 1.5, y_max * 1.5)),
            )
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("size")
            .y_desc("total ms")
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| short_number(*y))
            .label_style(("sans-serif", 11))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_error)?;
        for (index, name) in self.strategies.iter().enumerate() {
            let color = series_color(index);
            let points: Vec<(f64, f64)> = rows
                .iter()
                .map(|row| (f64::from(row.size), ms(median(&row.times[index])).max(1e-3)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|point| Circle::new(point, 3, color.filled())),
                )
                .map_err(plot_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 11))
            .background_style(WHITE.mix(0.8))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(plot_error)
    }
}

/// The colour of the `index`th strategy's line.
fn series_color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    COLORS[index % COLORS.len()]
}

/// The least and greatest of `values` (1 and 1 when empty).
fn bounds(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if min.is_finite() {
        (min, max)
    } else {
        (1.0, 1.0)
    }
}

/// Ticks for a log axis from `min` to `max`: 1, 2 and 5 times each power of ten, or only
/// the powers of ten when that would be more than eight ticks.
fn ticks(min: f64, max: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    for multiples in [&[1.0, 2.0, 5.0][..], &[1.0]] {
        ticks.clear();
        for exponent in (min.log10().floor() as i32)..=(max.log10().ceil() as i32) {
            for multiple in multiples {
                let tick = multiple * 10f64.powi(exponent);
                if (min..=max).contains(&tick) {
                    ticks.push(tick);
                }
            }
        }
        if ticks.len() <= 8 {
            break;
        }
    }
    ticks
}

/// A tick label with at most three significant digits: `1.25k`, `20M`, `0.25`.
fn short_number(value: f64) -> String {
    let (scaled, suffix) = match value.abs() {
        v if v >= 1e9 => (value / 1e9, "G"),
        v if v >= 1e6 => (value / 1e6, "M"),
        v if v >= 1e3 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    let digits = match scaled.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 => 2,
        _ => 3,
    };
    let text = format!("{scaled:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{suffix}")
}

/// A plotting error as an `anyhow` error (the backend's error type is not `Send + Sync`).
pub fn plot_error<E: std::fmt::Display>(error: E) -> anyhow::Error {
    anyhow!("drawing the plot: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sizes of fib on three strategies.
    fn report() -> Report {
        let ms = Duration::from_millis;
        Report {
            strategies: vec!["interp", "compiled", "v8"],
            runs: 3,
            rows: vec![
                Row {
                    workload: "fib",
                    size: 22,
                    checksum: 17711,
                    times: vec![vec![ms(2), ms(1), ms(9)], vec![ms(8); 3], vec![ms(4); 3]],
                },
                Row {
                    workload: "fib",
                    size: 25,
                    checksum: 75025,
                    times: vec![vec![ms(20); 3], vec![ms(10); 3], vec![ms(5); 3]],
                },
            ],
        }
    }

    #[test]
    fn ratios_divide_by_the_fastest_baseline() {
        let report = report();
        assert_eq!(
            report.rows[0].ratios(&report.strategies).unwrap(),
            [1.0, 4.0, 2.0]
        );
        assert_eq!(
            report.rows[1].ratios(&report.strategies).unwrap(),
            [2.0, 1.0, 0.5]
        );
        assert!(report.rows[1].ratios(&["v8", "v8", "v8"]).is_none());
    }

    #[test]
    fn table_and_csv_hold_every_median() {
        let report = report();
        let mut table = report.header();
        for row in &report.rows {
            table.push_str(&report.line(row));
        }
        assert!(table.contains("median of 3"), "{table}");
        let line = table
            .lines()
            .find(|line| line.starts_with("fib") && line.contains(" 22|"))
            .unwrap();
        let numbers: Vec<&str> = line.split(['|', ' ']).filter(|s| !s.is_empty()).collect();
        assert_eq!(
            numbers,
            ["fib", "22", "2.00", "8.00", "4.00", "1.00", "4.00", "2.00"]
        );
        let csv = report.csv();
        assert_eq!(csv.lines().count(), 1 + 2 * 3);
        assert!(
            csv.contains("\nfib,22,interp,3,2.0000,1.0000,9.0000,1.0000,17711\n"),
            "{csv}"
        );
    }

    #[test]
    fn plot_draws_a_panel_with_a_legend() {
        let dir = std::env::temp_dir().join(format!("tierup-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tierup.svg");
        report().plot(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["fib", "interp", "compiled", "v8"] {
            let text = format!(">\n{text}\n</text>");
            assert!(svg.contains(&text), "{text} missing");
        }
    }

    #[test]
    fn log_ticks() {
        assert_eq!(ticks(0.8, 30.0), [1.0, 2.0, 5.0, 10.0, 20.0]);
        assert_eq!(ticks(0.5, 4000.0), [1.0, 10.0, 100.0, 1000.0]);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(1500.0), "1.5k");
        assert_eq!(short_number(1_250_000.0), "1.25M");
        assert_eq!(short_number(156_250_000.0), "156M");
        assert_eq!(short_number(100.0), "100");
        assert_eq!(short_number(20_000_000.0), "20M");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(3.0), "3");
    }
}
