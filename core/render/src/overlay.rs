//! Overlays over the sky: catalogue markers, line segments (footprint outlines, proper-motion
//! arrows) and the density map that stands in for markers where a view holds too many.
//!
//! A source is an ICRS unit vector in single precision plus a value and flags: 20 bytes on
//! the GPU. The view's rotation and projection are uniforms applied in `overlay.wgsl`, so a
//! pan or zoom rewrites one uniform block, never the sources. Sources are stored sorted by
//! their HEALPix cell of order [`SORT_ORDER`]: the sources of any cell of that order or a
//! coarser one are a contiguous range, so a view draws only the ranges it shows and counts
//! its sources without touching them.

use crate::layer::pixel_order;
use crate::renderer::SkyRenderer;
use crate::style::Colormap;
use cdshealpix::nested;
use rayon::prelude::*;
use skyglass_sky::healpix::{cells_in_view_in, cone_coverage};
use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, Vec3, ViewCamera};
use std::ops::Range;
use wgpu::util::DeviceExt;

/// Sources are sorted by their cell of this order (196,608 cells of about 0.46°).
pub const SORT_ORDER: u8 = 7;
/// Views showing more sources than this draw the density map instead of markers.
pub const DENSE_SOURCES: u64 = 250_000;
/// Outlines are cut into great-circle pieces no longer than this, so that they bend with
/// the projection.
const MAX_SEGMENT_DEGREES: f64 = 0.5;

const HIDDEN: u32 = 1;
const SELECTED: u32 = 2;

/// How a catalogue's sources are marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerShape {
    Circle,
    Dot,
    Square,
    Plus,
    Cross,
    Diamond,
}

impl MarkerShape {
    pub const ALL: [MarkerShape; 6] = [
        MarkerShape::Circle,
        MarkerShape::Dot,
        MarkerShape::Square,
        MarkerShape::Plus,
        MarkerShape::Cross,
        MarkerShape::Diamond,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MarkerShape::Circle => "circle",
            MarkerShape::Dot => "dot",
            MarkerShape::Square => "square",
            MarkerShape::Plus => "plus",
            MarkerShape::Cross => "cross",
            MarkerShape::Diamond => "diamond",
        }
    }

    fn code(self) -> u32 {
        MarkerShape::ALL.iter().position(|s| *s == self).unwrap_or(0) as u32
    }
}

/// How a marker layer looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarkerStyle {
    pub shape: MarkerShape,
    /// Width in target pixels.
    pub size: f32,
    /// Straight RGBA, 0 to 1; alpha is the layer's opacity.
    pub colour: [f32; 4],
    /// Colour each source by its value (see [`MarkerLayer::set_values`]) through `colormap`.
    pub by_value: bool,
    pub colormap: Colormap,
    /// The highlighted (selected) sources: ringed in this colour.
    pub highlight: [f32; 4],
}

impl Default for MarkerStyle {
    fn default() -> Self {
        MarkerStyle {
            shape: MarkerShape::Circle,
            size: 9.0,
            colour: [1.0, 0.35, 0.2, 0.9],
            by_value: false,
            colormap: Colormap::Viridis,
            highlight: [1.0, 1.0, 0.0, 1.0],
        }
    }
}

/// How a segment layer looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineStyle {
    pub colour: [f32; 4],
    /// Width in target pixels.
    pub width: f32,
    /// The colour of selected outlines.
    pub highlight: [f32; 4],
    /// The opacity of closed outlines' fill (0: outlines only).
    pub fill: f32,
}

impl Default for LineStyle {
    fn default() -> Self {
        LineStyle { colour: [0.3, 1.0, 0.4, 0.9], width: 1.5, highlight: [1.0, 1.0, 0.0, 1.0], fill: 0.0 }
    }
}

/// A vertex of a footprint's fill: its direction, its outline's centre, flags (28 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct FillVertex {
    direction: [f32; 3],
    centre: [f32; 3],
    flags: u32,
}

pub(crate) const FILL_LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
    array_stride: 28,
    step_mode: wgpu::VertexStepMode::Vertex,
    attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Uint32],
};

/// The uniform block of overlay.wgsl's `Overlay`, field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct OverlayUniform {
    rot0: [f32; 4],
    rot1: [f32; 4],
    rot2: [f32; 4],
    screen_x: [f32; 4],
    screen_y: [f32; 4],
    plane_x: [f32; 4],
    plane_y: [f32; 4],
    colour: [f32; 4],
    highlight: [f32; 4],
    viewport: [f32; 2],
    projection: u32,
    shape: u32,
    size: f32,
    colormap: u32,
    by_value: u32,
    wraps: u32,
    density_order: u32,
    density_start: u32,
    range_count: u32,
    density_max: f32,
}

