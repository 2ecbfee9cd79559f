//! Catalogue timings: 1M and 10M sources at 1920x1080, offscreen.
//!
//! The sources are Hipparcos (the sample the app embeds) repeated with small offsets (up to
//! half a degree) until there are enough, so the sky keeps the real catalogue's crowding.
//! For each size: the time to build the layer (sort by cell, upload), the GPU bytes per
//! source, and per view (all sky, 60°, 10°, 1°) how it is drawn (markers from how many
//! sources, or the density map), the CPU time of a frame (prepare, record, submit) and the
//! whole frame with the GPU's work (software rendering where there is no GPU). Then the
//! time from a 1M-row VOTable file to the first frame drawn: read, positions found, layer
//! built, drawn. Run with
//! `cargo run --release -p skyglass-render --example catalogue_bench [hipparcos.vot.gz]`.

use skyglass_render::{GpuContext, MarkerLayer, MarkerPlacement, OFFSCREEN_FORMAT, OverlayRef, SkyRenderer, ViewDraw};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ViewCamera, Viewport};
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/catalogs/hipparcos.vot.gz"));
    let (hip_ra, hip_dec) = hipparcos(&path)?;
    let gpu = GpuContext::headless()?;
    println!("adapter: {}", gpu.describe());
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let target = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("bench target"),
        size: wgpu::Extent3d { width: WIDTH, height: HEIGHT, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: OFFSCREEN_FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
        view_formats: &[],
    });
    let target = target.create_view(&wgpu::TextureViewDescriptor::default());
    let views = [
        ("all sky AIT", camera((0.0, 0.0), 360.0, Projection::Ait, Frame::Galactic)?),
        ("60° TAN", camera((266.4, -29.0), 60.0, Projection::Tan, Frame::Icrs)?),
        ("10° TAN", camera((83.8, -5.4), 10.0, Projection::Tan, Frame::Icrs)?),
        ("1° TAN", camera((83.8, -5.4), 1.0, Projection::Tan, Frame::Icrs)?),
    ];

    for count in [1_000_000usize, 10_000_000] {
        let (ra, dec) = repeated(&hip_ra, &hip_dec, count);
        let started = Instant::now();
        // Placing runs on a thread of its own in the app; the upload is what a frame waits for.
        let placement = MarkerPlacement::new(&ra, &dec);
        let placed = started.elapsed();
        let mut layer = MarkerLayer::from_placement(&renderer, &gpu.device, placement);
        gpu.device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None })?;
        let built = started.elapsed();
        println!(
            "{count} sources: placed in {:.0} ms (off the UI thread), uploaded in {:.0} ms, {} bytes per source on the GPU",
            ms(placed),
            ms(built - placed),
            layer.gpu_bytes() / layer.len() as u64
        );
        for (name, view) in &views {
            let (cpu, whole) = frames(&gpu, &renderer, &target, &mut layer, view, 20)?;
            let how = match layer.current_draw() {
                ViewDraw::Markers(ranges) => {
                    format!("markers, {} sources drawn", ranges.iter().map(|r| r.end - r.start).sum::<u32>())
                }
                ViewDraw::Density { order } => format!("density map, order {order}"),
            };
            println!("  {name}: {how}; CPU {cpu:.3} ms, whole frame {whole:.2} ms");
        }
        // Every source as a marker, the density map refused: the instancing path's worst case.
        layer.dense_sources = u64::MAX;
        layer.pixels_per_source = 0.0;
        let (cpu, whole) = frames(&gpu, &renderer, &target, &mut layer, &views[0].1, 5)?;
        println!("  all sky, every source a marker: CPU {cpu:.3} ms, whole frame {whole:.2} ms");
    }

    // A 1M-row query result on disk to the first frame.
    let (ra, dec) = repeated(&hip_ra, &hip_dec, 1_000_000);
    let file = std::env::temp_dir().join(format!("skyglass-bench-{}.vot", std::process::id()));
    write_votable(&file, &ra, &dec)?;
    let size = std::fs::metadata(&file)?.len();
    let started = Instant::now();
    let table = skyglass_votable::read_table(
        std::io::BufReader::new(std::fs::File::open(&file)?),
        skyglass_votable::TableFormat::VoTable,
    )?;
    let read = started.elapsed();
    let columns = skyglass_votable::detect_position(&table.schema).ok_or("no positions")?;
    let ra = skyglass_votable::column_f64(&table.batches, columns.lon);
    let dec = skyglass_votable::column_f64(&table.batches, columns.lat);
    let mut layer = MarkerLayer::new(&renderer, &gpu.device, &ra, &dec);
    let (_, _) = frames(&gpu, &renderer, &target, &mut layer, &views[1].1, 1)?;
    let first = started.elapsed();
    let _ = std::fs::remove_file(&file);
    println!(
        "1M-row VOTable ({:.0} MB) to the first frame: {:.0} ms (reading {:.0} ms)",
        size as f64 / 1e6,
        ms(first),
        ms(read)
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn camera(
    centre: (f64, f64),
    fov: f64,
    projection: Projection,
    frame: Frame,
) -> Result<ViewCamera, Box<dyn std::error::Error>> {
    Ok(ViewCamera::new(
        LonLat::from_degrees(centre.0, centre.1)?,
        Angle::from_degrees(fov),
        projection,
        frame,
        Viewport { width: f64::from(WIDTH), height: f64::from(HEIGHT) },
    ))
}

/// Median CPU and whole-frame milliseconds over `count` frames (after one to warm up).
fn frames(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    target: &wgpu::TextureView,
    layer: &mut MarkerLayer,
    camera: &ViewCamera,
    count: usize,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut cpu = Vec::new();
    let mut whole = Vec::new();
    for _ in 0..=count {
        let start = Instant::now();
        layer.prepare(&gpu.queue, camera, [0.0, 0.0]);
        let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: None,
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            renderer.draw_overlays(&mut pass, &[OverlayRef::Markers(layer)]);
        }
        gpu.queue.submit([encoder.finish()]);
        cpu.push(ms(start.elapsed()));
        gpu.device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None })?;
        whole.push(ms(start.elapsed()));
    }
    let median = |v: &mut Vec<f64>| {
        v.remove(0);
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(&mut cpu), median(&mut whole)))
}

