//! One HiPS layer on the GPU: its resident tiles, their lookup table, and its uniforms.
//!
//! Tiles live in a texture array that grows as tiles arrive, up to the layer's capacity
//! (then the least recently used is evicted first);
//! the survey's Allsky tiles, if any, live in one small mosaic texture and are never evicted,
//! so every part of the sky always has something to show. A sorted table of
//! `(uniq, slot)` pairs tells the shader which tiles are resident.

use crate::renderer::SkyRenderer;
use crate::style::LayerStyle;
use skyglass_hips::{TileImage, TilePixels};
use skyglass_sky::healpix::MAX_ORDER;
use skyglass_sky::{Frame, Projection, ScreenPoint, ViewCamera};
use std::collections::HashMap;

/// Marks a slot as a tile of the base mosaic (see `BASE_FLAG` in hips.wgsl).
const BASE_FLAG: u32 = 0x8000_0000;
/// Bytes of one entry of the shader's `keys` table (uniq, slot, born, padding).
const KEY_BYTES: u64 = 16;
/// Texture array layers a layer starts with; it doubles while tiles keep coming.
const INITIAL_SLOTS: u32 = 16;
/// The deepest order the per-pixel path addresses: its lookup table keys are 32-bit uniq
/// indices. Deeper tiles only ever show in narrow fields, which the mesh path draws.
pub const MAX_VIEW_ORDER: u8 = 13;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("tile is {got}x{got} px but the layer's tiles are {expected} px")]
    WrongSize { got: u32, expected: u32 },
    #[error("tile holds {got} but the layer draws {expected}")]
    WrongKind { got: &'static str, expected: &'static str },
    #[error("order {0} is deeper than HEALPix goes")]
    TooDeep(u8),
}

/// What a layer is made of; fixed for its lifetime.
#[derive(Clone, Debug)]
pub struct LayerDescriptor {
    /// The survey's tile side in pixels.
    pub tile_width: u32,
    /// Float tiles (values through cuts and a colormap) rather than colour tiles.
    pub values: bool,
    /// The frame the survey is pixelised in.
    pub frame: Frame,
    /// The shallowest and deepest orders the survey has tiles for.
    pub min_order: u8,
    pub max_order: u8,
    /// Cuts used when the style names none (the survey's `hips_pixel_cut`).
    pub default_cuts: [f64; 2],
    /// How many full tiles may stay on the GPU at once (the texture array starts smaller
    /// and grows to this).
    pub capacity: u32,
    /// Seconds a new tile takes to fade in over its parent; 0 shows it at once.
    pub fade_seconds: f32,
}

/// Bookkeeping of which tile sits in which slot, and which to evict next.
#[derive(Debug, Default)]
pub struct TileSlots {
    capacity: u32,
    by_uniq: HashMap<u64, (u32, u64)>,
    clock: u64,
}

