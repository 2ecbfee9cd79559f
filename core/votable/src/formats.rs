//! Tables in the formats users hand Skyglass, all read into and written from the one Arrow
//! model: VOTable (TABLEDATA or BINARY2), CSV/TSV and Parquet so far. Parquet keeps the
//! fields' VO metadata (in the Arrow schema it stores).

use crate::error::{Result, VoTableError};
use crate::model::{Info, VoTable};
use crate::reader::read_votable;
use crate::writer::{Serialization, WriteOptions, write_votable};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::io::{BufRead, Seek, Write};
use std::path::Path;

/// A table file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// VOTable; written as TABLEDATA.
    VoTable,
    /// VOTable written as BINARY2 (read like any VOTable).
    VoTableBinary2,
    Csv,
    Tsv,
    Parquet,
    /// A FITS binary table (the first BINTABLE of the file).
    Fits,
    /// astropy's Enhanced CSV; read only.
    Ecsv,
}

/// One table with its rows, as any reader here returns it.
#[derive(Clone, Debug)]
pub struct TableData {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Document-level notes worth keeping when writing VOTable again (COOSYS, TIMESYS).
    pub options: WriteOptions,
    /// Cells that could not be read and were taken as null (VOTable TABLEDATA).
    pub diagnostic_count: usize,
}

impl TableFormat {
    /// The format a file name implies: `.vot`, `.xml`, `.votable` (VOTable), `.csv`, `.tsv`.
    pub fn from_path(path: &Path) -> Option<TableFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let extension = name.rsplit('.').next()?;
        Some(match extension {
            "vot" | "xml" | "votable" => TableFormat::VoTable,
            "csv" => TableFormat::Csv,
            "tsv" | "tab" => TableFormat::Tsv,
            "parquet" | "pq" => TableFormat::Parquet,
            "fits" | "fit" | "fts" => TableFormat::Fits,
            "ecsv" => TableFormat::Ecsv,
            _ => return None,
        })
    }

    /// The names `--format` takes.
    pub fn from_name(name: &str) -> Option<TableFormat> {
        Some(match name.to_ascii_lowercase().as_str() {
            "votable" | "vot" | "votable-tabledata" => TableFormat::VoTable,
            "votable-binary2" | "binary2" => TableFormat::VoTableBinary2,
            "csv" => TableFormat::Csv,
            "tsv" => TableFormat::Tsv,
            "parquet" => TableFormat::Parquet,
            "fits" => TableFormat::Fits,
            "ecsv" => TableFormat::Ecsv,
            _ => return None,
        })
    }
}

/// The first table of a VOTable document already read (whose INFOs a caller may also want:
/// a TAP answer's QUERY_STATUS), with its metadata.
pub fn first_table(votable: VoTable) -> Result<TableData> {
    let tables = votable.meta.tables();
    let Some(table) = tables.first() else {
        return Err(VoTableError::NotVoTable("the document holds no TABLE".to_owned()));
    };
    let (coosys, timesys) = votable.meta.systems();
    let batches = votable.batches.into_iter().next().unwrap_or_default();
    Ok(TableData {
        schema: table.schema(),
        batches,
        options: WriteOptions {
            table_name: table.name.clone(),
            description: table.description.clone(),
            coosys,
            timesys,
            ..WriteOptions::default()
        },
        diagnostic_count: votable.diagnostic_count,
    })
}

/// Reads the first table of `input`.
pub fn read_table<R: BufRead + Seek>(mut input: R, format: TableFormat) -> Result<TableData> {
    match format {
        TableFormat::VoTable | TableFormat::VoTableBinary2 => {
            let mut bytes = Vec::new();
            input.read_to_end(&mut bytes)?;
            first_table(read_votable(&bytes)?)
        }
        TableFormat::Fits => {
            let mut bytes = Vec::new();
            input.read_to_end(&mut bytes)?;
            crate::fits::read_fits_table(&bytes, None)
        }
        TableFormat::Ecsv => {
            let mut bytes = Vec::new();
            input.read_to_end(&mut bytes)?;
            crate::ecsv::read_ecsv(&bytes)
        }
        TableFormat::Parquet => {
            let mut bytes = Vec::new();
            input.read_to_end(&mut bytes)?;
            // The parquet and arrow-ipc crates panic on some corrupt files (an unknown type in
            // the stored Arrow schema hits `unimplemented!`): contain that as a read error.
            std::panic::catch_unwind(|| read_parquet(bytes)).unwrap_or_else(|_| {
                Err(VoTableError::Unsupported(
                    "not a readable Parquet file (the Parquet reader failed on it)".to_owned(),
                ))
            })
        }
        TableFormat::Csv | TableFormat::Tsv => {
            let delimiter = if format == TableFormat::Tsv { b'\t' } else { b',' };
            let mut bytes = Vec::new();
            input.read_to_end(&mut bytes)?;
            let (schema, batches) = crate::csv::read_delimited(&bytes, delimiter)?;
            let (schema, batches) = units_from_header(&schema, batches)?;
            Ok(TableData { schema, batches, options: WriteOptions::default(), diagnostic_count: 0 })
        }
    }
}

