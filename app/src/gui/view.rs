//! The view the user steers: where it looks, how wide, in which projection and frame; and
//! the gestures that change it. Pure logic over `core/sky`, tested without a window.

use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, Vec3, ViewCamera, Viewport};

/// Smallest field of view, 0.36″: deeper than most HiPS go (the mesh path draws narrow
/// fields in double precision).
const MIN_FOV_DEGREES: f64 = 1e-4;

#[derive(Clone, Debug)]
pub struct ViewState {
    /// The centre, in `frame`.
    pub centre: LonLat,
    pub fov: Angle,
    pub projection: Projection,
    pub frame: Frame,
    pub rotation: Angle,
}

impl Default for ViewState {
    /// The whole sky in galactic coordinates, the Milky Way across the middle.
    fn default() -> Self {
        ViewState {
            centre: LonLat::from_degrees(0.0, 0.0).unwrap_or_else(|_| LonLat::from_vec3(Vec3::new(1.0, 0.0, 0.0))),
            fov: Angle::from_degrees(360.0),
            projection: Projection::Ait,
            frame: Frame::Galactic,
            rotation: Angle::from_degrees(0.0),
        }
    }
}

impl ViewState {
    /// The camera for a viewport of `width` x `height` pixels.
    pub fn camera(&self, width: f64, height: f64) -> ViewCamera {
        let mut camera = ViewCamera::new(
            self.centre,
            self.clamped_fov(),
            self.projection,
            self.frame,
            Viewport { width: width.max(1.0), height: height.max(1.0) },
        );
        camera.set_rotation(self.rotation);
        camera
    }

    fn clamped_fov(&self) -> Angle {
        let max = self.projection.max_fov().degrees();
        Angle::from_degrees(self.fov.degrees().clamp(MIN_FOV_DEGREES, max))
    }

    /// Drag: the sky follows the pointer, which moved by `delta` pixels.
    pub fn pan(&mut self, camera: &ViewCamera, delta: [f64; 2]) {
        let viewport = camera.viewport();
        let target = ScreenPoint { x: viewport.width / 2.0 - delta[0], y: viewport.height / 2.0 - delta[1] };
        if let Some(centre) = camera.screen_to_sky(target) {
            self.centre = centre;
        }
    }

    /// Zoom by `factor` (> 1 zooms in) keeping the sky under `anchor` where it is.
    pub fn zoom_at(&mut self, camera: &ViewCamera, factor: f64, anchor: ScreenPoint) {
        if !(factor.is_finite() && factor > 0.0) {
            return;
        }
        let before = camera.screen_to_sky(anchor);
        self.fov = Angle::from_degrees(self.fov.degrees() / factor);
        self.fov = self.clamped_fov();
        let Some(before) = before else { return };
        let viewport = camera.viewport();
        // Rotating the centre also turns the view a little about it (north stays up), so the
        // anchor lands near, not on, its old sky position: a few rounds close the gap.
        for _ in 0..4 {
            let Some(after) = self.camera(viewport.width, viewport.height).screen_to_sky(anchor) else { return };
            if after.separation(before).radians() < 1e-12 {
                break;
            }
            self.centre = rotate_toward(self.centre, after, before);
        }
    }

    /// Put a screen point at the centre (double-click).
    pub fn centre_on(&mut self, camera: &ViewCamera, point: ScreenPoint) {
        if let Some(position) = camera.screen_to_sky(point) {
            self.centre = position;
        }
    }

    /// Go to a position given in ICRS.
    pub fn go_to_icrs(&mut self, position: LonLat) {
        self.centre = Frame::Icrs.convert(self.frame, position);
    }

    /// Centres the view on `centre` (ICRS) with a field wide enough for a circle of `radius`
    /// and a margin, down to a tenth of an arcsecond and up to what the projection shows.
    pub fn show_region(&mut self, centre: LonLat, radius: Angle) {
        self.go_to_icrs(centre);
        let wanted = (2.4 * radius.degrees()).max(1.0 / 36_000.0);
        self.fov = Angle::from_degrees(wanted);
        self.fov = self.clamped_fov();
    }

