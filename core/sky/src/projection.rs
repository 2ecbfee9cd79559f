//! Map projections of the FITS WCS standard (Calabretta & Greisen 2002; HPX: Calabretta &
//! Roukema 2007), forward and inverse, each with its valid domain.
//!
//! A projection maps *native* spherical coordinates (φ, θ) to the projection plane (x, y). Both
//! are in radians here: the plane is WCS's intermediate world coordinates divided by 180°/π. The
//! native frame is the sky rotated so that the view centre sits at the projection's reference
//! point, north up: see [`Projection::native_frame`]. Points a projection cannot show give
//! `None`, never a wrong point.

use crate::angle::Angle;
use crate::coord::{LonLat, Vec3};
use crate::rotation::Rotation;
use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI, SQRT_2, TAU};
use std::fmt;
use std::str::FromStr;

/// The projections a sky view can use. Zenithal ones (SIN, TAN, STG, ZEA, ARC) put the view
/// centre at the native pole; the others put it at native (0, 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Orthographic: the sky as a globe seen from afar; one hemisphere.
    Sin,
    /// Gnomonic: great circles are straight lines; less than a hemisphere.
    Tan,
    /// Stereographic: conformal; everything but the antipode.
    Stg,
    /// Zenithal equal-area (Lambert).
    Zea,
    /// Zenithal equidistant.
    Arc,
    /// Hammer-Aitoff: equal-area, the usual all-sky map.
    Ait,
    /// Mollweide: equal-area all-sky ellipse.
    Mol,
    /// Mercator: conformal; the poles are at infinity.
    Mer,
    /// Plate carrée: longitude and latitude as x and y.
    Car,
    /// HEALPix (H = 4, K = 3): equal-area, the layout of HiPS tiles.
    Hpx,
}

/// Native spherical coordinates, radians: φ in (-π, π], θ in [-π/2, π/2].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Native {
    pub phi: f64,
    pub theta: f64,
}

/// A point of the projection plane, radians (WCS intermediate coordinates × π/180).
/// x grows with native longitude (east), y with native latitude (north).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanePoint {
    pub x: f64,
    pub y: f64,
}

/// A projection code that [`Projection::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unknown projection {0:?}: expected one of SIN, TAN, STG, ZEA, ARC, AIT, MOL, MER, CAR, HPX")]
pub struct UnknownProjection(pub String);

/// HPX with H = 4 facets in longitude and K = 3 in latitude, the HEALPix layout.
const HPX_POLAR_SIN: f64 = 2.0 / 3.0;
const HPX_EQUATOR_SCALE: f64 = 3.0 * PI / 8.0;

impl Projection {
    pub const ALL: [Projection; 10] = [
        Projection::Sin,
        Projection::Tan,
        Projection::Stg,
        Projection::Zea,
        Projection::Arc,
        Projection::Ait,
        Projection::Mol,
        Projection::Mer,
        Projection::Car,
        Projection::Hpx,
    ];

