// One HiPS layer, drawn per pixel: each fragment is un-projected to a sky direction, which
// gives its HEALPix cell and the offsets inside it, hence the tile texel to show. Exact for
// every projection, including the all-sky ones whose edges a mesh would straddle.
//
// Conventions (as in core/hips): a tile texel at (column, row) holds the HEALPix offsets
// dy = (column + 0.5) / w and dx = (row + 0.5) / w of its cell, where dx runs from the
// south corner toward the east corner and dy from the south corner toward the west one.

struct Layer {
    // Screen pixel (x right, y down) to projection plane: plane = (dot(px, plane_x.xyz), dot(px, plane_y.xyz)), px = (x, y, 1).
    plane_x: vec4<f32>,
    plane_y: vec4<f32>,
    // Native unit vector to the survey frame (rows).
    rot0: vec4<f32>,
    rot1: vec4<f32>,
    rot2: vec4<f32>,
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
    // Base (Allsky) tiles sit side by side in one mosaic, this many to a row.
    base_per_row: u32,
    // The Allsky mosaic's order (NO_BASE when there is none), and whether the view is so
    // wide that the Allsky alone is drawn: it already has a texel per screen pixel, and
    // full tiles would only alias.
    base_order: u32,
    base_only: u32,
    // Seconds since the layer was made, and how long a new tile takes to fade in over its
    // parent (0: at once, as offscreen renders want).
    now: f32,
    fade: f32,
    // The camera's viewport in pixels, for the mesh path's vertices.
    viewport: vec2<f32>,
}