    /// Change frame, keeping the same spot of sky in the centre.
    pub fn set_frame(&mut self, frame: Frame) {
        self.centre = self.frame.convert(frame, self.centre);
        self.frame = frame;
    }

    pub fn set_projection(&mut self, projection: Projection) {
        self.projection = projection;
        self.fov = self.clamped_fov();
    }
}

/// `point` moved by the rotation that takes `from` to `to` (about their common normal).
fn rotate_toward(point: LonLat, from: LonLat, to: LonLat) -> LonLat {
    let (a, b, p) = (from.to_vec3(), to.to_vec3(), point.to_vec3());
    let Some(axis) = a.cross(b).normalized() else { return point };
    let angle = a.angle_to(b).radians();
    let (sin, cos) = angle.sin_cos();
    // Rodrigues' formula.
    let rotated = p * cos + axis.cross(p) * sin + axis * (axis.dot(p) * (1.0 - cos));
    LonLat::from_vec3(rotated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: LonLat, b: LonLat) -> bool {
        a.separation(b).degrees() < 1e-6
    }

    #[test]
    fn zoom_keeps_the_sky_under_the_pointer() {
        let mut view = ViewState {
            centre: LonLat::from_degrees(83.8, -5.4).unwrap(),
            fov: Angle::from_degrees(30.0),
            projection: Projection::Tan,
            frame: Frame::Icrs,
            ..ViewState::default()
        };
        let camera = view.camera(800.0, 600.0);
        let anchor = ScreenPoint { x: 600.0, y: 150.0 };
        let before = camera.screen_to_sky(anchor).unwrap();
        view.zoom_at(&camera, 2.0, anchor);
        assert!((view.fov.degrees() - 15.0).abs() < 1e-9);
        let after = view.camera(800.0, 600.0).screen_to_sky(anchor).unwrap();
        // Well under a pixel (0.02° here).
        assert!(before.separation(after).degrees() < 1e-4, "moved {}°", before.separation(after).degrees());
    }

    #[test]
    fn drag_moves_the_sky_with_the_pointer_and_east_is_left() {
        let mut view = ViewState {
            centre: LonLat::from_degrees(10.0, 0.0).unwrap(),
            fov: Angle::from_degrees(20.0),
            projection: Projection::Sin,
            frame: Frame::Icrs,
            ..ViewState::default()
        };
        let camera = view.camera(1000.0, 1000.0);
        // Dragging right brings what was on the left (east, larger RA) to the centre.
        view.pan(&camera, [100.0, 0.0]);
        assert!(view.centre.lon().degrees() > 10.0);
        assert!(view.centre.lat().degrees().abs() < 1e-9);
    }

    #[test]
    fn frames_change_without_moving_the_sky() {
        let mut view = ViewState::default();
        let start = Frame::Galactic.convert(Frame::Icrs, view.centre);
        view.set_frame(Frame::Icrs);
        assert!(close(view.centre, start));
        view.go_to_icrs(LonLat::from_degrees(10.68, 41.27).unwrap());
        assert!(close(view.centre, LonLat::from_degrees(10.68, 41.27).unwrap()));
    }

    #[test]
    fn the_field_of_view_stays_within_what_the_projection_shows() {
        let mut view = ViewState::default();
        view.set_projection(Projection::Tan);
        assert!(view.fov.degrees() <= Projection::Tan.max_fov().degrees());
        let camera = view.camera(100.0, 100.0);
        view.zoom_at(&camera, 1e9, ScreenPoint { x: 50.0, y: 50.0 });
        assert!(view.fov.degrees() >= MIN_FOV_DEGREES);
        view.zoom_at(&camera, f64::NAN, ScreenPoint { x: 50.0, y: 50.0 });
        assert!(view.fov.degrees().is_finite());
    }
}
