//! Round trips and invariants over random inputs (proptest): projections forward/inverse,
//! the camera screen ↔ sky, frame conversions there and back, HEALPix view coverage, and
//! the coordinate parser on arbitrary text.

// Test helpers may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use skyglass_sky::healpix::{self, Cell};
use skyglass_sky::projection::Native;
use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, ViewCamera, Viewport, parse_position};
use std::f64::consts::{FRAC_PI_2, PI};

fn any_projection() -> impl Strategy<Value = Projection> {
    prop::sample::select(Projection::ALL.to_vec())
}

fn any_frame() -> impl Strategy<Value = Frame> {
    prop::sample::select(Frame::ALL.to_vec())
}

/// Directions spread over the whole sphere, poles included.
fn any_direction() -> impl Strategy<Value = LonLat> {
    (0.0..360.0f64, -1.0..=1.0f64).prop_map(|(lon, z)| LonLat::from_degrees(lon, z.asin().to_degrees()).unwrap())
}

/// Native points inside each projection's domain, kept off the edges where the inverse is
/// ill-conditioned (TAN's horizon, MER's poles) or ambiguous (φ = ±180°).
fn native_in_domain(projection: Projection) -> impl Strategy<Value = Native> {
    let theta_min = match projection {
        Projection::Sin => 0.02,
        Projection::Tan => 0.1,
        Projection::Stg => -1.4,
        _ => -FRAC_PI_2 + 0.02,
    };
    let theta_max = if projection == Projection::Mer { FRAC_PI_2 - 0.02 } else { FRAC_PI_2 - 1e-6 };
    (-PI + 1e-6..PI - 1e-6, theta_min..theta_max).prop_map(|(phi, theta)| Native { phi, theta })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn projection_inverse_undoes_forward((projection, native) in any_projection().prop_flat_map(|p| (Just(p), native_in_domain(p)))) {
        let plane = projection.forward(native);
        prop_assert!(plane.is_some(), "{projection} cannot project {native:?}");
        let back = projection.inverse(plane.unwrap());
        prop_assert!(back.is_some(), "{projection} cannot deproject {plane:?}");
        let back = back.unwrap();
        let a = LonLat::from_radians(native.phi, native.theta).unwrap();
        let b = LonLat::from_radians(back.phi, back.theta).unwrap();
        prop_assert!(a.separation(b).mas() < 0.01, "{projection}: {native:?} -> {plane:?} -> {back:?}");
    }

    #[test]
    fn camera_screen_to_sky_undoes_sky_to_screen(
        projection in any_projection(),
        frame in any_frame(),
        centre in any_direction(),
        fov in 1e-4..360.0f64,
        rotation in -180.0..180.0f64,
        (x, y) in (0.0..1.0f64, 0.0..1.0f64),
    ) {
        let mut camera = ViewCamera::new(centre, Angle::from_degrees(fov), projection, frame, Viewport { width: 1280.0, height: 720.0 });
        camera.set_rotation(Angle::from_degrees(rotation));
        let screen = ScreenPoint { x: x * 1280.0, y: y * 720.0 };
        if let Some(sky) = camera.screen_to_sky(screen) {
            let again = camera.sky_to_screen(sky);
            prop_assert!(again.is_some(), "{projection}: {sky:?} from {screen:?} does not project back");
            let again = again.unwrap();
            // A thousandth of a pixel, or WCSLIB-like 1e-9 relative on huge all-sky planes.
            let tolerance = 1e-3f64.max(1e-9 * (again.x.abs() + again.y.abs()));
            prop_assert!((again.x - screen.x).abs() < tolerance && (again.y - screen.y).abs() < tolerance,
                "{projection} fov {fov}: {screen:?} -> {sky:?} -> {again:?}");
        }
    }

    #[test]
    fn frame_conversion_round_trips(from in any_frame(), to in any_frame(), p in any_direction()) {
        let back = to.convert(from, from.convert(to, p));
        prop_assert!(p.separation(back).mas() < 1e-6);
    }

    #[test]
    fn parser_never_panics(text in "\\PC{0,40}") {
        let _ = parse_position(&text, Frame::Icrs);
    }

    #[test]
    fn parser_reads_what_the_formatter_writes(p in any_direction()) {
        let text = format!("{} {}", p.lon().to_hms(4), p.lat().to_dms(3));
        let parsed = parse_position(&text, Frame::Icrs).unwrap();
        // 1e-4 s of time is 1.5 mas; 1e-3 arcsec is 1 mas.
        prop_assert!(parsed.separation(p).mas() < 2.0, "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// No visible pixel falls outside the cells `cells_in_view` returns.
    #[test]
    fn view_coverage_misses_no_visible_cell(
        projection in any_projection(),
        centre in any_direction(),
        fov in 0.05..360.0f64,
        rotation in -180.0..180.0f64,
        order in 0u8..8,
    ) {
        let mut camera = ViewCamera::new(centre, Angle::from_degrees(fov), projection, Frame::Icrs, Viewport { width: 400.0, height: 300.0 });
        camera.set_rotation(Angle::from_degrees(rotation));
        let cells = healpix::cells_in_view(&camera, order).unwrap();
        let steps = 40;
        for i in 0..=steps {
            for j in 0..=steps {
                let screen = ScreenPoint { x: 400.0 * f64::from(i) / f64::from(steps), y: 300.0 * f64::from(j) / f64::from(steps) };
                if let Some(sky) = camera.screen_to_sky(screen) {
                    let cell = Cell::containing(order, sky).unwrap();
                    prop_assert!(cells.binary_search(&cell.index()).is_ok(),
                        "{projection} fov {fov} order {order}: cell {} under {screen:?} missing", cell.index());
                }
            }
        }
    }
}

#[test]
fn narrow_views_ask_for_few_cells() {
    // A 1° TAN view at order 7 (cells of ~0.46°) needs a handful of cells, not a hemisphere.
    let camera = ViewCamera::new(
        LonLat::from_degrees(83.63, 22.01).unwrap(),
        Angle::from_degrees(1.0),
        Projection::Tan,
        Frame::Icrs,
        Viewport { width: 800.0, height: 600.0 },
    );
    let cells = healpix::cells_in_view(&camera, 7).unwrap();
    assert!((4..=40).contains(&cells.len()), "{} cells", cells.len());
    // An all-sky view needs them all.
    let mut wide = camera.clone();
    wide.set_projection(Projection::Ait);
    wide.set_fov(Angle::from_degrees(360.0));
    assert_eq!(healpix::cells_in_view(&wide, 2).unwrap().len(), 192);
}
