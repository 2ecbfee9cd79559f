//! Positional crossmatch: the rows of two tables within a sky distance of each other.
//!
//! The kernel is the zones algorithm (Gray, Szalay et al., as in SDSS's SkyServer): table B
//! is cut into declination zones at least a radius high and sorted by RA within each; every
//! row of A looks in the zones its circle touches, only over the RA window the circle spans
//! there (exact, wrap at 0/360 and the poles included), and keeps the candidates whose
//! great-circle distance, in the vector form, is within the radius. Rows of A are matched in
//! parallel on every core.

use arrow_array::{Array, Float64Array};
use rayon::prelude::*;

/// Which pairs to keep, as TOPCAT and STILTS name them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every pair within the radius.
    #[default]
    All,
    /// One-to-one: pairs taken closest first, each row of either table used once
    /// (STILTS `find=best`).
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

/// The result: pairs of row numbers (B absent for [`Mode::UnmatchedA`]) with their
/// separation in arcseconds, in the order of A's rows, then of separation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    pub a: Vec<usize>,
    pub b: Vec<Option<usize>>,
    pub separation_arcsec: Vec<Option<f64>>,
    /// Rows without a usable position (null or not finite), which match nothing.
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
    #[error("table {0} has {1} right ascensions and {2} declinations")]
    LengthMismatch(char, usize, usize),
}

