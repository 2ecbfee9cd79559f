//! Catalogue layers: tables with positions (files, query results, SAMP tables) drawn over the
//! sky as markers, their `s_region` footprints as outlines, proper motions as arrows; and
//! the table view, whose selection is linked both ways with the sky.

use anyhow::{Context, Result, anyhow};
use arrow_array::{Array, RecordBatch, UInt32Array};
use skyglass_render::{LineStyle, MarkerPlacement, MarkerShape, MarkerStyle};
use skyglass_sky::{Footprint, Frame, LonLat, parse_stcs};
use skyglass_votable::model::meta;
use skyglass_votable::{PositionKind, TableData, column_f64, detect_position, to_degrees};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

/// Marker colours given to new layers in turn, so that layers tell apart; none is the
/// yellow of selected sources.
const PALETTE: [[f32; 4]; 6] = [
    [1.0, 0.35, 0.2, 0.9],
    [0.2, 0.8, 1.0, 0.9],
    [0.7, 0.5, 1.0, 0.9],
    [0.6, 1.0, 0.3, 0.9],
    [1.0, 0.4, 0.9, 0.9],
    [0.9, 0.9, 0.9, 0.9],
];

/// Where a catalogue's sources go on the sky, worked out on a thread of its own (for ten
/// million sources a second), then handed to the GPU once.
#[derive(Default)]
pub(crate) enum Placement {
    #[default]
    NotStarted,
    Placing,
    Ready(MarkerPlacement),
    Taken,
}

/// A table on the sky.
pub struct Catalogue {
    pub id: u64,
    pub name: String,
    /// All rows in one batch, so that a row number is an index.
    pub batch: RecordBatch,
    /// ICRS degrees per row (NaN where a row has no position); empty without positions.
    pub ra: Arc<Vec<f64>>,
    pub dec: Arc<Vec<f64>>,
    /// Which columns gave the positions, for the panel, and how many rows have one.
    pub position_columns: Option<String>,
    placed: usize,
    pub style: MarkerStyle,
    pub line_style: LineStyle,
    pub visible: bool,
    /// The column colouring the markers, and the range mapped onto the colormap.
    pub colour_by: Option<usize>,
    pub colour_range: [f64; 2],
    /// Footprints of the rows with a readable `s_region`.
    pub footprints: Vec<(usize, Footprint)>,
    pub bad_regions: BadRegions,
    /// pmRA (with cos δ) and pmDec columns in mas/yr, and whether arrows are drawn.
    pub motion: Option<(usize, usize)>,
    pub show_motion: bool,
    /// Years of motion an arrow shows.
    pub motion_years: f64,
    pub selected: Option<usize>,
    /// The rows the filter lets through (all when `None`), and the filter as typed.
    pub shown: Option<Arc<Vec<bool>>>,
    pub filter: String,
    pub filter_error: Option<String>,
    filtering: Option<Receiver<Result<Vec<bool>, String>>>,
    /// The table view's order of rows (a permutation), and the column it is sorted by.
    pub order: Option<(usize, bool, Vec<u32>)>,
    /// The rows the table view shows, in order: filtered, then sorted; made again only when
    /// the filter or the order changes, not every frame.
    pub(crate) view: Arc<Vec<u32>>,
    pub hidden_columns: Vec<bool>,
    /// Rows selected as a set (a SAMP table.select.rowList), ringed on the sky and marked
    /// in the table.
    pub row_list: std::collections::BTreeSet<usize>,
    pub(crate) placement: Arc<std::sync::Mutex<Placement>>,
    /// The sources' centre and radius on the sky (see `extent`).
    extent: Option<(LonLat, skyglass_sky::Angle)>,
    /// How SAMP names the table (received from, or sent to, other applications), and the
    /// row last highlighted through SAMP (so that a highlight is not echoed back).
    pub samp_key: Option<super::samp::TableKey>,
    pub samp_sent: Option<usize>,
    /// Bumped whenever what the GPU holds must change (values, filter, selection).
    pub revision: u64,
    /// Scroll the table to the selected row on the next frame.
    pub scroll_to_selected: bool,
}

