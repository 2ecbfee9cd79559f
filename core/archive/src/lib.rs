//! The Skyglass archive: a user's catalogues as Parquet under one data directory, queried
//! in ADQL through DataFusion, served over TAP (`http`). Used by `skyglass serve` and
//! `skyglass ingest`, and started in-process by the app.
//!
//! How the parts fit: `store` holds the data directory (metadata in SQLite, whose layout
//! `schema` migrates, tables as Parquet) and the query engine; `query` runs ADQL on it under
//! limits, `access` decides who reads what, `quota` what each may keep; `jobs` keeps UWS
//! jobs; `ingest`, `user_tables`, `xmatch_service` and `timeseries` are what the archive
//! does with tables; `http` is the only part that knows HTTP.

pub mod access;
pub mod executor;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod outbound;
pub mod query;
pub mod quota;
pub mod schema;
pub mod spatial;
pub mod spatial_join;
pub mod store;
pub mod timeseries;
pub mod user_tables;
pub mod users;
pub mod xmatch_service;

pub use ingest::{HEALPIX_COLUMN, IngestError, IngestOptions, IngestReport, Mode};
pub use query::{QueryError, QueryResult};
pub use store::{Archive, ArchiveError, ColumnInfo, TableInfo, TableName};
pub use users::LoginError;
