//! Users' own tables, in their schema `user_<name>`: uploaded (VOTable, CSV, FITS, Parquet,
//! or a job's result), described, renamed, given position columns, deleted; within quotas.
//! Every change is whole or not at all: files are written aside and renamed, metadata
//! changes in one transaction, and what a crash leaves behind is swept when the archive opens.

use crate::access::{owner_of, user_schema};
use crate::ingest::{IngestOptions, IngestReport, Mode};
use crate::quota::Holder;
use crate::store::{Archive, ArchiveError, TableInfo, TableName};
use rusqlite::params;
use skyglass_votable::{TableData, TableFormat};

/// Reads an uploaded table, its format from `format` (`votable`, `csv`, `fits`, `parquet`,
/// `ecsv`; anything else, or none, means: look at the bytes). Gzipped input is unpacked.
pub fn read_upload(bytes: Vec<u8>, format: Option<&str>) -> Result<TableData, ArchiveError> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut unpacked = Vec::new();
        let limit = unpacked_limit(bytes.len() as u64);
        std::io::Read::read_to_end(
            &mut std::io::Read::take(flate2::read::GzDecoder::new(bytes.as_slice()), limit + 1),
            &mut unpacked,
        )
        .map_err(|e| ArchiveError::Read(format!("the upload: not readable gzip: {e}")))?;
        if unpacked.len() as u64 > limit {
            return Err(ArchiveError::Read(format!("the upload unpacks to more than {} MiB", limit >> 20)));
        }
        unpacked
    } else {
        bytes
    };
    let format = named_format(format).unwrap_or_else(|| sniff(&bytes));
    skyglass_votable::read_table(std::io::Cursor::new(bytes), format)
        .map_err(|e| ArchiveError::Read(format!("the upload: {e}")))
}

/// A file an upload is spooled to while it arrives, removed when dropped. It lies where
/// `Archive::open` sweeps unfinished writes, so a crash leaves nothing either.
pub struct SpooledFile {
    path: std::path::PathBuf,
    file: Option<tokio::fs::File>,
    pub bytes: u64,
}

impl SpooledFile {
    pub async fn create(archive: &Archive) -> Result<SpooledFile, ArchiveError> {
        let folder = archive.root().join("tables").join(SPOOL_FOLDER);
        let io = |source| ArchiveError::Io { path: folder.display().to_string(), source };
        tokio::fs::create_dir_all(&folder).await.map_err(io)?;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| ArchiveError::Invalid(format!("no randomness: {e}")))?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = folder.join(format!("{name}.partial"));
        let file = tokio::fs::File::create(&path).await.map_err(io)?;
        Ok(SpooledFile { path, file: Some(file), bytes: 0 })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), ArchiveError> {
        use tokio::io::AsyncWriteExt as _;
        let io = |source| ArchiveError::Io { path: "an upload's spool".to_owned(), source };
        if let Some(file) = &mut self.file {
            file.write_all(chunk).await.map_err(io)?;
        }
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    /// Reads the spooled table (see [`read_upload`]), off the async runtime.
    pub async fn read(mut self, format: Option<String>) -> Result<TableData, ArchiveError> {
        use tokio::io::AsyncWriteExt as _;
        if let Some(mut file) = self.file.take() {
            file.flush().await.map_err(|source| ArchiveError::Io { path: "an upload's spool".to_owned(), source })?;
        }
        tokio::task::spawn_blocking(move || read_upload_file(&self.path, format.as_deref()))
            .await
            .map_err(|e| ArchiveError::Read(format!("the upload: {e}")))?
    }
}

impl Drop for SpooledFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where uploads are spooled, among the schemas' folders (no schema has this name: it is
/// not an identifier).
const SPOOL_FOLDER: &str = ".uploads";

/// [`read_upload`] of a file, which is read as it is (gzip unpacked beside it first).
pub fn read_upload_file(path: &std::path::Path, format: Option<&str>) -> Result<TableData, ArchiveError> {
    use std::io::Read as _;
    let io = |source| ArchiveError::Io { path: "an upload's spool".to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(256);
    (&mut file).take(2).read_to_end(&mut head).map_err(io)?;
    std::io::Seek::rewind(&mut file).map_err(io)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let unpacked = path.with_extension("unpacked.partial");
        let result = (|| {
            let mut out = std::fs::File::create(&unpacked).map_err(io)?;
            let limit = unpacked_limit(std::fs::metadata(path).map_err(io)?.len());
            let copied = std::io::copy(&mut flate2::read::GzDecoder::new(file).take(limit + 1), &mut out)
                .map_err(|e| ArchiveError::Read(format!("the upload: not readable gzip: {e}")))?;
            if copied > limit {
                return Err(ArchiveError::Read(format!("the upload unpacks to more than {} MiB", limit >> 20)));
            }
            drop(out);
            // One layer only: gzip within gzip is no table.
            read_plain_file(&unpacked, format)
        })();
        let _ = std::fs::remove_file(&unpacked);
        return result;
    }
    read_plain_file(path, format)
}

