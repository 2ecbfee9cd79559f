//! The desktop app: the sky view with its layer panel, tool bar and status bar (eframe on
//! wgpu). Tiles are read on worker threads ([`fetch`]); the sky is drawn by `core/render`
//! inside egui's frame through a paint callback ([`sky`]).

pub mod catalog;
#[cfg(test)]
mod catalog_tests;
pub mod coverage;
mod fetch;
mod fonts;
pub mod overview;
mod pending;
pub mod plot;
pub mod query;
pub mod samp;
mod sky;
mod table_view;
#[cfg(test)]
mod tests;
mod view;

use crate::names::resolve_position;
use anyhow::{Result, anyhow};
use catalog::Catalogue;
use egui_wgpu::RenderState;
use fetch::TileFetcher;
use pending::Pending;
use sky::{BUNDLED, CatalogueDraw, Layer, SkyCallback, SkyResources, sync_catalogues, sync_tiles};
use skyglass_hips::{DEFAULT_ONLINE_SURVEY, HipsSurvey, KNOWN_SURVEYS};
use skyglass_render::loader::LayerSpec;
use skyglass_render::{Blend, Colormap, GridStyle, Stretch, grid_labels};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, ViewCamera};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use view::ViewState;

/// Opens the window and runs until it is closed.
pub fn run(samp: Option<samp::SampMode>) -> Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Skyglass")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([480.0, 320.0]),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    let startup = match samp {
        Some(mode) => Startup { samp_mode: mode, ..Startup::default() },
        None => Startup { samp: None, ..Startup::default() },
    };
    eframe::run_native(
        "Skyglass",
        options,
        Box::new(|cc| {
            close_on_stop_signal(cc.egui_ctx.clone());
            Ok(Box::new(SkyglassApp::new(cc, startup)?))
        }),
    )
    .map_err(|error| anyhow!("cannot open the window: {error}"))
}

/// Ctrl-C or SIGTERM closes the window as its close button does, so the app leaves SAMP
/// properly (its own hub tells the others and removes its lockfile).
fn close_on_stop_signal(ctx: egui::Context) {
    let spawned = std::thread::Builder::new().name("stop-signal".into()).spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(crate::hub::stop_signal());
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        ctx.request_repaint();
    });
    if let Err(error) = spawned {
        tracing::warn!("no stop-signal handler: {error}");
    }
}

/// What the app does when it starts.
pub struct Startup {
    /// Try to open the default colour optical survey over the network, over the bundled sky.
    pub online_default: bool,
    /// Start the embedded archive server on a free loopback port.
    pub archive: bool,
    /// Talk SAMP through the hub of this lockfile (started in-process when none answers).
    pub samp: Option<std::path::PathBuf>,
    /// Where the app's own hub serves the Web Profile, asking the user before a page joins.
    pub samp_web: Option<std::net::SocketAddr>,
    /// Run a hub when none answers, or only join one.
    pub samp_mode: samp::SampMode,
}

impl Default for Startup {
    fn default() -> Self {
        Startup {
            online_default: true,
            archive: true,
            samp: skyglass_samp::lockfile::default_path().ok(),
            samp_web: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 21012))),
            samp_mode: samp::SampMode::Hub,
        }
    }
}

/// A survey as an offscreen render needs it.
type VisibleSurvey = (std::sync::Arc<HipsSurvey>, skyglass_hips::TileFormat, skyglass_render::LayerStyle);

/// What the SAMP window's buttons send.
enum SampSend {
    Centre,
    Image,
    Plotted,
    Catalogue(u64),
    RowList(u64),
    Moc(u64),
}

/// What a file or URL held, read on a thread: tables or a MOC; or why it could not be read.
type TablesRead = Result<Opened, String>;

enum Opened {
    Tables(Vec<plot::PlotTable>),
    Moc(skyglass_sky::SpaceMoc),
    Image(Box<(skyglass_votable::fits::FitsImage, skyglass_sky::ImageWcs)>),
}

/// Reads a table file or URL, or a MOC (told apart by content).
fn open_location(source: &str) -> Result<Opened> {
    if source.contains("://") && !source.starts_with("file://") {
        let lower = source.to_ascii_lowercase();
        if lower.contains("moc") {
            let bytes = reqwest::blocking::get(source)?.error_for_status()?.bytes()?.to_vec();
            if coverage::looks_like_moc(&bytes) {
                return Ok(Opened::Moc(coverage::read_moc(&bytes)?));
            }
        }
        return Ok(Opened::Tables(plot::table::download_tables(source)?));
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    let bytes = crate::convert::gunzip_if_gzipped(crate::convert::read_input(path)?, path)?;
    if coverage::looks_like_moc(&bytes) {
        return Ok(Opened::Moc(coverage::read_moc(&bytes)?));
    }
    if let Some(image) = coverage::read_image(&bytes) {
        return Ok(Opened::Image(Box::new(image?)));
    }
    Ok(Opened::Tables(plot::table::read_tables(std::path::Path::new(path))?))
}

/// A survey opened on another thread (opening an HTTP survey reads its properties), and
/// whether failing just means being offline (the default survey tried at start-up).
type SurveyOpened = (Result<HipsSurvey, String>, bool);

/// Catalogues built on a worker from the tables of one file, query or message, and the
/// first refusal when none of its tables could be placed.
struct Built {
    catalogues: Vec<Catalogue>,
    refusal: Option<String>,
    /// Where a refusal is shown: beside the open field (files), else in the status bar.
    from_file: bool,
    /// SAMP's name for the table they came from, so highlights that follow find them.
    samp_key: Option<samp::TableKey>,
}

/// The UI thread's own work per frame: the longest since the count was reset, and how many
/// frames there were.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameWork {
    pub longest: std::time::Duration,
    pub frames: u64,
}

impl FrameWork {
    /// A frame's work longer than this shows as a stutter at 60 frames a second.
    const BUDGET: std::time::Duration = std::time::Duration::from_millis(16);

    fn record(&mut self, spent: std::time::Duration) {
        self.frames += 1;
        self.longest = self.longest.max(spent);
        if spent > Self::BUDGET {
            tracing::debug!(ms = spent.as_secs_f64() * 1e3, "a frame's own work took longer than a frame");
        }
    }
}

/// The widest field a go-to leaves (degrees): from a wider view it zooms to this.
const GO_TO_FOV_DEGREES: f64 = 2.0;

pub struct SkyglassApp {
    view: ViewState,
    /// The plot panel (light curves, telemetry), shown below the sky when asked for.
    pub plot: plot::PlotPanel,
    layers: Vec<Layer>,
    next_layer_id: u64,
    fetcher: TileFetcher,
    /// Text typed in the go-to box, and what went wrong with it.
    go_to: String,
    go_to_error: Option<String>,
    /// A HiPS folder or file URL to add, and what went wrong opening it.
    add_location: String,
    add_error: Option<String>,
    /// The errors of the layer panel last scrolled into sight (see `show_error`).
    revealed_add_error: Option<String>,
    revealed_table_error: Option<String>,
    /// The last place gone to (ICRS) and its name, marked on the sky.
    target: Option<(LonLat, String)>,
    /// The sky position under the pointer, in the view's frame.
    pointer: Option<LonLat>,
    status: Option<String>,
    opening: Vec<Pending<SurveyOpened>>,
    ctx: egui::Context,
    /// The coordinate grid's frame, when the grid is shown.
    grid: Option<Frame>,
    /// The embedded archive's TAP URL once it runs, or why it does not.
    archive: Option<Receiver<Result<String, String>>>,
    archive_url: Option<Result<String, String>>,
    /// The sky view's size in pixels, as last drawn.
    view_size: Option<[f64; 2]>,
    exporting: Option<Receiver<Result<std::path::PathBuf, String>>>,
    /// The SAMP conversation, and whether its window is open.
    pub samp: Option<samp::SampLink>,
    samp_visible: bool,
    /// Web pages waiting for the user to let them join: name, origin, where the answer goes.
    web_asking: Vec<(String, String, tokio::sync::oneshot::Sender<bool>)>,
    /// Tables on the sky, bottom first; the one the table view shows.
    pub catalogues: Vec<Catalogue>,
    /// MOC coverages, under the catalogues; FITS images, under those.
    pub coverages: Vec<coverage::Coverage>,
    pub images: Vec<coverage::SkyImage>,
    pub active_catalogue: Option<u64>,
    pub table_visible: bool,
    /// The query panel (TAP), and the multi-mission overview of the view.
    pub query: query::QueryPanel,
    pub overview: overview::Overview,
    /// A table file or URL to open as a catalogue, what went wrong, and downloads under way.
    add_table: String,
    add_table_error: Option<String>,
    downloading: Vec<Pending<TablesRead>>,
    /// Catalogues being built from tables read (joining, positions, footprints).
    building: Vec<Pending<Built>>,
    /// Tables received over SAMP still being built, and the messages about them (rows to
    /// highlight or select) that wait until they are on the sky.
    samp_building: Vec<samp::TableKey>,
    samp_waiting: Vec<samp::Asked>,
    /// How long the UI thread's own work has taken a frame.
    pub frame_work: FrameWork,
    /// Other work on threads whose only answer is a line for the status bar (SAMP sends).
    background: Vec<Pending<Option<String>>>,
    /// The catalogue row under the pointer.
    hovered: Option<(u64, usize)>,
    /// Catalogues sent over SAMP whose table-id and URL are on their way back.
    samp_keys: Vec<(u64, Receiver<samp::TableKey>)>,
    /// The sky camera of the last frame, for "sources in view", and where the view was.
    last_camera: Option<ViewCamera>,
    sky_rect: Option<egui::Rect>,
}

