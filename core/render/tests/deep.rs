#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Tiles deeper than the per-pixel path's lookup table (order 13) are drawn by the mesh path.

use skyglass_hips::{TileImage, TilePixels};
use skyglass_render::{GpuContext, HipsLayer, LayerDescriptor, OFFSCREEN_FORMAT, SkyRenderer, render_to_rgba};
use skyglass_sky::{Angle, Cell, Frame, LonLat, Projection, ViewCamera, Viewport};

#[test]
fn an_order_16_tile_fills_a_two_arcsecond_view() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    // Centred on an order-16 cell (3.2″ across): the 1.8″ view lies inside it.
    let cell = Cell::containing(16, LonLat::from_degrees(270.0, -30.0).unwrap()).unwrap();
    let centre = cell.centre();
    let camera = ViewCamera::new(
        centre,
        Angle::from_arcsec(1.8),
        Projection::Tan,
        Frame::Icrs,
        Viewport { width: 200.0, height: 160.0 },
    );
    let descriptor = LayerDescriptor {
        tile_width: 512,
        values: false,
        frame: Frame::Icrs,
        min_order: 3,
        max_order: 16,
        default_cuts: [0.0, 1.0],
        capacity: 16,
        fade_seconds: 0.0,
    };
    // A plain red tile stands for a deep survey's tile (the shared samples stop at order 9).
    let red = TileImage { width: 512, height: 512, pixels: TilePixels::Rgba8([200, 0, 0, 255].repeat(512 * 512)) };
    let render = |with_tile: bool| {
        let mut layer = HipsLayer::new(&renderer, &gpu.device, &gpu.queue, descriptor.clone(), None);
        assert_eq!(layer.view_order(&camera), 16);
        if with_tile {
            layer.insert_tile(&gpu.device, &gpu.queue, 16, cell.index(), &red).unwrap();
        }
        render_to_rgba(&gpu, &renderer, &camera, &mut [&mut layer], None).unwrap().2
    };
    let red_share =
        |pixels: &[u8]| pixels.chunks_exact(4).filter(|p| p[0] > 150 && p[1] < 30).count() as f64 / (200.0 * 160.0);
    assert!(red_share(&render(true)) > 0.99);
    assert_eq!(red_share(&render(false)), 0.0);
}
