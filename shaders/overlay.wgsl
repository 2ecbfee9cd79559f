// Overlays over the sky: catalogue markers (one instance per source), line segments
// (footprint outlines, proper-motion arrows) and a HEALPix density map standing in for
// markers where a view holds too many. Sources are ICRS unit vectors, projected here: the
// view's rotation and projection are uniforms, so panning rewrites 200 bytes, not the layer.

struct Overlay {
    // ICRS unit vector to native (rows).
    rot0: vec4<f32>,
    rot1: vec4<f32>,
    rot2: vec4<f32>,
    // Projection plane to camera pixels: pixel = (dot(q, screen_x.xyz), dot(q, screen_y.xyz)), q = (x, y, 1).
    screen_x: vec4<f32>,
    screen_y: vec4<f32>,
    // Target pixel to projection plane, for the per-pixel density map.
    plane_x: vec4<f32>,
    plane_y: vec4<f32>,
    colour: vec4<f32>,
    // Selected outlines.
    highlight: vec4<f32>,
    viewport: vec2<f32>,
    projection: u32,
    shape: u32,
    // Marker width or line width, in pixels.
    size: f32,
    colormap: u32,
    by_value: u32,
    // Whether segments crossing the native meridian φ = ±π are dropped (all-sky projections
    // cut the sky there).
    wraps: u32,
    density_order: u32,
    // Where the density map's order starts in `counts`.
    density_start: u32,
    // A MOC's ranges in `counts` (pairs: first cell, one past the last).
    range_count: u32,
    density_max: f32,
}

@group(0) @binding(0) var<uniform> overlay: Overlay;
// Sources per cell, every cell of every order 0..=7 one after the other: order o's cell i at
// 4·(4^o − 1) + i, so a pixel finds its count in one read.
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var colormaps: texture_2d<f32>;

const HIDDEN: u32 = 1u;
const SELECTED: u32 = 2u;

const CIRCLE: u32 = 0u;
const DOT: u32 = 1u;
const SQUARE: u32 = 2u;
const PLUS: u32 = 3u;
const CROSS: u32 = 4u;
const DIAMOND: u32 = 5u;

// Outside every clip volume: the primitive is dropped.
const CLIPPED: vec4<f32> = vec4<f32>(2.0, 2.0, 2.0, 1.0);

fn to_native(v: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(dot(overlay.rot0.xyz, v), dot(overlay.rot1.xyz, v), dot(overlay.rot2.xyz, v));
}

fn to_pixel(plane: vec2<f32>) -> vec2<f32> {
    let q = vec3<f32>(plane, 1.0);
    return vec2<f32>(dot(q, overlay.screen_x.xyz), dot(q, overlay.screen_y.xyz));
}

fn to_clip(pixel: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(pixel.x / overlay.viewport.x * 2.0 - 1.0, 1.0 - pixel.y / overlay.viewport.y * 2.0, 0.0, 1.0);
}

fn colormap(t: f32) -> vec4<f32> {
    let index = i32(clamp(t * 255.0 + 0.5, 0.0, 255.0));
    return textureLoad(colormaps, vec2<i32>(index, i32(overlay.colormap)), 0);
}

// The two triangles of a quad, as (along, across) in [0, 1] × [−1, 1].
fn quad_corner(corner: u32) -> vec2<f32> {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(0.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 1.0),
    );
    return corners[corner];
}

struct MarkerOut {
    @builtin(position) position: vec4<f32>,
    // Pixels from the marker's centre.
    @location(0) local: vec2<f32>,
    @location(1) colour: vec4<f32>,
}

@vertex
fn vs_marker(
    @builtin(vertex_index) corner: u32,
    @location(0) direction: vec3<f32>,
    @location(1) value: f32,
    @location(2) flags: u32,
) -> MarkerOut {
    var out: MarkerOut;
    let plane = project(overlay.projection, to_native(direction));
    if plane.z == 0.0 || (flags & HIDDEN) != 0u {
        out.position = CLIPPED;
        return out;
    }
    // Half a pixel more than the marker, for its anti-aliased edge.
    let half = overlay.size * 0.5 + 1.0;
    let c = quad_corner(corner);
    let local = vec2<f32>(c.x * 2.0 - 1.0, c.y) * half;
    out.position = to_clip(to_pixel(plane.xy) + local);
    out.local = local;
    out.colour = overlay.colour;
    if overlay.by_value != 0u && !is_nan(value) {
        out.colour = vec4<f32>(colormap(value).rgb, overlay.colour.a);
    }
    return out;
}