/// Matches the rows of `a` and `b` within `radius` degrees.
pub fn crossmatch(a: Positions, b: Positions, radius: f64, mode: Mode) -> Result<Matches, XmatchError> {
    if !(radius.is_finite() && radius >= 0.0) {
        return Err(XmatchError::BadRadius(radius));
    }
    let (points_a, skipped_a) = points(a, 'A')?;
    let (points_b, skipped_b) = points(b, 'B')?;
    let zones = Zones::new(points_b, radius);
    let radius_rad = radius.to_radians();
    let candidates: Vec<Vec<(usize, f64)>> =
        points_a.par_iter().map(|point| zones.within(point, radius, radius_rad)).collect();
    let mut matches = Matches { skipped_a, skipped_b, ..Matches::default() };
    let mut push = |a: usize, b: Option<usize>, separation: Option<f64>| {
        matches.a.push(a);
        matches.b.push(b);
        matches.separation_arcsec.push(separation.map(|s| s * 3600.0));
    };
    match mode {
        Mode::All => {
            for (point, mut found) in points_a.iter().zip(candidates) {
                found.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
                for (b, separation) in found {
                    push(point.row, Some(b), Some(separation));
                }
            }
        }
        Mode::BestForA => {
            for (point, found) in points_a.iter().zip(candidates) {
                if let Some(&(b, separation)) = found.iter().min_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0))) {
                    push(point.row, Some(b), Some(separation));
                }
            }
        }
        Mode::BestForB | Mode::Best => {
            let mut pairs: Vec<(usize, usize, f64)> = points_a
                .iter()
                .zip(candidates)
                .flat_map(|(point, found)| found.into_iter().map(move |(b, s)| (point.row, b, s)))
                .collect();
            pairs.sort_by(|x, y| x.2.total_cmp(&y.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
            // Closest first: a row already taken (of B only, or of either table) is done.
            let mut used_a = std::collections::HashSet::new();
            let mut used_b = std::collections::HashSet::new();
            let mut kept: Vec<(usize, usize, f64)> = Vec::new();
            for (a, b, separation) in pairs {
                if used_b.contains(&b) || (mode == Mode::Best && used_a.contains(&a)) {
                    continue;
                }
                used_a.insert(a);
                used_b.insert(b);
                kept.push((a, b, separation));
            }
            kept.sort_by(|x, y| x.0.cmp(&y.0).then(x.2.total_cmp(&y.2)).then(x.1.cmp(&y.1)));
            for (a, b, separation) in kept {
                push(a, Some(b), Some(separation));
            }
        }
        Mode::UnmatchedA => {
            let mut matched = vec![false; a.ra.len()];
            for (point, found) in points_a.iter().zip(&candidates) {
                matched[point.row] = !found.is_empty();
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

#[derive(Clone, Copy, Debug)]
struct Point {
    row: usize,
    ra: f64,
    dec: f64,
    xyz: [f64; 3],
}

/// The rows with a usable position, RA in [0, 360), and how many were skipped.
fn points(positions: Positions, table: char) -> Result<(Vec<Point>, usize), XmatchError> {
    let (ra, dec) = (positions.ra, positions.dec);
    if ra.len() != dec.len() {
        return Err(XmatchError::LengthMismatch(table, ra.len(), dec.len()));
    }
    let mut points = Vec::with_capacity(ra.len());
    let mut skipped = 0;
    for row in 0..ra.len() {
        if ra.is_null(row) || dec.is_null(row) || !ra.value(row).is_finite() || !dec.value(row).is_finite() {
            skipped += 1;
            continue;
        }
        let (lon, lat) = (ra.value(row).rem_euclid(360.0), dec.value(row));
        if lat.abs() > 90.0 {
            return Err(XmatchError::DecOutOfRange { table, row, dec: lat });
        }
        points.push(Point { row, ra: lon, dec: lat, xyz: unit_vector(lon, lat) });
    }
    Ok((points, skipped))
}

fn unit_vector(ra: f64, dec: f64) -> [f64; 3] {
    let (sin_ra, cos_ra) = ra.to_radians().sin_cos();
    let (sin_dec, cos_dec) = dec.to_radians().sin_cos();
    [cos_dec * cos_ra, cos_dec * sin_ra, sin_dec]
}

/// The angle between unit vectors, in radians: atan2(|a×b|, a·b), sound at tiny and
/// near-antipodal separations alike.
fn separation(a: [f64; 3], b: [f64; 3]) -> f64 {
    let cross = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let sine = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    sine.atan2(a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
}

/// Zones never thinner than this (degrees): a radius of 0 still gets a working index.
const THINNEST_ZONE: f64 = 1e-4;

/// Table B cut into declination zones, each sorted by RA.
struct Zones {
    height: f64,
    /// Points sorted by (zone, RA); zone z holds `points[starts[z]..starts[z + 1]]`.
    points: Vec<Point>,
    starts: Vec<usize>,
}

impl Zones {
    fn new(mut points: Vec<Point>, radius: f64) -> Zones {
        let height = radius.max(THINNEST_ZONE);
        let count = (180.0 / height).ceil() as usize;
        let zone_of = |dec: f64| (((dec + 90.0) / height).floor() as usize).min(count - 1);
        points.par_sort_unstable_by(|x, y| zone_of(x.dec).cmp(&zone_of(y.dec)).then(x.ra.total_cmp(&y.ra)));
        let mut starts = vec![0; count + 1];
        for point in &points {
            starts[zone_of(point.dec) + 1] += 1;
        }
        for z in 0..count {
            starts[z + 1] += starts[z];
        }
        Zones { height, points, starts }
    }

    fn zone_of(&self, dec: f64) -> usize {
        (((dec + 90.0) / self.height).floor() as usize).min(self.starts.len() - 2)
    }

    /// The rows of B within `radius` (degrees; also in radians) of `point`, with their
    /// separations in degrees.
    fn within(&self, point: &Point, radius: f64, radius_rad: f64) -> Vec<(usize, f64)> {
        let mut found = Vec::new();
        let (first, last) =
            (self.zone_of((point.dec - radius).max(-90.0)), self.zone_of((point.dec + radius).min(90.0)));
        // The RA half-width of the circle: asin(sin r / cos δ) while the circle stays off the
        // pole, the whole circle of RA once it reaches it.
        let half_width = if point.dec.abs() + radius >= 90.0 {
            None
        } else {
            let sine = radius_rad.sin() / point.dec.to_radians().cos();
            (sine < 1.0).then(|| sine.asin().to_degrees() * (1.0 + 1e-9) + 1e-12)
        };
        let mut check = |candidates: &[Point]| {
            for candidate in candidates {
                let angle = separation(point.xyz, candidate.xyz);
                if angle <= radius_rad {
                    found.push((candidate.row, angle.to_degrees()));
                }
            }
        };
        for zone in first..=last {
            let in_zone = &self.points[self.starts[zone]..self.starts[zone + 1]];
            let Some(half_width) = half_width.filter(|w| *w < 180.0) else {
                check(in_zone);
                continue;
            };
            let ra_range = |low: f64, high: f64| {
                let start = in_zone.partition_point(|p| p.ra < low);
                let end = in_zone.partition_point(|p| p.ra <= high);
                &in_zone[start..end.max(start)]
            };
            let (low, high) = (point.ra - half_width, point.ra + half_width);
            check(ra_range(low.max(0.0), high.min(360.0)));
            // Across RA = 0/360.
            if low < 0.0 {
                check(ra_range(low + 360.0, 360.0));
            }
            if high >= 360.0 {
                check(ra_range(0.0, high - 360.0));
            }
        }
        found
    }
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
        let best = run(&a, &b, 0.0, Mode::Best);
        assert_eq!((best.a, best.b), (vec![0, 1], vec![Some(0), Some(1)]));
        assert_eq!(run(&a, &b, 0.0, Mode::UnmatchedA).a, vec![2]);
        assert!(run(&[], &b, 1.0, Mode::All).is_empty());
        assert!(run(&a, &[], 1.0, Mode::All).is_empty());
        // A radius of many zones and RA windows.
        assert_eq!(run(&a, &b, 30.0, Mode::All).len(), 6);
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
