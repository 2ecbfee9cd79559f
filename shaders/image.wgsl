// A FITS image with its celestial WCS, drawn per pixel: each target pixel is un-projected
// in the view's projection, turned into the image's native frame, projected by the image's
// own projection and mapped through its CD matrix to an image pixel, whose value goes
// through cuts, stretch and colormap.

struct Image {
    // Target pixel to the view's projection plane (rows of an affine map).
    plane_x: vec4<f32>,
    plane_y: vec4<f32>,
    // The view's native vectors to the image's native vectors (rows).
    rot0: vec4<f32>,
    rot1: vec4<f32>,
    rot2: vec4<f32>,
    // The image's projection plane (radians) to its texels (0-based), rows of an affine map.
    texel_x: vec4<f32>,
    texel_y: vec4<f32>,
    size: vec2<f32>,
    view_projection: u32,
    image_projection: u32,
    colormap: u32,
    stretch: u32,
    reverse: u32,
    opacity: f32,
    cut_low: f32,
    cut_high: f32,
    _pad0: f32,
    _pad1: f32,
}

@group(0) @binding(0) var<uniform> image: Image;
@group(0) @binding(1) var values: texture_2d<f32>;
@group(0) @binding(2) var colormaps: texture_2d<f32>;

@fragment
fn fs_image(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let native = native_under(position.xy, image.plane_x, image.plane_y, image.view_projection);
    if native.w == 0.0 {
        discard;
    }
    let n = native.xyz;
    let v = vec3<f32>(dot(image.rot0.xyz, n), dot(image.rot1.xyz, n), dot(image.rot2.xyz, n));
    let on_image = project(image.image_projection, v);
    if on_image.z == 0.0 {
        discard;
    }
    let q = vec3<f32>(on_image.xy, 1.0);
    let texel = vec2<f32>(dot(q, image.texel_x.xyz), dot(q, image.texel_y.xyz));
    let nearest = floor(texel + vec2<f32>(0.5));
    if any(nearest < vec2<f32>(0.0)) || any(nearest >= image.size) {
        discard;
    }
    let value = textureLoad(values, vec2<i32>(nearest), 0).r;
    if is_nan(value) {
        discard;
    }
    var t = clamp((value - image.cut_low) / (image.cut_high - image.cut_low), 0.0, 1.0);
    t = stretch(image.stretch, t);
    if image.reverse != 0u {
        t = 1.0 - t;
    }
    let index = i32(clamp(t * 255.0 + 0.5, 0.0, 255.0));
    let colour = textureLoad(colormaps, vec2<i32>(index, i32(image.colormap)), 0);
    return vec4<f32>(colour.rgb, image.opacity);
}
