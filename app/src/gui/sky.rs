//! The sky inside egui: layers as the UI knows them, their GPU side kept in egui-wgpu's
//! callback resources, and the paint callback that draws them with `core/render`.

use super::catalog::Catalogue;
use super::coverage::{Coverage, SkyImage};
use super::fetch::{Fetched, Request, TileFetcher, TileKey};
use egui_wgpu::wgpu;
use egui_wgpu::{CallbackResources, CallbackTrait, RenderState, ScreenDescriptor};
use skyglass_hips::{EmbeddedFiles, HipsSurvey, TileFormat};
use skyglass_render::loader::{choose_format, needed_cells};
use skyglass_render::{
    GridLayer, GridStyle, HipsLayer, ImageLayer, ImageStyle, LayerDescriptor, LayerStyle, LineStyle, MarkerLayer,
    MarkerStyle, MocLayer, OverlayMut, OverlayRef, SegmentLayer, SkyRenderer,
};
use skyglass_sky::{Cell, LonLat, ScreenPoint, ViewCamera};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Tiles kept on the GPU per layer, at most: 192 MiB for 512 px colour tiles.
const TILES_PER_LAYER: u32 = 192;
/// How long a tile takes to fade in over its parent.
const FADE_SECONDS: f32 = 0.3;

/// Surveys built into the binary, so that the first launch shows a sky with no network.
pub const BUNDLED: &[(&str, EmbeddedFiles)] = &[
    (
        "Fermi LAT colour (bundled)",
        &[
            ("properties", include_bytes!("../../../assets/hips/FermiColor/properties")),
            ("Norder3/Allsky.jpg", include_bytes!("../../../assets/hips/FermiColor/Norder3/Allsky.jpg")),
        ],
    ),
    (
        "Planck HFI 143 GHz (bundled)",
        &[
            ("properties", include_bytes!("../../../assets/hips/Planck-HFI143/properties")),
            ("Norder3/Allsky.jpg", include_bytes!("../../../assets/hips/Planck-HFI143/Norder3/Allsky.jpg")),
        ],
    ),
];

/// A layer as the UI sees it.
pub struct Layer {
    pub id: u64,
    pub survey: Arc<HipsSurvey>,
    pub format: TileFormat,
    pub style: LayerStyle,
    pub visible: bool,
    /// The GPU side exists (its Allsky, if any, has been read).
    ready: bool,
    /// Tiles the survey does not have, so never asked for again.
    absent: HashSet<(u8, u64)>,
    /// The last error reading this layer's tiles, shown once in the panel.
    pub problem: Option<String>,
}

impl Layer {
    pub fn new(id: u64, survey: HipsSurvey) -> Option<Layer> {
        let format = choose_format(&survey, false)?;
        Some(Layer {
            id,
            survey: Arc::new(survey),
            format,
            style: LayerStyle::default(),
            visible: true,
            ready: false,
            absent: HashSet::new(),
            problem: None,
        })
    }

    pub fn title(&self) -> &str {
        &self.survey.properties().title
    }

    /// Whether the layer's GPU side exists (its Allsky has been read, or found missing).
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn is_values(&self) -> bool {
        self.format.is_values()
    }

    pub fn can_show_values(&self) -> bool {
        self.survey.properties().formats.iter().any(|f| f.is_values())
    }

    /// Switches between colour and FITS tiles; the GPU side is rebuilt.
    pub fn set_values(&mut self, values: bool) {
        if let Some(format) = choose_format(&self.survey, values)
            && format != self.format
        {
            self.format = format;
            self.ready = false;
            self.absent.clear();
        }
    }
}

/// The GPU side of every layer, in egui-wgpu's callback resources.
pub struct SkyResources {
    renderer: SkyRenderer,
    layers: HashMap<u64, (TileFormat, HipsLayer)>,
    grid: GridLayer,
    catalogues: HashMap<u64, CatalogueGpu>,
    coverages: HashMap<u64, MocLayer>,
    images: HashMap<u64, ImageLayer>,
}

/// A catalogue's GPU side: its markers, footprint outlines and motion arrows.
struct CatalogueGpu {
    revision: u64,
    markers: Option<MarkerLayer>,
    outlines: Option<SegmentLayer>,
    /// The arrows, and the years of motion they show.
    arrows: Option<(SegmentLayer, f64)>,
}

impl SkyResources {
    pub fn install(render_state: &RenderState) {
        let renderer = SkyRenderer::new(&render_state.device, &render_state.queue, render_state.target_format);
        let grid = GridLayer::new(&renderer, &render_state.device, GridStyle::default());
        render_state.renderer.write().callback_resources.insert(SkyResources {
            renderer,
            layers: HashMap::new(),
            grid,
            catalogues: HashMap::new(),
            coverages: HashMap::new(),
            images: HashMap::new(),
        });
    }
}

