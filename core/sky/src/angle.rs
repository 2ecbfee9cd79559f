//! Angles: one newtype, radians inside, degrees and sexagesimal at the edges.

use std::f64::consts::{PI, TAU};
use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// An angle. Stored in radians; build and read it in whatever unit the caller speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Angle(f64);

const ARCSEC_PER_RADIAN: f64 = 180.0 * 3600.0 / PI;

impl Angle {
    pub const ZERO: Angle = Angle(0.0);
    pub const RIGHT: Angle = Angle(PI / 2.0);
    pub const HALF_TURN: Angle = Angle(PI);
    pub const TURN: Angle = Angle(TAU);

    pub const fn from_radians(radians: f64) -> Angle {
        Angle(radians)
    }

    pub fn from_degrees(degrees: f64) -> Angle {
        Angle(degrees.to_radians())
    }

    pub fn from_hours(hours: f64) -> Angle {
        Angle((hours * 15.0).to_radians())
    }

    pub fn from_arcmin(arcmin: f64) -> Angle {
        Angle(arcmin * 60.0 / ARCSEC_PER_RADIAN)
    }

    pub fn from_arcsec(arcsec: f64) -> Angle {
        Angle(arcsec / ARCSEC_PER_RADIAN)
    }

    pub fn from_mas(mas: f64) -> Angle {
        Angle(mas / 1000.0 / ARCSEC_PER_RADIAN)
    }

    pub const fn radians(self) -> f64 {
        self.0
    }

    pub fn degrees(self) -> f64 {
        self.0.to_degrees()
    }

    pub fn hours(self) -> f64 {
        self.0.to_degrees() / 15.0
    }

    pub fn arcmin(self) -> f64 {
        self.0 * ARCSEC_PER_RADIAN / 60.0
    }

    pub fn arcsec(self) -> f64 {
        self.0 * ARCSEC_PER_RADIAN
    }

    pub fn mas(self) -> f64 {
        self.0 * ARCSEC_PER_RADIAN * 1000.0
    }

    pub fn abs(self) -> Angle {
        Angle(self.0.abs())
    }

    pub fn sin(self) -> f64 {
        self.0.sin()
    }

    pub fn cos(self) -> f64 {
        self.0.cos()
    }

    pub fn is_finite(self) -> bool {
        self.0.is_finite()
    }

    /// The same direction as a longitude in [0, 2π).
    pub fn wrap_to_turn(self) -> Angle {
        let wrapped = self.0.rem_euclid(TAU);
        // rem_euclid can round up to exactly TAU for tiny negative inputs.
        Angle(if wrapped >= TAU { 0.0 } else { wrapped })
    }

    /// The same direction as an offset in [-π, π).
    pub fn wrap_to_half_turn(self) -> Angle {
        Angle((self.0 + PI).rem_euclid(TAU) - PI)
    }

    /// Sexagesimal hours, `HH:MM:SS.sss`, for right ascension. The angle is wrapped to [0, 24h).
    pub fn to_hms(self, decimals: usize) -> String {
        let hours = self.wrap_to_turn().hours();
        let (h, m, s) = split_sexagesimal(hours, decimals);
        let h = h % 24;
        format!("{h:02}:{m:02}:{}", format_seconds(s, decimals))
    }

    /// Sexagesimal degrees with an explicit sign, `+DD:MM:SS.ss`, for latitudes.
    pub fn to_dms(self, decimals: usize) -> String {
        let degrees = self.degrees();
        let sign = if degrees < 0.0 { '-' } else { '+' };
        let (d, m, s) = split_sexagesimal(degrees.abs(), decimals);
        format!("{sign}{d:02}:{m:02}:{}", format_seconds(s, decimals))
    }
}

/// Splits a non-negative value into whole units, minutes and seconds, carrying when the
/// seconds would print as 60 after rounding.
fn split_sexagesimal(value: f64, decimals: usize) -> (u64, u64, f64) {
    let scale = 10f64.powi(decimals.min(9) as i32);
    let total_seconds = (value * 3600.0 * scale).round() / scale;
    let whole = (total_seconds / 3600.0).floor();
    let rest = total_seconds - whole * 3600.0;
    let minutes = (rest / 60.0).floor();
    let seconds = (rest - minutes * 60.0).max(0.0);
    (whole as u64, minutes as u64, seconds)
}

fn format_seconds(seconds: f64, decimals: usize) -> String {
    if decimals == 0 { format!("{seconds:02.0}") } else { format!("{seconds:0width$.decimals$}", width = decimals + 3) }
}

impl fmt::Display for Angle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}°", self.degrees())
    }
}

impl Add for Angle {
    type Output = Angle;
    fn add(self, rhs: Angle) -> Angle {
        Angle(self.0 + rhs.0)
    }
}

impl Sub for Angle {
    type Output = Angle;
    fn sub(self, rhs: Angle) -> Angle {
        Angle(self.0 - rhs.0)
    }
}

impl Neg for Angle {
    type Output = Angle;
    fn neg(self) -> Angle {
        Angle(-self.0)
    }
}

impl Mul<f64> for Angle {
    type Output = Angle;
    fn mul(self, rhs: f64) -> Angle {
        Angle(self.0 * rhs)
    }
}

impl Div<f64> for Angle {
    type Output = Angle;
    fn div(self, rhs: f64) -> Angle {
        Angle(self.0 / rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_agree() {
        let a = Angle::from_degrees(15.0);
        assert!((a.hours() - 1.0).abs() < 1e-15);
        assert!((Angle::from_arcsec(3600.0).degrees() - 1.0).abs() < 1e-14);
        assert!((Angle::from_mas(1000.0).arcsec() - 1.0).abs() < 1e-14);
        assert!((Angle::from_arcmin(60.0).degrees() - 1.0).abs() < 1e-14);
    }

    #[test]
    fn wraps() {
        assert!((Angle::from_degrees(-10.0).wrap_to_turn().degrees() - 350.0).abs() < 1e-12);
        assert!((Angle::from_degrees(190.0).wrap_to_half_turn().degrees() + 170.0).abs() < 1e-12);
        assert_eq!(Angle::from_radians(-1e-300).wrap_to_turn().radians(), 0.0);
    }

    #[test]
    fn sexagesimal_formatting_carries_rounded_seconds() {
        assert_eq!(Angle::from_hours(10.0 + 41.0 / 60.0 + 4.5 / 3600.0).to_hms(1), "10:41:04.5");
        assert_eq!(Angle::from_degrees(-(41.0 + 16.0 / 60.0 + 9.0 / 3600.0)).to_dms(0), "-41:16:09");
        // 59.9999 s rounds to 60.0: it must carry into the minutes.
        assert_eq!(Angle::from_degrees(1.0 + 59.0 / 60.0 + 59.9999 / 3600.0).to_dms(1), "+02:00:00.0");
        assert_eq!(Angle::from_hours(23.999_999_99).to_hms(2), "00:00:00.00");
    }
}
