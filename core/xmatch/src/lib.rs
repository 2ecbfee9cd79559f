//! Positional crossmatch: the rows of two tables within a sky distance of each other.
//!
//! The kernel is the zones algorithm (Gray, Szalay et al., as in SDSS's SkyServer): table B
//! is cut into declination zones at least a radius high and sorted by RA within each; every
//! row of A looks in the zones its circle touches, only over the RA window the circle spans
//! there (exact, wrap at 0/360 and the poles included), and keeps the candidates whose
//! great-circle distance, in the vector form, is within the radius. Rows of A are matched in
//! parallel on every core.
//!
//! Around the kernel: [`pair_table`] joins the matched rows of two Arrow tables with their
//! separation, and [`propagate`] moves positions to another epoch by their proper motions.

mod epoch;
mod pairs;
mod zones;

pub use epoch::{ProperMotions, propagate};
pub use pairs::{SEPARATION_COLUMN, pair_table};

use arrow_array::Float64Array;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which pairs to keep, as TOPCAT and STILTS name them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every pair within the radius.
    #[default]
    All,
    /// One-to-one, as STILTS `find=best` finds it: each row of the table with more
    /// positions (A on a tie) proposes its nearest partner, and the proposals are taken
    /// closest first, each row of either table in one pair at most.
    Best,
    /// The nearest row of B for each row of A that has one (`find=best1`).
    BestForA,
    /// The nearest row of A for each row of B that has one (`find=best2`).
    BestForB,
    /// The rows of A with no row of B within the radius (`join=1not2`), rows without a
    /// position included.
    UnmatchedA,
}

/// A table's positions in degrees: right ascension (any range) and declination.
#[derive(Clone, Copy, Debug)]
pub struct Positions<'a> {
    pub ra: &'a Float64Array,
    pub dec: &'a Float64Array,
}

/// How far apart two rows may be, in degrees.
#[derive(Clone, Copy, Debug)]
pub enum Radius<'a> {
    /// The same for every pair.
    Fixed(f64),
    /// Each row's own error radius: a pair matches when its separation is at most the sum
    /// of the two (TOPCAT's "Sky with Errors"); a table without a column counts 0. Rows
    /// whose radius is null, negative or not finite match nothing and are counted skipped.
    PerRow { a: Option<&'a Float64Array>, b: Option<&'a Float64Array> },
}

impl From<f64> for Radius<'_> {
    fn from(degrees: f64) -> Self {
        Radius::Fixed(degrees)
    }
}

/// The result: pairs of row numbers (B absent for [`Mode::UnmatchedA`]) with their
/// separation in arcseconds, in the order of A's rows, then of separation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    pub a: Vec<usize>,
    pub b: Vec<Option<usize>>,
    pub separation_arcsec: Vec<Option<f64>>,
    /// Rows without a usable position (null or not finite) or radius, which match nothing.
    pub skipped_a: usize,
    pub skipped_b: usize,
}