/// Takes the tiles the workers have read and puts them on the GPU; asks for the tiles the
/// view still lacks, centre first. Returns whether tiles are fading in (draw again soon).
pub fn sync_tiles(
    render_state: &RenderState,
    fetcher: &TileFetcher,
    layers: &mut [Layer],
    camera: &ViewCamera,
) -> bool {
    let mut renderer = render_state.renderer.write();
    let Some(resources) = renderer.callback_resources.get_mut::<SkyResources>() else { return false };
    let queue = &render_state.queue;

    for result in fetcher.take_results() {
        match result {
            Fetched::Allsky { layer: id, tiles } => {
                let Some(layer) = layers.iter_mut().find(|l| l.id == id) else { continue };
                let base = match tiles {
                    Ok(base) => base,
                    Err(error) => {
                        tracing::warn!("{error}");
                        layer.problem = Some(error);
                        None
                    }
                };
                let properties = layer.survey.properties();
                let descriptor = LayerDescriptor {
                    tile_width: properties.tile_width,
                    values: layer.format.is_values(),
                    frame: properties.frame.sky_frame(),
                    min_order: properties.min_order,
                    max_order: properties.max_order,
                    default_cuts: properties.pixel_cut.or(properties.data_range).unwrap_or([0.0, 1.0]),
                    capacity: TILES_PER_LAYER,
                    fade_seconds: FADE_SECONDS,
                };
                let base = base.as_ref().map(|(order, tiles)| (*order, tiles.as_slice()));
                let gpu_layer = HipsLayer::new(&resources.renderer, &render_state.device, queue, descriptor, base);
                resources.layers.insert(id, (layer.format, gpu_layer));
                layer.ready = true;
            }
            Fetched::Tile { layer: id, order, index, tile } => {
                let Some(layer) = layers.iter_mut().find(|l| l.id == id) else { continue };
                let Some((format, gpu_layer)) = resources.layers.get_mut(&id) else { continue };
                if *format != layer.format {
                    continue;
                }
                match tile {
                    Ok(Some(tile)) => {
                        if let Err(error) = gpu_layer.insert_tile(&render_state.device, queue, order, index, &tile) {
                            layer.absent.insert((order, index));
                            report_once(layer, format!("tile {order}/{index}: {error}"));
                        }
                    }
                    Ok(None) => {
                        layer.absent.insert((order, index));
                    }
                    Err(error) => {
                        // A broken tile: its parent is drawn instead, and it is not asked for again.
                        layer.absent.insert((order, index));
                        report_once(layer, error);
                    }
                }
            }
        }
    }
    // Layers removed from the UI leave the GPU too.
    resources.layers.retain(|id, _| layers.iter().any(|l| l.id == *id));

    let mut wanted = Vec::new();
    for layer in layers.iter_mut() {
        if !layer.visible {
            continue;
        }
        let key = TileKey::Allsky { layer: layer.id };
        let gpu = resources.layers.get_mut(&layer.id).filter(|(format, _)| *format == layer.format);
        let Some((_, gpu_layer)) = gpu else {
            if !layer.ready && !fetcher.is_busy(&key) {
                wanted.push(Request { key, survey: layer.survey.clone(), format: layer.format });
            }
            continue;
        };
        if gpu_layer.base_suffices(camera) {
            continue;
        }
        let (order, cells) = needed_cells(gpu_layer, camera);
        let shallowest = layer.survey.properties().min_order.min(order);
        let survey_frame = layer.survey.properties().frame.sky_frame();
        let centre = camera.frame().convert(survey_frame, camera.centre());
        for index in by_distance_from_centre(order, cells, centre) {
            // The tile itself, or, where the survey lacks it, its nearest ancestor that exists.
            let mut cell = Cell::new(order, index).ok();
            while let Some(current) = cell {
                let (o, i) = (current.order(), current.index());
                if gpu_layer.has_tile(o, i) {
                    gpu_layer.touch(o, i);
                    break;
                }
                if !layer.absent.contains(&(o, i)) {
                    let key = TileKey::Tile { layer: layer.id, order: o, index: i };
                    wanted.push(Request { key, survey: layer.survey.clone(), format: layer.format });
                    break;
                }
                cell = if o > shallowest { current.parent() } else { None };
            }
        }
    }
    wanted.dedup_by(|a, b| a.key == b.key);
    fetcher.want(wanted);
    resources.layers.values().any(|(_, layer)| layer.is_fading())
}

fn report_once(layer: &mut Layer, message: String) {
    if layer.problem.is_none() {
        tracing::warn!("{}: {message}", layer.survey.location());
    }
    layer.problem = Some(message);
}