impl TileSlots {
    pub fn new(capacity: u32) -> TileSlots {
        TileSlots { capacity, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.by_uniq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_uniq.is_empty()
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    pub fn set_capacity(&mut self, capacity: u32) {
        self.capacity = self.capacity.max(capacity);
    }

    pub fn contains(&self, uniq: u64) -> bool {
        self.by_uniq.contains_key(&uniq)
    }

    /// Marks a tile as used now, so it is evicted last.
    pub fn touch(&mut self, uniq: u64) {
        self.clock += 1;
        if let Some(entry) = self.by_uniq.get_mut(&uniq) {
            entry.1 = self.clock;
        }
    }

    /// The slot for a new tile: a free one, else the least recently used one's (which is
    /// forgotten). `None` only with a capacity of zero.
    pub fn assign(&mut self, uniq: u64) -> Option<u32> {
        self.clock += 1;
        if let Some(entry) = self.by_uniq.get_mut(&uniq) {
            entry.1 = self.clock;
            return Some(entry.0);
        }
        let slot = if (self.by_uniq.len() as u32) < self.capacity {
            self.by_uniq.len() as u32
        } else {
            let (&oldest, &(slot, _)) = self.by_uniq.iter().min_by_key(|(_, (_, used))| *used)?;
            self.by_uniq.remove(&oldest);
            slot
        };
        self.by_uniq.insert(uniq, (slot, self.clock));
        Some(slot)
    }

    pub fn slot_of(&self, uniq: u64) -> Option<u32> {
        self.by_uniq.get(&uniq).map(|(slot, _)| *slot)
    }

    fn entries(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.by_uniq.iter().map(|(uniq, (slot, _))| (*uniq, *slot))
    }
}

/// The uniq index of a cell: 4·4^order + index.
pub fn uniq(order: u8, index: u64) -> Option<u64> {
    if order > skyglass_sky::healpix::MAX_ORDER || index >= 12u64 << (2 * order) {
        return None;
    }
    Some((4u64 << (2 * order)) + index)
}

/// The key of a cell in the shader's lookup table: its uniq index, for orders up to 13 (uniq
/// below 16·4^13 = 2^30; the high bit marks Allsky tiles).
fn shader_key(uniq: u64) -> Option<u32> {
    u32::try_from(uniq).ok().filter(|key| *key < 1 << 30)
}

/// The uniform block of hips.wgsl's `Layer`, field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LayerUniform {
    plane_x: [f32; 4],
    plane_y: [f32; 4],
    rot0: [f32; 4],
    rot1: [f32; 4],
    rot2: [f32; 4],
    projection: u32,
    tile_width: u32,
    base_width: u32,
    key_count: u32,
    min_order: u32,
    max_order: u32,
    is_float: u32,
    colormap: u32,
    stretch: u32,
    reverse: u32,
    cut_low: f32,
    cut_high: f32,
    opacity: f32,
    base_per_row: u32,
    base_order: u32,
    base_only: u32,
    now: f32,
    fade: f32,
    viewport: [f32; 2],
}

/// A vertex of the mesh path: camera screen pixels, offsets in the resident tile, its slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MeshVertex {
    screen: [f32; 2],
    offsets: [f32; 2],
    slot: u32,
    _pad: u32,
}

impl MeshVertex {
    pub(crate) const LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
        array_stride: std::mem::size_of::<MeshVertex>() as u64,
        step_mode: wgpu::VertexStepMode::Vertex,
        attributes: &wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x2, 2 => Uint32],
    };
}

/// Fields at most this wide are drawn as meshes projected in double precision on the CPU;
/// wider ones per pixel on the GPU, which is exact for every projection's edges.
pub const MESH_MAX_FOV_DEGREES: f64 = 2.0;
/// Grid segments along a mesh cell's side.
const MESH_SEGMENTS: u16 = 4;
/// Mesh cells are about 2^7 = 128 screen pixels across (so segments about 32): interpolating
/// the tile offsets linearly across a segment then errs by thousandths of a pixel.
const MESH_CELL_PIXELS_LOG2: i64 = 7;

