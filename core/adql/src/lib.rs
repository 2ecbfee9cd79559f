//! ADQL 2.1 for Skyglass: parsing and checking (only one SELECT ever runs), translation to
//! the SQL DataFusion plans, and the geometry functions as vectorised DataFusion UDFs.

pub mod geometry;
pub mod translate;

pub use geometry::{geometry_udfs, separation_degrees};
pub use translate::{AdqlError, translate};
