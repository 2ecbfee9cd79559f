//! The multi-mission overview: for the view on screen, every enabled TAP service is asked
//! (in parallel, on threads, with a time-out) how many observations its ObsCore table holds
//! there, per collection, and the embedded archive how many sources each of its catalogues
//! holds; the counts are drawn as bars coloured by wavelength range, asked again once the
//! view has stopped moving. A click on a bar loads those footprints or sources.

use super::query::{position_columns, view_region};
use skyglass_adql::build;
use skyglass_sky::ViewCamera;
use skyglass_tap::{KNOWN_SERVICES, Query, TapService};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// How long a service may take to count before it is given up on.
const TIMEOUT: Duration = Duration::from_secs(20);
/// How long the view must stay still before it is counted again.
const SETTLE: Duration = Duration::from_millis(600);
/// Public services with an `ivoa.obscore` table, offered in the overview (off by default:
/// the overview works offline on the embedded archive).
const OBSCORE_SERVICES: &[&str] = &["mast", "cadc", "gavo", "irsa", "hst"];

/// Where a count comes from, and what a click loads.
#[derive(Clone, Debug, PartialEq)]
pub enum Holding {
    /// Observations of an ObsCore collection.
    Observations { collection: String },
    /// Sources of a catalogue, with its position columns.
    Sources { table: String, ra: String, dec: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Count {
    pub service: String,
    pub service_title: String,
    pub holding: Holding,
    pub count: u64,
    /// Shortest and longest wavelength, metres.
    pub wavelengths: Option<(f64, f64)>,
}

impl Count {
    pub fn label(&self) -> &str {
        match &self.holding {
            Holding::Observations { collection } => collection,
            Holding::Sources { table, .. } => table,
        }
    }

    /// The ADQL that loads what the count counted in the view.
    pub fn load_query(&self, region: &str, limit: u64) -> String {
        match &self.holding {
            Holding::Observations { collection } => {
                let condition = format!(
                    "obs_collection = {} AND {}",
                    build::string_literal(collection),
                    build::position_in("s_ra", "s_dec", region)
                );
                build::select_top(limit, "ivoa.obscore", Some(&condition))
            }
            Holding::Sources { table, ra, dec } => {
                build::select_top(limit, table, Some(&build::position_in(ra, dec, region)))
            }
        }
    }
}

/// The wavelength range a band falls in, by its middle (geometric mean), and its colour.
pub fn regime(wavelengths: Option<(f64, f64)>) -> (&'static str, egui::Color32) {
    let Some((low, high)) = wavelengths.filter(|(l, h)| *l > 0.0 && *h > 0.0) else {
        return ("unknown band", egui::Color32::from_gray(150));
    };
    let middle = (low * high).sqrt();
    match middle {
        m if m < 1e-11 => ("gamma-ray", egui::Color32::from_rgb(190, 80, 255)),
        m if m < 1e-8 => ("X-ray", egui::Color32::from_rgb(90, 120, 255)),
        m if m < 3.2e-7 => ("ultraviolet", egui::Color32::from_rgb(80, 200, 255)),
        m if m < 1e-6 => ("optical", egui::Color32::from_rgb(110, 230, 110)),
        m if m < 1e-4 => ("infrared", egui::Color32::from_rgb(255, 170, 60)),
        m if m < 1e-2 => ("millimetre", egui::Color32::from_rgb(255, 100, 80)),
        _ => ("radio", egui::Color32::from_rgb(220, 60, 60)),
    }
}

pub struct OverviewService {
    pub title: String,
    pub url: String,
    pub enabled: bool,
    /// Whether its catalogues are counted too (the embedded archive's).
    pub catalogues: bool,
}

/// One service's answer for one view.
struct Answer {
    generation: u64,
    service: String,
    counts: Result<Vec<Count>, String>,
}

pub struct Overview {
    pub visible: bool,
    pub services: Vec<OverviewService>,
    pub counts: Vec<Count>,
    /// Services that failed for the last view, and why.
    pub errors: Vec<(String, String)>,
    generation: u64,
    /// Services still counting the current view.
    pub pending: usize,
    /// The view last counted, the view last seen and when it changed.
    counted: Option<String>,
    seen: Option<(String, Instant)>,
    sender: Sender<Answer>,
    answers: Receiver<Answer>,
}

/// What the user asked of the overview: load these rows.
pub struct Load {
    pub service: String,
    pub adql: String,
    pub label: String,
}

impl Overview {
    pub fn new() -> Overview {
        let (sender, answers) = channel();
        let services = OBSCORE_SERVICES
            .iter()
            .filter_map(|name| KNOWN_SERVICES.iter().find(|(n, _, _)| n == name))
            .map(|(_, title, url)| OverviewService {
                title: (*title).to_owned(),
                url: (*url).to_owned(),
                enabled: false,
                catalogues: false,
            })
            .collect();
        Overview {
            visible: false,
            services,
            counts: Vec::new(),
            errors: Vec::new(),
            generation: 0,
            pending: 0,
            counted: None,
            seen: None,
            sender,
            answers,
        }
    }

    /// The embedded archive joins the services once it runs (first, enabled).
    pub fn add_archive(&mut self, url: &str) {
        if !self.services.iter().any(|s| s.url == url) {
            self.services.insert(
                0,
                OverviewService {
                    title: "Skyglass archive".into(),
                    url: url.to_owned(),
                    enabled: true,
                    catalogues: true,
                },
            );
            self.counted = None;
        }
    }

    /// Counts the view again once it has been still for a moment; takes the answers in.
    /// Returns whether to draw again soon (a count is due or under way).
    pub fn update(&mut self, camera: &ViewCamera, wake: impl Fn() + Send + Clone + 'static) -> bool {
        while let Ok(answer) = self.answers.try_recv() {
            if answer.generation != self.generation {
                continue;
            }
            self.pending = self.pending.saturating_sub(1);
            match answer.counts {
                Ok(counts) => self.counts.extend(counts),
                Err(error) => self.errors.push((answer.service, error)),
            }
            self.counts.sort_by_key(|c| std::cmp::Reverse(c.count));
        }
        if !self.visible {
            return false;
        }
        let region = view_region(camera);
        match &self.seen {
            Some((seen, _)) if *seen == region => {}
            _ => self.seen = Some((region.clone(), Instant::now())),
        }
        let settled = self.seen.as_ref().is_some_and(|(_, since)| since.elapsed() >= SETTLE);
        if self.counted.as_deref() != Some(region.as_str()) {
            if settled {
                self.ask(&region, wake);
            }
            return true;
        }
        self.pending > 0
    }

    fn ask(&mut self, region: &str, wake: impl Fn() + Send + Clone + 'static) {
        self.generation += 1;
        self.counted = Some(region.to_owned());
        self.counts.clear();
        self.errors.clear();
        self.pending = 0;
        for service in self.services.iter().filter(|s| s.enabled) {
            let (sender, wake) = (self.sender.clone(), wake.clone());
            let (url, title, catalogues) = (service.url.clone(), service.title.clone(), service.catalogues);
            let (region, generation) = (region.to_owned(), self.generation);
            let spawned = std::thread::Builder::new().name("overview".into()).spawn(move || {
                let counts = count(&url, &title, &region, catalogues).map_err(|e| format!("{e:#}"));
                let _ = sender.send(Answer { generation, service: title, counts });
                wake();
            });
            if spawned.is_ok() {
                self.pending += 1;
            }
        }
    }

    /// The panel; a click on a bar asks for a load.
    pub fn ui(&mut self, ui: &mut egui::Ui, camera: Option<&ViewCamera>, limit: u64) -> Option<Load> {
        let mut load = None;
        ui.heading("In view");
        ui.small("Observations (ObsCore) and catalogue sources where the view is; the colour is the band. Click a bar to load them.");
        egui::CollapsingHeader::new("Services").default_open(false).show(ui, |ui| {
            for service in &mut self.services {
                if ui.checkbox(&mut service.enabled, &service.title).on_hover_text(&service.url).changed() {
                    self.counted = None;
                }
            }
        });
        if self.pending > 0 {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("asking {} services…", self.pending));
            });
        }
        let most = self.counts.iter().map(|c| c.count).max().unwrap_or(1).max(1);
        for count in &self.counts {
            let (band, colour) = regime(count.wavelengths);
            let kind = match count.holding {
                Holding::Observations { .. } => "observations",
                Holding::Sources { .. } => "sources",
            };
            let width = ui.available_width().max(120.0);
            let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 22.0), egui::Sense::click());
            // Bar length by log count, so one huge survey does not flatten the others.
            let fraction = ((count.count as f64).ln_1p() / (most as f64).ln_1p()).clamp(0.02, 1.0) as f32;
            let bar = egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * fraction, rect.height()));
            let painter = ui.painter();
            painter.rect_filled(bar, 3.0, colour.gamma_multiply(if response.hovered() { 0.8 } else { 0.55 }));
            let text = ui.visuals().strong_text_color();
            let font = egui::FontId::proportional(13.0);
            painter.text(
                rect.right_center() - egui::vec2(4.0, 0.0),
                egui::Align2::RIGHT_CENTER,
                count.count.to_string(),
                font.clone(),
                text,
            );
            painter.with_clip_rect(rect.shrink2(egui::vec2(40.0, 0.0)).translate(egui::vec2(-36.0, 0.0))).text(
                rect.left_center() + egui::vec2(6.0, 0.0),
                egui::Align2::LEFT_CENTER,
                count.label(),
                font,
                text,
            );
            let hover = format!("{} {kind} ({band}) in {}\nclick to load them", count.count, count.service_title);
            if response.on_hover_text(hover).clicked()
                && let Some(camera) = camera
            {
                load = Some(Load {
                    service: count.service.clone(),
                    adql: count.load_query(&view_region(camera), limit),
                    label: format!("{} in view", count.label()),
                });
            }
        }
        if self.counts.is_empty() && self.pending == 0 && self.counted.is_some() {
            ui.label("Nothing here in the enabled services.");
        }
        for (service, error) in &self.errors {
            ui.add(
                egui::Label::new(egui::RichText::new(format!("{service}: {error}")).color(ui.visuals().warn_fg_color))
                    .wrap(),
            );
        }
        load
    }
}