/// The cells sorted so that the ones nearest the view's centre (given in the survey's
/// frame, as the cells are) load first.
fn by_distance_from_centre(order: u8, mut cells: Vec<u64>, centre: LonLat) -> Vec<u64> {
    let centre = centre.to_vec3();
    cells.sort_by_cached_key(|index| {
        let Ok(cell) = Cell::new(order, *index) else { return u64::MAX };
        (cell.centre().to_vec3().angle_to(centre).radians() * 1e6) as u64
    });
    cells
}

/// Puts new catalogues on the GPU and brings the others up to date (colours, filter,
/// selection, arrows); catalogues removed from the UI leave the GPU.
pub fn sync_catalogues(
    render_state: &RenderState,
    catalogues: &[Catalogue],
    coverages: &[Coverage],
    images: &[SkyImage],
    wake: impl Fn() + Clone + Send + 'static,
) {
    let mut renderer = render_state.renderer.write();
    let Some(resources) = renderer.callback_resources.get_mut::<SkyResources>() else { return };
    let (device, queue) = (&render_state.device, &render_state.queue);
    resources.images.retain(|id, _| images.iter().any(|i| i.id == *id));
    for image in images {
        resources.images.entry(image.id).or_insert_with(|| {
            ImageLayer::new(
                &resources.renderer,
                device,
                queue,
                image.width,
                image.height,
                &image.values,
                image.wcs.clone(),
            )
        });
    }
    resources.coverages.retain(|id, _| coverages.iter().any(|c| c.id == *id));
    for coverage in coverages {
        resources
            .coverages
            .entry(coverage.id)
            .or_insert_with(|| MocLayer::new(&resources.renderer, device, coverage.moc.ranges(), coverage.moc.depth()));
    }
    resources.catalogues.retain(|id, _| catalogues.iter().any(|c| c.id == *id));
    for catalogue in catalogues {
        if !resources.catalogues.contains_key(&catalogue.id) {
            // Placed on a thread first: until then the catalogue waits, the app does not.
            let markers = if catalogue.positioned() > 0 {
                let Some(placement) = catalogue.take_placement(wake.clone()) else { continue };
                Some(placement)
            } else {
                None
            };
            let started = std::time::Instant::now();
            let markers = markers.map(|placement| MarkerLayer::from_placement(&resources.renderer, device, placement));
            let outlines = (!catalogue.footprints.is_empty())
                .then(|| SegmentLayer::new(&resources.renderer, device, &catalogue.outlines()));
            tracing::info!("{}: {} rows on the GPU in {:.0?}", catalogue.name, catalogue.rows(), started.elapsed());
            resources
                .catalogues
                .insert(catalogue.id, CatalogueGpu { revision: u64::MAX, markers, outlines, arrows: None });
        }
        let Some(gpu) = resources.catalogues.get_mut(&catalogue.id) else { continue };
        if gpu.revision != catalogue.revision {
            gpu.revision = catalogue.revision;
            let shown = catalogue.shown.as_deref().map(Vec::as_slice);
            let selected = catalogue.highlighted();
            if let Some(markers) = &mut gpu.markers {
                match catalogue.colour_values() {
                    Some(values) => markers.set_values(queue, &values, catalogue.colour_range),
                    None => markers.set_values(queue, &[], [0.0, 1.0]),
                }
                markers.set_shown(queue, shown);
                markers.set_highlight(device, &selected);
            }
            let flags = |layer: &mut SegmentLayer| {
                layer.set_flags(
                    queue,
                    |group| {
                        catalogue.selected == Some(group as usize) || catalogue.row_list.contains(&(group as usize))
                    },
                    |group| shown.is_none_or(|s| s.get(group as usize).copied().unwrap_or(false)),
                );
            };
            if let Some(outlines) = &mut gpu.outlines {
                flags(outlines);
            }
            if let Some((arrows, _)) = &mut gpu.arrows {
                flags(arrows);
            }
        }
        let wanted = catalogue.show_motion.then_some(catalogue.motion_years);
        if wanted != gpu.arrows.as_ref().map(|(_, years)| *years) {
            gpu.arrows =
                wanted.map(|years| (SegmentLayer::new(&resources.renderer, device, &catalogue.arrows()), years));
            gpu.revision = u64::MAX;
        }
    }
}