impl Catalogue {
    /// The sources' placement on the sky, once made, taken for the GPU; the first call
    /// starts making it on a thread, which calls `wake` when done.
    pub(crate) fn take_placement(&self, wake: impl Fn() + Send + 'static) -> Option<MarkerPlacement> {
        let mut state = self.placement.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match std::mem::take(&mut *state) {
            Placement::NotStarted => {
                let (ra, dec, shared) = (Arc::clone(&self.ra), Arc::clone(&self.dec), Arc::clone(&self.placement));
                let spawned = std::thread::Builder::new().name("place-sources".into()).spawn(move || {
                    let placement = MarkerPlacement::new(&ra, &dec);
                    *shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Placement::Ready(placement);
                    wake();
                });
                if spawned.is_err() {
                    // No thread to be had: placed here, the frame waits for it.
                    *state = Placement::Taken;
                    return Some(MarkerPlacement::new(&self.ra, &self.dec));
                }
                *state = Placement::Placing;
                None
            }
            Placement::Placing => {
                *state = Placement::Placing;
                None
            }
            Placement::Ready(placement) => {
                *state = Placement::Taken;
                Some(placement)
            }
            // Taken before and wanted again (the GPU's copy was lost): made anew, here.
            Placement::Taken => {
                *state = Placement::Taken;
                Some(MarkerPlacement::new(&self.ra, &self.dec))
            }
        }
    }

    /// Where the catalogue is on the sky: the mean direction of its placed sources and the
    /// farthest of them from it (ICRS); `None` when none is placed. Worked out once, when
    /// the catalogue is built on its worker.
    pub fn extent(&self) -> Option<(LonLat, skyglass_sky::Angle)> {
        self.extent
    }

    /// Whether the sources are still being placed on the sky.
    pub fn placing(&self) -> bool {
        let state = self.placement.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        matches!(*state, Placement::NotStarted | Placement::Placing | Placement::Ready(_)) && self.positioned() > 0
    }

    /// A layer of a table: positions found by UCD or name (galactic and ecliptic ones
    /// converted to ICRS), `s_region` read as footprints, proper motions found. A table with
    /// neither positions nor footprints is refused with the reason.
    pub fn new(id: u64, name: &str, table: &TableData) -> Result<Catalogue> {
        let batch = arrow_select::concat::concat_batches(&table.schema, &table.batches)
            .with_context(|| format!("cannot join the batches of {name}"))?;
        let schema = batch.schema();
        let unit = |index: usize| schema.field(index).metadata().get(meta::UNIT).cloned();
        let (mut ra, mut dec, mut position_columns) = (Vec::new(), Vec::new(), None);
        if let Some(columns) = detect_position(&schema) {
            ra = column_f64(std::slice::from_ref(&batch), columns.lon);
            dec = column_f64(std::slice::from_ref(&batch), columns.lat);
            to_degrees(&mut ra, unit(columns.lon).as_deref());
            to_degrees(&mut dec, unit(columns.lat).as_deref());
            let frame = match columns.kind {
                PositionKind::Equatorial => Frame::Icrs,
                PositionKind::Galactic => Frame::Galactic,
                PositionKind::Ecliptic => Frame::EclipticJ2000,
            };
            if frame != Frame::Icrs {
                for (lon, lat) in ra.iter_mut().zip(dec.iter_mut()) {
                    if let Ok(position) = LonLat::from_degrees(*lon, *lat) {
                        let icrs = frame.convert(Frame::Icrs, position);
                        (*lon, *lat) = (icrs.lon().degrees(), icrs.lat().degrees());
                    }
                }
            }
            position_columns = Some(format!(
                "{}, {} ({})",
                schema.field(columns.lon).name(),
                schema.field(columns.lat).name(),
                frame.name()
            ));
        }
        let (footprints, bad_regions) = read_regions(&batch);
        if position_columns.is_none() && footprints.is_empty() {
            return Err(match bad_regions.1 {
                Some(reason) => anyhow!("{name}: no position columns, and its s_region does not read: {reason}"),
                None => anyhow!(
                    "{name} has no position columns (no UCD pos.eq.ra/dec, pos.galactic.* or pos.ecliptic.*, no ra/dec-like names) and no s_region"
                ),
            });
        }
        // Footprints without point positions: their centres stand in for picking and counting.
        if position_columns.is_none() {
            ra = vec![f64::NAN; batch.num_rows()];
            dec = vec![f64::NAN; batch.num_rows()];
            for (row, footprint) in &footprints {
                if let Some(centre) = footprint_centre(footprint) {
                    (ra[*row], dec[*row]) = (centre.lon().degrees(), centre.lat().degrees());
                }
            }
            position_columns = Some("footprint centres".into());
        }
        let motion = skyglass_votable::detect_proper_motion(&batch.schema());
        let colour = PALETTE[(id as usize) % PALETTE.len()];
        let columns = batch.num_columns();
        let placed = ra.iter().zip(&dec).filter(|(r, d)| r.is_finite() && d.is_finite()).count();
        let rows = batch.num_rows() as u32;
        let extent = extent_of(&ra, &dec);
        Ok(Catalogue {
            extent,
            placement: Arc::default(),
            id,
            name: name.to_owned(),
            placed,
            view: Arc::new((0..rows).collect()),
            ra: Arc::new(ra),
            dec: Arc::new(dec),
            position_columns,
            style: MarkerStyle { colour, ..MarkerStyle::default() },
            line_style: LineStyle { colour, ..LineStyle::default() },
            visible: true,
            colour_by: None,
            colour_range: [0.0, 1.0],
            footprints,
            bad_regions,
            motion,
            show_motion: false,
            motion_years: 1000.0,
            selected: None,
            shown: None,
            filter: String::new(),
            filter_error: None,
            filtering: None,
            order: None,
            hidden_columns: vec![false; columns],
            row_list: Default::default(),
            samp_key: None,
            samp_sent: None,
            revision: 0,
            scroll_to_selected: false,
            batch,
        })
    }

    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Rows with a position.
    pub fn positioned(&self) -> usize {
        self.placed
    }

