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
    [Kind::Distance, Kind::InCircle, Kind::InBox, Kind::InPolygon]
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
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Distance => DISTANCE,
            Kind::InCircle => IN_CIRCLE,
            Kind::InBox => IN_BOX,
            Kind::InPolygon => IN_POLYGON,
        }
    }
}

pub(crate) const DISTANCE: &str = "adql_distance";
pub(crate) const IN_CIRCLE: &str = "adql_in_circle";
pub(crate) const IN_BOX: &str = "adql_in_box";
pub(crate) const IN_POLYGON: &str = "adql_in_polygon";

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
            Kind::InPolygon => Signature::variadic(vec![DataType::Float64], Volatility::Immutable),
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
            Kind::Distance => DataType::Float64,
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
        let result: ArrayRef =
            match self.kind {
                Kind::Distance => Arc::new(Float64Array::from_iter((0..rows).map(|row| {
                    Some(separation_degrees(value(0, row)?, value(1, row)?, value(2, row)?, value(3, row)?))
                }))),
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
    // The box's corners as a polygon, through the centre's local east and north.
    let centre = unit_vector(ra0, dec0);
    let (sin_ra, cos_ra) = ra0.to_radians().sin_cos();
    let (sin_dec, cos_dec) = dec0.to_radians().sin_cos();
    let east = [-sin_ra, cos_ra, 0.0];
    let north = [-sin_dec * cos_ra, -sin_dec * sin_ra, cos_dec];
    let (half_w, half_h) = ((width / 2.0).to_radians().tan(), (height / 2.0).to_radians().tan());
    let corner = |e: f64, n: f64| {
        let v = [
            centre[0] + e * east[0] + n * north[0],
            centre[1] + e * east[1] + n * north[1],
            centre[2] + e * east[2] + n * north[2],
        ];
        let norm = dot(v, v).sqrt();
        [v[0] / norm, v[1] / norm, v[2] / norm]
    };
    let corners = [corner(half_w, -half_h), corner(half_w, half_h), corner(-half_w, half_h), corner(-half_w, -half_h)];
    in_polygon(unit_vector(ra, dec), &corners)
}

/// Whether a point lies inside a spherical polygon given by its vertices (great-circle
/// edges, either winding, smaller than a hemisphere): on the same side of every edge.
fn in_polygon(point: [f64; 3], vertices: &[[f64; 3]]) -> bool {
    let n = vertices.len();
    let mut sign = 0.0;
    for i in 0..n {
        let side = dot(cross(vertices[i], vertices[(i + 1) % n]), point);
        if side == 0.0 {
            continue;
        }
        if sign == 0.0 {
            sign = side.signum();
        } else if side.signum() != sign {
            return false;
        }
    }
    true
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