impl OverlayUniform {
    /// The view's part: rotation, projection, plane ↔ pixel maps.
    fn for_view(camera: &ViewCamera, origin: [f64; 2]) -> OverlayUniform {
        let to_native = camera.native_frame().after(&Frame::Icrs.rotation_to(camera.frame()));
        let rows = to_native.rows().map(|row| [row[0] as f32, row[1] as f32, row[2] as f32, 0.0]);
        let (plane_x, plane_y) = crate::layer::plane_affine(camera, origin);
        // Plane → camera pixel, affine too: from three points.
        let at = |x: f64, y: f64| camera.plane_to_screen(skyglass_sky::PlanePoint { x, y });
        let (zero, step_x, step_y) = (at(0.0, 0.0), at(1.0, 0.0), at(0.0, 1.0));
        let viewport = camera.viewport();
        OverlayUniform {
            rot0: rows[0],
            rot1: rows[1],
            rot2: rows[2],
            screen_x: [(step_x.x - zero.x) as f32, (step_y.x - zero.x) as f32, zero.x as f32, 0.0],
            screen_y: [(step_x.y - zero.y) as f32, (step_y.y - zero.y) as f32, zero.y as f32, 0.0],
            plane_x,
            plane_y,
            viewport: [viewport.width as f32, viewport.height as f32],
            projection: crate::layer::projection_code(camera.projection()),
            wraps: u32::from(!camera.projection().is_zenithal()),
            ..OverlayUniform::default()
        }
    }
}

/// One source on the GPU besides its direction: its value (0 to 1 through the colormap, NaN
/// for none) and flags.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct SourceAttributes {
    value: f32,
    flags: u32,
}

/// The bytes one source takes on the GPU.
pub const BYTES_PER_SOURCE: usize = std::mem::size_of::<[f32; 3]>() + std::mem::size_of::<SourceAttributes>();

pub(crate) const DIRECTION_LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
    array_stride: 12,
    step_mode: wgpu::VertexStepMode::Instance,
    attributes: &wgpu::vertex_attr_array![0 => Float32x3],
};

pub(crate) const ATTRIBUTE_LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
    array_stride: 8,
    step_mode: wgpu::VertexStepMode::Instance,
    attributes: &wgpu::vertex_attr_array![1 => Float32, 2 => Uint32],
};

/// A segment on the GPU: its two ends (ICRS unit vectors) and flags, 28 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct SegmentInstance {
    a: [f32; 3],
    b: [f32; 3],
    flags: u32,
}

pub(crate) const SEGMENT_LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
    array_stride: 28,
    step_mode: wgpu::VertexStepMode::Instance,
    attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Uint32],
};

/// How a view draws a marker layer.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewDraw {
    /// These instance ranges hold every source the view shows.
    Markers(Vec<Range<u32>>),
    /// Too many sources: the density map at this order.
    Density { order: u8 },
}

/// A catalogue on the GPU.
pub struct MarkerLayer {
    pub style: MarkerStyle,
    /// Views showing more sources than this draw the density map.
    pub dense_sources: u64,
    /// Views with fewer screen pixels per source than this draw the density map too: the
    /// markers would only paint the sky over (0 turns the rule off).
    pub pixels_per_source: f64,
    /// Instance i is row `rows[i]` of the table; rows without a position have no instance.
    rows: Vec<u32>,
    instance_of_row: Vec<u32>,
    directions: Vec<[f32; 3]>,
    attributes: Vec<SourceAttributes>,
    /// `cell_starts[c]` is the first instance in cell c of [`SORT_ORDER`]; one extra at the end.
    cell_starts: Vec<u32>,
    /// Per order 0..=SORT_ORDER: the most sources in one cell.
    density: Vec<u32>,
    direction_buffer: wgpu::Buffer,
    attribute_buffer: wgpu::Buffer,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    highlight_uniform: wgpu::Buffer,
    highlight_bind_group: wgpu::BindGroup,
    /// The highlighted sources: directions and attributes, and how many.
    highlight: Option<(wgpu::Buffer, wgpu::Buffer, u32)>,
    draw: ViewDraw,
}

