// The coordinate grid, drawn per pixel: each fragment is un-projected and turned into the
// grid frame's longitude and latitude; it is on a line when that coordinate is within half
// a line width (in screen pixels, through the derivatives) of a multiple of the step. Exact
// in every projection, anti-aliased, with no geometry to tessellate.

struct Grid {
    plane_x: vec4<f32>,
    plane_y: vec4<f32>,
    // Native unit vector to the grid frame (rows).
    rot0: vec4<f32>,
    rot1: vec4<f32>,
    rot2: vec4<f32>,
    colour: vec4<f32>,
    projection: u32,
    // Longitudes are measured from here, so that their wrap-around sits opposite the view.
    centre_lon: f32,
    lon_step: f32,
    lat_step: f32,
    line_width: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> grid: Grid;

// How much of a line of the given step covers a pixel at `value`, whose change across the
// pixel is `width_per_pixel`.
fn coverage(value: f32, step: f32, width_per_pixel: f32) -> f32 {
    let distance = abs(value - step * round(value / step));
    let pixels = distance / max(width_per_pixel, 1e-12);
    return 1.0 - smoothstep(grid.line_width * 0.5 - 0.5, grid.line_width * 0.5 + 0.5, pixels);
}

@fragment
fn fs_grid(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let native = native_under(position.xy, grid.plane_x, grid.plane_y, grid.projection);
    if native.w == 0.0 {
        discard;
    }
    let n = native.xyz;
    let v = normalize(vec3<f32>(dot(grid.rot0.xyz, n), dot(grid.rot1.xyz, n), dot(grid.rot2.xyz, n)));
    let lat = asin(clamp(v.z, -1.0, 1.0));
    var relative = atan2(v.y, v.x) - grid.centre_lon;
    relative = relative - 2.0 * PI * round(relative / (2.0 * PI));
    let lon = relative + grid.centre_lon;
    let lon_rate = fwidth(relative);
    let lat_rate = fwidth(lat);
    var alpha = coverage(lat, grid.lat_step, lat_rate);
    // Meridians crowd toward the poles: drop them where they would be under 6 pixels apart.
    if grid.lon_step / max(lon_rate, 1e-12) > 6.0 {
        alpha = max(alpha, coverage(lon, grid.lon_step, lon_rate));
    }
    if alpha <= 0.0 {
        discard;
    }
    return vec4<f32>(grid.colour.rgb, grid.colour.a * alpha);
}
