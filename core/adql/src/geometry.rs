//! ADQL's geometry as vectorised DataFusion functions on (RA, Dec) columns in degrees.
//!
//! The translator turns `CONTAINS(POINT(a, d), CIRCLE(a0, d0, r)) = 1` into
//! `adql_in_circle(a, d, a0, d0, r) = 1`, and likewise for boxes, polygons and distances, so
//! each test is one pass over the columns with no geometry objects in between.

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use std::sync::Arc;

/// The functions the translator calls; register them on every session.
pub fn geometry_udfs() -> Vec<ScalarUDF> {
    [Kind::Distance, Kind::InCircle, Kind::InBox, Kind::InPolygon, Kind::Regions, Kind::Area]
        .into_iter()
        .map(|kind| ScalarUDF::new_from_impl(GeometryUdf::new(kind)))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// adql_distance(ra1, dec1, ra2, dec2) → degrees
    Distance,
    /// adql_in_circle(ra, dec, ra0, dec0, radius) → 1 or 0
    InCircle,
    /// adql_in_box(ra, dec, ra0, dec0, width, height) → 1 or 0
    InBox,
    /// adql_in_polygon(ra, dec, ra1, dec1, ra2, dec2, ra3, dec3, …) → 1 or 0
    InPolygon,
    /// adql_regions(relation, shape_a, count_a, shape_b, numbers of a…, numbers of b…) → 1 or 0:
    /// whether region a lies in region b (relation 0) or meets it (relation 1). Shapes:
    /// 0 circle (ra, dec, radius), 1 polygon (ra, dec pairs), 2 box (ra, dec, width, height).
    Regions,
    /// adql_area(shape, numbers…) → square degrees
    Area,
}

/// The relations and shapes `adql_regions` and `adql_area` take, as the translator writes them.
pub(crate) const RELATION_CONTAINS: f64 = 0.0;
pub(crate) const RELATION_INTERSECTS: f64 = 1.0;
pub(crate) const SHAPE_CIRCLE: f64 = 0.0;
pub(crate) const SHAPE_POLYGON: f64 = 1.0;
pub(crate) const SHAPE_BOX: f64 = 2.0;

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Distance => DISTANCE,
            Kind::InCircle => IN_CIRCLE,
            Kind::InBox => IN_BOX,
            Kind::InPolygon => IN_POLYGON,
            Kind::Regions => REGIONS,
            Kind::Area => AREA,
        }
    }
}

/// The functions the crossmatch idioms become, which the archive plans as spatial joins.
pub const DISTANCE: &str = "adql_distance";
pub const IN_CIRCLE: &str = "adql_in_circle";
pub(crate) const IN_BOX: &str = "adql_in_box";
pub(crate) const IN_POLYGON: &str = "adql_in_polygon";
pub(crate) const REGIONS: &str = "adql_regions";
pub(crate) const AREA: &str = "adql_area";

#[derive(Debug, PartialEq, Eq, Hash)]
struct GeometryUdf {
    kind: Kind,
    signature: Signature,
}

impl GeometryUdf {
    fn new(kind: Kind) -> GeometryUdf {
        let numbers = |n: usize| TypeSignature::Exact(vec![DataType::Float64; n]);
        let signature = match kind {
            Kind::Distance => Signature::one_of(vec![numbers(4)], Volatility::Immutable),
            Kind::InCircle => Signature::one_of(vec![numbers(5)], Volatility::Immutable),
            Kind::InBox => Signature::one_of(vec![numbers(6)], Volatility::Immutable),
            Kind::InPolygon | Kind::Regions | Kind::Area => {
                Signature::variadic(vec![DataType::Float64], Volatility::Immutable)
            }
        };
        GeometryUdf { kind, signature }
    }
}

