//! The view camera: where a sky view looks, how wide, how it is turned and projected, and the
//! mapping between sky directions and screen pixels in both directions.

use crate::angle::Angle;
use crate::coord::LonLat;
use crate::frame::Frame;
use crate::projection::{Native, PlanePoint, Projection};
use crate::rotation::Rotation;

/// A position on screen in pixels: origin at the top-left corner, x right, y down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScreenPoint {
    pub x: f64,
    pub y: f64,
}

/// Normalised device coordinates: (-1, -1) bottom-left to (1, 1) top-right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NdcPoint {
    pub x: f64,
    pub y: f64,
}

/// The size of the drawing surface in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub width: f64,
    pub height: f64,
}

/// What a sky view shows and how: centre and field of view in the view's frame, rotation,
/// projection and viewport. Positions passed in and out are in the view's frame; convert
/// with [`Frame::convert`] first.
///
/// The sky is seen from inside, as on a photograph: with rotation 0 north is up and east
/// (increasing longitude) is to the left.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewCamera {
    centre: LonLat,
    fov: Angle,
    rotation: Angle,
    projection: Projection,
    frame: Frame,
    viewport: Viewport,
    native_frame: Rotation,
    /// Projection-plane units (radians) per pixel.
    plane_per_pixel: f64,
}

const MIN_FOV: Angle = Angle::from_radians(1e-9);

/// The FITS WCS (Calabretta & Greisen 2002) of an image drawn by a camera: FITS pixel
/// (1, 1) is the centre of the bottom-left pixel; the image's first row on screen is its
/// last FITS row.
#[derive(Clone, Debug, PartialEq)]
pub struct Wcs {
    pub ctype: [String; 2],
    pub crpix: [f64; 2],
    /// Degrees, in the camera's frame.
    pub crval: [f64; 2],
    /// Degrees per pixel of intermediate world coordinates.
    pub cdelt: [f64; 2],
    /// The rotation matrix (row-major), the identity unless the view is turned.
    pub pc: [[f64; 2]; 2],
    pub lonpole: f64,
    pub latpole: f64,
    /// `RADESYS` and `EQUINOX` for equatorial frames.
    pub radesys: Option<(&'static str, Option<f64>)>,
}

impl ViewCamera {
    /// A camera looking at `centre` (in `frame`) with a horizontal field of view `fov`.
    /// The field of view is clamped to what the projection can show, and a viewport
    /// smaller than one pixel is taken as one pixel.
    pub fn new(centre: LonLat, fov: Angle, projection: Projection, frame: Frame, viewport: Viewport) -> ViewCamera {
        let mut camera = ViewCamera {
            centre,
            fov,
            rotation: Angle::ZERO,
            projection,
            frame,
            viewport: sane_viewport(viewport),
            native_frame: Rotation::IDENTITY,
            plane_per_pixel: 1.0,
        };
        camera.update();
        camera
    }

    pub fn centre(&self) -> LonLat {
        self.centre
    }

    pub fn fov(&self) -> Angle {
        self.fov
    }

    pub fn rotation(&self) -> Angle {
        self.rotation
    }

    pub fn projection(&self) -> Projection {
        self.projection
    }

    pub fn frame(&self) -> Frame {
        self.frame
    }

    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// The rotation taking view-frame vectors to the projection's native frame.
    pub fn native_frame(&self) -> &Rotation {
        &self.native_frame
    }

    pub fn set_centre(&mut self, centre: LonLat) {
        self.centre = centre;
        self.update();
    }

    pub fn set_fov(&mut self, fov: Angle) {
        self.fov = fov;
        self.update();
    }

    /// Turns the sky on screen counter-clockwise by `rotation`.
    pub fn set_rotation(&mut self, rotation: Angle) {
        self.rotation = rotation.wrap_to_half_turn();
    }

    pub fn set_projection(&mut self, projection: Projection) {
        self.projection = projection;
        self.update();
    }

    /// Changes the view's frame, keeping the same sky direction at the centre.
    pub fn set_frame(&mut self, frame: Frame) {
        self.centre = self.frame.convert(frame, self.centre);
        self.frame = frame;
        self.update();
    }

    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = sane_viewport(viewport);
        self.update();
    }

