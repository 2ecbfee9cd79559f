//! The coordinate grid: lines drawn per pixel on the GPU (shaders/grid.wgsl), labels placed
//! on the CPU for whoever draws text (the GUI through egui).

use crate::renderer::SkyRenderer;
use skyglass_sky::{Frame, LonLat, ScreenPoint, ViewCamera};
use std::f64::consts::PI;

/// How the grid looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridStyle {
    /// The frame whose meridians and parallels are drawn (ICRS or Galactic, usually).
    pub frame: Frame,
    /// Straight (not premultiplied) RGBA, 0 to 1.
    pub colour: [f32; 4],
    /// In target pixels.
    pub line_width: f32,
}

impl Default for GridStyle {
    fn default() -> Self {
        GridStyle { frame: Frame::Icrs, colour: [0.45, 0.75, 1.0, 0.7], line_width: 1.2 }
    }
}

/// The spacing of meridians and parallels for a view, in degrees: about four to eight lines
/// across the field, at steps people read easily (hours and minutes of RA in equatorial frames).
pub fn grid_steps(camera: &ViewCamera, frame: Frame) -> (f64, f64) {
    // Over the whole field, but at most 180° of it: the all-sky views show a hemisphere across.
    let span = camera.fov().degrees().min(180.0) * camera.viewport().height.min(camera.viewport().width)
        / camera.viewport().width;
    let lat_step = nice_step(span / 5.0, DEGREE_STEPS);
    let lon_step = if frame.is_equatorial() { nice_step(span / 5.0, HOUR_STEPS) } else { lat_step };
    (lon_step, lat_step)
}

/// Steps in degrees: degrees, arcminutes, arcseconds.
const DEGREE_STEPS: &[f64] = &[
    90.0,
    45.0,
    30.0,
    20.0,
    15.0,
    10.0,
    5.0,
    2.0,
    1.0,
    30.0 / 60.0,
    20.0 / 60.0,
    15.0 / 60.0,
    10.0 / 60.0,
    5.0 / 60.0,
    2.0 / 60.0,
    1.0 / 60.0,
    30.0 / 3600.0,
    20.0 / 3600.0,
    10.0 / 3600.0,
    5.0 / 3600.0,
    2.0 / 3600.0,
    1.0 / 3600.0,
];

/// Steps of right ascension in degrees: hours, minutes and seconds of time.
const HOUR_STEPS: &[f64] = &[
    90.0,
    45.0,
    30.0,
    15.0,
    30.0 * 0.25,
    20.0 * 0.25,
    10.0 * 0.25,
    5.0 * 0.25,
    2.0 * 0.25,
    0.25,
    30.0 * 0.25 / 60.0,
    20.0 * 0.25 / 60.0,
    10.0 * 0.25 / 60.0,
    5.0 * 0.25 / 60.0,
    2.0 * 0.25 / 60.0,
    0.25 / 60.0,
    0.1 * 0.25 / 60.0,
];

fn nice_step(target: f64, steps: &[f64]) -> f64 {
    steps.iter().copied().find(|step| *step <= target).unwrap_or(steps[steps.len() - 1])
}

/// A grid label: where it goes on screen (the camera's pixels) and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct GridLabel {
    pub x: f64,
    pub y: f64,
    pub text: String,
    /// A longitude (meridian) label, else a latitude one.
    pub meridian: bool,
}

/// Labels where the grid lines meet the edges of the view (the bottom edge for meridians,
/// the left edge for parallels); for views whose edges are off the sky (all-sky views),
/// along the middle lines instead.
pub fn grid_labels(camera: &ViewCamera, frame: Frame) -> Vec<GridLabel> {
    let (lon_step, lat_step) = grid_steps(camera, frame);
    let viewport = camera.viewport();
    let (w, h) = (viewport.width, viewport.height);
    let inset = 4.0;
    let bottom = |t: f64| ScreenPoint { x: w * t, y: h - inset };
    let left = |t: f64| ScreenPoint { x: inset, y: h * (1.0 - t) };
    let middle_row = |t: f64| ScreenPoint { x: w * t, y: h / 2.0 };
    let middle_column = |t: f64| ScreenPoint { x: w / 2.0, y: h * (1.0 - t) };
    let on_sky = |edge: &dyn Fn(f64) -> ScreenPoint| {
        (0..=20).filter(|i| camera.screen_to_sky(edge(f64::from(*i) / 20.0)).is_some()).count() >= 15
    };
    let mut labels = Vec::new();
    let meridian_edge: &dyn Fn(f64) -> ScreenPoint = if on_sky(&bottom) { &bottom } else { &middle_row };
    let parallel_edge: &dyn Fn(f64) -> ScreenPoint = if on_sky(&left) { &left } else { &middle_column };
    crossings(camera, frame, meridian_edge, true, lon_step, &mut labels);
    crossings(camera, frame, parallel_edge, false, lat_step, &mut labels);
    without_overlaps(labels)
}