pub struct HipsLayer {
    pub style: LayerStyle,
    descriptor: LayerDescriptor,
    tiles: wgpu::Texture,
    mosaic_view: wgpu::TextureView,
    /// What rebuilding the bind group takes, for when the tile array grows.
    bindings: crate::renderer::HipsBindings,
    slots: TileSlots,
    /// (uniq | BASE_FLAG, BASE_FLAG | mosaic position) of the base tiles.
    base_keys: Vec<(u32, u32)>,
    base_width: u32,
    base_per_row: u32,
    base_order: Option<u8>,
    keys: wgpu::Buffer,
    keys_dirty: bool,
    /// When each resident tile arrived, in seconds since `epoch` (for the fade).
    born: HashMap<u64, f32>,
    /// The mesh path's vertices and triangles for the current view (narrow fields only).
    mesh_vertices: Option<wgpu::Buffer>,
    mesh_indices: Option<wgpu::Buffer>,
    mesh_index_count: u32,
    /// The view and tile set the mesh was built for: an unchanged view costs nothing.
    mesh_built_for: Option<(ViewCamera, u64)>,
    /// Bumped whenever the resident tiles change.
    generation: u64,
    epoch: std::time::Instant,
    key_count: u32,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl HipsLayer {
    /// A layer with no tiles yet. `base` is the survey's Allsky, split: `(order, tiles)`.
    pub fn new(
        renderer: &SkyRenderer,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        descriptor: LayerDescriptor,
        base: Option<(u8, &[TileImage])>,
    ) -> HipsLayer {
        let limits = device.limits();
        let capacity = descriptor.capacity.clamp(1, limits.max_texture_array_layers);
        let tile_width = descriptor.tile_width.clamp(1, limits.max_texture_dimension_2d);
        let format = if descriptor.values { wgpu::TextureFormat::R32Float } else { wgpu::TextureFormat::Rgba8Unorm };
        let allocated = capacity.min(INITIAL_SLOTS);
        let tiles = tile_array(device, tile_width, allocated, format);

        // The base mosaic: every Allsky tile side by side, in NESTED order.
        let usable_base = base.filter(|(_, tiles)| {
            tiles.first().is_some_and(|t| t.is_float() == descriptor.values && t.width > 0)
                && tiles.iter().all(|t| t.width == tiles[0].width && t.height == t.width)
        });
        let (base_order, base_tiles) = match usable_base {
            Some((order, tiles)) => (Some(order), tiles),
            None => (None, &[][..]),
        };
        let base_width = base_tiles.first().map_or(1, |t| t.width);
        let per_row = (base_tiles.len() as f64).sqrt().ceil().max(1.0) as u32;
        let rows = (base_tiles.len() as u32).div_ceil(per_row).max(1);
        let (mosaic_width, mosaic_height) = (per_row * base_width, rows * base_width);
        let fits = mosaic_width <= limits.max_texture_dimension_2d && mosaic_height <= limits.max_texture_dimension_2d;
        let (base_order, base_tiles) = if fits { (base_order, base_tiles) } else { (None, &[][..]) };
        let mosaic = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("hips base mosaic"),
            size: wgpu::Extent3d {
                width: if fits { mosaic_width } else { 1 },
                height: if fits { mosaic_height } else { 1 },
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let mut base_keys = Vec::with_capacity(base_tiles.len());
        if let Some(order) = base_order {
            for (index, tile) in base_tiles.iter().enumerate() {
                let position = index as u32;
                let origin =
                    wgpu::Origin3d { x: (position % per_row) * base_width, y: (position / per_row) * base_width, z: 0 };
                write_tile(queue, &mosaic, origin, tile);
                if let Some(key) = uniq(order, index as u64).and_then(shader_key) {
                    base_keys.push((key | BASE_FLAG, BASE_FLAG | position));
                }
            }
        }

        let max_keys = capacity as u64 + base_keys.len() as u64;
        let keys = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("hips tile keys"),
            size: max_keys.max(1) * KEY_BYTES,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("hips layer uniform"),
            size: std::mem::size_of::<LayerUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mosaic_view = mosaic.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let bindings = renderer.hips_bindings();
        let bind_group = bindings.bind_group(device, &uniform, &array_view(&tiles), &mosaic_view, &keys);
        HipsLayer {
            style: LayerStyle::default(),
            descriptor: LayerDescriptor { capacity, tile_width, ..descriptor },
            tiles,
            mosaic_view,
            bindings,
            slots: TileSlots::new(allocated),
            base_keys,
            base_width,
            base_per_row: per_row,
            base_order,
            keys,
            keys_dirty: true,
            born: HashMap::new(),
            mesh_vertices: None,
            mesh_indices: None,
            mesh_index_count: 0,
            mesh_built_for: None,
            generation: 0,
            epoch: std::time::Instant::now(),
            key_count: 0,
            uniform,
            bind_group,
        }
    }

    pub fn descriptor(&self) -> &LayerDescriptor {
        &self.descriptor
    }

    /// The order of the base mosaic, if the layer has one.
    pub fn base_order(&self) -> Option<u8> {
        self.base_order
    }

    pub fn resident_tiles(&self) -> usize {
        self.slots.len()
    }

    /// Bytes of GPU memory the layer's textures take.
    pub fn texture_bytes(&self) -> u64 {
        // RGBA8 and R32Float texels are both four bytes.
        let texel = 4;
        let tiles = u64::from(self.descriptor.tile_width).pow(2) * u64::from(self.slots.capacity());
        let base = u64::from(self.base_width).pow(2) * self.base_keys.len() as u64;
        (tiles + base) * texel
    }

    /// Whether a tile is still fading in (the view should be drawn again soon).
    pub fn is_fading(&self) -> bool {
        let fade = self.descriptor.fade_seconds;
        let now = self.epoch.elapsed().as_secs_f32();
        fade > 0.0 && self.born.values().any(|born| now - born < fade)
    }

    /// The order of tiles this layer wants for a view.
    pub fn view_order(&self, camera: &ViewCamera) -> u8 {
        let d = &self.descriptor;
        view_order(camera, d.tile_width, d.min_order, d.max_order)
    }

    /// Whether the Allsky mosaic alone has a texel for every screen pixel of the view: then
    /// it is all that is drawn, since full tiles would only alias.
    pub fn base_suffices(&self, camera: &ViewCamera) -> bool {
        self.base_order
            .is_some_and(|order| pixel_order(camera) <= i64::from(order) + i64::from(self.base_width.trailing_zeros()))
    }

    pub fn has_tile(&self, order: u8, index: u64) -> bool {
        uniq(order, index).is_some_and(|key| self.slots.contains(key))
    }

    /// Marks a resident tile as wanted for the current view.
    pub fn touch(&mut self, order: u8, index: u64) {
        if let Some(key) = uniq(order, index) {
            self.slots.touch(key);
        }
    }

    /// Uploads a tile: the tile array grows while it may, then the least recently used tile
    /// makes room.
    pub fn insert_tile(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        order: u8,
        index: u64,
        tile: &TileImage,
    ) -> Result<(), LayerError> {
        let key = uniq(order, index).ok_or(LayerError::TooDeep(order))?;
        if tile.width != self.descriptor.tile_width || tile.height != self.descriptor.tile_width {
            return Err(LayerError::WrongSize { got: tile.width, expected: self.descriptor.tile_width });
        }
        if tile.is_float() != self.descriptor.values {
            let kind = |values: bool| if values { "values (FITS)" } else { "colours" };
            return Err(LayerError::WrongKind { got: kind(tile.is_float()), expected: kind(self.descriptor.values) });
        }
        if !self.slots.contains(key) && self.slots.len() as u32 >= self.slots.capacity() {
            self.grow(device, queue);
        }
        let Some(slot) = self.slots.assign(key) else { return Ok(()) };
        write_tile(queue, &self.tiles, wgpu::Origin3d { x: 0, y: 0, z: slot }, tile);
        self.born.insert(key, self.epoch.elapsed().as_secs_f32());
        self.keys_dirty = true;
        self.generation += 1;
        Ok(())
    }

    /// Doubles the tile array (up to the capacity), copying the resident tiles over.
    fn grow(&mut self, device: &wgpu::Device, queue: &wgpu::Queue) {
        let old = self.slots.capacity();
        let new = (old * 2).min(self.descriptor.capacity);
        if new <= old {
            return;
        }
        let tiles = tile_array(device, self.descriptor.tile_width, new, self.tiles.format());
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("grow tiles") });
        encoder.copy_texture_to_texture(
            self.tiles.as_image_copy(),
            tiles.as_image_copy(),
            wgpu::Extent3d {
                width: self.descriptor.tile_width,
                height: self.descriptor.tile_width,
                depth_or_array_layers: old,
            },
        );
        queue.submit([encoder.finish()]);
        self.bind_group =
            self.bindings.bind_group(device, &self.uniform, &array_view(&tiles), &self.mosaic_view, &self.keys);
        self.tiles = tiles;
        self.slots.set_capacity(new);
    }

