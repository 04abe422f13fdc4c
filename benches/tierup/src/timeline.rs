//! The `timeline` subcommand: reads a tier log (JSON lines written by the runtime) and draws
//! when each tier event happened, one row per function.
//!
//! A line of the log is one object:
//! `{"t_us": 1234.5, "event": "compile_end", "func": 17, "name": "fib", "thread":
//! "tierwasm-compile-0", "duration_us": 12.0}`. `t_us` (microseconds since start), `event`
//! and `func` are required; `name` and `thread` may be null or absent; `duration_us` is
//! optional. Fields the format does not name are ignored.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use plotters::element::{DynElement, IntoDynElement, Polygon};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use tierwasm::TierEventKind as EventKind;

use crate::report::plot_error;

/// One line of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Microseconds since the start of the run.
    pub t_us: f64,
    /// What happened.
    pub kind: EventKind,
    /// The function's index in the module's function index space.
    pub func: u32,
    /// Its name from the name section, if it has one.
    pub name: Option<String>,
    /// The thread the event happened on (`main`, `tierwasm-compile-0`, ...).
    pub thread: Option<String>,
    /// How long the step took (translation, compilation), when the runtime says.
    pub duration_us: Option<f64>,
}

/// A parsed log: its events in the order of the file, and a warning per unknown event kind.
#[derive(Debug, Default)]
pub struct Log {
    /// The events of known kinds.
    pub events: Vec<Event>,
    /// One line per unknown event kind: how many lines had it, and the first one.
    pub warnings: Vec<String>,
}

/// Parses a log's text; a malformed line is an error naming its number (from 1). Blank lines
/// are skipped, and so are events of unknown kinds (with a warning in [`Log::warnings`]).
pub fn parse_log(text: &str) -> Result<Log> {
    let mut events = Vec::new();
    // Unknown kind -> (first line, count).
    let mut unknown: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line).with_context(|| format!("line {number}"))? {
            Ok(event) => events.push(event),
            Err(kind) => unknown.entry(kind).or_insert((number, 0)).1 += 1,
        }
    }
    let warnings = unknown
        .into_iter()
        .map(|(kind, (first, count))| {
            format!("skipped {count} event(s) of unknown kind {kind:?} (first on line {first})")
        })
        .collect();
    Ok(Log { events, warnings })
}

/// One line: its event, or `Err(kind)` for an event of unknown kind `kind`.
fn parse_line(line: &str) -> Result<std::result::Result<Event, String>> {
    let value: Value = serde_json::from_str(line).context("not valid JSON")?;
    let Value::Object(object) = value else {
        bail!("not a JSON object");
    };
    let number = |field: &str| -> Result<Option<f64>> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_f64() {
                Some(number) if number.is_finite() => Ok(Some(number)),
                _ => bail!("\"{field}\" is not a number: {value}"),
            },
        }
    };
    let text = |field: &str| -> Result<Option<String>> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(value) => bail!("\"{field}\" is not a string: {value}"),
        }
    };
    let t_us = number("t_us")?.context("no \"t_us\"")?;
    let kind = text("event")?.context("no \"event\"")?;
    let func = match object.get("func") {
        None => bail!("no \"func\""),
        Some(value) => value
            .as_u64()
            .and_then(|func| u32::try_from(func).ok())
            .with_context(|| format!("\"func\" is not a function index: {value}"))?,
    };
    let name = text("name")?;
    let thread = text("thread")?;
    let duration_us = number("duration_us")?;
    let Some(kind) = EventKind::from_name(&kind) else {
        return Ok(Err(kind));
    };
    Ok(Ok(Event {
        t_us,
        kind,
        func,
        name,
        thread,
        duration_us,
    }))
}

/// A function's row of the timeline.
#[derive(Debug, PartialEq)]
pub struct FunctionRow {
    /// The function's index.
    pub func: u32,
    /// Its label: the name, else `func N`.
    pub label: String,
    /// Its events, by time.
    pub events: Vec<Event>,
    /// Compilations, `(start ms, end ms, failed)`: each `compile_start` to the function's next
    /// `compile_end` or `compile_failed`.
    pub compilations: Vec<(f64, f64, bool)>,
}

/// The rows of the timeline: one per function, ordered by its first event.
pub fn rows(events: &[Event]) -> Vec<FunctionRow> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| a.t_us.total_cmp(&b.t_us));
    let mut rows: Vec<FunctionRow> = Vec::new();
    for event in sorted {
        let row = match rows.iter().position(|row| row.func == event.func) {
            Some(index) => &mut rows[index],
            None => {
                rows.push(FunctionRow {
                    func: event.func,
                    label: format!("func {}", event.func),
                    events: Vec::new(),
                    compilations: Vec::new(),
                });
                rows.last_mut().expect("just pushed")
            }
        };
        if let Some(name) = &event.name {
            row.label = name.clone();
        }
        row.events.push(event.clone());
    }
    for row in &mut rows {
        let mut start = None;
        for event in &row.events {
            match event.kind {
                EventKind::CompileStarted => start = Some(event.t_us),
                EventKind::CompileFinished | EventKind::CompileFailed => {
                    if let Some(begin) = start.take() {
                        let failed = event.kind == EventKind::CompileFailed;
                        row.compilations
                            .push((begin / 1e3, event.t_us / 1e3, failed));
                    }
                }
                _ => {}
            }
        }
    }
    rows
}

