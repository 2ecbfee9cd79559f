#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The renderer against reference images made from the same HiPS tiles by independent code
//! (references/make_references.py: WCSLIB through astropy, astropy_healpix, Pillow).
//!
//! Metric: on the pixels where both images show sky, the share whose channels all agree
//! within 12 levels (of 255) must be at least 99.5%, and the PSNR at least 35 dB; the pixels
//! where only one shows sky must be under 2% of the sky. Exact equality is not expected: the
//! JPEG decoders differ (IDCT and chroma upsampling move values by a few levels, more on
//! sharp colour edges), the GPU computes positions in single precision, which moves a sample
//! by a small fraction of a texel, and so decides a few pixels on the edge of a projection's
//! domain the other way. A wrong orientation, frame, projection, tile choice or colormap
//! fails all three thresholds by far.

use serde_json::Value;
use skyglass_hips::{HipsSurvey, TileFormat};
use skyglass_render::loader::{LayerSpec, render_view, render_view_values};
use skyglass_render::{GpuContext, LayerStyle, OFFSCREEN_FORMAT, SkyRenderer};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ViewCamera, Viewport};
use skyglass_test_support::shared_data;
use std::path::{Path, PathBuf};

const CHANNEL_TOLERANCE: i32 = 12;
const MIN_AGREEING: f64 = 0.995;
const MAX_EDGE_DISAGREEMENT: f64 = 0.02;
const MIN_PSNR_DB: f64 = 35.0;

fn references() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/references")
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(references().join("cases.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap()
}

fn camera(case: &Value) -> ViewCamera {
    let frame: Frame = case["frame"].as_str().unwrap().parse().unwrap();
    let projection: Projection = case["projection"].as_str().unwrap().parse().unwrap();
    let centre = LonLat::from_degrees(number(&case["center"][0]), number(&case["center"][1])).unwrap();
    let viewport = Viewport { width: number(&case["size"][0]), height: number(&case["size"][1]) };
    ViewCamera::new(
        Frame::Icrs.convert(frame, centre),
        Angle::from_degrees(number(&case["fov"])),
        projection,
        frame,
        viewport,
    )
}

fn style(layer: &Value) -> LayerStyle {
    let mut style = LayerStyle { opacity: layer["opacity"].as_f64().unwrap_or(1.0) as f32, ..LayerStyle::default() };
    if let Some(name) = layer["blend"].as_str() {
        style.blend = name.parse().unwrap();
    }
    if let Some(name) = layer["colormap"].as_str() {
        style.colormap = name.parse().unwrap();
    }
    if let Some(name) = layer["stretch"].as_str() {
        style.stretch = name.parse().unwrap();
    }
    if let Some(cuts) = layer["cuts"].as_array() {
        style.cuts = Some([number(&cuts[0]), number(&cuts[1])]);
    }
    style
}

struct Comparison {
    sky_pixels: usize,
    /// Pixels where only one of the two images shows sky, as a share of the sky.
    edge_disagreement: f64,
    agreeing: f64,
    psnr: f64,
}

fn compare(ours: &[u8], reference: &image::RgbImage) -> Comparison {
    let mut sky_pixels = 0;
    let mut one_sided = 0;
    let mut agreeing = 0;
    let mut squared = 0.0;
    for (ours, theirs) in ours.chunks_exact(4).zip(reference.pixels()) {
        let ours = &ours[..3];
        let (ours_blank, theirs_blank) = (ours.iter().all(|v| *v == 0), theirs.0.iter().all(|v| *v == 0));
        if ours_blank && theirs_blank {
            continue;
        }
        if ours_blank || theirs_blank {
            one_sided += 1;
            continue;
        }
        sky_pixels += 1;
        let mut worst = 0;
        for (a, b) in ours.iter().zip(theirs.0) {
            let d = i32::from(*a) - i32::from(b);
            worst = worst.max(d.abs());
            squared += f64::from(d * d);
        }
        if worst <= CHANNEL_TOLERANCE {
            agreeing += 1;
        }
    }
    let mse = squared / (3.0 * sky_pixels.max(1) as f64);
    let psnr = if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0 * 255.0 / mse).log10() };
    Comparison {
        sky_pixels,
        edge_disagreement: one_sided as f64 / sky_pixels.max(1) as f64,
        agreeing: agreeing as f64 / sky_pixels.max(1) as f64,
        psnr,
    }
}

