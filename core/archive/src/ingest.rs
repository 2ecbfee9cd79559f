//! Tables into the archive: column names made ADQL-friendly, a HEALPix index added where
//! the table has positions, rows sorted by it, written as Parquet (atomically).

use crate::store::ColumnInfo;
use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, sort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use skyglass_votable::model::meta;
use std::path::Path;
use std::sync::Arc;

/// The HEALPix index column added to tables with positions: NESTED, order 29.
pub const HEALPIX_COLUMN: &str = "hpx29";
/// Rows per Parquet row group: small enough that a cone search reads few.
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows per data page: the page index lets a cone search decode only the pages its HEALPix
/// ranges touch, so small pages mean little decoding (one HEALPix range of 10M rows: 3.9 ms
/// with 20k-row pages and dictionaries, 1.1 ms with these).
pub(crate) const PAGE_ROWS: usize = 2048;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Refuse if the table exists.
    #[default]
    Create,
    Replace,
    Append,
}

#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// Position columns, when detection (by UCD, then name) should not decide.
    pub ra: Option<String>,
    pub dec: Option<String>,
    /// The time column (MJD, JD, or a timestamp): marked `time.epoch` when it has no UCD,
    /// and the sort order of a table without positions, so time ranges read few row groups.
    pub time: Option<String>,
    pub description: Option<String>,
    pub mode: Mode,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IngestReport {
    pub rows: u64,
    /// The position columns the HEALPix index was made from.
    pub position: Option<(String, String)>,
    pub time: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the table exists: say --replace or --append")]
    Exists,
    #[error("no column {0:?}")]
    NoColumn(String),
    #[error("column {0:?} is not numeric, so not a position")]
    NotNumeric(String),
    #[error("column {0:?} is neither a number nor a timestamp, so not a time")]
    NotTime(String),
    #[error("appended rows do not have the table's columns: {0}")]
    DifferentColumns(String),
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Writes `data` (plus, when appending, what `path` holds) to `path`; returns what it did
/// and the columns as TAP_SCHEMA will list them.
pub fn write_table(
    data: &skyglass_votable::TableData,
    path: &Path,
    exists: bool,
    options: &IngestOptions,
) -> Result<(IngestReport, Vec<ColumnInfo>), IngestError> {
    if exists && options.mode == Mode::Create {
        return Err(IngestError::Exists);
    }
    let mut schema = adql_schema(&data.schema);
    let mut time = match &options.time {
        Some(name) => {
            let (index, with_time) = marked_time(&schema, name)?;
            schema = with_time;
            Some(index)
        }
        None => None,
    };
    let mut batches: Vec<RecordBatch> = data
        .batches
        .iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<_, _>>()?;
    let mut position = position_columns(&schema, options)?;
    let mut table = concat_batches(&schema, &batches)?;
    batches.clear();
    if let Some((ra, dec)) = position {
        // A table read back from an archive brings its index column: it is made afresh.
        if let Ok(old_index) = table.schema().index_of(HEALPIX_COLUMN) {
            let keep: Vec<usize> = (0..table.num_columns()).filter(|&i| i != old_index).collect();
            table = table.project(&keep)?;
            schema = table.schema();
            let shift = |i: usize| if i > old_index { i - 1 } else { i };
            position = Some((shift(ra), shift(dec)));
            time = time.map(shift);
        }
        if let Some((ra, dec)) = position {
            table = with_healpix(&table, ra, dec)?;
        }
    }
    if exists && options.mode == Mode::Append {
        let old = read_parquet(path)?;
        if old.schema().fields() != table.schema().fields() {
            return Err(IngestError::DifferentColumns(describe_fields(&old.schema(), &table.schema())));
        }
        table = concat_batches(&table.schema(), &[old, table])?;
    }
    let sort_key = if table.schema().index_of(HEALPIX_COLUMN).is_ok() {
        Some(HEALPIX_COLUMN.to_owned())
    } else {
        time.map(|index| schema.field(index).name().clone())
    };
    if let Some(key) = &sort_key {
        table = sorted_by(&table, key)?;
    }
    write_parquet(&table, path)?;
    let mut columns = column_infos(&table.schema(), position);
    for column in &mut columns {
        column.indexed |= sort_key.as_ref() == Some(&column.name);
    }
    let report = IngestReport {
        rows: table.num_rows() as u64,
        position: position.map(|(ra, dec)| (schema.field(ra).name().clone(), schema.field(dec).name().clone())),
        time: time.map(|index| schema.field(index).name().clone()),
    };
    Ok((report, columns))
}

/// Lower-case names of letters, digits and `_` starting with a letter: unquoted ADQL
/// identifiers, which the engine folds to lower case.
fn adql_name(name: &str) -> String {
    let mut clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if !clean.starts_with(|c: char| c.is_ascii_alphabetic()) {
        clean.insert(0, 'c');
    }
    clean
}

pub(crate) fn adql_schema(schema: &Schema) -> SchemaRef {
    let mut seen = std::collections::HashSet::new();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            let mut name = adql_name(field.name());
            while !seen.insert(name.clone()) {
                name.push('_');
            }
            // ID and ref point within the document the table came from: in a result they
            // would name columns that are not there, or clash between joined tables.
            let mut metadata = field.metadata().clone();
            metadata.remove(meta::ID);
            metadata.remove(meta::REF);
            field.as_ref().clone().with_name(name).with_metadata(metadata)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn position_columns(schema: &Schema, options: &IngestOptions) -> Result<Option<(usize, usize)>, IngestError> {
    let find = |name: &str| schema.index_of(&adql_name(name)).map_err(|_| IngestError::NoColumn(name.to_owned()));
    let found = match (&options.ra, &options.dec) {
        (Some(ra), Some(dec)) => Some((find(ra)?, find(dec)?)),
        _ => skyglass_votable::detect_position(schema)
            .filter(|p| p.kind == skyglass_votable::PositionKind::Equatorial)
            .map(|p| (p.lon, p.lat)),
    };
    if let Some((ra, dec)) = found {
        for index in [ra, dec] {
            if !schema.field(index).data_type().is_numeric() {
                return Err(IngestError::NotNumeric(schema.field(index).name().clone()));
            }
        }
    }
    Ok(found)
}

/// The time column's index, and the schema with that column marked `time.epoch` unless it
/// says what it is already.
fn marked_time(schema: &Schema, name: &str) -> Result<(usize, SchemaRef), IngestError> {
    let index = schema.index_of(&adql_name(name)).map_err(|_| IngestError::NoColumn(name.to_owned()))?;
    let field = schema.field(index);
    if !(field.data_type().is_numeric() || field.data_type().is_temporal()) {
        return Err(IngestError::NotTime(field.name().clone()));
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut metadata = field.metadata().clone();
    metadata.entry(meta::UCD.to_owned()).or_insert_with(|| "time.epoch".to_owned());
    fields[index] = field.clone().with_metadata(metadata);
    Ok((index, Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))))
}

fn with_healpix(table: &RecordBatch, ra: usize, dec: usize) -> Result<RecordBatch, IngestError> {
    let as_f64 = |index: usize| datafusion::arrow::compute::cast(table.column(index), &DataType::Float64);
    let (ra, dec) = (as_f64(ra)?, as_f64(dec)?);
    let (ra, dec) = (
        ra.as_any().downcast_ref::<Float64Array>().cloned().unwrap_or_else(|| Float64Array::from(Vec::<f64>::new())),
        dec.as_any().downcast_ref::<Float64Array>().cloned().unwrap_or_else(|| Float64Array::from(Vec::<f64>::new())),
    );
    let layer = cdshealpix::nested::get(29);
    let hash = |row: usize| {
        if ra.is_null(row) || dec.is_null(row) {
            return None;
        }
        let (lon, lat) = (ra.value(row).to_radians(), dec.value(row).to_radians());
        (lon.is_finite() && lat.is_finite() && lat.abs() <= std::f64::consts::FRAC_PI_2)
            .then(|| layer.hash(lon, lat) as i64)
    };
    // One slice of rows per core.
    let rows = table.num_rows();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let slice = rows.div_ceil(cores).max(1);
    let parts: Vec<Vec<Option<i64>>> = std::thread::scope(|scope| {
        let hash = &hash;
        let handles: Vec<_> = (0..rows)
            .step_by(slice)
            .map(|start| scope.spawn(move || (start..(start + slice).min(rows)).map(hash).collect()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let index: Int64Array = parts.into_iter().flatten().collect();
    let mut fields: Vec<Field> = table.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let description = "HEALPix NESTED index at order 29 of the position, for spatial queries";
    fields.push(
        Field::new(HEALPIX_COLUMN, DataType::Int64, true).with_metadata(
            [(meta::DESCRIPTION.to_owned(), description.to_owned()), (meta::UCD.to_owned(), "pos.healpix".to_owned())]
                .into(),
        ),
    );
    let mut columns = table.columns().to_vec();
    columns.push(Arc::new(index) as ArrayRef);
    Ok(RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, table.schema().metadata().clone())), columns)?)
}

fn sorted_by(table: &RecordBatch, column: &str) -> Result<RecordBatch, IngestError> {
    let key = table.column(table.schema().index_of(column)?);
    let order: UInt32Array = sort_to_indices(key, None, None)?;
    let columns: Vec<ArrayRef> = table.columns().iter().map(|c| take(c, &order, None)).collect::<Result<_, _>>()?;
    Ok(RecordBatch::try_new(table.schema(), columns)?)
}

fn write_parquet(table: &RecordBatch, path: &Path) -> Result<(), IngestError> {
    let io = |source| IngestError::Io { path: path.display().to_string(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    // A name of its own per write: two writes of one table at once never share a file
    // (the last to finish is the table).
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = path.with_extension(format!("parquet.{}-{write}.partial", std::process::id()));
    // Dictionaries only for text: for measurements they grow to their limit and then must be
    // read before any page of the chunk, which made a cone search read 1 MiB per column.
    let mut properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(false);
    for field in table.schema().fields() {
        let column = ColumnPath::from(field.name().as_str());
        match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                properties = properties.set_column_dictionary_enabled(column, true);
            }
            // Measurements barely compress (their low bits are noise), and LZ4 reads back
            // several times faster than zstd: a third of a long time series' scan was zstd.
            DataType::Float32 | DataType::Float64 => {
                properties = properties.set_column_compression(column, Compression::LZ4_RAW);
            }
            _ => {}
        }
    }
    let properties = properties.build();
    let result = (|| -> Result<(), IngestError> {
        let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&partial).map_err(io)?);
        let writer = ArrowWriter::try_new(file, table.schema(), Some(properties))?;
        let (mut file_writer, factory) = writer.into_serialized_writer()?;
        // Row groups are encoded (and compressed) on every core, a wave of one per core at a
        // time, then appended in order.
        let starts: Vec<usize> = (0..table.num_rows()).step_by(ROW_GROUP_ROWS).collect();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        for (wave, group_starts) in starts.chunks(cores).enumerate() {
            let encoded: Vec<Result<Vec<ArrowColumnChunk>, IngestError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = group_starts
                    .iter()
                    .enumerate()
                    .map(|(k, &start)| {
                        let rows = table.slice(start, ROW_GROUP_ROWS.min(table.num_rows() - start));
                        let factory = &factory;
                        scope.spawn(move || encode_row_group(factory, wave * cores + k, &rows))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                    .collect()
            });
            for chunks in encoded {
                let mut row_group = file_writer.next_row_group()?;
                for chunk in chunks? {
                    chunk.append_to_row_group(&mut row_group)?;
                }
                row_group.close()?;
            }
        }
        let file = file_writer.into_inner()?.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(())
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    std::fs::rename(&partial, path).map_err(io)
}

fn encode_row_group(
    factory: &ArrowRowGroupWriterFactory,
    index: usize,
    rows: &RecordBatch,
) -> Result<Vec<ArrowColumnChunk>, IngestError> {
    let mut writers = factory.create_column_writers(index)?;
    let mut next_writer = writers.iter_mut();
    for (array, field) in rows.columns().iter().zip(rows.schema().fields()) {
        for leaf in compute_leaves(field, array)? {
            let writer = next_writer
                .next()
                .ok_or_else(|| parquet::errors::ParquetError::General("more leaves than column writers".into()))?;
            writer.write(&leaf)?;
        }
    }
    Ok(writers.into_iter().map(|writer| writer.close()).collect::<Result<_, _>>()?)
}

fn read_parquet(path: &Path) -> Result<RecordBatch, IngestError> {
    let file =
        std::fs::File::open(path).map_err(|source| IngestError::Io { path: path.display().to_string(), source })?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let schema = datafusion::arrow::array::RecordBatchReader::schema(&reader);
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    Ok(concat_batches(&schema, &batches)?)
}

fn describe_fields(old: &Schema, new: &Schema) -> String {
    let names = |s: &Schema| {
        s.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
    };
    format!("table has [{}], new rows have [{}]", names(old), names(new))
}

/// The VOTable datatype of an Arrow type, as TAP_SCHEMA lists it.
pub fn votable_datatype(data_type: &DataType) -> (&'static str, Option<&'static str>) {
    match data_type {
        DataType::Float64 => ("double", None),
        DataType::Float32 | DataType::Float16 => ("float", None),
        DataType::Int64 | DataType::UInt64 | DataType::UInt32 => ("long", None),
        DataType::Int32 | DataType::UInt16 => ("int", None),
        DataType::Int16 | DataType::Int8 => ("short", None),
        DataType::UInt8 => ("unsignedByte", None),
        DataType::Boolean => ("boolean", None),
        _ => ("char", Some("*")),
    }
}

fn column_infos(schema: &Schema, position: Option<(usize, usize)>) -> Vec<ColumnInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let get = |key: &str| field.metadata().get(key).cloned().unwrap_or_default();
            let (mut datatype, arraysize) = votable_datatype(field.data_type());
            // Results are written with the datatype a VOTable declared (unicodeChar stays so).
            if datatype == "char" && get(meta::DATATYPE) == "unicodeChar" {
                datatype = "unicodeChar";
            }
            let is_position = position.is_some_and(|(ra, dec)| index == ra || index == dec);
            ColumnInfo {
                name: field.name().clone(),
                datatype: datatype.to_owned(),
                arraysize: arraysize.map(str::to_owned),
                unit: get(meta::UNIT),
                ucd: get(meta::UCD),
                description: get(meta::DESCRIPTION),
                indexed: is_position || field.name() == HEALPIX_COLUMN,
                principal: true,
            }
        })
        .collect()
}
