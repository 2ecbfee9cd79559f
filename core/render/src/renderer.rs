//! The sky renderer: pipelines made once, then layers drawn into any wgpu target (a window's
//! surface through egui, or an offscreen texture for `skyglass render`).

use crate::gpu::{GpuContext, GpuError};
use crate::grid::GridLayer;
use crate::image::ImageLayer;
use crate::layer::{HipsLayer, MeshVertex};
use crate::overlay::{
    ATTRIBUTE_LAYOUT, DIRECTION_LAYOUT, FILL_LAYOUT, MarkerLayer, MocLayer, OverlayPipelines, SEGMENT_LAYOUT,
    SegmentLayer,
};
use crate::style::{Blend, Colormap};
use skyglass_sky::ViewCamera;

const PROJECTION_SHADER: &str = include_str!("../../../shaders/projection.wgsl");
const HIPS_SHADER: &str = include_str!("../../../shaders/hips.wgsl");
const GRID_SHADER: &str = include_str!("../../../shaders/grid.wgsl");
const HEALPIX_SHADER: &str = include_str!("../../../shaders/healpix.wgsl");
const OVERLAY_SHADER: &str = include_str!("../../../shaders/overlay.wgsl");
const IMAGE_SHADER: &str = include_str!("../../../shaders/image.wgsl");

pub struct SkyRenderer {
    /// Layers drawn over the ones below (alpha blending) or added to them.
    over_pipeline: wgpu::RenderPipeline,
    add_pipeline: wgpu::RenderPipeline,
    /// The same for the mesh path (narrow fields).
    mesh_over_pipeline: wgpu::RenderPipeline,
    mesh_add_pipeline: wgpu::RenderPipeline,
    /// Draws a FITS layer's values into an `VALUES_FORMAT` target (no blending).
    values_pipeline: wgpu::RenderPipeline,
    hips_layout: wgpu::BindGroupLayout,
    grid_pipeline: wgpu::RenderPipeline,
    grid_layout: wgpu::BindGroupLayout,
    colormaps: wgpu::TextureView,
    pub(crate) overlay: OverlayPipelines,
    image_layout: wgpu::BindGroupLayout,
    image_pipeline: wgpu::RenderPipeline,
}