    /// Selects a row (from the sky or the table); the other side follows.
    pub fn select(&mut self, row: Option<usize>, scroll: bool) {
        if self.selected != row {
            self.selected = row;
            self.revision += 1;
        }
        self.scroll_to_selected = scroll && row.is_some();
    }

    /// Selects a set of rows (out-of-range ones dropped).
    pub fn set_row_list(&mut self, rows: impl IntoIterator<Item = usize>) {
        let count = self.rows();
        self.row_list = rows.into_iter().filter(|r| *r < count).collect();
        self.revision += 1;
    }

    /// Every row ringed on the sky: the selected one and the row list.
    pub fn highlighted(&self) -> Vec<usize> {
        self.selected.into_iter().chain(self.row_list.iter().copied()).collect()
    }

    /// Colours the markers by a numeric column, over its 2nd to 98th percentile.
    pub fn colour_by_column(&mut self, column: Option<usize>) {
        self.colour_by = column;
        self.style.by_value = column.is_some();
        if let Some(column) = column {
            let mut values: Vec<f64> =
                column_f64(std::slice::from_ref(&self.batch), column).into_iter().filter(|v| v.is_finite()).collect();
            values.sort_by(f64::total_cmp);
            if let (Some(low), Some(high)) =
                (values.get(values.len() / 50), values.get(values.len().saturating_sub(1) * 49 / 50))
            {
                self.colour_range = [*low, *high];
            }
        }
        self.revision += 1;
    }

    /// The values of the colouring column, per row.
    pub fn colour_values(&self) -> Option<Vec<f64>> {
        self.colour_by.map(|column| column_f64(std::slice::from_ref(&self.batch), column))
    }

