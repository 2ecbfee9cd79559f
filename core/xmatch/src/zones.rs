//! The zones index: table B cut into declination zones at least a search radius high, each
//! sorted by right ascension, so a circle is looked up in a few binary searches.

use crate::{Positions, XmatchError};
use arrow_array::{Array, Float64Array};

/// One row with a usable position, RA in [0, 360) degrees.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point {
    pub row: usize,
    pub ra: f64,
    pub dec: f64,
    pub xyz: [f64; 3],
    /// This row's share of the match radius, in radians (the fixed radius for table A and 0
    /// for B, or each row's own radius).
    pub radius: f64,
}

/// The rows with a usable position and radius, and how many were skipped.
pub(crate) fn points(
    positions: Positions,
    radii: Option<&Float64Array>,
    fixed_radius: f64,
    table: char,
) -> Result<(Vec<Point>, usize), XmatchError> {
    let (ra, dec) = (positions.ra, positions.dec);
    if ra.len() != dec.len() {
        return Err(XmatchError::LengthMismatch(table, ra.len(), dec.len()));
    }
    if let Some(radii) = radii.filter(|r| r.len() != ra.len()) {
        return Err(XmatchError::LengthMismatch(table, ra.len(), radii.len()));
    }
    // Declinations out of range are refused before any work; the rest is per row.
    for row in 0..dec.len() {
        let value = dec.value(row);
        if !dec.is_null(row) && value.is_finite() && value.abs() > 90.0 {
            return Err(XmatchError::DecOutOfRange { table, row, dec: value });
        }
    }
    let point = |row: usize| -> Option<Point> {
        let radius = match radii {
            Some(radii) if radii.is_null(row) => f64::NAN,
            Some(radii) => radii.value(row),
            None => fixed_radius,
        };
        if ra.is_null(row)
            || dec.is_null(row)
            || !ra.value(row).is_finite()
            || !dec.value(row).is_finite()
            || !(radius.is_finite() && radius >= 0.0)
        {
            return None;
        }
        // `+ 0.0` turns -0 into 0.
        let (lon, lat) = (ra.value(row).rem_euclid(360.0) + 0.0, dec.value(row));
        Some(Point { row, ra: lon, dec: lat, xyz: unit_vector(lon, lat), radius: radius.to_radians() })
    };
    use rayon::prelude::*;
    let points: Vec<Point> = (0..ra.len()).into_par_iter().filter_map(point).collect();
    let skipped = ra.len() - points.len();
    Ok((points, skipped))
}

pub(crate) fn unit_vector(ra: f64, dec: f64) -> [f64; 3] {
    let (sin_ra, cos_ra) = ra.to_radians().sin_cos();
    let (sin_dec, cos_dec) = dec.to_radians().sin_cos();
    [cos_dec * cos_ra, cos_dec * sin_ra, sin_dec]
}

/// The angle between unit vectors, in radians: atan2(|a×b|, a·b), sound at tiny and
/// near-antipodal separations alike.
pub(crate) fn separation(a: [f64; 3], b: [f64; 3]) -> f64 {
    let cross = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let sine = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    sine.atan2(a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
}

/// Sorts points by (zone, RA): a counting sort into zones, then each zone (a few points)
/// by RA. Returns where each zone starts, and where the last ends.
fn sort_by_zone_and_ra(points: &mut Vec<Point>, count: usize, zone_of: impl Fn(f64) -> usize + Sync) -> Vec<usize> {
    use rayon::prelude::*;
    let zones: Vec<u32> = points.par_iter().map(|p| zone_of(p.dec) as u32).collect();
    let mut starts = vec![0usize; count + 1];
    for &zone in &zones {
        starts[zone as usize + 1] += 1;
    }
    for z in 0..count {
        starts[z + 1] += starts[z];
    }
    let mut next = starts.clone();
    let mut sorted = vec![Point { row: 0, ra: 0.0, dec: 0.0, xyz: [0.0; 3], radius: 0.0 }; points.len()];
    for (point, &zone) in points.iter().zip(&zones) {
        sorted[next[zone as usize]] = *point;
        next[zone as usize] += 1;
    }
    for z in 0..count {
        sorted[starts[z]..starts[z + 1]].sort_unstable_by(|x, y| x.ra.total_cmp(&y.ra));
    }
    *points = sorted;
    starts
}

/// Zones never thinner than this (degrees): a radius of 0 still gets a working index.
const THINNEST_ZONE: f64 = 1e-4;
/// Above this many zones the start table outweighs the gain (1″ zones over the sky).
const MOST_ZONES: f64 = 1_000_000.0;

/// Table B cut into declination zones, each sorted by RA.
pub(crate) struct Zones {
    height: f64,
    /// Points sorted by (zone, RA); zone z holds `points[starts[z]..starts[z + 1]]`.
    points: Vec<Point>,
    starts: Vec<usize>,
    /// The largest radius share of B's rows, radians.
    widest_b: f64,
}

impl Zones {
    /// The index of `points` for searches of up to `search_radius` degrees.
    pub fn new(mut points: Vec<Point>, search_radius: f64) -> Zones {
        let height = search_radius.max(THINNEST_ZONE).max(180.0 / MOST_ZONES);
        let count = (180.0 / height).ceil() as usize;
        let zone_of = |dec: f64| (((dec + 90.0) / height).floor() as usize).min(count - 1);
        let starts = sort_by_zone_and_ra(&mut points, count, zone_of);
        let widest_b = points.iter().map(|p| p.radius).fold(0.0, f64::max);
        Zones { height, points, starts, widest_b }
    }

    /// Sorts points of A as B's are sorted: neighbours on the sky then search neighbouring
    /// parts of the index, which keeps them in the processor's caches.
    pub fn sort_like_index(&self, points: &mut Vec<Point>) {
        sort_by_zone_and_ra(points, self.starts.len() - 1, |dec| self.zone_of(dec));
    }

    pub fn widest(&self) -> f64 {
        self.widest_b
    }

    fn zone_of(&self, dec: f64) -> usize {
        (((dec + 90.0) / self.height).floor() as usize).min(self.starts.len() - 2)
    }

    /// Calls `found(row of B, separation in radians)` for each row of B within the radius
    /// of `point`: its own share plus that of the row of B.
    pub fn within(&self, point: &Point, mut found: impl FnMut(usize, f64)) {
        let reach_rad = point.radius + self.widest_b;
        let reach = reach_rad.to_degrees();
        let (first, last) = (self.zone_of((point.dec - reach).max(-90.0)), self.zone_of((point.dec + reach).min(90.0)));
        // The RA half-width of the circle: asin(sin r / cos δ) while the circle stays off the
        // pole, the whole circle of RA once it reaches it.
        let half_width = if point.dec.abs() + reach >= 90.0 {
            None
        } else {
            let sine = reach_rad.sin() / point.dec.to_radians().cos();
            (sine < 1.0).then(|| sine.asin().to_degrees() * (1.0 + 1e-9) + 1e-12)
        };
        let mut check = |candidates: &[Point]| {
            for candidate in candidates {
                let angle = separation(point.xyz, candidate.xyz);
                if angle <= point.radius + candidate.radius {
                    found(candidate.row, angle);
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
    }
}
