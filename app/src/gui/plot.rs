//! The plot panel: numeric columns of a table against its time column, drawn from about
//! two points per pixel of what is in view. Every frame the visible stretch of each series
//! is downsampled again (MinMaxLTTB, through core/series), so zooming into a long series
//! shows its detail, and a series of any length costs the same to draw.

use anyhow::{Context, Result, bail};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use std::path::Path;

/// Most columns plotted from one table.
const MOST_SERIES: usize = 8;

/// How the x axis reads its numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeAxis {
    /// The numbers as they are (seconds of a day, a phase, …).
    #[default]
    Plain,
    /// Modified Julian Dates, shown as UTC dates.
    Mjd,
    /// Julian Dates, shown as UTC dates.
    Jd,
    /// Seconds since 1970-01-01, shown as UTC dates.
    Unix,
}

impl TimeAxis {
    pub const ALL: [TimeAxis; 4] = [TimeAxis::Plain, TimeAxis::Mjd, TimeAxis::Jd, TimeAxis::Unix];

    pub fn name(self) -> &'static str {
        match self {
            TimeAxis::Plain => "numbers",
            TimeAxis::Mjd => "MJD as UTC",
            TimeAxis::Jd => "JD as UTC",
            TimeAxis::Unix => "Unix seconds as UTC",
        }
    }

    /// A guess from the column's name, unit and values: days near today's MJD or JD, or
    /// seconds near today's Unix time.
    pub fn guess(name: &str, unit: Option<&str>, sample: f64) -> TimeAxis {
        let name = name.to_ascii_lowercase();
        let days = unit.is_some_and(|u| matches!(u.trim(), "d" | "day" | "days"));
        if name.contains("mjd") || (days && (10_000.0..100_000.0).contains(&sample)) {
            TimeAxis::Mjd
        } else if name.contains("jd") || (days && (2_400_000.0..2_500_000.0).contains(&sample)) {
            TimeAxis::Jd
        } else if unit.is_some_and(|u| u.trim() == "s") && (1e8..4e9).contains(&sample) {
            TimeAxis::Unix
        } else {
            TimeAxis::Plain
        }
    }

    /// Seconds since 1970 for a value, when the axis holds dates.
    fn unix_seconds(self, value: f64) -> Option<f64> {
        match self {
            TimeAxis::Plain => None,
            TimeAxis::Mjd => Some((value - 40_587.0) * 86_400.0),
            TimeAxis::Jd => Some((value - 2_440_587.5) * 86_400.0),
            TimeAxis::Unix => Some(value),
        }
    }

    /// A value as the axis shows it; `span` (in the axis's units) decides the precision.
    pub fn label(self, value: f64, span: f64) -> String {
        let Some(seconds) = self.unix_seconds(value) else { return format!("{value}") };
        let span_seconds = self.unix_seconds(value + span).map_or(0.0, |end| (end - seconds).abs());
        let whole = seconds.floor();
        let Some(time) = chrono::DateTime::from_timestamp(whole as i64, ((seconds - whole) * 1e9) as u32) else {
            return format!("{value}");
        };
        let pattern = if span_seconds < 10.0 {
            "%H:%M:%S%.3f"
        } else if span_seconds < 2.0 * 86_400.0 {
            "%Y-%m-%d %H:%M:%S"
        } else {
            "%Y-%m-%d"
        };
        time.format(pattern).to_string()
    }
}

/// One column against the table's time column, ascending in x, without missing values.
pub struct PlotSeries {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl PlotSeries {
    /// The points of `[low, high]` worth drawing at `pixels` across: all of them when few,
    /// else MinMaxLTTB's pick of two per pixel.
    pub fn visible_points(&self, low: f64, high: f64, pixels: usize) -> Vec<[f64; 2]> {
        // One point either side of the view, so lines run to its edges.
        let start = self.x.partition_point(|x| *x < low).saturating_sub(1);
        let end = (self.x.partition_point(|x| *x <= high) + 1).min(self.x.len());
        if start >= end {
            return Vec::new();
        }
        let (x, y) = (&self.x[start..end], &self.y[start..end]);
        let wanted = (2 * pixels).max(3);
        let picks = if x.len() <= wanted {
            (0..x.len()).collect()
        } else {
            skyglass_series::minmaxlttb_parallel(x, y, wanted, 4).unwrap_or_else(|_| (0..x.len()).collect())
        };
        picks.into_iter().map(|i| [x[i], y[i]]).collect()
    }
}

#[derive(Default)]
pub struct PlotPanel {
    pub visible: bool,
    /// The file field.
    pub path: String,
    pub series: Vec<PlotSeries>,
    pub x_name: String,
    pub time_axis: TimeAxis,
    /// The table's numeric columns, any of which can be the x axis.
    pub numeric_columns: Vec<String>,
    /// The file last plotted.
    opened: Option<std::path::PathBuf>,
    pub error: Option<String>,
    /// Points drawn in the last frame, all series together.
    pub drawn: usize,
    /// What the last frame drew, series by series, for export and for the next frame.
    last_drawn: Vec<(String, Vec<[f64; 2]>)>,
    /// The view the last frame's points were picked for: range, width in pixels, and the
    /// series' generation. Unchanged, the picks are drawn again without downsampling.
    drawn_for: Option<(u64, u64, usize, u64)>,
    /// Counts the tables opened, so that a new one is never drawn from old picks.
    generation: u64,
    /// How many frames had to downsample (the rest reused their picks).
    pub downsamplings: usize,
    /// Where the last export went, or why it failed.
    pub exported: Option<Result<std::path::PathBuf, String>>,
}

impl PlotPanel {
    /// Reads a table file and plots its numeric columns against its time column (by UCD or
    /// name), or against its first numeric column when it has none.
    pub fn open(&mut self, path: &Path) -> Result<()> {
        self.open_against(path, None)
    }