/// Where a table's sources go on the sky, worked out on the CPU (the part of a layer that
/// takes time: a second for ten million sources on two cores), apart from the GPU so that
/// it can run on any thread; [`MarkerLayer::from_placement`] then uploads it.
pub struct MarkerPlacement {
    rows: Vec<u32>,
    instance_of_row: Vec<u32>,
    directions: Vec<[f32; 3]>,
    cell_starts: Vec<u32>,
    counts: Vec<u32>,
    density: Vec<u32>,
}

impl MarkerPlacement {
    /// The rows of a table with ICRS positions in degrees; rows whose position is missing
    /// (NaN) or impossible are left out, and their row numbers kept for the others.
    pub fn new(ra_degrees: &[f64], dec_degrees: &[f64]) -> MarkerPlacement {
        let layer = nested::get(SORT_ORDER);
        let mut keyed: Vec<(u32, u32)> = ra_degrees
            .par_iter()
            .zip(dec_degrees.par_iter())
            .enumerate()
            .filter_map(|(row, (ra, dec))| {
                let position = LonLat::from_degrees(*ra, *dec).ok()?;
                let cell = layer.hash(position.lon().radians(), position.lat().radians());
                Some((cell as u32, row as u32))
            })
            .collect();
        keyed.par_sort_unstable();
        let cells = skyglass_sky::healpix::cell_count(SORT_ORDER) as usize;
        let mut cell_starts = vec![0u32; cells + 1];
        for (cell, _) in &keyed {
            cell_starts[*cell as usize + 1] += 1;
        }
        for c in 0..cells {
            cell_starts[c + 1] += cell_starts[c];
        }
        let rows: Vec<u32> = keyed.iter().map(|(_, row)| *row).collect();
        let directions: Vec<[f32; 3]> = rows
            .par_iter()
            .map(|row| {
                let (ra, dec) = (ra_degrees[*row as usize].to_radians(), dec_degrees[*row as usize].to_radians());
                [(dec.cos() * ra.cos()) as f32, (dec.cos() * ra.sin()) as f32, dec.sin() as f32]
            })
            .collect();
        let mut instance_of_row = vec![u32::MAX; ra_degrees.len().min(dec_degrees.len())];
        for (instance, row) in rows.iter().enumerate() {
            instance_of_row[*row as usize] = instance as u32;
        }

        // The density map: every cell of every order, dense, from the sorted cells.
        let mut counts = vec![0u32; density_offset(SORT_ORDER + 1) as usize];
        let finest = density_offset(SORT_ORDER) as usize;
        for (cell, _) in &keyed {
            counts[finest + *cell as usize] += 1;
        }
        // Each coarser cell holds its four children's sources.
        for order in (0..SORT_ORDER).rev() {
            let (parents, children) = (density_offset(order) as usize, density_offset(order + 1) as usize);
            for cell in 0..(12usize << (2 * order)) {
                counts[parents + cell] = counts[children + 4 * cell..children + 4 * cell + 4].iter().sum();
            }
        }
        let density: Vec<u32> = (0..=SORT_ORDER)
            .map(|order| {
                let cells = &counts[density_offset(order) as usize..density_offset(order + 1) as usize];
                cells.iter().copied().max().unwrap_or(0)
            })
            .collect();
        MarkerPlacement { rows, instance_of_row, directions, cell_starts, counts, density }
    }

    /// Sources with a position.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl MarkerLayer {
    /// A layer of the rows of a table with ICRS positions in degrees (see
    /// [`MarkerPlacement::new`]), placed on this thread.
    pub fn new(renderer: &SkyRenderer, device: &wgpu::Device, ra_degrees: &[f64], dec_degrees: &[f64]) -> MarkerLayer {
        MarkerLayer::from_placement(renderer, device, MarkerPlacement::new(ra_degrees, dec_degrees))
    }