/// The catalogue row under a point of the view (camera pixels), the top layer first.
pub fn pick(
    render_state: &RenderState,
    catalogues: &[Catalogue],
    camera: &ViewCamera,
    point: ScreenPoint,
    radius: f64,
) -> Option<(u64, usize)> {
    let renderer = render_state.renderer.read();
    let resources = renderer.callback_resources.get::<SkyResources>()?;
    catalogues.iter().rev().filter(|c| c.visible).find_map(|catalogue| {
        let markers = resources.catalogues.get(&catalogue.id)?.markers.as_ref()?;
        markers.pick(camera, point, radius).map(|row| (catalogue.id, row))
    })
}

/// How one catalogue is drawn this frame.
pub struct CatalogueDraw {
    pub id: u64,
    pub markers: MarkerStyle,
    pub lines: LineStyle,
}

/// What one frame draws: the camera, where the view sits in the window, the layers in order.
pub struct SkyCallback {
    pub camera: ViewCamera,
    /// The view's top-left corner in window pixels.
    pub origin: [f64; 2],
    pub layers: Vec<(u64, LayerStyle)>,
    pub grid: Option<GridStyle>,
    /// Catalogues over the surveys, bottom first.
    pub catalogues: Vec<CatalogueDraw>,
    /// MOC coverages (id, colour), under the catalogues.
    pub coverages: Vec<(u64, [f32; 4])>,
    /// FITS images (id, style), under the coverages.
    pub images: Vec<(u64, ImageStyle)>,
}

impl CallbackTrait for SkyCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(sky) = resources.get_mut::<SkyResources>() else { return Vec::new() };
        let SkyResources { renderer, layers, grid, catalogues, coverages, images } = sky;
        for (id, style) in &self.images {
            if let Some(layer) = images.get_mut(id) {
                layer.style = *style;
                layer.prepare(queue, &self.camera, self.origin);
            }
        }
        for (id, colour) in &self.coverages {
            if let Some(layer) = coverages.get_mut(id) {
                layer.colour = *colour;
                layer.prepare(queue, &self.camera, self.origin);
            }
        }
        for draw in &self.catalogues {
            let Some(gpu) = catalogues.get_mut(&draw.id) else { continue };
            for mut overlay in overlays_of(gpu) {
                match &mut overlay {
                    OverlayMut::Markers(layer) => layer.style = draw.markers,
                    OverlayMut::Segments(layer) => layer.style = draw.lines,
                    OverlayMut::Moc(_) | OverlayMut::Image(_) => {}
                }
                overlay.prepare(queue, &self.camera, self.origin);
            }
        }
        if let Some(style) = self.grid {
            grid.style = style;
            grid.prepare(queue, &self.camera, self.origin);
        }
        let mut drawn: Vec<&mut HipsLayer> = Vec::new();
        // Layers in draw order; a HashMap hands out one &mut per key.
        let mut by_id: HashMap<u64, &mut HipsLayer> = layers.iter_mut().map(|(id, (_, l))| (*id, l)).collect();
        for (id, style) in &self.layers {
            if let Some(layer) = by_id.remove(id) {
                layer.style = *style;
                drawn.push(layer);
            }
        }
        renderer.prepare(device, queue, &self.camera, self.origin, &mut drawn);
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        let Some(sky) = resources.get::<SkyResources>() else { return };
        let drawn: Vec<&HipsLayer> =
            self.layers.iter().filter_map(|(id, _)| sky.layers.get(id).map(|(_, layer)| layer)).collect();
        sky.renderer.draw(render_pass, &drawn);
        if self.grid.is_some() {
            sky.renderer.draw_grid(render_pass, &sky.grid);
        }
        let mut overlays: Vec<OverlayRef<'_>> =
            self.images.iter().filter_map(|(id, _)| sky.images.get(id).map(OverlayRef::Image)).collect();
        overlays.extend(self.coverages.iter().filter_map(|(id, _)| sky.coverages.get(id).map(OverlayRef::Moc)));
        for draw in &self.catalogues {
            let Some(gpu) = sky.catalogues.get(&draw.id) else { continue };
            overlays.extend(gpu.outlines.as_ref().map(OverlayRef::Segments));
            overlays.extend(gpu.arrows.as_ref().map(|(arrows, _)| OverlayRef::Segments(arrows)));
            overlays.extend(gpu.markers.as_ref().map(OverlayRef::Markers));
        }
        sky.renderer.draw_overlays(render_pass, &overlays);
    }
}

/// A catalogue's overlays, for preparing: outlines, arrows, markers.
fn overlays_of(gpu: &mut CatalogueGpu) -> Vec<OverlayMut<'_>> {
    let mut overlays = Vec::new();
    overlays.extend(gpu.outlines.as_mut().map(OverlayMut::Segments));
    overlays.extend(gpu.arrows.as_mut().map(|(arrows, _)| OverlayMut::Segments(arrows)));
    overlays.extend(gpu.markers.as_mut().map(OverlayMut::Markers));
    overlays
}