impl Matches {
    pub fn len(&self) -> usize {
        self.a.len()
    }

    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum XmatchError {
    #[error("the radius must be a finite angle of 0 or more, not {0}°")]
    BadRadius(f64),
    #[error("row {row} of table {table} has declination {dec}°, outside ±90°")]
    DecOutOfRange { table: char, row: usize, dec: f64 },
    #[error("table {0} has {1} positions but {2} values in another of its columns")]
    LengthMismatch(char, usize, usize),
}

/// A pair found: row of A, row of B, separation in radians.
pub type Pair = (usize, usize, f64);

/// The pairs [`Mode::Best`] or [`Mode::BestForB`] keep of `pairs` (every pair within the
/// radius, or for Best each row of A's nearest when `nearest_for_a` says A is the table
/// with more positions, as [`best_proposes_from_a`] decides), in the order of A's rows.
/// `rows_a` and `rows_b` are the tables' lengths. Tables matched in parts (larger than
/// memory) gather their parts' pairs and choose here, once.
pub fn choose_best(mut pairs: Vec<Pair>, mode: Mode, nearest_for_a: bool, rows_a: usize, rows_b: usize) -> Vec<Pair> {
    if mode == Mode::Best && nearest_for_a {
        // Each row of A proposes its nearest row of B (the lowest row on a tie).
        pairs.par_sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.2.total_cmp(&y.2)).then(x.1.cmp(&y.1)));
        pairs.dedup_by_key(|pair| pair.0);
    } else {
        // The nearest row of A for each row of B.
        pairs.par_sort_unstable_by(|x, y| x.1.cmp(&y.1).then(x.2.total_cmp(&y.2)).then(x.0.cmp(&y.0)));
        pairs.dedup_by_key(|pair| pair.1);
    }
    if mode == Mode::Best {
        // Closest first, each row of either table in one pair at most.
        pairs.par_sort_unstable_by(|x, y| x.2.total_cmp(&y.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
        let mut used_a = vec![false; rows_a];
        let mut used_b = vec![false; rows_b];
        pairs.retain(|&(a, b, _)| {
            let fresh = !used_a[a] && !used_b[b];
            used_a[a] = true;
            used_b[b] = true;
            fresh
        });
    }
    pairs.par_sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.2.total_cmp(&y.2)).then(x.1.cmp(&y.1)));
    pairs
}

/// Whether [`Mode::Best`] takes proposals from the rows of A: when A has at least as many
/// rows with positions as B, as STILTS does.
pub fn best_proposes_from_a(positions_a: usize, positions_b: usize) -> bool {
    positions_a >= positions_b
}

/// A numeric column as 64-bit floats (nulls kept); `None` for any other type.
pub fn to_float64(column: &dyn arrow_array::Array) -> Option<Float64Array> {
    use arrow_array::cast::AsArray;
    if !column.data_type().is_numeric() {
        return None;
    }
    let cast = arrow_cast::cast(column, &arrow_schema::DataType::Float64).ok()?;
    Some(cast.as_primitive::<arrow_array::types::Float64Type>().clone())
}

/// Matches the rows of `a` and `b` within `radius` (degrees, or per row).
pub fn crossmatch<'a>(
    a: Positions,
    b: Positions,
    radius: impl Into<Radius<'a>>,
    mode: Mode,
) -> Result<Matches, XmatchError> {
    crossmatch_with_progress(a, b, radius.into(), mode, &|_| {})
}

/// Rows of A matched per parallel task: small enough to share the work and report
/// progress often, large enough to keep the bookkeeping out of the profile.
const CHUNK_ROWS: usize = 8192;