    /// Writes the uniforms for this view and, if tiles changed, the lookup table.
    /// `origin` is where the camera's screen (0, 0) sits in the target, in target pixels
    /// (a view inside a window starts at its rectangle's corner).
    pub(crate) fn prepare(&mut self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        if self.keys_dirty {
            // Evicted tiles leave the arrival times too.
            let slots = &self.slots;
            self.born.retain(|key, _| slots.contains(*key));
            let tiles = self.slots.entries().filter_map(|(uniq, slot)| {
                let born = self.born.get(&uniq).copied().unwrap_or(0.0);
                shader_key(uniq).map(|key| (key, slot, born))
            });
            let mut entries: Vec<(u32, u32, f32)> =
                self.base_keys.iter().map(|(key, slot)| (*key, *slot, 0.0)).chain(tiles).collect();
            entries.sort_unstable_by_key(|(key, _, _)| *key);
            let flat: Vec<u32> =
                entries.iter().flat_map(|(key, slot, born)| [*key, *slot, born.to_bits(), 0]).collect();
            if !flat.is_empty() {
                queue.write_buffer(&self.keys, 0, bytemuck::cast_slice(&flat));
            }
            self.key_count = entries.len() as u32;
            self.keys_dirty = false;
        }
        let uniform = self.uniform_for(camera, origin);
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    /// Builds the mesh path's geometry for a narrow view (or clears it for a wide one).
    pub(crate) fn prepare_mesh(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, camera: &ViewCamera) {
        if !uses_mesh(camera) {
            self.mesh_index_count = 0;
            self.mesh_built_for = None;
            return;
        }
        if self
            .mesh_built_for
            .as_ref()
            .is_some_and(|(built, generation)| built == camera && *generation == self.generation)
        {
            return;
        }
        self.mesh_built_for = Some((camera.clone(), self.generation));
        self.mesh_index_count = 0;
        let (vertices, indices) = self.mesh_for(camera);
        if indices.is_empty() {
            return;
        }
        let vertex_bytes: &[u8] = bytemuck::cast_slice(&vertices);
        let index_bytes: &[u8] = bytemuck::cast_slice(&indices);
        let fits =
            |buffer: &Option<wgpu::Buffer>, bytes: usize| buffer.as_ref().is_some_and(|b| b.size() >= bytes as u64);
        if !fits(&self.mesh_vertices, vertex_bytes.len()) {
            self.mesh_vertices =
                Some(mesh_buffer(device, "hips mesh vertices", vertex_bytes.len(), wgpu::BufferUsages::VERTEX));
        }
        if !fits(&self.mesh_indices, index_bytes.len()) {
            self.mesh_indices =
                Some(mesh_buffer(device, "hips mesh indices", index_bytes.len(), wgpu::BufferUsages::INDEX));
        }
        if let (Some(vertex_buffer), Some(index_buffer)) = (&self.mesh_vertices, &self.mesh_indices) {
            queue.write_buffer(vertex_buffer, 0, vertex_bytes);
            queue.write_buffer(index_buffer, 0, index_bytes);
            self.mesh_index_count = indices.len() as u32;
        }
    }

    /// The visible sky as grids of small cells, each drawn from the deepest resident tile
    /// that holds it (a tile of the view's order, an ancestor, or the Allsky), positions in
    /// double precision.
    fn mesh_for(&self, camera: &ViewCamera) -> (Vec<MeshVertex>, Vec<u32>) {
        let base_only = self.base_suffices(camera);
        let tile_order = match (base_only, self.base_order) {
            (true, Some(base)) => base,
            _ => self.view_order(camera),
        };
        // Mesh cells are no larger than tiles, so each lies in one tile.
        let finest = i64::from(skyglass_sky::healpix::MAX_ORDER);
        let order = (pixel_order(camera) - MESH_CELL_PIXELS_LOG2).clamp(i64::from(tile_order), finest) as u8;
        let survey_frame = self.descriptor.frame;
        let to_view = survey_frame.rotation_to(camera.frame());
        let cells = skyglass_sky::healpix::cells_in_view_in(camera, order, survey_frame).unwrap_or_default();
        let side = usize::from(MESH_SEGMENTS) + 1;
        let mut vertices = Vec::with_capacity(cells.len() * side * side);
        let mut indices = Vec::with_capacity(cells.len() * usize::from(MESH_SEGMENTS).pow(2) * 6);
        for index in cells {
            let Some((slot, ancestor_order)) =
                self.resident_for(tile_order, index >> (2 * u32::from(order - tile_order)), base_only)
            else {
                continue;
            };
            let Ok(cell) = skyglass_sky::Cell::new(order, index) else { continue };
            // Where this cell sits inside the tile drawn for it.
            let depth = u32::from(order - ancestor_order);
            let within = index & ((1u64 << (2 * depth)) - 1);
            let (column, row) = deinterleave(within);
            let scale = 1.0 / f64::from(1u32 << depth);
            let first = vertices.len() as u32;
            let mut complete = true;
            for (k, point) in cell.grid(MESH_SEGMENTS).into_iter().enumerate() {
                let (i, j) = (k / side, k % side);
                let dx = i as f64 / f64::from(MESH_SEGMENTS);
                let dy = j as f64 / f64::from(MESH_SEGMENTS);
                let sky = skyglass_sky::LonLat::from_vec3(to_view.apply(point.to_vec3()));
                let Some(screen) = camera.sky_to_screen(sky) else {
                    complete = false;
                    break;
                };
                vertices.push(MeshVertex {
                    screen: [screen.x as f32, screen.y as f32],
                    offsets: [((column as f64 + dx) * scale) as f32, ((row as f64 + dy) * scale) as f32],
                    slot,
                    _pad: 0,
                });
            }
            if !complete {
                vertices.truncate(first as usize);
                continue;
            }
            let side = side as u32;
            for i in 0..side - 1 {
                for j in 0..side - 1 {
                    let a = first + i * side + j;
                    let (b, c, d) = (a + 1, a + side, a + side + 1);
                    indices.extend_from_slice(&[a, c, b, b, c, d]);
                }
            }
        }
        (vertices, indices)
    }

    /// The slot and order of the deepest resident tile holding a cell, Allsky included.
    fn resident_for(&self, order: u8, index: u64, base_only: bool) -> Option<(u32, u8)> {
        let lowest = self.descriptor.min_order.min(order);
        if !base_only {
            for ancestor in (lowest..=order).rev() {
                let ancestor_index = index >> (2 * u32::from(order - ancestor));
                let Some(key) = uniq(ancestor, ancestor_index) else { continue };
                if let Some(slot) = self.slots.slot_of(key) {
                    return Some((slot, ancestor));
                }
            }
        }
        let base = self.base_order.filter(|base| *base <= order)?;
        let base_index = index >> (2 * u32::from(order - base));
        let key = uniq(base, base_index).and_then(shader_key)? | BASE_FLAG;
        self.base_keys.iter().find(|(k, _)| *k == key).map(|(_, slot)| (*slot, base))
    }

    /// The mesh path's triangles, if this view uses it.
    pub(crate) fn mesh(&self) -> Option<(&wgpu::Buffer, &wgpu::Buffer, u32)> {
        match (&self.mesh_vertices, &self.mesh_indices) {
            (Some(vertices), Some(indices)) if self.mesh_index_count > 0 => {
                Some((vertices, indices, self.mesh_index_count))
            }
            _ => None,
        }
    }

    pub(crate) fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }

    fn uniform_for(&self, camera: &ViewCamera, origin: [f64; 2]) -> LayerUniform {
        let base_only = self.base_suffices(camera);
        let view_order = match (base_only, self.base_order) {
            (true, Some(base)) => base,
            _ => self.view_order(camera),
        };
        let (plane_x, plane_y) = plane_affine(camera, origin);
        let to_survey = camera.frame().rotation_to(self.descriptor.frame).after(&camera.native_frame().inverse());
        let rows = to_survey.rows().map(|row| [row[0] as f32, row[1] as f32, row[2] as f32, 0.0]);
        let cuts = self.style.cuts.unwrap_or(self.descriptor.default_cuts);
        let min_order = self.base_order.unwrap_or(self.descriptor.min_order).min(self.descriptor.min_order);
        LayerUniform {
            plane_x,
            plane_y,
            rot0: rows[0],
            rot1: rows[1],
            rot2: rows[2],
            projection: projection_code(camera.projection()),
            tile_width: self.descriptor.tile_width,
            base_width: self.base_width,
            key_count: self.key_count,
            min_order: u32::from(min_order.min(view_order)),
            max_order: u32::from(view_order.min(MAX_VIEW_ORDER)),
            is_float: u32::from(self.descriptor.values),
            colormap: self.style.colormap.index(),
            stretch: self.style.stretch.code(),
            reverse: u32::from(self.style.reverse),
            cut_low: cuts[0] as f32,
            cut_high: if cuts[1] == cuts[0] { (cuts[0] + 1.0) as f32 } else { cuts[1] as f32 },
            opacity: self.style.opacity.clamp(0.0, 1.0),
            base_per_row: self.base_per_row,
            base_order: self.base_order.map_or(u32::MAX, u32::from),
            base_only: u32::from(base_only),
            now: self.epoch.elapsed().as_secs_f32(),
            fade: self.descriptor.fade_seconds.max(0.0),
            viewport: [camera.viewport().width as f32, camera.viewport().height as f32],
        }
    }
}

