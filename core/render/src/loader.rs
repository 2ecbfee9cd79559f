//! Which tiles a view needs, read from a survey and put on the GPU, synchronously.
//!
//! Used by `skyglass render` and the tests; the GUI does the same work on worker threads.
//! A cell whose tile is missing or broken shows its deepest ancestor that exists, down to the
//! Allsky base; a broken tile is reported once and never stops the render.

use crate::gpu::{GpuContext, GpuError};
use crate::grid::{GridLayer, GridStyle};
use crate::layer::{HipsLayer, LayerDescriptor};
use crate::renderer::{SkyRenderer, render_to_rgba, render_values};
use crate::style::LayerStyle;
use skyglass_hips::{HipsSurvey, TileError, TileFormat};
use skyglass_sky::healpix::cells_in_view_in;
use skyglass_sky::{Cell, ViewCamera};
use std::collections::BTreeSet;

/// The format to draw a survey in: colour tiles unless values are asked for (or are all there is).
pub fn choose_format(survey: &HipsSurvey, want_values: bool) -> Option<TileFormat> {
    let formats = &survey.properties().formats;
    let values = formats.iter().copied().find(|f| f.is_values());
    let colour = formats.iter().copied().find(|f| !f.is_values());
    if want_values { values.or(colour) } else { colour.or(values) }
}

/// A layer for `survey` drawn from `format` tiles, its Allsky (if any) already resident.
pub fn open_layer(
    renderer: &SkyRenderer,
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    survey: &HipsSurvey,
    format: TileFormat,
    capacity: u32,
) -> Result<HipsLayer, TileError> {
    let properties = survey.properties();
    let allsky = survey.read_allsky(format)?;
    let default_cuts = properties.pixel_cut.or(properties.data_range).unwrap_or([0.0, 1.0]);
    let descriptor = LayerDescriptor {
        tile_width: properties.tile_width,
        values: format.is_values(),
        frame: properties.frame.sky_frame(),
        min_order: properties.min_order,
        max_order: properties.max_order,
        default_cuts,
        capacity,
        // An offscreen render shows its tiles at once.
        fade_seconds: 0.0,
    };
    let base = allsky.as_ref().map(|(order, tiles)| (*order, tiles.as_slice()));
    Ok(HipsLayer::new(renderer, device, queue, descriptor, base))
}

/// What loading a view did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoadReport {
    pub order: u8,
    pub loaded: usize,
    /// Cells with no tile of their own (their ancestors stand in).
    pub missing: usize,
    /// Tiles that could not be read or decoded, with the reason.
    pub failed: Vec<String>,
}

/// The cells (of the survey's grid, in its frame) a view needs at the layer's order for it.
pub fn needed_cells(layer: &HipsLayer, camera: &ViewCamera) -> (u8, Vec<u64>) {
    let order = layer.view_order(camera);
    (order, cells_in_view_in(camera, order, layer.descriptor().frame).unwrap_or_default())
}

/// Reads and uploads every tile the view needs, with ancestors where tiles are missing.
pub fn load_view(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    layer: &mut HipsLayer,
    survey: &HipsSurvey,
    format: TileFormat,
    camera: &ViewCamera,
) -> LoadReport {
    if layer.base_suffices(camera) {
        return LoadReport { order: layer.base_order().unwrap_or(0), ..Default::default() };
    }
    let (order, cells) = needed_cells(layer, camera);
    let mut report = LoadReport { order, ..Default::default() };
    let shallowest = survey.properties().min_order.min(order);
    let base_order = layer.base_order();
    let mut wanted: BTreeSet<(u8, u64)> = cells.iter().map(|index| (order, *index)).collect();
    let mut tried = BTreeSet::new();
    while let Some((cell_order, index)) = wanted.pop_last() {
        if !tried.insert((cell_order, index)) {
            continue;
        }
        if layer.has_tile(cell_order, index) {
            layer.touch(cell_order, index);
            continue;
        }
        let tile = match survey.read_tile(cell_order, index, format) {
            Ok(tile) => tile,
            Err(error) => {
                tracing::warn!("{error}");
                report.failed.push(error.to_string());
                None
            }
        };
        match tile {
            Some(tile) => match layer.insert_tile(device, queue, cell_order, index, &tile) {
                Ok(()) => report.loaded += 1,
                Err(error) => {
                    let message = format!("{}: tile {cell_order}/{index}: {error}", survey.location());
                    tracing::warn!("{message}");
                    report.failed.push(message);
                }
            },
            None => {
                if cell_order == order {
                    report.missing += 1;
                }
                // The parent stands in, unless the base mosaic already covers that order.
                let covered_by_base = base_order.is_some_and(|base| cell_order <= base + 1);
                if cell_order > shallowest
                    && !covered_by_base
                    && let Some(parent) = Cell::new(cell_order, index).ok().and_then(Cell::parent)
                {
                    wanted.insert((parent.order(), parent.index()));
                }
            }
        }
    }
    report
}

/// One layer of a headless render.
pub struct LayerSpec<'a> {
    pub survey: &'a HipsSurvey,
    pub format: TileFormat,
    pub style: LayerStyle,
}

/// Draws the layers (bottom first) for one view, offscreen: what `skyglass render` does.
/// Returns the image's width, height and RGBA pixels, and what loading each layer did.
pub fn render_view(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    specs: &[LayerSpec<'_>],
    grid: Option<GridStyle>,
) -> Result<(u32, u32, Vec<u8>, Vec<LoadReport>), RenderError> {
    let mut layers = Vec::with_capacity(specs.len());
    let mut reports = Vec::with_capacity(specs.len());
    for spec in specs {
        let capacity = tile_capacity(camera, spec.survey.properties().tile_width);
        let mut layer = open_layer(renderer, &gpu.device, &gpu.queue, spec.survey, spec.format, capacity)?;
        layer.style = spec.style;
        reports.push(load_view(&gpu.device, &gpu.queue, &mut layer, spec.survey, spec.format, camera));
        layers.push(layer);
    }
    let mut refs: Vec<&mut HipsLayer> = layers.iter_mut().collect();
    let grid = grid.map(|style| GridLayer::new(renderer, &gpu.device, style));
    let (width, height, pixels) = render_to_rgba(gpu, renderer, camera, &mut refs, grid.as_ref())?;
    Ok((width, height, pixels, reports))
}

/// One FITS layer's values for a view, offscreen (for FITS images that keep the values).
pub fn render_view_values(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    spec: &LayerSpec<'_>,
) -> Result<(u32, u32, Vec<f32>, LoadReport), RenderError> {
    let capacity = tile_capacity(camera, spec.survey.properties().tile_width);
    let mut layer = open_layer(renderer, &gpu.device, &gpu.queue, spec.survey, spec.format, capacity)?;
    layer.style = spec.style;
    let report = load_view(&gpu.device, &gpu.queue, &mut layer, spec.survey, spec.format, camera);
    let (width, height, values) = render_values(gpu, renderer, camera, &mut layer)?;
    Ok((width, height, values, report))
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Tile(#[from] TileError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Enough texture slots for every tile a view shows, with room for their ancestors.
fn tile_capacity(camera: &ViewCamera, tile_width: u32) -> u32 {
    let viewport = camera.viewport();
    let across = (viewport.width / f64::from(tile_width)).ceil() + 2.0;
    let down = (viewport.height / f64::from(tile_width)).ceil() + 2.0;
    ((across * down * 4.0) as u32).clamp(64, 2048)
}
