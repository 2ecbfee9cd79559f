//! Reading MOCs (IVOA MOC 2.0, and MOC 1.x FITS) over the `moc` crate: space, time and
//! space-time coverages from FITS, ASCII and JSON.

mod check;

use crate::coord::LonLat;
use check::{check_ascii_tokens, check_fits_table, check_json};
use moc::deser::ascii::{from_ascii_ivoa, moc2d_from_ascii_ivoa};
use moc::deser::fits::{MocIdxType, MocQtyType, MocType, STMocType, from_fits_ivoa};
use moc::deser::json::{cellmoc2d_from_json_aladin, from_json_aladin};
use moc::elemset::range::MocRanges;
use moc::idx::Idx;
use moc::moc::range::RangeMOC;
use moc::moc::range::op::convert::convert_to_u64;
use moc::moc::{
    CellMOCIntoIterator, CellMOCIterator, CellOrCellRangeMOCIntoIterator, CellOrCellRangeMOCIterator,
    RangeMOCIntoIterator, RangeMOCIterator,
};
use moc::moc2d::{
    CellMOC2IntoIterator, CellOrCellRangeMOC2IntoIterator, HasTwoMaxDepth, RangeMOC2ElemIt, RangeMOC2IntoIterator,
};
use moc::qty::{Hpx, MocQty, Time};
use std::io::{BufRead, BufReader, Cursor};
use std::ops::Range;
use std::path::Path;

/// A MOC of one of the three kinds this crate reads.
#[derive(Clone, Debug)]
pub enum Moc {
    Space(SpaceMoc),
    Time(TimeMoc),
    SpaceTime(SpaceTimeMoc),
}

/// Which kind of MOC a text serialisation holds, when its content cannot tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MocKind {
    Space,
    Time,
    SpaceTime,
}

/// Why a MOC could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MocError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not a valid MOC FITS file: {0}")]
    Fits(String),
    #[error("not a valid MOC ASCII serialisation: {0}")]
    Ascii(String),
    #[error("not a valid MOC JSON serialisation: {0}")]
    Json(String),
    #[error("{0} MOCs are not supported (only space, time and space-time)")]
    Unsupported(&'static str),
    #[error("the input is empty")]
    Empty,
}

/// A spatial MOC: HEALPix cells (NESTED) of orders up to 29.
#[derive(Clone, Debug)]
pub struct SpaceMoc(RangeMOC<u64, Hpx<u64>>);

/// A temporal MOC: time cells of orders up to 61 (order 61 is one microsecond, TCB JD).
#[derive(Clone, Debug)]
pub struct TimeMoc(RangeMOC<u64, Time<u64>>);

/// One element of a space-time MOC: time ranges (order 61) and the sky covered then (order 29).
type SpaceTimeElement = (Vec<Range<u64>>, Vec<Range<u64>>);

/// A space-time MOC: a list of (time ranges, space coverage) pairs.
#[derive(Clone, Debug)]
pub struct SpaceTimeMoc {
    time_depth: u8,
    space_depth: u8,
    /// Ranges at depth 61 (time) and 29 (space), sorted by time.
    elements: Vec<SpaceTimeElement>,
}

impl Moc {
    /// Reads a MOC file: FITS, JSON or ASCII, told apart by content.
    pub fn read_path(path: &Path, kind: Option<MocKind>) -> Result<Moc, MocError> {
        let bytes = std::fs::read(path).map_err(|source| MocError::Io { path: path.display().to_string(), source })?;
        Moc::from_bytes(&bytes, kind)
    }

    /// Reads a MOC from bytes, detecting the serialisation: FITS starts with `SIMPLE`, JSON with
    /// `{` or `[`, anything else is ASCII. For text without a kind, see [`Moc::from_ascii`].
    pub fn from_bytes(bytes: &[u8], kind: Option<MocKind>) -> Result<Moc, MocError> {
        if bytes.starts_with(b"SIMPLE") {
            return Moc::from_fits(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| MocError::Ascii(format!("not UTF-8 text ({e})")))?;
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            Moc::from_json(text, kind)
        } else {
            Moc::from_ascii(text, kind)
        }
    }