/// One service's counts in a region: its ObsCore collections, and its catalogues if asked.
fn count(url: &str, title: &str, region: &str, catalogues: bool) -> anyhow::Result<Vec<Count>> {
    let service = TapService::with_timeout(url, TIMEOUT)?;
    let ask = |adql: &str| service.sync(&Query { adql, maxrec: None, uploads: &[] });
    let mut counts = Vec::new();
    let observations = ask(&format!(
        "SELECT obs_collection, COUNT(*) AS n, MIN(em_min) AS em_min, MAX(em_max) AS em_max FROM ivoa.obscore \
         WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), {region}) GROUP BY obs_collection"
    ))?;
    for batch in &observations.table.batches {
        let collection = arrow_cast::cast(batch.column(0), &arrow_schema::DataType::Utf8)?;
        let collection = collection.as_any().downcast_ref::<arrow_array::StringArray>();
        let numbers = |i| skyglass_votable::column_f64(std::slice::from_ref(batch), i);
        let (n, low, high) = (numbers(1), numbers(2), numbers(3));
        for row in 0..batch.num_rows() {
            let name = collection.map_or_else(String::new, |c| c.value(row).to_owned());
            let wavelengths = (low[row].is_finite() && high[row].is_finite()).then_some((low[row], high[row]));
            counts.push(Count {
                service: url.to_owned(),
                service_title: title.to_owned(),
                holding: Holding::Observations { collection: name },
                count: n[row].max(0.0) as u64,
                wavelengths,
            });
        }
    }
    if catalogues {
        for table in service.tables()? {
            let schema = table.name.split('.').next().unwrap_or("").to_ascii_lowercase();
            if matches!(schema.as_str(), "ivoa" | "tap_schema" | "tap_upload") {
                continue;
            }
            let Some((ra, dec)) = position_columns(&table) else { continue };
            let answer = ask(&format!(
                "SELECT COUNT(*) AS n FROM {} WHERE {}",
                build::table_name(&table.name),
                build::position_in(&ra, &dec, region)
            ))?;
            let n = answer
                .table
                .batches
                .first()
                .map_or(f64::NAN, |b| skyglass_votable::column_f64(std::slice::from_ref(b), 0)[0]);
            if n > 0.0 {
                counts.push(Count {
                    service: url.to_owned(),
                    service_title: title.to_owned(),
                    holding: Holding::Sources { table: table.name.clone(), ra, dec },
                    count: n as u64,
                    // Catalogues of the embedded archive are optical (Hipparcos, BSC, NGC).
                    wavelengths: table_band(&table),
                });
            }
        }
    }
    Ok(counts)
}

/// A catalogue's band from the UCDs of its magnitudes (phot.mag;em.opt → optical).
fn table_band(table: &skyglass_tap::vosi::TableMeta) -> Option<(f64, f64)> {
    let ucds: Vec<String> = table.columns.iter().map(|c| c.ucd.to_ascii_lowercase()).collect();
    let has = |word: &str| ucds.iter().any(|u| u.contains(word));
    if has("em.opt") {
        Some((4e-7, 7e-7))
    } else if has("em.ir") {
        Some((1e-6, 2e-5))
    } else if has("em.uv") {
        Some((1e-7, 3e-7))
    } else if has("em.x-ray") {
        Some((1e-10, 1e-8))
    } else if has("em.radio") {
        Some((0.01, 1.0))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_by_wavelength() {
        assert_eq!(regime(Some((5.1e-7, 8.7e-7))).0, "optical");
        assert_eq!(regime(Some((1.69e-7, 3.0e-7))).0, "ultraviolet");
        assert_eq!(regime(Some((2.9e-3, 2.9e-3))).0, "millimetre");
        assert_eq!(regime(Some((0.2, 0.21))).0, "radio");
        assert_eq!(regime(None).0, "unknown band");
    }
}
