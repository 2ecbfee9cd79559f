#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Catalogue markers, outlines and the density map land where core/sky's projections (in
//! double precision) say, in every projection; on the real Hipparcos catalogue and real
//! ObsCore footprints.

use skyglass_render::overlay::{BYTES_PER_SOURCE, footprint_outlines};
use skyglass_render::{
    GpuContext, MarkerLayer, MarkerShape, OFFSCREEN_FORMAT, OverlayMut, SegmentLayer, SkyRenderer, ViewDraw,
    render_scene,
};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, ViewCamera, Viewport};
use std::io::Read;

/// Hipparcos (the sample the app embeds): RA, Dec in degrees, and pmRA, pmDec.
fn hipparcos() -> (Vec<f64>, Vec<f64>) {
    let mut bytes = Vec::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/catalogs/hipparcos.vot.gz");
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut bytes).unwrap();
    let table =
        skyglass_votable::read_table(std::io::Cursor::new(bytes), skyglass_votable::TableFormat::VoTable).unwrap();
    let columns = skyglass_votable::detect_position(&table.schema).unwrap();
    (
        skyglass_votable::column_f64(&table.batches, columns.lon),
        skyglass_votable::column_f64(&table.batches, columns.lat),
    )
}

fn camera(centre: (f64, f64), fov: f64, projection: Projection, frame: Frame) -> ViewCamera {
    ViewCamera::new(
        LonLat::from_degrees(centre.0, centre.1).unwrap(),
        Angle::from_degrees(fov),
        projection,
        frame,
        Viewport { width: 480.0, height: 360.0 },
    )
}

struct Image {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Image {
    fn at(&self, x: f64, y: f64) -> [u8; 3] {
        let (x, y) = (x.floor() as i64, y.floor() as i64);
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return [0, 0, 0];
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Whether any pixel within `reach` of (x, y) is mostly `channel` (0 red, 1 green, 2 blue).
    fn has_near(&self, x: f64, y: f64, reach: i32, channel: usize) -> bool {
        (-reach..=reach).any(|dy| {
            (-reach..=reach).any(|dx| {
                let p = self.at(x + f64::from(dx), y + f64::from(dy));
                p[channel] > 150 && (0..3).all(|c| c == channel || p[c] < 110)
            })
        })
    }
}

fn render(gpu: &GpuContext, renderer: &SkyRenderer, camera: &ViewCamera, overlays: &mut [OverlayMut<'_>]) -> Image {
    let (width, height, pixels) = render_scene(gpu, renderer, camera, &mut [], None, overlays).unwrap();
    Image { width, height, pixels }
}

#[test]
fn markers_land_where_each_projection_puts_the_stars() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let (ra, dec) = hipparcos();
    assert!(ra.len() > 100_000, "the sample holds the whole of Hipparcos");
    let mut layer = MarkerLayer::new(&renderer, &gpu.device, &ra, &dec);
    assert_eq!(layer.len(), ra.iter().zip(&dec).filter(|(r, d)| r.is_finite() && d.is_finite()).count());
    assert!(BYTES_PER_SOURCE <= 40 && layer.gpu_bytes() <= (BYTES_PER_SOURCE * layer.len()) as u64 + 64);
    layer.style.shape = MarkerShape::Dot;
    layer.style.size = 5.0;
    layer.style.colour = [1.0, 0.0, 0.0, 1.0];

    // Around Orion in every projection (Galactic views too), and the whole sky in the
    // all-sky ones, where the seam and the poles are on screen.
    let mut views: Vec<ViewCamera> =
        Projection::ALL.iter().map(|p| camera((84.0, 0.0), 24.0, *p, Frame::Icrs)).collect();
    views.push(camera((200.0, -20.0), 30.0, Projection::Stg, Frame::Galactic));
    for projection in [Projection::Ait, Projection::Mol, Projection::Car, Projection::Hpx] {
        views.push(camera((0.0, 0.0), 360.0, projection, Frame::Galactic));
    }
    for view in &views {
        layer.dense_sources = u64::MAX;
        layer.pixels_per_source = 0.0;
        let image = render(&gpu, &renderer, view, &mut [OverlayMut::Markers(&mut layer)]);
        // Every star the double-precision camera puts well inside the view has a marker there.
        let mut checked = 0;
        let mut missed = Vec::new();
        for (i, (r, d)) in ra.iter().zip(&dec).enumerate().step_by(7) {
            let Ok(star) = LonLat::from_degrees(*r, *d) else { continue };
            let Some(p) = view.sky_to_screen(Frame::Icrs.convert(view.frame(), star)) else { continue };
            if p.x < 5.0 || p.y < 5.0 || p.x > 475.0 || p.y > 355.0 {
                continue;
            }
            checked += 1;
            if !image.has_near(p.x, p.y, 1, 0) {
                missed.push((i, p.x, p.y));
            }
        }
        let name = format!("{} {}", view.projection().code(), view.fov().degrees());
        assert!(checked > 50, "{name}: only {checked} stars in view");
        // Single precision on the GPU: a star right on the seam of an all-sky map may fall on
        // its other side.
        assert!(
            missed.len() * 500 <= checked,
            "{name}: {} of {checked} stars unmarked: {:?}",
            missed.len(),
            &missed[..missed.len().min(5)]
        );
        // And nothing where the sky is empty of stars: a pixel over 8 px from every star.
        let markers = image.pixels.chunks_exact(4).filter(|p| p[0] > 150).count();
        let stars_in_view = ra
            .iter()
            .zip(&dec)
            .filter_map(|(r, d)| LonLat::from_degrees(*r, *d).ok())
            .filter_map(|s| view.sky_to_screen(Frame::Icrs.convert(view.frame(), s)))
            .filter(|p| p.x > -5.0 && p.y > -5.0 && p.x < 485.0 && p.y < 365.0)
            .count();
        assert!(markers <= stars_in_view * 40 + 100, "{name}: {markers} red pixels for {stars_in_view} stars");
    }
}

#[test]
fn a_crowded_view_draws_the_density_map_and_picking_finds_rows() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let (ra, dec) = hipparcos();
    let mut layer = MarkerLayer::new(&renderer, &gpu.device, &ra, &dec);