    /// Reads a FITS MOC (MOC 2.0 or 1.x, NUNIQ or RANGE, any index width).
    pub fn from_fits(bytes: &[u8]) -> Result<Moc, MocError> {
        check_fits_table(bytes)?;
        // `check_fits_table` rules out every failure of the `moc` crate found by fuzzing; should
        // another remain, it must still be a read error and not bring the app down.
        std::panic::catch_unwind(|| Moc::from_complete_fits(bytes))
            .unwrap_or_else(|_| Err(MocError::Fits("the file is malformed (the MOC reader failed on it)".to_owned())))
    }

    fn from_complete_fits(bytes: &[u8]) -> Result<Moc, MocError> {
        let reader = BufReader::new(Cursor::new(bytes));
        let parsed = from_fits_ivoa(reader).map_err(|e| MocError::Fits(e.to_string()))?;
        match parsed {
            MocIdxType::U64(MocQtyType::TimeHpx(moc2)) => Ok(Moc::SpaceTime(match moc2 {
                STMocType::V2(it) => SpaceTimeMoc::collect(it.depth_max_1(), it.depth_max_2(), it),
                STMocType::PreV2(it) => SpaceTimeMoc::collect(it.depth_max_1(), it.depth_max_2(), it),
            })),
            MocIdxType::U16(moc) => from_fits_quantity(moc),
            MocIdxType::U32(moc) => from_fits_quantity(moc),
            MocIdxType::U64(moc) => from_fits_quantity(moc),
        }
    }

    /// Reads the ASCII serialisation (`3/1-5 4/20`). The text does not say whether a plain MOC
    /// is spatial or temporal: without `kind`, a text starting with `t` or `s` is a space-time
    /// MOC, and otherwise orders above 29 mean time, anything else space.
    pub fn from_ascii(text: &str, kind: Option<MocKind>) -> Result<Moc, MocError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(MocError::Empty);
        }
        let kind = kind.unwrap_or_else(|| {
            if trimmed.starts_with('t') || trimmed.starts_with('s') {
                MocKind::SpaceTime
            } else if max_order_in_ascii(trimmed) > u32::from(Hpx::<u64>::MAX_DEPTH) {
                MocKind::Time
            } else {
                MocKind::Space
            }
        });
        check_ascii_tokens(trimmed, kind)?;
        let ascii_error = |e: moc::deser::ascii::AsciiError| MocError::Ascii(e.to_string());
        Ok(match kind {
            MocKind::Space => Moc::Space(SpaceMoc(
                from_ascii_ivoa::<u64, Hpx<u64>>(trimmed)
                    .map_err(ascii_error)?
                    .into_cellcellrange_moc_iter()
                    .ranges()
                    .into_range_moc(),
            )),
            MocKind::Time => Moc::Time(TimeMoc(
                from_ascii_ivoa::<u64, Time<u64>>(trimmed)
                    .map_err(ascii_error)?
                    .into_cellcellrange_moc_iter()
                    .ranges()
                    .into_range_moc(),
            )),
            MocKind::SpaceTime => {
                let moc2 = moc2d_from_ascii_ivoa::<u64, Time<u64>, u64, Hpx<u64>>(trimmed)
                    .map_err(ascii_error)?
                    .into_cellcellrange_moc2_iter()
                    .into_range_moc2_iter();
                let (time_depth, space_depth) = (moc2.depth_max_1(), moc2.depth_max_2());
                Moc::SpaceTime(SpaceTimeMoc::collect(time_depth, space_depth, moc2))
            }
        })
    }

    /// Reads the JSON serialisation (`{"3": [1, 2], "4": [20]}`; space-time MOCs are a list of
    /// `{"t": …, "s": …}`). Without `kind`, a list is space-time, and otherwise orders above 29
    /// mean time, anything else space.
    pub fn from_json(text: &str, kind: Option<MocKind>) -> Result<Moc, MocError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(MocError::Empty);
        }
        let kind = kind.unwrap_or_else(|| {
            if trimmed.starts_with('[') {
                MocKind::SpaceTime
            } else if max_order_in_json(trimmed) > u32::from(Hpx::<u64>::MAX_DEPTH) {
                MocKind::Time
            } else {
                MocKind::Space
            }
        });
        check_json(trimmed, kind)?;
        let json_error = |e: Box<dyn std::error::Error>| MocError::Json(e.to_string());
        Ok(match kind {
            MocKind::Space => Moc::Space(SpaceMoc(
                from_json_aladin::<u64, Hpx<u64>>(trimmed)
                    .map_err(json_error)?
                    .into_cell_moc_iter()
                    .ranges()
                    .into_range_moc(),
            )),
            MocKind::Time => Moc::Time(TimeMoc(
                from_json_aladin::<u64, Time<u64>>(trimmed)
                    .map_err(json_error)?
                    .into_cell_moc_iter()
                    .ranges()
                    .into_range_moc(),
            )),
            MocKind::SpaceTime => {
                let moc2 = cellmoc2d_from_json_aladin::<u64, Time<u64>, u64, Hpx<u64>>(trimmed)
                    .map_err(json_error)?
                    .into_cell_moc2_iter()
                    .into_range_moc2_iter();
                let (time_depth, space_depth) = (moc2.depth_max_1(), moc2.depth_max_2());
                Moc::SpaceTime(SpaceTimeMoc::collect(time_depth, space_depth, moc2))
            }
        })
    }

    pub fn kind(&self) -> MocKind {
        match self {
            Moc::Space(_) => MocKind::Space,
            Moc::Time(_) => MocKind::Time,
            Moc::SpaceTime(_) => MocKind::SpaceTime,
        }
    }
}