impl SkyRenderer {
    /// Pipelines for targets of `target_format`.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, target_format: wgpu::TextureFormat) -> SkyRenderer {
        // WGSL has no includes: the shared projection code is prepended to each shader.
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("hips.wgsl"),
            source: wgpu::ShaderSource::Wgsl(format!("{PROJECTION_SHADER}\n{HEALPIX_SHADER}\n{HIPS_SHADER}").into()),
        });
        let grid_shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("grid.wgsl"),
            source: wgpu::ShaderSource::Wgsl(format!("{PROJECTION_SHADER}\n{GRID_SHADER}").into()),
        });
        let fragment_only = wgpu::ShaderStages::FRAGMENT;
        let texture = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: fragment_only,
            ty: wgpu::BindingType::Texture {
                // textureLoad only: float tiles need no filtering support.
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: if binding == 4 {
                    wgpu::TextureViewDimension::D2
                } else {
                    wgpu::TextureViewDimension::D2Array
                },
                multisampled: false,
            },
            count: None,
        };
        let hips_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("hips layer"),
            entries: &[
                // The mesh path's vertex shader reads the viewport from it.
                uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT),
                texture(1),
                texture(2),
                storage_entry(3, fragment_only),
                texture(4),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("hips"),
            bind_group_layouts: &[Some(&hips_layout)],
            immediate_size: 0,
        });
        let mesh_layout = [Some(MeshVertex::LAYOUT)];
        let hips_pipeline = |label: &str, blend: wgpu::BlendState, mesh: bool| {
            let (entries, buffers): ((&str, &str), &[Option<wgpu::VertexBufferLayout>]) =
                if mesh { (("vs_mesh", "fs_mesh"), &mesh_layout) } else { (("vs_main", "fs_main"), &[]) };
            sky_pipeline(device, label, &pipeline_layout, &shader, entries, buffers, target_format, Some(blend))
        };
        // Additive: colour × opacity added to what is below, as for composites of bands.
        let additive = wgpu::BlendState {
            color: wgpu::BlendComponent {
                src_factor: wgpu::BlendFactor::SrcAlpha,
                dst_factor: wgpu::BlendFactor::One,
                operation: wgpu::BlendOperation::Add,
            },
            alpha: wgpu::BlendComponent::OVER,
        };
        let over_pipeline = hips_pipeline("hips over", wgpu::BlendState::ALPHA_BLENDING, false);
        let add_pipeline = hips_pipeline("hips add", additive, false);
        let mesh_over_pipeline = hips_pipeline("hips mesh over", wgpu::BlendState::ALPHA_BLENDING, true);
        let mesh_add_pipeline = hips_pipeline("hips mesh add", additive, true);
        let values_pipeline = sky_pipeline(
            device,
            "hips values",
            &pipeline_layout,
            &shader,
            ("vs_main", "fs_values"),
            &[],
            VALUES_FORMAT,
            None,
        );
        let grid_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("grid"),
            entries: &[uniform_entry(0, fragment_only)],
        });
        let grid_pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("grid"),
            bind_group_layouts: &[Some(&grid_layout)],
            immediate_size: 0,
        });
        let grid_pipeline = sky_pipeline(
            device,
            "grid",
            &grid_pipeline_layout,
            &grid_shader,
            ("vs_main", "fs_grid"),
            &[],
            target_format,
            Some(wgpu::BlendState::ALPHA_BLENDING),
        );
        let colormaps = colormap_texture(device, queue);
        let overlay = overlay_pipelines(device, target_format);
        let (image_layout, image_pipeline) = image_pipeline(device, target_format);
        SkyRenderer {
            over_pipeline,
            add_pipeline,
            mesh_over_pipeline,
            mesh_add_pipeline,
            values_pipeline,
            hips_layout,
            grid_pipeline,
            grid_layout,
            colormaps,
            overlay,
            image_layout,
            image_pipeline,
        }
    }

    /// The bind group of a FITS image layer: its uniform, its values, the colormaps.
    pub(crate) fn image_bind_group(
        &self,
        device: &wgpu::Device,
        uniform: &wgpu::Buffer,
        values: &wgpu::TextureView,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("fits image"),
            layout: &self.image_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(values) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&self.colormaps) },
            ],
        })
    }

    pub(crate) fn image_pipeline(&self) -> &wgpu::RenderPipeline {
        &self.image_pipeline
    }

    /// The bind group of an overlay: its uniform, its density counts (if any), the colormaps.
    pub(crate) fn overlay_bind_group(
        &self,
        device: &wgpu::Device,
        uniform: &wgpu::Buffer,
        counts: Option<&wgpu::Buffer>,
    ) -> wgpu::BindGroup {
        let counts = counts.unwrap_or(&self.overlay.no_counts);
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("overlay"),
            layout: &self.overlay.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: counts.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&self.colormaps) },
            ],
        })
    }

    /// Draws overlays (catalogues, outlines) over what is in the pass, after their `prepare`.
    pub fn draw_overlays(&self, pass: &mut wgpu::RenderPass<'_>, overlays: &[OverlayRef<'_>]) {
        for overlay in overlays {
            match overlay {
                OverlayRef::Image(layer) => layer.record(self, pass),
                OverlayRef::Markers(layer) => layer.record(self, pass),
                OverlayRef::Segments(layer) => layer.record(self, pass),
                OverlayRef::Moc(layer) => layer.record(self, pass),
            }
        }
    }

    /// What a layer needs to build its bind group, now and when its tile array grows.
    pub(crate) fn hips_bindings(&self) -> HipsBindings {
        HipsBindings { layout: self.hips_layout.clone(), colormaps: self.colormaps.clone() }
    }

    pub(crate) fn grid_bind_group(&self, device: &wgpu::Device, uniform: &wgpu::Buffer) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("grid"),
            layout: &self.grid_layout,
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }],
        })
    }

    /// Draws the coordinate grid over what is in the pass (after `GridLayer::prepare`).
    pub fn draw_grid(&self, pass: &mut wgpu::RenderPass<'_>, grid: &GridLayer) {
        pass.set_pipeline(&self.grid_pipeline);
        pass.set_bind_group(0, grid.bind_group(), &[]);
        pass.draw(0..3, 0..1);
    }

    /// Writes each layer's per-view data (and, for narrow fields, its mesh); call before the
    /// render pass. `origin` is where the camera's screen (0, 0) sits in the target, in
    /// target pixels.
    pub fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        camera: &ViewCamera,
        origin: [f64; 2],
        layers: &mut [&mut HipsLayer],
    ) {
        for layer in layers.iter_mut() {
            layer.prepare(queue, camera, origin);
            layer.prepare_mesh(device, queue, camera);
        }
    }

    /// Draws the layers, bottom first, into the pass (whose viewport is the camera's).
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, layers: &[&HipsLayer]) {
        for layer in layers {
            if layer.style.opacity <= 0.0 {
                continue;
            }
            pass.set_bind_group(0, layer.bind_group(), &[]);
            if let Some((vertices, indices, count)) = layer.mesh() {
                pass.set_pipeline(match layer.style.blend {
                    Blend::Over => &self.mesh_over_pipeline,
                    Blend::Add => &self.mesh_add_pipeline,
                });
                pass.set_vertex_buffer(0, vertices.slice(..));
                pass.set_index_buffer(indices.slice(..), wgpu::IndexFormat::Uint32);
                pass.draw_indexed(0..count, 0, 0..1);
            } else {
                pass.set_pipeline(match layer.style.blend {
                    Blend::Over => &self.over_pipeline,
                    Blend::Add => &self.add_pipeline,
                });
                pass.draw(0..3, 0..1);
            }
        }
    }
}