/// A file read as a table as it is (no unpacking).
fn read_plain_file(path: &std::path::Path, format: Option<&str>) -> Result<TableData, ArchiveError> {
    use std::io::Read as _;
    let io = |source| ArchiveError::Io { path: "an upload's spool".to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(256);
    (&mut file).take(256).read_to_end(&mut head).map_err(io)?;
    std::io::Seek::rewind(&mut file).map_err(io)?;
    let format = named_format(format).unwrap_or_else(|| sniff(&head));
    skyglass_votable::read_table(std::io::BufReader::new(file), format)
        .map_err(|e| ArchiveError::Read(format!("the upload: {e}")))
}

/// How large a gzipped upload of `packed` bytes may grow: tables compress some tenfold, a
/// gzip bomb a thousandfold; never past what a user may keep at all.
fn unpacked_limit(packed: u64) -> u64 {
    (GZIP_GROWTH * packed.max(1 << 20)).min(crate::quota::PER_USER.bytes)
}

/// How much larger than its gzipped size an upload may unpack to: tables compress some
/// tenfold, a gzip bomb a thousandfold.
const GZIP_GROWTH: u64 = 50;

fn named_format(format: Option<&str>) -> Option<TableFormat> {
    match format.map(|f| f.trim().to_ascii_lowercase()).as_deref() {
        Some("votable" | "vot" | "xml" | "votable_plain" | "votable_gzip") => Some(TableFormat::VoTable),
        Some("csv") => Some(TableFormat::Csv),
        Some("fits") => Some(TableFormat::Fits),
        Some("parquet") => Some(TableFormat::Parquet),
        Some("ecsv") => Some(TableFormat::Ecsv),
        _ => None,
    }
}

/// A table format from its first bytes.
fn sniff(bytes: &[u8]) -> TableFormat {
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).trim_start().to_owned();
    if bytes.starts_with(b"PAR1") {
        TableFormat::Parquet
    } else if bytes.starts_with(b"SIMPLE  =") {
        TableFormat::Fits
    } else if start.starts_with('<') {
        TableFormat::VoTable
    } else if start.starts_with("# %ECSV") {
        TableFormat::Ecsv
    } else {
        TableFormat::Csv
    }
}

impl Archive {
    /// A name in `user`'s schema, checked: letters, digits and `_`, starting with a letter.
    pub fn user_table_name(&self, user: &str, name: &str) -> Result<TableName, ArchiveError> {
        crate::users::check_user_name(user)?;
        let name = name.trim();
        // A qualified name is taken if it names the user's own schema.
        let bare = match name.split_once('.') {
            Some((schema, bare)) if schema.eq_ignore_ascii_case(&user_schema(user)) => bare,
            Some(_) => {
                return Err(ArchiveError::Invalid(format!(
                    "{name:?}: your tables are in {}; give the table's name alone",
                    user_schema(user)
                )));
            }
            None => name,
        };
        TableName::parse(&format!("{}.{bare}", user_schema(user)))
    }

    /// The tables of `user`'s schema.
    pub fn user_tables_of(&self, user: &str) -> Result<Vec<TableInfo>, ArchiveError> {
        let schema = user_schema(user);
        Ok(self.stored_tables()?.into_iter().filter(|t| t.schema == schema).collect())
    }

    /// Stores `data` as a new table of `user`'s, HEALPix-indexed when it has positions
    /// (detected, or the columns given).
    pub async fn upload_table(
        &self,
        user: &str,
        name: &str,
        data: &TableData,
        description: &str,
        position: Option<(String, String)>,
    ) -> Result<IngestReport, ArchiveError> {
        let table = self.user_table_name(user, name)?;
        self.check_room_for_table(Holder::User(user))?;
        if self.user_tables_of(user)?.iter().any(|t| t.name == table.name) {
            return Err(ArchiveError::Invalid(format!("you have a table {} already", table.qualified())));
        }
        let (ra, dec) = position.unzip();
        let options = IngestOptions {
            ra,
            dec,
            description: Some(description.to_owned()),
            mode: Mode::Create,
            ..IngestOptions::default()
        };
        let report = self.ingest(data, &table, &options).await?;
        if let Err(over) = self.check_bytes(Holder::User(user)) {
            self.drop_table(&table).await?;
            return Err(over);
        }
        tracing::info!(table = table.qualified(), rows = report.rows, "user table uploaded");
        Ok(report)
    }

    /// Deletes a table of `user`'s (and stops its sharing).
    pub async fn delete_user_table(&self, user: &str, name: &str) -> Result<(), ArchiveError> {
        let table = self.user_table_name(user, name)?;
        self.drop_table(&table).await
    }