/// [`crossmatch`], calling `progress` with the number of rows of A done so far.
pub fn crossmatch_with_progress(
    a: Positions,
    b: Positions,
    radius: Radius,
    mode: Mode,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Matches, XmatchError> {
    let (radii_a, radii_b, fixed) = match radius {
        Radius::Fixed(r) if r.is_finite() && r >= 0.0 => (None, None, r),
        Radius::Fixed(r) => return Err(XmatchError::BadRadius(r)),
        Radius::PerRow { a, b } => (a, b, 0.0),
    };
    let (mut points_a, skipped_a) = zones::points(a, radii_a, fixed, 'A')?;
    let (points_b, skipped_b) = zones::points(b, radii_b, 0.0, 'B')?;
    let widest_a = points_a.iter().map(|p| p.radius).fold(0.0, f64::max);
    let widest_b = points_b.iter().map(|p| p.radius).fold(0.0, f64::max);
    let rows_b = points_b.len();
    let zones = zones::Zones::new(points_b, (widest_a + widest_b).to_degrees());
    debug_assert_eq!(zones.widest(), widest_b);
    zones.sort_like_index(&mut points_a);

    // Every pair within reach, grouped by row of A in A's order, each group closest first.
    let done = AtomicUsize::new(0);
    // Best keeps each row's nearest partner in the larger table (A on a tie), as STILTS
    // does, before pairing closest first.
    let nearest_for_a = mode == Mode::BestForA || (mode == Mode::Best && best_proposes_from_a(points_a.len(), rows_b));
    let chunks: Vec<Vec<Pair>> = points_a
        .par_chunks(CHUNK_ROWS)
        .map(|chunk| {
            let mut pairs = Vec::new();
            for point in chunk {
                let start = pairs.len();
                zones.within(point, |b, angle| pairs.push((point.row, b, angle)));
                let group = &mut pairs[start..];
                group.sort_unstable_by(|x, y| x.2.total_cmp(&y.2).then(x.1.cmp(&y.1)));
                if nearest_for_a {
                    pairs.truncate((start + 1).min(pairs.len()));
                }
            }
            progress(done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len());
            pairs
        })
        .collect();

    let mut matches = Matches { skipped_a, skipped_b, ..Matches::default() };
    let mut push = |a: usize, b: Option<usize>, angle: Option<f64>| {
        matches.a.push(a);
        matches.b.push(b);
        matches.separation_arcsec.push(angle.map(|s| s.to_degrees() * 3600.0));
    };
    match mode {
        Mode::All | Mode::BestForA => {
            // Back in A's order (each row's pairs are together, closest first): a counting
            // sort by row of A.
            let pairs: Vec<Pair> = chunks.into_iter().flatten().collect();
            let mut first = vec![0usize; a.ra.len()];
            let mut count = vec![0usize; a.ra.len()];
            for (index, &(row, _, _)) in pairs.iter().enumerate() {
                if count[row] == 0 {
                    first[row] = index;
                }
                count[row] += 1;
            }
            for (first, count) in first.into_iter().zip(count) {
                for &(a, b, angle) in &pairs[first..first + count] {
                    push(a, Some(b), Some(angle));
                }
            }
        }
        Mode::BestForB | Mode::Best => {
            let pairs: Vec<Pair> = chunks.into_iter().flatten().collect();
            for (a, b, angle) in choose_best(pairs, mode, nearest_for_a, a.ra.len(), b.ra.len()) {
                push(a, Some(b), Some(angle));
            }
        }
        Mode::UnmatchedA => {
            let mut matched = vec![false; a.ra.len()];
            for (a, _, _) in chunks.into_iter().flatten() {
                matched[a] = true;
            }
            for (row, matched) in matched.into_iter().enumerate() {
                if !matched {
                    push(row, None, None);
                }
            }
        }
    }
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(points: &[(f64, f64)]) -> (Float64Array, Float64Array) {
        (points.iter().map(|p| Some(p.0)).collect(), points.iter().map(|p| Some(p.1)).collect())
    }

    fn run(a: &[(f64, f64)], b: &[(f64, f64)], radius: f64, mode: Mode) -> Matches {
        let (ra_a, dec_a) = positions(a);
        let (ra_b, dec_b) = positions(b);
        crossmatch(Positions { ra: &ra_a, dec: &dec_a }, Positions { ra: &ra_b, dec: &dec_b }, radius, mode).unwrap()
    }

    #[test]
    fn matches_across_ra_zero_and_over_the_poles() {
        let arcsec = 1.0 / 3600.0;
        // Across RA 0/360 (0.07″ apart), over the north pole (1.2″) and the south (0.8″).
        let a = [(359.99999, 10.0), (0.0, 90.0 - 0.6 * arcsec), (45.0, -90.0 + 0.4 * arcsec)];
        let b = [(0.00001, 10.0), (180.0, 90.0 - 0.6 * arcsec), (225.0, -90.0 + 0.4 * arcsec)];
        let found = run(&a, &b, 2.0 * arcsec, Mode::All);
        assert_eq!(found.a, vec![0, 1, 2]);
        assert_eq!(found.b, vec![Some(0), Some(1), Some(2)]);
        let separations: Vec<f64> = found.separation_arcsec.iter().map(|s| s.unwrap()).collect();
        let across = 0.00002 * 3600.0 * 10f64.to_radians().cos();
        assert!((separations[0] - across).abs() < 1e-6, "{separations:?}");
        assert!((separations[1] - 1.2).abs() < 1e-6 && (separations[2] - 0.8).abs() < 1e-6, "{separations:?}");
        // Just outside the radius: nothing.
        assert!(run(&a[1..2], &b[1..2], 1.1 * arcsec, Mode::All).is_empty());
    }

    #[test]
    fn duplicates_radius_zero_and_empty_tables() {
        let a = [(10.0, 20.0), (10.0, 20.0), (11.0, 20.0)];
        let b = [(10.0, 20.0), (10.0, 20.0)];
        assert_eq!(run(&a, &b, 0.0, Mode::All).len(), 4);
        // As STILTS does it: both rows of A at (10, 20) propose the first row of B there.
        let best = run(&a, &b, 0.0, Mode::Best);
        assert_eq!((best.a, best.b), (vec![0], vec![Some(0)]));
        let best_for_b = run(&a, &b, 0.0, Mode::BestForB);
        assert_eq!((best_for_b.a, best_for_b.b), (vec![0, 0], vec![Some(0), Some(1)]));
        assert_eq!(run(&a, &b, 0.0, Mode::UnmatchedA).a, vec![2]);
        assert!(run(&[], &b, 1.0, Mode::All).is_empty());
        assert!(run(&a, &[], 1.0, Mode::All).is_empty());
        // A radius of many zones and RA windows.
        assert_eq!(run(&a, &b, 30.0, Mode::All).len(), 6);
    }

    #[test]
    fn per_row_radii_add_up() {
        let arcsec = 1.0 / 3600.0;
        // Pairs 2″, 3″ and 4.5″ apart along a meridian: radii of 1″ + 1.5″ reach the first
        // only, 2.5″ + 1.5″ the first two; a row without a radius matches nothing.
        let a = [(30.0, 10.0), (30.0, 20.0), (30.0, 30.0)];
        let b = [(30.0, 10.0 + 2.0 * arcsec), (30.0, 20.0 + 3.0 * arcsec), (30.0, 30.0 + 4.5 * arcsec)];
        let (ra_a, dec_a) = positions(&a);
        let (ra_b, dec_b) = positions(&b);
        let radii_b = Float64Array::from(vec![1.5 * arcsec; 3]);
        let with_radii_a = |radii_a: &Float64Array| {
            crossmatch(
                Positions { ra: &ra_a, dec: &dec_a },
                Positions { ra: &ra_b, dec: &dec_b },
                Radius::PerRow { a: Some(radii_a), b: Some(&radii_b) },
                Mode::All,
            )
            .unwrap()
        };
        let found = with_radii_a(&Float64Array::from(vec![Some(1.0 * arcsec), Some(1.0 * arcsec), None]));
        assert_eq!((found.a, found.skipped_a), (vec![0], 1));
        assert_eq!(with_radii_a(&Float64Array::from(vec![2.5 * arcsec; 3])).a, vec![0, 1]);
    }

    #[test]
    fn bad_input_is_an_error_or_a_counted_skip() {
        let (ra, dec) = positions(&[(10.0, 20.0)]);
        let good = Positions { ra: &ra, dec: &dec };
        assert_eq!(crossmatch(good, good, -1.0, Mode::All), Err(XmatchError::BadRadius(-1.0)));
        assert!(crossmatch(good, good, f64::NAN, Mode::All).is_err());
        let (ra_bad, dec_bad) = positions(&[(10.0, 95.0)]);
        let bad = Positions { ra: &ra_bad, dec: &dec_bad };
        assert!(matches!(crossmatch(good, bad, 1.0, Mode::All), Err(XmatchError::DecOutOfRange { table: 'B', .. })));
        let ra_nan = Float64Array::from(vec![Some(f64::NAN), None, Some(10.0)]);
        let dec_nan = Float64Array::from(vec![Some(20.0), Some(20.0), Some(20.0)]);
        let found = crossmatch(Positions { ra: &ra_nan, dec: &dec_nan }, good, 1.0, Mode::All).unwrap();
        assert_eq!((found.a, found.skipped_a), (vec![2], 2));
        let unmatched = crossmatch(Positions { ra: &ra_nan, dec: &dec_nan }, good, 1.0, Mode::UnmatchedA).unwrap();
        assert_eq!(unmatched.a, vec![0, 1]);
    }
}
