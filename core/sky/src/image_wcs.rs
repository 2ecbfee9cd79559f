//! The celestial WCS of a FITS image (Greisen & Calabretta 2002, Calabretta & Greisen 2002):
//! pixel ↔ sky for the projections of [`Projection`], read from header cards (CTYPEi, CRVALi,
//! CRPIXi, and CDi_j, or PCi_j with CDELTi, or CDELTi with CROTA2).
//!
//! The native frame is the projection's default one (LONPOLE 180° for zenithal projections,
//! as FITS has it); headers that set LONPOLE or LATPOLE otherwise, and distortions (SIP,
//! TPV), are not read.

use crate::coord::LonLat;
use crate::frame::Frame;
use crate::projection::{Native, PlanePoint, Projection};
use crate::rotation::Rotation;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WcsError {
    #[error("the image has no celestial WCS: {0}")]
    Missing(String),
    #[error("the image's WCS is not one Skyglass reads: {0}")]
    Unsupported(String),
}

#[derive(Clone, Debug)]
pub struct ImageWcs {
    pub projection: Projection,
    /// The frame of the image's world coordinates.
    pub frame: Frame,
    pub crval: LonLat,
    /// The reference pixel, 1-based as in FITS.
    pub crpix: [f64; 2],
    /// Pixel offsets to intermediate world coordinates, degrees per pixel.
    pub cd: [[f64; 2]; 2],
    native_frame: Rotation,
}

impl ImageWcs {
    /// The WCS of the header whose cards `card` looks up.
    pub fn from_header(card: impl Fn(&str) -> Option<String>) -> Result<ImageWcs, WcsError> {
        let number = |key: &str| card(key).and_then(|v| v.trim().parse::<f64>().ok());
        let ctype1 = card("CTYPE1").ok_or_else(|| WcsError::Missing("no CTYPE1".into()))?;
        let ctype2 = card("CTYPE2").ok_or_else(|| WcsError::Missing("no CTYPE2".into()))?;
        let axis = |ctype: &str| -> (String, String) {
            let (kind, code) = ctype.split_once('-').unwrap_or((ctype, ""));
            (kind.to_ascii_uppercase(), code.trim_start_matches('-').to_ascii_uppercase())
        };
        let ((lon, code1), (lat, code2)) = (axis(&ctype1), axis(&ctype2));
        if code1 != code2 {
            return Err(WcsError::Unsupported(format!("CTYPE1 {ctype1:?} and CTYPE2 {ctype2:?} differ")));
        }
        let code = code1.split('-').next().unwrap_or("").to_owned();
        let projection: Projection =
            code.parse().map_err(|_| WcsError::Unsupported(format!("the projection {code:?} of {ctype1:?}")))?;
        if code1.len() > 3 {
            return Err(WcsError::Unsupported(format!("distortions ({ctype1})")));
        }
        let frame = match (lon.as_str(), lat.as_str()) {
            ("RA", "DEC") => match (
                card("RADESYS").or_else(|| card("RADECSYS")).as_deref(),
                number("EQUINOX").or_else(|| number("EPOCH")),
            ) {
                (Some("ICRS"), _) => Frame::Icrs,
                (Some("FK4" | "FK4-NO-E"), _) => {
                    return Err(WcsError::Unsupported("B1950 (FK4) coordinates".into()));
                }
                (None, Some(equinox)) if (equinox - 1950.0).abs() < 0.5 => {
                    return Err(WcsError::Unsupported("B1950 (FK4) coordinates".into()));
                }
                (None, None) => Frame::Icrs,
                _ => Frame::Fk5J2000,
            },
            ("GLON", "GLAT") => Frame::Galactic,
            ("ELON", "ELAT") => Frame::EclipticJ2000,
            ("SLON", "SLAT") => Frame::Supergalactic,
            _ => return Err(WcsError::Unsupported(format!("the axes {ctype1} and {ctype2}"))),
        };
        if let Some(lonpole) = number("LONPOLE") {
            let default = if projection.is_zenithal() { 180.0 } else { lonpole };
            if (lonpole - default).abs() > 1e-9 {
                return Err(WcsError::Unsupported(format!("LONPOLE = {lonpole}")));
            }
        }
        let crval = LonLat::from_degrees(
            number("CRVAL1").ok_or_else(|| WcsError::Missing("no CRVAL1".into()))?,
            number("CRVAL2").ok_or_else(|| WcsError::Missing("no CRVAL2".into()))?,
        )
        .map_err(|e| WcsError::Unsupported(format!("CRVAL: {e}")))?;
        let crpix = [number("CRPIX1").unwrap_or(0.0), number("CRPIX2").unwrap_or(0.0)];
        let cd = if number("CD1_1").is_some() || number("CD2_2").is_some() {
            let cd = |i, j| number(&format!("CD{i}_{j}")).unwrap_or(0.0);
            [[cd(1, 1), cd(1, 2)], [cd(2, 1), cd(2, 2)]]
        } else {
            let cdelt = [number("CDELT1").unwrap_or(1.0), number("CDELT2").unwrap_or(1.0)];
            let has_pc = (1..=2).any(|i| (1..=2).any(|j| number(&format!("PC{i}_{j}")).is_some()));
            if has_pc {
                let pc = |i: usize, j: usize| number(&format!("PC{i}_{j}")).unwrap_or(if i == j { 1.0 } else { 0.0 });
                [[cdelt[0] * pc(1, 1), cdelt[0] * pc(1, 2)], [cdelt[1] * pc(2, 1), cdelt[1] * pc(2, 2)]]
            } else {
                let (sin, cos) = number("CROTA2").unwrap_or(0.0).to_radians().sin_cos();
                [[cdelt[0] * cos, -cdelt[1] * sin], [cdelt[0] * sin, cdelt[1] * cos]]
            }
        };
        let determinant = cd[0][0] * cd[1][1] - cd[0][1] * cd[1][0];
        if !determinant.is_finite() || determinant == 0.0 {
            return Err(WcsError::Unsupported("a singular CD matrix".into()));
        }
        Ok(ImageWcs { projection, frame, crval, crpix, cd, native_frame: projection.native_frame(crval) })
    }