    /// A layer of sources placed beforehand: the upload to the GPU only.
    pub fn from_placement(renderer: &SkyRenderer, device: &wgpu::Device, placement: MarkerPlacement) -> MarkerLayer {
        let MarkerPlacement { rows, instance_of_row, directions, cell_starts, counts, density } = placement;
        let attributes = vec![SourceAttributes { value: f32::NAN, flags: 0 }; rows.len()];
        let buffer = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            // wgpu refuses empty buffers: an empty layer gets one zeroed element.
            let zeros = [0u8; 16];
            let contents = if contents.is_empty() { &zeros[..] } else { contents };
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        let vertex = wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST;
        let direction_buffer = buffer("source directions", bytemuck::cast_slice(&directions), vertex);
        let attribute_buffer = buffer("source attributes", bytemuck::cast_slice(&attributes), vertex);
        let count_buffer = buffer("source density", bytemuck::cast_slice(&counts), wgpu::BufferUsages::STORAGE);
        let uniform_buffer = |label| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: std::mem::size_of::<OverlayUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let uniform = uniform_buffer("markers");
        let highlight_uniform = uniform_buffer("highlighted markers");
        let bind_group = renderer.overlay_bind_group(device, &uniform, Some(&count_buffer));
        let highlight_bind_group = renderer.overlay_bind_group(device, &highlight_uniform, None);
        MarkerLayer {
            style: MarkerStyle::default(),
            dense_sources: DENSE_SOURCES,
            pixels_per_source: 16.0,
            rows,
            instance_of_row,
            directions,
            attributes,
            cell_starts,
            density,
            direction_buffer,
            attribute_buffer,
            uniform,
            bind_group,
            highlight_uniform,
            highlight_bind_group,
            highlight: None,
            draw: ViewDraw::Markers(Vec::new()),
        }
    }

    /// Sources with a position (instances).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes the layer holds on the GPU for its sources.
    pub fn gpu_bytes(&self) -> u64 {
        self.direction_buffer.size() + self.attribute_buffer.size()
    }

    /// Colours by value: one per table row, mapped from `range` onto the colormap (NaN: the
    /// layer's colour).
    pub fn set_values(&mut self, queue: &wgpu::Queue, values: &[f64], range: [f64; 2]) {
        let span = if range[1] == range[0] { 1.0 } else { range[1] - range[0] };
        for (attributes, row) in self.attributes.iter_mut().zip(&self.rows) {
            let value = values.get(*row as usize).copied().unwrap_or(f64::NAN);
            attributes.value = ((value - range[0]) / span).clamp(0.0, 1.0) as f32;
            if value.is_nan() {
                attributes.value = f32::NAN;
            }
        }
        queue.write_buffer(&self.attribute_buffer, 0, bytemuck::cast_slice(&self.attributes));
    }

    /// Hides the rows for which `shown` is false (a filter); `None` shows them all.
    pub fn set_shown(&mut self, queue: &wgpu::Queue, shown: Option<&[bool]>) {
        for (attributes, row) in self.attributes.iter_mut().zip(&self.rows) {
            let visible = shown.is_none_or(|shown| shown.get(*row as usize).copied().unwrap_or(false));
            attributes.flags = if visible { attributes.flags & !HIDDEN } else { attributes.flags | HIDDEN };
        }
        queue.write_buffer(&self.attribute_buffer, 0, bytemuck::cast_slice(&self.attributes));
    }