/// The order whose tile pixels are just finer than the view's pixels, for a survey with
/// `tile_width`-pixel tiles (clamped to the survey's orders and the renderer's reach).
pub fn view_order(camera: &ViewCamera, tile_width: u32, min_order: u8, max_order: u8) -> u8 {
    let tile_bits = i64::from(tile_width.max(1).trailing_zeros());
    let order = (pixel_order(camera) - tile_bits).clamp(0, i64::from(MAX_ORDER) - tile_bits) as u8;
    let order = order.clamp(min_order.min(max_order), max_order);
    // Only narrow fields (the mesh path) reach past the per-pixel path's deepest order.
    if uses_mesh(camera) { order } else { order.min(MAX_VIEW_ORDER) }
}

/// The shallowest HEALPix order whose cells are no larger than the view's pixels.
pub fn pixel_order(camera: &ViewCamera) -> i64 {
    let pixel = camera.pixel_scale().radians();
    // A HEALPix cell of order n spans about sqrt(π/3) / 2^n radians.
    let cell0 = (std::f64::consts::PI / 3.0).sqrt();
    let order = (cell0 / pixel).log2().ceil();
    if order.is_finite() { order.clamp(0.0, f64::from(MAX_ORDER)) as i64 } else { 0 }
}

/// Target pixel → projection plane, an affine map: the rows of `plane = M (x, y, 1)`. The
/// GPU's pixel y runs down like the camera's; `origin` is the camera's (0, 0) in the target.
pub(crate) fn plane_affine(camera: &ViewCamera, origin: [f64; 2]) -> ([f32; 4], [f32; 4]) {
    let at = |x: f64, y: f64| camera.screen_to_plane(ScreenPoint { x: x - origin[0], y: y - origin[1] });
    let zero = at(0.0, 0.0);
    let (step_x, step_y) = (at(1.0, 0.0), at(0.0, 1.0));
    (
        [(step_x.x - zero.x) as f32, (step_y.x - zero.x) as f32, zero.x as f32, 0.0],
        [(step_x.y - zero.y) as f32, (step_y.y - zero.y) as f32, zero.y as f32, 0.0],
    )
}