    // All sky with a low threshold: the density map, brighter along the Milky Way.
    layer.dense_sources = 20_000;
    layer.pixels_per_source = 0.0;
    let sky = camera((0.0, 0.0), 360.0, Projection::Ait, Frame::Galactic);
    let image = render(&gpu, &renderer, &sky, &mut [OverlayMut::Markers(&mut layer)]);
    assert!(matches!(layer.current_draw(), ViewDraw::Density { .. }));
    if let Ok(folder) = std::env::var("SKYGLASS_TEST_IMAGES") {
        let png = image::RgbaImage::from_raw(image.width, image.height, image.pixels.clone()).unwrap();
        png.save(std::path::Path::new(&folder).join("density.png")).unwrap();
    }
    let brightness = |x: f64, y: f64| image.at(x, y).iter().map(|c| u32::from(*c)).sum::<u32>();
    // Mean brightness over a band of Galactic latitude.
    let band = |low: f64, high: f64| {
        let mut sum = 0.0;
        let mut n = 0.0;
        for l in (0..360).step_by(3) {
            for b in (low as i32..high as i32).step_by(2) {
                let at = LonLat::from_degrees(f64::from(l), f64::from(b)).unwrap();
                if let Some(p) = sky.sky_to_screen(at) {
                    sum += f64::from(brightness(p.x, p.y));
                    n += 1.0;
                }
            }
        }
        sum / n
    };
    let filled = image.pixels.chunks_exact(4).filter(|p| p[..3].iter().any(|c| *c > 0)).count();
    assert!(filled > 85_000, "the map covers the all-sky ellipse (90,478 px): {filled} pixels");
    let (plane, caps) = (band(-8.0, 8.0), band(50.0, 88.0).max(band(-88.0, -50.0)));
    assert!(plane > caps * 1.1, "Hipparcos is denser in the Milky Way: {plane:.0} against {caps:.0}");

