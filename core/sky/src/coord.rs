//! Directions on the sky: longitude/latitude pairs and unit vectors.

use crate::angle::Angle;
use std::f64::consts::FRAC_PI_2;
use std::ops::{Add, Mul, Neg, Sub};

/// A direction on the sky as longitude and latitude, in whatever frame the caller keeps track of.
///
/// Longitude is kept in [0, 2π); latitude in [-π/2, π/2]. Values outside these ranges cannot be
/// built through [`LonLat::new`], so every `LonLat` is a real direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LonLat {
    lon: Angle,
    lat: Angle,
}

/// Why a longitude/latitude pair is not a direction.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CoordError {
    #[error("latitude {0}° is outside -90°..+90°")]
    LatitudeOutOfRange(f64),
    #[error("coordinates must be finite numbers, got lon = {lon}, lat = {lat}")]
    NotFinite { lon: f64, lat: f64 },
}

/// Latitudes may overshoot the pole by rounding; this much is forgiven and clamped.
const POLE_TOLERANCE: f64 = 1e-12;

impl LonLat {
    /// A direction; longitude wraps into [0, 2π), latitude must lie within ±90°.
    pub fn new(lon: Angle, lat: Angle) -> Result<LonLat, CoordError> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(CoordError::NotFinite { lon: lon.degrees(), lat: lat.degrees() });
        }
        if lat.radians().abs() > FRAC_PI_2 + POLE_TOLERANCE {
            return Err(CoordError::LatitudeOutOfRange(lat.degrees()));
        }
        let lat = Angle::from_radians(lat.radians().clamp(-FRAC_PI_2, FRAC_PI_2));
        Ok(LonLat { lon: lon.wrap_to_turn(), lat })
    }

    pub fn from_degrees(lon: f64, lat: f64) -> Result<LonLat, CoordError> {
        LonLat::new(Angle::from_degrees(lon), Angle::from_degrees(lat))
    }

    pub fn from_radians(lon: f64, lat: f64) -> Result<LonLat, CoordError> {
        LonLat::new(Angle::from_radians(lon), Angle::from_radians(lat))
    }

    pub fn lon(self) -> Angle {
        self.lon
    }

    pub fn lat(self) -> Angle {
        self.lat
    }

    pub fn to_vec3(self) -> Vec3 {
        let (sin_lon, cos_lon) = self.lon.radians().sin_cos();
        let (sin_lat, cos_lat) = self.lat.radians().sin_cos();
        Vec3::new(cos_lat * cos_lon, cos_lat * sin_lon, sin_lat)
    }

    /// The direction of a vector; the zero vector points to (0, 0).
    pub fn from_vec3(v: Vec3) -> LonLat {
        let lon = if v.x == 0.0 && v.y == 0.0 { 0.0 } else { v.y.atan2(v.x) };
        let lat = v.z.atan2(v.x.hypot(v.y));
        LonLat { lon: Angle::from_radians(lon).wrap_to_turn(), lat: Angle::from_radians(lat) }
    }

    /// Great-circle distance, accurate at every separation (vector form, not the cosine rule).
    pub fn separation(self, other: LonLat) -> Angle {
        self.to_vec3().angle_to(other.to_vec3())
    }
}

/// A 3-vector; as a direction on the sky it is (cos b cos l, cos b sin l, sin b).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Vec3 {
    pub const fn new(x: f64, y: f64, z: f64) -> Vec3 {
        Vec3 { x, y, z }
    }

    pub fn dot(self, other: Vec3) -> f64 {
        self.x * other.x + self.y * other.y + self.z * other.z
    }

    pub fn cross(self, other: Vec3) -> Vec3 {
        Vec3::new(
            self.y * other.z - self.z * other.y,
            self.z * other.x - self.x * other.z,
            self.x * other.y - self.y * other.x,
        )
    }

    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// The unit vector along `self`, or `None` for the zero vector.
    pub fn normalized(self) -> Option<Vec3> {
        let n = self.norm();
        (n > 0.0 && n.is_finite()).then(|| self * (1.0 / n))
    }

    /// The angle between two vectors, well conditioned near 0 and π.
    pub fn angle_to(self, other: Vec3) -> Angle {
        Angle::from_radians(self.cross(other).norm().atan2(self.dot(other)))
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    fn add(self, rhs: Vec3) -> Vec3 {
        Vec3::new(self.x + rhs.x, self.y + rhs.y, self.z + rhs.z)
    }
}

impl Sub for Vec3 {
    type Output = Vec3;
    fn sub(self, rhs: Vec3) -> Vec3 {
        Vec3::new(self.x - rhs.x, self.y - rhs.y, self.z - rhs.z)
    }
}

impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        Vec3::new(-self.x, -self.y, -self.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Vec3;
    fn mul(self, rhs: f64) -> Vec3 {
        Vec3::new(self.x * rhs, self.y * rhs, self.z * rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_latitudes_beyond_the_poles() {
        assert_eq!(LonLat::from_degrees(0.0, 90.5), Err(CoordError::LatitudeOutOfRange(90.5)));
        assert!(LonLat::from_degrees(f64::NAN, 0.0).is_err());
        assert!(LonLat::from_degrees(0.0, 90.0).is_ok());
    }

    #[test]
    fn tiny_separations_are_exact() {
        let a = LonLat::from_degrees(10.0, 20.0).unwrap();
        let b = LonLat::from_degrees(10.0, 20.0 + 1e-9).unwrap();
        let sep = a.separation(b).degrees();
        // The input itself carries ~3e-15° of rounding; the separation must not add more.
        assert!((sep - 1e-9).abs() < 1e-14, "{sep}");
    }

    #[test]
    fn vectors_round_trip() {
        let p = LonLat::from_degrees(359.5, -45.0).unwrap();
        let q = LonLat::from_vec3(p.to_vec3());
        assert!(p.separation(q).mas() < 1e-6);
    }
}