pub(crate) fn projection_code(projection: Projection) -> u32 {
    Projection::ALL.iter().position(|p| *p == projection).unwrap_or(0) as u32
}

/// Whether a view is narrow enough for the mesh path.
pub fn uses_mesh(camera: &ViewCamera) -> bool {
    camera.fov().degrees() <= MESH_MAX_FOV_DEGREES
}

/// The column (x, even bits) and row (y, odd bits) of a NESTED sub-index.
fn deinterleave(bits: u64) -> (u64, u64) {
    let (mut x, mut y) = (0, 0);
    for bit in 0..32 {
        x |= ((bits >> (2 * bit)) & 1) << bit;
        y |= ((bits >> (2 * bit + 1)) & 1) << bit;
    }
    (x, y)
}

fn mesh_buffer(device: &wgpu::Device, label: &str, bytes: usize, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        // Room to grow, so that a slowly moving view does not reallocate every frame.
        size: (bytes as u64 * 2).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT).max(256),
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn tile_array(device: &wgpu::Device, width: u32, layers: u32, format: wgpu::TextureFormat) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("hips tiles"),
        size: wgpu::Extent3d { width, height: width, depth_or_array_layers: layers },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        // COPY_SRC: growing the array copies its layers into a bigger one.
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

fn array_view(texture: &wgpu::Texture) -> wgpu::TextureView {
    texture.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(wgpu::TextureViewDimension::D2Array),
        ..Default::default()
    })
}