impl SpaceMoc {
    pub fn depth(&self) -> u8 {
        self.0.depth_max()
    }

    /// The fraction of the sphere covered, 0 to 1.
    pub fn sky_fraction(&self) -> f64 {
        self.0.coverage_percentage()
    }

    /// The number of cells in the MOC's normal (largest cells first) form.
    pub fn cell_count(&self) -> usize {
        self.0.clone().into_range_moc_iter().cells().count()
    }

    pub fn contains(&self, position: LonLat) -> bool {
        self.0.is_in(position.lon().radians(), position.lat().radians())
    }

    /// Index ranges at order 29.
    pub fn ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.0.moc_ranges().iter().cloned()
    }

    /// The MOC as a MOC 2.0 FITS file (what coverage.load.moc.fits and Aladin take).
    pub fn to_fits(&self) -> Result<Vec<u8>, MocError> {
        let mut bytes = Vec::new();
        (&self.0)
            .into_range_moc_iter()
            .to_fits_ivoa(None, None, &mut bytes)
            .map_err(|e| MocError::Fits(e.to_string()))?;
        Ok(bytes)
    }

    /// Whether any part of `cell` is covered: a HiPS tile exists only where its MOC says so.
    pub fn intersects_cell(&self, cell: crate::Cell) -> bool {
        let shift = 2 * u32::from(crate::healpix::MAX_ORDER - cell.order());
        let start = cell.index() << shift;
        let end = (cell.index() + 1) << shift;
        let ranges: &[Range<u64>] = &self.0.moc_ranges().ranges().0;
        // Ranges are sorted and disjoint: find the first that ends after `start`.
        let first = ranges.partition_point(|range| range.end <= start);
        ranges.get(first).is_some_and(|range| range.start < end)
    }

    pub fn inner(&self) -> &RangeMOC<u64, Hpx<u64>> {
        &self.0
    }
}

