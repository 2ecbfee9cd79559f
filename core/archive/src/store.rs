//! The archive's state under one data directory: `archive.sqlite` (what tables exist and
//! their column metadata), `tables/SCHEMA/NAME.parquet`, and a DataFusion session that
//! sees every table, TAP_SCHEMA included, under its ADQL name.

use crate::ingest::{self, IngestError, IngestOptions, IngestReport};
use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::{ParquetReadOptions, SessionConfig};
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("archive metadata: {0}")]
    Metadata(#[from] rusqlite::Error),
    #[error("query engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("cannot read {0}")]
    Read(String),
    #[error("{0:?} is not a table name: use SCHEMA.NAME, letters, digits and _ (TAP_SCHEMA is the archive's own)")]
    BadTableName(String),
    #[error("no table {0}")]
    NoSuchTable(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Quota(#[from] crate::quota::QuotaError),
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
}

/// A table as TAP_SCHEMA describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    pub description: String,
    pub rows: u64,
    pub columns: Vec<ColumnInfo>,
}

impl TableInfo {
    /// `schema.name`, as ADQL writes it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// The VOTable datatype (`double`, `int`, `char`, …) and arraysize (`*` for strings).
    pub datatype: String,
    pub arraysize: Option<String>,
    pub unit: String,
    pub ucd: String,
    pub description: String,
    /// Whether the column is indexed (the position columns of a HEALPix-sorted table).
    pub indexed: bool,
    pub principal: bool,
}

/// A validated `SCHEMA.NAME`, lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    pub schema: String,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Result<TableName, ArchiveError> {
        let bad = || ArchiveError::BadTableName(text.to_owned());
        let (schema, name) = text.trim().split_once('.').ok_or_else(bad)?;
        let valid = |part: &str| {
            !part.is_empty()
                && part.len() <= 64
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        };
        let (schema, name) = (schema.to_ascii_lowercase(), name.to_ascii_lowercase());
        if !valid(&schema) || !valid(&name) || schema == "tap_schema" || schema == "tap_upload" {
            return Err(bad());
        }
        Ok(TableName { schema, name })
    }

    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// The archive: metadata, files and the query engine.
pub struct Archive {
    root: PathBuf,
    db: Mutex<Connection>,
    ctx: SessionContext,
    executor: crate::executor::Executor,
    /// Counts changes to the tables and their sharing: a kept session of an older count is
    /// stale.
    generation: AtomicU64,
    /// Sessions of users who read users' tables, with the generation they were made at.
    sessions: Mutex<HashMap<String, (u64, SessionContext)>>,
    /// SQLite's data_version when the tables were last registered: it moves when another
    /// process (`skyglass ingest` beside a running server) commits to the metadata.
    seen_data_version: AtomicU64,
}