/// The colour of an event kind's mark.
fn kind_color(kind: EventKind) -> RGBColor {
    match kind {
        EventKind::Translated => RGBColor(70, 130, 180),
        EventKind::Queued => RGBColor(255, 140, 0),
        EventKind::CompileStarted | EventKind::CompileFinished => RGBColor(34, 139, 34),
        EventKind::CompileFailed => RGBColor(220, 20, 60),
        EventKind::SwappedIn => RGBColor(128, 0, 128),
        EventKind::OsrEntered | EventKind::OsrExited => RGBColor(0, 0, 0),
        EventKind::OsrDropped => RGBColor(160, 160, 160),
        // A kind newer than this tool: drawn in grey.
        _ => RGBColor(128, 128, 128),
    }
}

/// The mark of an event kind, centred on pixel offset (0, 0): a circle for `translated`, a
/// triangle for `queued`, an open and a filled square for the start and end of a
/// compilation, a cross for a failure (grey for `osr_dropped`), a diamond for `swapped_in`,
/// a ring for `osr_entered` (and for a kind newer than this tool), a dot for `osr_exited`.
fn mark<DB: DrawingBackend>(kind: EventKind) -> DynElement<'static, DB, (i32, i32)> {
    let color = kind_color(kind);
    let (filled, stroke) = (color.filled(), color.stroke_width(2));
    match kind {
        EventKind::Translated => Circle::new((0, 0), 4, filled).into_dyn(),
        EventKind::Queued => Polygon::new(vec![(0, -5), (5, 4), (-5, 4)], filled).into_dyn(),
        EventKind::CompileStarted => Rectangle::new([(-4, -4), (4, 4)], stroke).into_dyn(),
        EventKind::CompileFinished => Rectangle::new([(-4, -4), (4, 4)], filled).into_dyn(),
        EventKind::CompileFailed | EventKind::OsrDropped => {
            Cross::new((0, 0), 5, stroke).into_dyn()
        }
        EventKind::SwappedIn => {
            Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], filled).into_dyn()
        }
        EventKind::OsrExited => Circle::new((0, 0), 3, filled).into_dyn(),
        _ => Circle::new((0, 0), 6, stroke).into_dyn(),
    }
}

/// A legend entry's sample mark or bar, centred on pixel offset (0, 0).
type Sample<'backend> = DynElement<'static, SVGBackend<'backend>, (i32, i32)>;