/// Where lines bunch up (meridians near a pole), keeps labels at least a label's width apart.
fn without_overlaps(labels: Vec<GridLabel>) -> Vec<GridLabel> {
    let mut kept: Vec<GridLabel> = Vec::with_capacity(labels.len());
    for label in labels {
        let room = if label.meridian { 12.0 * label.text.chars().count() as f64 } else { 24.0 };
        let crowded = kept
            .iter()
            .any(|other| other.meridian == label.meridian && (other.x - label.x).hypot(other.y - label.y) < room);
        if !crowded {
            kept.push(label);
        }
    }
    kept
}

/// Walks along a screen path and labels each place where the coordinate passes a multiple
/// of `step`.
fn crossings(
    camera: &ViewCamera,
    frame: Frame,
    path: &dyn Fn(f64) -> ScreenPoint,
    meridian: bool,
    step: f64,
    labels: &mut Vec<GridLabel>,
) {
    let samples = 400;
    let coordinate = |t: f64| -> Option<f64> {
        let sky = camera.screen_to_sky(path(t))?;
        let position = camera.frame().convert(frame, sky);
        Some(if meridian { position.lon().degrees() } else { position.lat().degrees() })
    };
    let mut previous: Option<(f64, f64)> = None;
    for i in 0..=samples {
        let t = f64::from(i) / f64::from(samples);
        let Some(value) = coordinate(t) else {
            previous = None;
            continue;
        };
        if let Some((t0, v0)) = previous {
            let mut v1 = value;
            // Longitudes wrap: take the short way round.
            if meridian && (v1 - v0).abs() > 180.0 {
                v1 += if v1 < v0 { 360.0 } else { -360.0 };
            }
            let (low, high) = (v0.min(v1), v0.max(v1));
            let first = (low / step).floor() + 1.0;
            let mut k = first;
            while k * step <= high {
                let crossing = k * step;
                let fraction = if v1 == v0 { 0.0 } else { (crossing - v0) / (v1 - v0) };
                let at = path(t0 + (t - t0) * fraction);
                labels.push(GridLabel {
                    x: at.x,
                    y: at.y,
                    text: label_text(crossing, step, frame, meridian),
                    meridian,
                });
                k += 1.0;
            }
        }
        previous = Some((t, value));
    }
}

fn label_text(value: f64, step: f64, frame: Frame, meridian: bool) -> String {
    if meridian {
        let lon = value.rem_euclid(360.0);
        if frame.is_equatorial() {
            return hours_text(lon, step);
        }
        return degrees_text(lon, step, false);
    }
    degrees_text(value, step, true)
}

fn hours_text(degrees: f64, step: f64) -> String {
    let seconds = (degrees / 15.0 * 3600.0).round() as i64 % (24 * 3600);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if step >= 15.0 {
        format!("{h}h")
    } else if step >= 0.25 {
        format!("{h}h{m:02}m")
    } else {
        format!("{h}h{m:02}m{s:02}s")
    }
}

fn degrees_text(degrees: f64, step: f64, signed: bool) -> String {
    let sign = if signed && degrees < -1e-9 {
        "−"
    } else if signed && degrees > 1e-9 {
        "+"
    } else {
        ""
    };
    let arcsec = (degrees.abs() * 3600.0).round() as i64;
    let (d, m, s) = (arcsec / 3600, arcsec / 60 % 60, arcsec % 60);
    if step >= 1.0 {
        format!("{sign}{d}°")
    } else if step >= 1.0 / 60.0 {
        format!("{sign}{d}°{m:02}′")
    } else {
        format!("{sign}{d}°{m:02}′{s:02}″")
    }
}

/// The uniform block of grid.wgsl's `Grid`, field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct GridUniform {
    plane_x: [f32; 4],
    plane_y: [f32; 4],
    rot0: [f32; 4],
    rot1: [f32; 4],
    rot2: [f32; 4],
    colour: [f32; 4],
    projection: u32,
    centre_lon: f32,
    lon_step: f32,
    lat_step: f32,
    line_width: f32,
    _pad: [f32; 3],
}