fn read_parquet(bytes: Vec<u8>) -> Result<TableData> {
    let unreadable =
        |e: parquet::errors::ParquetError| VoTableError::Unsupported(format!("not a readable Parquet file: {e}"));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(unreadable)?
        .with_batch_size(65_536)
        .build()
        .map_err(unreadable)?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(TableData { schema, batches, options: WriteOptions::default(), diagnostic_count: 0 })
}

/// Writes a table; `infos_after` lets a caller add e.g. an OVERFLOW status to VOTables.
pub fn write_table<W: Write + Send>(
    out: &mut W,
    table: &TableData,
    format: TableFormat,
    infos_after: Vec<Info>,
) -> Result<()> {
    match format {
        TableFormat::VoTable | TableFormat::VoTableBinary2 => {
            let serialization =
                if format == TableFormat::VoTable { Serialization::TableData } else { Serialization::Binary2 };
            let options = WriteOptions { infos_after, ..table.options.clone() };
            write_votable(out, &table.schema, &table.batches, serialization, &options)
        }
        TableFormat::Fits => crate::fits::write_fits_table(out, &table.schema, &table.batches),
        TableFormat::Ecsv => Err(VoTableError::Unsupported("writing ECSV".to_owned())),
        TableFormat::Parquet => {
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::default()))
                .build();
            let parquet_error = |e: parquet::errors::ParquetError| VoTableError::Unsupported(format!("Parquet: {e}"));
            let mut writer = parquet::arrow::ArrowWriter::try_new(out, table.schema.clone(), Some(properties))
                .map_err(parquet_error)?;
            for batch in &table.batches {
                writer.write(batch).map_err(parquet_error)?;
            }
            writer.close().map_err(parquet_error)?;
            Ok(())
        }
        TableFormat::Csv | TableFormat::Tsv => {
            let delimiter = if format == TableFormat::Tsv { b'\t' } else { b',' };
            let mut writer = arrow_csv::WriterBuilder::new().with_header(true).with_delimiter(delimiter).build(out);
            for batch in &table.batches {
                writer.write(batch)?;
            }
            Ok(())
        }
    }
}

/// Column names that carry a unit, `ra [deg]` or `flux (mJy)`, become the name and the
/// field's `unit` metadata.
fn units_from_header(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let split = |name: &str| -> Option<(String, String)> {
        let name = name.trim();
        let (open, close) = match name.chars().last()? {
            ']' => ('[', ']'),
            ')' => ('(', ')'),
            _ => return None,
        };
        let start = name.rfind(open)?;
        let unit = name.get(start + 1..name.len() - close.len_utf8())?.trim();
        let base = name.get(..start)?.trim();
        (!unit.is_empty() && !base.is_empty()).then(|| (base.to_owned(), unit.to_owned()))
    };
    if !schema.fields().iter().any(|f| split(f.name()).is_some()) {
        return Ok((schema.clone(), batches));
    }
    let fields: Vec<arrow_schema::Field> = schema
        .fields()
        .iter()
        .map(|f| match split(f.name()) {
            Some((name, unit)) => {
                let mut metadata = f.metadata().clone();
                metadata.insert(crate::model::meta::UNIT.to_owned(), unit);
                f.as_ref().clone().with_name(name).with_metadata(metadata)
            }
            None => f.as_ref().clone(),
        })
        .collect();
    let schema = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_in_csv_headers() {
        let csv = "ra [deg],dec (deg),mag,name (alias)\n10.5,41.2,3.4,M31\n";
        let table = read_table(std::io::Cursor::new(csv.as_bytes().to_vec()), TableFormat::Csv).unwrap();
        let unit = |i: usize| table.schema.field(i).metadata().get(crate::model::meta::UNIT).cloned();
        assert_eq!(table.schema.field(0).name(), "ra");
        assert_eq!(unit(0).as_deref(), Some("deg"));
        assert_eq!(table.schema.field(1).name(), "dec");
        assert_eq!(table.schema.field(2).name(), "mag");
        assert_eq!(unit(2), None);
        // Parentheses read as a unit too, so a parenthesised remark becomes the unit: the
        // price of reading "flux (mJy)".
        assert_eq!(table.schema.field(3).name(), "name");
    }
}