impl SkyglassApp {
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        startup: Startup,
    ) -> Result<SkyglassApp, Box<dyn std::error::Error + Send + Sync>> {
        let Some(render_state) = cc.wgpu_render_state.as_ref() else {
            return Err("Skyglass draws with wgpu, which did not start".into());
        };
        SkyResources::install(render_state);
        fonts::install(&cc.egui_ctx);
        let ctx = cc.egui_ctx.clone();
        let fetcher = TileFetcher::start(move || ctx.request_repaint());
        let mut app = SkyglassApp {
            view: ViewState::default(),
            layers: Vec::new(),
            next_layer_id: 1,
            fetcher,
            go_to: String::new(),
            go_to_error: None,
            add_location: String::new(),
            add_error: None,
            revealed_add_error: None,
            revealed_table_error: None,
            pointer: None,
            target: None,
            status: None,
            opening: Vec::new(),
            ctx: cc.egui_ctx.clone(),
            grid: None,
            archive: startup.archive.then(|| {
                let ctx = cc.egui_ctx.clone();
                crate::archive::start_embedded(move || ctx.request_repaint())
            }),
            archive_url: None,
            view_size: None,
            exporting: None,
            plot: plot::PlotPanel::new(),
            samp: startup.samp.map(|lockfile| {
                let ctx = cc.egui_ctx.clone();
                samp::SampLink::start(lockfile, startup.samp_web, startup.samp_mode, move || ctx.request_repaint())
            }),
            samp_visible: false,
            web_asking: Vec::new(),
            catalogues: Vec::new(),
            coverages: Vec::new(),
            images: Vec::new(),
            active_catalogue: None,
            table_visible: false,
            query: query::QueryPanel::new(),
            overview: overview::Overview::new(),
            add_table: String::new(),
            add_table_error: None,
            downloading: Vec::new(),
            building: Vec::new(),
            samp_building: Vec::new(),
            samp_waiting: Vec::new(),
            frame_work: FrameWork::default(),
            background: Vec::new(),
            hovered: None,
            samp_keys: Vec::new(),
            last_camera: None,
            sky_rect: None,
        };
        if let Some((name, files)) = BUNDLED.first() {
            app.add_survey(HipsSurvey::embedded(name, files));
        }
        if startup.online_default
            && let Some(survey) = KNOWN_SURVEYS.iter().find(|s| s.title == DEFAULT_ONLINE_SURVEY)
        {
            let urls = survey.urls.iter().map(|u| (*u).to_owned()).collect();
            app.open_in_background(survey.title, urls, true);
        }
        Ok(app)
    }

    /// Opens a survey from the first of `urls` that answers, without blocking the UI.
    fn open_in_background(&mut self, label: &str, urls: Vec<String>, quiet: bool) {
        let ctx = self.ctx.clone();
        let opening = Pending::spawn(
            label,
            "open-hips",
            move || ctx.request_repaint(),
            move || {
                let mut outcome = Err(String::from("no URL to open"));
                for url in &urls {
                    outcome = HipsSurvey::open(url).map_err(|error| error.to_string());
                    if outcome.is_ok() {
                        break;
                    }
                }
                (outcome, quiet)
            },
        );
        match opening {
            Ok(opening) => self.opening.push(opening),
            Err(error) => self.add_error = Some(format!("cannot open {label}: {error}")),
        }
    }

    /// Layers whose surveys finished opening join the top of the list.
    fn collect_opened(&mut self) {
        for (label, (outcome, quiet)) in pending::take_finished(&mut self.opening) {
            match outcome {
                Ok(survey) => self.add_survey(Ok(survey)),
                Err(error) if quiet => {
                    tracing::info!("{label}: {error}");
                    self.status = Some(format!("offline: {label} unreachable, showing the bundled sky"));
                }
                Err(error) => {
                    tracing::warn!("{label}: {error}");
                    self.add_error = Some(error);
                }
            }
        }
    }

    fn add_survey(&mut self, survey: Result<HipsSurvey, skyglass_hips::OpenError>) {
        match survey {
            Ok(survey) => match Layer::new(self.next_layer_id, survey) {
                Some(layer) => {
                    self.next_layer_id += 1;
                    self.layers.push(layer);
                    self.add_error = None;
                }
                None => self.add_error = Some("the survey has no tile format Skyglass can draw".into()),
            },
            Err(error) => self.add_error = Some(error.to_string()),
        }
    }

    /// Makes a catalogue layer of a table and shows it in the table view; the reason when
    /// the table has nothing to place on the sky (nothing already loaded is touched).
    pub fn add_catalogue(&mut self, name: &str, table: skyglass_votable::TableData) {
        self.build_catalogues(vec![(name.to_owned(), table)], false, None);
    }

    /// Builds catalogues from `tables` on a worker (joining batches, reading positions and
    /// footprints takes seconds for millions of rows); they join the sky when done.
    fn build_catalogues(
        &mut self,
        tables: Vec<(String, skyglass_votable::TableData)>,
        from_file: bool,
        samp_key: Option<samp::TableKey>,
    ) {
        let Some((first, _)) = tables.first() else { return };
        let label = if tables.len() > 1 { format!("{first} and {} more", tables.len() - 1) } else { first.clone() };
        // Ids are handed out here, so layers keep the order their work started in.
        let first_id = self.next_layer_id;
        self.next_layer_id += tables.len() as u64;
        if let Some(key) = &samp_key {
            self.samp_building.push(key.clone());
        }
        let ctx = self.ctx.clone();
        let building = Pending::spawn(
            label.clone(),
            "build-catalogue",
            move || ctx.request_repaint(),
            move || {
                let mut catalogues = Vec::new();
                let mut refusal = None;
                for ((name, table), id) in tables.into_iter().zip(first_id..) {
                    let started = std::time::Instant::now();
                    match Catalogue::new(id, &name, &table) {
                        Ok(catalogue) => {
                            tracing::info!(
                                "{name}: {} rows, {} placed, built in {:.0?}",
                                catalogue.rows(),
                                catalogue.positioned(),
                                started.elapsed()
                            );
                            catalogues.push(catalogue);
                        }
                        Err(error) => refusal = refusal.or(Some(format!("{error:#}"))),
                    }
                }
                Built { catalogues, refusal, from_file, samp_key }
            },
        );
        match building {
            Ok(building) => self.building.push(building),
            Err(error) => self.status = Some(format!("cannot build {label}: {error}")),
        }
    }

    /// Catalogues built on workers join the sky; a source none of whose tables could be
    /// placed says why.
    fn collect_built(&mut self) {
        for (label, built) in pending::take_finished(&mut self.building) {
            let Built { catalogues, refusal, from_file, samp_key } = built;
            if let Some(position) = self.samp_building.iter().position(|k| Some(k) == samp_key.as_ref()) {
                self.samp_building.remove(position);
            }
            if catalogues.is_empty() {
                let refusal = refusal.unwrap_or_else(|| format!("{label}: nothing to place"));
                if from_file {
                    self.add_table_error = Some(refusal);
                } else {
                    self.status = Some(refusal);
                }
                continue;
            }
            for mut catalogue in catalogues {
                self.status = Some(format!(
                    "{}: {} rows, {} placed ({})",
                    catalogue.name,
                    catalogue.rows(),
                    catalogue.positioned(),
                    catalogue.position_columns.as_deref().unwrap_or("no positions"),
                ));
                catalogue.samp_key = samp_key.clone();
                self.active_catalogue = Some(catalogue.id);
                self.table_visible = true;
                self.catalogues.push(catalogue);
            }
        }
        for (_, message) in pending::take_finished(&mut self.background) {
            if message.is_some() {
                self.status = message;
            }
        }
    }

    /// A FITS image as a sky layer.
    pub fn add_image(&mut self, name: &str, image: skyglass_votable::fits::FitsImage, wcs: skyglass_sky::ImageWcs) {
        let cuts = skyglass_render::image::percentile_cuts(&image.values);
        self.status =
            Some(format!("{name}: a {}×{} image ({} {})", image.width, image.height, wcs.projection, wcs.frame.name()));
        self.images.push(coverage::SkyImage {
            id: self.next_layer_id,
            name: name.to_owned(),
            width: image.width,
            height: image.height,
            values: std::sync::Arc::new(image.values),
            wcs,
            style: skyglass_render::ImageStyle {
                opacity: 1.0,
                colormap: Colormap::Grey,
                stretch: Stretch::Linear,
                reverse: false,
                cuts,
            },
            visible: true,
        });
        self.next_layer_id += 1;
    }

    /// A MOC as a coverage layer.
    pub fn add_coverage(&mut self, name: &str, moc: skyglass_sky::SpaceMoc) {
        const COLOURS: [[f32; 4]; 3] = [[0.9, 0.3, 0.9, 0.9], [0.3, 0.9, 0.9, 0.9], [0.95, 0.75, 0.3, 0.9]];
        self.status = Some(format!(
            "{name}: a MOC of depth {} covering {:.4}% of the sky",
            moc.depth(),
            moc.sky_fraction() * 100.0
        ));
        self.coverages.push(coverage::Coverage {
            id: self.next_layer_id,
            name: name.to_owned(),
            colour: COLOURS[self.coverages.len() % COLOURS.len()],
            moc: std::sync::Arc::new(moc),
            visible: true,
        });
        self.next_layer_id += 1;
    }

    /// Opens a table file (VOTable, CSV, FITS, Parquet, ECSV; gzipped too) or URL as
    /// catalogue layers, on a thread: every table of it with positions or footprints.
    pub fn open_table(&mut self, location: &str) {
        let location = location.trim().to_owned();
        if location.is_empty() {
            return;
        }
        let ctx = self.ctx.clone();
        let source = location.clone();
        let reading = Pending::spawn(
            location,
            "open-table",
            move || ctx.request_repaint(),
            move || open_location(&source).map_err(|error| format!("{error:#}")),
        );
        match reading {
            Ok(reading) => self.downloading.push(reading),
            Err(error) => self.add_table_error = Some(error.to_string()),
        }
    }

    /// Tables read by `open_table` go to be built as layers; MOCs and images join at once.
    fn collect_tables(&mut self) {
        for (location, read) in pending::take_finished(&mut self.downloading) {
            let file = location.rsplit(['/', '\\']).next().unwrap_or(&location).to_owned();
            self.add_table_error = None;
            match read {
                Ok(Opened::Tables(tables)) => self.add_tables(&file, tables, true, None),
                Ok(Opened::Moc(moc)) => self.add_coverage(&file, moc),
                Ok(Opened::Image(image)) => {
                    let (image, wcs) = *image;
                    self.add_image(&file, image, wcs);
                }
                Err(error) => self.add_table_error = Some(error),
            }
        }
    }

    /// Every table that has positions or footprints becomes a layer, built on a worker;
    /// the first refusal is told when none does.
    fn add_tables(
        &mut self,
        name: &str,
        tables: Vec<plot::PlotTable>,
        from_file: bool,
        samp_key: Option<samp::TableKey>,
    ) {
        let several = tables.len() > 1;
        let tables = tables
            .into_iter()
            .map(|table| {
                let label = if several { format!("{name} {}", table.label) } else { name.to_owned() };
                let data = skyglass_votable::TableData {
                    schema: table.batch.schema(),
                    batches: vec![table.batch],
                    options: Default::default(),
                    diagnostic_count: 0,
                };
                (label, data)
            })
            .collect();
        self.build_catalogues(tables, from_file, samp_key);
    }

    fn catalogue_panel(&mut self, ui: &mut egui::Ui) {
        if !self.catalogues.is_empty() {
            ui.heading("Catalogues");
        }
        let mut remove = None;
        let mut keep = None;
        let mut go_to = None;
        let count = self.catalogues.len();
        for position in (0..count).rev() {
            let active = self.active_catalogue;
            let catalogue = &mut self.catalogues[position];
            let id = catalogue.id;
            ui.separator();
            ui.horizontal(|ui| {
                ui.checkbox(&mut catalogue.visible, egui::RichText::new(&catalogue.name).strong());
                if ui.selectable_label(active == Some(id), "table").on_hover_text("Show in the table view").clicked() {
                    self.active_catalogue = Some(id);
                    self.table_visible = true;
                }
                if ui.small_button("go to").on_hover_text("Show the whole catalogue in the view").clicked() {
                    go_to = catalogue.extent();
                }
                if ui.small_button("remove").clicked() {
                    remove = Some(position);
                }
                if let Some(user) = self.query.logged_in_as() {
                    let button = ui
                        .add_enabled(!self.query.keeping(), egui::Button::new("keep").small())
                        .on_hover_text(format!("Keep as a table of {user}'s on the query panel's service"));
                    if button.clicked() {
                        keep = Some(position);
                    }
                }
            });
            ui.horizontal(|ui| {
                ui.small(format!(
                    "{} rows, {} placed by {}",
                    catalogue.rows(),
                    catalogue.positioned(),
                    catalogue.position_columns.as_deref().unwrap_or("—")
                ));
                if catalogue.placing() {
                    ui.spinner().on_hover_text("placing the sources on the sky");
                }
            });
            ui.horizontal(|ui| {
                egui::ComboBox::from_id_salt(("shape", id))
                    .selected_text(catalogue.style.shape.name())
                    .width(70.0)
                    .show_ui(ui, |ui| {
                        for (shape, name) in catalog::shape_names() {
                            ui.selectable_value(&mut catalogue.style.shape, shape, name);
                        }
                    });
                ui.add(egui::Slider::new(&mut catalogue.style.size, 2.0..=40.0).text("px"));
            });
            ui.horizontal(|ui| {
                let mut colour = egui::Rgba::from_rgba_unmultiplied(
                    catalogue.style.colour[0],
                    catalogue.style.colour[1],
                    catalogue.style.colour[2],
                    catalogue.style.colour[3],
                );
                if egui::color_picker::color_edit_button_rgba(ui, &mut colour, egui::color_picker::Alpha::OnlyBlend)
                    .changed()
                {
                    let c = colour.to_rgba_unmultiplied();
                    catalogue.style.colour = c;
                    catalogue.line_style.colour = c;
                }
                let columns = catalogue.numeric_columns();
                let current = catalogue
                    .colour_by
                    .and_then(|c| columns.iter().find(|(i, _)| *i == c))
                    .map_or("one colour".to_owned(), |(_, name)| format!("by {name}"));
                let mut chosen = catalogue.colour_by;
                egui::ComboBox::from_id_salt(("colour by", id)).selected_text(current).show_ui(ui, |ui| {
                    ui.selectable_value(&mut chosen, None, "one colour");
                    for (index, name) in &columns {
                        ui.selectable_value(&mut chosen, Some(*index), name);
                    }
                });
                if chosen != catalogue.colour_by {
                    catalogue.colour_by_column(chosen);
                }
            });
            if catalogue.colour_by.is_some() {
                egui::ComboBox::from_id_salt(("marker colormap", id))
                    .selected_text(catalogue.style.colormap.name())
                    .show_ui(ui, |ui| {
                        for colormap in Colormap::ALL {
                            ui.selectable_value(&mut catalogue.style.colormap, *colormap, colormap.name());
                        }
                    });
                let [low, high] = &mut catalogue.colour_range;
                ui.horizontal(|ui| {
                    ui.label("range");
                    let changed = ui.add(egui::DragValue::new(low).speed(0.05)).changed()
                        | ui.add(egui::DragValue::new(high).speed(0.05)).changed();
                    if changed {
                        catalogue.revision += 1;
                    }
                });
            }
            if catalogue.motion.is_some() {
                ui.horizontal(|ui| {
                    ui.checkbox(&mut catalogue.show_motion, "proper motion");
                    if catalogue.show_motion {
                        ui.add(
                            egui::DragValue::new(&mut catalogue.motion_years)
                                .range(1.0..=1_000_000.0)
                                .speed(10.0)
                                .suffix(" yr"),
                        );
                    }
                });
            }
            if !catalogue.footprints.is_empty() {
                ui.horizontal(|ui| {
                    ui.small(format!("{} footprints", catalogue.footprints.len()));
                    ui.add(egui::Slider::new(&mut catalogue.line_style.fill, 0.0..=1.0).text("fill"));
                });
            }
            if let (bad @ 1.., Some(reason)) = &catalogue.bad_regions {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{bad} s_region unreadable; {reason}"));
            }
        }
        if let Some(position) = keep {
            let catalogue = &self.catalogues[position];
            let table = skyglass_votable::TableData {
                schema: catalogue.batch.schema(),
                batches: vec![catalogue.batch.clone()],
                options: skyglass_votable::WriteOptions::default(),
                diagnostic_count: 0,
            };
            let ctx = self.ctx.clone();
            self.query.keep(&catalogue.name, table, move || ctx.request_repaint());
            // The outcome is told in the query panel.
            self.query.visible = true;
        }
        if let Some(position) = remove {
            let removed = self.catalogues.remove(position);
            if self.active_catalogue == Some(removed.id) {
                self.active_catalogue = self.catalogues.last().map(|c| c.id);
            }
        }
        if let Some((centre, radius)) = go_to.take() {
            self.view.show_region(centre, radius);
        }
        if !self.images.is_empty() {
            ui.separator();
            ui.heading("Images");
        }
        let mut remove_image = None;
        for (position, image) in self.images.iter_mut().enumerate() {
            let id = image.id;
            ui.horizontal(|ui| {
                ui.checkbox(&mut image.visible, egui::RichText::new(&image.name).strong());
                if ui.small_button("go to").on_hover_text("Show the whole image in the view").clicked() {
                    go_to = image.extent();
                }
                if ui.small_button("remove").clicked() {
                    remove_image = Some(position);
                }
            });
            ui.add(egui::Slider::new(&mut image.style.opacity, 0.0..=1.0).text("opacity"));
            ui.horizontal(|ui| {
                egui::ComboBox::from_id_salt(("image colormap", id))
                    .selected_text(image.style.colormap.name())
                    .show_ui(ui, |ui| {
                        for colormap in Colormap::ALL {
                            ui.selectable_value(&mut image.style.colormap, *colormap, colormap.name());
                        }
                    });
                egui::ComboBox::from_id_salt(("image stretch", id)).selected_text(image.style.stretch.name()).show_ui(
                    ui,
                    |ui| {
                        for stretch in Stretch::ALL {
                            ui.selectable_value(&mut image.style.stretch, stretch, stretch.name());
                        }
                    },
                );
            });
            let [low, high] = &mut image.style.cuts;
            let speed = ((*high - *low).abs() / 200.0).max(1e-9);
            ui.horizontal(|ui| {
                ui.label("cuts");
                ui.add(egui::DragValue::new(low).speed(speed));
                ui.add(egui::DragValue::new(high).speed(speed));
            });
            ui.small(format!(
                "{}×{} px, {} {}",
                image.width,
                image.height,
                image.wcs.projection,
                image.wcs.frame.name()
            ));
        }
        if let Some(position) = remove_image {
            self.images.remove(position);
        }
        if let Some((centre, radius)) = go_to {
            self.view.show_region(centre, radius);
        }
        if !self.coverages.is_empty() {
            ui.separator();
            ui.heading("Coverage (MOC)");
        }
        let mut remove_coverage = None;
        for (position, coverage) in self.coverages.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                ui.checkbox(&mut coverage.visible, egui::RichText::new(&coverage.name).strong());
                let mut colour = egui::Rgba::from_rgba_unmultiplied(
                    coverage.colour[0],
                    coverage.colour[1],
                    coverage.colour[2],
                    coverage.colour[3],
                );
                if egui::color_picker::color_edit_button_rgba(ui, &mut colour, egui::color_picker::Alpha::OnlyBlend)
                    .changed()
                {
                    coverage.colour = colour.to_rgba_unmultiplied();
                }
                if ui.small_button("remove").clicked() {
                    remove_coverage = Some(position);
                }
            });
            ui.small(format!("depth {}, {:.4}% of the sky", coverage.moc.depth(), coverage.moc.sky_fraction() * 100.0));
        }
        if let Some(position) = remove_coverage {
            self.coverages.remove(position);
        }
        ui.separator();
        ui.heading("Add a catalogue");
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.add_table)
                    .hint_text("table or MOC file, or URL (or drop a file)")
                    .desired_width(200.0),
            );
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Open").clicked() || entered {
                let location = self.add_table.clone();
                self.open_table(&location);
            }
        });
        for reading in &self.downloading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("reading {}", reading.label));
            });
        }
        for building in &self.building {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("placing {}", building.label));
            });
        }
        if let Some(error) = &self.add_table_error {
            show_error(ui, error, &mut self.revealed_table_error);
        }
    }

    /// The table view of the active catalogue, below the sky.
    fn table_panel(&mut self, ui: &mut egui::Ui) {
        let Some(catalogue) = self.catalogues.iter_mut().find(|c| Some(c.id) == self.active_catalogue) else {
            ui.label("Open a table or run a query: its rows show here.");
            return;
        };
        let ctx = self.ctx.clone();
        match table_view::table_view(ui, catalogue, move || ctx.request_repaint()) {
            table_view::TableAction::None => {}
            table_view::TableAction::GoTo(row) => {
                if let Ok(position) = LonLat::from_degrees(catalogue.ra[row], catalogue.dec[row]) {
                    self.view.go_to_icrs(position);
                }
            }
            table_view::TableAction::Export(format) => {
                let folder = self.plot.export_folder();
                self.status = Some(match table_view::export(catalogue, format, &folder) {
                    Ok(path) => format!("saved {}", path.display()),
                    Err(error) => format!("export failed: {error:#}"),
                });
            }
        }
    }

    /// Query results and finished filters: layers and redraws.
    fn collect_catalogue_work(&mut self) {
        self.query.poll();
        for result in self.query.take_results() {
            self.add_catalogue(&result.label, result.table);
        }
        for catalogue in &mut self.catalogues {
            catalogue.poll_filter();
        }
        self.collect_tables();
        self.collect_built();
        let dropped: Vec<String> = self.ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_string_lossy().into_owned())
                .filter(|p| !p.is_empty())
                .collect()
        });
        for path in dropped {
            self.open_table(&path);
        }
    }

    fn tool_bar(&mut self, ui: &mut egui::Ui) {
        // Wrapped: in a narrow window the tools take a second row rather than fall off the edge.
        ui.horizontal_wrapped(|ui| {
            let mut projection = self.view.projection;
            egui::ComboBox::from_label("Projection").selected_text(projection.code()).show_ui(ui, |ui| {
                for p in Projection::ALL {
                    ui.selectable_value(&mut projection, p, p.code());
                }
            });
            if projection != self.view.projection {
                self.view.set_projection(projection);
            }
            let mut frame = self.view.frame;
            egui::ComboBox::from_label("Frame").selected_text(frame.name()).show_ui(ui, |ui| {
                for f in Frame::ALL {
                    ui.selectable_value(&mut frame, f, f.name());
                }
            });
            if frame != self.view.frame {
                self.view.set_frame(frame);
            }
            let mut rotation = self.view.rotation.degrees();
            let rotation_field = ui.add(
                egui::DragValue::new(&mut rotation).speed(0.5).suffix("°").range(-180.0..=180.0).prefix("rotation "),
            );
            if rotation_field.changed() {
                self.view.rotation = Angle::from_degrees(rotation);
            }
            if ui.small_button("north up").clicked() {
                self.view.rotation = Angle::from_degrees(0.0);
            }
            ui.toggle_value(&mut self.overview.visible, "Overview")
                .on_hover_text("What the archives hold in view, per mission and band");
            ui.toggle_value(&mut self.query.visible, "Query").on_hover_text("Ask a TAP service in ADQL");
            ui.toggle_value(&mut self.table_visible, "Table").on_hover_text("The rows of a catalogue");
            ui.toggle_value(&mut self.plot.visible, "Plot").on_hover_text("Plot columns of a table against time");
            if self.samp.is_some() {
                ui.toggle_value(&mut self.samp_visible, "SAMP")
                    .on_hover_text("Other applications talking through SAMP");
            }
            let mut show_grid = self.grid.is_some();
            ui.checkbox(&mut show_grid, "Grid");
            let mut grid_frame = self.grid.unwrap_or(Frame::Icrs);
            // Always there (greyed without a grid), so turning the grid on moves nothing.
            ui.add_enabled_ui(show_grid, |ui| {
                egui::ComboBox::from_id_salt("grid frame")
                    .selected_text(grid_frame.name())
                    .width(90.0)
                    .show_ui(ui, |ui| {
                        for f in [Frame::Icrs, Frame::Galactic, Frame::EclipticJ2000, Frame::Supergalactic] {
                            ui.selectable_value(&mut grid_frame, f, f.name());
                        }
                    })
                    .response
                    .on_hover_text("The grid's frame");
            });
            self.grid = show_grid.then_some(grid_frame);
            ui.separator();
            // The label and its field wrap together.
            let field = ui
                .horizontal(|ui| {
                    ui.label("Go to");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.go_to)
                            .hint_text("RA Dec (ICRS) or a name: M31, Vega")
                            .desired_width(180.0),
                    )
                })
                .inner;
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                match resolve_position(&self.go_to, Frame::Icrs) {
                    Ok((position, name)) => {
                        self.view.go_to_icrs(position);
                        // From a wide view, close enough to see the target; a closer view
                        // is the user's and stays.
                        if self.view.fov.degrees() > GO_TO_FOV_DEGREES {
                            self.view.fov = Angle::from_degrees(GO_TO_FOV_DEGREES);
                        }
                        self.target = Some((position, name.clone().unwrap_or_else(|| self.go_to.trim().to_owned())));
                        self.go_to_error = None;
                        self.status = name.map(|name| format!("{name} (offline name index)"));
                    }
                    Err(error) => self.go_to_error = Some(format!("{error:#}")),
                }
            }
            if let Some(error) = &self.go_to_error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            ui.separator();
            if ui.button("Export PNG").clicked() {
                self.export_png();
            }
        });
    }

    /// The visible surveys, bottom first, for an offscreen render on another thread.
    fn visible_surveys(&self) -> Vec<VisibleSurvey> {
        self.layers
            .iter()
            .filter(|layer| layer.visible)
            .map(|layer| (layer.survey.clone(), layer.format, layer.style))
            .collect()
    }

    /// Saves the sky view as it is on screen (surveys, images, MOCs, catalogues, footprints,
    /// the grid and its labels, marks) as PNG in the export folder: a screenshot of the next
    /// frame, cropped to the view, encoded on a thread of its own.
    fn export_png(&mut self) {
        let Some(rect) = self.sky_rect else { return };
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let path = self.plot.export_folder().join(format!("skyglass-{stamp}.png"));
        let (sender, result) = channel();
        let ctx = self.ctx.clone();
        self.ctx.request_screenshot(move |image| {
            let Some(view) = plot::crop(&image, rect, ctx.pixels_per_point()) else {
                let _ = sender.send(Err("the sky view is off the screen".to_owned()));
                return;
            };
            let wake = ctx.clone();
            let spawned = std::thread::Builder::new().name("export-png".into()).spawn(move || {
                let saved = plot::save_png(&view, &path).map(|()| path).map_err(|error| format!("{error:#}"));
                let _ = sender.send(saved);
                wake.request_repaint();
            });
            if let Err(error) = spawned {
                tracing::warn!("cannot export the view: {error}");
            }
        });
        self.ctx.request_repaint();
        self.exporting = Some(result);
        self.status = Some("exporting the view…".into());
    }

    fn layer_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading("Layers");
        ui.label("Top of the list is drawn last, over the others.");
        let mut remove = None;
        let mut raise = None;
        let count = self.layers.len();
        for position in (0..count).rev() {
            let layer = &mut self.layers[position];
            ui.separator();
            let title = egui::RichText::new(layer.title().to_owned()).strong();
            ui.horizontal(|ui| {
                ui.checkbox(&mut layer.visible, title);
                if !layer.is_ready() {
                    ui.spinner();
                }
            });
            ui.horizontal(|ui| {
                ui.add(egui::Slider::new(&mut layer.style.opacity, 0.0..=1.0).text("opacity"));
            });
            egui::ComboBox::new(("blend", layer.id), "blending").selected_text(layer.style.blend.name()).show_ui(
                ui,
                |ui| {
                    for blend in Blend::ALL {
                        ui.selectable_value(&mut layer.style.blend, blend, blend.name());
                    }
                },
            );
            ui.horizontal(|ui| {
                if position + 1 < count && ui.small_button("move up").clicked() {
                    raise = Some(position);
                }
                if position > 0 && ui.small_button("move down").clicked() {
                    raise = Some(position - 1);
                }
                if ui.small_button("remove").clicked() {
                    remove = Some(position);
                }
            });
            if layer.can_show_values() {
                let mut values = layer.is_values();
                if ui.checkbox(&mut values, "FITS values (cuts, colormap)").changed() {
                    layer.set_values(values);
                }
            }
            if layer.is_values() {
                let id = layer.id;
                egui::ComboBox::new(("colormap", id), "colormap").selected_text(layer.style.colormap.name()).show_ui(
                    ui,
                    |ui| {
                        for colormap in Colormap::ALL {
                            ui.selectable_value(&mut layer.style.colormap, *colormap, colormap.name());
                        }
                    },
                );
                egui::ComboBox::new(("stretch", id), "stretch").selected_text(layer.style.stretch.name()).show_ui(
                    ui,
                    |ui| {
                        for stretch in Stretch::ALL {
                            ui.selectable_value(&mut layer.style.stretch, stretch, stretch.name());
                        }
                    },
                );
                let properties = layer.survey.properties();
                let default_cuts = properties.pixel_cut.or(properties.data_range).unwrap_or([0.0, 1.0]);
                let mut cuts = layer.style.cuts.unwrap_or(default_cuts);
                let speed = ((cuts[1] - cuts[0]).abs() / 200.0).max(1e-9);
                ui.horizontal(|ui| {
                    ui.label("cuts");
                    ui.add(egui::DragValue::new(&mut cuts[0]).speed(speed));
                    ui.add(egui::DragValue::new(&mut cuts[1]).speed(speed));
                });
                if cuts != default_cuts {
                    layer.style.cuts = Some(cuts);
                }
                ui.checkbox(&mut layer.style.reverse, "reverse colormap");
            }
            if let Some(credit) = &layer.survey.properties().copyright {
                ui.small(format!("© {credit}"));
            }
            if let Some(problem) = &layer.problem {
                ui.colored_label(ui.visuals().warn_fg_color, problem);
            }
        }
        if let Some(position) = remove {
            self.layers.remove(position);
        }
        if let Some(position) = raise {
            self.layers.swap(position, position + 1);
        }
        ui.separator();
        ui.heading("Add a layer");
        for (name, files) in BUNDLED {
            if ui.button(*name).clicked() {
                self.add_survey(HipsSurvey::embedded(name, files));
            }
        }
        egui::CollapsingHeader::new("Surveys online").show(ui, |ui| {
            let mut regime = "";
            for survey in KNOWN_SURVEYS {
                if survey.regime != regime {
                    regime = survey.regime;
                    ui.label(egui::RichText::new(regime).small().weak());
                }
                if ui.button(survey.title).clicked() {
                    let urls = survey.urls.iter().map(|u| (*u).to_owned()).collect();
                    self.open_in_background(survey.title, urls, false);
                }
            }
        });
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.add_location).hint_text("HiPS folder or URL").desired_width(200.0),
            );
            // Enter adds, as in every other field with a button beside it.
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Add").clicked() || entered) && !self.add_location.trim().is_empty() {
                let location = self.add_location.trim().to_owned();
                self.open_in_background(&location.clone(), vec![location], false);
            }
        });
        for opening in &self.opening {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("opening {}", opening.label));
            });
        }
        if let Some(error) = &self.add_error {
            show_error(ui, error, &mut self.revealed_add_error);
        }
    }

    /// Acts on what SAMP clients asked, and shows the SAMP window when it is open.
    fn samp_window(&mut self, ui: &mut egui::Ui) {
        let Some(mut asked) = self.samp.as_ref().map(samp::SampLink::asked) else { return };
        // Messages that waited for their table come first, in the order they came.
        asked.splice(0..0, std::mem::take(&mut self.samp_waiting));
        for asked in asked {
            // A message about a table still being built waits for it (clients highlight a
            // row right after sending its table).
            if let samp::Asked::Highlight { table, .. } | samp::Asked::Select { table, .. } = &asked
                && !self.catalogues.iter().any(|c| c.samp_key.as_ref().is_some_and(|k| k.matches(table)))
                && self.samp_building.iter().any(|k| k.matches(table))
            {
                self.samp_waiting.push(asked);
                continue;
            }
            match asked {
                samp::Asked::PointAt { ra, dec } => match LonLat::from_degrees(ra, dec) {
                    Ok(position) => {
                        self.view.go_to_icrs(position);
                        self.status = Some(format!("SAMP: pointed at {ra:.5} {dec:+.5}"));
                    }
                    Err(error) => self.status = Some(format!("SAMP: {error}")),
                },
                samp::Asked::WebClient { name, origin, answer } => self.web_asking.push((name, origin, answer)),
                samp::Asked::Moc { name, moc } => self.add_coverage(&name, moc),
                samp::Asked::Image { name, image, wcs } => self.add_image(&name, *image, wcs),
                samp::Asked::Highlight { table, row } => {
                    match self.catalogues.iter_mut().find(|c| c.samp_key.as_ref().is_some_and(|k| k.matches(&table))) {
                        Some(catalogue) if row < catalogue.rows() => {
                            catalogue.select(Some(row), true);
                            catalogue.samp_sent = Some(row);
                            self.active_catalogue = Some(catalogue.id);
                            self.table_visible = true;
                        }
                        _ => self.status = Some(format!("SAMP: row {row} of a table not shown here")),
                    }
                }
                samp::Asked::Select { table, rows } => {
                    if let Some(catalogue) =
                        self.catalogues.iter_mut().find(|c| c.samp_key.as_ref().is_some_and(|k| k.matches(&table)))
                    {
                        catalogue.set_row_list(rows);
                        self.status =
                            Some(format!("SAMP: {} rows of {} selected", catalogue.row_list.len(), catalogue.name));
                    }
                }
                // A table with positions goes on the sky; one without (a light curve) to the plot.
                samp::Asked::Table { name, table_id, url, tables }
                    if tables.iter().any(|t| catalog::places_rows(&t.batch)) =>
                {
                    self.status = Some(format!("SAMP: {name} received"));
                    // Highlights and selections that follow name the table so.
                    let key = samp::TableKey { table_id, url: Some(url) };
                    self.add_tables(&name, tables, false, Some(key));
                }
                samp::Asked::Table { name, tables, .. } => match self.plot.open_received(&name, tables) {
                    Ok(()) => self.status = Some(format!("SAMP: {name} received")),
                    Err(error) => self.status = Some(format!("SAMP: cannot plot {name}: {error:#}")),
                },
            }
        }
        // A page asking to join: the user decides, one page at a time.
        if let Some((name, origin, _)) = self.web_asking.first() {
            let mut decision = None;
            egui::Window::new("A web page asks to join SAMP").collapsible(false).resizable(false).show(
                ui.ctx(),
                |ui| {
                    ui.label(format!(
                        "{name:?} from {origin} wants to exchange messages with the applications on this desktop."
                    ));
                    ui.label("Allow it only if you trust that page.");
                    ui.horizontal(|ui| {
                        if ui.button("Allow").clicked() {
                            decision = Some(true);
                        }
                        if ui.button("Refuse").clicked() {
                            decision = Some(false);
                        }
                    });
                },
            );
            if let Some(allowed) = decision {
                let (_, _, answer) = self.web_asking.remove(0);
                let _ = answer.send(allowed);
            }
        }
        if !self.samp_visible {
            return;
        }
        let Some(link) = &self.samp else { return };
        let state = link.state();
        let mut asked = Vec::new();
        let mut open = true;
        let active = self.catalogues.iter().find(|c| Some(c.id) == self.active_catalogue);
        egui::Window::new("SAMP").open(&mut open).default_width(280.0).show(ui.ctx(), |ui| {
            ui.label(&state.status);
            if !state.connected {
                return;
            }
            ui.label(format!("{} other applications:", state.clients.len()));
            for (id, name) in &state.clients {
                ui.label(format!("  {name} ({id})"));
            }
            let mut button = |label: &str, hover: &str, what: SampSend| {
                if ui.button(label).on_hover_text(hover).clicked() {
                    asked.push(what);
                }
            };
            button("Send view centre", "coord.pointAt.sky to every listening application", SampSend::Centre);
            button("Send view as FITS", "image.load.fits: the view rendered with its WCS", SampSend::Image);
            if let Some(catalogue) = active {
                button(
                    &format!("Send {}", catalogue.name),
                    "table.load.votable: the catalogue in the table view",
                    SampSend::Catalogue(catalogue.id),
                );
                if catalogue.samp_key.is_some() {
                    button(
                        "Send the filtered rows as a selection",
                        "table.select.rowList: the rows the table view shows",
                        SampSend::RowList(catalogue.id),
                    );
                }
            }
            for coverage in &self.coverages {
                button(&format!("Send {}", coverage.name), "coverage.load.moc.fits", SampSend::Moc(coverage.id));
            }
            // The VOTable is written when sent, not every frame.
            if !self.plot.tables().0.is_empty() {
                button("Send plotted table", "table.load.votable: the plot panel's table", SampSend::Plotted);
            }
        });
        self.samp_visible = open;
        for what in asked {
            if let Err(error) = self.samp_send(what) {
                self.status = Some(format!("SAMP: {error:#}"));
            }
        }
    }

    /// Sends what the SAMP window's buttons ask for.
    fn samp_send(&mut self, what: SampSend) -> Result<()> {
        let Some(link) = &self.samp else { return Ok(()) };
        match what {
            SampSend::Centre => {
                let centre = self.view.frame.convert(Frame::Icrs, self.view.centre);
                link.send(samp::Outgoing::PointAt { ra: centre.lon().degrees(), dec: centre.lat().degrees() });
            }
            SampSend::Plotted => {
                if let Some((name, table)) = self.plot.plotted_table() {
                    self.send_table(name, table, None);
                }
            }
            SampSend::Catalogue(id) => {
                let Some(catalogue) = self.catalogues.iter().find(|c| c.id == id) else { return Ok(()) };
                let (sent, key) = channel();
                self.send_table(catalogue.name.clone(), catalogue.table(), Some(sent));
                self.samp_keys.push((id, key));
            }
            SampSend::RowList(id) => {
                let Some(catalogue) = self.catalogues.iter().find(|c| c.id == id) else { return Ok(()) };
                let Some(table) = catalogue.samp_key.clone() else { return Ok(()) };
                let rows = catalogue.view_rows().iter().map(|r| *r as usize).collect();
                link.send(samp::Outgoing::Select { table, rows });
            }
            SampSend::Moc(id) => {
                let Some(coverage) = self.coverages.iter().find(|c| c.id == id) else { return Ok(()) };
                link.send(samp::Outgoing::Moc { name: coverage.name.clone(), fits: coverage.moc.to_fits()? });
            }
            SampSend::Image => self.send_view_image(),
        }
        Ok(())
    }

    /// Writes a table as VOTable on a worker (seconds for millions of rows) and sends it
    /// over SAMP; `sent` hears its SAMP table-id and URL.
    fn send_table(
        &mut self,
        name: String,
        table: skyglass_votable::TableData,
        sent: Option<std::sync::mpsc::Sender<samp::TableKey>>,
    ) {
        let Some(link) = &self.samp else { return };
        let sender = link.sender();
        let ctx = self.ctx.clone();
        let sending = Pending::spawn(
            format!("sending {name}"),
            "samp-table",
            move || ctx.request_repaint(),
            move || {
                let mut votable = Vec::new();
                let format = skyglass_votable::TableFormat::VoTableBinary2;
                match skyglass_votable::write_table(&mut votable, &table, format, Vec::new()) {
                    Ok(()) => {
                        let _ = sender.send(samp::Outgoing::Table { name, votable, sent });
                        None
                    }
                    Err(error) => Some(format!("SAMP: cannot write {name}: {error}")),
                }
            },
        );
        match sending {
            Ok(sending) => self.background.push(sending),
            Err(error) => self.status = Some(format!("SAMP: {error}")),
        }
    }

    /// Renders the view to FITS with its WCS on a thread, and sends it as image.load.fits.
    fn send_view_image(&mut self) {
        let (Some(size), Some(link)) = (self.view_size, &self.samp) else { return };
        let camera = self.view.camera(size[0], size[1]);
        let layers = self.visible_surveys();
        let sender = link.sender();
        let spawned = std::thread::Builder::new().name("samp-image".into()).spawn(move || {
            let rendered = (|| -> Result<Vec<u8>> {
                let gpu = skyglass_render::GpuContext::headless()?;
                let renderer =
                    skyglass_render::SkyRenderer::new(&gpu.device, &gpu.queue, skyglass_render::OFFSCREEN_FORMAT);
                let specs: Vec<LayerSpec<'_>> = layers
                    .iter()
                    .map(|(survey, format, style)| LayerSpec { survey, format: *format, style: *style })
                    .collect();
                crate::render::fits_image(&gpu, &renderer, &camera, &specs)
            })();
            match rendered {
                Ok(fits) => {
                    let _ = sender.send(samp::Outgoing::Image { name: "Skyglass view".into(), fits });
                }
                Err(error) => tracing::warn!("SAMP: cannot render the view: {error:#}"),
            }
        });
        if let Err(error) = spawned {
            self.status = Some(format!("SAMP: {error}"));
        }
    }

    /// Keys of tables sent over SAMP, and row highlights to tell the others.
    fn samp_follow_up(&mut self) {
        let mut still = Vec::new();
        for (id, key) in std::mem::take(&mut self.samp_keys) {
            match key.try_recv() {
                Ok(key) => {
                    if let Some(catalogue) = self.catalogues.iter_mut().find(|c| c.id == id) {
                        catalogue.samp_key = Some(key);
                    }
                }
                Err(TryRecvError::Empty) => still.push((id, key)),
                Err(TryRecvError::Disconnected) => {}
            }
        }
        self.samp_keys = still;
        let Some(link) = &self.samp else { return };
        for catalogue in &mut self.catalogues {
            if let (Some(table), Some(row)) = (&catalogue.samp_key, catalogue.selected)
                && catalogue.samp_sent != Some(row)
            {
                catalogue.samp_sent = Some(row);
                link.send(samp::Outgoing::Highlight { table: table.clone(), row });
            }
        }
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            match self.pointer {
                Some(position) => {
                    let icrs = self.view.frame.convert(Frame::Icrs, position);
                    let galactic = self.view.frame.convert(Frame::Galactic, position);
                    ui.monospace(format!(
                        "ICRS {} {}   Galactic {:.4} {:+.4}",
                        icrs.lon().to_hms(2),
                        icrs.lat().to_dms(1),
                        galactic.lon().degrees(),
                        galactic.lat().degrees()
                    ));
                }
                None => {
                    ui.monospace("—");
                }
            }
            ui.separator();
            ui.monospace(format!("FoV {}", format_fov(self.view.fov)));
            match &self.archive_url {
                Some(Ok(url)) => {
                    ui.separator();
                    ui.label(format!("archive: {url}"));
                }
                Some(Err(error)) => {
                    ui.separator();
                    ui.colored_label(ui.visuals().warn_fg_color, format!("archive not started: {error}"));
                }
                None => {}
            }
            if let Some(status) = &self.status {
                ui.separator();
                ui.label(status);
            }
        });
    }

    fn sky_view(&mut self, ui: &mut egui::Ui, render_state: Option<&RenderState>) {
        let (rect, response) = ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
        let pixels_per_point = f64::from(ui.ctx().pixels_per_point());
        let size = [f64::from(rect.width()) * pixels_per_point, f64::from(rect.height()) * pixels_per_point];
        let camera = self.view.camera(size[0], size[1]);
        self.view_size = Some(size);
        let to_screen = |pos: egui::Pos2| ScreenPoint {
            x: f64::from(pos.x - rect.min.x) * pixels_per_point,
            y: f64::from(pos.y - rect.min.y) * pixels_per_point,
        };

        if response.dragged() {
            let delta = response.drag_delta();
            let shift = ui.input(|i| i.modifiers.shift);
            match response.interact_pointer_pos() {
                // Shift-drag turns the view about its centre.
                Some(pos) if shift => {
                    let centre = rect.center();
                    let (before, after) = (pos - delta - centre, pos - centre);
                    let turn = f64::from(after.y.atan2(after.x) - before.y.atan2(before.x));
                    self.view.rotation = Angle::from_radians(self.view.rotation.radians() - turn).wrap_to_half_turn();
                }
                _ => self
                    .view
                    .pan(&camera, [f64::from(delta.x) * pixels_per_point, f64::from(delta.y) * pixels_per_point]),
            }
        }
        if response.double_clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            self.view.centre_on(&camera, to_screen(pos));
        }
        let hover = response.hover_pos();
        if let Some(pos) = hover {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let factor = f64::from(zoom) * (f64::from(scroll) * 0.002).exp();
            if (factor - 1.0).abs() > 1e-6 {
                self.view.zoom_at(&camera, factor, to_screen(pos));
            }
        }
        // Keys move the sky only while the pointer is over it: a key typed into a field of a
        // panel (whose focus may come a frame late on a busy frame) never pans or zooms.
        if response.hovered() {
            self.keyboard(ui, &camera);
        }
        self.pointer = hover.and_then(|pos| camera.screen_to_sky(to_screen(pos)));

        // The camera as it is after this frame's gestures.
        let camera = self.view.camera(size[0], size[1]);
        if let Some(render_state) = render_state {
            if sync_tiles(render_state, &self.fetcher, &mut self.layers, &camera) {
                ui.ctx().request_repaint();
            }
            let ctx = ui.ctx().clone();
            sync_catalogues(render_state, &self.catalogues, &self.coverages, &self.images, move || {
                ctx.request_repaint()
            });
            self.pick_sources(render_state, &response, &camera, to_screen, pixels_per_point);
        }
        self.last_camera = Some(camera.clone());
        self.sky_rect = Some(rect);
        let layers = self.layers.iter().filter(|layer| layer.visible).map(|layer| (layer.id, layer.style)).collect();
        let origin = [f64::from(rect.min.x) * pixels_per_point, f64::from(rect.min.y) * pixels_per_point];
        // Space is black wherever no survey has data.
        ui.painter().rect_filled(rect, 0.0, egui::Color32::BLACK);
        let grid = self.grid.map(|frame| GridStyle {
            frame,
            line_width: 1.2 * pixels_per_point as f32,
            ..GridStyle::default()
        });
        let labels = self.grid.map(|frame| grid_labels(&camera, frame)).unwrap_or_default();
        let catalogues = self
            .catalogues
            .iter()
            .filter(|c| c.visible)
            .map(|c| CatalogueDraw { id: c.id, markers: c.style, lines: c.line_style })
            .collect();
        let coverages = self.coverages.iter().filter(|c| c.visible).map(|c| (c.id, c.colour)).collect();
        let images = self.images.iter().filter(|i| i.visible).map(|i| (i.id, i.style)).collect();
        let target = self.target.as_ref().and_then(|(position, name)| {
            Some((camera.sky_to_screen(Frame::Icrs.convert(camera.frame(), *position))?, name.clone()))
        });
        let callback = SkyCallback { camera, origin, layers, grid, catalogues, coverages, images };
        ui.painter().add(egui_wgpu::Callback::new_paint_callback(rect, callback));
        let painter = ui.painter_at(rect);
        let colour = egui::Color32::from_rgb(140, 200, 255);
        let to_point =
            |x: f64, y: f64| rect.min + egui::vec2((x / pixels_per_point) as f32, (y / pixels_per_point) as f32);
        for label in labels {
            let at = to_point(label.x, label.y);
            let anchor = if label.meridian { egui::Align2::CENTER_BOTTOM } else { egui::Align2::LEFT_CENTER };
            painter.text(at, anchor, label.text, egui::FontId::proportional(12.0), colour);
        }
        // The view's centre: a small cross, where go-to, zoom keys and SAMP pointing aim.
        let centre = rect.center();
        let faint = egui::Stroke::new(1.0, egui::Color32::from_white_alpha(110));
        for (from, to) in
            [([-9.0, 0.0], [-4.0, 0.0]), ([4.0, 0.0], [9.0, 0.0]), ([0.0, -9.0], [0.0, -4.0]), ([0.0, 4.0], [0.0, 9.0])]
        {
            painter.line_segment([centre + egui::Vec2::from(from), centre + egui::Vec2::from(to)], faint);
        }
        // The place last gone to: a ring and its name.
        if let Some((at, name)) = target {
            let at = to_point(at.x, at.y);
            let mark = egui::Color32::from_rgb(255, 210, 60);
            painter.circle_stroke(at, 14.0, egui::Stroke::new(2.0, mark));
            painter.text(
                at + egui::vec2(18.0, -18.0),
                egui::Align2::LEFT_BOTTOM,
                name,
                egui::FontId::proportional(13.0),
                mark,
            );
        }
    }

    /// A click on a source selects its row (the table view follows); hovering one shows its
    /// first columns.
    fn pick_sources(
        &mut self,
        render_state: &RenderState,
        response: &egui::Response,
        camera: &ViewCamera,
        to_screen: impl Fn(egui::Pos2) -> ScreenPoint,
        pixels_per_point: f64,
    ) {
        if self.catalogues.is_empty() {
            self.hovered = None;
            return;
        }
        let radius = 7.0 * pixels_per_point;
        self.hovered = response
            .hover_pos()
            .and_then(|pos| sky::pick(render_state, &self.catalogues, camera, to_screen(pos), radius));
        if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            // A source under the pointer, else a footprint around it.
            let picked = sky::pick(render_state, &self.catalogues, camera, to_screen(pos), radius).or_else(|| {
                let sky = camera.screen_to_sky(to_screen(pos))?;
                let icrs = camera.frame().convert(Frame::Icrs, sky);
                self.catalogues.iter().rev().filter(|c| c.visible).find_map(|c| Some((c.id, c.footprint_at(icrs)?)))
            });
            if let Some((id, row)) = picked
                && let Some(catalogue) = self.catalogues.iter_mut().find(|c| c.id == id)
            {
                catalogue.select(Some(row), true);
                self.active_catalogue = Some(id);
                self.table_visible = true;
            }
        }
        if let Some((id, row)) = self.hovered
            && let Some(catalogue) = self.catalogues.iter().find(|c| c.id == id)
        {
            let summary = catalog::row_summary(catalogue, row, 8);
            response.clone().on_hover_ui_at_pointer(|ui| {
                ui.strong(&catalogue.name);
                for (name, value) in summary {
                    ui.monospace(format!("{name}: {value}"));
                }
            });
        }
    }

    /// Arrows pan, `+` and `-` zoom about the centre, unless a widget has the keyboard.
    fn keyboard(&mut self, ui: &egui::Ui, camera: &ViewCamera) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let viewport = camera.viewport();
        let step = viewport.width.min(viewport.height) * 0.1;
        let centre = ScreenPoint { x: viewport.width / 2.0, y: viewport.height / 2.0 };
        ui.input(|input| {
            let pans = [
                (egui::Key::ArrowLeft, [step, 0.0]),
                (egui::Key::ArrowRight, [-step, 0.0]),
                (egui::Key::ArrowUp, [0.0, step]),
                (egui::Key::ArrowDown, [0.0, -step]),
            ];
            for (key, delta) in pans {
                if input.key_pressed(key) {
                    self.view.pan(camera, delta);
                }
            }
            if input.key_pressed(egui::Key::Plus) || input.key_pressed(egui::Key::Equals) {
                self.view.zoom_at(camera, 1.5, centre);
            }
            if input.key_pressed(egui::Key::Minus) {
                self.view.zoom_at(camera, 1.0 / 1.5, centre);
            }
        });
    }
}