    pub fn numeric_columns(&self) -> Vec<(usize, String)> {
        self.batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.data_type().is_numeric())
            .map(|(i, f)| (i, f.name().clone()))
            .collect()
    }

    /// Starts filtering the rows by an SQL expression over the columns (`hpmag < 6 AND
    /// b_v > 1`), evaluated by DataFusion on a thread; an empty filter shows every row.
    pub fn apply_filter(&mut self, wake: impl Fn() + Send + 'static) {
        let expression = self.filter.trim().to_owned();
        if expression.is_empty() {
            self.shown = None;
            self.filter_error = None;
            self.filtering = None;
            self.revision += 1;
            self.refresh_view();
            return;
        }
        let batch = self.batch.clone();
        let (sender, receiver) = channel();
        let spawned = std::thread::Builder::new().name("table-filter".into()).spawn(move || {
            let _ = sender.send(filter_rows(&batch, &expression).map_err(|error| format!("{error:#}")));
            wake();
        });
        match spawned {
            Ok(_) => self.filtering = Some(receiver),
            Err(error) => self.filter_error = Some(error.to_string()),
        }
    }

    /// Takes a finished filter's rows; whether one arrived.
    pub fn poll_filter(&mut self) -> bool {
        let Some(receiver) = &self.filtering else { return false };
        let Ok(outcome) = receiver.try_recv() else { return false };
        self.filtering = None;
        match outcome {
            Ok(shown) => {
                self.shown = Some(Arc::new(shown));
                self.filter_error = None;
                self.revision += 1;
                self.refresh_view();
            }
            // A bad filter keeps the rows shown before it.
            Err(error) => self.filter_error = Some(error),
        }
        true
    }

    pub fn is_filtering(&self) -> bool {
        self.filtering.is_some()
    }

    /// The table view's rows in order: filtered, then sorted.
    pub fn view_rows(&self) -> &[u32] {
        &self.view
    }

    fn refresh_view(&mut self) {
        let all: Box<dyn Iterator<Item = u32>> = match &self.order {
            Some((_, _, order)) => Box::new(order.iter().copied()),
            None => Box::new(0..self.rows() as u32),
        };
        self.view = Arc::new(match &self.shown {
            Some(shown) => all.filter(|row| shown.get(*row as usize).copied().unwrap_or(false)).collect(),
            None => all.collect(),
        });
    }

    /// Sorts the table view by a column (again: the other way).
    pub fn sort_by(&mut self, column: usize) {
        let ascending = !matches!(self.order, Some((c, true, _)) if c == column);
        let options = datafusion::arrow::compute::SortOptions { descending: !ascending, nulls_first: false };
        match datafusion::arrow::compute::sort_to_indices(self.batch.column(column), Some(options), None) {
            Ok(indices) => {
                self.order = Some((column, ascending, indices.values().to_vec()));
                self.refresh_view();
            }
            Err(error) => self.filter_error = Some(format!("cannot sort by that column: {error}")),
        }
    }

    /// The row whose footprint holds an ICRS position (the nearest centre where several do).
    pub fn footprint_at(&self, position: LonLat) -> Option<usize> {
        self.footprints
            .iter()
            .filter(|(row, footprint)| self.is_shown(*row) && footprint.contains(position))
            .min_by(|(a, _), (b, _)| {
                let distance = |row: usize| {
                    LonLat::from_degrees(self.ra[row], self.dec[row])
                        .map_or(f64::MAX, |c| c.separation(position).radians())
                };
                distance(*a).total_cmp(&distance(*b))
            })
            .map(|(row, _)| *row)
    }

    /// Whether the filter lets a row through.
    pub fn is_shown(&self, row: usize) -> bool {
        self.shown.as_ref().is_none_or(|shown| shown.get(row).copied().unwrap_or(false))
    }

    /// Footprints and motions as outlines, each tagged with its row.
    pub fn outlines(&self) -> Vec<(u32, Vec<LonLat>, bool)> {
        self.footprints
            .iter()
            .flat_map(|(row, footprint)| skyglass_render::overlay::footprint_outlines(*row as u32, footprint))
            .collect()
    }

    pub fn arrows(&self) -> Vec<(u32, Vec<LonLat>, bool)> {
        let Some((pmra, pmdec)) = self.motion else { return Vec::new() };
        let batches = std::slice::from_ref(&self.batch);
        let (pmra, pmdec) = (column_f64(batches, pmra), column_f64(batches, pmdec));
        let moving: Vec<(u32, LonLat, f64, f64)> = (0..self.rows())
            .filter_map(|row| {
                let position = LonLat::from_degrees(self.ra[row], self.dec[row]).ok()?;
                Some((row as u32, position, pmra[row], pmdec[row]))
            })
            .collect();
        skyglass_render::overlay::motion_arrows(&moving, self.motion_years)
    }

    /// The table as TableData, for export.
    pub fn table(&self) -> TableData {
        TableData {
            schema: self.batch.schema(),
            batches: vec![self.batch.clone()],
            options: Default::default(),
            diagnostic_count: 0,
        }
    }
}

/// Whether a table has something to place on the sky: position columns or `s_region`.
pub fn places_rows(batch: &RecordBatch) -> bool {
    detect_position(&batch.schema()).is_some() || region_column(batch).is_some()
}