// Signed distance (pixels) from a point to a box of half-sides `half` centred on 0.
fn box_distance(p: vec2<f32>, half: vec2<f32>) -> f32 {
    let q = abs(p) - half;
    return length(max(q, vec2<f32>(0.0))) + min(max(q.x, q.y), 0.0);
}

fn bars_distance(p: vec2<f32>, r: f32, w: f32) -> f32 {
    return min(box_distance(p, vec2<f32>(w * 0.5, r)), box_distance(p, vec2<f32>(r, w * 0.5)));
}

@fragment
fn fs_marker(input: MarkerOut) -> @location(0) vec4<f32> {
    let r = overlay.size * 0.5;
    let w = clamp(overlay.size * 0.15, 1.0, 2.5);
    let p = input.local;
    let turned = vec2<f32>(p.x + p.y, p.y - p.x) * 0.70710678;
    var d: f32;
    switch overlay.shape {
        case DOT: { d = length(p) - r; }
        case SQUARE: { d = abs(box_distance(p, vec2<f32>(r - w * 0.5))) - w * 0.5; }
        case PLUS: { d = bars_distance(p, r, w); }
        case CROSS: { d = bars_distance(turned, r, w); }
        case DIAMOND: { d = abs(box_distance(turned, vec2<f32>(r * 0.70710678 - w * 0.5))) - w * 0.5; }
        default: { d = abs(length(p) - r + w * 0.5) - w * 0.5; }
    }
    let alpha = clamp(0.5 - d, 0.0, 1.0) * input.colour.a;
    if alpha <= 0.0 {
        discard;
    }
    return vec4<f32>(input.colour.rgb, alpha);
}

struct LineOut {
    @builtin(position) position: vec4<f32>,
    // Pixels from the line's middle, across it.
    @location(0) across: f32,
    @location(1) colour: vec4<f32>,
}

@vertex
fn vs_segment(
    @builtin(vertex_index) corner: u32,
    @location(0) a: vec3<f32>,
    @location(1) b: vec3<f32>,
    @location(2) flags: u32,
) -> LineOut {
    var out: LineOut;
    let na = to_native(a);
    let nb = to_native(b);
    let pa = project(overlay.projection, na);
    let pb = project(overlay.projection, nb);
    // Dropped where either end cannot be shown, or where the segment crosses the seam of
    // an all-sky map (both ends behind, on either side of φ = ±π).
    let crosses_seam = overlay.wraps != 0u && na.x < 0.0 && nb.x < 0.0 && sign(na.y) != sign(nb.y);
    if pa.z == 0.0 || pb.z == 0.0 || crosses_seam || (flags & HIDDEN) != 0u {
        out.position = CLIPPED;
        return out;
    }
    let p0 = to_pixel(pa.xy);
    let p1 = to_pixel(pb.xy);
    let length_px = length(p1 - p0);
    var along = vec2<f32>(1.0, 0.0);
    if length_px > 1e-4 {
        along = (p1 - p0) / length_px;
    }
    let normal = vec2<f32>(-along.y, along.x);
    let half = overlay.size * 0.5 + 1.0;
    let c = quad_corner(corner);
    // Each end reaches half a width past its point, so that joints have no notches.
    let at = mix(p0 - along * overlay.size * 0.5, p1 + along * overlay.size * 0.5, c.x);
    out.position = to_clip(at + normal * c.y * half);
    out.across = c.y * half;
    out.colour = overlay.colour;
    if (flags & SELECTED) != 0u {
        out.colour = overlay.highlight;
    }
    return out;
}

@fragment
fn fs_segment(input: LineOut) -> @location(0) vec4<f32> {
    let alpha = clamp(0.5 - (abs(input.across) - overlay.size * 0.5), 0.0, 1.0) * input.colour.a;
    if alpha <= 0.0 {
        discard;
    }
    return vec4<f32>(input.colour.rgb, alpha);
}