/// An error in a panel, scrolled into sight the first frame it shows: the answer to a click
/// may land below the fold of a long panel, where it would look as if nothing happened.
fn show_error(ui: &mut egui::Ui, error: &str, revealed: &mut Option<String>) {
    let label = ui.colored_label(ui.visuals().error_fg_color, error);
    if revealed.as_deref() != Some(error) {
        label.scroll_to_me(Some(egui::Align::Center));
        *revealed = Some(error.to_owned());
    }
}

fn format_fov(fov: Angle) -> String {
    let degrees = fov.degrees();
    if degrees >= 1.0 {
        format!("{degrees:.2}°")
    } else if degrees * 60.0 >= 1.0 {
        format!("{:.2}′", degrees * 60.0)
    } else {
        format!("{:.2}″", degrees * 3600.0)
    }
}

impl eframe::App for SkyglassApp {
    fn on_exit(&mut self) {
        if let Some(link) = &self.samp {
            link.leave();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        // What the UI thread does itself each frame (drawing on the GPU apart) must stay
        // well under a frame: table-sized work belongs on workers.
        let started = std::time::Instant::now();
        self.frame(ui, frame);
        self.frame_work.record(started.elapsed());
    }
}

impl SkyglassApp {
    fn frame(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.collect_opened();
        self.collect_catalogue_work();
        self.samp_follow_up();
        if self.query.running() {
            // Jobs show their elapsed time.
            self.ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        self.samp_window(ui);
        if let Some(started) = &self.archive
            && let Ok(outcome) = started.try_recv()
        {
            if let Ok(url) = &outcome {
                self.overview.add_archive(url);
            }
            self.archive_url = Some(outcome);
            self.archive = None;
        }
        if let Some(result) = &self.exporting
            && let Ok(outcome) = result.try_recv()
        {
            self.status = Some(match outcome {
                Ok(path) => format!("saved {}", path.display()),
                Err(error) => format!("export failed: {error}"),
            });
            self.exporting = None;
        }
        egui::Panel::top("tools").show(ui, |ui| self.tool_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        if self.plot.visible {
            egui::Panel::bottom("plot").resizable(true).default_size(280.0).show(ui, |ui| self.plot.ui(ui));
        }
        if self.table_visible {
            egui::Panel::bottom("table").resizable(true).default_size(240.0).show(ui, |ui| self.table_panel(ui));
        }
        egui::Panel::left("layers").resizable(true).default_size(260.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.layer_panel(ui);
                self.catalogue_panel(ui);
            });
        });
        if self.overview.visible {
            let camera = self.last_camera.clone();
            let limit = self.query.maxrec;
            let mut load = None;
            egui::Panel::right("overview").resizable(true).default_size(260.0).min_size(220.0).show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| load = self.overview.ui(ui, camera.as_ref(), limit));
            });
            if let Some(load) = load {
                let ctx = self.ctx.clone();
                self.query.start(&load.service, &load.adql, &load.label, move || ctx.request_repaint());
            }
        }
        if self.query.visible {
            let archive = self.archive_url.as_ref().and_then(|u| u.as_ref().ok()).cloned();
            let camera = self.last_camera.clone();
            let ctx = self.ctx.clone();
            let names: Vec<(u64, String)> = self.catalogues.iter().map(|c| (c.id, c.name.clone())).collect();
            let catalogues = &self.catalogues;
            // The table only (its arrays shared): the query's thread writes the VOTable.
            let make_upload = |id: u64| -> Result<skyglass_votable::TableData, String> {
                let catalogue = catalogues.iter().find(|c| c.id == id).ok_or("that catalogue was removed")?;
                Ok(catalogue.table())
            };
            let query = &mut self.query;
            egui::Panel::right("query").resizable(true).default_size(340.0).min_size(280.0).show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    query.ui(ui, archive.as_deref(), camera.as_ref(), &names, &make_upload, move || {
                        ctx.request_repaint()
                    })
                });
            });
        }
        let render_state = frame.wgpu_render_state().cloned();
        egui::CentralPanel::no_frame().show(ui, |ui| self.sky_view(ui, render_state.as_ref()));
        if let Some(camera) = &self.last_camera {
            let ctx = self.ctx.clone();
            if self.overview.update(camera, move || ctx.request_repaint()) {
                self.ctx.request_repaint_after(std::time::Duration::from_millis(200));
            }
        }
    }
}