    /// Rings these rows in the highlight colour, over everything else of the layer.
    pub fn set_highlight(&mut self, device: &wgpu::Device, rows: &[usize]) {
        let instances: Vec<u32> =
            rows.iter().filter_map(|row| self.instance_of_row.get(*row).copied().filter(|i| *i != u32::MAX)).collect();
        if instances.is_empty() {
            self.highlight = None;
            return;
        }
        let directions: Vec<[f32; 3]> = instances.iter().map(|i| self.directions[*i as usize]).collect();
        let attributes = vec![SourceAttributes { value: f32::NAN, flags: 0 }; instances.len()];
        let make = |label, contents: &[u8]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::VERTEX,
            })
        };
        self.highlight = Some((
            make("highlighted directions", bytemuck::cast_slice(&directions)),
            make("highlighted attributes", bytemuck::cast_slice(&attributes)),
            instances.len() as u32,
        ));
    }

    /// Decides what the view draws (marker ranges, or the density map) and writes the uniforms.
    pub fn prepare(&mut self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        self.draw = self.view_draw(camera);
        let mut uniform = OverlayUniform::for_view(camera, origin);
        uniform.colour = self.style.colour;
        uniform.shape = self.style.shape.code();
        uniform.size = self.style.size;
        uniform.colormap = self.style.colormap.index();
        uniform.by_value = u32::from(self.style.by_value);
        if let ViewDraw::Density { order } = self.draw {
            uniform.density_order = u32::from(order);
            uniform.density_start = density_offset(order);
            uniform.density_max = self.density[usize::from(order)] as f32;
        }
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
        let mut highlight = uniform;
        highlight.colour = self.style.highlight;
        highlight.shape = MarkerShape::Circle.code();
        highlight.size = self.style.size * 1.6 + 4.0;
        highlight.by_value = 0;
        queue.write_buffer(&self.highlight_uniform, 0, bytemuck::bytes_of(&highlight));
    }

    /// What a view shows of the layer: the instance ranges of the cells in view, or the
    /// density map when they hold more than [`DENSE_SOURCES`].
    pub fn view_draw(&self, camera: &ViewCamera) -> ViewDraw {
        // Cells of about a quarter of the field: few to list, and a tight cover.
        let quarter = (camera.fov().degrees().min(360.0) / 4.0).max(1e-6);
        let order = (58.6 / quarter).log2().ceil().clamp(0.0, f64::from(SORT_ORDER)) as u8;
        let cells = match cells_in_view_in(camera, order, Frame::Icrs) {
            Ok(cells) => cells,
            Err(_) => (0..skyglass_sky::healpix::cell_count(order)).collect(),
        };
        let shift = 2 * u32::from(SORT_ORDER - order);
        let mut ranges: Vec<Range<u32>> = Vec::new();
        let mut total = 0u64;
        for cell in cells {
            let first = (cell << shift) as usize;
            let last = ((cell + 1) << shift) as usize;
            let (start, end) = (self.cell_starts[first], self.cell_starts[last.min(self.cell_starts.len() - 1)]);
            if start == end {
                continue;
            }
            total += u64::from(end - start);
            match ranges.last_mut() {
                Some(previous) if previous.end == start => previous.end = end,
                _ => ranges.push(start..end),
            }
        }
        let viewport = camera.viewport();
        let crowded =
            self.pixels_per_source > 0.0 && total as f64 * self.pixels_per_source > viewport.width * viewport.height;
        if total > self.dense_sources || crowded {
            // Cells of about four screen pixels.
            let order = (pixel_order(camera) - 2).clamp(0, i64::from(SORT_ORDER)) as u8;
            ViewDraw::Density { order }
        } else {
            ViewDraw::Markers(ranges)
        }
    }

    /// The table row of the source nearest `point` (camera pixels), within `radius` pixels.
    pub fn pick(&self, camera: &ViewCamera, point: ScreenPoint, radius: f64) -> Option<usize> {
        if matches!(self.draw, ViewDraw::Density { .. }) {
            return None;
        }
        let centre = camera.screen_to_sky(point)?;
        let centre = camera.frame().convert(Frame::Icrs, centre);
        // Projections stretch away from the centre: search a wider cone, then measure on screen.
        let reach = Angle::from_radians((camera.pixel_scale().radians() * radius * 4.0).min(0.5));
        let order = (58.6 / reach.degrees().max(1e-9)).log2().floor().clamp(0.0, f64::from(SORT_ORDER)) as u8;
        let shift = 2 * u32::from(SORT_ORDER - order);
        let cells = cone_coverage(order, centre, reach).ok()?;
        let mut best: Option<(f64, usize)> = None;
        for cell in cells {
            let first = (cell << shift) as usize;
            let last = ((cell + 1) << shift) as usize;
            for instance in self.cell_starts[first]..self.cell_starts[last.min(self.cell_starts.len() - 1)] {
                if self.attributes[instance as usize].flags & HIDDEN != 0 {
                    continue;
                }
                let [x, y, z] = self.directions[instance as usize];
                let direction = Vec3::new(f64::from(x), f64::from(y), f64::from(z));
                let position = Frame::Icrs.convert(camera.frame(), LonLat::from_vec3(direction));
                let Some(on_screen) = camera.sky_to_screen(position) else { continue };
                let distance = (on_screen.x - point.x).hypot(on_screen.y - point.y);
                if distance <= radius && best.is_none_or(|(d, _)| distance < d) {
                    best = Some((distance, self.rows[instance as usize] as usize));
                }
            }
        }
        best.map(|(_, row)| row)
    }

    /// How the last prepared view draws the layer.
    pub fn current_draw(&self) -> &ViewDraw {
        &self.draw
    }

    pub(crate) fn record(&self, renderer: &SkyRenderer, pass: &mut wgpu::RenderPass<'_>) {
        match &self.draw {
            ViewDraw::Density { .. } => {
                pass.set_pipeline(&renderer.overlay.density);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.draw(0..3, 0..1);
            }
            ViewDraw::Markers(ranges) => {
                pass.set_pipeline(&renderer.overlay.markers);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.set_vertex_buffer(0, self.direction_buffer.slice(..));
                pass.set_vertex_buffer(1, self.attribute_buffer.slice(..));
                for range in ranges {
                    pass.draw(0..6, range.clone());
                }
            }
        }
        if let Some((directions, attributes, count)) = &self.highlight {
            pass.set_pipeline(&renderer.overlay.markers);
            pass.set_bind_group(0, &self.highlight_bind_group, &[]);
            pass.set_vertex_buffer(0, directions.slice(..));
            pass.set_vertex_buffer(1, attributes.slice(..));
            pass.draw(0..6, 0..*count);
        }
    }
}