    /// The angle one pixel spans at the centre of the view.
    pub fn pixel_scale(&self) -> Angle {
        self.fov / self.viewport.width
    }

    /// Where a direction falls on screen, possibly outside the viewport; `None` when the
    /// projection cannot show it (the far side of a SIN or TAN view, a pole of MER).
    pub fn sky_to_screen(&self, position: LonLat) -> Option<ScreenPoint> {
        let native = Projection::to_native(&self.native_frame, position);
        let plane = self.projection.forward(native)?;
        Some(self.plane_to_screen(plane))
    }

    /// The direction under a screen point; `None` off the projection's domain.
    pub fn screen_to_sky(&self, point: ScreenPoint) -> Option<LonLat> {
        let plane = self.screen_to_plane(point);
        let native: Native = self.projection.inverse(plane)?;
        Some(Projection::from_native(&self.native_frame, native))
    }

    pub fn screen_to_ndc(&self, point: ScreenPoint) -> NdcPoint {
        NdcPoint { x: 2.0 * point.x / self.viewport.width - 1.0, y: 1.0 - 2.0 * point.y / self.viewport.height }
    }

    pub fn ndc_to_screen(&self, point: NdcPoint) -> ScreenPoint {
        ScreenPoint { x: (point.x + 1.0) * self.viewport.width / 2.0, y: (1.0 - point.y) * self.viewport.height / 2.0 }
    }

    /// Projection plane to screen: mirror (east left), rotate, scale, move the origin.
    pub fn plane_to_screen(&self, plane: PlanePoint) -> ScreenPoint {
        let (sin_r, cos_r) = self.rotation.radians().sin_cos();
        let mirrored_x = -plane.x;
        let right = (mirrored_x * cos_r - plane.y * sin_r) / self.plane_per_pixel;
        let up = (mirrored_x * sin_r + plane.y * cos_r) / self.plane_per_pixel;
        ScreenPoint { x: self.viewport.width / 2.0 + right, y: self.viewport.height / 2.0 - up }
    }

    pub fn screen_to_plane(&self, point: ScreenPoint) -> PlanePoint {
        let (sin_r, cos_r) = self.rotation.radians().sin_cos();
        let right = (point.x - self.viewport.width / 2.0) * self.plane_per_pixel;
        let up = (self.viewport.height / 2.0 - point.y) * self.plane_per_pixel;
        let mirrored_x = right * cos_r + up * sin_r;
        let y = -right * sin_r + up * cos_r;
        PlanePoint { x: -mirrored_x, y }
    }

    /// The WCS of an image of this view, one image pixel per viewport pixel.
    pub fn wcs(&self) -> Wcs {
        let (lon, lat) = match self.frame {
            Frame::Icrs | Frame::Fk5J2000 => ("RA--", "DEC-"),
            Frame::Galactic => ("GLON", "GLAT"),
            Frame::EclipticJ2000 => ("ELON", "ELAT"),
            Frame::Supergalactic => ("SLON", "SLAT"),
        };
        let code = self.projection.code();
        let step = self.plane_per_pixel.to_degrees();
        // Screen x = mirrored plane x turned by the rotation; FITS y runs up the screen.
        let (sin_r, cos_r) = self.rotation.radians().sin_cos();
        let lat0 = self.centre.lat().degrees();
        // The native pole's longitude as core/sky's native frames put it (see `native_frame`).
        let lonpole = if self.projection.is_zenithal() || lat0 < 0.0 { 180.0 } else { 0.0 };
        Wcs {
            ctype: [format!("{lon}-{code}"), format!("{lat}-{code}")],
            crpix: [(self.viewport.width + 1.0) / 2.0, (self.viewport.height + 1.0) / 2.0],
            crval: [self.centre.lon().degrees(), lat0],
            cdelt: [-step, step],
            // (+ 0.0 turns -0.0 into 0.0 in the header.)
            pc: [[cos_r, sin_r + 0.0], [-sin_r + 0.0, cos_r]],
            lonpole,
            latpole: 90.0,
            radesys: match self.frame {
                Frame::Icrs => Some(("ICRS", None)),
                Frame::Fk5J2000 => Some(("FK5", Some(2000.0))),
                _ => None,
            },
        }
    }