/// Draws the timeline of `log` into the SVG file `out`; `title` names the log.
pub fn plot(log: &Log, title: &str, out: &Path) -> Result<()> {
    let rows = rows(&log.events);
    if rows.is_empty() {
        bail!("the log has no events to draw");
    }
    let n = rows.len();
    let end_ms = log
        .events
        .iter()
        .map(|event| event.t_us / 1e3)
        .fold(0.0, f64::max)
        .max(1e-3);
    let height = (120 + 22 * n).clamp(300, 4000) as u32;
    let root = SVGBackend::new(out, (1200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (plot_area, legend_area) = root.split_horizontally(1020);
    // Row `i` (the `i`th function to appear) is drawn at y = n - 1 - i, so the first is on top.
    let y_of = |index: usize| (n - 1 - index) as f64;
    let label_of = |y: f64| -> String {
        let index = n as f64 - 1.0 - y;
        if (index - index.round()).abs() < 1e-6
            && index.round() >= 0.0
            && (index.round() as usize) < n
        {
            rows[index.round() as usize].label.clone()
        } else {
            String::new()
        }
    };
    let longest = rows.iter().map(|row| row.label.len()).max().unwrap_or(4);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(format!("Tier events: {title}"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size((longest * 7 + 16).clamp(60, 300) as u32)
        .build_cartesian_2d(-0.02 * end_ms..end_ms * 1.04, -0.7..(n as f64 - 0.3))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("time since start (ms)")
        .y_labels(n.min(200))
        .y_label_formatter(&|y| label_of(*y))
        .label_style(("sans-serif", 14))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(plot_error)?;

    let bar = |failed: bool| {
        if failed {
            RGBColor(220, 20, 60).mix(0.3).filled()
        } else {
            RGBColor(34, 139, 34).mix(0.3).filled()
        }
    };
    // What the legend shows: the bars and the marks that occur, in drawing order.
    let mut legend: Vec<(&str, Sample<'_>)> = Vec::new();
    for failed in [false, true] {
        let bars: Vec<_> = rows
            .iter()
            .enumerate()
            .flat_map(|(index, row)| {
                row.compilations
                    .iter()
                    .filter(move |compilation| compilation.2 == failed)
                    .map(move |&(start, end, _)| {
                        let y = y_of(index);
                        Rectangle::new([(start, y - 0.22), (end, y + 0.22)], bar(failed))
                    })
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        let label = if failed {
            "compiling (failed)"
        } else {
            "compiling"
        };
        chart.draw_series(bars).map_err(plot_error)?;
        legend.push((
            label,
            Rectangle::new([(-8, -5), (8, 5)], bar(failed)).into_dyn(),
        ));
    }
    for kind in EventKind::ALL {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .enumerate()
            .flat_map(|(index, row)| {
                row.events
                    .iter()
                    .filter(move |event| event.kind == kind)
                    .map(move |event| (event.t_us / 1e3, y_of(index)))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|point| EmptyElement::at(point) + mark(kind)),
            )
            .map_err(plot_error)?;
        legend.push((kind.name(), mark(kind)));
    }
    let style = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (index, (label, sample)) in legend.into_iter().enumerate() {
        let y = 60 + 24 * index as i32;
        legend_area
            .draw(&(EmptyElement::at((20, y)) + sample))
            .map_err(plot_error)?;
        legend_area
            .draw(&Text::new(label, (40, y), style.clone()))
            .map_err(plot_error)?;
    }
    root.present()
        .map_err(plot_error)
        .with_context(|| format!("writing {}", out.display()))
}

/// Reads the log at `path`, prints its warnings on stderr and draws it into `out`.
pub fn run(path: &Path, out: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let log = parse_log(&text).with_context(|| format!("{}", path.display()))?;
    for warning in &log.warnings {
        eprintln!("warning: {}: {warning}", path.display());
    }
    if let Some(dir) = out.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    plot(&log, &path.display().to_string(), out)?;
    println!(
        "{}: {} events of {} functions",
        out.canonicalize()
            .unwrap_or_else(|_| out.to_path_buf())
            .display(),
        log.events.len(),
        rows(&log.events).len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample log shipped beside the crate.
    const SAMPLE: &str = include_str!("../sample-tier-log.jsonl");

    #[test]
    fn sample_log_parses_and_orders_functions_by_first_event() {
        let log = parse_log(SAMPLE).unwrap();
        assert_eq!(log.warnings.len(), 1, "{:?}", log.warnings);
        assert!(log.warnings[0].contains("\"deopt\""), "{:?}", log.warnings);
        let rows = rows(&log.events);
        let labels: Vec<&str> = rows.iter().map(|row| row.label.as_str()).collect();
        assert_eq!(labels, ["run", "fib", "func 3", "parse"]);
        // fib: queued, compiled on a compiler thread, swapped in.
        let fib = &rows[1];
        assert_eq!(fib.compilations, [(1.05, 3.2, false)]);
        assert_eq!(fib.events[3].thread.as_deref(), Some("tierwasm-compile-0"));
        assert_eq!(fib.events[3].duration_us, Some(2150.0));
        // func 3: its compilation failed.
        assert!(rows[2].compilations[0].2);
    }

    #[test]
    fn malformed_lines_are_errors_naming_the_line() {
        let good =
            r#"{"t_us": 1.5, "event": "translated", "func": 0, "name": null, "thread": "main"}"#;
        for (bad, why) in [
            ("{\"t_us\": 1", "not valid JSON"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"event": "queued", "func": 1}"#, "no \"t_us\""),
            (
                r#"{"t_us": "soon", "event": "queued", "func": 1}"#,
                "\"t_us\" is not a number",
            ),
            (r#"{"t_us": 2, "func": 1}"#, "no \"event\""),
            (
                r#"{"t_us": 2, "event": "queued", "func": -1}"#,
                "\"func\" is not a function index",
            ),
            (
                r#"{"t_us": 2, "event": "queued", "func": 1, "name": 7}"#,
                "\"name\" is not a string",
            ),
        ] {
            let text = format!("{good}\n\n{bad}\n");
            let error = format!("{:#}", parse_log(&text).unwrap_err());
            assert!(error.starts_with("line 3: "), "{bad}: {error}");
            assert!(error.contains(why), "{bad}: {error}");
        }
        let log = parse_log(&format!("{good}\n")).unwrap();
        assert_eq!(log.events[0].kind, EventKind::Translated);
        assert_eq!(log.events[0].name, None);
    }

    #[test]
    fn unknown_kinds_are_counted_once_each() {
        let text = [
            r#"{"t_us": 1, "event": "gc", "func": 0}"#,
            r#"{"t_us": 2, "event": "queued", "func": 0}"#,
            r#"{"t_us": 3, "event": "gc", "func": 1}"#,
        ]
        .join("\n");
        let log = parse_log(&text).unwrap();
        assert_eq!(log.events.len(), 1);
        assert_eq!(
            log.warnings,
            ["skipped 2 event(s) of unknown kind \"gc\" (first on line 1)"]
        );
    }

    #[test]
    fn sample_timeline_draws_every_row_and_kind() {
        let dir = std::env::temp_dir().join(format!("tierup-timeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("timeline.svg");
        plot(&parse_log(SAMPLE).unwrap(), "sample", &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        for text in [
            "fib",
            "func 3",
            "parse",
            "compiling",
            "osr_entered",
            "swapped_in",
        ] {
            let text = format!(">\n{text}\n</text>");
            assert!(svg.contains(&text), "{text} missing");
        }
        assert!(plot(&Log::default(), "empty", &out).is_err());
    }
}