impl TimeMoc {
    pub fn depth(&self) -> u8 {
        self.0.depth_max()
    }

    pub fn cell_count(&self) -> usize {
        self.0.clone().into_range_moc_iter().cells().count()
    }

    /// Total covered time in microseconds.
    pub fn duration_us(&self) -> u64 {
        self.ranges().map(|r| r.end - r.start).sum()
    }

    /// Ranges in microseconds since JD 0 (order 61).
    pub fn ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.0.moc_ranges().iter().cloned()
    }
}

impl SpaceTimeMoc {
    fn collect<I, K>(time_depth: u8, space_depth: u8, elements: I) -> SpaceTimeMoc
    where
        I: Iterator<Item = K>,
        K: RangeMOC2ElemIt<u64, Time<u64>, u64, Hpx<u64>>,
    {
        let elements = elements
            .map(|element| {
                let (time, space) = element.range_mocs_it();
                (time.collect(), space.collect())
            })
            .collect();
        SpaceTimeMoc { time_depth, space_depth, elements }
    }

    pub fn time_depth(&self) -> u8 {
        self.time_depth
    }

    pub fn space_depth(&self) -> u8 {
        self.space_depth
    }

    pub fn element_count(&self) -> usize {
        self.elements.len()
    }

    /// Everywhere on the sky covered at any time.
    pub fn space_union(&self) -> SpaceMoc {
        let ranges: Vec<Range<u64>> = self.elements.iter().flat_map(|(_, space)| space.iter().cloned()).collect();
        SpaceMoc(RangeMOC::new(self.space_depth, MocRanges::new_from(ranges)))
    }

    /// Every time at which some part of the sky is covered.
    pub fn time_union(&self) -> TimeMoc {
        let ranges: Vec<Range<u64>> = self.elements.iter().flat_map(|(time, _)| time.iter().cloned()).collect();
        TimeMoc(RangeMOC::new(self.time_depth, MocRanges::new_from(ranges)))
    }
}

fn from_fits_quantity<T: Idx, R: BufRead>(moc: MocQtyType<T, R>) -> Result<Moc, MocError> {
    match moc {
        MocQtyType::Hpx(moc) => Ok(Moc::Space(SpaceMoc(match moc {
            MocType::Ranges(moc) => convert_to_u64::<T, Hpx<T>, _, Hpx<u64>>(moc).into_range_moc(),
            MocType::Cells(moc) => {
                convert_to_u64::<T, Hpx<T>, _, Hpx<u64>>(moc.into_cell_moc_iter().ranges()).into_range_moc()
            }
        }))),
        MocQtyType::Time(moc) => Ok(Moc::Time(TimeMoc(match moc {
            MocType::Ranges(moc) => convert_to_u64::<T, Time<T>, _, Time<u64>>(moc).into_range_moc(),
            MocType::Cells(moc) => {
                convert_to_u64::<T, Time<T>, _, Time<u64>>(moc.into_cell_moc_iter().ranges()).into_range_moc()
            }
        }))),
        // Space-time FITS MOCs are written with 64-bit indices only (see `Moc::from_fits`).
        MocQtyType::TimeHpx(_) => Err(MocError::Fits("space-time MOC with indices narrower than 64 bits".to_owned())),
        MocQtyType::Freq(_) => Err(MocError::Unsupported("frequency")),
        MocQtyType::FreqHpx(_) => Err(MocError::Unsupported("space-frequency")),
    }
}

fn max_order_in_ascii(text: &str) -> u32 {
    text.split_whitespace()
        .filter_map(|token| token.split_once('/'))
        .filter_map(|(order, _)| order.trim_start_matches(['t', 's']).parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

fn max_order_in_json(text: &str) -> u32 {
    text.split('"').skip(1).step_by(2).filter_map(|key| key.parse::<u32>().ok()).max().unwrap_or(0)
}
