//! Frame timings of the sky renderer: four HiPS layers at 1920x1080, offscreen.
//!
//! Reports the time to the first frame from local tiles (open surveys, read and upload the
//! view's tiles, draw), the CPU time to record and submit a frame, the whole frame time
//! including the GPU's work (software rendering where there is no GPU), and the GPU memory
//! the tile caches take. Run with `cargo run --release -p skyglass-render --example frame_bench`
//! (the HiPS samples are found in ../shared/data/hips, or pass a folder holding them).

use skyglass_hips::{HipsSurvey, TileFormat};
use skyglass_render::loader::{load_view, open_layer};
use skyglass_render::{Colormap, GpuContext, HipsLayer, LayerStyle, OFFSCREEN_FORMAT, SkyRenderer, Stretch};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ViewCamera, Viewport};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hips = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/hips"));
    let frames = 60;
    let (width, height) = (1920u32, 1080u32);
    let camera = ViewCamera::new(
        LonLat::from_degrees(270.0, -28.0)?,
        Angle::from_degrees(30.0),
        Projection::Tan,
        Frame::Icrs,
        Viewport { width: f64::from(width), height: f64::from(height) },
    );

    let started = Instant::now();
    let gpu = GpuContext::headless()?;
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, OFFSCREEN_FORMAT);
    let gpu_ready = started.elapsed();
    let specs = [
        ("DSS2Red", TileFormat::Jpeg, LayerStyle::default()),
        ("FermiColor", TileFormat::Jpeg, LayerStyle { opacity: 0.5, ..LayerStyle::default() }),
        (
            "DSS2Red",
            TileFormat::Fits,
            LayerStyle {
                opacity: 0.5,
                colormap: Colormap::Viridis,
                stretch: Stretch::Asinh,
                cuts: Some([2000.0, 12000.0]),
                ..LayerStyle::default()
            },
        ),
        ("AKARI-FIS", TileFormat::Png, LayerStyle { opacity: 0.5, ..LayerStyle::default() }),
    ];
    let mut layers: Vec<HipsLayer> = Vec::new();
    let mut tiles = 0;
    for (name, format, style) in specs {
        let survey = HipsSurvey::open(hips.join(name).to_str().unwrap_or_default())?;
        let mut layer = open_layer(&renderer, &gpu.device, &gpu.queue, &survey, format, 128)?;
        layer.style = style;
        tiles += load_view(&gpu.device, &gpu.queue, &mut layer, &survey, format, &camera).loaded;
        layers.push(layer);
    }
    let target = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("bench target"),
        size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: OFFSCREEN_FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
        view_formats: &[],
    });
    let view = target.create_view(&wgpu::TextureViewDescriptor::default());

    let frame = |layers: &mut Vec<HipsLayer>| -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
        let start = Instant::now();
        let mut refs: Vec<&mut HipsLayer> = layers.iter_mut().collect();
        renderer.prepare(&gpu.device, &gpu.queue, &camera, [0.0, 0.0], &mut refs);
        let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: None,
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
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
            let shared: Vec<&HipsLayer> = layers.iter().collect();
            renderer.draw(&mut pass, &shared);
        }
        gpu.queue.submit([encoder.finish()]);
        let cpu = start.elapsed();
        gpu.device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None })?;
        Ok((cpu, start.elapsed()))
    };
    let (_, first_draw) = frame(&mut layers)?;
    let first_frame = started.elapsed();

    let mut cpu = Vec::with_capacity(frames);
    let mut whole = Vec::with_capacity(frames);
    for _ in 0..frames {
        let (c, w) = frame(&mut layers)?;
        cpu.push(c.as_secs_f64() * 1e3);
        whole.push(w.as_secs_f64() * 1e3);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // A narrow field, drawn by the mesh path: its geometry is rebuilt on the CPU every frame.
    let narrow = ViewCamera::new(
        LonLat::from_degrees(270.0, -28.0)?,
        Angle::from_degrees(1.0),
        Projection::Tan,
        Frame::Icrs,
        Viewport { width: f64::from(width), height: f64::from(height) },
    );
    let mut narrow_cpu = Vec::with_capacity(frames);
    for frame in 0..frames {
        // Panning: a slightly different view each frame, so the mesh is rebuilt every time.
        let narrow = ViewCamera::new(
            LonLat::from_degrees(270.0 + frame as f64 * 1e-3, -28.0)?,
            narrow.fov(),
            narrow.projection(),
            narrow.frame(),
            narrow.viewport(),
        );
        let start = Instant::now();
        let mut refs: Vec<&mut HipsLayer> = layers.iter_mut().collect();
        renderer.prepare(&gpu.device, &gpu.queue, &narrow, [0.0, 0.0], &mut refs);
        narrow_cpu.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let memory: u64 = layers.iter().map(HipsLayer::texture_bytes).sum();
    println!("adapter: {}", gpu.describe());
    println!("view: 4 layers, {width}x{height}, TAN 30°, {tiles} tiles read");
    println!("device ready: {:.1} ms", gpu_ready.as_secs_f64() * 1e3);
    println!(
        "first frame from local tiles: {:.1} ms (its draw {:.1} ms)",
        first_frame.as_secs_f64() * 1e3,
        first_draw.as_secs_f64() * 1e3
    );
    println!("CPU per frame (prepare, record, submit): median {:.3} ms", median(&mut cpu));
    println!("whole frame incl. GPU: median {:.2} ms", median(&mut whole));
    println!("CPU per frame at 1° (mesh path, geometry rebuilt): median {:.3} ms", median(&mut narrow_cpu));
    println!(
        "tile textures: {:.1} MiB ({} resident tiles)",
        memory as f64 / (1 << 20) as f64,
        layers.iter().map(HipsLayer::resident_tiles).sum::<usize>()
    );
    Ok(())
}