    /// The FITS WCS code, as in `CTYPE1 = 'RA---TAN'`.
    pub fn code(self) -> &'static str {
        match self {
            Projection::Sin => "SIN",
            Projection::Tan => "TAN",
            Projection::Stg => "STG",
            Projection::Zea => "ZEA",
            Projection::Arc => "ARC",
            Projection::Ait => "AIT",
            Projection::Mol => "MOL",
            Projection::Mer => "MER",
            Projection::Car => "CAR",
            Projection::Hpx => "HPX",
        }
    }

    pub fn is_zenithal(self) -> bool {
        matches!(self, Projection::Sin | Projection::Tan | Projection::Stg | Projection::Zea | Projection::Arc)
    }

    /// The widest field of view that the projection can show across its x axis.
    pub fn max_fov(self) -> Angle {
        match self {
            Projection::Sin => Angle::from_degrees(180.0),
            // TAN and STG diverge at 180° and 360°; stop well short of infinity.
            Projection::Tan => Angle::from_degrees(150.0),
            Projection::Stg => Angle::from_degrees(300.0),
            _ => Angle::TURN,
        }
    }

    /// The farthest angle from the view centre that the projection can show.
    pub fn max_reach(self) -> Angle {
        match self {
            Projection::Sin | Projection::Tan => Angle::RIGHT,
            _ => Angle::HALF_TURN,
        }
    }

    /// The rotation from sky vectors to native vectors that puts `centre` at the reference
    /// point with north up (WCS LONPOLE = 180° for zenithal projections, 0° or 180° for the others).
    pub fn native_frame(self, centre: LonLat) -> Rotation {
        let (sin_lon, cos_lon) = centre.lon().radians().sin_cos();
        let (sin_lat, cos_lat) = centre.lat().radians().sin_cos();
        let toward_centre = centre.to_vec3();
        let east = Vec3::new(-sin_lon, cos_lon, 0.0);
        let north = Vec3::new(-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat);
        if self.is_zenithal() {
            Rotation::from_axes(-north, east, toward_centre)
        } else {
            Rotation::from_axes(toward_centre, east, north)
        }
    }

    /// Native coordinates of a sky direction, given the native frame of a view.
    pub fn to_native(native_frame: &Rotation, position: LonLat) -> Native {
        native_from_vec3(native_frame.apply(position.to_vec3()))
    }

    /// The sky direction of native coordinates, given the native frame of a view.
    pub fn from_native(native_frame: &Rotation, native: Native) -> LonLat {
        let (sin_phi, cos_phi) = native.phi.sin_cos();
        let (sin_theta, cos_theta) = native.theta.sin_cos();
        let v = Vec3::new(cos_theta * cos_phi, cos_theta * sin_phi, sin_theta);
        LonLat::from_vec3(native_frame.inverse().apply(v))
    }

    /// Native coordinates to the plane; `None` where the projection does not reach.
    pub fn forward(self, native: Native) -> Option<PlanePoint> {
        let Native { phi, theta } = native;
        if !phi.is_finite() || !theta.is_finite() || theta.abs() > FRAC_PI_2 {
            return None;
        }
        match self {
            Projection::Sin => (theta >= 0.0).then(|| zenithal_point(phi, theta.cos())),
            Projection::Tan => (theta > 0.0).then(|| zenithal_point(phi, theta.cos() / theta.sin())),
            Projection::Stg => {
                let denominator = 1.0 + theta.sin();
                (denominator > 0.0).then(|| zenithal_point(phi, 2.0 * theta.cos() / denominator))
            }
            Projection::Zea => Some(zenithal_point(phi, 2.0 * ((FRAC_PI_2 - theta) / 2.0).sin())),
            Projection::Arc => Some(zenithal_point(phi, FRAC_PI_2 - theta)),
            Projection::Ait => {
                let phi = wrap_phi(phi);
                let z = ((1.0 + theta.cos() * (phi / 2.0).cos()) / 2.0).sqrt();
                (z > 0.0).then(|| PlanePoint { x: 2.0 * theta.cos() * (phi / 2.0).sin() / z, y: theta.sin() / z })
            }
            Projection::Mol => {
                let phi = wrap_phi(phi);
                let (sin_gamma, cos_gamma) = mollweide_auxiliary(theta);
                Some(PlanePoint { x: 2.0 * SQRT_2 / PI * phi * cos_gamma, y: SQRT_2 * sin_gamma })
            }
            Projection::Mer => (theta.abs() < FRAC_PI_2)
                .then(|| PlanePoint { x: wrap_phi(phi), y: (FRAC_PI_4 + theta / 2.0).tan().ln() }),
            Projection::Car => Some(PlanePoint { x: wrap_phi(phi), y: theta }),
            Projection::Hpx => Some(hpx_forward(wrap_phi(phi), theta)),
        }
    }

    /// The plane back to native coordinates; `None` outside the projection's domain.
    pub fn inverse(self, point: PlanePoint) -> Option<Native> {
        let PlanePoint { x, y } = point;
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let r = x.hypot(y);
        let native = match self {
            Projection::Sin => (r <= 1.0).then(|| zenithal_native(x, y, r.min(1.0).acos()))?,
            Projection::Tan => zenithal_native(x, y, 1.0f64.atan2(r)),
            Projection::Stg => zenithal_native(x, y, FRAC_PI_2 - 2.0 * (r / 2.0).atan()),
            Projection::Zea => {
                (r <= 2.0).then(|| zenithal_native(x, y, FRAC_PI_2 - 2.0 * (r / 2.0).min(1.0).asin()))?
            }
            Projection::Arc => (r <= PI).then(|| zenithal_native(x, y, FRAC_PI_2 - r))?,
            Projection::Ait => {
                let z_squared = 1.0 - (x / 4.0).powi(2) - (y / 2.0).powi(2);
                if z_squared < 0.5 - 1e-13 {
                    return None;
                }
                let z = z_squared.max(0.5).sqrt();
                Native { phi: 2.0 * (z * x / 2.0).atan2(2.0 * z * z - 1.0), theta: (y * z).clamp(-1.0, 1.0).asin() }
            }
            Projection::Mol => {
                let sin_gamma = y / SQRT_2;
                if sin_gamma.abs() > 1.0 {
                    return None;
                }
                let gamma = sin_gamma.asin();
                let cos_gamma = gamma.cos();
                let phi = if cos_gamma < 1e-15 {
                    if x.abs() > 1e-12 {
                        return None;
                    }
                    0.0
                } else {
                    PI * x / (2.0 * SQRT_2 * cos_gamma)
                };
                let sin_theta = (2.0 * gamma + (2.0 * gamma).sin()) / PI;
                Native { phi, theta: sin_theta.clamp(-1.0, 1.0).asin() }
            }
            Projection::Mer => Native { phi: x, theta: 2.0 * y.exp().atan() - FRAC_PI_2 },
            Projection::Car => {
                if y.abs() > FRAC_PI_2 {
                    return None;
                }
                Native { phi: x, theta: y }
            }
            Projection::Hpx => hpx_inverse(x, y)?,
        };
        // Longitudes beyond ±180° belong to no point of the sphere (WCSLIB's bounds check).
        (native.phi.abs() <= PI + 1e-12).then_some(Native { phi: native.phi.clamp(-PI, PI), ..native })
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Projection {
    type Err = UnknownProjection;

    fn from_str(text: &str) -> Result<Projection, UnknownProjection> {
        let code = text.trim().to_ascii_uppercase();
        Projection::ALL.into_iter().find(|p| p.code() == code).ok_or_else(|| UnknownProjection(text.to_owned()))
    }
}

fn native_from_vec3(v: Vec3) -> Native {
    let phi = if v.x == 0.0 && v.y == 0.0 { 0.0 } else { v.y.atan2(v.x) };
    Native { phi, theta: v.z.atan2(v.x.hypot(v.y)) }
}

fn wrap_phi(phi: f64) -> f64 {
    if (-PI..=PI).contains(&phi) { phi } else { (phi + PI).rem_euclid(TAU) - PI }
}

/// Zenithal projections differ only in R(θ): x = R sin φ, y = −R cos φ.
fn zenithal_point(phi: f64, radius: f64) -> PlanePoint {
    PlanePoint { x: radius * phi.sin(), y: -radius * phi.cos() }
}

fn zenithal_native(x: f64, y: f64, theta: f64) -> Native {
    let phi = if x == 0.0 && y == 0.0 { 0.0 } else { x.atan2(-y) };
    Native { phi, theta }
}

/// Solves 2γ + sin 2γ = π sin θ for Mollweide's auxiliary angle, returning (sin γ, cos γ).
///
/// Near the poles the equation has a triple root and a plain Newton iteration in γ loses
/// half its digits, so there the unknown is ε = π/2 − |γ|, solved from
/// 2ε − sin 2ε = π (1 − |sin θ|) with both sides computed without cancellation.
fn mollweide_auxiliary(theta: f64) -> (f64, f64) {
    let colatitude = FRAC_PI_2 - theta.abs();
    if colatitude < 1e-300 {
        return (1f64.copysign(theta), 0.0);
    }
    if theta.abs() < FRAC_PI_4 {
        let target = PI * theta.sin();
        let mut gamma = theta;
        for _ in 0..50 {
            let step = (2.0 * gamma + (2.0 * gamma).sin() - target) / (2.0 + 2.0 * (2.0 * gamma).cos());
            gamma -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        return gamma.sin_cos();
    }
    let one_minus_sin = 2.0 * (colatitude / 2.0).sin().powi(2);
    let target = PI * one_minus_sin;
    let mut epsilon = (0.75 * target).cbrt();
    for _ in 0..50 {
        let slope = 4.0 * epsilon.sin().powi(2);
        if slope <= 0.0 {
            break;
        }
        let step = (t_minus_sin_t(2.0 * epsilon) - target) / slope;
        epsilon -= step;
        if step.abs() <= 1e-17 * epsilon.abs().max(1e-300) {
            break;
        }
    }
    let (sin_epsilon, cos_epsilon) = epsilon.sin_cos();
    (cos_epsilon.copysign(theta), sin_epsilon)
}

/// t − sin t, by its series where the subtraction would cancel.
fn t_minus_sin_t(t: f64) -> f64 {
    if t.abs() > 0.5 {
        return t - t.sin();
    }
    let t2 = t * t;
    // t³/3! − t⁵/5! + … − t¹⁷/17! + t¹⁹/19!, in Horner form; the next term is below 1e-19.
    let mut sum = 1.0;
    for denominator in [342.0, 272.0, 210.0, 156.0, 110.0, 72.0, 42.0, 20.0] {
        sum = 1.0 - t2 / denominator * sum;
    }
    t * t2 / 6.0 * sum
}

/// The centre longitude of the polar facet holding `phi` (four facets of 90°).
fn hpx_facet_centre(phi: f64) -> f64 {
    let facet = ((phi + PI) / FRAC_PI_2).floor().clamp(0.0, 3.0);
    -PI + (2.0 * facet + 1.0) * FRAC_PI_4
}

fn hpx_forward(phi: f64, theta: f64) -> PlanePoint {
    let sin_theta = theta.sin();
    if sin_theta.abs() <= HPX_POLAR_SIN {
        return PlanePoint { x: phi, y: HPX_EQUATOR_SCALE * sin_theta };
    }
    let sigma = (3.0 * (1.0 - sin_theta.abs())).sqrt();
    let centre = hpx_facet_centre(phi);
    PlanePoint { x: centre + (phi - centre) * sigma, y: (FRAC_PI_4 * (2.0 - sigma)).copysign(theta) }
}

fn hpx_inverse(x: f64, y: f64) -> Option<Native> {
    if y.abs() <= FRAC_PI_4 {
        let sin_theta = y / HPX_EQUATOR_SCALE;
        return Some(Native { phi: x, theta: sin_theta.asin() });
    }
    if y.abs() > FRAC_PI_2 {
        return None;
    }
    let sigma = 2.0 - y.abs() / FRAC_PI_4;
    let theta = (1.0 - sigma * sigma / 3.0).clamp(-1.0, 1.0).asin().copysign(y);
    let centre = hpx_facet_centre(x);
    let offset = x - centre;
    if offset == 0.0 {
        return Some(Native { phi: centre, theta });
    }
    // Outside the facet's triangle: the gaps between the HEALPix polar facets.
    if sigma <= 0.0 || (offset / sigma).abs() >= FRAC_PI_4 + 1e-12 {
        return None;
    }
    Some(Native { phi: centre + offset / sigma, theta })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse() {
        for p in Projection::ALL {
            assert_eq!(p.code().parse::<Projection>(), Ok(p));
            assert_eq!(p.code().to_lowercase().parse::<Projection>(), Ok(p));
        }
        assert!("XYZ".parse::<Projection>().is_err());
    }

    #[test]
    fn mollweide_auxiliary_angle_matches_a_60_digit_solution() {
        // (θ in degrees, cos γ, sin γ) from bisection in mpmath at 60 digits; 1e-14 is 2 µas.
        let cases = [
            (-89.999, 0.000710632834362863, -0.9999997475004555),
            (89.9999, 0.00015310121039671448, 0.9999999882800096),
            (85.0, 0.2068444554164851, 0.9783738402387187),
            (70.0, 0.5070612585816383, 0.8619100185318679),
            (46.0, 0.7969618501400678, 0.6040296428332967),
        ];
        for (theta, cos_gamma, sin_gamma) in cases {
            let (s, c) = mollweide_auxiliary(f64::to_radians(theta));
            assert!((c - cos_gamma).abs() < 1e-14, "{theta}: cos {c} vs {cos_gamma}");
            assert!((s - sin_gamma).abs() < 1e-14, "{theta}: sin {s} vs {sin_gamma}");
        }
    }

    #[test]
    fn hemisphere_limits() {
        let behind = Native { phi: 0.3, theta: -0.1 };
        assert!(Projection::Sin.forward(behind).is_none());
        assert!(Projection::Tan.forward(behind).is_none());
        assert!(Projection::Tan.forward(Native { phi: 0.0, theta: 0.0 }).is_none());
        assert!(Projection::Mer.forward(Native { phi: 0.0, theta: FRAC_PI_2 }).is_none());
        assert!(Projection::Sin.inverse(PlanePoint { x: 0.8, y: 0.8 }).is_none());
        assert!(Projection::Ait.inverse(PlanePoint { x: 3.0, y: 1.2 }).is_none());
        assert!(Projection::Car.inverse(PlanePoint { x: 3.5, y: 0.0 }).is_none());
        // Between the HEALPix polar facets: no sky there.
        assert!(Projection::Hpx.inverse(PlanePoint { x: 0.0, y: 1.5 }).is_none());
    }
}
