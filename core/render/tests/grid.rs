#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The coordinate grid lands on the sky where its coordinates say.

use skyglass_hips::{HipsSurvey, TileFormat};
use skyglass_render::loader::{LayerSpec, render_view};
use skyglass_render::{GpuContext, GridStyle, LayerStyle, OFFSCREEN_FORMAT, SkyRenderer, grid_steps};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, ViewCamera, Viewport};
use skyglass_test_support::shared_data;

#[test]
fn grid_lines_pass_through_their_coordinates() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let survey = HipsSurvey::open(shared_data().join("hips/FermiColor").to_str().unwrap()).unwrap();
    let spec = LayerSpec { survey: &survey, format: TileFormat::Jpeg, style: LayerStyle::default() };
    let camera = ViewCamera::new(
        LonLat::from_degrees(90.0, 0.0).unwrap(),
        Angle::from_degrees(20.0),
        Projection::Tan,
        Frame::Icrs,
        Viewport { width: 400.0, height: 400.0 },
    );
    let (lon_step, lat_step) = grid_steps(&camera, Frame::Icrs);
    assert_eq!((lon_step, lat_step), (2.5, 2.0));
    let grid = GridStyle { colour: [0.0, 0.0, 1.0, 1.0], line_width: 2.0, ..GridStyle::default() };
    let (width, _, pixels, _) = render_view(&gpu, &renderer, &camera, &[spec], Some(grid)).unwrap();
    let blue_at = |x: f64, y: f64| {
        let i = (y as usize * width as usize + x as usize) * 4;
        let [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
        b > 200 && r < 80 && g < 80
    };
    // Where the sky is at RA 90° (a meridian) and at Dec 0° (a parallel), and between lines.
    let mut on_meridian = 0;
    let mut between = 0;
    let mut rows = 0;
    for step in 0..40 {
        let dec = -9.0 + f64::from(step) * 0.45;
        // Keep away from the parallels, every 2°.
        if (dec / lat_step - (dec / lat_step).round()).abs() * lat_step < 0.3 {
            continue;
        }
        rows += 1;
        let on = camera.sky_to_screen(LonLat::from_degrees(90.0, dec).unwrap()).unwrap();
        let off = camera.sky_to_screen(LonLat::from_degrees(90.0 + lon_step / 2.0, dec).unwrap()).unwrap();
        on_meridian += usize::from(blue_at(on.x, on.y));
        between += usize::from(blue_at(off.x, off.y));
    }
    assert!(on_meridian * 10 >= rows * 9, "{on_meridian} of {rows} points of RA 90° are on a line");
    assert_eq!(between, 0, "points between meridians drawn as lines");
    let equator = camera.sky_to_screen(LonLat::from_degrees(88.7, 0.0).unwrap()).unwrap();
    assert!(blue_at(equator.x, equator.y), "the equator is a line");
    let centre = ScreenPoint { x: 200.0, y: 200.0 };
    assert!(blue_at(centre.x, centre.y), "the centre (90°, 0°) is on both");
}
