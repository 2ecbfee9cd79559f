//! Celestial reference frames and the fixed rotations between them.
//!
//! Every conversion goes through ICRS. The matrices are those astropy uses:
//! - FK5 (J2000): the frame tie of USNO Circular 179 (pole and equinox offsets of FK5);
//! - Galactic: the IAU 1958 system as realised in FK5 J2000 (north pole at
//!   α = 192.859 481 2°, δ = 27.128 251 2°, origin at position angle 122.931 918 6°);
//! - Ecliptic (J2000): the mean ecliptic and equinox of J2000, IAU 2006 (ERFA `eraEcm06` at
//!   J2000, astropy's `BarycentricMeanEcliptic`);
//! - Supergalactic: de Vaucouleurs' system, north pole at l = 47.37°, b = +6.32°, origin at
//!   l = 137.37° (astropy's `Supergalactic`).
//!
//! These are directions only: no proper motion, parallax or aberration.

use crate::angle::Angle;
use crate::coord::LonLat;
use crate::rotation::Rotation;
use std::fmt;
use std::str::FromStr;

/// A celestial reference frame for directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Frame {
    Icrs,
    Fk5J2000,
    Galactic,
    EclipticJ2000,
    Supergalactic,
}

/// A frame name that [`Frame::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unknown frame {0:?}: expected icrs, fk5, galactic, ecliptic or supergalactic")]
pub struct UnknownFrame(pub String);

impl Frame {
    pub const ALL: [Frame; 5] =
        [Frame::Icrs, Frame::Fk5J2000, Frame::Galactic, Frame::EclipticJ2000, Frame::Supergalactic];

    /// The short lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Frame::Icrs => "icrs",
            Frame::Fk5J2000 => "fk5",
            Frame::Galactic => "galactic",
            Frame::EclipticJ2000 => "ecliptic",
            Frame::Supergalactic => "supergalactic",
        }
    }

    /// Whether longitudes in this frame are right ascensions, written in hours by convention.
    pub fn is_equatorial(self) -> bool {
        matches!(self, Frame::Icrs | Frame::Fk5J2000)
    }

    /// The rotation taking ICRS vectors to this frame's vectors.
    pub fn from_icrs(self) -> Rotation {
        match self {
            Frame::Icrs => Rotation::IDENTITY,
            Frame::Fk5J2000 => icrs_to_fk5(),
            Frame::Galactic => fk5_to_galactic().after(&icrs_to_fk5()),
            Frame::EclipticJ2000 => icrs_to_ecliptic(),
            Frame::Supergalactic => galactic_to_supergalactic().after(&fk5_to_galactic()).after(&icrs_to_fk5()),
        }
    }

    /// The rotation taking this frame's vectors to `target`'s.
    pub fn rotation_to(self, target: Frame) -> Rotation {
        if self == target {
            return Rotation::IDENTITY;
        }
        target.from_icrs().after(&self.from_icrs().inverse())
    }

    /// A direction given in this frame, expressed in `target`.
    pub fn convert(self, target: Frame, position: LonLat) -> LonLat {
        if self == target {
            return position;
        }
        LonLat::from_vec3(self.rotation_to(target).apply(position.to_vec3()))
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Frame {
    type Err = UnknownFrame;

    /// Accepts the names users and VO documents use: `icrs`, `fk5`/`j2000`, `galactic`/`gal`,
    /// `ecliptic`/`ecl`, `supergalactic`/`sgal`, in any case.
    fn from_str(text: &str) -> Result<Frame, UnknownFrame> {
        match text.trim().to_ascii_lowercase().as_str() {
            "icrs" => Ok(Frame::Icrs),
            "fk5" | "j2000" | "fk5j2000" => Ok(Frame::Fk5J2000),
            "galactic" | "gal" => Ok(Frame::Galactic),
            "ecliptic" | "ecl" => Ok(Frame::EclipticJ2000),
            "supergalactic" | "sgal" | "supergal" => Ok(Frame::Supergalactic),
            _ => Err(UnknownFrame(text.to_owned())),
        }
    }
}

/// The FK5 to ICRS frame tie of USNO Circular 179 (Mignard & Froeschlé 2000), as astropy has it:
/// the FK5 pole offset (η₀ = −19.9 mas, ξ₀ = 9.1 mas) and equinox offset (dα₀ = −22.9 mas).
fn icrs_to_fk5() -> Rotation {
    let eta0 = Angle::from_mas(-19.9);
    let xi0 = Angle::from_mas(9.1);
    let da0 = Angle::from_mas(-22.9);
    Rotation::about_x(-eta0).after(&Rotation::about_y(xi0)).after(&Rotation::about_z(da0))
}

fn fk5_to_galactic() -> Rotation {
    let pole_ra = Angle::from_degrees(192.859_481_206_534_8);
    let pole_dec = Angle::from_degrees(27.128_251_180_856_22);
    let ncp_position_angle = Angle::from_degrees(122.931_918_568_002_6);
    Rotation::about_z(Angle::HALF_TURN - ncp_position_angle)
        .after(&Rotation::about_y(Angle::RIGHT - pole_dec))
        .after(&Rotation::about_z(pole_ra))
}

fn galactic_to_supergalactic() -> Rotation {
    let pole_l = Angle::from_degrees(47.37);
    let pole_b = Angle::from_degrees(6.32);
    Rotation::about_z(Angle::RIGHT).after(&Rotation::about_y(Angle::RIGHT - pole_b)).after(&Rotation::about_z(pole_l))
}

/// ERFA `eraEcm06` at J2000: the Fukushima-Williams bias angles at t = 0 followed by the
/// rotation into the ecliptic, which cancels the obliquity term of the precession matrix.
fn icrs_to_ecliptic() -> Rotation {
    let gamma_bias = Angle::from_arcsec(-0.052928);
    let phi_bias = Angle::from_arcsec(84381.412819);
    let psi_bias = Angle::from_arcsec(-0.041775);
    Rotation::about_z(-psi_bias).after(&Rotation::about_x(phi_bias)).after(&Rotation::about_z(gamma_bias))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galactic_centre_and_pole() {
        let centre = Frame::Galactic.convert(Frame::Fk5J2000, LonLat::from_degrees(0.0, 0.0).unwrap());
        // The galactic centre in FK5 J2000, as astropy gives it.
        assert!((centre.lon().degrees() - 266.404_996_234).abs() < 1e-8);
        assert!((centre.lat().degrees() + 28.936_172_403).abs() < 1e-8);
    }

    #[test]
    fn names_parse() {
        for frame in Frame::ALL {
            assert_eq!(frame.name().parse::<Frame>(), Ok(frame));
        }
        assert_eq!("GAL".parse::<Frame>(), Ok(Frame::Galactic));
        assert!("b1950".parse::<Frame>().is_err());
    }
}
