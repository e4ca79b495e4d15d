//! The latency chart: one curve per operation, latency (ms, log scale) against percentile on a
//! "nines" axis (p50, p90, p99, p99.9 equally spaced, as HdrHistogram plots do), drawn from the
//! run's hdrhistograms into an SVG file a person can open in a browser.

use hdrhistogram::Histogram;
use plotters::prelude::*;
use std::path::Path;

/// Chart size in pixels.
const WIDTH_PX: u32 = 1200;
const HEIGHT_PX: u32 = 760;
/// The axis runs from the fastest call (x = 0) to p99.9 (x = 3): x = -log10(1 - quantile).
const NINES_MAX: f64 = 3.0;
/// Points sampled along each curve.
const CURVE_POINTS: u32 = 90;
/// The labelled percentiles: (x, label).
const KEY_PERCENTILES: [(f64, &str); 5] =
    [(0.0, "min"), (std::f64::consts::LOG10_2, "p50"), (1.0, "p90"), (2.0, "p99"), (3.0, "p99.9")];
/// The y axis never goes below one microsecond.
const LATENCY_MS_FLOOR: f64 = 0.001;

/// Why the chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("no operation has a latency sample")]
    NoData,
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("cannot write the chart: {0}")]
    Io(#[from] std::io::Error),
}

/// One curve: the operation's name and its latencies in microseconds.
pub type Series<'a> = (&'a str, &'a Histogram<u64>);

/// The quantile at `nines` on the x axis.
fn quantile_at(nines: f64) -> f64 {
    1.0 - 10f64.powf(-nines)
}

/// The points of one curve: (nines, latency in ms).
fn curve(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    (0..=CURVE_POINTS)
        .map(|i| {
            let nines = NINES_MAX * f64::from(i) / f64::from(CURVE_POINTS);
            let us = histogram.value_at_quantile(quantile_at(nines));
            (nines, (us as f64 / 1_000.0).max(LATENCY_MS_FLOOR))
        })
        .collect()
}

/// The label of the key percentile nearest to `nines`.
fn percentile_label(nines: f64) -> String {
    let nearest = KEY_PERCENTILES.iter().min_by(|a, b| (a.0 - nines).abs().total_cmp(&(b.0 - nines).abs()));
    nearest.map_or_else(String::new, |(_, label)| (*label).to_owned())
}

/// The x axis: linear in nines, with ticks only at the key percentiles (plotters' own key-point
/// wrapper cannot take a label formatter).
#[derive(Debug, Clone, Copy)]
struct NinesAxis;

impl Ranged for NinesAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        // Pixel coordinates are small; the rounding is the point of the cast.
        limit.0 + (span * value / NINES_MAX).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        KEY_PERCENTILES.iter().map(|(nines, _)| *nines).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..NINES_MAX
    }
}

/// Draws the chart of `series` (operations without samples are left out) as SVG text.
pub fn render_svg(title: &str, series: &[Series<'_>]) -> Result<String, ChartError> {
    let curves: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .filter(|(_, histogram)| !histogram.is_empty())
        .map(|(op, histogram)| (format!("{op} (n={})", histogram.len()), curve(histogram)))
        .collect();
    if curves.is_empty() {
        return Err(ChartError::NoData);
    }
    let values = curves.iter().flat_map(|(_, points)| points.iter().map(|(_, ms)| *ms));
    let (low, high) = values.fold((f64::MAX, f64::MIN), |(low, high), ms| (low.min(ms), high.max(ms)));
    // Half a decade of room either side keeps the extreme curves off the frame.
    let y_range = (low / 3.0).max(LATENCY_MS_FLOOR)..(high * 3.0).max(LATENCY_MS_FLOOR * 10.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        draw(&root, title, &curves, y_range).map_err(|error| ChartError::Draw(error.to_string()))?;
        root.present().map_err(|error| ChartError::Draw(error.to_string()))?;
    }
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    curves: &[(String, Vec<(f64, f64)>)],
    y_range: std::ops::Range<f64>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(NinesAxis, y_range.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|nines| percentile_label(*nines))
        .y_label_formatter(&|ms| format!("{ms}"))
        .draw()?;
    for (index, (name, points)) in curves.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        // Percentile curves only rise: the low right corner is where they are not.
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Writes the chart of `series` to `path`.
pub fn write_svg(path: &Path, title: &str, series: &[Series<'_>]) -> Result<(), ChartError> {
    let svg = render_svg(title, series)?;
    std::fs::write(path, svg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(values_us: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut histogram = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for value in values_us {
            histogram.record(value).unwrap();
        }
        histogram
    }

    #[test]
    fn renders_valid_svg_with_every_series() {
        let fast = histogram((1..=1000).map(|i| 200 + i));
        let slow = histogram((1..=1000).map(|i| 5_000 + i * 40));
        let empty = histogram([]);
        let dir = std::env::temp_dir().join(format!("pzo-chart-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("latency.svg");
        let series = [("ping", &fast), ("POST /users/register", &slow), ("games.send", &empty)];
        write_svg(&path, "season0 <test> & co", &series).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let document = roxmltree::Document::parse(&text).expect("the chart is well-formed XML");
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let texts: Vec<&str> = document.descendants().filter_map(|node| node.text()).map(str::trim).collect();
        assert!(texts.contains(&"ping (n=1000)"), "{texts:?}");
        assert!(texts.contains(&"POST /users/register (n=1000)"));
        assert!(texts.contains(&"season0 <test> & co"));
        // An operation without samples has no curve, so no legend entry.
        assert!(!texts.iter().any(|text| text.starts_with("games.send")));
        for label in ["p50", "p90", "p99", "p99.9"] {
            assert!(texts.contains(&label), "axis label {label} missing");
        }
        assert!(document.descendants().filter(|node| node.has_tag_name("polyline")).count() >= 2);
    }

    #[test]
    fn curves_follow_the_percentiles() {
        let points = curve(&histogram(1..=10_000));
        let at = |nines: f64| points.iter().find(|(x, _)| (x - nines).abs() < 1e-9).map(|(_, ms)| *ms).unwrap();
        // 1 to 10,000 µs: p90 near 9 ms, p99 near 9.9 ms.
        assert!((at(1.0) - 9.0).abs() < 0.05, "{}", at(1.0));
        assert!((at(2.0) - 9.9).abs() < 0.05, "{}", at(2.0));
        assert!(points.windows(2).all(|pair| pair[0].1 <= pair[1].1), "a percentile curve never falls");
    }

    #[test]
    fn labels_the_key_percentiles() {
        assert_eq!(percentile_label(0.0), "min");
        assert_eq!(percentile_label(0.31), "p50");
        assert_eq!(percentile_label(2.0), "p99");
        assert_eq!(percentile_label(2.95), "p99.9");
    }

    #[test]
    fn no_samples_no_chart() {
        let empty = histogram([]);
        assert!(matches!(render_svg("t", &[("ping", &empty)]), Err(ChartError::NoData)));
    }
}