/// An overlay to draw, borrowed.
pub enum OverlayRef<'a> {
    Image(&'a ImageLayer),
    Markers(&'a MarkerLayer),
    Segments(&'a SegmentLayer),
    Moc(&'a MocLayer),
}

/// An overlay to prepare for a view, borrowed mutably.
pub enum OverlayMut<'a> {
    Image(&'a mut ImageLayer),
    Markers(&'a mut MarkerLayer),
    Segments(&'a mut SegmentLayer),
    Moc(&'a mut MocLayer),
}

impl OverlayMut<'_> {
    pub fn prepare(&mut self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        match self {
            OverlayMut::Image(layer) => layer.prepare(queue, camera, origin),
            OverlayMut::Markers(layer) => layer.prepare(queue, camera, origin),
            OverlayMut::Segments(layer) => layer.prepare(queue, camera, origin),
            OverlayMut::Moc(layer) => layer.prepare(queue, camera, origin),
        }
    }

    pub fn as_ref(&self) -> OverlayRef<'_> {
        match self {
            OverlayMut::Image(layer) => OverlayRef::Image(layer),
            OverlayMut::Markers(layer) => OverlayRef::Markers(layer),
            OverlayMut::Segments(layer) => OverlayRef::Segments(layer),
            OverlayMut::Moc(layer) => OverlayRef::Moc(layer),
        }
    }
}

/// The FITS image pipeline and its bind group layout (uniform, values, colormaps).
fn image_pipeline(
    device: &wgpu::Device,
    target_format: wgpu::TextureFormat,
) -> (wgpu::BindGroupLayout, wgpu::RenderPipeline) {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("image.wgsl"),
        source: wgpu::ShaderSource::Wgsl(format!("{PROJECTION_SHADER}\n{HEALPIX_SHADER}\n{IMAGE_SHADER}").into()),
    });
    let texture = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    };
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("fits image"),
        entries: &[uniform_entry(0, wgpu::ShaderStages::FRAGMENT), texture(1), texture(2)],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("fits image"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = sky_pipeline(
        device,
        "fits image",
        &pipeline_layout,
        &module,
        ("vs_main", "fs_image"),
        &[],
        target_format,
        Some(wgpu::BlendState::ALPHA_BLENDING),
    );
    (layout, pipeline)
}

fn overlay_pipelines(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> OverlayPipelines {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("overlay.wgsl"),
        source: wgpu::ShaderSource::Wgsl(format!("{PROJECTION_SHADER}\n{HEALPIX_SHADER}\n{OVERLAY_SHADER}").into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("overlay"),
        entries: &[
            uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT),
            storage_entry(1, wgpu::ShaderStages::FRAGMENT),
            wgpu::BindGroupLayoutEntry {
                binding: 2,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: false },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
        ],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("overlay"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let blend = Some(wgpu::BlendState::ALPHA_BLENDING);
    let marker_buffers = [Some(DIRECTION_LAYOUT), Some(ATTRIBUTE_LAYOUT)];
    let markers = sky_pipeline(
        device,
        "markers",
        &pipeline_layout,
        &module,
        ("vs_marker", "fs_marker"),
        &marker_buffers,
        target_format,
        blend,
    );
    let segments = sky_pipeline(
        device,
        "segments",
        &pipeline_layout,
        &module,
        ("vs_segment", "fs_segment"),
        &[Some(SEGMENT_LAYOUT)],
        target_format,
        blend,
    );
    let density = sky_pipeline(
        device,
        "density",
        &pipeline_layout,
        &module,
        ("vs_main", "fs_density"),
        &[],
        target_format,
        blend,
    );
    let moc = sky_pipeline(device, "moc", &pipeline_layout, &module, ("vs_main", "fs_moc"), &[], target_format, blend);
    let fill = sky_pipeline(
        device,
        "footprint fill",
        &pipeline_layout,
        &module,
        ("vs_fill", "fs_fill"),
        &[Some(FILL_LAYOUT)],
        target_format,
        blend,
    );
    let no_counts = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("no density"),
        size: 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    OverlayPipelines { layout, markers, segments, density, moc, fill, no_counts }
}

/// A pipeline of the sky shaders: one vertex and one fragment entry, one colour target.
#[allow(clippy::too_many_arguments)]
fn sky_pipeline(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    (vertex_entry, fragment_entry): (&str, &str),
    buffers: &[Option<wgpu::VertexBufferLayout<'_>>],
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some(vertex_entry),
            compilation_options: Default::default(),
            buffers,
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fragment_entry),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState { format, blend, write_mask: wgpu::ColorWrites::ALL })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// The HiPS bind group's layout and the shared colormap texture.
pub(crate) struct HipsBindings {
    layout: wgpu::BindGroupLayout,
    colormaps: wgpu::TextureView,
}

impl HipsBindings {
    pub(crate) fn bind_group(
        &self,
        device: &wgpu::Device,
        uniform: &wgpu::Buffer,
        tiles: &wgpu::TextureView,
        base: &wgpu::TextureView,
        keys: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("hips layer"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(tiles) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(base) },
                wgpu::BindGroupEntry { binding: 3, resource: keys.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::TextureView(&self.colormaps) },
            ],
        })
    }
}

/// Renders the layers into a new RGBA image of the camera's viewport size, over black.
pub fn render_to_rgba(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    layers: &mut [&mut HipsLayer],
    grid: Option<&GridLayer>,
) -> Result<(u32, u32, Vec<u8>), GpuError> {
    render_scene(gpu, renderer, camera, layers, grid, &mut [])
}

/// [`render_to_rgba`] with overlays (catalogues, outlines) drawn over the grid, in order.
pub fn render_scene(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    layers: &mut [&mut HipsLayer],
    grid: Option<&GridLayer>,
    overlays: &mut [OverlayMut<'_>],
) -> Result<(u32, u32, Vec<u8>), GpuError> {
    let (width, height) = target_size(gpu, camera)?;
    renderer.prepare(&gpu.device, &gpu.queue, camera, [0.0, 0.0], layers);
    if let Some(grid) = grid {
        grid.prepare(&gpu.queue, camera, [0.0, 0.0]);
    }
    for overlay in overlays.iter_mut() {
        overlay.prepare(&gpu.queue, camera, [0.0, 0.0]);
    }
    let shared: Vec<&HipsLayer> = layers.iter().map(|layer| &**layer).collect();
    let overlays: Vec<OverlayRef<'_>> = overlays.iter().map(OverlayMut::as_ref).collect();
    let mut pixels = draw_offscreen(gpu, width, height, OFFSCREEN_FORMAT, |pass| {
        renderer.draw(pass, &shared);
        if let Some(grid) = grid {
            renderer.draw_grid(pass, grid);
        }
        renderer.draw_overlays(pass, &overlays);
    })?;
    // Everything is composited over opaque black.
    for alpha in pixels.iter_mut().skip(3).step_by(4) {
        *alpha = 255;
    }
    Ok((width, height, pixels))
}

/// Renders one FITS layer's values (not colours) for the camera's viewport: row-major, top
/// row first, NaN where the layer has no value.
pub fn render_values(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    layer: &mut HipsLayer,
) -> Result<(u32, u32, Vec<f32>), GpuError> {
    let (width, height) = target_size(gpu, camera)?;
    layer.prepare(&gpu.queue, camera, [0.0, 0.0]);
    let bytes = draw_offscreen(gpu, width, height, VALUES_FORMAT, |pass| {
        pass.set_pipeline(&renderer.values_pipeline);
        pass.set_bind_group(0, layer.bind_group(), &[]);
        pass.draw(0..3, 0..1);
    })?;
    let texels: &[[f32; 2]] = bytemuck::cast_slice(&bytes);
    let values = texels.iter().map(|[value, covered]| if *covered > 0.5 { *value } else { f32::NAN }).collect();
    Ok((width, height, values))
}

/// Two floats a pixel: the value and whether there is one.
pub const VALUES_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rg32Float;

fn target_size(gpu: &GpuContext, camera: &ViewCamera) -> Result<(u32, u32), GpuError> {
    let viewport = camera.viewport();
    let (width, height) = (viewport.width.round().max(1.0) as u32, viewport.height.round().max(1.0) as u32);
    let limits = gpu.device.limits();
    if width > limits.max_texture_dimension_2d || height > limits.max_texture_dimension_2d {
        return Err(GpuError::Readback(format!(
            "{width}x{height} is larger than this GPU renders ({} px a side)",
            limits.max_texture_dimension_2d
        )));
    }
    Ok((width, height))
}

/// Draws into a new texture of `format`, cleared to zero, and reads it back: rows top first,
/// without padding.
fn draw_offscreen(
    gpu: &GpuContext,
    width: u32,
    height: u32,
    format: wgpu::TextureFormat,
    draw: impl FnOnce(&mut wgpu::RenderPass<'_>),
) -> Result<Vec<u8>, GpuError> {
    let target = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("offscreen sky"),
        size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = target.create_view(&wgpu::TextureViewDescriptor::default());
    let texel_bytes = format.block_copy_size(None).unwrap_or(4);
    // Rows of a texture-to-buffer copy are padded to 256 bytes.
    let row_bytes = width * texel_bytes;
    let padded_row = row_bytes.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("sky readback"),
        size: u64::from(padded_row) * u64::from(height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("sky") });
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("sky"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        draw(&mut pass);
    }
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture: &target,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
    gpu.queue.submit([encoder.finish()]);

    let slice = readback.slice(..);
    let (sender, receiver) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        let _ = sender.send(result);
    });
    gpu.device
        .poll(wgpu::PollType::Wait { submission_index: None, timeout: None })
        .map_err(|error| GpuError::Readback(error.to_string()))?;
    receiver
        .recv()
        .map_err(|error| GpuError::Readback(error.to_string()))?
        .map_err(|error| GpuError::Readback(error.to_string()))?;
    let mapped = slice.get_mapped_range().map_err(|error| GpuError::Readback(error.to_string()))?;
    let mut bytes = Vec::with_capacity((row_bytes * height) as usize);
    for row in mapped.chunks_exact(padded_row as usize) {
        bytes.extend_from_slice(&row[..row_bytes as usize]);
    }
    drop(mapped);
    readback.unmap();
    Ok(bytes)
}

/// Plain (not sRGB) RGBA: tile bytes reach the image unchanged, as other HiPS tools do.
pub const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

fn colormap_texture(device: &wgpu::Device, queue: &wgpu::Queue) -> wgpu::TextureView {
    let count = Colormap::ALL.len() as u32;
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("colormaps"),
        size: wgpu::Extent3d { width: 256, height: count, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let bytes: Vec<u8> = Colormap::ALL.iter().flat_map(|c| c.table()).flatten().collect();
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: &texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        &bytes,
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(256 * 4), rows_per_image: Some(count) },
        wgpu::Extent3d { width: 256, height: count, depth_or_array_layers: 1 },
    );
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}

/// A bind group layout entry for a uniform buffer.
fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    buffer_entry(binding, visibility, wgpu::BufferBindingType::Uniform)
}

/// A bind group layout entry for a read-only storage buffer.
fn storage_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    buffer_entry(binding, visibility, wgpu::BufferBindingType::Storage { read_only: true })
}

fn buffer_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    ty: wgpu::BufferBindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    }
}
