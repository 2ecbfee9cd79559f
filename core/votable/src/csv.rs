//! CSV and TSV read on every core: the file is cut at line ends into one piece per core,
//! each piece's types are inferred and the types merged, then the pieces are parsed at once.
//! Files with quotes (where a field may hold a line end) are read in one piece.

use crate::error::{Result, VoTableError};
use arrow_array::RecordBatch;
use arrow_csv::reader::Format;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// Below this, one piece: threads cost more than they save.
const PARALLEL_FROM_BYTES: usize = 4 << 20;
const BATCH_ROWS: usize = 65_536;

/// The schema (types inferred from every row) and the rows of a CSV/TSV file with a header.
pub(crate) fn read_delimited(bytes: &[u8], delimiter: u8) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let pieces = pieces(bytes);
    let format = |header: bool| Format::default().with_header(header).with_delimiter(delimiter);
    let inferred: Vec<Result<Schema>> = on_threads(&pieces, |index, piece| {
        let (schema, _) = format(index == 0).infer_schema(std::io::Cursor::new(piece), None)?;
        Ok(schema)
    });
    let mut schemas = inferred.into_iter();
    let Some(first) = schemas.next() else { return Err(empty()) };
    let mut schema = first?;
    for other in schemas {
        schema = merged(&schema, &other?)?;
    }
    let schema = Arc::new(schema);
    let parsed: Vec<Result<Vec<RecordBatch>>> = on_threads(&pieces, |index, piece| {
        let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
            .with_format(format(index == 0))
            .with_batch_size(BATCH_ROWS)
            .build(std::io::Cursor::new(piece))?;
        Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
    });
    let mut batches = Vec::new();
    for piece in parsed {
        batches.extend(piece?);
    }
    if schema.fields().is_empty() {
        return Err(empty());
    }
    Ok((schema, batches))
}

fn empty() -> VoTableError {
    VoTableError::Unsupported("an empty CSV file".to_owned())
}

/// The file cut after line ends into about one piece per core; the first holds the header.
fn pieces(bytes: &[u8]) -> Vec<&[u8]> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 || bytes.len() < PARALLEL_FROM_BYTES || memchr::memchr(b'"', bytes).is_some() {
        return vec![bytes];
    }
    let mut pieces = Vec::with_capacity(cores);
    let mut start = 0;
    for k in 1..cores {
        let target = (bytes.len() * k / cores).max(start);
        match memchr::memchr(b'\n', &bytes[target..]) {
            Some(offset) if target + offset + 1 < bytes.len() => {
                let end = target + offset + 1;
                pieces.push(&bytes[start..end]);
                start = end;
            }
            _ => break,
        }
    }
    pieces.push(&bytes[start..]);
    pieces
}

/// `work` on each piece, one thread per piece, results in the pieces' order.
fn on_threads<T: Send>(pieces: &[&[u8]], work: impl Fn(usize, &[u8]) -> T + Sync) -> Vec<T> {
    if pieces.len() == 1 {
        return vec![work(0, pieces[0])];
    }
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            pieces.iter().enumerate().map(|(index, piece)| scope.spawn(move || work(index, piece))).collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Two pieces' inferred types, column by column, widened to hold both: integers and reals
/// make reals, anything else that differs makes text. Names come from the first (the header).
fn merged(first: &Schema, other: &Schema) -> Result<Schema> {
    if first.fields().len() != other.fields().len() {
        return Err(VoTableError::Unsupported(format!(
            "rows have {} fields in one part of the file and {} in another",
            first.fields().len(),
            other.fields().len()
        )));
    }
    let fields: Vec<Field> = first
        .fields()
        .iter()
        .zip(other.fields())
        .map(|(a, b)| {
            let data_type = match (a.data_type(), b.data_type()) {
                (x, y) if x == y => x.clone(),
                (DataType::Null, y) => y.clone(),
                (x, DataType::Null) => x.clone(),
                (DataType::Int64 | DataType::Float64, DataType::Int64 | DataType::Float64) => DataType::Float64,
                _ => DataType::Utf8,
            };
            a.as_ref().clone().with_data_type(data_type)
        })
        .collect();
    Ok(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_end_at_line_ends_and_cover_the_file() {
        let mut text = String::from("id,ra,dec\n");
        for i in 0..400_000 {
            text.push_str(&format!("{i},{}.5,-{}.25\n", i % 360, i % 90));
        }
        let bytes = text.as_bytes();
        let pieces = pieces(bytes);
        assert_eq!(pieces.iter().map(|p| p.len()).sum::<usize>(), bytes.len());
        for piece in &pieces {
            assert!(piece.ends_with(b"\n"));
        }
        let (schema, batches) = read_delimited(bytes, b',').unwrap();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 400_000);
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(schema.field(1).data_type(), &DataType::Float64);
    }

    #[test]
    fn types_widen_across_pieces() {
        // Integers in the first half, a real in the second: the column must be real.
        let mut text = String::from("a,b\n");
        for i in 0..600_000 {
            text.push_str(&format!("{i},x{i}\n"));
        }
        text.push_str("1.5,y\n");
        let (schema, batches) = read_delimited(text.as_bytes(), b',').unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Float64);
        assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 600_001);
    }
}
