// Shared helpers (prepended after projection.wgsl to the shaders that need them): HEALPix
// cells, NaN, the stretches of FITS values.

// The base cell (face) of a direction and its continuous coordinates in that face, scaled to
// `nside` cells a side: the integer parts are the nested (ix, iy), the fractions the offsets
// (dx, dy). The HEALPix ang2pix algorithm without its final rounding; near the poles
// 1 − |z| is taken as (x² + y²) / (1 + |z|), which keeps its digits in single precision.
fn healpix_face_xy(v: vec3<f32>, nside: f32) -> vec3<f32> {
    let z = v.z;
    let za = abs(z);
    var tt = atan2(v.y, v.x) / HALF_PI;
    if tt < 0.0 { tt += 4.0; }
    if tt >= 4.0 { tt -= 4.0; }
    if za <= 2.0 / 3.0 {
        let t1 = nside * (0.5 + tt);
        let t2 = nside * 0.75 * z;
        let a = t1 - t2;
        let b = t1 + t2;
        let ifp = floor(a / nside);
        let ifm = floor(b / nside);
        var face: f32;
        if ifp == ifm {
            face = (ifp % 4.0) + 4.0;
        } else if ifp < ifm {
            face = ifp % 4.0;
        } else {
            face = (ifm % 4.0) + 8.0;
        }
        return vec3<f32>(face, b - ifm * nside, nside - (a - ifp * nside));
    }
    let ntt = min(floor(tt), 3.0);
    let tp = tt - ntt;
    let tmp = nside * sqrt(3.0) * length(v.xy) / sqrt(1.0 + za);
    let jp = tp * tmp;
    let jm = (1.0 - tp) * tmp;
    if z > 0.0 {
        return vec3<f32>(ntt, nside - jm, nside - jp);
    }
    return vec3<f32>(ntt + 8.0, jp, jm);
}

// NaN by its bits: comparisons with NaN may be optimised away.
fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn spread_bits(v: u32) -> u32 {
    var x = v & 0x0000ffffu;
    x = (x | (x << 8u)) & 0x00ff00ffu;
    x = (x | (x << 4u)) & 0x0f0f0f0fu;
    x = (x | (x << 2u)) & 0x33333333u;
    x = (x | (x << 1u)) & 0x55555555u;
    return x;
}

// A stretch (style.rs's `Stretch::code`) of a value already cut to 0..1.
fn stretch(code: u32, t: f32) -> f32 {
    switch code {
        case 1u: { return sqrt(t); }
        case 2u: { return log(1000.0 * t + 1.0) / log(1001.0); }
        case 3u: { return asinh(10.0 * t) / asinh(10.0); }
        case 4u: { return t * t; }
        default: { return t; }
    }
}