    // Zoomed in, the same layer draws markers again, and picks the star under the pointer.
    let narrow = camera((88.7929, 7.4071), 4.0, Projection::Tan, Frame::Icrs);
    let _ = render(&gpu, &renderer, &narrow, &mut [OverlayMut::Markers(&mut layer)]);
    let ViewDraw::Markers(ranges) = layer.current_draw() else { panic!("a narrow view draws markers") };
    let drawn: u32 = ranges.iter().map(|r| r.end - r.start).sum();
    assert!(drawn < 5_000, "only the cells in view are drawn: {drawn}");
    // Betelgeuse is HIP 27989.
    let betelgeuse = ra.iter().zip(&dec).position(|(r, d)| (r - 88.7929).abs() < 0.01 && (d - 7.4071).abs() < 0.01);
    let betelgeuse = betelgeuse.expect("Betelgeuse is in Hipparcos");
    let centre = ScreenPoint { x: 240.0, y: 180.0 };
    assert_eq!(layer.pick(&narrow, ScreenPoint { x: centre.x + 3.0, y: centre.y - 2.0 }, 8.0), Some(betelgeuse));
    assert_eq!(layer.pick(&narrow, ScreenPoint { x: 2.0, y: 2.0 }, 1.0), None);

    // The selected row is ringed in the highlight colour.
    layer.set_highlight(&gpu.device, &[betelgeuse]);
    layer.style.colour = [1.0, 0.0, 0.0, 1.0];
    layer.style.highlight = [0.0, 0.0, 1.0, 1.0];
    let image = render(&gpu, &renderer, &narrow, &mut [OverlayMut::Markers(&mut layer)]);
    let ring = (layer.style.size * 1.6 + 4.0) as f64 / 2.0;
    assert!(image.has_near(centre.x + ring - 1.0, centre.y, 2, 2), "a blue ring around the selected star");
}

#[test]
fn footprint_outlines_follow_their_polygons() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    // A real CASDA s_region, and an IRSA one.
    let regions =
        ["Polygon ICRS 333.162 -45.717 333.182 -44.541 331.534 -44.528 331.476 -45.703", "Circle ICRS 332.3 -45.1 0.2"];
    let footprints: Vec<_> = regions.iter().map(|r| skyglass_sky::parse_stcs(r).unwrap()).collect();
    let outlines: Vec<_> = footprints.iter().enumerate().flat_map(|(i, f)| footprint_outlines(i as u32, f)).collect();
    let mut layer = SegmentLayer::new(&renderer, &gpu.device, &outlines);
    layer.style.colour = [0.0, 1.0, 0.0, 1.0];
    layer.style.width = 2.0;
    for projection in [Projection::Tan, Projection::Sin, Projection::Ait, Projection::Car] {
        let view = camera((332.3, -45.1), 3.0, projection, Frame::Icrs);
        let image = render(&gpu, &renderer, &view, &mut [OverlayMut::Segments(&mut layer)]);
        // The middle of each polygon edge (on its great circle) is green; the inside is not.
        let skyglass_sky::Shape::Polygon(vertices) = &footprints[0].shapes[0] else { panic!() };
        for i in 0..vertices.len() {
            let (a, b) = (vertices[i].to_vec3(), vertices[(i + 1) % vertices.len()].to_vec3());
            let middle = LonLat::from_vec3(skyglass_sky::Vec3::new(a.x + b.x, a.y + b.y, a.z + b.z));
            let p = view.sky_to_screen(middle).unwrap();
            assert!(image.has_near(p.x, p.y, 1, 1), "{projection}: edge {i} drawn at {p:?}");
        }
        let inside = view.sky_to_screen(LonLat::from_degrees(332.7, -45.5).unwrap()).unwrap();
        assert!(!image.has_near(inside.x, inside.y, 3, 1), "{projection}: the polygon is not filled");
        // The circle: 0.2° from its centre.
        let on_circle = view.sky_to_screen(LonLat::from_degrees(332.3, -44.9).unwrap()).unwrap();
        assert!(image.has_near(on_circle.x, on_circle.y, 1, 1), "{projection}: the circle is drawn");
    }
    // With a fill, the inside is tinted and the outside is not, in every projection.
    layer.style.fill = 0.5;
    for projection in [Projection::Tan, Projection::Ait, Projection::Hpx] {
        let view = camera((332.3, -45.1), 3.0, projection, Frame::Icrs);
        let image = render(&gpu, &renderer, &view, &mut [OverlayMut::Segments(&mut layer)]);
        let inside = view.sky_to_screen(LonLat::from_degrees(332.7, -45.5).unwrap()).unwrap();
        let outside = view.sky_to_screen(LonLat::from_degrees(334.0, -45.1).unwrap()).unwrap();
        let green = |p: [u8; 3]| p[1];
        assert!(
            (100..=160).contains(&green(image.at(inside.x, inside.y))),
            "{projection}: {:?}",
            image.at(inside.x, inside.y)
        );
        assert_eq!(green(image.at(outside.x, outside.y)), 0, "{projection}");
    }
    layer.style.fill = 0.0;
    // Selecting a footprint draws it in the highlight colour.
    layer.style.highlight = [0.0, 0.0, 1.0, 1.0];
    layer.set_flags(&gpu.queue, |group| group == 1, |_| true);
    let view = camera((332.3, -45.1), 3.0, Projection::Tan, Frame::Icrs);
    let image = render(&gpu, &renderer, &view, &mut [OverlayMut::Segments(&mut layer)]);
    let on_circle = view.sky_to_screen(LonLat::from_degrees(332.3, -44.9).unwrap()).unwrap();
    assert!(image.has_near(on_circle.x, on_circle.y, 1, 2), "the selected circle is blue");
}

