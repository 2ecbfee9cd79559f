//! Tables read a batch at a time, so that files larger than memory can be worked through:
//! Parquet, CSV, TSV and VOTable. (FITS, ECSV and compressed files are read whole.)

use crate::error::{Result, VoTableError};
use crate::formats::TableFormat;
use crate::reader::{Event, ReaderOptions, VoTableReader};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

/// Rows CSV types are inferred from before the rest of the file is read.
const CSV_INFERENCE_ROWS: usize = 100_000;

/// A table's batches, read as they are asked for.
pub struct TableStream {
    schema: SchemaRef,
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
}

impl TableStream {
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Iterator for TableStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.next()
    }
}

/// Whether [`stream_table`] reads `path` in `format` a batch at a time.
pub fn can_stream(path: &Path, format: TableFormat) -> bool {
    let compressed = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    !compressed
        && matches!(
            format,
            TableFormat::Parquet
                | TableFormat::Csv
                | TableFormat::Tsv
                | TableFormat::VoTable
                | TableFormat::VoTableBinary2
        )
}

/// Opens `path` for reading `batch_rows` rows at a time.
pub fn stream_table(path: &Path, format: TableFormat, batch_rows: usize) -> Result<TableStream> {
    if !can_stream(path, format) {
        return Err(VoTableError::Unsupported(format!(
            "{} cannot be read a part at a time: use Parquet, CSV, TSV or uncompressed VOTable",
            path.display()
        )));
    }
    let file = File::open(path)?;
    match format {
        TableFormat::Parquet => {
            let parquet_error = |e: parquet::errors::ParquetError| VoTableError::Unsupported(format!("Parquet: {e}"));
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
            let schema = builder.schema().clone();
            let reader = builder.with_batch_size(batch_rows).build().map_err(parquet_error)?;
            Ok(TableStream { schema, batches: Box::new(reader.map(|batch| batch.map_err(VoTableError::from))) })
        }
        TableFormat::Csv | TableFormat::Tsv => {
            let delimiter = if format == TableFormat::Tsv { b'\t' } else { b',' };
            let csv_format = arrow_csv::reader::Format::default().with_header(true).with_delimiter(delimiter);
            let (schema, _) = csv_format.infer_schema(BufReader::new(File::open(path)?), Some(CSV_INFERENCE_ROWS))?;
            let schema = Arc::new(schema);
            let reader = arrow_csv::ReaderBuilder::new(schema.clone())
                .with_format(csv_format)
                .with_batch_size(batch_rows)
                .build(BufReader::with_capacity(1 << 20, file))?;
            Ok(TableStream { schema, batches: Box::new(reader.map(|batch| batch.map_err(VoTableError::from))) })
        }
        _ => {
            let options = ReaderOptions { batch_rows, ..ReaderOptions::default() };
            let mut reader = VoTableReader::with_options(BufReader::with_capacity(1 << 20, file), options);
            let schema = loop {
                match reader.next_event()? {
                    Some(Event::TableStart { table, schema }) if table.index == 0 => break schema,
                    Some(_) => {}
                    None => return Err(VoTableError::NotVoTable(format!("{} holds no TABLE", path.display()))),
                }
            };
            let mut done = false;
            let batches = std::iter::from_fn(move || {
                while !done {
                    match reader.next_event() {
                        Ok(Some(Event::Batch { table: 0, batch })) => return Some(Ok(batch)),
                        Ok(Some(Event::TableEnd { table: 0 }) | None) => done = true,
                        Ok(Some(_)) => {}
                        Err(error) => {
                            done = true;
                            return Some(Err(error));
                        }
                    }
                }
                None
            });
            Ok(TableStream { schema, batches: Box::new(batches) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_streamed_format_gives_the_rows_read_whole_gives() {
        let dir = std::env::temp_dir().join(format!("skyglass-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = "id,ra,dec\n1,10.5,-3.25\n2,200.0,45.0\n3,359.9,-89.5\n";
        let table = crate::read_table(std::io::Cursor::new(csv.as_bytes()), TableFormat::Csv).unwrap();
        for (name, format) in [
            ("t.csv", TableFormat::Csv),
            ("t.tsv", TableFormat::Tsv),
            ("t.vot", TableFormat::VoTable),
            ("t.parquet", TableFormat::Parquet),
        ] {
            let path = dir.join(name);
            let mut bytes = Vec::new();
            crate::write_table(&mut bytes, &table, format, Vec::new()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            let stream = stream_table(&path, format, 2).unwrap();
            assert_eq!(stream.schema().fields().len(), 3, "{name}");
            let batches: Vec<RecordBatch> = stream.collect::<Result<_>>().unwrap();
            assert_eq!(batches.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), vec![2, 1], "{name}");
        }
        assert!(stream_table(&dir.join("t.fits"), TableFormat::Fits, 2).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
