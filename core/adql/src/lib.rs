//! ADQL 2.1 for Skyglass: parsing and checking (only one SELECT ever runs), translation to
//! the SQL DataFusion plans, the geometry and unit functions as vectorised DataFusion UDFs,
//! and the ADQL the app writes for its users, with names delimited where ADQL needs it
//! (`build`).

pub mod build;
pub mod geometry;
pub mod translate;
pub mod units;

pub use geometry::{geometry_udfs, separation_degrees};
pub use translate::{AdqlError, translate};
pub use units::in_unit_udf;

/// Every function translated queries call; register them on each session that runs ADQL.
pub fn functions() -> Vec<datafusion::logical_expr::ScalarUDF> {
    let mut functions = geometry_udfs();
    functions.push(in_unit_udf());
    functions
}