    /// Renames a table of `user`'s; it is no longer shared under the old name.
    pub async fn rename_user_table(&self, user: &str, from: &str, to: &str) -> Result<(), ArchiveError> {
        let (from, to) = (self.user_table_name(user, from)?, self.user_table_name(user, to)?);
        let tables = self.user_tables_of(user)?;
        if !tables.iter().any(|t| t.name == from.name) {
            return Err(ArchiveError::NoSuchTable(from.qualified()));
        }
        if tables.iter().any(|t| t.name == to.name) {
            return Err(ArchiveError::Invalid(format!("you have a table {} already", to.qualified())));
        }
        let (old_path, new_path) = (self.parquet_path(&from), self.parquet_path(&to));
        let io = |source| ArchiveError::Io { path: new_path.display().to_string(), source };
        // Linked first, unlinked after the metadata moved: a crash between leaves a file that
        // the next open sweeps, never a table without its file.
        std::fs::hard_link(&old_path, &new_path).map_err(io)?;
        let moved = (|| -> Result<(), ArchiveError> {
            let mut db = self.metadata();
            let transaction = db.transaction()?;
            let rename = |sql: &str| transaction.execute(sql, params![to.name, from.schema, from.name]);
            rename("UPDATE tables SET name = ?1 WHERE schema = ?2 AND name = ?3")?;
            rename("UPDATE columns SET table_name = ?1 WHERE schema = ?2 AND table_name = ?3")?;
            crate::access::forget_shares_of(&transaction, &from)?;
            transaction.commit()?;
            Ok(())
        })();
        if let Err(error) = moved {
            let _ = std::fs::remove_file(&new_path);
            return Err(error);
        }
        let _ = std::fs::remove_file(&old_path);
        self.register_all().await
    }

    /// Sets a table's description.
    pub fn describe_user_table(&self, user: &str, name: &str, description: &str) -> Result<(), ArchiveError> {
        let table = self.user_table_name(user, name)?;
        let changed = self.metadata().execute(
            "UPDATE tables SET description = ?1 WHERE schema = ?2 AND name = ?3",
            params![description, table.schema, table.name],
        )?;
        if changed == 0 {
            return Err(ArchiveError::NoSuchTable(table.qualified()));
        }
        self.access_changed();
        Ok(())
    }

    /// Makes `ra` and `dec` a table's position columns: it is HEALPix-indexed on them, and
    /// cone searches and crossmatches use them.
    pub async fn set_position_columns(&self, user: &str, name: &str, ra: &str, dec: &str) -> Result<(), ArchiveError> {
        let table = self.user_table_name(user, name)?;
        let info = self
            .user_tables_of(user)?
            .into_iter()
            .find(|t| t.name == table.name)
            .ok_or_else(|| ArchiveError::NoSuchTable(table.qualified()))?;
        let session = self.session_for(Some(user)).await?;
        let batch = crate::xmatch_service::whole_table(&session, &table)
            .await
            .map_err(|e| ArchiveError::Read(format!("{}: {e}", table.qualified())))?;
        let data = TableData {
            schema: batch.schema(),
            batches: vec![batch],
            options: skyglass_votable::WriteOptions::default(),
            diagnostic_count: 0,
        };
        let options = IngestOptions {
            ra: Some(ra.trim().to_ascii_lowercase()),
            dec: Some(dec.trim().to_ascii_lowercase()),
            description: Some(info.description),
            mode: Mode::Replace,
            ..IngestOptions::default()
        };
        self.ingest(&data, &table, &options).await?;
        Ok(())
    }

    /// Sets a column's UCD (a user's table; anything else is refused).
    pub fn set_column_ucd(&self, table: &TableName, column: &str, ucd: &str) -> Result<(), ArchiveError> {
        if owner_of(&table.schema).is_none() {
            return Err(ArchiveError::NoSuchTable(table.qualified()));
        }
        if ucd.len() > 256 || ucd.chars().any(char::is_control) {
            return Err(ArchiveError::Invalid(format!("{ucd:?} is not a UCD")));
        }
        self.metadata().execute(
            "UPDATE columns SET ucd = ?1 WHERE schema = ?2 AND table_name = ?3 AND name = ?4",
            params![ucd, table.schema, table.name, column.to_ascii_lowercase()],
        )?;
        self.access_changed();
        Ok(())
    }

    /// The position columns a table is indexed on, if any.
    pub fn position_columns(&self, table: &TableName) -> Option<(String, String)> {
        let indexed = self.indexed_tables().ok()?;
        indexed.get(&table.qualified()).map(|t| (t.ra.clone(), t.dec.clone()))
    }
}

/// Whether `caller` owns `table` (it is in their schema).
pub fn owns(caller: &str, table: &TableName) -> bool {
    owner_of(&table.schema) == Some(caller)
}