// A resident tile: its uniq index (4·4^order + index) and where it is: a layer of `tiles`,
// or, for an Allsky tile, a place in the base mosaic; both the key and the slot of an Allsky
// tile have the high bit set.
struct TileKey {
    uniq: u32,
    slot: u32,
    // When it arrived, in the layer's seconds.
    born: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> layer: Layer;
@group(0) @binding(1) var tiles: texture_2d_array<f32>;
@group(0) @binding(2) var base_tiles: texture_2d_array<f32>;
@group(0) @binding(3) var<storage, read> keys: array<TileKey>;
@group(0) @binding(4) var colormaps: texture_2d<f32>;

const BASE_FLAG: u32 = 0x80000000u;
const NO_BASE: u32 = 0xffffffffu;

// The slot of a resident tile, or -1.
fn find_tile(uniq: u32) -> i32 {
    var low = 0u;
    var high = layer.key_count;
    while low < high {
        let middle = (low + high) / 2u;
        let key = keys[middle].uniq;
        if key == uniq {
            return i32(middle);
        }
        if key < uniq {
            low = middle + 1u;
        } else {
            high = middle;
        }
    }
    return -1;
}

fn texel(slot: u32, xy: vec2<i32>) -> vec4<f32> {
    if (slot & BASE_FLAG) != 0u {
        let position = slot & ~BASE_FLAG;
        let corner = vec2<u32>(position % layer.base_per_row, position / layer.base_per_row) * layer.base_width;
        return textureLoad(base_tiles, xy + vec2<i32>(corner), 0, 0);
    }
    return textureLoad(tiles, xy, i32(slot), 0);
}

// Bilinear within the tile, edges clamped. For value tiles a blank (NaN) neighbour is skipped.
fn sample_tile(slot: u32, width: u32, offsets: vec2<f32>) -> vec4<f32> {
    let w = f32(width);
    // Texture x follows dy, texture y follows dx.
    let p = vec2<f32>(offsets.y * w - 0.5, offsets.x * w - 0.5);
    let p0 = floor(p);
    let f = p - p0;
    let last = i32(width) - 1;
    let i0 = clamp(vec2<i32>(p0), vec2<i32>(0), vec2<i32>(last));
    let i1 = clamp(vec2<i32>(p0) + vec2<i32>(1), vec2<i32>(0), vec2<i32>(last));
    let c00 = texel(slot, vec2<i32>(i0.x, i0.y));
    let c10 = texel(slot, vec2<i32>(i1.x, i0.y));
    let c01 = texel(slot, vec2<i32>(i0.x, i1.y));
    let c11 = texel(slot, vec2<i32>(i1.x, i1.y));
    if layer.is_float == 0u {
        return mix(mix(c00, c10, f.x), mix(c01, c11, f.x), f.y);
    }
    // Weighted mean of the valid corners; all blank stays blank.
    var sum = 0.0;
    var weight = 0.0;
    let weights = vec4<f32>((1.0 - f.x) * (1.0 - f.y), f.x * (1.0 - f.y), (1.0 - f.x) * f.y, f.x * f.y);
    let values = vec4<f32>(c00.r, c10.r, c01.r, c11.r);
    for (var i = 0; i < 4; i++) {
        let value = values[i];
        if !is_nan(value) && weights[i] > 0.0 {
            sum += value * weights[i];
            weight += weights[i];
        }
    }
    if weight <= 0.0 {
        return vec4<f32>(bitcast<f32>(0x7fc00000u));
    }
    return vec4<f32>(sum / weight);
}

fn colour_of_value(value: f32) -> vec4<f32> {
    var t = clamp((value - layer.cut_low) / (layer.cut_high - layer.cut_low), 0.0, 1.0);
    t = stretch(layer.stretch, t);
    if layer.reverse != 0u { t = 1.0 - t; }
    let index = i32(clamp(t * 255.0 + 0.5, 0.0, 255.0));
    return textureLoad(colormaps, vec2<i32>(index, i32(layer.colormap)), 0);
}

// The uniq index of the cell of `order` holding a point given by its face coordinates at `deepest`.
fn cell_uniq(face_xy: vec3<f32>, deepest: f32, order: u32) -> u32 {
    let nside = f32(1u << order);
    let ixy = min(floor(face_xy.yz * (nside / deepest)), vec2<f32>(nside - 1.0));
    let index = u32(face_xy.x) * u32(nside) * u32(nside) + spread_bits(u32(ixy.x)) + (spread_bits(u32(ixy.y)) << 1u);
    return (4u << (2u * order)) + index;
}

// The offsets (dx, dy) of the point inside its cell of `order`.
fn cell_offsets(face_xy: vec3<f32>, deepest: f32, order: u32) -> vec2<f32> {
    let nside = f32(1u << order);
    let xy = face_xy.yz * (nside / deepest);
    let ixy = min(floor(xy), vec2<f32>(nside - 1.0));
    return clamp(xy - ixy, vec2<f32>(0.0), vec2<f32>(1.0));
}

// The colour of the layer at a point of a resident tile, alpha included.
fn shade(slot: u32, width: u32, offsets: vec2<f32>) -> vec4<f32> {
    let colour = sample_tile(slot, width, offsets);
    if layer.is_float == 0u {
        return vec4<f32>(colour.rgb, colour.a * layer.opacity);
    }
    if is_nan(colour.r) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(colour_of_value(colour.r).rgb, layer.opacity);
}

// Where a pixel's sample comes from: the deepest resident tile under it (the view's order
// first, then its ancestors, then the Allsky tile), or nothing. `order` is -1 for the Allsky.
struct Hit {
    found: bool,
    slot: u32,
    width: u32,
    offsets: vec2<f32>,
    order: i32,
    born: f32,
}

const MISS: Hit = Hit(false, 0u, 0u, vec2<f32>(0.0), -1, 0.0);

// The HEALPix face and face coordinates at `deepest` cells a side of a pixel, or w = -1 off
// the projection.
fn pixel_face_xy(position: vec4<f32>, deepest: f32) -> vec4<f32> {
    let native = native_under(position.xy, layer.plane_x, layer.plane_y, layer.projection);
    if native.w == 0.0 {
        return vec4<f32>(0.0, 0.0, 0.0, -1.0);
    }
    let n = native.xyz;
    let v = normalize(vec3<f32>(dot(layer.rot0.xyz, n), dot(layer.rot1.xyz, n), dot(layer.rot2.xyz, n)));
    return vec4<f32>(healpix_face_xy(v, deepest), 1.0);
}

// The deepest resident tile at `first_order` or above it, then the Allsky tile.
fn locate_from(face_xy: vec3<f32>, deepest: f32, first_order: i32) -> Hit {
    if layer.base_only == 0u {
        var order = first_order;
        loop {
            if order < i32(layer.min_order) {
                break;
            }
            let found = find_tile(cell_uniq(face_xy, deepest, u32(order)));
            if found >= 0 {
                let key = keys[found];
                return Hit(true, key.slot, layer.tile_width, cell_offsets(face_xy, deepest, u32(order)), order, key.born);
            }
            order -= 1;
        }
    }
    if layer.base_order != NO_BASE && layer.base_order <= layer.max_order {
        let found = find_tile(cell_uniq(face_xy, deepest, layer.base_order) | BASE_FLAG);
        if found >= 0 {
            return Hit(true, keys[found].slot, layer.base_width, cell_offsets(face_xy, deepest, layer.base_order), -1, 0.0);
        }
    }
    return MISS;
}

fn locate(position: vec4<f32>) -> Hit {
    let deepest = f32(1u << layer.max_order);
    let face_xy = pixel_face_xy(position, deepest);
    if face_xy.w < 0.0 {
        return MISS;
    }
    return locate_from(face_xy.xyz, deepest, i32(layer.max_order));
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let deepest = f32(1u << layer.max_order);
    let face_xy = pixel_face_xy(position, deepest);
    if face_xy.w < 0.0 {
        discard;
    }
    let hit = locate_from(face_xy.xyz, deepest, i32(layer.max_order));
    if !hit.found {
        discard;
    }
    let colour = shade(hit.slot, hit.width, hit.offsets);
    // A tile that has just arrived fades in over what stood in for it.
    if hit.order >= 0 && layer.fade > 0.0 {
        let progress = clamp((layer.now - hit.born) / layer.fade, 0.0, 1.0);
        if progress < 1.0 {
            let parent = locate_from(face_xy.xyz, deepest, hit.order - 1);
            var below = vec4<f32>(colour.rgb, 0.0);
            if parent.found {
                below = shade(parent.slot, parent.width, parent.offsets);
            }
            return mix(below, colour, progress);
        }
    }
    return colour;
}

// The values themselves (FITS layers), for images that keep them: red holds the value,
// green 1 where there is one (the target is cleared to 0).
@fragment
fn fs_values(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let hit = locate(position);
    if !hit.found {
        discard;
    }
    let value = sample_tile(hit.slot, hit.width, hit.offsets).r;
    if is_nan(value) {
        discard;
    }
    return vec4<f32>(value, 1.0, 0.0, 1.0);
}

// The mesh path, for narrow fields: each visible cell is a grid of vertices projected on the
// CPU in double precision (screen pixels of the camera), carrying the offsets of the point
// in its resident tile. Exact at any zoom, where single precision per pixel is not.
struct MeshOut {
    @builtin(position) position: vec4<f32>,
    @location(0) offsets: vec2<f32>,
    @location(1) @interpolate(flat) slot: u32,
}

@vertex
fn vs_mesh(@location(0) screen: vec2<f32>, @location(1) offsets: vec2<f32>, @location(2) slot: u32) -> MeshOut {
    var out: MeshOut;
    let ndc = vec2<f32>(screen.x / layer.viewport.x * 2.0 - 1.0, 1.0 - screen.y / layer.viewport.y * 2.0);
    out.position = vec4<f32>(ndc, 0.0, 1.0);
    out.offsets = offsets;
    out.slot = slot;
    return out;
}

@fragment
fn fs_mesh(input: MeshOut) -> @location(0) vec4<f32> {
    var width = layer.tile_width;
    if (input.slot & BASE_FLAG) != 0u {
        width = layer.base_width;
    }
    return shade(input.slot, width, clamp(input.offsets, vec2<f32>(0.0), vec2<f32>(1.0)));
}
