//! A FITS image with its celestial WCS as a sky layer (what SAMP's image.load.fits brings):
//! its values in an `R32Float` texture, reprojected per pixel by `shaders/image.wgsl`.

use crate::renderer::SkyRenderer;
use crate::style::{Colormap, Stretch};
use skyglass_sky::{ImageWcs, ViewCamera};

/// How an image layer looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageStyle {
    pub opacity: f32,
    pub colormap: Colormap,
    pub stretch: Stretch,
    pub reverse: bool,
    /// Values mapped to the colormap's ends.
    pub cuts: [f32; 2],
}

/// The uniform block of image.wgsl's `Image`, field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct ImageUniform {
    plane_x: [f32; 4],
    plane_y: [f32; 4],
    rot0: [f32; 4],
    rot1: [f32; 4],
    rot2: [f32; 4],
    texel_x: [f32; 4],
    texel_y: [f32; 4],
    size: [f32; 2],
    view_projection: u32,
    image_projection: u32,
    colormap: u32,
    stretch: u32,
    reverse: u32,
    opacity: f32,
    cut_low: f32,
    cut_high: f32,
    _pad: [f32; 2],
}

pub struct ImageLayer {
    pub style: ImageStyle,
    wcs: ImageWcs,
    /// Image pixels per texel: images larger than the GPU takes are thinned.
    step: usize,
    size: [u32; 2],
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl ImageLayer {
    /// An image of `width` × `height` values, row-major from FITS row 1, with its WCS. Cuts
    /// start at the 0.5 and 99.5 percentiles of its finite values.
    pub fn new(
        renderer: &SkyRenderer,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        width: usize,
        height: usize,
        values: &[f32],
        wcs: ImageWcs,
    ) -> ImageLayer {
        let largest = device.limits().max_texture_dimension_2d.max(1) as usize;
        let step = width.max(height).div_ceil(largest).max(1);
        let (columns, rows) = (width.div_ceil(step).max(1), height.div_ceil(step).max(1));
        let mut texels = Vec::with_capacity(columns * rows);
        for row in 0..rows {
            for column in 0..columns {
                texels.push(values.get(row * step * width + column * step).copied().unwrap_or(f32::NAN));
            }
        }
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("fits image"),
            size: wgpu::Extent3d { width: columns as u32, height: rows as u32, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(&texels),
            wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(columns as u32 * 4), rows_per_image: None },
            wgpu::Extent3d { width: columns as u32, height: rows as u32, depth_or_array_layers: 1 },
        );
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("fits image"),
            size: std::mem::size_of::<ImageUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = renderer.image_bind_group(device, &uniform, &view);
        let style = ImageStyle {
            opacity: 1.0,
            colormap: Colormap::Grey,
            stretch: Stretch::Linear,
            reverse: false,
            cuts: percentile_cuts(&texels),
        };
        ImageLayer { style, wcs, step, size: [columns as u32, rows as u32], uniform, bind_group }
    }

    pub fn wcs(&self) -> &ImageWcs {
        &self.wcs
    }

    pub fn prepare(&mut self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        let (plane_x, plane_y) = crate::layer::plane_affine(camera, origin);
        let to_image = self
            .wcs
            .native_frame()
            .after(&camera.frame().rotation_to(self.wcs.frame))
            .after(&camera.native_frame().inverse());
        let rows = to_image.rows().map(|row| [row[0] as f32, row[1] as f32, row[2] as f32, 0.0]);
        // Plane radians → degrees → CD⁻¹ → FITS pixel offsets → 0-based texels.
        let [[a, b], [c, d]] = self.wcs.inverse_cd();
        let (k, step) = (180.0 / std::f64::consts::PI, self.step as f64);
        let [x0, y0] = [(self.wcs.crpix[0] - 1.0) / step, (self.wcs.crpix[1] - 1.0) / step];
        let uniform = ImageUniform {
            plane_x,
            plane_y,
            rot0: rows[0],
            rot1: rows[1],
            rot2: rows[2],
            texel_x: [(a * k / step) as f32, (b * k / step) as f32, x0 as f32, 0.0],
            texel_y: [(c * k / step) as f32, (d * k / step) as f32, y0 as f32, 0.0],
            size: [self.size[0] as f32, self.size[1] as f32],
            view_projection: crate::layer::projection_code(camera.projection()),
            image_projection: crate::layer::projection_code(self.wcs.projection),
            colormap: self.style.colormap.index(),
            stretch: self.style.stretch.code(),
            reverse: u32::from(self.style.reverse),
            opacity: self.style.opacity.clamp(0.0, 1.0),
            cut_low: self.style.cuts[0],
            cut_high: if self.style.cuts[1] == self.style.cuts[0] {
                self.style.cuts[0] + 1.0
            } else {
                self.style.cuts[1]
            },
            _pad: [0.0; 2],
        };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub(crate) fn record(&self, renderer: &SkyRenderer, pass: &mut wgpu::RenderPass<'_>) {
        if self.style.opacity <= 0.0 {
            return;
        }
        pass.set_pipeline(renderer.image_pipeline());
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// The 0.5 and 99.5 percentiles of the finite values, as ds9's and Aladin's default cuts.
pub fn percentile_cuts(values: &[f32]) -> [f32; 2] {
    let mut finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return [0.0, 1.0];
    }
    finite.sort_by(f32::total_cmp);
    let at = |fraction: f64| finite[((finite.len() - 1) as f64 * fraction).round() as usize];
    [at(0.005), at(0.995)]
}