    fn update(&mut self) {
        self.fov =
            Angle::from_radians(self.fov.radians().clamp(MIN_FOV.radians(), self.projection.max_fov().radians()));
        if !self.fov.is_finite() {
            self.fov = self.projection.max_fov();
        }
        self.native_frame = self.projection.native_frame(self.centre);
        self.plane_per_pixel = plane_half_width(self.projection, self.fov) / (self.viewport.width / 2.0);
    }
}

/// The plane x reached by a point `fov / 2` east of the centre, so that the field of view
/// spans the viewport's width.
fn plane_half_width(projection: Projection, fov: Angle) -> f64 {
    let half = fov.radians() / 2.0;
    let native = if projection.is_zenithal() {
        Native { phi: std::f64::consts::FRAC_PI_2, theta: std::f64::consts::FRAC_PI_2 - half }
    } else {
        Native { phi: half, theta: 0.0 }
    };
    projection.forward(native).map(|p| p.x.abs()).filter(|x| *x > 0.0 && x.is_finite()).unwrap_or(half)
}

fn sane_viewport(viewport: Viewport) -> Viewport {
    let side = |v: f64| if v.is_finite() && v >= 1.0 { v } else { 1.0 };
    Viewport { width: side(viewport.width), height: side(viewport.height) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(projection: Projection) -> ViewCamera {
        ViewCamera::new(
            LonLat::from_degrees(10.684708, 41.26875).unwrap(),
            Angle::from_degrees(2.0),
            projection,
            Frame::Icrs,
            Viewport { width: 800.0, height: 600.0 },
        )
    }

    #[test]
    fn centre_maps_to_the_middle_of_the_viewport() {
        for projection in Projection::ALL {
            let cam = camera(projection);
            let p = cam.sky_to_screen(cam.centre()).unwrap();
            assert!((p.x - 400.0).abs() < 1e-6 && (p.y - 300.0).abs() < 1e-6, "{projection}: {p:?}");
        }
    }

    #[test]
    fn east_is_left_and_north_is_up() {
        let cam = camera(Projection::Tan);
        let east = LonLat::from_degrees(10.684708 + 0.5, 41.26875).unwrap();
        let north = LonLat::from_degrees(10.684708, 41.26875 + 0.5).unwrap();
        assert!(cam.sky_to_screen(east).unwrap().x < 400.0);
        assert!(cam.sky_to_screen(north).unwrap().y < 300.0);
    }

    #[test]
    fn fov_spans_the_width() {
        for projection in Projection::ALL {
            let cam = camera(projection);
            let left = cam.screen_to_sky(ScreenPoint { x: 0.0, y: 300.0 }).unwrap();
            let right = cam.screen_to_sky(ScreenPoint { x: 800.0, y: 300.0 }).unwrap();
            let span = left.separation(right).degrees();
            assert!((span - 2.0).abs() < 1e-3, "{projection}: {span}");
        }
    }

    #[test]
    fn fov_is_clamped_to_the_projection() {
        let mut cam = camera(Projection::Sin);
        cam.set_fov(Angle::from_degrees(400.0));
        assert_eq!(cam.fov(), Projection::Sin.max_fov());
        cam.set_fov(Angle::from_radians(f64::NAN));
        assert!(cam.fov().is_finite());
    }

    #[test]
    fn ndc_round_trip() {
        let cam = camera(Projection::Ait);
        let p = ScreenPoint { x: 12.5, y: 590.0 };
        let back = cam.ndc_to_screen(cam.screen_to_ndc(p));
        assert!((back.x - p.x).abs() < 1e-12 && (back.y - p.y).abs() < 1e-12);
        assert_eq!(cam.screen_to_ndc(ScreenPoint { x: 0.0, y: 0.0 }), NdcPoint { x: -1.0, y: 1.0 });
    }
}