/// The grid's GPU side: its uniforms.
pub struct GridLayer {
    pub style: GridStyle,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl GridLayer {
    pub fn new(renderer: &SkyRenderer, device: &wgpu::Device, style: GridStyle) -> GridLayer {
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("grid uniform"),
            size: std::mem::size_of::<GridUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = renderer.grid_bind_group(device, &uniform);
        GridLayer { style, uniform, bind_group }
    }

    /// Writes the uniforms for a view; `origin` as for [`SkyRenderer::prepare`].
    pub fn prepare(&self, queue: &wgpu::Queue, camera: &ViewCamera, origin: [f64; 2]) {
        let (plane_x, plane_y) = crate::layer::plane_affine(camera, origin);
        let to_grid = camera.frame().rotation_to(self.style.frame).after(&camera.native_frame().inverse());
        let rows = to_grid.rows().map(|row| [row[0] as f32, row[1] as f32, row[2] as f32, 0.0]);
        let centre: LonLat = camera.frame().convert(self.style.frame, camera.centre());
        let (lon_step, lat_step) = grid_steps(camera, self.style.frame);
        let uniform = GridUniform {
            plane_x,
            plane_y,
            rot0: rows[0],
            rot1: rows[1],
            rot2: rows[2],
            colour: self.style.colour,
            projection: crate::layer::projection_code(camera.projection()),
            centre_lon: wrap_pi(centre.lon().radians()) as f32,
            lon_step: lon_step.to_radians() as f32,
            lat_step: lat_step.to_radians() as f32,
            line_width: self.style.line_width,
            _pad: [0.0; 3],
        };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    pub(crate) fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }
}

fn wrap_pi(angle: f64) -> f64 {
    (angle + PI).rem_euclid(2.0 * PI) - PI
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyglass_sky::{Angle, Projection, Viewport};

    fn camera(fov: f64, projection: Projection, frame: Frame) -> ViewCamera {
        ViewCamera::new(
            LonLat::from_degrees(83.82, -5.39).unwrap(),
            Angle::from_degrees(fov),
            projection,
            frame,
            Viewport { width: 800.0, height: 600.0 },
        )
    }

    #[test]
    fn steps_are_readable_and_shrink_with_the_field() {
        assert_eq!(grid_steps(&camera(360.0, Projection::Ait, Frame::Galactic), Frame::Galactic), (20.0, 20.0));
        assert_eq!(grid_steps(&camera(40.0, Projection::Tan, Frame::Icrs), Frame::Icrs), (5.0, 5.0));
        let (lon, lat) = grid_steps(&camera(0.5, Projection::Tan, Frame::Icrs), Frame::Icrs);
        assert_eq!((lon * 3600.0 / 15.0, lat * 60.0), (10.0, 2.0), "10 s of time, 2 arcmin");
    }

    #[test]
    fn labels_sit_where_the_lines_cross_the_edges() {
        let view = camera(40.0, Projection::Tan, Frame::Icrs);
        let labels = grid_labels(&view, Frame::Icrs);
        let meridians: Vec<&GridLabel> = labels.iter().filter(|l| l.meridian).collect();
        let parallels: Vec<&GridLabel> = labels.iter().filter(|l| !l.meridian).collect();
        assert!(meridians.len() >= 4 && parallels.len() >= 4, "{labels:?}");
        // Each label is where its line is: the sky under it has that coordinate.
        for label in &labels {
            let sky = view.screen_to_sky(ScreenPoint { x: label.x, y: label.y }).unwrap();
            let value = if label.meridian { sky.lon().degrees() / 15.0 } else { sky.lat().degrees() };
            let written: f64 = if label.meridian {
                label.text.trim_end_matches('m').replace('h', ".").split('.').next().unwrap().parse().unwrap()
            } else {
                label.text.replace('−', "-").trim_end_matches('°').parse().unwrap()
            };
            if label.meridian {
                // Hours and minutes: compare in hours.
                let minutes: f64 = label.text.split('h').nth(1).unwrap().trim_end_matches('m').parse().unwrap();
                assert!((value - (written + minutes / 60.0)).abs() < 0.01, "{label:?} at {value}");
            } else {
                assert!((value - written).abs() < 0.05, "{label:?} at {value}");
            }
        }
        // East is left: right ascension grows leftward along the bottom edge.
        let first = meridians.first().unwrap();
        let last = meridians.last().unwrap();
        assert!(first.x < last.x && first.text > last.text, "{first:?} {last:?}");
    }

    #[test]
    fn all_sky_views_label_the_middle_lines() {
        let labels = grid_labels(&camera(360.0, Projection::Ait, Frame::Galactic), Frame::Galactic);
        assert!(labels.iter().filter(|l| l.meridian).count() >= 8, "{labels:?}");
        assert!(labels.iter().any(|l| l.text == "+60°") && labels.iter().any(|l| l.text == "−60°"));
    }

    #[test]
    fn label_texts() {
        assert_eq!(hours_text(83.82, 1.25), "5h35m");
        assert_eq!(degrees_text(-5.5, 0.5, true), "−5°30′");
        assert_eq!(degrees_text(0.0, 10.0, true), "0°");
        assert_eq!(degrees_text(210.0, 10.0, false), "210°");
    }
}