    /// The rotation from the image frame's vectors to the projection's native ones.
    pub fn native_frame(&self) -> &Rotation {
        &self.native_frame
    }

    /// Intermediate world coordinates (degrees) to pixel offsets from CRPIX: CD's inverse.
    pub fn inverse_cd(&self) -> [[f64; 2]; 2] {
        let [[a, b], [c, d]] = self.cd;
        let determinant = a * d - b * c;
        [[d / determinant, -b / determinant], [-c / determinant, a / determinant]]
    }

    /// The sky (in the image's frame) at a pixel, 1-based as in FITS.
    pub fn pixel_to_world(&self, x: f64, y: f64) -> Option<LonLat> {
        let (dx, dy) = (x - self.crpix[0], y - self.crpix[1]);
        let [[a, b], [c, d]] = self.cd;
        let plane = PlanePoint { x: (a * dx + b * dy).to_radians(), y: (c * dx + d * dy).to_radians() };
        let native: Native = self.projection.inverse(plane)?;
        Some(Projection::from_native(&self.native_frame, native))
    }

    /// The pixel (1-based) of a direction in the image's frame; `None` where the projection
    /// cannot show it.
    pub fn world_to_pixel(&self, position: LonLat) -> Option<(f64, f64)> {
        let plane = self.projection.forward(Projection::to_native(&self.native_frame, position))?;
        let (x, y) = (plane.x.to_degrees(), plane.y.to_degrees());
        let [[a, b], [c, d]] = self.inverse_cd();
        Some((a * x + b * y + self.crpix[0], c * x + d * y + self.crpix[1]))
    }
}
