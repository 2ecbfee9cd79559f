#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A tile that has just arrived fades in over the one that stood in for it.

use skyglass_hips::{HipsSurvey, TileFormat};
use skyglass_render::{GpuContext, HipsLayer, LayerDescriptor, OFFSCREEN_FORMAT, SkyRenderer, render_to_rgba};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ViewCamera, Viewport};
use skyglass_test_support::shared_data;

fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x.abs_diff(*y))).sum::<f64>() / a.len() as f64
}

#[test]
fn new_tiles_fade_in_over_their_parent() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let survey = HipsSurvey::open(shared_data().join("hips/FermiColor").to_str().unwrap()).unwrap();
    let (base_order, base) = survey.read_allsky(TileFormat::Jpeg).unwrap().unwrap();
    let tile = survey.read_tile(3, 448, TileFormat::Jpeg).unwrap().unwrap();
    // Centred on cell 448 of order 3, zoomed in enough for full tiles.
    let camera = ViewCamera::new(
        LonLat::from_degrees(270.0, -36.0).unwrap(),
        Angle::from_degrees(6.0),
        Projection::Tan,
        Frame::Icrs,
        Viewport { width: 200.0, height: 200.0 },
    );
    let render = |fade_seconds: f32, with_tile: bool| {
        let descriptor = LayerDescriptor {
            tile_width: 512,
            values: false,
            frame: Frame::Icrs,
            min_order: 3,
            max_order: 3,
            default_cuts: [0.0, 1.0],
            capacity: 16,
            fade_seconds,
        };
        let mut layer = HipsLayer::new(&renderer, &gpu.device, &gpu.queue, descriptor, Some((base_order, &base)));
        assert!(!layer.base_suffices(&camera));
        if with_tile {
            layer.insert_tile(&gpu.device, &gpu.queue, 3, 448, &tile).unwrap();
        }
        let fading = layer.is_fading();
        let (_, _, pixels) = render_to_rgba(&gpu, &renderer, &camera, &mut [&mut layer], None).unwrap();
        (pixels, fading)
    };
    let (parent_only, _) = render(0.0, false);
    let (at_once, fading_at_once) = render(0.0, true);
    let (just_arrived, fading) = render(1000.0, true);
    assert!(!fading_at_once && fading);
    // The full tile shows more than its Allsky stand-in...
    assert!(mean_difference(&parent_only, &at_once) > 2.0, "{}", mean_difference(&parent_only, &at_once));
    // ...but a tile that has only just arrived still shows its parent.
    assert!(mean_difference(&parent_only, &just_arrived) < 0.2, "{}", mean_difference(&parent_only, &just_arrived));
}