// The NESTED index, at order `density_order`, of the cell under a target pixel; x = 0 off
// the projection.
fn cell_under(pixel: vec2<f32>) -> vec2<u32> {
    let native = native_under(pixel, overlay.plane_x, overlay.plane_y, overlay.projection);
    if native.w == 0.0 {
        return vec2<u32>(0u, 0u);
    }
    let n = native.xyz;
    // Native to ICRS: the rows' transpose.
    let v = normalize(n.x * overlay.rot0.xyz + n.y * overlay.rot1.xyz + n.z * overlay.rot2.xyz);
    let nside = f32(1u << overlay.density_order);
    let face_xy = healpix_face_xy(v, nside);
    let ixy = min(floor(face_xy.yz), vec2<f32>(nside - 1.0));
    let side = u32(nside);
    return vec2<u32>(1u, u32(face_xy.x) * side * side + spread_bits(u32(ixy.x)) + (spread_bits(u32(ixy.y)) << 1u));
}

@fragment
fn fs_density(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let cell = cell_under(position.xy);
    if cell.x == 0u {
        discard;
    }
    let count = counts[overlay.density_start + cell.y];
    if count == 0u {
        discard;
    }
    let t = log(1.0 + f32(count)) / log(1.0 + max(overlay.density_max, 1.0));
    return vec4<f32>(colormap(t).rgb, overlay.colour.a * (0.2 + 0.6 * t));
}

// Whether the MOC's ranges (at order `density_order`) hold a cell.
fn in_moc(index: u32) -> bool {
    var low = 0u;
    var high = overlay.range_count;
    while low < high {
        let middle = (low + high) / 2u;
        let start = counts[2u * middle];
        let end = counts[2u * middle + 1u];
        if index < start {
            high = middle;
        } else if index >= end {
            low = middle + 1u;
        } else {
            return true;
        }
    }
    return false;
}

// Whether the MOC covers the sky under a target pixel (false off the projection).
fn moc_covers(pixel: vec2<f32>) -> bool {
    let cell = cell_under(pixel);
    return cell.x != 0u && in_moc(cell.y);
}

// A MOC's coverage, per pixel: filled, and drawn stronger on its edges (where the pixel to
// the right or below differs). Neighbours are looked up rather than taken from derivatives,
// which break along the seams where a rasteriser splits the full-screen triangle.
@fragment
fn fs_moc(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let here = moc_covers(position.xy);
    let edge = here != moc_covers(position.xy + vec2<f32>(1.0, 0.0)) || here != moc_covers(position.xy + vec2<f32>(0.0, 1.0));
    var alpha = 0.0;
    if edge {
        alpha = 0.9;
    } else if here {
        alpha = 0.3;
    }
    if alpha <= 0.0 {
        discard;
    }
    return vec4<f32>(overlay.colour.rgb, alpha * overlay.colour.a);
}

// Footprint fill: triangles fanned from each outline's centre, projected per vertex. A
// triangle that an all-sky map's seam cuts is dropped: each vertex carries its outline's
// centre and is clipped when the seam lies between them.
struct FillOut {
    @builtin(position) position: vec4<f32>,
    @location(0) colour: vec4<f32>,
}

@vertex
fn vs_fill(@location(0) direction: vec3<f32>, @location(1) centre: vec3<f32>, @location(2) flags: u32) -> FillOut {
    var out: FillOut;
    let n = to_native(direction);
    let nc = to_native(centre);
    let plane = project(overlay.projection, n);
    let crosses_seam = overlay.wraps != 0u && n.x < 0.0 && nc.x < 0.0 && sign(n.y) != sign(nc.y);
    if plane.z == 0.0 || project(overlay.projection, nc).z == 0.0 || crosses_seam || (flags & HIDDEN) != 0u {
        out.position = CLIPPED;
        return out;
    }
    out.position = to_clip(to_pixel(plane.xy));
    out.colour = vec4<f32>(overlay.colour.rgb, overlay.density_max);
    if (flags & SELECTED) != 0u {
        out.colour = vec4<f32>(overlay.highlight.rgb, overlay.density_max);
    }
    return out;
}

@fragment
fn fs_fill(input: FillOut) -> @location(0) vec4<f32> {
    return input.colour;
}
