// Shared by the sky shaders (prepended to each): the full-screen triangle and the inverse of
// the ten projections of core/sky, from the projection plane (radians) to native unit vectors.

const PI: f32 = 3.14159265358979;
const HALF_PI: f32 = 1.57079632679490;
const QUARTER_PI: f32 = 0.78539816339745;
const SQRT2: f32 = 1.41421356237310;

const SIN: u32 = 0u;
const TAN: u32 = 1u;
const STG: u32 = 2u;
const ZEA: u32 = 3u;
const ARC: u32 = 4u;
const AIT: u32 = 5u;
const MOL: u32 = 6u;
const MER: u32 = 7u;
const CAR: u32 = 8u;
const HPX: u32 = 9u;

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // One triangle that covers the whole target.
    let x = f32((index << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(index & 2u) * 2.0 - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn from_angles(phi: f32, theta: f32) -> vec3<f32> {
    return vec3<f32>(cos(theta) * cos(phi), cos(theta) * sin(phi), sin(theta));
}

// Zenithal projections: x = R sin φ, y = −R cos φ; the vector is (−y·c, x·c, sin θ) with c = cos θ / R.
fn zenithal(p: vec2<f32>, cos_over_r: f32, sin_theta: f32) -> vec3<f32> {
    return vec3<f32>(-p.y * cos_over_r, p.x * cos_over_r, sin_theta);
}

// The native direction (xyz; w = 1) under a framebuffer pixel, which the view's affine
// rows `plane_x`, `plane_y` map onto the projection plane; w = 0 outside its domain.
fn native_under(pixel: vec2<f32>, plane_x: vec4<f32>, plane_y: vec4<f32>, projection: u32) -> vec4<f32> {
    let px = vec3<f32>(pixel, 1.0);
    return unproject(projection, vec2<f32>(dot(px, plane_x.xyz), dot(px, plane_y.xyz)));
}

// The native unit vector under a plane point; w = 0 where the projection does not reach.
fn unproject(projection: u32, p: vec2<f32>) -> vec4<f32> {
    let r2 = dot(p, p);
    let r = sqrt(r2);
    switch projection {
        case SIN: {
            if r2 > 1.0 { return vec4<f32>(0.0); }
            return vec4<f32>(zenithal(p, 1.0, sqrt(1.0 - r2)), 1.0);
        }
        case TAN: {
            let k = inverseSqrt(1.0 + r2);
            return vec4<f32>(zenithal(p, k, k), 1.0);
        }
        case STG: {
            let t2 = r2 / 4.0;
            let k = 1.0 / (1.0 + t2);
            return vec4<f32>(zenithal(p, k, (1.0 - t2) * k), 1.0);
        }
        case ZEA: {
            if r2 > 4.0 { return vec4<f32>(0.0); }
            return vec4<f32>(zenithal(p, sqrt(1.0 - r2 / 4.0), 1.0 - r2 / 2.0), 1.0);
        }
        case ARC: {
            if r > PI { return vec4<f32>(0.0); }
            var k = 1.0;
            if r > 1e-4 { k = sin(r) / r; }
            return vec4<f32>(zenithal(p, k, cos(r)), 1.0);
        }
        case AIT: {
            let z2 = 1.0 - (p.x / 4.0) * (p.x / 4.0) - (p.y / 2.0) * (p.y / 2.0);
            if z2 < 0.5 { return vec4<f32>(0.0); }
            let z = sqrt(z2);
            let phi = 2.0 * atan2(z * p.x / 2.0, 2.0 * z2 - 1.0);
            let theta = asin(clamp(p.y * z, -1.0, 1.0));
            return vec4<f32>(from_angles(phi, theta), 1.0);
        }
        case MOL: {
            let sin_gamma = p.y / SQRT2;
            if abs(sin_gamma) > 1.0 { return vec4<f32>(0.0); }
            let gamma = asin(sin_gamma);
            let cos_gamma = cos(gamma);
            let phi = PI * p.x / (2.0 * SQRT2 * max(cos_gamma, 1e-7));
            if abs(phi) > PI { return vec4<f32>(0.0); }
            let sin_theta = (2.0 * gamma + sin(2.0 * gamma)) / PI;
            return vec4<f32>(from_angles(phi, asin(clamp(sin_theta, -1.0, 1.0))), 1.0);
        }
        case MER: {
            if abs(p.x) > PI { return vec4<f32>(0.0); }
            return vec4<f32>(from_angles(p.x, 2.0 * atan(exp(p.y)) - HALF_PI), 1.0);
        }
        case CAR: {
            if abs(p.x) > PI || abs(p.y) > HALF_PI { return vec4<f32>(0.0); }
            return vec4<f32>(from_angles(p.x, p.y), 1.0);
        }
        case HPX: {
            if abs(p.x) > PI { return vec4<f32>(0.0); }
            if abs(p.y) <= QUARTER_PI {
                let sin_theta = p.y / (3.0 * PI / 8.0);
                return vec4<f32>(from_angles(p.x, asin(clamp(sin_theta, -1.0, 1.0))), 1.0);
            }
            if abs(p.y) > HALF_PI { return vec4<f32>(0.0); }
            let sigma = 2.0 - abs(p.y) / QUARTER_PI;
            let theta = sign(p.y) * asin(clamp(1.0 - sigma * sigma / 3.0, -1.0, 1.0));
            let facet = clamp(floor((p.x + PI) / HALF_PI), 0.0, 3.0);
            let centre = -PI + (2.0 * facet + 1.0) * QUARTER_PI;
            let offset = p.x - centre;
            if sigma <= 0.0 || abs(offset / sigma) >= QUARTER_PI { return vec4<f32>(0.0); }
            return vec4<f32>(from_angles(centre + offset / sigma, theta), 1.0);
        }
        default: {
            return vec4<f32>(0.0);
        }
    }
}

// The forward projection of a native unit vector: the plane point (radians) in xy, and
// z = 1 where the projection shows the direction, 0 where it cannot (the far side of SIN
// and TAN, the poles of MER). Zenithal ones work on the vector itself: with ρ = cos θ,
// the plane point is (n.y, −n.x) · R(θ)/ρ, and R/ρ is written so that it keeps its digits
// near the centre.
fn project(projection: u32, n: vec3<f32>) -> vec3<f32> {
    let rho = length(n.xy);
    switch projection {
        case SIN: {
            if n.z < 0.0 { return vec3<f32>(0.0); }
            return vec3<f32>(n.y, -n.x, 1.0);
        }
        case TAN: {
            if n.z <= 1e-6 { return vec3<f32>(0.0); }
            return vec3<f32>(n.y / n.z, -n.x / n.z, 1.0);
        }
        case STG: {
            let d = 1.0 + n.z;
            if d <= 1e-6 { return vec3<f32>(0.0); }
            return vec3<f32>(2.0 * n.y / d, -2.0 * n.x / d, 1.0);
        }
        case ZEA: {
            let d = 1.0 + n.z;
            if d <= 1e-7 { return vec3<f32>(0.0, 2.0, 1.0); }
            let k = sqrt(2.0 / d);
            return vec3<f32>(n.y * k, -n.x * k, 1.0);
        }
        case ARC: {
            var k = 1.0;
            if rho > 1e-6 { k = atan2(rho, n.z) / rho; }
            return vec3<f32>(n.y * k, -n.x * k, 1.0);
        }
        default: {}
    }
    let phi = atan2(n.y, n.x);
    let theta = atan2(n.z, rho);
    switch projection {
        case AIT: {
            let z = sqrt((1.0 + rho * cos(phi / 2.0)) / 2.0);
            if z <= 1e-6 { return vec3<f32>(0.0); }
            return vec3<f32>(2.0 * rho * sin(phi / 2.0) / z, n.z / z, 1.0);
        }
        case MOL: {
            // 2γ + sin 2γ = π sin θ, by Newton's method from γ = θ.
            let goal = PI * n.z;
            var gamma = theta;
            for (var i = 0; i < 12; i++) {
                let slope = 2.0 + 2.0 * cos(2.0 * gamma);
                if slope < 1e-6 { break; }
                gamma -= (2.0 * gamma + sin(2.0 * gamma) - goal) / slope;
            }
            gamma = clamp(gamma, -HALF_PI, HALF_PI);
            return vec3<f32>(2.0 * SQRT2 / PI * phi * cos(gamma), SQRT2 * sin(gamma), 1.0);
        }
        case MER: {
            if abs(n.z) >= 1.0 - 1e-6 { return vec3<f32>(0.0); }
            return vec3<f32>(phi, 0.5 * log((1.0 + n.z) / (1.0 - n.z)), 1.0);
        }
        case CAR: {
            return vec3<f32>(phi, theta, 1.0);
        }
        case HPX: {
            if abs(n.z) <= 2.0 / 3.0 {
                return vec3<f32>(phi, 3.0 * PI / 8.0 * n.z, 1.0);
            }
            // 1 − |sin θ| = ρ² / (1 + |sin θ|) keeps its digits near the poles.
            let sigma = sqrt(3.0 * rho * rho / (1.0 + abs(n.z)));
            let facet = clamp(floor((phi + PI) / HALF_PI), 0.0, 3.0);
            let centre = -PI + (2.0 * facet + 1.0) * QUARTER_PI;
            return vec3<f32>(centre + (phi - centre) * sigma, sign(n.z) * QUARTER_PI * (2.0 - sigma), 1.0);
        }
        default: {
            return vec3<f32>(0.0);
        }
    }
}