/// A MOC's coverage is drawn where the MOC (read by core/sky, asked in double precision)
/// says the sky is covered: GALEX's all-sky survey in FUV (FITS, mocpy) and GLIMPSE (JSON,
/// cds-moc-rust), all sky and zoomed in.
#[test]
fn mocs_cover_what_they_contain() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let cases = [
        ("moc/mocpy/P-GALEXGR6-AIS-FUV.fits", (0.0, 90.0), 360.0, Projection::Ait, Frame::Galactic),
        ("moc/mocpy/P-GALEXGR6-AIS-FUV.fits", (150.0, 20.0), 6.0, Projection::Tan, Frame::Icrs),
        ("moc/cds-moc-rust/glimpse.moc.json", (30.0, 0.0), 60.0, Projection::Car, Frame::Galactic),
        ("moc/cds-moc-rust/glimpse.moc.json", (20.0, 0.0), 4.0, Projection::Sin, Frame::Galactic),
    ];
    for (file, centre, fov, projection, frame) in cases {
        let moc = skyglass_sky::Moc::read_path(&skyglass_test_support::shared_file(file), None).unwrap();
        let skyglass_sky::Moc::Space(moc) = moc else { panic!("{file} is a space MOC") };
        let mut layer = skyglass_render::MocLayer::new(&renderer, &gpu.device, moc.ranges(), moc.depth());
        layer.colour = [1.0, 0.0, 1.0, 1.0];
        let view = camera(centre, fov, projection, frame);
        let image = render(&gpu, &renderer, &view, &mut [OverlayMut::Moc(&mut layer)]);
        let covered_at = |x: f64, y: f64| {
            view.screen_to_sky(ScreenPoint { x, y }).map(|p| moc.contains(view.frame().convert(Frame::Icrs, p)))
        };
        let (mut agree, mut checked, mut covered) = (0, 0, 0);
        for y in (6..354).step_by(7) {
            for x in (6..474).step_by(7) {
                let (x, y) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
                let Some(inside) = covered_at(x, y) else { continue };
                // Away from edges (and the MOC's cells coarser than the drawing order).
                let near = [(-4.0, 0.0), (4.0, 0.0), (0.0, -4.0), (0.0, 4.0)];
                if near.iter().any(|(dx, dy)| covered_at(x + dx, y + dy) != Some(inside)) {
                    continue;
                }
                let p = image.at(x, y);
                let drawn = p[0] > 40 && p[2] > 40 && p[1] < 30;
                checked += 1;
                covered += usize::from(inside);
                agree += usize::from(drawn == inside);
            }
        }
        let name = format!("{file} {projection} {fov}°");
        assert!(checked > 500 && covered > 20 && covered < checked, "{name}: {covered} of {checked} covered");
        assert!(agree * 100 >= checked * 99, "{name}: {agree} of {checked} pixels agree");
    }
}

