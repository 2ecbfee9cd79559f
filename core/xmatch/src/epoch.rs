//! Positions at another epoch: each star moved along its proper motion.

use crate::Positions;
use arrow_array::{Array, Float64Array};

/// Proper motions in mas/yr: in right ascension times cos δ (μα*, as Hipparcos and Gaia
/// give it) and in declination.
#[derive(Clone, Copy, Debug)]
pub struct ProperMotions<'a> {
    pub pmra: &'a Float64Array,
    pub pmdec: &'a Float64Array,
}

const MAS_PER_RADIAN: f64 = 180.0 / std::f64::consts::PI * 3_600_000.0;

/// The positions `years` later (earlier when negative), in degrees. Each direction moves
/// along the tangent plane by its proper motion and is normalised again: linear motion in
/// space seen from far away, the model of the Hipparcos catalogue (and of ERFA's `pmsafe`
/// without parallax and radial velocity), exact through the poles. A row without a proper
/// motion keeps its position; a row without a position stays null.
pub fn propagate(positions: Positions, motions: ProperMotions, years: f64) -> (Float64Array, Float64Array) {
    let rows = positions.ra.len();
    let mut ra_out = Vec::with_capacity(rows);
    let mut dec_out = Vec::with_capacity(rows);
    for row in 0..rows {
        let position = (!positions.ra.is_null(row) && !positions.dec.is_null(row))
            .then(|| (positions.ra.value(row), positions.dec.value(row)));
        let motion = (row < motions.pmra.len()
            && row < motions.pmdec.len()
            && !motions.pmra.is_null(row)
            && !motions.pmdec.is_null(row))
        .then(|| (motions.pmra.value(row), motions.pmdec.value(row)))
        .filter(|(pmra, pmdec)| pmra.is_finite() && pmdec.is_finite());
        let moved = match (position, motion) {
            (Some((ra, dec)), Some((pmra, pmdec))) => Some(moved(ra, dec, pmra, pmdec, years)),
            (position, _) => position,
        };
        ra_out.push(moved.map(|p| p.0));
        dec_out.push(moved.map(|p| p.1));
    }
    (Float64Array::from(ra_out), Float64Array::from(dec_out))
}

fn moved(ra: f64, dec: f64, pmra: f64, pmdec: f64, years: f64) -> (f64, f64) {
    let (sin_ra, cos_ra) = ra.to_radians().sin_cos();
    let (sin_dec, cos_dec) = dec.to_radians().sin_cos();
    let position = [cos_dec * cos_ra, cos_dec * sin_ra, sin_dec];
    // Unit vectors towards increasing RA and Dec.
    let east = [-sin_ra, cos_ra, 0.0];
    let north = [-sin_dec * cos_ra, -sin_dec * sin_ra, cos_dec];
    let (east_step, north_step) = (pmra * years / MAS_PER_RADIAN, pmdec * years / MAS_PER_RADIAN);
    let p: [f64; 3] = std::array::from_fn(|i| position[i] + east[i] * east_step + north[i] * north_step);
    let norm = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
    let (x, y, z) = (p[0] / norm, p[1] / norm, p[2] / norm);
    (y.atan2(x).to_degrees().rem_euclid(360.0), z.clamp(-1.0, 1.0).asin().to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barnards_star_moves_as_catalogued() {
        // Barnard's star (Hipparcos 2, epoch 1991.25): μα* −801.55, μδ 10362.54 mas/yr; after
        // 8.75 years it is 90.7″ north and 7.0″ west, nearly all of it in declination.
        let ra = Float64Array::from(vec![269.45402305]);
        let dec = Float64Array::from(vec![4.66828815]);
        let (pmra, pmdec) = (Float64Array::from(vec![-801.55]), Float64Array::from(vec![10362.54]));
        let (ra2, dec2) =
            propagate(Positions { ra: &ra, dec: &dec }, ProperMotions { pmra: &pmra, pmdec: &pmdec }, 8.75);
        let north = (dec2.value(0) - dec.value(0)) * 3600.0;
        let east = (ra2.value(0) - ra.value(0)) * 3600.0 * dec.value(0).to_radians().cos();
        assert!((north - 10362.54e-3 * 8.75).abs() < 1e-3, "{north}");
        assert!((east - -801.55e-3 * 8.75).abs() < 1e-3, "{east}");
    }

    #[test]
    fn missing_motions_keep_the_position_and_missing_positions_stay_null() {
        let ra = Float64Array::from(vec![Some(10.0), None, Some(359.9999)]);
        let dec = Float64Array::from(vec![Some(20.0), Some(1.0), Some(89.99999)]);
        let pmra = Float64Array::from(vec![None, Some(1.0), Some(1e6)]);
        let pmdec = Float64Array::from(vec![Some(5.0), Some(1.0), Some(1e6)]);
        let (ra2, dec2) =
            propagate(Positions { ra: &ra, dec: &dec }, ProperMotions { pmra: &pmra, pmdec: &pmdec }, 10.0);
        assert_eq!((ra2.value(0), dec2.value(0)), (10.0, 20.0));
        assert!(ra2.is_null(1) && dec2.is_null(1));
        // Through the pole: still on the sphere, RA wrapped into [0, 360).
        assert!((0.0..360.0).contains(&ra2.value(2)) && dec2.value(2).abs() <= 90.0);
    }
}