/// The deepest order a MOC is drawn at: cell indices fit 32 bits up to order 14 (13″ cells).
pub const MOC_DRAW_ORDER: u8 = 14;

/// A space MOC's coverage on the GPU: its ranges at `min(depth, MOC_DRAW_ORDER)`, looked up
/// per pixel; filled, with brighter edges.
pub struct MocLayer {
    pub colour: [f32; 4],
    order: u8,
    range_count: u32,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl MocLayer {
    /// A MOC from its ranges of order-29 cells (NESTED) and its depth.
    pub fn new(
        renderer: &SkyRenderer,
        device: &wgpu::Device,
        ranges: impl Iterator<Item = Range<u64>>,
        depth: u8,
    ) -> MocLayer {
        let order = depth.min(MOC_DRAW_ORDER);
        let shift = 2 * u32::from(29 - order);
        // Ranges at the drawing order: a partly covered cell counts as covered.
        let mut coarse: Vec<[u32; 2]> = Vec::new();
        for range in ranges {
            let start = (range.start >> shift) as u32;
            let end = range.end.div_ceil(1 << shift) as u32;
            match coarse.last_mut() {
                Some(last) if last[1] >= start => last[1] = last[1].max(end),
                _ => coarse.push([start, end]),
            }
        }
        let range_count = coarse.len() as u32;
        if coarse.is_empty() {
            coarse.push([0, 0]);
        }
        let ranges = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("moc ranges"),
            contents: bytemuck::cast_slice(&coarse),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("moc"),
            size: std::mem::size_of::<OverlayUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = renderer.overlay_bind_group(device, &uniform, Some(&ranges));
        MocLayer { colour: [0.9, 0.3, 0.9, 0.9], order, range_count, uniform, bind_group }
    }

    /// The order the coverage is drawn at.
    pub fn order(&self) -> u8 {
        self.order
    }

    pub fn prepare(&mut self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        let mut uniform = OverlayUniform::for_view(camera, origin);
        uniform.colour = self.colour;
        uniform.density_order = u32::from(self.order);
        uniform.range_count = self.range_count;
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub(crate) fn record(&self, renderer: &SkyRenderer, pass: &mut wgpu::RenderPass<'_>) {
        pass.set_pipeline(&renderer.overlay.moc);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// Outlines (footprints, arrows) on the GPU: great-circle pieces, each tagged with the
/// outline (group) it belongs to, so that a group can be selected or hidden.
pub struct SegmentLayer {
    pub style: LineStyle,
    segments: Vec<SegmentInstance>,
    groups: Vec<u32>,
    buffer: wgpu::Buffer,
    /// Closed outlines as triangles fanned from their centres, and each vertex's group.
    fill: Vec<FillVertex>,
    fill_groups: Vec<u32>,
    fill_buffer: wgpu::Buffer,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl SegmentLayer {
    /// Polylines of ICRS positions, each with its group; `closed` joins each last point to
    /// its first.
    pub fn new(renderer: &SkyRenderer, device: &wgpu::Device, polylines: &[(u32, Vec<LonLat>, bool)]) -> SegmentLayer {
        let mut segments = Vec::new();
        let mut groups = Vec::new();
        let (mut fill, mut fill_groups) = (Vec::new(), Vec::new());
        for (group, points, closed) in polylines {
            let count = points.len();
            let closed = *closed && count > 2;
            let pairs = if closed { count } else { count.saturating_sub(1) };
            let first = segments.len();
            for i in 0..pairs {
                for (a, b) in great_circle_pieces(points[i], points[(i + 1) % count]) {
                    segments.push(SegmentInstance { a, b, flags: 0 });
                    groups.push(*group);
                }
            }
            // The fill: a fan from the centre over each piece of the outline (exact for the
            // convex and star-shaped outlines footprints mostly are).
            if closed && let Some(centre) = centre_of(points) {
                for piece in &segments[first..] {
                    for direction in [centre, piece.a, piece.b] {
                        fill.push(FillVertex { direction, centre, flags: 0 });
                        fill_groups.push(*group);
                    }
                }
            }
        }
        let zeros = [0u8; 28];
        let contents: &[u8] = if segments.is_empty() { &zeros } else { bytemuck::cast_slice(&segments) };
        let buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("segments"),
            contents,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
        });
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("segments"),
            size: std::mem::size_of::<OverlayUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = renderer.overlay_bind_group(device, &uniform, None);
        let zeros = [0u8; 28];
        let contents: &[u8] = if fill.is_empty() { &zeros } else { bytemuck::cast_slice(&fill) };
        let fill_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("footprint fill"),
            contents,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
        });
        SegmentLayer {
            style: LineStyle::default(),
            segments,
            groups,
            buffer,
            fill,
            fill_groups,
            fill_buffer,
            uniform,
            bind_group,
        }
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Marks the groups for which `selected` says so, and hides those `shown` says not to show.
    pub fn set_flags(&mut self, queue: &wgpu::Queue, selected: impl Fn(u32) -> bool, shown: impl Fn(u32) -> bool) {
        let flags = |group: u32| (u32::from(!shown(group)) * HIDDEN) | (u32::from(selected(group)) * SELECTED);
        for (segment, group) in self.segments.iter_mut().zip(&self.groups) {
            segment.flags = flags(*group);
        }
        for (vertex, group) in self.fill.iter_mut().zip(&self.fill_groups) {
            vertex.flags = flags(*group);
        }
        if !self.segments.is_empty() {
            queue.write_buffer(&self.buffer, 0, bytemuck::cast_slice(&self.segments));
        }
        if !self.fill.is_empty() {
            queue.write_buffer(&self.fill_buffer, 0, bytemuck::cast_slice(&self.fill));
        }
    }

    pub fn prepare(&mut self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        let mut uniform = OverlayUniform::for_view(camera, origin);
        uniform.colour = self.style.colour;
        uniform.highlight = self.style.highlight;
        uniform.size = self.style.width;
        // The fill's opacity rides in the density field, which outlines do not use.
        uniform.density_max = self.style.fill.clamp(0.0, 1.0);
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub(crate) fn record(&self, renderer: &SkyRenderer, pass: &mut wgpu::RenderPass<'_>) {
        if self.segments.is_empty() {
            return;
        }
        pass.set_bind_group(0, &self.bind_group, &[]);
        if self.style.fill > 0.0 && !self.fill.is_empty() {
            pass.set_pipeline(&renderer.overlay.fill);
            pass.set_vertex_buffer(0, self.fill_buffer.slice(..));
            pass.draw(0..self.fill.len() as u32, 0..1);
        }
        pass.set_pipeline(&renderer.overlay.segments);
        pass.set_vertex_buffer(0, self.buffer.slice(..));
        pass.draw(0..6, 0..self.segments.len() as u32);
    }
}

/// Where the cells of `order` start in the dense density counts: after 12·4^k cells of each
/// order k below it, 4·(4^order − 1) in all.
fn density_offset(order: u8) -> u32 {
    4 * ((1u32 << (2 * u32::from(order))) - 1)
}

/// The direction at the middle of points (their normalised mean).
fn centre_of(points: &[LonLat]) -> Option<[f32; 3]> {
    let sum = points.iter().fold([0.0f64; 3], |s, p| {
        let v = p.to_vec3();
        [s[0] + v.x, s[1] + v.y, s[2] + v.z]
    });
    let norm = (sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]).sqrt();
    (norm > 1e-9).then(|| [(sum[0] / norm) as f32, (sum[1] / norm) as f32, (sum[2] / norm) as f32])
}

/// The great circle from `a` to `b` in pieces of at most [`MAX_SEGMENT_DEGREES`].
fn great_circle_pieces(a: LonLat, b: LonLat) -> Vec<([f32; 3], [f32; 3])> {
    let (va, vb) = (a.to_vec3(), b.to_vec3());
    let angle = va.angle_to(vb).radians();
    let pieces = ((angle.to_degrees() / MAX_SEGMENT_DEGREES).ceil() as usize).clamp(1, 720);
    let sin_angle = angle.sin();
    let point = |t: f64| -> [f32; 3] {
        // Spherical interpolation; a and b (nearly) the same or opposite: straight.
        let (wa, wb) = if sin_angle.abs() < 1e-12 {
            (1.0 - t, t)
        } else {
            (((1.0 - t) * angle).sin() / sin_angle, (t * angle).sin() / sin_angle)
        };
        let v = Vec3::new(wa * va.x + wb * vb.x, wa * va.y + wb * vb.y, wa * va.z + wb * vb.z);
        let norm = (v.x * v.x + v.y * v.y + v.z * v.z).sqrt().max(1e-300);
        [(v.x / norm) as f32, (v.y / norm) as f32, (v.z / norm) as f32]
    };
    (0..pieces).map(|i| (point(i as f64 / pieces as f64), point((i + 1) as f64 / pieces as f64))).collect()
}

/// Proper-motion arrows: from each position to where it will be after `years`, with a head.
/// Motions in mas/yr, `pmra` including the cos δ factor (as Gaia and Hipparcos give it).
pub fn motion_arrows(positions: &[(u32, LonLat, f64, f64)], years: f64) -> Vec<(u32, Vec<LonLat>, bool)> {
    let mut arrows = Vec::new();
    for (group, position, pmra, pmdec) in positions {
        if !pmra.is_finite() || !pmdec.is_finite() || (*pmra == 0.0 && *pmdec == 0.0) {
            continue;
        }
        // On the tangent plane: east and north in radians.
        let mas = std::f64::consts::PI / 180.0 / 3.6e6;
        let (east, north) = (pmra * years * mas, pmdec * years * mas);
        let at = |e: f64, n: f64| offset_position(*position, e, n);
        let tip = at(east, north);
        // The head: two barbs a quarter of the arrow long, 25° off its line.
        let (sin_b, cos_b) = 25f64.to_radians().sin_cos();
        let (back_e, back_n) = (-east * 0.25, -north * 0.25);
        let left = at(east + back_e * cos_b - back_n * sin_b, north + back_e * sin_b + back_n * cos_b);
        let right = at(east + back_e * cos_b + back_n * sin_b, north - back_e * sin_b + back_n * cos_b);
        arrows.push((*group, vec![*position, tip, left], false));
        arrows.push((*group, vec![tip, right], false));
    }
    arrows
}

/// The position `east` and `north` radians away on the tangent plane at `origin` (gnomonic).
fn offset_position(origin: LonLat, east: f64, north: f64) -> LonLat {
    let native = Projection::Tan.native_frame(origin);
    // TAN's plane has x toward east and y toward north at the centre.
    let point = skyglass_sky::PlanePoint { x: east, y: north };
    match Projection::Tan.inverse(point) {
        Some(native_point) => Projection::from_native(&native, native_point),
        None => origin,
    }
}

/// Outlines of a footprint: its shapes and holes as closed polylines.
pub fn footprint_outlines(group: u32, footprint: &skyglass_sky::Footprint) -> Vec<(u32, Vec<LonLat>, bool)> {
    footprint
        .shapes
        .iter()
        .chain(&footprint.holes)
        .map(|shape| match shape {
            skyglass_sky::Shape::Polygon(vertices) => (group, vertices.clone(), true),
            skyglass_sky::Shape::Circle { centre, radius } => (group, circle_points(*centre, *radius), true),
        })
        .collect()
}

/// A small circle as a polygon of 72 points.
fn circle_points(centre: LonLat, radius: Angle) -> Vec<LonLat> {
    let r = radius.radians();
    (0..72)
        .map(|i| {
            let a = f64::from(i) * std::f64::consts::TAU / 72.0;
            // Exact on the sphere: ZEA's plane radius for angle r.
            let plane_radius = 2.0 * (r / 2.0).sin();
            let native = Projection::Zea.native_frame(centre);
            let point = skyglass_sky::PlanePoint { x: plane_radius * a.sin(), y: plane_radius * a.cos() };
            Projection::Zea.inverse(point).map_or(centre, |p| Projection::from_native(&native, p))
        })
        .collect()
}

/// The pipelines of the overlays (made once by [`SkyRenderer::new`]).
pub(crate) struct OverlayPipelines {
    pub(crate) layout: wgpu::BindGroupLayout,
    pub(crate) markers: wgpu::RenderPipeline,
    pub(crate) segments: wgpu::RenderPipeline,
    pub(crate) density: wgpu::RenderPipeline,
    pub(crate) moc: wgpu::RenderPipeline,
    pub(crate) fill: wgpu::RenderPipeline,
    /// Bound where a layer has no density map.
    pub(crate) no_counts: wgpu::Buffer,
}