fn region_column(batch: &RecordBatch) -> Option<usize> {
    batch.schema().fields().iter().position(|f| {
        f.name().eq_ignore_ascii_case("s_region")
            || f.metadata()
                .get(meta::UTYPE)
                .is_some_and(|u| u.to_ascii_lowercase().ends_with("char.spatialaxis.coverage.support.area"))
    })
}

/// Rows whose `s_region` could not be read, and the first reason.
pub type BadRegions = (usize, Option<String>);

/// Every row's `s_region` (ObsCore) read as a footprint.
fn read_regions(batch: &RecordBatch) -> (Vec<(usize, Footprint)>, BadRegions) {
    let Some(column) = region_column(batch) else { return (Vec::new(), (0, None)) };
    let Ok(text) = arrow_cast::cast(batch.column(column), &arrow_schema::DataType::Utf8) else {
        return (Vec::new(), (0, None));
    };
    let Some(text) = text.as_any().downcast_ref::<arrow_array::StringArray>() else { return (Vec::new(), (0, None)) };
    let mut footprints = Vec::new();
    let mut bad = (0, None);
    for row in 0..text.len() {
        if !text.is_valid(row) || text.value(row).trim().is_empty() {
            continue;
        }
        match parse_stcs(text.value(row)) {
            Ok(footprint) => footprints.push((row, footprint)),
            Err(error) => {
                bad.0 += 1;
                bad.1.get_or_insert_with(|| format!("row {row}: {error}"));
            }
        }
    }
    (footprints, bad)
}

fn footprint_centre(footprint: &Footprint) -> Option<LonLat> {
    let mut sum = [0.0; 3];
    for shape in &footprint.shapes {
        let points: Vec<LonLat> = match shape {
            skyglass_sky::Shape::Polygon(vertices) => vertices.clone(),
            skyglass_sky::Shape::Circle { centre, .. } => vec![*centre],
        };
        for p in points {
            let v = p.to_vec3();
            sum = [sum[0] + v.x, sum[1] + v.y, sum[2] + v.z];
        }
    }
    (sum != [0.0; 3]).then(|| LonLat::from_vec3(skyglass_sky::Vec3::new(sum[0], sum[1], sum[2])))
}

/// The rows for which an SQL expression over the columns holds, by DataFusion.
fn filter_rows(batch: &RecordBatch, expression: &str) -> Result<Vec<bool>> {
    use datafusion::prelude::SessionContext;
    let rows = batch.num_rows();
    let mut fields: Vec<arrow_schema::Field> =
        batch.schema().fields().iter().map(|f| f.as_ref().clone().with_metadata(Default::default())).collect();
    fields.push(arrow_schema::Field::new("__skyglass_row", arrow_schema::DataType::UInt32, false));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(UInt32Array::from_iter_values(0..rows as u32)));
    let indexed = RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let selected = runtime.block_on(async {
        // Column names as the table has them, whatever their case.
        let config = datafusion::prelude::SessionConfig::new()
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false);
        let ctx = SessionContext::new_with_config(config);
        ctx.register_batch("t", indexed)?;
        let frame = ctx.sql(&format!("SELECT __skyglass_row FROM t WHERE {expression}")).await?;
        frame.collect().await
    });
    let selected = selected.map_err(|error| anyhow!("{}", first_line(&error.to_string())))?;
    let mut shown = vec![false; rows];
    for batch in selected {
        let Some(indices) = batch.column(0).as_any().downcast_ref::<UInt32Array>() else { continue };
        for row in indices.values() {
            shown[*row as usize] = true;
        }
    }
    Ok(shown)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The first `columns` (name, value) of a row, for the hover card.
pub fn row_summary(catalogue: &Catalogue, row: usize, columns: usize) -> Vec<(String, String)> {
    let options = arrow_cast::display::FormatOptions::default().with_null("—");
    let schema = catalogue.batch.schema();
    (0..catalogue.batch.num_columns().min(columns))
        .filter_map(|c| {
            let formatter =
                arrow_cast::display::ArrayFormatter::try_new(catalogue.batch.column(c).as_ref(), &options).ok()?;
            let value: String = formatter.value(row).to_string().chars().take(60).collect();
            Some((schema.field(c).name().clone(), value))
        })
        .collect()
}

