//! The plot panel: numeric columns of a table against its time column, drawn from about
//! two points per pixel of what is in view. When the view changes, the visible stretch of
//! each series is downsampled again (MinMaxLTTB, through core/series), so zooming into a
//! long series shows its detail, and a series of any length costs the same to draw. Series
//! too long for memory stay on an archive server, which downsamples each view (remote.rs).

pub mod remote;
pub mod table;

use anyhow::{Result, bail};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use remote::{ArchiveSeries, View};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
pub use table::{PlotSeries, PlotTable};

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

    /// A tick of the axis: a date on a time axis, else the value with the digits the
    /// ticks' `step` needs (ticks 0.1 apart read -0.3, not -0.30000000000000004).
    pub fn tick(self, value: f64, step: f64, span: f64) -> String {
        if self.unix_seconds(value).is_some() {
            return self.label(value, span);
        }
        let decimals = if step > 0.0 && step.is_finite() { (-step.log10().floor()).max(0.0) as usize } else { 6 };
        let text = format!("{value:.decimals$}");
        // A zero that rounding left negative reads as zero.
        match text.strip_prefix('-') {
            Some(unsigned) if unsigned.chars().all(|c| c == '0' || c == '.') => unsigned.to_owned(),
            _ => text,
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

/// Where the series come from.
#[derive(Default)]
enum Source {
    #[default]
    Nothing,
    /// A file's tables, one of them plotted.
    File { tables: Vec<PlotTable>, chosen: usize },
    /// An archive's `/timeseries` endpoint.
    Archive(Box<ArchiveSeries>),
}

/// What was drawn of one series, and for which view.
struct Drawn {
    name: String,
    /// The view's ends (as bits), width and the series' generation.
    view: (u64, u64, usize, u64),
    points: Vec<[f64; 2]>,
    /// Where the line breaks: after these points the data has a gap.
    breaks: Vec<usize>,
}

#[derive(Default)]
pub struct PlotPanel {
    pub visible: bool,
    /// The file or series URL field.
    pub path: String,
    source: Source,
    /// The series held in memory (from a file or a table), or the latest archive answer's.
    pub series: Vec<PlotSeries>,
    pub x_name: String,
    pub time_axis: TimeAxis,
    /// The table's numeric columns, any of which can be the x axis.
    pub numeric_columns: Vec<String>,
    /// One plot per series, each with its own y axis, sharing x; else one plot.
    pub separate_axes: bool,
    /// Keep y fitted to what is in view (y zoom off).
    pub fit_y: bool,
    /// Logarithmic y (fluxes spanning decades, as GOES X-rays do); values at or below zero
    /// are left out.
    pub log_y: bool,
    pub error: Option<String>,
    /// Points drawn in the last frame, all series together.
    pub drawn: usize,
    /// What the last frame drew, series by series, for export and for the next frame.
    last_drawn: Vec<Drawn>,
    /// Counts the tables opened and answers received, so that new series are never drawn
    /// from old picks.
    generation: u64,
    /// Counts new x axes (a file or series opened, another x column or table chosen): the
    /// plots of a new x axis start fitted to it, not at the last one's zoom.
    x_axis: u64,
    /// How many series were downsampled for a new view (the rest reused their picks).
    pub downsamplings: usize,
    /// Where exports go: the documents folder unless set.
    pub export_folder: Option<PathBuf>,
    /// Where the last export went, or why it failed.
    pub exported: Option<Result<PathBuf, String>>,
    /// A PNG export's outcome, filled in when the screenshot it waits for arrives.
    png: Arc<Mutex<Option<Result<PathBuf, String>>>>,
    /// A table being read from the web.
    downloading: Option<std::sync::mpsc::Receiver<Result<Vec<PlotTable>, String>>>,
    /// The screen area of the plots in the last frame, for PNG export.
    pub(crate) plots_rect: Option<egui::Rect>,
}

impl PlotPanel {
    pub fn new() -> PlotPanel {
        PlotPanel { fit_y: true, ..PlotPanel::default() }
    }

    /// Opens a table file (its tables; the one with a time column and most numbers
    /// plotted), a series URL of an archive (`http://…/timeseries/…`), or any other table
    /// URL, such as a TAP query's (`…/sync?REQUEST=doQuery&LANG=ADQL&QUERY=…`), read in the
    /// background.
    pub fn open(&mut self, path: &Path) -> Result<()> {
        let text = path.to_string_lossy();
        if text.starts_with("http://") || text.starts_with("https://") {
            if text.contains("/timeseries/") {
                return self.open_series_url(&text);
            }
            self.download(text.into_owned());
            return Ok(());
        }
        self.open_tables(table::read_tables(path)?)
    }

    /// Plots tables another application sent (SAMP table.load.*), under `name`.
    pub fn open_received(&mut self, name: &str, tables: Vec<PlotTable>) -> Result<()> {
        self.open_tables(tables)?;
        self.path = name.to_owned();
        self.visible = true;
        Ok(())
    }

    /// The table plotted, with its label: what "send" sends (written as VOTable by the
    /// caller, off the UI thread).
    pub fn plotted_table(&self) -> Option<(String, skyglass_votable::TableData)> {
        let Source::File { tables, chosen } = &self.source else { return None };
        let table = tables.get(*chosen)?;
        let data = skyglass_votable::TableData {
            schema: table.batch.schema(),
            batches: vec![table.batch.clone()],
            options: skyglass_votable::WriteOptions::default(),
            diagnostic_count: 0,
        };
        let name = if self.path.trim().is_empty() { table.label.clone() } else { self.path.trim().to_owned() };
        Some((name, data))
    }

    fn open_tables(&mut self, tables: Vec<PlotTable>) -> Result<()> {
        let chosen = table::preferred(&tables);
        let plotted = table::series_of(&tables[chosen].batch, None, None)?;
        self.show(plotted);
        self.x_axis += 1;
        self.source = Source::File { tables, chosen };
        Ok(())
    }

    /// Reads a table from the web on a thread of its own (a file, or a TAP query's result
    /// by its sync URL); `downloading` until it is in.
    fn download(&mut self, url: String) {
        let (sender, receiver) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("plot download".into()).spawn(move || {
            let _ = sender.send(table::download_tables(&url).map_err(|e| format!("{e:#}")));
        });
        match spawned {
            Ok(_) => {
                self.downloading = Some(receiver);
                self.error = None;
            }
            Err(error) => self.error = Some(format!("cannot start the download: {error}")),
        }
    }

    /// True while a table is being read from the web.
    pub fn downloading(&self) -> bool {
        self.downloading.is_some()
    }

    /// Plots a series the archive downsamples view by view.
    pub fn open_series_url(&mut self, url: &str) -> Result<()> {
        let series = ArchiveSeries::new(url)?;
        self.x_name = series.x_name.clone();
        self.time_axis = TimeAxis::guess(&self.x_name, None, 0.0);
        self.numeric_columns.clear();
        self.series.clear();
        self.source = Source::Archive(Box::new(series));
        self.generation += 1;
        self.x_axis += 1;
        self.error = None;
        Ok(())
    }

    /// Plots the current table against another of its columns, or another table of the
    /// file.
    pub fn replot(&mut self, table: Option<usize>, x: Option<&str>) -> Result<()> {
        let y: Option<Vec<String>> = table.is_none().then(|| self.series.iter().map(|s| s.name.clone()).collect());
        self.replot_with(table, x, y.as_deref())
    }

    /// Plots the columns `y` of the current table (all but x, up to eight, when `None`).
    pub fn replot_with(&mut self, table: Option<usize>, x: Option<&str>, y: Option<&[String]>) -> Result<()> {
        let plotted = match &self.source {
            Source::File { tables, chosen, .. } => {
                let index = table.unwrap_or(*chosen).min(tables.len().saturating_sub(1));
                let plotted = table::series_of(&tables[index].batch, x, y)?;
                if let Source::File { chosen, .. } = &mut self.source {
                    *chosen = index;
                }
                plotted
            }
            Source::Nothing | Source::Archive(_) => return Ok(()),
        };
        if table.is_some() || x.is_some_and(|x| x != self.x_name) {
            self.x_axis += 1;
        }
        self.show(plotted);
        Ok(())
    }

    fn show(&mut self, plotted: table::TableSeries) {
        let sample = plotted.series.first().and_then(|s| s.x.first().copied()).unwrap_or(0.0);
        self.time_axis = TimeAxis::guess(&plotted.x_name, plotted.x_unit.as_deref(), sample);
        self.x_name = plotted.x_name;
        self.numeric_columns = plotted.numeric_columns;
        self.series = plotted.series;
        self.generation += 1;
        self.error = None;
    }

    /// The tables of the open file, by label, and which is plotted.
    pub fn tables(&self) -> (Vec<String>, usize) {
        match &self.source {
            Source::File { tables, chosen, .. } => (tables.iter().map(|t| t.label.clone()).collect(), *chosen),
            _ => (Vec::new(), 0),
        }
    }

    /// The archive series shown, if any.
    pub fn archive(&self) -> Option<&ArchiveSeries> {
        match &self.source {
            Source::Archive(series) => Some(series),
            _ => None,
        }
    }

    pub(crate) fn export_folder(&self) -> PathBuf {
        self.export_folder.clone().unwrap_or_else(|| {
            directories::UserDirs::new()
                .and_then(|dirs| dirs.document_dir().map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from("."))
        })
    }

    /// Writes the points drawn in the last frame (what is in view, as downsampled) as CSV:
    /// one row per point, `series,x,y`, to `folder/skyglass-plot-TIME.csv`.
    pub fn export_csv(&self, folder: &Path) -> Result<PathBuf> {
        use std::fmt::Write as _;
        if self.last_drawn.is_empty() {
            bail!("nothing is plotted");
        }
        let mut text = format!("series,{},value\n", self.x_name);
        for drawn in &self.last_drawn {
            for [x, y] in &drawn.points {
                let _ = writeln!(text, "{},{x:?},{y:?}", drawn.name);
            }
        }
        let path = export_path(folder, "csv");
        write_whole(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Asks for a screenshot of the next frame; the plots' part of it is written as PNG to
    /// the export folder, and `exported` says where once it is.
    pub fn export_png(&mut self, ctx: &egui::Context) {
        let Some(rect) = self.plots_rect else {
            self.exported = Some(Err("nothing is plotted".to_owned()));
            return;
        };
        let path = export_path(&self.export_folder(), "png");
        let outcome = Arc::clone(&self.png);
        let wake = ctx.clone();
        ctx.request_screenshot(move |image| {
            let saved = crop(&image, rect, wake.pixels_per_point())
                .ok_or_else(|| anyhow::anyhow!("the plots are off the screen"))
                .and_then(|plots| save_png(&plots, &path))
                .map(|()| path);
            *outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(saved.map_err(|e| format!("{e:#}")));
            wake.request_repaint();
        });
        ctx.request_repaint();
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if let Some(saved) = self.png.lock().unwrap_or_else(PoisonError::into_inner).take() {
            self.exported = Some(saved);
        }
        if let Source::Archive(series) = &mut self.source
            && series.poll()
        {
            if let Some(answer) = &series.latest {
                // The time axis is guessed from the first times the archive sends.
                let first = self.series.is_empty();
                self.series = answer
                    .series
                    .iter()
                    .map(|s| PlotSeries { name: s.name.clone(), x: s.x.clone(), y: s.y.clone() })
                    .collect();
                if first {
                    let sample = self.series.first().and_then(|s| s.x.first().copied()).unwrap_or(0.0);
                    self.time_axis = TimeAxis::guess(&self.x_name, None, sample);
                }
            }
            self.generation += 1;
        }
        if let Some(receiver) = &self.downloading {
            match receiver.try_recv() {
                Ok(outcome) => {
                    self.downloading = None;
                    if let Err(error) = outcome.map_err(anyhow::Error::msg).and_then(|tables| self.open_tables(tables))
                    {
                        self.error = Some(format!("{error:#}"));
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    ui.ctx().request_repaint_after(std::time::Duration::from_millis(100))
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.downloading = None,
            }
        }
        self.controls(ui);
        self.plots(ui);
    }

    fn controls(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Table");
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path)
                    .hint_text(
                        "a CSV, FITS, VOTable or Parquet file or URL, a TAP query URL, or an archive's /timeseries URL",
                    )
                    .desired_width(360.0),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Open").clicked() || enter {
                let path = PathBuf::from(self.path.trim());
                if let Err(error) = self.open(&path) {
                    self.error = Some(format!("{error:#}"));
                }
            }
            let (tables, chosen) = self.tables();
            if tables.len() > 1 {
                let mut pick = chosen;
                egui::ComboBox::from_id_salt("plot table").selected_text(&tables[chosen]).show_ui(ui, |ui| {
                    for (i, label) in tables.iter().enumerate() {
                        ui.selectable_value(&mut pick, i, label);
                    }
                });
                if pick != chosen
                    && let Err(error) = self.replot(Some(pick), None)
                {
                    self.error = Some(format!("{error:#}"));
                }
            }
            if !self.numeric_columns.is_empty() {
                let mut x = self.x_name.clone();
                ui.label("x");
                egui::ComboBox::from_id_salt("plot x").selected_text(&x).show_ui(ui, |ui| {
                    for name in &self.numeric_columns {
                        ui.selectable_value(&mut x, name.clone(), name);
                    }
                });
                if x != self.x_name
                    && let Err(error) = self.replot(None, Some(&x))
                {
                    self.error = Some(format!("{error:#}"));
                }
                // Which columns are plotted: any of the numeric ones but x.
                let shown: Vec<String> = self.series.iter().map(|s| s.name.clone()).collect();
                let mut chosen = shown.clone();
                ui.menu_button(format!("y ({})", shown.len()), |ui| {
                    for name in self.numeric_columns.iter().filter(|n| **n != self.x_name) {
                        let mut on = chosen.contains(name);
                        if ui.checkbox(&mut on, name).changed() {
                            if on {
                                chosen.push(name.clone());
                            } else {
                                chosen.retain(|n| n != name);
                            }
                        }
                    }
                });
                if chosen != shown && !chosen.is_empty() {
                    let x_name = self.x_name.clone();
                    if let Err(error) = self.replot_with(None, Some(&x_name), Some(&chosen)) {
                        self.error = Some(format!("{error:#}"));
                    }
                }
            }
            if !self.series.is_empty() {
                ui.label("read as");
                egui::ComboBox::from_id_salt("plot time axis").selected_text(self.time_axis.name()).show_ui(ui, |ui| {
                    for axis in TimeAxis::ALL {
                        ui.selectable_value(&mut self.time_axis, axis, axis.name());
                    }
                });
                ui.checkbox(&mut self.separate_axes, "y axis each");
                ui.checkbox(&mut self.fit_y, "fit y");
                ui.checkbox(&mut self.log_y, "log y");
                ui.label("export");
                if ui.button("CSV").on_hover_text("The points in view, as drawn").clicked() {
                    self.exported = Some(self.export_csv(&self.export_folder()).map_err(|e| format!("{e:#}")));
                }
                if ui.button("PNG").on_hover_text("The plots as shown").clicked() {
                    self.export_png(ui.ctx());
                }
            }
            if let Some(error) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            } else if self.downloading() {
                ui.spinner();
                ui.label("reading the table…");
            } else if let Some(series) = self.archive() {
                let rows = series.latest.as_ref().map_or(0, |answer| answer.rows);
                let state = if series.waiting() { ", asking…" } else { "" };
                match &series.error {
                    Some(error) => ui.colored_label(ui.visuals().error_fg_color, error),
                    None => ui.label(format!("{} rows in view; {} points drawn{state}", rows, self.drawn)),
                };
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
    }

    fn plots(&mut self, ui: &mut egui::Ui) {
        let axis = self.time_axis;
        let fit_y = self.fit_y;
        let log_y = self.log_y;
        // On a log axis the plot holds log10 of the values; axis and hover show the values.
        let shown_y = move |y: f64| if log_y { 10f64.powf(y) } else { y };
        let x_name = self.x_name.clone();
        let generation = self.generation;
        let count = self.series.len().max(1);
        let separate = self.separate_axes && count > 1;
        // Plots keep their bounds in egui's memory by id, linked by group: a new x axis gets
        // ids of its own.
        let x_axis = self.x_axis;
        let link = egui::Id::unique(("plot x", x_axis));
        let plot = |id: String| {
            let plot = Plot::new((id, x_axis));
            let plot =
                if log_y { plot.y_axis_formatter(move |mark, _| format!("{:.0e}", shown_y(mark.value))) } else { plot };
            plot.legend(Legend::default())
                .x_axis_formatter(move |mark, range| axis.tick(mark.value, mark.step_size, range.end() - range.start()))
                .allow_zoom([true, !fit_y])
                .allow_drag([true, !fit_y])
                .link_axis(link, [true, false])
                .link_cursor(link, [true, false])
                .label_formatter(move |hover| {
                    let (name, point) = match hover {
                        egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, *position),
                        egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
                    };
                    let when = axis.label(point.x, 0.0);
                    let value = readable(shown_y(point.y));
                    Some(if name.is_empty() { format!("{when}\n{value}") } else { format!("{name}\n{when}\n{value}") })
                })
        };
        let visible = ui.clip_rect();
        let mut previous = std::mem::take(&mut self.last_drawn);
        let mut drawn: Vec<Drawn> = Vec::with_capacity(self.series.len());
        let mut downsampled = 0;
        let mut seen: Option<View> = None;
        let mut rect: Option<egui::Rect> = None;
        let series = &self.series;
        let groups: Vec<std::ops::Range<usize>> = if separate {
            (0..series.len()).map(|i| i..i + 1).collect()
        } else {
            std::iter::once(0..series.len()).collect()
        };
        // Stacked plots keep a readable height each and scroll when there are many.
        let height = if separate {
            ((ui.available_height() - 4.0 * count as f32) / count as f32).max(120.0)
        } else {
            ui.available_height()
        };
        let body = |ui: &mut egui::Ui| {
            for (number, group) in groups.into_iter().enumerate() {
                let mut this = plot(format!("series {number}")).height(height);
                if number + 1 == count || !separate {
                    this = this.x_axis_label(x_name.clone());
                }
                let response = this.show(ui, |plot| {
                    if fit_y && !plot.auto_bounds().y {
                        plot.set_auto_bounds([plot.auto_bounds().x, true]);
                    }
                    let bounds = plot.plot_bounds();
                    let pixels = plot.response().rect.width().max(1.0) as usize;
                    // Until the user zooms or pans, the plot fits the whole series; after,
                    // what is in view is drawn in detail.
                    let whole = plot.auto_bounds().x || !(bounds.is_valid() && bounds.width() > 0.0);
                    let (low, high) =
                        if whole { (f64::NEG_INFINITY, f64::INFINITY) } else { (bounds.min()[0], bounds.max()[0]) };
                    seen.get_or_insert(View { low, high, pixels });
                    let key = (low.to_bits(), high.to_bits(), pixels, generation);
                    for (index, one) in series.iter().enumerate().skip(group.start).take(group.len()) {
                        // A still view takes its picks back from the last frame, uncopied.
                        let reused = previous.iter().position(|d| d.name == one.name && d.view == key);
                        let (points, breaks) = match reused.map(|i| previous.swap_remove(i)) {
                            Some(before) => (before.points, before.breaks),
                            None => {
                                downsampled += 1;
                                let points = one.visible_points(low, high, pixels);
                                let breaks = gap_breaks(one, &points, low, high, pixels);
                                (points, breaks)
                            }
                        };
                        for run in runs(&points, &breaks) {
                            let line: Vec<[f64; 2]> = if log_y {
                                run.iter().filter(|[_, y]| *y > 0.0).map(|&[x, y]| [x, y.log10()]).collect()
                            } else {
                                run.to_vec()
                            };
                            plot.line(Line::new(one.name.clone(), PlotPoints::from(line)).color(series_colour(index)));
                        }
                        drawn.push(Drawn { name: one.name.clone(), view: key, points, breaks });
                    }
                });
                rect = Some(rect.map_or(response.response.rect, |r| r.union(response.response.rect)));
            }
        };
        if separate {
            egui::ScrollArea::vertical().show(ui, body);
        } else {
            body(ui);
        }
        self.downsamplings += downsampled;
        self.plots_rect = rect.map(|r| r.intersect(visible));
        self.drawn = drawn.iter().map(|d| d.points.len()).sum();
        self.last_drawn = drawn;
        if let (Source::Archive(series), Some(view)) = (&mut self.source, seen) {
            let ctx = ui.ctx().clone();
            series.want(view, move || ctx.request_repaint());
        }
    }
}

/// Where a drawn line should break: between picks further apart than ten of the series'
/// usual steps (a gap in the data, not a slope) and more than three pixels (consecutive
/// picks of a downsampled series are up to a bucket apart).
fn gap_breaks(series: &PlotSeries, points: &[[f64; 2]], low: f64, high: f64, pixels: usize) -> Vec<usize> {
    let (Some(first), Some(last)) = (series.x.first(), series.x.last()) else { return Vec::new() };
    let span = if low.is_finite() && high.is_finite() { high - low } else { last - first };
    let pixel = span / pixels.max(1) as f64;
    let max_gap = (10.0 * series.typical_step()).max(3.0 * pixel);
    let x: Vec<f64> = points.iter().map(|p| p[0]).collect();
    skyglass_series::gaps(&x, max_gap)
}

/// The runs of points between breaks.
fn runs<'a>(points: &'a [[f64; 2]], breaks: &[usize]) -> Vec<&'a [[f64; 2]]> {
    let mut runs = Vec::with_capacity(breaks.len() + 1);
    let mut start = 0;
    for &end in breaks {
        runs.push(&points[start..=end]);
        start = end + 1;
    }
    runs.push(&points[start.min(points.len())..]);
    runs
}

/// A value with six significant digits, in exponent form when very small or large (X-ray
/// fluxes of 1e-7 W/m²).
fn readable(value: f64) -> String {
    let size = value.abs();
    if value != 0.0 && !(1e-3..1e6).contains(&size) { format!("{value:.5e}") } else { format!("{value:.6}") }
}

/// A colour of its own for each series, the same stacked or shared (egui_plot's sequence).
fn series_colour(index: usize) -> egui::Color32 {
    let golden_ratio = (5.0_f32.sqrt() - 1.0) / 2.0;
    egui::epaint::Hsva::new(index as f32 * golden_ratio, 0.85, 0.5, 1.0).into()
}

/// `folder/skyglass-plot-MILLISECONDS.EXTENSION`.
fn export_path(folder: &Path, extension: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    folder.join(format!("skyglass-plot-{stamp}.{extension}"))
}

/// Writes a file whole or not at all: to a partial name, then renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    use anyhow::Context as _;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The part of a screenshot under `rect` (in points), clipped to the screenshot.
pub(crate) fn crop(image: &egui::ColorImage, rect: egui::Rect, pixels_per_point: f32) -> Option<egui::ColorImage> {
    let [width, height] = image.size;
    let pixel = |value: f32, most: usize| ((value * pixels_per_point).round().max(0.0) as usize).min(most);
    let (left, right) = (pixel(rect.min.x, width), pixel(rect.max.x, width));
    let (top, bottom) = (pixel(rect.min.y, height), pixel(rect.max.y, height));
    (right > left && bottom > top).then(|| image.region_by_pixels([left, top], [right - left, bottom - top]))
}

pub(crate) fn save_png(image: &egui::ColorImage, path: &Path) -> Result<()> {
    let [width, height] = image.size;
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|pixel| pixel.to_srgba_unmultiplied()).collect();
    let mut bytes = Vec::new();
    image::RgbaImage::from_raw(width as u32, height as u32, rgba)
        .ok_or_else(|| anyhow::anyhow!("the screenshot has no pixels"))?
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    write_whole(path, &bytes)
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
    fn gaps_in_the_data_break_the_line() {
        // Sampled every second, with ten minutes missing after t = 499.
        let x: Vec<f64> = (0..1000).map(|i| if i < 500 { f64::from(i) } else { f64::from(i) + 600.0 }).collect();
        let y = vec![1.0; 1000];
        let series = PlotSeries { name: "s".to_owned(), x, y };
        let points = series.visible_points(f64::NEG_INFINITY, f64::INFINITY, 2000);
        let breaks = gap_breaks(&series, &points, f64::NEG_INFINITY, f64::INFINITY, 2000);
        assert_eq!(breaks, [499]);
        let lines = runs(&points, &breaks);
        assert_eq!((lines.len(), lines[0].len(), lines[1].len()), (2, 500, 500));
        // Too narrow a plot to show a 600 s hole in 1600 s: one line.
        assert!(gap_breaks(&series, &points, f64::NEG_INFINITY, f64::INFINITY, 5).is_empty());
    }

    #[test]
    fn ticks_show_the_digits_their_step_needs() {
        assert_eq!(TimeAxis::Plain.tick(-0.30000000000000004, 0.1, 1.0), "-0.3");
        assert_eq!(TimeAxis::Plain.tick(-1e-17, 0.1, 1.0), "0.0");
        assert_eq!(TimeAxis::Plain.tick(1500.0, 500.0, 5000.0), "1500");
        assert_eq!(TimeAxis::Plain.tick(0.004, 0.002, 0.01), "0.004");
        assert_eq!(TimeAxis::Mjd.tick(60_000.0, 1.0, 10.0), TimeAxis::Mjd.label(60_000.0, 10.0));
    }

    #[test]
    fn hover_values_keep_their_digits() {
        assert_eq!(readable(0.283_809_244_632), "0.283809");
        assert_eq!(readable(1.992e-7), "1.99200e-7");
        assert_eq!(readable(0.0), "0.000000");
        assert_eq!(readable(-2.5e9), "-2.50000e9");
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
