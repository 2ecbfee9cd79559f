//! Footprints: the STC-S regions of ObsCore `s_region` columns (Polygon, Circle, Box,
//! Ellipse, Union of those) as outlines in ICRS, ready to draw. Parsing is CDS's `stc-s`
//! crate; this module turns its regions into vertices and circles on the sky.

use crate::{Angle, Frame, LonLat, Vec3};
use stc_s::space::common::Frame as StcFrame;
use stc_s::space::common::compound::RegionOrExpr;
use stc_s::space::common::expression::ExprEnum;
use stc_s::space::common::region::RegionEnum;
use stc_s::space::expression::ExpressionEnum;
use stc_s::space::geometry::GeometryEnum;

/// One closed outline.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Vertices in order, joined by great circles, the last back to the first.
    Polygon(Vec<LonLat>),
    Circle {
        centre: LonLat,
        radius: Angle,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    /// In ICRS.
    pub shapes: Vec<Shape>,
    /// Outlines cut out of the shapes (ALMA writes `Polygon … Not (Polygon …)` for mosaics
    /// with holes).
    pub holes: Vec<Shape>,
    /// The frame was not one STC-S names (MAST writes GSC1) and was read as ICRS.
    pub frame_assumed: bool,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FootprintError {
    #[error("not STC-S: {0}")]
    Syntax(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Value(String),
}

impl Footprint {
    /// Whether a direction is inside: in one of the shapes and in none of the holes.
    pub fn contains(&self, position: LonLat) -> bool {
        let inside = |shape: &Shape| match shape {
            Shape::Circle { centre, radius } => centre.separation(position).radians() <= radius.radians(),
            Shape::Polygon(vertices) => polygon_contains(vertices, position),
        };
        self.shapes.iter().any(inside) && !self.holes.iter().any(inside)
    }
}

/// Point in a spherical polygon (edges are great circles): the vertices projected on the
/// plane tangent at the point (gnomonic projection keeps great circles straight), then the
/// winding number of the polygon around the origin. A vertex on the far hemisphere means
/// the polygon is not around the point (footprints are far smaller than a hemisphere).
fn polygon_contains(vertices: &[LonLat], position: LonLat) -> bool {
    let p = position.to_vec3();
    // East and north at the point.
    let (sin_lon, cos_lon) = position.lon().radians().sin_cos();
    let sin_lat = position.lat().radians().sin();
    let cos_lat = position.lat().radians().cos();
    let east = [-sin_lon, cos_lon, 0.0];
    let north = [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat];
    let mut plane = Vec::with_capacity(vertices.len());
    for vertex in vertices {
        let v = vertex.to_vec3();
        let along = v.x * p.x + v.y * p.y + v.z * p.z;
        if along <= 1e-12 {
            return false;
        }
        let x = (v.x * east[0] + v.y * east[1] + v.z * east[2]) / along;
        let y = (v.x * north[0] + v.y * north[1] + v.z * north[2]) / along;
        plane.push((x, y));
    }
    let mut winding = 0.0;
    for i in 0..plane.len() {
        let (a, b) = (plane[i], plane[(i + 1) % plane.len()]);
        winding += (a.0 * b.1 - a.1 * b.0).atan2(a.0 * b.0 + a.1 * b.1);
    }
    winding.abs() > std::f64::consts::PI
}

/// Parses an `s_region` value. Frames ICRS, J2000 and FK5 are taken as ICRS (they differ by
/// less than 0.1″); GALACTIC, ECLIPTIC and SUPER_GALACTIC are converted; an unknown frame
/// word (GSC1) is read as ICRS and said so.
pub fn parse_stcs(text: &str) -> Result<Footprint, FootprintError> {
    let text = text.trim();
    let (outer, cut_out) = split_holes(text);
    let mut holes = Vec::new();
    if !cut_out.is_empty() {
        let frame = outer.split_whitespace().nth(1).filter(|w| w.parse::<f64>().is_err() && !w.starts_with('('));
        for inner in cut_out {
            let hole = parse_stcs(&format!("Union {} ( {inner} )", frame.unwrap_or("ICRS")))?;
            holes.extend(hole.shapes);
        }
    }
    let text = outer.as_str();
    let (normalised, frame_assumed) = normalise_frame(text);
    let (rest, stc) = stc_s::Stc::parse::<nom::error::VerboseError<&str>>(&normalised)
        .map_err(|e| FootprintError::Syntax(format!("{text:?}: {}", short(&e.to_string()))))?;
    if !rest.trim().is_empty() {
        return Err(FootprintError::Syntax(format!("{text:?}: cannot read {:?}", short(rest))));
    }
    let space = stc.space.ok_or_else(|| FootprintError::Syntax(format!("{text:?} has no space region")))?;
    let mut shapes = Vec::new();
    match space {
        stc_s::space::Space::Geometry(geometry) => geometry_shapes(&geometry, &mut shapes)?,
        stc_s::space::Space::Expression(ExpressionEnum::Union(union)) => {
            let frame = frame_of(union.pre.frame_refpos_flavor.frame)?;
            for element in union.args.elems() {
                element_shapes(element, frame, &mut shapes)?;
            }
        }
        stc_s::space::Space::Expression(_) => {
            return Err(FootprintError::Unsupported(format!("{text:?}: only Union of regions is drawn")));
        }
        _ => return Err(FootprintError::Unsupported(format!("{text:?} is a position, not a region"))),
    }
    Ok(Footprint { shapes, holes, frame_assumed })
}

/// The text without its `Not (…)` parts, and what those parts hold.
fn split_holes(text: &str) -> (String, Vec<String>) {
    let mut outer = String::with_capacity(text.len());
    let mut holes = Vec::new();
    let mut rest = text;
    while let Some(at) = find_word(rest, "not") {
        let after = rest[at + 3..].trim_start();
        let Some(inside) = after.strip_prefix('(') else { break };
        let mut depth = 1;
        let Some(end) = inside.char_indices().find_map(|(i, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            (depth == 0).then_some(i)
        }) else {
            break;
        };
        outer.push_str(&rest[..at]);
        holes.push(inside[..end].trim().to_owned());
        rest = &inside[end + 1..];
    }
    outer.push_str(rest);
    (outer, holes)
}

/// Where `word` stands alone (any case) in `text`, after the first word (a top-level Not
/// is a whole region, left to the parser).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 1;
    while let Some(found) = lower.get(from..)?.find(word) {
        let at = from + found;
        let before = lower[..at].chars().last().is_none_or(char::is_whitespace);
        let after = lower[at + word.len()..].chars().next().is_none_or(|c| c.is_whitespace() || c == '(');
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn short(text: &str) -> String {
    text.chars().take(120).collect()
}

/// The text with an unknown frame word after the shape name replaced by ICRS.
fn normalise_frame(text: &str) -> (String, bool) {
    const FRAMES: &[&str] = &[
        "ICRS",
        "FK5",
        "FK4",
        "J2000",
        "B1950",
        "ECLIPTIC",
        "GALACTIC",
        "GALACTIC_II",
        "SUPER_GALACTIC",
        "GEO_C",
        "GEO_D",
        "UNKNOWNFRAME",
    ];
    let mut words = text.split_whitespace();
    let (Some(shape), Some(frame)) = (words.next(), words.next()) else { return (text.to_owned(), false) };
    let is_number = frame.parse::<f64>().is_ok() || frame.starts_with('(');
    if is_number || FRAMES.contains(&frame.to_ascii_uppercase().as_str()) {
        let assumed = frame.eq_ignore_ascii_case("UNKNOWNFrame");
        return (text.to_owned(), assumed);
    }
    let rest: Vec<&str> = words.collect();
    (format!("{shape} ICRS {}", rest.join(" ")), true)
}

fn frame_of(frame: StcFrame) -> Result<Frame, FootprintError> {
    Ok(match frame {
        StcFrame::ICRS | StcFrame::J2000 | StcFrame::FK5 | StcFrame::UnknownFrame => Frame::Icrs,
        StcFrame::Galactic | StcFrame::Galactic2 => Frame::Galactic,
        StcFrame::Ecliptic => Frame::EclipticJ2000,
        StcFrame::SuperGalactic => Frame::Supergalactic,
        other => return Err(FootprintError::Unsupported(format!("the {other:?} frame is not drawn"))),
    })
}

fn point(frame: Frame, lon: f64, lat: f64) -> Result<LonLat, FootprintError> {
    let position = LonLat::from_degrees(lon, lat).map_err(|e| FootprintError::Value(e.to_string()))?;
    Ok(frame.convert(Frame::Icrs, position))
}

fn geometry_shapes(geometry: &GeometryEnum, shapes: &mut Vec<Shape>) -> Result<(), FootprintError> {
    let frame = |f: StcFrame| frame_of(f);
    match geometry {
        GeometryEnum::Circle(g) => {
            let params = &g.params;
            shapes.push(circle(frame(g.pre.frame_refpos_flavor.frame)?, params.center(), params.radius())?);
        }
        GeometryEnum::Polygon(g) => shapes.push(polygon(frame(g.pre.frame_refpos_flavor.frame)?, g.params.vertices())?),
        GeometryEnum::Box(g) => {
            shapes.push(ellipse_or_box(
                frame(g.pre.frame_refpos_flavor.frame)?,
                g.params.center(),
                g.params.bsize(),
                None,
            )?);
        }
        GeometryEnum::Ellipse(g) => {
            let p = &g.params;
            let axes = [2.0 * p.radius_a(), 2.0 * p.radius_b()];
            shapes.push(ellipse_or_box(
                frame(g.pre.frame_refpos_flavor.frame)?,
                p.center(),
                &axes,
                Some(p.pos_angle()),
            )?);
        }
        GeometryEnum::AllSky(_) | GeometryEnum::Convex(_) => {
            return Err(FootprintError::Unsupported("AllSky and Convex regions are not drawn".to_owned()));
        }
    }
    Ok(())
}

fn element_shapes(element: &RegionOrExpr, frame: Frame, shapes: &mut Vec<Shape>) -> Result<(), FootprintError> {
    match element {
        RegionOrExpr::Region(region) => match region {
            RegionEnum::Circle(r) => shapes.push(circle(frame, r.elem().center(), r.elem().radius())?),
            RegionEnum::Polygon(r) => shapes.push(polygon(frame, r.elem().vertices())?),
            RegionEnum::Box(r) => shapes.push(ellipse_or_box(frame, r.elem().center(), r.elem().bsize(), None)?),
            RegionEnum::Ellipse(r) => {
                let p = r.elem();
                let axes = [2.0 * p.radius_a(), 2.0 * p.radius_b()];
                shapes.push(ellipse_or_box(frame, p.center(), &axes, Some(p.pos_angle()))?);
            }
            RegionEnum::AllSky(_) | RegionEnum::Convex(_) => {
                return Err(FootprintError::Unsupported("AllSky and Convex regions are not drawn".to_owned()));
            }
        },
        RegionOrExpr::Expression(ExprEnum::Union(union)) => {
            for inner in union.get().elems() {
                element_shapes(inner, frame, shapes)?;
            }
        }
        RegionOrExpr::Expression(_) => {
            return Err(FootprintError::Unsupported("only Union of regions is drawn".to_owned()));
        }
    }
    Ok(())
}

fn circle(frame: Frame, centre: &[f64], radius: f64) -> Result<Shape, FootprintError> {
    let [lon, lat] = centre else {
        return Err(FootprintError::Value("a circle's centre needs two numbers".to_owned()));
    };
    if !(radius > 0.0 && radius <= 180.0) {
        return Err(FootprintError::Value(format!("a circle's radius must be in (0, 180] degrees, not {radius}")));
    }
    Ok(Shape::Circle { centre: point(frame, *lon, *lat)?, radius: Angle::from_degrees(radius) })
}

fn polygon(frame: Frame, vertices: &[f64]) -> Result<Shape, FootprintError> {
    if vertices.len() < 6 || !vertices.len().is_multiple_of(2) {
        return Err(FootprintError::Value(format!(
            "a polygon needs at least 3 vertices, not {} numbers",
            vertices.len()
        )));
    }
    let mut points: Vec<LonLat> =
        vertices.chunks_exact(2).map(|pair| point(frame, pair[0], pair[1])).collect::<Result<_, _>>()?;
    // Some services close the ring by repeating the first vertex (MAST does).
    if points.len() > 3 && points.first().zip(points.last()).is_some_and(|(a, b)| a.separation(*b).degrees() < 1e-9) {
        points.pop();
    }
    Ok(Shape::Polygon(points))
}

/// A box (full widths) or an ellipse (full axes and position angle, east of north) as a
/// polygon: corners, or 64 points, on the tangent plane at the centre.
fn ellipse_or_box(frame: Frame, centre: &[f64], size: &[f64], angle: Option<f64>) -> Result<Shape, FootprintError> {
    let ([lon, lat], [width, height]) = (centre, size) else {
        return Err(FootprintError::Value("a box or ellipse needs a centre and two sizes".to_owned()));
    };
    if !(*width > 0.0 && *height > 0.0 && *width < 180.0 && *height < 180.0) {
        return Err(FootprintError::Value(format!("sizes must be in (0, 180) degrees, not {width} × {height}")));
    }
    let centre = LonLat::from_degrees(*lon, *lat).map_err(|e| FootprintError::Value(e.to_string()))?;
    let offsets: Vec<(f64, f64)> = match angle {
        None => vec![(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
            .into_iter()
            .map(|(x, y)| (x * width, y * height))
            .collect(),
        Some(position_angle) => {
            let pa = position_angle.to_radians();
            (0..64)
                .map(|i| {
                    let t = f64::from(i) / 64.0 * std::f64::consts::TAU;
                    // Major axis along the position angle (from north through east).
                    let (major, minor) = (0.5 * width * t.cos(), 0.5 * height * t.sin());
                    (major * pa.sin() + minor * pa.cos(), major * pa.cos() - minor * pa.sin())
                })
                .collect()
        }
    };
    let points = offsets
        .into_iter()
        .map(|(east, north)| frame.convert(Frame::Icrs, deproject(centre, east.to_radians(), north.to_radians())))
        .collect();
    Ok(Shape::Polygon(points))
}

/// The point at gnomonic offsets (east, north, radians) from `centre`.
fn deproject(centre: LonLat, east: f64, north: f64) -> LonLat {
    let c = centre.to_vec3();
    let (lon, lat) = (centre.lon().radians(), centre.lat().radians());
    let east_axis = Vec3::new(-lon.sin(), lon.cos(), 0.0);
    let north_axis = Vec3::new(-lat.sin() * lon.cos(), -lat.sin() * lon.sin(), lat.cos());
    let v = Vec3::new(
        c.x + east * east_axis.x + north * north_axis.x,
        c.y + east * east_axis.y + north * north_axis.y,
        c.z + east * east_axis.z + north * north_axis.z,
    );
    LonLat::from_vec3(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_frames_and_unions_read_as_services_write_them() {
        let circle = parse_stcs("Circle ICRS 337.250736 -69.175076 0.008223").unwrap();
        let Shape::Circle { centre, radius } = &circle.shapes[0] else { panic!() };
        assert!((centre.lon().degrees() - 337.250736).abs() < 1e-9 && (radius.degrees() - 0.008223).abs() < 1e-12);
        let union = parse_stcs("Union ICRS ( Polygon 1 1 2 1 2 2 Circle 10 10 0.5 )").unwrap();
        assert_eq!(union.shapes.len(), 2);
        // ALMA: polygons with holes, alone or in a union.
        let holed = parse_stcs("Union ICRS ( Polygon 0 0 4 0 4 4 0 4 Not (Polygon 1 1 2 1 2 2) Polygon 10 0 11 0 11 1 Not (Polygon 10.2 0.2 10.5 0.2 10.5 0.5))").unwrap();
        assert_eq!((holed.shapes.len(), holed.holes.len()), (2, 2));
        let single = parse_stcs("Polygon ICRS 0 0 4 0 4 4 Not (Polygon 1 1 2 1 2 2)").unwrap();
        assert_eq!((single.shapes.len(), single.holes.len()), (1, 1));
        // MAST: GSC1, repeated closing vertex, double spaces.
        let mast = parse_stcs("POLYGON GSC1  23.17  60.66  23.15  60.61  23.06  60.62  23.17  60.66").unwrap();
        assert!(mast.frame_assumed);
        let Shape::Polygon(vertices) = &mast.shapes[0] else { panic!() };
        assert_eq!(vertices.len(), 3);
        // Galactic: converted; the Galactic centre is at RA 266.405, Dec -28.936.
        let galactic = parse_stcs("Circle GALACTIC 0 0 1").unwrap();
        let Shape::Circle { centre, .. } = &galactic.shapes[0] else { panic!() };
        assert!((centre.lon().degrees() - 266.405).abs() < 1e-3 && (centre.lat().degrees() + 28.936).abs() < 1e-3);
        // A box: four corners around its centre.
        let boxed = parse_stcs("Box ICRS 150 2 1 0.5").unwrap();
        let Shape::Polygon(corners) = &boxed.shapes[0] else { panic!() };
        assert_eq!(corners.len(), 4);
        let middle = LonLat::from_degrees(150.0, 2.0).unwrap();
        assert!(corners.iter().all(|c| (c.separation(middle).degrees() - 0.559).abs() < 0.01));
    }

    #[test]
    fn bad_regions_are_clear_errors() {
        for (text, expected) in [
            ("Polygon ICRS 1 2 3", "at least 3 vertices"),
            ("Circle ICRS 10 100 1", "atitude"),
            ("Circle ICRS 10 10 -1", "radius"),
            ("Nonsense 1 2", "not STC-S"),
            ("Position ICRS 10 20", "position, not a region"),
            ("Not ICRS ( Circle 1 1 1 )", "only Union"),
        ] {
            let error = parse_stcs(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