fn hipparcos(path: &std::path::Path) -> Result<(Vec<f64>, Vec<f64>), Box<dyn std::error::Error>> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut bytes)?;
    let table = skyglass_votable::read_table(std::io::Cursor::new(bytes), skyglass_votable::TableFormat::VoTable)?;
    let columns = skyglass_votable::detect_position(&table.schema).ok_or("no positions in Hipparcos")?;
    Ok((
        skyglass_votable::column_f64(&table.batches, columns.lon),
        skyglass_votable::column_f64(&table.batches, columns.lat),
    ))
}

/// `count` positions: the catalogue's, then again and again, each copy moved by up to half
/// a degree (a fixed pseudo-random sequence, the same every run).
fn repeated(ra: &[f64], dec: &[f64], count: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut out = (Vec::with_capacity(count), Vec::with_capacity(count));
    for i in 0..count {
        let j = i % ra.len();
        let copy = i / ra.len();
        let (dra, ddec) = if copy == 0 { (0.0, 0.0) } else { (next(), next()) };
        let d = (dec[j] + ddec).clamp(-90.0, 90.0);
        out.0.push((ra[j] + dra / d.to_radians().cos().max(0.05)).rem_euclid(360.0));
        out.1.push(d);
    }
    out
}

/// A VOTable (BINARY2) of an id and the positions, as a TAP service returns them.
fn write_votable(path: &std::path::Path, ra: &[f64], dec: &[f64]) -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;
    let meta = |ucd: &str, unit: &str| {
        std::collections::HashMap::from([("ucd".to_owned(), ucd.to_owned()), ("unit".to_owned(), unit.to_owned())])
    };
    let schema = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("source_id", arrow_schema::DataType::Int64, false),
        arrow_schema::Field::new("ra", arrow_schema::DataType::Float64, false)
            .with_metadata(meta("pos.eq.ra;meta.main", "deg")),
        arrow_schema::Field::new("dec", arrow_schema::DataType::Float64, false)
            .with_metadata(meta("pos.eq.dec;meta.main", "deg")),
    ]));
    let batch = arrow_array::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(arrow_array::Int64Array::from_iter_values(0..ra.len() as i64)),
            Arc::new(arrow_array::Float64Array::from(ra.to_vec())),
            Arc::new(arrow_array::Float64Array::from(dec.to_vec())),
        ],
    )?;
    let table =
        skyglass_votable::TableData { schema, batches: vec![batch], options: Default::default(), diagnostic_count: 0 };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    skyglass_votable::write_table(&mut out, &table, skyglass_votable::TableFormat::VoTable, Vec::new())?;
    Ok(())
}