/// A FITS image (M13, TAN) is drawn where its WCS puts each pixel, whatever the view's
/// projection and frame: the grey level at the screen position of a pixel's centre is its
/// value through the cuts.
#[test]
fn fits_images_are_reprojected_by_their_wcs() {
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let bytes = std::fs::read(skyglass_test_support::shared_file("fits/astropy/m13.fits")).unwrap();
    let image = skyglass_votable::fits::read_fits_image(&bytes).unwrap();
    let wcs = skyglass_sky::ImageWcs::from_header(|key| image.header.get(key).cloned()).unwrap();
    let mut layer = skyglass_render::ImageLayer::new(
        &renderer,
        &gpu.device,
        &gpu.queue,
        image.width,
        image.height,
        &image.values,
        wcs.clone(),
    );
    let [low, high] = layer.style.cuts;
    assert!(low < high);
    let centre = wcs.pixel_to_world(150.0, 150.0).unwrap();
    let centre_icrs = wcs.frame.convert(Frame::Icrs, centre);
    for (projection, frame) in
        [(Projection::Tan, Frame::Icrs), (Projection::Ait, Frame::Galactic), (Projection::Sin, Frame::EclipticJ2000)]
    {
        // About four screen pixels a texel (the image has 1″ pixels).
        let at = Frame::Icrs.convert(frame, centre_icrs);
        let view = camera((at.lon().degrees(), at.lat().degrees()), 120.0 / 3600.0, projection, frame);
        let rendered = render(&gpu, &renderer, &view, &mut [OverlayMut::Image(&mut layer)]);
        let (mut checked, mut agree) = (0, 0);
        for y in (120usize..=180).step_by(3) {
            for x in (120usize..=180).step_by(3) {
                let world = wcs.pixel_to_world(x as f64, y as f64).unwrap();
                let on_screen = view.sky_to_screen(wcs.frame.convert(frame, world)).unwrap();
                if on_screen.x < 2.0 || on_screen.y < 2.0 || on_screen.x > 478.0 || on_screen.y > 358.0 {
                    continue;
                }
                let value = image.values[(y - 1) * image.width + (x - 1)];
                let expected = (((value - low) / (high - low)).clamp(0.0, 1.0) * 255.0).round();
                let drawn = f32::from(rendered.at(on_screen.x, on_screen.y)[0]);
                checked += 1;
                agree += usize::from((drawn - expected).abs() <= 3.0);
            }
        }
        assert!(checked > 300, "{projection}: {checked} pixels in view");
        assert!(agree * 100 >= checked * 98, "{projection} {}: {agree} of {checked} pixels right", frame.name());
        // Outside the image, nothing is drawn.
        let beyond = wcs.pixel_to_world(-200.0, 150.0).unwrap();
        let wide = camera((at.lon().degrees(), at.lat().degrees()), 0.5, projection, frame);
        let rendered = render(&gpu, &renderer, &wide, &mut [OverlayMut::Image(&mut layer)]);
        let p = wide.sky_to_screen(wcs.frame.convert(frame, beyond)).unwrap();
        assert_eq!(rendered.at(p.x, p.y), [0, 0, 0], "{projection}: no image beyond its edge");
    }
}