impl Archive {
    /// Opens (creating if needed) the archive in `root`.
    pub async fn open(root: &Path) -> Result<Archive, ArchiveError> {
        let io = |source, path: &Path| ArchiveError::Io { path: path.display().to_string(), source };
        std::fs::create_dir_all(root.join("tables")).map_err(|e| io(e, root))?;
        let mut db = Connection::open(root.join("archive.sqlite"))?;
        crate::schema::migrate(&mut db)?;
        let config =
            SessionConfig::new().with_information_schema(false).with_default_catalog_and_schema("datafusion", "public");
        let ctx = crate::spatial_join::adql_session(config);
        let executor = crate::executor::Executor::new().map_err(|e| io(e, root))?;
        let archive = Archive {
            root: root.to_path_buf(),
            db: Mutex::new(db),
            ctx,
            executor,
            generation: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
            seen_data_version: AtomicU64::new(0),
        };
        archive.remove_orphans()?;
        archive.register_all().await?;
        Ok(archive)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// The runtime queries run on, apart from the service's.
    pub fn executor(&self) -> &crate::executor::Executor {
        &self.executor
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The metadata database, for the archive's other stores (UWS jobs).
    pub fn metadata(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db()
    }

    /// The tables anyone may read, TAP_SCHEMA's own first (see [`Archive::tables_for`] for
    /// a user's).
    pub fn tables(&self) -> Result<Vec<TableInfo>, ArchiveError> {
        self.tables_for(None)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Who reads what has changed: sessions kept for users are stale.
    pub(crate) fn access_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    pub(crate) fn cached_session(&self, user: &str, generation: u64) -> Option<SessionContext> {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.get(user).filter(|(made, _)| *made == generation).map(|(_, session)| session.clone())
    }

    pub(crate) fn keep_session(&self, user: &str, generation: u64, session: SessionContext) {
        if self.generation() == generation {
            self.sessions.lock().unwrap_or_else(PoisonError::into_inner).insert(user.to_owned(), (generation, session));
        }
    }

    /// Table files that no metadata names (a write or rename cut short by a crash) and
    /// unfinished writes: removed, so that a table is whole or absent; shares of tables
    /// that are gone, too.
    fn remove_orphans(&self) -> Result<(), ArchiveError> {
        self.db().execute_batch(
            "DELETE FROM shared_items WHERE NOT EXISTS \
               (SELECT 1 FROM tables t WHERE t.schema = shared_items.schema AND t.name = shared_items.name);
             DELETE FROM share_targets WHERE item_id NOT IN (SELECT id FROM shared_items);",
        )?;
        let known: std::collections::HashSet<PathBuf> = self
            .stored_tables()?
            .iter()
            .map(|t| self.parquet_path(&TableName { schema: t.schema.clone(), name: t.name.clone() }))
            .collect();
        let Ok(schemas) = std::fs::read_dir(self.root.join("tables")) else { return Ok(()) };
        for schema in schemas.flatten() {
            let Ok(files) = std::fs::read_dir(schema.path()) else { continue };
            for file in files.flatten() {
                let path = file.path();
                let table_file = path.extension().is_some_and(|e| e == "parquet");
                let partial = path.to_string_lossy().ends_with(".partial");
                if (table_file && !known.contains(&path)) || partial {
                    tracing::warn!(file = %path.display(), "removing a table file no table owns");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(())
    }

    /// Every stored table, whoever may read it.
    pub(crate) fn stored_tables(&self) -> Result<Vec<TableInfo>, ArchiveError> {
        let db = self.db();
        let mut statement = db.prepare("SELECT schema, name, description, rows FROM tables ORDER BY schema, name")?;
        let rows: Vec<(String, String, String, i64)> =
            statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
        let mut columns = db.prepare(
            "SELECT name, datatype, arraysize, unit, ucd, description, indexed FROM columns \
             WHERE schema = ?1 AND table_name = ?2 ORDER BY position",
        )?;
        let mut tables = Vec::with_capacity(rows.len());
        for (schema, name, description, count) in rows {
            let cols = columns
                .query_map(params![schema, name], |r| {
                    Ok(ColumnInfo {
                        name: r.get(0)?,
                        datatype: r.get(1)?,
                        arraysize: r.get(2)?,
                        unit: r.get(3)?,
                        ucd: r.get(4)?,
                        description: r.get(5)?,
                        indexed: r.get::<_, i64>(6)? != 0,
                        principal: true,
                    })
                })?
                .collect::<Result<_, _>>()?;
            tables.push(TableInfo { schema, name, description, rows: count.max(0) as u64, columns: cols });
        }
        Ok(tables)
    }

    /// Where a table's rows are stored.
    pub(crate) fn parquet_path(&self, table: &TableName) -> PathBuf {
        self.root.join("tables").join(&table.schema).join(format!("{}.parquet", table.name))
    }

    /// Ingests a table (see [`IngestOptions`] for replacing and appending).
    pub async fn ingest(
        &self,
        data: &skyglass_votable::TableData,
        table: &TableName,
        options: &IngestOptions,
    ) -> Result<IngestReport, ArchiveError> {
        let exists = self.stored_tables()?.iter().any(|t| t.schema == table.schema && t.name == table.name);
        let path = self.parquet_path(table);
        let (report, columns) = ingest::write_table(data, &path, exists, options)?;
        let recorded = (|| -> Result<(), ArchiveError> {
            let mut db = self.db();
            let transaction = db.transaction()?;
            transaction.execute(
                "DELETE FROM columns WHERE schema = ?1 AND table_name = ?2",
                params![table.schema, table.name],
            )?;
            transaction
                .execute("DELETE FROM tables WHERE schema = ?1 AND name = ?2", params![table.schema, table.name])?;
            let (ra, dec) = report.position.clone().unzip();
            transaction.execute(
                "INSERT INTO tables (schema, name, description, rows, ra, dec) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    table.schema,
                    table.name,
                    options.description.clone().unwrap_or_default(),
                    report.rows as i64,
                    ra,
                    dec
                ],
            )?;
            for (position, column) in columns.iter().enumerate() {
                transaction.execute(
                    "INSERT INTO columns (schema, table_name, position, name, datatype, arraysize, unit, ucd, description, indexed) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        table.schema,
                        table.name,
                        position as i64,
                        column.name,
                        column.datatype,
                        column.arraysize,
                        column.unit,
                        column.ucd,
                        column.description,
                        i64::from(column.indexed)
                    ],
                )?;
            }
            transaction.commit()?;
            Ok(())
        })();
        if let Err(error) = recorded {
            // A new table's file must not outlive its failed metadata.
            if !exists {
                let _ = std::fs::remove_file(&path);
            }
            return Err(error);
        }
        self.register_all().await?;
        Ok(report)
    }

    /// The tables sorted by a HEALPix index, with their (RA, Dec) columns.
    pub fn indexed_tables(&self) -> Result<crate::spatial::IndexedTables, ArchiveError> {
        let db = self.db();
        let mut statement =
            db.prepare("SELECT schema, name, ra, dec, rows FROM tables WHERE ra IS NOT NULL AND dec IS NOT NULL")?;
        let rows = statement.query_map([], |r| {
            let table =
                crate::spatial::IndexedTable { ra: r.get(2)?, dec: r.get(3)?, rows: r.get::<_, i64>(4)?.max(0) as u64 };
            Ok((format!("{}.{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?), table))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// On a new archive, ingests the sample tables bundled with Skyglass (Hipparcos, OpenNGC,
    /// the Bright Star Catalogue, an ObsCore sample), once: dropping them later is respected.
    pub async fn ensure_samples(&self) -> Result<(), ArchiveError> {
        let done: Option<String> =
            self.db().query_row("SELECT value FROM settings WHERE key = 'samples'", [], |r| r.get(0)).ok();
        if done.as_deref() == Some(SAMPLES_VERSION) {
            return Ok(());
        }
        // An archive made by an earlier version gets the samples added since, and keeps the
        // others as its owner left them (a dropped sample stays dropped).
        let earlier = done.is_some();
        for (schema, name, description, bytes, since) in SAMPLES {
            if earlier && *since == "1" {
                continue;
            }
            let mut votable = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(*bytes), &mut votable)
                .map_err(|source| ArchiveError::Io { path: format!("bundled {name}"), source })?;
            let data =
                skyglass_votable::read_table(std::io::Cursor::new(votable), skyglass_votable::TableFormat::VoTable)
                    .map_err(|e| ArchiveError::Read(format!("bundled {name}: {e}")))?;
            let table = TableName { schema: (*schema).to_owned(), name: (*name).to_owned() };
            let options = IngestOptions {
                description: Some((*description).to_owned()),
                mode: crate::ingest::Mode::Replace,
                ..IngestOptions::default()
            };
            self.ingest(&data, &table, &options).await?;
        }
        self.db()
            .execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('samples', ?1)", params![SAMPLES_VERSION])?;
        Ok(())
    }

    /// Drops a table: its metadata and its file.
    pub async fn drop_table(&self, table: &TableName) -> Result<(), ArchiveError> {
        let removed = {
            let mut db = self.db();
            let transaction = db.transaction()?;
            let (schema, name) = (&table.schema, &table.name);
            transaction.execute("DELETE FROM columns WHERE schema = ?1 AND table_name = ?2", params![schema, name])?;
            let removed =
                transaction.execute("DELETE FROM tables WHERE schema = ?1 AND name = ?2", params![schema, name])?;
            // Its sharing goes with it, at once: a later table of the name starts unshared.
            crate::access::forget_shares_of(&transaction, table)?;
            transaction.commit()?;
            removed
        };
        if removed == 0 {
            return Err(ArchiveError::NoSuchTable(table.qualified()));
        }
        let path = self.parquet_path(table);
        let _ = std::fs::remove_file(&path);
        self.register_all().await
    }

    /// (Re)registers the public tables and TAP_SCHEMA with the shared session; users'
    /// tables get sessions of their own ([`Archive::session_for`]).
    /// Tables another process changed (ingested, replaced, dropped beside a running server)
    /// are registered again, so queries see them at once; says whether anything changed.
    /// Cheap when nothing did: one PRAGMA, skipped when the database is busy.
    pub async fn pick_up_outside_changes(&self) -> Result<bool, ArchiveError> {
        // Every query asks, on the runtime's threads: never wait for the database here. When
        // it is busy, the next query looks.
        let version: i64 = match self.db.try_lock() {
            Ok(db) => db.query_row("PRAGMA data_version", [], |row| row.get(0))?,
            Err(std::sync::TryLockError::Poisoned(db)) => {
                db.into_inner().query_row("PRAGMA data_version", [], |row| row.get(0))?
            }
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        let version = version as u64;
        if self.seen_data_version.load(Ordering::Acquire) == version {
            return Ok(false);
        }
        tracing::info!("the archive's tables changed outside this server: registering them again");
        self.register_all().await?;
        Ok(true)
    }

    pub(crate) async fn register_all(&self) -> Result<(), ArchiveError> {
        // Read first: a change committed while registering is picked up by the next query.
        let version: i64 = self.db().query_row("PRAGMA data_version", [], |row| row.get(0))?;
        self.seen_data_version.store(version as u64, Ordering::Release);
        self.access_changed();
        let tables: Vec<TableInfo> =
            self.stored_tables()?.into_iter().filter(|t| crate::access::owner_of(&t.schema).is_none()).collect();
        let catalog = self
            .ctx
            .catalog("datafusion")
            .ok_or_else(|| datafusion::error::DataFusionError::Plan("no default catalog".into()))?;
        let mut schemas: Vec<String> = tables.iter().map(|t| t.schema.clone()).collect();
        schemas.sort();
        schemas.dedup();
        // Schemas whose last table went (dropped by another process) go too, tables and all.
        for gone in catalog.schema_names() {
            if !schemas.contains(&gone) && gone != "public" && gone != "tap_schema" {
                catalog.deregister_schema(&gone, true)?;
            }
        }
        for schema in &schemas {
            catalog.register_schema(schema, Arc::new(MemorySchemaProvider::new()))?;
        }
        for table in &tables {
            let name = TableName { schema: table.schema.clone(), name: table.name.clone() };
            let path = self.parquet_path(&name);
            let path_text = path.to_string_lossy().into_owned();
            self.ctx
                .register_parquet(
                    datafusion::common::TableReference::partial(table.schema.as_str(), table.name.as_str()),
                    &path_text,
                    ParquetReadOptions::default().skip_metadata(false),
                )
                .await?;
        }
        let all: Vec<TableInfo> = tap_schema_tables().into_iter().chain(tables).collect();
        catalog.register_schema("tap_schema", tap_schema_provider(&all)?)?;
        Ok(())
    }
}

/// TAP_SCHEMA describing `tables`, as a schema of the query engine.
pub(crate) fn tap_schema_provider(tables: &[TableInfo]) -> Result<Arc<MemorySchemaProvider>, ArchiveError> {
    let tap_schema = Arc::new(MemorySchemaProvider::new());
    for (name, batch) in tap_schema_batches(tables)? {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        tap_schema.register_table(name.to_owned(), Arc::new(table))?;
    }
    Ok(tap_schema)
}

/// The sample tables: schema, name, description, gzipped VOTable (assets/catalogs, credited
/// in assets/CREDITS.md), and the samples version that brought it.
const SAMPLES: &[(&str, &str, &str, &[u8], &str)] = &[
    (
        "catalogs",
        "hipparcos",
        "Hipparcos, the new reduction (van Leeuwen 2007, A&A 474, 653; CDS I/311): 117,955 stars",
        include_bytes!("../../../assets/catalogs/hipparcos.vot.gz"),
        "1",
    ),
    (
        "catalogs",
        "openngc",
        "OpenNGC (Mattia Verga; CC-BY-SA-4.0): NGC, IC, Messier and other notable objects",
        include_bytes!("../../../assets/catalogs/openngc.vot.gz"),
        "1",
    ),
    (
        "catalogs",
        "bsc5",
        "The Yale Bright Star Catalogue, 5th revised edition (Hoffleit & Warren 1991; CDS V/50)",
        include_bytes!("../../../assets/catalogs/bsc5.vot.gz"),
        "1",
    ),
    (
        "ivoa",
        "obscore",
        "ObsCore sample: 51 observations (ALMA, ASKAP, HST, HLA, GALEX, Carte du Ciel) with their footprints, from real archive answers",
        include_bytes!("../../../assets/catalogs/obscore.vot.gz"),
        "2",
    ),
];

/// The samples' version: an archive holding an earlier one gets the newer samples.
const SAMPLES_VERSION: &str = "2";

/// A foreign key: id, from table, from column, target table, target column.
pub type ForeignKey = (&'static str, &'static str, &'static str, &'static str, &'static str);

/// TAP_SCHEMA's own foreign keys (TAP 1.1, section 4).
pub const TAP_SCHEMA_KEYS: &[ForeignKey] = &[
    ("tables_schema", "TAP_SCHEMA.tables", "schema_name", "TAP_SCHEMA.schemas", "schema_name"),
    ("columns_table", "TAP_SCHEMA.columns", "table_name", "TAP_SCHEMA.tables", "table_name"),
    ("keys_from", "TAP_SCHEMA.keys", "from_table", "TAP_SCHEMA.tables", "table_name"),
    ("keys_target", "TAP_SCHEMA.keys", "target_table", "TAP_SCHEMA.tables", "table_name"),
    ("key_columns_key", "TAP_SCHEMA.key_columns", "key_id", "TAP_SCHEMA.keys", "key_id"),
];

fn text_column(name: &str, description: &str, arraysize: bool) -> ColumnInfo {
    ColumnInfo {
        name: name.to_owned(),
        datatype: "char".to_owned(),
        arraysize: arraysize.then(|| "*".to_owned()),
        unit: String::new(),
        ucd: String::new(),
        description: description.to_owned(),
        indexed: false,
        principal: true,
    }
}

fn int_column(name: &str, description: &str) -> ColumnInfo {
    ColumnInfo { datatype: "int".to_owned(), arraysize: None, ..text_column(name, description, false) }
}

/// TAP_SCHEMA's own five tables, as TAP 1.1 defines them.
pub(crate) fn tap_schema_tables() -> Vec<TableInfo> {
    let table = |name: &str, description: &str, columns: Vec<ColumnInfo>| TableInfo {
        schema: "TAP_SCHEMA".to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        rows: 0,
        columns,
    };
    vec![
        table(
            "schemas",
            "The schemas of this service",
            vec![
                text_column("schema_name", "schema name for reference to tap_schema.schemas", true),
                text_column("utype", "lists the utypes of schemas", true),
                text_column("description", "describes schemas in the tableset", true),
                int_column("schema_index", "recommended sort order when listing schemas"),
            ],
        ),
        table(
            "tables",
            "The tables of this service",
            vec![
                text_column("schema_name", "the schema this table belongs to", true),
                text_column("table_name", "the fully qualified table name", true),
                text_column("table_type", "one of: table view", true),
                text_column("utype", "lists the utype of tables in the tableset", true),
                text_column("description", "describes tables in the tableset", true),
                int_column("table_index", "recommended sort order when listing tables"),
            ],
        ),
        table(
            "columns",
            "The columns of the tables of this service",
            vec![
                text_column("table_name", "the table this column belongs to", true),
                text_column("column_name", "the column name", true),
                text_column("datatype", "lists the ADQL datatype of columns in the tableset", true),
                text_column("arraysize", "lists the size of variable-length columns in the tableset", true),
                int_column("\"size\"", "deprecated: use arraysize"),
                text_column("description", "describes the columns in the tableset", true),
                text_column("utype", "lists the utypes of columns in the tableset", true),
                text_column("unit", "lists the unit used for column values in the tableset", true),
                text_column("ucd", "lists the UCDs of columns in the tableset", true),
                int_column("indexed", "an indexed column; 1 means true, 0 means false"),
                int_column("principal", "a principal column; 1 means true, 0 means false"),
                int_column("std", "a standard column; 1 means true, 0 means false"),
                int_column("column_index", "recommended sort order when listing columns of a table"),
                text_column("xtype", "a DALI or custom extended type annotation", true),
            ],
        ),
        table(
            "keys",
            "Foreign keys between the tables of this service",
            vec![
                text_column("key_id", "unique key to join to tap_schema.key_columns", true),
                text_column("from_table", "the table with the foreign key", true),
                text_column("target_table", "the table with the primary key", true),
                text_column("utype", "lists the utype of keys in the tableset", true),
                text_column("description", "describes keys in the tableset", true),
            ],
        ),
        table(
            "key_columns",
            "The columns of the foreign keys of this service",
            vec![
                text_column("key_id", "key to join to tap_schema.keys", true),
                text_column("from_column", "column in the from_table", true),
                text_column("target_column", "column in the target_table", true),
            ],
        ),
    ]
}

/// The contents of TAP_SCHEMA's tables for `tables`.
fn tap_schema_batches(tables: &[TableInfo]) -> Result<Vec<(&'static str, RecordBatch)>, ArchiveError> {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let int = |name: &str| Field::new(name, DataType::Int32, true);
    let strings = |values: Vec<Option<String>>| Arc::new(StringArray::from(values)) as ArrayRef;
    let ints = |values: Vec<i32>| Arc::new(Int32Array::from(values)) as ArrayRef;
    let batch = |fields: Vec<Field>, columns: Vec<ArrayRef>| -> Result<RecordBatch, ArchiveError> {
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        Ok(RecordBatch::try_new(schema, columns).map_err(datafusion::error::DataFusionError::from)?)
    };

    let mut schema_names: Vec<String> = tables.iter().map(|t| t.schema.clone()).collect();
    schema_names.dedup();
    let schemas = batch(
        vec![text("schema_name"), text("utype"), text("description"), int("schema_index")],
        vec![
            strings(schema_names.iter().cloned().map(Some).collect()),
            strings(vec![None; schema_names.len()]),
            strings(
                schema_names
                    .iter()
                    .map(|s| Some(if s == "TAP_SCHEMA" { "The TAP metadata".into() } else { String::new() }))
                    .collect(),
            ),
            ints((0..schema_names.len() as i32).collect()),
        ],
    )?;
    let table_rows = batch(
        vec![
            text("schema_name"),
            text("table_name"),
            text("table_type"),
            text("utype"),
            text("description"),
            int("table_index"),
        ],
        vec![
            strings(tables.iter().map(|t| Some(t.schema.clone())).collect()),
            strings(tables.iter().map(|t| Some(t.qualified())).collect()),
            strings(vec![Some("table".into()); tables.len()]),
            strings(vec![None; tables.len()]),
            strings(tables.iter().map(|t| Some(t.description.clone())).collect()),
            ints((0..tables.len() as i32).collect()),
        ],
    )?;
    let columns: Vec<(&TableInfo, usize, &ColumnInfo)> =
        tables.iter().flat_map(|t| t.columns.iter().enumerate().map(move |(i, c)| (t, i, c))).collect();
    let column_rows = batch(
        vec![
            text("table_name"),
            text("column_name"),
            text("datatype"),
            text("arraysize"),
            int("size"),
            text("description"),
            text("utype"),
            text("unit"),
            text("ucd"),
            int("indexed"),
            int("principal"),
            int("std"),
            int("column_index"),
            text("xtype"),
        ],
        vec![
            strings(columns.iter().map(|(t, _, _)| Some(t.qualified())).collect()),
            strings(columns.iter().map(|(_, _, c)| Some(c.name.clone())).collect()),
            strings(columns.iter().map(|(_, _, c)| Some(c.datatype.clone())).collect()),
            strings(columns.iter().map(|(_, _, c)| c.arraysize.clone()).collect()),
            Arc::new(Int32Array::from(vec![None::<i32>; columns.len()])),
            strings(columns.iter().map(|(_, _, c)| Some(c.description.clone())).collect()),
            strings(vec![None; columns.len()]),
            strings(columns.iter().map(|(_, _, c)| Some(c.unit.clone())).collect()),
            strings(columns.iter().map(|(_, _, c)| Some(c.ucd.clone())).collect()),
            ints(columns.iter().map(|(_, _, c)| i32::from(c.indexed)).collect()),
            ints(columns.iter().map(|(_, _, c)| i32::from(c.principal)).collect()),
            ints(columns.iter().map(|(t, _, _)| i32::from(t.schema == "TAP_SCHEMA")).collect()),
            ints(columns.iter().map(|(_, i, _)| *i as i32).collect()),
            strings(vec![None; columns.len()]),
        ],
    )?;
    const KEYS: &[ForeignKey] = TAP_SCHEMA_KEYS;
    let each =
        |pick: fn(&ForeignKey) -> &'static str| strings(KEYS.iter().map(|key| Some(pick(key).to_owned())).collect());
    let keys = batch(
        vec![text("key_id"), text("from_table"), text("target_table"), text("utype"), text("description")],
        vec![
            each(|k| k.0),
            each(|k| k.1),
            each(|k| k.3),
            strings(vec![None; KEYS.len()]),
            strings(vec![None; KEYS.len()]),
        ],
    )?;
    let key_columns = batch(
        vec![text("key_id"), text("from_column"), text("target_column")],
        vec![each(|k| k.0), each(|k| k.2), each(|k| k.4)],
    )?;
    Ok(vec![
        ("schemas", schemas),
        ("tables", table_rows),
        ("columns", column_rows),
        ("keys", keys),
        ("key_columns", key_columns),
    ])
}