/// The marker shapes by name, for the panel.
pub fn shape_names() -> impl Iterator<Item = (MarkerShape, &'static str)> {
    MarkerShape::ALL.into_iter().map(|s| (s, s.name()))
}

/// The mean direction of the placed positions (degrees) and the farthest of them from it.
fn extent_of(ra: &[f64], dec: &[f64]) -> Option<(LonLat, skyglass_sky::Angle)> {
    let directions = || ra.iter().zip(dec).filter_map(|(ra, dec)| LonLat::from_degrees(*ra, *dec).ok());
    let mut sum = [0.0f64; 3];
    for direction in directions() {
        let v = direction.to_vec3();
        sum = [sum[0] + v.x, sum[1] + v.y, sum[2] + v.z];
    }
    let centre = skyglass_sky::Vec3::new(sum[0], sum[1], sum[2]).normalized().map(LonLat::from_vec3)?;
    let radius = directions().map(|d| centre.separation(d).radians()).fold(0.0, f64::max);
    Some((centre, skyglass_sky::Angle::from_radians(radius)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, StringArray};

    fn table(columns: Vec<(&str, arrow_array::ArrayRef)>) -> TableData {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        TableData { schema: batch.schema(), batches: vec![batch], options: Default::default(), diagnostic_count: 0 }
    }

    #[test]
    fn malformed_regions_are_counted_and_the_others_drawn() {
        let regions = StringArray::from(vec![
            Some("Polygon ICRS 333.162 -45.717 333.182 -44.541 331.534 -44.528 331.476 -45.703"),
            Some("Polygon ICRS 1 2 3"),
            None,
            Some("Circle NOWHERE 10 20"),
            Some("Circle ICRS 10 20 0.5"),
        ]);
        let catalogue = Catalogue::new(1, "obs", &table(vec![("s_region", Arc::new(regions))])).unwrap();
        assert_eq!(catalogue.footprints.iter().map(|(row, _)| *row).collect::<Vec<_>>(), [0, 4]);
        assert_eq!(catalogue.bad_regions.0, 2, "{:?}", catalogue.bad_regions);
        assert!(
            catalogue.bad_regions.1.as_deref().is_some_and(|r| r.starts_with("row 1")),
            "{:?}",
            catalogue.bad_regions
        );
        // No point positions: the footprints' centres stand in.
        assert_eq!(catalogue.position_columns.as_deref(), Some("footprint centres"));
        assert!((catalogue.ra[4] - 10.0).abs() < 1e-9 && (catalogue.dec[4] - 20.0).abs() < 1e-9);
        assert!(catalogue.ra[2].is_nan());
    }

    #[test]
    fn a_table_with_nothing_to_place_is_refused_with_the_reason() {
        let numbers = table(vec![("flux", Arc::new(Float64Array::from(vec![1.0, 2.0])))]);
        let error = Catalogue::new(1, "fluxes", &numbers).err().unwrap().to_string();
        assert!(error.contains("fluxes has no position columns"), "{error}");
    }

    #[test]
    fn the_filter_is_sql_over_the_columns_and_a_bad_one_keeps_the_rows() {
        let stars = table(vec![
            ("ra", Arc::new(Float64Array::from(vec![10.0, 20.0, 30.0]))),
            ("dec", Arc::new(Float64Array::from(vec![0.0, 5.0, -5.0]))),
            ("Vmag", Arc::new(Float64Array::from(vec![3.0, 7.5, 5.0]))),
        ]);
        let mut catalogue = Catalogue::new(1, "stars", &stars).unwrap();
        catalogue.filter = "Vmag < 6 AND dec <= 0".into();
        catalogue.apply_filter(|| {});
        while !catalogue.poll_filter() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(catalogue.view_rows(), [0, 2]);
        catalogue.filter = "Vmag <<< 6".into();
        catalogue.apply_filter(|| {});
        while !catalogue.poll_filter() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(catalogue.filter_error.is_some());
        assert_eq!(catalogue.view_rows(), [0, 2], "the rows shown before stay");
        catalogue.sort_by(2);
        assert_eq!(catalogue.view_rows(), [0, 2]);
        catalogue.sort_by(2);
        assert_eq!(catalogue.view_rows(), [2, 0], "a second click sorts the other way");
    }
}