fn write_tile(queue: &wgpu::Queue, texture: &wgpu::Texture, origin: wgpu::Origin3d, tile: &TileImage) {
    let bytes: &[u8] = match &tile.pixels {
        TilePixels::Rgba8(data) => data,
        TilePixels::Float(data) => bytemuck::cast_slice(data),
    };
    queue.write_texture(
        wgpu::TexelCopyTextureInfo { texture, mip_level: 0, origin, aspect: wgpu::TextureAspect::All },
        bytes,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(tile.width * 4),
            rows_per_image: Some(tile.height),
        },
        wgpu::Extent3d { width: tile.width, height: tile.height, depth_or_array_layers: 1 },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_tile_is_evicted() {
        let mut slots = TileSlots::new(2);
        assert_eq!(slots.assign(10), Some(0));
        assert_eq!(slots.assign(11), Some(1));
        slots.touch(10);
        // 11 is older than 10 now: it goes.
        assert_eq!(slots.assign(12), Some(1));
        assert!(slots.contains(10) && slots.contains(12) && !slots.contains(11));
        assert_eq!(slots.assign(12), Some(1), "a resident tile keeps its slot");
    }

    #[test]
    fn uniq_indices_and_shader_keys() {
        assert_eq!(uniq(0, 0), Some(4));
        assert_eq!(uniq(3, 448), Some(256 + 448));
        assert_eq!(uniq(3, 768), None);
        // The shader's table holds orders up to 13; deeper tiles are the mesh path's.
        assert!(uniq(13, (12 << 26) - 1).and_then(shader_key).is_some());
        assert_eq!(uniq(14, 0).and_then(shader_key), None);
        assert_eq!(uniq(20, 5), Some((4 << 40) + 5));
        assert_eq!(uniq(30, 0), None);
    }
}