    /// [`PlotPanel::open`] with the x axis column given.
    pub fn open_against(&mut self, path: &Path, x: Option<&str>) -> Result<()> {
        let format = skyglass_votable::TableFormat::from_path(path)
            .with_context(|| format!("cannot tell the format of {}", path.display()))?;
        let bytes = crate::convert::read_input(&path.to_string_lossy())?;
        let table = skyglass_votable::read_table(std::io::Cursor::new(bytes), format)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let batch = arrow_select::concat::concat_batches(&table.schema, &table.batches)?;
        let numeric: Vec<usize> =
            (0..batch.num_columns()).filter(|&i| batch.schema_ref().field(i).data_type().is_numeric()).collect();
        let Some(&first) = numeric.first() else { bail!("{} has no numeric columns to plot", path.display()) };
        let chosen = x.and_then(|name| numeric.iter().copied().find(|&i| batch.schema_ref().field(i).name() == name));
        let detected = skyglass_votable::detect_time(batch.schema_ref()).filter(|i| numeric.contains(i));
        let x_index = chosen.or(detected).unwrap_or(first);
        let x_values = skyglass_xmatch::to_float64(batch.column(x_index)).context("the time column is not numeric")?;
        let mut series = Vec::new();
        for &index in numeric.iter().filter(|&&i| i != x_index).take(MOST_SERIES) {
            let Some(values) = skyglass_xmatch::to_float64(batch.column(index)) else { continue };
            let mut points: Vec<(f64, f64)> = x_values
                .iter()
                .zip(values.iter())
                .filter_map(|(x, y)| Some((x?, y?)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push(PlotSeries {
                name: batch.schema_ref().field(index).name().clone(),
                x: points.iter().map(|p| p.0).collect(),
                y: points.iter().map(|p| p.1).collect(),
            });
        }
        if series.is_empty() {
            bail!("{} has only one numeric column", path.display());
        }
        self.x_name = batch.schema_ref().field(x_index).name().clone();
        let unit = batch.schema_ref().field(x_index).metadata().get("unit").cloned();
        let sample = series.first().and_then(|s| s.x.first().copied()).unwrap_or(0.0);
        self.time_axis = TimeAxis::guess(&self.x_name, unit.as_deref(), sample);
        self.numeric_columns = numeric.iter().map(|&i| batch.schema_ref().field(i).name().clone()).collect();
        self.opened = Some(path.to_path_buf());
        self.series = series;
        self.generation += 1;
        self.error = None;
        Ok(())
    }

    /// Writes the points drawn in the last frame (what is in view, as downsampled) as CSV:
    /// one row per point, `series,x,y`, to `folder/skyglass-plot-TIME.csv`.
    pub fn export_csv(&self, folder: &Path) -> Result<std::path::PathBuf> {
        use std::fmt::Write as _;
        if self.last_drawn.is_empty() {
            bail!("nothing is plotted");
        }
        let mut text = format!("series,{},value\n", self.x_name);
        for (name, points) in &self.last_drawn {
            for [x, y] in points {
                let _ = writeln!(text, "{name},{x:?},{y:?}");
            }
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let path = folder.join(format!("skyglass-plot-{stamp}.csv"));
        let partial = path.with_extension("csv.partial");
        std::fs::write(&partial, text).with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Table");
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path)
                    .hint_text("a CSV, FITS, VOTable or Parquet file")
                    .desired_width(360.0),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Open").clicked() || enter {
                let path = std::path::PathBuf::from(self.path.trim());
                if let Err(error) = self.open(&path) {
                    self.error = Some(format!("{error:#}"));
                }
            }
            if !self.series.is_empty() {
                let mut x = self.x_name.clone();
                ui.label("x");
                egui::ComboBox::from_id_salt("plot x").selected_text(&x).show_ui(ui, |ui| {
                    for name in &self.numeric_columns {
                        ui.selectable_value(&mut x, name.clone(), name);
                    }
                });
                if x != self.x_name
                    && let Some(path) = self.opened.clone()
                    && let Err(error) = self.open_against(&path, Some(&x))
                {
                    self.error = Some(format!("{error:#}"));
                }
                ui.label("read as");
                egui::ComboBox::from_id_salt("plot time axis").selected_text(self.time_axis.name()).show_ui(ui, |ui| {
                    for axis in TimeAxis::ALL {
                        ui.selectable_value(&mut self.time_axis, axis, axis.name());
                    }
                });
            }
            if !self.series.is_empty()
                && ui.button("Export CSV").on_hover_text("The points in view, as drawn").clicked()
            {
                let folder = directories::UserDirs::new()
                    .and_then(|dirs| dirs.document_dir().map(Path::to_path_buf))
                    .unwrap_or_else(|| std::path::PathBuf::from("."));
                self.exported = Some(self.export_csv(&folder).map_err(|e| format!("{e:#}")));
            }
            if let Some(error) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            } else if !self.series.is_empty() {
                ui.label(format!("x: {}; {} points drawn", self.x_name, self.drawn));
            }
            match &self.exported {
                Some(Ok(path)) => {
                    ui.label(format!("saved {}", path.display()));
                }
                Some(Err(error)) => {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                None => {}
            }
        });
        let series = &self.series;
        let previous = (self.drawn_for, std::mem::take(&mut self.last_drawn));
        let generation = self.generation;
        let mut drawn = Vec::with_capacity(series.len());
        let mut drawn_for = None;
        let mut downsampled = false;
        let axis = self.time_axis;
        Plot::new("series")
            .legend(Legend::default())
            .x_axis_label(self.x_name.clone())
            .x_axis_formatter(move |mark, range| axis.label(mark.value, range.end() - range.start()))
            .label_formatter(move |hover| {
                let (name, point) = match hover {
                    egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, *position),
                    egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
                };
                let when = axis.label(point.x, 0.0);
                Some(if name.is_empty() {
                    format!("{when}\n{:.6}", point.y)
                } else {
                    format!("{name}\n{when}\n{:.6}", point.y)
                })
            })
            .show(ui, |plot| {
                let bounds = plot.plot_bounds();
                let pixels = plot.response().rect.width().max(1.0) as usize;
                // Until the user zooms or pans, the plot fits the whole series; after, what is
                // in view is drawn in detail.
                let whole = plot.auto_bounds().x || !(bounds.is_valid() && bounds.width() > 0.0);
                let (low, high) =
                    if whole { (f64::NEG_INFINITY, f64::INFINITY) } else { (bounds.min()[0], bounds.max()[0]) };
                let view = (low.to_bits(), high.to_bits(), pixels, generation);
                drawn_for = Some(view);
                if previous.0 == Some(view) {
                    drawn = previous.1;
                } else {
                    drawn =
                        series.iter().map(|one| (one.name.clone(), one.visible_points(low, high, pixels))).collect();
                    downsampled = true;
                }
                for (name, points) in &drawn {
                    plot.line(Line::new(name.clone(), PlotPoints::from(points.clone())));
                }
            });
        if downsampled {
            self.downsamplings += 1;
        }
        self.drawn_for = drawn_for;
        self.drawn = drawn.iter().map(|(_, points)| points.len()).sum();
        self.last_drawn = drawn;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_axes_read_dates_and_guess_them() {
        // MJD 55607.5 is 2011-02-15 12:00 UTC (the day of the EVE sample); JD adds 2400000.5.
        assert_eq!(TimeAxis::Mjd.label(55_607.5, 1.0), "2011-02-15 12:00:00");
        assert_eq!(TimeAxis::Jd.label(2_455_608.0, 1.0), "2011-02-15 12:00:00");
        assert_eq!(TimeAxis::Unix.label(1_297_771_200.25, 1.0), "12:00:00.250");
        assert_eq!(TimeAxis::Mjd.label(55_607.5, 400.0), "2011-02-15");
        assert_eq!(TimeAxis::Plain.label(6250.5, 1.0), "6250.5");
        assert_eq!(TimeAxis::guess("time", Some("d"), 55_607.0), TimeAxis::Mjd);
        assert_eq!(TimeAxis::guess("obs_jd", None, 2_455_608.0), TimeAxis::Jd);
        assert_eq!(TimeAxis::guess("SOD", None, 6250.0), TimeAxis::Plain);
    }

    #[test]
    fn a_long_series_is_drawn_from_two_points_a_pixel() {
        let x: Vec<f64> = (0..1_000_000).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| (v * 0.001).sin()).collect();
        let series = PlotSeries { name: "s".to_owned(), x, y };
        let all = series.visible_points(f64::NEG_INFINITY, f64::INFINITY, 800);
        assert!(all.len() <= 1600 && all.len() > 1000, "{}", all.len());
        // Zoomed to a thousandth: every point there, and one either side.
        let zoom = series.visible_points(5000.0, 5999.0, 800);
        assert_eq!(zoom.len(), 1002);
        assert_eq!((zoom[0][0], zoom[1001][0]), (4999.0, 6000.0));
        assert!(series.visible_points(2e6, 3e6, 800).len() <= 1);
    }
}
