//! The Skyglass archive: a user's catalogues as Parquet under one data directory, queried
//! in ADQL through DataFusion, served over TAP (`tap`). Used by `skyglass serve` and
//! `skyglass ingest`, and started in-process by the app.

pub mod access;
pub mod auth;
pub mod executor;
pub mod ingest;
pub mod jobs;
pub mod query;
pub mod spatial;
pub mod spatial_join;
pub mod store;
pub mod tap;
pub mod tapplus;
pub mod timeseries;
pub mod tls;
pub mod user_tables;
pub mod users;
pub mod uws;
pub mod xmatch_service;

pub use ingest::{HEALPIX_COLUMN, IngestError, IngestOptions, IngestReport, Mode};
pub use query::{QueryError, QueryResult};
pub use store::{Archive, ArchiveError, ColumnInfo, TableInfo, TableName};
pub use users::LoginError;