#[test]
fn renders_match_independent_references() {
    let gpu = GpuContext::headless().expect("a GPU adapter (Mesa's lavapipe will do)");
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let hips = shared_data().join("hips");
    let mut failures = Vec::new();
    let mut most_tiles = 0;
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let surveys: Vec<(HipsSurvey, TileFormat, LayerStyle)> = case["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|layer| {
                let location = hips.join(layer["hips"].as_str().unwrap());
                let survey = HipsSurvey::open(location.to_str().unwrap()).unwrap();
                let format = TileFormat::from_name(layer["format"].as_str().unwrap()).unwrap();
                (survey, format, style(layer))
            })
            .collect();
        let specs: Vec<LayerSpec<'_>> = surveys
            .iter()
            .map(|(survey, format, style)| LayerSpec { survey, format: *format, style: *style })
            .collect();
        let (width, height, pixels, reports) = render_view(&gpu, &renderer, &camera(&case), &specs, None).unwrap();
        for report in &reports {
            assert!(report.failed.is_empty(), "{name}: {:?}", report.failed);
            most_tiles = most_tiles.max(report.loaded);
        }
        let reference = image::open(references().join(format!("{name}.png"))).unwrap().to_rgb8();
        assert_eq!((width, height), reference.dimensions(), "{name}");
        let result = compare(&pixels, &reference);
        println!(
            "{name}: {} sky pixels, {:.3}% sky in one image only, {:.3}% agree within {CHANNEL_TOLERANCE} levels, PSNR {:.1} dB",
            result.sky_pixels,
            100.0 * result.edge_disagreement,
            100.0 * result.agreeing,
            result.psnr
        );
        if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
            let out = std::env::temp_dir().join(format!("skyglass-{name}.png"));
            image::RgbaImage::from_raw(width, height, pixels.clone()).unwrap().save(out).unwrap();
        }
        assert!(result.sky_pixels > (width * height / 10) as usize, "{name}: almost no sky drawn");
        if result.agreeing < MIN_AGREEING
            || result.psnr < MIN_PSNR_DB
            || result.edge_disagreement > MAX_EDGE_DISAGREEMENT
        {
            failures.push(format!(
                "{name}: {:.3}% agree, PSNR {:.1} dB, {:.3}% sky in one image only",
                100.0 * result.agreeing,
                result.psnr,
                100.0 * result.edge_disagreement
            ));
        }
    }
    assert!(failures.is_empty(), "renders differ from their references:\n{}", failures.join("\n"));
    // Some view needs more tiles than a layer's first texture array holds (16): growing the
    // array, which copies the resident tiles, is on the tested path.
    assert!(most_tiles > 16, "at most {most_tiles} tiles in a view");
}

#[test]
fn fits_values_match_the_references_through_their_colormap() {
    // The values path (FITS images) reaches the same sky: its values, coloured on the CPU with
    // the case's cuts, stretch and colormap, agree with the independent reference image.
    let gpu = GpuContext::headless().unwrap();
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let hips = shared_data().join("hips");
    let mut checked = 0;
    for case in cases() {
        let layers = case["layers"].as_array().unwrap();
        let [layer] = layers.as_slice() else { continue };
        if layer["format"] != "fits" {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let survey = HipsSurvey::open(hips.join(layer["hips"].as_str().unwrap()).to_str().unwrap()).unwrap();
        let style = style(layer);
        let spec = LayerSpec { survey: &survey, format: TileFormat::Fits, style };
        let (_, _, values, _) = render_view_values(&gpu, &renderer, &camera(&case), &spec).unwrap();
        let table = style.colormap.table();
        let [low, high] = style.cuts.unwrap();
        let coloured: Vec<u8> = values
            .iter()
            .flat_map(|value| {
                if value.is_nan() {
                    return [0, 0, 0, 255];
                }
                let t = ((f64::from(*value) - low) / (high - low)).clamp(0.0, 1.0);
                let index = (style.stretch.apply(t) * 255.0 + 0.5).clamp(0.0, 255.0) as usize;
                table[index]
            })
            .collect();
        let reference = image::open(references().join(format!("{name}.png"))).unwrap().to_rgb8();
        let result = compare(&coloured, &reference);
        println!("{name} (values): {:.3}% agree, PSNR {:.1} dB", 100.0 * result.agreeing, result.psnr);
        assert!(result.agreeing >= MIN_AGREEING && result.psnr >= MIN_PSNR_DB, "{name}");
        assert!(result.edge_disagreement <= MAX_EDGE_DISAGREEMENT, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 3, "the DSS2 (wide and narrow) and Planck FITS cases");
}