impl ScalarUDFImpl for GeometryUdf {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Distance | Kind::Area => DataType::Float64,
            _ => DataType::Int32,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let columns: Vec<&Float64Array> = arrays
            .iter()
            .map(|array| array.as_any().downcast_ref::<Float64Array>())
            .collect::<Option<_>>()
            .ok_or_else(|| {
                datafusion::common::DataFusionError::Execution("geometry arguments must be numbers".into())
            })?;
        let value = |column: usize, row: usize| -> Option<f64> {
            let array = columns[column];
            // Constant arguments come as one-row arrays.
            let row = if array.len() == 1 { 0 } else { row };
            (!array.is_null(row)).then(|| array.value(row))
        };
        let result: ArrayRef = match self.kind {
            Kind::Distance => {
                Arc::new(Float64Array::from_iter((0..rows).map(|row| {
                    Some(separation_degrees(value(0, row)?, value(1, row)?, value(2, row)?, value(3, row)?))
                })))
            }
            Kind::InCircle => Arc::new(Int32Array::from_iter((0..rows).map(|row| {
                let (ra, dec, ra0, dec0, radius) =
                    (value(0, row)?, value(1, row)?, value(2, row)?, value(3, row)?, value(4, row)?);
                Some(i32::from(separation_degrees(ra, dec, ra0, dec0) <= radius))
            }))),
            Kind::InBox => Arc::new(Int32Array::from_iter((0..rows).map(|row| {
                let (ra, dec) = (value(0, row)?, value(1, row)?);
                let (ra0, dec0, width, height) = (value(2, row)?, value(3, row)?, value(4, row)?, value(5, row)?);
                Some(i32::from(in_box(ra, dec, ra0, dec0, width, height)))
            }))),
            Kind::InPolygon => {
                if columns.len() < 8 || !columns.len().is_multiple_of(2) {
                    return exec_err!("POLYGON needs at least three vertices, each a longitude and a latitude");
                }
                Arc::new(Int32Array::from_iter((0..rows).map(|row| {
                    let (ra, dec) = (value(0, row)?, value(1, row)?);
                    let vertices: Option<Vec<[f64; 3]>> = (2..columns.len())
                        .step_by(2)
                        .map(|c| Some(unit_vector(value(c, row)?, value(c + 1, row)?)))
                        .collect();
                    Some(i32::from(in_polygon(unit_vector(ra, dec), &vertices?)))
                })))
            }
            Kind::Regions => {
                let row_numbers = |row: usize| (0..columns.len()).map(|c| value(c, row)).collect::<Option<Vec<f64>>>();
                let mut out = Vec::with_capacity(rows);
                for row in 0..rows {
                    let Some(numbers) = row_numbers(row) else {
                        out.push(None);
                        continue;
                    };
                    match region_relation(&numbers) {
                        Ok(related) => out.push(Some(i32::from(related))),
                        Err(message) => return exec_err!("{message}"),
                    }
                }
                Arc::new(Int32Array::from(out))
            }
            Kind::Area => {
                let mut out = Vec::with_capacity(rows);
                for row in 0..rows {
                    let Some(numbers) = (0..columns.len()).map(|c| value(c, row)).collect::<Option<Vec<f64>>>() else {
                        out.push(None);
                        continue;
                    };
                    let Some((&shape, numbers)) = numbers.split_first() else {
                        return exec_err!("AREA takes a region");
                    };
                    match Region::new(shape, numbers) {
                        Ok(region) => out.push(Some(region.area_degrees())),
                        Err(message) => return exec_err!("{message}"),
                    }
                }
                Arc::new(Float64Array::from(out))
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

fn unit_vector(ra: f64, dec: f64) -> [f64; 3] {
    let (sin_ra, cos_ra) = ra.to_radians().sin_cos();
    let (sin_dec, cos_dec) = dec.to_radians().sin_cos();
    [cos_dec * cos_ra, cos_dec * sin_ra, sin_dec]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Great-circle distance in degrees, by the vector form (atan2 of |a×b| and a·b): exact at
/// tiny and near-antipodal separations alike.
pub fn separation_degrees(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (a, b) = (unit_vector(ra1, dec1), unit_vector(ra2, dec2));
    let c = cross(a, b);
    (dot(c, c).sqrt()).atan2(dot(a, b)).to_degrees()
}

/// ADQL's BOX: centred on (ra0, dec0), `width` along the parallel through the centre and
/// `height` along its meridian, bounded by great circles (ADQL 2.0, 2.4.4).
fn in_box(ra: f64, dec: f64, ra0: f64, dec0: f64, width: f64, height: f64) -> bool {
    in_polygon(unit_vector(ra, dec), &box_corners(ra0, dec0, width, height))
}

/// A box's corners, through the centre's local east and north.
fn box_corners(ra0: f64, dec0: f64, width: f64, height: f64) -> [[f64; 3]; 4] {
    let centre = unit_vector(ra0, dec0);
    let (sin_ra, cos_ra) = ra0.to_radians().sin_cos();
    let (sin_dec, cos_dec) = dec0.to_radians().sin_cos();
    let east = [-sin_ra, cos_ra, 0.0];
    let north = [-sin_dec * cos_ra, -sin_dec * sin_ra, cos_dec];
    let (half_w, half_h) = ((width / 2.0).to_radians().tan(), (height / 2.0).to_radians().tan());
    let corner = |e: f64, n: f64| {
        normalized([
            centre[0] + e * east[0] + n * north[0],
            centre[1] + e * east[1] + n * north[1],
            centre[2] + e * east[2] + n * north[2],
        ])
    };
    [corner(half_w, -half_h), corner(half_w, half_h), corner(-half_w, half_h), corner(-half_w, -half_h)]
}

fn normalized(v: [f64; 3]) -> [f64; 3] {
    let norm = dot(v, v).sqrt();
    [v[0] / norm, v[1] / norm, v[2] / norm]
}

/// The angle between two unit vectors, in radians (vector form, exact at all angles).
fn angle(a: [f64; 3], b: [f64; 3]) -> f64 {
    let c = cross(a, b);
    dot(c, c).sqrt().atan2(dot(a, b))
}

/// A region of ADQL's geometry: a cap, or a polygon with great-circle edges (boxes are
/// polygons by their corners).
#[derive(Clone, Debug, PartialEq)]
enum Region {
    Circle { centre: [f64; 3], radius: f64 },
    Polygon(Vec<[f64; 3]>),
}

impl Region {
    /// A region from a shape code and its numbers in degrees.
    fn new(shape: f64, numbers: &[f64]) -> Result<Region, String> {
        match (shape, numbers) {
            (SHAPE_CIRCLE, &[ra, dec, radius]) => {
                Ok(Region::Circle { centre: unit_vector(ra, dec), radius: radius.to_radians() })
            }
            (SHAPE_BOX, &[ra, dec, width, height]) => Ok(Region::Polygon(box_corners(ra, dec, width, height).to_vec())),
            (SHAPE_POLYGON, numbers) if numbers.len() >= 6 && numbers.len().is_multiple_of(2) => {
                Ok(Region::Polygon(numbers.chunks_exact(2).map(|p| unit_vector(p[0], p[1])).collect()))
            }
            (SHAPE_POLYGON, _) => Err("POLYGON needs at least three vertices, each a longitude and a latitude".into()),
            _ => Err("a CIRCLE takes three numbers and a BOX four".into()),
        }
    }

    fn contains_point(&self, point: [f64; 3]) -> bool {
        match self {
            Region::Circle { centre, radius } => angle(*centre, point) <= *radius,
            Region::Polygon(vertices) => in_polygon(point, vertices),
        }
    }

    fn edges(vertices: &[[f64; 3]]) -> impl Iterator<Item = ([f64; 3], [f64; 3])> + '_ {
        (0..vertices.len()).map(|i| (vertices[i], vertices[(i + 1) % vertices.len()]))
    }

    /// Whether this region lies wholly inside `outer` (caps are taken as convex: radius < 90°).
    fn is_inside(&self, outer: &Region) -> bool {
        match (self, outer) {
            (Region::Circle { centre: a, radius: ra }, Region::Circle { centre: b, radius: rb }) => {
                angle(*a, *b) + ra <= *rb
            }
            (Region::Polygon(vertices), Region::Circle { .. }) => vertices.iter().all(|v| outer.contains_point(*v)),
            (Region::Circle { centre, radius }, Region::Polygon(vertices)) => {
                in_polygon(*centre, vertices)
                    && Region::edges(vertices).all(|(a, b)| distance_to_arc(*centre, a, b) >= *radius)
            }
            (Region::Polygon(inner), Region::Polygon(outer_vertices)) => {
                inner.iter().all(|v| in_polygon(*v, outer_vertices))
                    && !Region::edges(inner)
                        .any(|(a, b)| Region::edges(outer_vertices).any(|(c, d)| arcs_cross(a, b, c, d)))
            }
        }
    }

    fn intersects(&self, other: &Region) -> bool {
        match (self, other) {
            (Region::Circle { centre: a, radius: ra }, Region::Circle { centre: b, radius: rb }) => {
                angle(*a, *b) <= ra + rb
            }
            (Region::Circle { centre, radius }, Region::Polygon(vertices))
            | (Region::Polygon(vertices), Region::Circle { centre, radius }) => {
                in_polygon(*centre, vertices)
                    || Region::edges(vertices).any(|(a, b)| distance_to_arc(*centre, a, b) <= *radius)
            }
            (Region::Polygon(a), Region::Polygon(b)) => {
                a.iter().any(|v| in_polygon(*v, b))
                    || b.iter().any(|v| in_polygon(*v, a))
                    || Region::edges(a).any(|(p, q)| Region::edges(b).any(|(r, t)| arcs_cross(p, q, r, t)))
            }
        }
    }

    /// The area in square degrees: a cap's, or a polygon's spherical excess summed over a
    /// fan of triangles (signed, so concave polygons count right).
    fn area_degrees(&self) -> f64 {
        let steradians = match self {
            Region::Circle { radius, .. } => 2.0 * std::f64::consts::PI * (1.0 - radius.cos()),
            Region::Polygon(vertices) => {
                let first = vertices[0];
                let excess: f64 = (1..vertices.len() - 1)
                    .map(|i| {
                        let (b, c) = (vertices[i], vertices[i + 1]);
                        2.0 * dot(first, cross(b, c)).atan2(1.0 + dot(first, b) + dot(b, c) + dot(c, first))
                    })
                    .sum();
                // Either winding; the polygon is the smaller of the two regions its edges bound.
                let area = excess.abs();
                area.min(4.0 * std::f64::consts::PI - area)
            }
        };
        steradians * (180.0 / std::f64::consts::PI).powi(2)
    }
}

/// `adql_regions`'s arguments: relation, shape of a, count of a's numbers, shape of b, then
/// the numbers of a and of b.
fn region_relation(numbers: &[f64]) -> Result<bool, String> {
    let [relation, shape_a, count_a, shape_b, rest @ ..] = numbers else {
        return Err("a region relation needs its shapes".into());
    };
    let split = *count_a as usize;
    if split > rest.len() {
        return Err("a region relation needs its shapes".into());
    }
    let (a, b) = rest.split_at(split);
    let (a, b) = (Region::new(*shape_a, a)?, Region::new(*shape_b, b)?);
    Ok(if *relation == RELATION_CONTAINS { a.is_inside(&b) } else { a.intersects(&b) })
}

/// The angular distance (radians) from a point to the great-circle arc from `a` to `b`.
fn distance_to_arc(point: [f64; 3], a: [f64; 3], b: [f64; 3]) -> f64 {
    let normal = cross(a, b);
    let length = dot(normal, normal).sqrt();
    if length > 0.0 {
        let n = [normal[0] / length, normal[1] / length, normal[2] / length];
        let height = dot(point, n);
        // The foot of the perpendicular, when it lies between a and b.
        let foot = [point[0] - height * n[0], point[1] - height * n[1], point[2] - height * n[2]];
        if dot(cross(a, foot), n) >= 0.0 && dot(cross(foot, b), n) >= 0.0 && dot(foot, foot) > 0.0 {
            return height.abs().clamp(0.0, 1.0).asin();
        }
    }
    angle(point, a).min(angle(point, b))
}

/// Whether the great-circle arcs a–b and c–d (each shorter than 180°) cross.
fn arcs_cross(a: [f64; 3], b: [f64; 3], c: [f64; 3], d: [f64; 3]) -> bool {
    let (ab, cd) = (cross(a, b), cross(c, d));
    let (side_c, side_d) = (dot(ab, c), dot(ab, d));
    let (side_a, side_b) = (dot(cd, a), dot(cd, b));
    if side_c * side_d >= 0.0 || side_a * side_b >= 0.0 {
        return false;
    }
    // Where each arc meets the other's great circle: the same point, not its antipode.
    let on_ab = [a[0] * side_b - b[0] * side_a, a[1] * side_b - b[1] * side_a, a[2] * side_b - b[2] * side_a];
    let on_cd = [c[0] * side_d - d[0] * side_c, c[1] * side_d - d[1] * side_c, c[2] * side_d - d[2] * side_c];
    dot(on_ab, on_cd) > 0.0
}

/// Whether a point lies inside a spherical polygon given by its vertices (great-circle
/// edges, either winding, convex or not): the edges wind once around it, in the polygon's
/// own direction. The angles are measured in the plane tangent at the point; that plane is
/// also the antipode's, around which the edges wind the other way, so the direction is
/// what tells the polygon from its mirror image on the far side.
fn in_polygon(point: [f64; 3], vertices: &[[f64; 3]]) -> bool {
    let around = winding(point, vertices);
    match orientation(vertices) {
        Some(direction) => around * direction > std::f64::consts::PI,
        None => around.abs() > std::f64::consts::PI,
    }
}

/// The polygon's direction (+1 counter-clockwise seen from outside the sphere, −1 the
/// other way): the sign of its area on the plane tangent at its middle (the gnomonic
/// projection keeps edges straight, so the shoelace sum holds for concave polygons too).
/// `None` when a vertex is 90° or more from the middle.
fn orientation(vertices: &[[f64; 3]]) -> Option<f64> {
    let sum = vertices.iter().fold([0.0; 3], |s, v| [s[0] + v[0], s[1] + v[1], s[2] + v[2]]);
    let norm = dot(sum, sum).sqrt();
    if norm < 1e-12 {
        return None;
    }
    let middle = [sum[0] / norm, sum[1] / norm, sum[2] / norm];
    let mut area = 0.0;
    for (a, b) in Region::edges(vertices) {
        let (along_a, along_b) = (dot(middle, a), dot(middle, b));
        if along_a <= 1e-12 || along_b <= 1e-12 {
            return None;
        }
        area += dot(middle, cross(a, b)) / (along_a * along_b);
    }
    (area != 0.0).then(|| area.signum())
}

/// The angle the polygon's edges turn around a point, seen in the plane tangent there.
fn winding(point: [f64; 3], vertices: &[[f64; 3]]) -> f64 {
    let tangent = |v: [f64; 3]| {
        let along = dot(v, point);
        [v[0] - along * point[0], v[1] - along * point[1], v[2] - along * point[2]]
    };
    let mut winding = 0.0;
    let mut previous = tangent(vertices[vertices.len() - 1]);
    for vertex in vertices {
        let current = tangent(*vertex);
        winding += dot(point, cross(previous, current)).atan2(dot(previous, current));
        previous = current;
    }
    winding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separations_in_the_vector_form() {
        assert!((separation_degrees(0.0, 0.0, 90.0, 0.0) - 90.0).abs() < 1e-12);
        assert!((separation_degrees(10.0, 89.0, 190.0, 89.0) - 2.0).abs() < 1e-9);
        let tiny = separation_degrees(10.0, 20.0, 10.0, 20.0 + 1e-9);
        // 20° + 1e-9° is itself only known to ~4e-15°.
        assert!((tiny - 1e-9).abs() < 1e-14, "{tiny}");
    }

    #[test]
    fn a_polygon_does_not_hold_its_mirror_image_on_the_far_side() {
        // Both windings, around (23°, +60.6°); the antipode (203°, −60.6°) is outside.
        for corners in [
            [(21.5, 59.8), (24.7, 59.8), (24.7, 61.4), (21.5, 61.4)],
            [(21.5, 61.4), (24.7, 61.4), (24.7, 59.8), (21.5, 59.8)],
        ] {
            let vertices: Vec<[f64; 3]> = corners.iter().map(|(ra, dec)| unit_vector(*ra, *dec)).collect();
            assert!(in_polygon(unit_vector(23.1, 60.6), &vertices));
            assert!(!in_polygon(unit_vector(203.1, -60.6), &vertices));
            assert!(!in_polygon(unit_vector(30.0, 60.6), &vertices));
        }
        // A concave L, whose middle is on its edge.
        let l_shape: Vec<[f64; 3]> = [(10.0, 0.0), (14.0, 0.0), (14.0, 2.0), (12.0, 2.0), (12.0, 6.0), (10.0, 6.0)]
            .iter()
            .map(|(ra, dec)| unit_vector(*ra, *dec))
            .collect();
        assert!(in_polygon(unit_vector(11.0, 4.0), &l_shape));
        assert!(in_polygon(unit_vector(13.0, 1.0), &l_shape));
        assert!(!in_polygon(unit_vector(13.0, 4.0), &l_shape));
        assert!(!in_polygon(unit_vector(191.0, -4.0), &l_shape));
    }

    #[test]
    fn boxes_and_polygons_contain_their_insides() {
        assert!(in_box(10.5, 20.2, 10.0, 20.0, 2.0, 1.0));
        assert!(!in_box(10.0, 20.6, 10.0, 20.0, 2.0, 1.0));
        let square = [unit_vector(0.0, 0.0), unit_vector(2.0, 0.0), unit_vector(2.0, 2.0), unit_vector(0.0, 2.0)];
        assert!(in_polygon(unit_vector(1.0, 1.0), &square));
        let mut reversed = square;
        reversed.reverse();
        assert!(in_polygon(unit_vector(1.0, 1.0), &reversed), "either winding");
        assert!(!in_polygon(unit_vector(3.0, 1.0), &square));
    }
}
