//! FITS binary tables (BINTABLE) into the Arrow model.
//!
//! A FITS row is laid out like a VOTable BINARY row (big-endian, fixed width), so the same
//! column builders read it. TTYPE, TUNIT, TUCD (a common extension), TCOMM and TNULL become
//! field metadata and nulls; TSCAL/TZERO are applied, with the unsigned-integer convention
//! (TZERO = 2^15, 2^31, 2^63, or -128 for bytes) read as wider integers.

use crate::column::ColumnBuilder;
use crate::datatype::{ArraySize, Datatype};
use crate::error::{Result, VoTableError};
use crate::formats::TableData;
use crate::model::{Field, Values};
use crate::writer::WriteOptions;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, UInt8Type};
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float64Array, Int16Array, Int32Array, Int64Array, RecordBatch, UInt64Array,
};
use arrow_schema::{DataType, Field as ArrowField, Schema};
use std::collections::HashMap;
use std::sync::Arc;

const BLOCK: usize = 2880;
const CARD: usize = 80;

/// Reads the first binary table of a FITS file (or the HDU numbered `hdu`, 0 = primary).
pub fn read_fits_table(bytes: &[u8], hdu: Option<usize>) -> Result<TableData> {
    let fits_error = |message: String| VoTableError::Unsupported(format!("FITS: {message}"));
    for found in hdus(bytes) {
        let found = found.map_err(fits_error)?;
        let wanted = match hdu {
            Some(n) => n == found.index,
            None => found.is_table(),
        };
        if wanted {
            if !found.is_table() {
                return Err(fits_error(format!("HDU {} is not a binary table", found.index)));
            }
            return read_bintable(&found.header, found.data, found.index);
        }
    }
    Err(fits_error(match hdu {
        Some(n) => format!("there is no HDU {n}"),
        None => "the file holds no binary table".to_owned(),
    }))
}

/// Every binary table of a FITS file, or why each cannot be read. A file may hold several (a light curve, its energy bands, its good
/// time intervals); which one to show is the caller's choice.
pub fn read_fits_tables(bytes: &[u8]) -> Result<Vec<FitsTable>> {
    let mut tables = Vec::new();
    for found in hdus(bytes) {
        let found = found.map_err(|message| VoTableError::Unsupported(format!("FITS: {message}")))?;
        if found.is_table() {
            let name = found.header.get("EXTNAME").filter(|name| !name.is_empty()).cloned();
            tables.push(FitsTable {
                hdu: found.index,
                name,
                table: read_bintable(&found.header, found.data, found.index),
            });
        }
    }
    Ok(tables)
}

/// One binary table of a file.
pub struct FitsTable {
    /// The HDU's number (0 is the primary).
    pub hdu: usize,
    /// Its EXTNAME.
    pub name: Option<String>,
    pub table: Result<TableData>,
}

/// A FITS image: its first plane as `f32` values, row-major from FITS row 1 (the bottom of
/// the sky image), and the header cards (WCS and all) of its HDU.
#[derive(Clone, Debug)]
pub struct FitsImage {
    pub width: usize,
    pub height: usize,
    /// BSCALE and BZERO applied; BLANK and non-finite values are NaN.
    pub values: Vec<f32>,
    pub header: HashMap<String, String>,
}

/// The first image of a FITS file (the primary array, or the first IMAGE extension): the
/// first plane of a cube. A file whose size disagrees with its header is refused.
pub fn read_fits_image(bytes: &[u8]) -> Result<FitsImage> {
    let unsupported = |message: String| VoTableError::Unsupported(message);
    for hdu in hdus(bytes) {
        let hdu = hdu.map_err(unsupported)?;
        let number = |key: &str| hdu.header.get(key).and_then(|v| v.trim().parse::<f64>().ok());
        let axes = number("NAXIS").unwrap_or(0.0) as i64;
        let is_image = hdu.index == 0 || hdu.header.get("XTENSION").is_some_and(|x| x == "IMAGE");
        if !is_image || axes < 2 {
            continue;
        }
        let (width, height) = (number("NAXIS1").unwrap_or(0.0), number("NAXIS2").unwrap_or(0.0));
        if !(1.0..=1e6).contains(&width) || !(1.0..=1e6).contains(&height) {
            return Err(unsupported(format!("FITS HDU {}: an image of {width} x {height} pixels", hdu.index)));
        }
        let (width, height) = (width as usize, height as usize);
        let bitpix = number("BITPIX").unwrap_or(0.0) as i64;
        let element = (bitpix.unsigned_abs() / 8) as usize;
        let count = width * height;
        let data = hdu.data.get(..count * element).ok_or_else(|| {
            unsupported(format!("FITS HDU {}: the file ends inside the image (truncated?)", hdu.index))
        })?;
        let (scale, zero) = (number("BSCALE").unwrap_or(1.0), number("BZERO").unwrap_or(0.0));
        let blank = number("BLANK");
        let integer = |raw: i64| {
            if blank == Some(raw as f64) { f32::NAN } else { (raw as f64 * scale + zero) as f32 }
        };
        let float = |raw: f64| if raw.is_finite() { (raw * scale + zero) as f32 } else { f32::NAN };
        let values: Vec<f32> = match bitpix {
            8 => data.iter().map(|b| integer(i64::from(*b))).collect(),
            16 => data.chunks_exact(2).map(|b| integer(i64::from(i16::from_be_bytes([b[0], b[1]])))).collect(),
            32 => {
                data.chunks_exact(4).map(|b| integer(i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])))).collect()
            }
            64 => data.chunks_exact(8).map(|b| integer(i64::from_be_bytes(b.try_into().unwrap_or([0; 8])))).collect(),
            -32 => {
                data.chunks_exact(4).map(|b| float(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))).collect()
            }
            -64 => data.chunks_exact(8).map(|b| float(f64::from_be_bytes(b.try_into().unwrap_or([0; 8])))).collect(),
            other => return Err(unsupported(format!("FITS HDU {}: BITPIX = {other}", hdu.index))),
        };
        return Ok(FitsImage { width, height, values, header: hdu.header });
    }
    Err(unsupported("no image in this FITS file (only tables, or an empty primary HDU)".to_owned()))
}

/// One header and data unit: its number, header cards and data bytes (cut short where the
/// file is).
struct Hdu<'a> {
    index: usize,
    header: HashMap<String, String>,
    data: &'a [u8],
}

impl Hdu<'_> {
    fn is_table(&self) -> bool {
        self.header.get("XTENSION").is_some_and(|x| x == "BINTABLE")
    }
}

/// The HDUs of a file in order, ending at its end or at the first header that cannot be
/// read (given as the last item).
fn hdus(bytes: &[u8]) -> impl Iterator<Item = std::result::Result<Hdu<'_>, String>> {
    let mut offset = 0;
    let mut index = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || offset >= bytes.len() {
            return None;
        }
        let (header, data_start) = match read_header(bytes, offset) {
            Ok(found) => found,
            Err(message) => {
                failed = true;
                return Some(Err(message.to_owned()));
            }
        };
        let number = |key: &str| header.get(key).and_then(|v| v.parse::<i64>().ok());
        // Sizes from the header are untrusted: saturate rather than overflow; a size past
        // the end of the file ends the walk.
        let bitpix = (number("BITPIX").unwrap_or(8).unsigned_abs() / 8) as usize;
        let axes = number("NAXIS").unwrap_or(0).clamp(0, 999);
        let elements = (1..=axes)
            .map(|i| usize::try_from(number(&format!("NAXIS{i}")).unwrap_or(0).max(0)).unwrap_or(usize::MAX))
            .fold(if axes == 0 { 0 } else { 1 }, usize::saturating_mul);
        let data_bytes = if index == 0 && !header.contains_key("XTENSION") {
            elements.saturating_mul(bitpix)
        } else {
            let groups = usize::try_from(number("GCOUNT").unwrap_or(1).max(1)).unwrap_or(usize::MAX);
            let heap = usize::try_from(number("PCOUNT").unwrap_or(0).max(0)).unwrap_or(usize::MAX);
            elements.saturating_mul(bitpix).saturating_mul(groups).saturating_add(heap)
        };
        let hdu = Hdu { index, header, data: bytes.get(data_start..).unwrap_or(&[]) };
        offset = data_start.saturating_add(data_bytes).div_ceil(BLOCK).saturating_mul(BLOCK);
        index += 1;
        Some(Ok(hdu))
    })
}

/// One header: keyword → value (strings unquoted), and where its data starts.
fn read_header(bytes: &[u8], mut offset: usize) -> std::result::Result<(HashMap<String, String>, usize), String> {
    let mut header = HashMap::new();
    loop {
        let card = bytes.get(offset..offset + CARD).ok_or("the file ends inside a header (truncated?)")?;
        offset += CARD;
        let text = String::from_utf8_lossy(card);
        let key = text.get(..8).unwrap_or("").trim_end().to_owned();
        if key == "END" {
            return Ok((header, offset.div_ceil(BLOCK) * BLOCK));
        }
        // The first occurrence of a keyword counts, as in other FITS readers.
        if text.get(8..10) == Some("= ") {
            header.entry(key).or_insert_with(|| card_value(text.get(10..).unwrap_or("")));
        }
    }
}

fn card_value(text: &str) -> String {
    let text = text.trim_start();
    let Some(quoted) = text.strip_prefix('\'') else {
        return text.split('/').next().unwrap_or("").trim().to_owned();
    };
    let mut value = String::new();
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                break;
            }
        }
        value.push(c);
    }
    value.trim_end().to_owned()
}

/// A TDIM value as an arraysize (`(2,42177)` → `2x42177`) when its axes hold `repeat`
/// elements.
fn dimensions(tdim: &str, repeat: usize) -> Option<String> {
    let inner = tdim.trim().strip_prefix('(')?.strip_suffix(')')?;
    let axes: Vec<usize> = inner.split(',').map(|axis| axis.trim().parse().ok()).collect::<Option<_>>()?;
    let elements = axes.iter().try_fold(1usize, |product, &axis| product.checked_mul(axis))?;
    (axes.len() > 1 && elements == repeat).then(|| axes.iter().map(usize::to_string).collect::<Vec<_>>().join("x"))
}

struct FitsColumn {
    field: Field,
    bytes: usize,
    scale: Option<(f64, f64)>,
}

fn read_bintable(header: &HashMap<String, String>, data: &[u8], hdu: usize) -> Result<TableData> {
    let unsupported = |message: String| VoTableError::Unsupported(format!("FITS HDU {hdu}: {message}"));
    let number = |key: &str| header.get(key).and_then(|v| v.parse::<i64>().ok());
    let size = |key: &str| -> Result<usize> {
        let value = number(key).ok_or_else(|| unsupported(format!("no {key}")))?;
        usize::try_from(value).map_err(|_| unsupported(format!("{key} = {value}")))
    };
    let row_bytes = size("NAXIS1")?;
    let rows = size("NAXIS2")?;
    let fields = size("TFIELDS")?.min(999);
    let mut columns = Vec::with_capacity(fields);
    for n in 1..=fields {
        let form = header.get(&format!("TFORM{n}")).ok_or_else(|| unsupported(format!("no TFORM{n}")))?;
        let (repeat, code) = split_tform(form).ok_or_else(|| unsupported(format!("bad TFORM{n} = {form:?}")))?;
        let (datatype, element_bytes) = match code {
            'L' => (Datatype::Boolean, 1),
            'X' => (Datatype::Bit, 0),
            'B' => (Datatype::UnsignedByte, 1),
            'I' => (Datatype::Short, 2),
            'J' => (Datatype::Int, 4),
            'K' => (Datatype::Long, 8),
            'A' => (Datatype::Char, 1),
            'E' => (Datatype::Float, 4),
            'D' => (Datatype::Double, 8),
            'C' => (Datatype::FloatComplex, 8),
            'M' => (Datatype::DoubleComplex, 16),
            'P' | 'Q' => return Err(unsupported(format!("variable-length array column {n} ({form})"))),
            other => return Err(unsupported(format!("unknown TFORM code {other:?} in column {n}"))),
        };
        // No column can be wider than the row: that bounds the repeat count first.
        if repeat > row_bytes.saturating_mul(8) {
            return Err(unsupported(format!("TFORM{n} = {form:?} is wider than the {row_bytes}-byte row")));
        }
        let bytes = if datatype == Datatype::Bit { repeat.div_ceil(8) } else { repeat.saturating_mul(element_bytes) };
        let text = |key: &str| header.get(&format!("{key}{n}")).filter(|v| !v.is_empty()).cloned();
        let arraysize_text = match (datatype, repeat) {
            (Datatype::Char, r) => Some(r.to_string()),
            (_, 1) => None,
            // TDIMn = '(2,42177)' keeps the shape of an array cell, first axis fastest as in
            // VOTable's arraysize 2x42177; a TDIM that does not fit the cell is ignored.
            (_, r) => Some(text("TDIM").and_then(|tdim| dimensions(&tdim, r)).unwrap_or_else(|| r.to_string())),
        };
        let arraysize = match &arraysize_text {
            Some(text) => Some(ArraySize::parse(text, usize::MAX).map_err(unsupported)?),
            None => None,
        };
        let scale = match (
            text("TSCAL").and_then(|v| v.parse::<f64>().ok()),
            text("TZERO").and_then(|v| v.parse::<f64>().ok()),
        ) {
            (None | Some(1.0), None | Some(0.0)) => None,
            (scal, zero) => Some((scal.unwrap_or(1.0), zero.unwrap_or(0.0))),
        };
        columns.push(FitsColumn {
            field: Field {
                name: text("TTYPE").unwrap_or_else(|| format!("col{n}")),
                id: None,
                datatype,
                arraysize,
                arraysize_text,
                unit: text("TUNIT"),
                ucd: text("TUCD"),
                utype: text("TUTYP"),
                xtype: None,
                reference: None,
                width: None,
                precision: None,
                description: text("TCOMM"),
                values: Values { null: text("TNULL"), ..Values::default() },
                links: Vec::new(),
            },
            bytes,
            scale,
        });
    }
    let used = columns.iter().map(|c| c.bytes).fold(0usize, usize::saturating_add);
    if used != row_bytes {
        return Err(unsupported(format!("the columns take {used} bytes of each {row_bytes}-byte row")));
    }
    let table_bytes = row_bytes.checked_mul(rows).ok_or_else(|| unsupported("the table size overflows".to_owned()))?;
    let table = data.get(..table_bytes).ok_or_else(|| {
        unsupported(format!("the file is truncated: the table needs {table_bytes} bytes, it holds {}", data.len()))
    })?;

    let mut builders: Vec<ColumnBuilder> = columns
        .iter()
        .map(|c| ColumnBuilder::new(c.field.layout(), c.field.values.null.as_deref(), usize::MAX))
        .collect();
    let raw_fields: Vec<ArrowField> = columns.iter().map(|c| c.field.to_arrow()).collect();
    let mut batches = Vec::new();
    let mut schema: Option<Arc<Schema>> = None;
    for (start_row, chunk) in table.chunks(row_bytes.max(1).saturating_mul(65_536)).enumerate() {
        for (row_in_chunk, row) in chunk.chunks_exact(row_bytes.max(1)).enumerate() {
            let mut at = 0;
            for (i, (builder, column)) in builders.iter_mut().zip(&columns).enumerate() {
                let cell = row.get(at..at + column.bytes).unwrap_or(&[]);
                at += column.bytes;
                let cell = trim_fits_string(column.field.datatype, cell);
                builder.push_binary(&cell, false).map_err(|message| VoTableError::BadValue {
                    table: hdu,
                    row: start_row * 65_536 + row_in_chunk,
                    column: columns.get(i).map(|c| c.field.name.clone()).unwrap_or_default(),
                    message,
                })?;
            }
        }
        let mut arrays = Vec::with_capacity(builders.len());
        for ((builder, field), column) in builders.iter_mut().zip(&raw_fields).zip(&columns) {
            let array = builder.finish(field)?;
            arrays.push(match column.scale {
                Some((scal, zero)) => apply_scale(&array, scal, zero).ok_or_else(|| {
                    unsupported(format!("TSCAL/TZERO on column {:?} of type {}", column.field.name, array.data_type()))
                })?,
                None => array,
            });
        }
        let batch_schema = schema.get_or_insert_with(|| {
            Arc::new(Schema::new(
                raw_fields
                    .iter()
                    .zip(&arrays)
                    .map(|(f, a)| f.clone().with_data_type(a.data_type().clone()))
                    .collect::<Vec<_>>(),
            ))
        });
        batches.push(RecordBatch::try_new(batch_schema.clone(), arrays)?);
    }
    let schema = schema.unwrap_or_else(|| Arc::new(Schema::new(raw_fields)));
    Ok(TableData { schema, batches, options: WriteOptions::default(), diagnostic_count: 0 })
}

/// `rT` with an optional repeat count r (default 1); for P/Q, the descriptor's type follows.
fn split_tform(form: &str) -> Option<(usize, char)> {
    let form = form.trim();
    let digits = form.chars().take_while(char::is_ascii_digit).count();
    let repeat = if digits == 0 { 1 } else { form.get(..digits)?.parse().ok()? };
    let code = form.get(digits..)?.chars().next()?;
    Some((repeat, code))
}

/// FITS strings are padded with blanks (or NULs): a char cell gives back its text.
fn trim_fits_string(datatype: Datatype, cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if datatype != Datatype::Char {
        return std::borrow::Cow::Borrowed(cell);
    }
    let end = cell.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |p| p + 1);
    let mut padded = cell[..end].to_vec();
    padded.resize(cell.len(), 0);
    std::borrow::Cow::Owned(padded)
}

/// physical = zero + scal × stored. The unsigned conventions widen the integer type; any
/// other scaling gives doubles. `None` for types it does not apply to.
fn apply_scale(array: &ArrayRef, scal: f64, zero: f64) -> Option<ArrayRef> {
    if let DataType::FixedSizeList(item, n) = array.data_type() {
        let list = array.as_fixed_size_list();
        let values = apply_scale(list.values(), scal, zero)?;
        let item = Arc::new(item.as_ref().clone().with_data_type(values.data_type().clone()));
        return FixedSizeListArray::try_new(item, *n, values, list.nulls().cloned())
            .ok()
            .map(|a| Arc::new(a) as ArrayRef);
    }
    let nulls = array.nulls().cloned();
    let unsigned = scal == 1.0;
    Some(match array.data_type() {
        DataType::Int16 if unsigned && zero == 32768.0 => Arc::new(Int32Array::new(
            array.as_primitive::<Int16Type>().values().iter().map(|&v| i32::from(v) + 32768).collect(),
            nulls,
        )),
        DataType::Int32 if unsigned && zero == 2_147_483_648.0 => Arc::new(Int64Array::new(
            array.as_primitive::<Int32Type>().values().iter().map(|&v| i64::from(v) + 2_147_483_648).collect(),
            nulls,
        )),
        DataType::Int64 if unsigned && zero == 9_223_372_036_854_775_808.0 => Arc::new(UInt64Array::new(
            array.as_primitive::<Int64Type>().values().iter().map(|&v| (v as u64) ^ (1 << 63)).collect(),
            nulls,
        )),
        DataType::UInt8 if unsigned && zero == -128.0 => Arc::new(Int16Array::new(
            array.as_primitive::<UInt8Type>().values().iter().map(|&v| i16::from(v) - 128).collect(),
            nulls,
        )),
        data_type => {
            let physical: Vec<f64> = match data_type {
                DataType::UInt8 => array.as_primitive::<UInt8Type>().values().iter().map(|&v| f64::from(v)).collect(),
                DataType::Int16 => array.as_primitive::<Int16Type>().values().iter().map(|&v| f64::from(v)).collect(),
                DataType::Int32 => array.as_primitive::<Int32Type>().values().iter().map(|&v| f64::from(v)).collect(),
                DataType::Int64 => array.as_primitive::<Int64Type>().values().iter().map(|&v| v as f64).collect(),
                DataType::Float32 => {
                    array.as_primitive::<Float32Type>().values().iter().map(|&v| f64::from(v)).collect()
                }
                DataType::Float64 => array.as_primitive::<Float64Type>().values().to_vec(),
                _ => return None,
            };
            Arc::new(Float64Array::new(physical.into_iter().map(|v| zero + scal * v).collect(), nulls))
        }
    })
}

/// Writes one table as a FITS file: an empty primary HDU and a BINTABLE. Strings become
/// fixed-width `A` columns as wide as their longest value; nulls are NaN for floats, TNULL
/// for integers, blank for strings and 0 for logicals. Variable-length arrays are not
/// written yet.
pub fn write_fits_table<W: std::io::Write>(out: &mut W, schema: &Schema, batches: &[RecordBatch]) -> Result<()> {
    let (schema, batches) = crate::writer::without_null_type(schema, batches)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut plans = Vec::with_capacity(schema.fields().len());
    for (index, field) in schema.fields().iter().enumerate() {
        plans.push(plan_fits_column(field, &batches, index)?);
    }
    let row_bytes: usize = plans.iter().map(|p| p.bytes).sum();

    let mut primary = FitsHeader::default();
    primary.logical("SIMPLE", true);
    primary.integer("BITPIX", 8);
    primary.integer("NAXIS", 0);
    primary.logical("EXTEND", true);
    primary.write(out)?;

    let mut header = FitsHeader::default();
    header.string("XTENSION", "BINTABLE");
    header.integer("BITPIX", 8);
    header.integer("NAXIS", 2);
    header.integer("NAXIS1", row_bytes as i64);
    header.integer("NAXIS2", rows as i64);
    header.integer("PCOUNT", 0);
    header.integer("GCOUNT", 1);
    header.integer("TFIELDS", plans.len() as i64);
    for (n, (field, plan)) in schema.fields().iter().zip(&plans).enumerate() {
        let n = n + 1;
        header.string(&format!("TTYPE{n}"), field.name());
        header.string(&format!("TFORM{n}"), &plan.tform);
        let metadata = field.metadata();
        if let Some(unit) = metadata.get(crate::model::meta::UNIT) {
            header.string(&format!("TUNIT{n}"), unit);
        }
        if let Some(ucd) = metadata.get(crate::model::meta::UCD) {
            header.string(&format!("TUCD{n}"), ucd);
        }
        if let Some(description) = metadata.get(crate::model::meta::DESCRIPTION) {
            header.string(&format!("TCOMM{n}"), description);
        }
        if let Some(null) = plan.tnull {
            header.integer(&format!("TNULL{n}"), null);
        }
        if let Some(zero) = plan.tzero {
            header.text(&format!("TZERO{n}"), zero);
        }
    }
    header.write(out)?;

    // Columns are encoded whole (plain numbers straight from their buffers), then
    // interleaved into rows a block of rows at a time.
    let mut written = 0usize;
    for batch in &batches {
        for start in (0..batch.num_rows()).step_by(ROWS_PER_BLOCK) {
            let count = ROWS_PER_BLOCK.min(batch.num_rows() - start);
            let encoded: Vec<Vec<u8>> = batch
                .columns()
                .iter()
                .zip(&plans)
                .map(|(column, plan)| encode_fits_column(&column.slice(start, count), plan))
                .collect();
            let mut rows = Vec::with_capacity(count * row_bytes);
            for r in 0..count {
                for (bytes, plan) in encoded.iter().zip(&plans) {
                    rows.extend_from_slice(&bytes[r * plan.bytes..(r + 1) * plan.bytes]);
                }
            }
            out.write_all(&rows)?;
            written += rows.len();
        }
    }
    let padding = (BLOCK - written % BLOCK) % BLOCK;
    out.write_all(&vec![0u8; padding])?;
    Ok(())
}

struct FitsPlan {
    tform: String,
    bytes: usize,
    kind: FitsKind,
    /// Elements per cell (1 for scalars).
    count: usize,
    tnull: Option<i64>,
    tzero: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq)]
enum FitsKind {
    Logical,
    Byte,
    Short,
    Int,
    Long,
    UnsignedLong,
    Float,
    Double,
    ComplexFloat,
    ComplexDouble,
    Text,
}

fn plan_fits_column(field: &ArrowField, batches: &[RecordBatch], index: usize) -> Result<FitsPlan> {
    let unsupported = || {
        VoTableError::Unsupported(format!(
            "column {:?} of type {} cannot be written to FITS yet",
            field.name(),
            field.data_type()
        ))
    };
    let declared = field.metadata().get(crate::model::meta::DATATYPE).map(String::as_str);
    let complex = matches!(declared, Some("floatComplex" | "doubleComplex"));
    let (element, count) = match field.data_type() {
        DataType::FixedSizeList(item, 2) if complex && item.data_type().is_floating() => (field.data_type().clone(), 1),
        DataType::FixedSizeList(item, n) => (item.data_type().clone(), usize::try_from(*n).map_err(|_| unsupported())?),
        other => (other.clone(), 1),
    };
    let (kind, code, size) = match &element {
        DataType::Boolean => (FitsKind::Logical, 'L', 1),
        DataType::UInt8 => (FitsKind::Byte, 'B', 1),
        DataType::Int8 | DataType::Int16 => (FitsKind::Short, 'I', 2),
        DataType::UInt16 | DataType::Int32 => (FitsKind::Int, 'J', 4),
        DataType::UInt32 | DataType::Int64 => (FitsKind::Long, 'K', 8),
        DataType::UInt64 => (FitsKind::UnsignedLong, 'K', 8),
        DataType::Float32 => (FitsKind::Float, 'E', 4),
        DataType::Float64 => (FitsKind::Double, 'D', 8),
        DataType::FixedSizeList(item, 2) if item.data_type() == &DataType::Float32 => (FitsKind::ComplexFloat, 'C', 8),
        DataType::FixedSizeList(item, 2) if item.data_type() == &DataType::Float64 => {
            (FitsKind::ComplexDouble, 'M', 16)
        }
        DataType::Utf8 if count == 1 => {
            // As wide as the longest value (at least one character).
            let width = batches
                .iter()
                .flat_map(|b| b.column(index).as_string::<i32>().iter().flatten().map(str::len).collect::<Vec<_>>())
                .max()
                .unwrap_or(1)
                .max(1);
            return Ok(FitsPlan {
                tform: format!("{width}A"),
                bytes: width,
                kind: FitsKind::Text,
                count: width,
                tnull: None,
                tzero: None,
            });
        }
        _ => return Err(unsupported()),
    };
    let has_nulls = batches.iter().any(|b| b.column(index).null_count() > 0);
    let tnull = match kind {
        FitsKind::Byte | FitsKind::Short | FitsKind::Int | FitsKind::Long if has_nulls => Some(match kind {
            FitsKind::Byte => 255,
            FitsKind::Short => i64::from(i16::MIN),
            FitsKind::Int => i64::from(i32::MIN),
            _ => i64::MIN,
        }),
        _ => None,
    };
    let tzero = (kind == FitsKind::UnsignedLong).then_some("9223372036854775808");
    Ok(FitsPlan { tform: format!("{count}{code}"), bytes: count * size, kind, count, tnull, tzero })
}

/// Rows encoded at a time when writing a table.
const ROWS_PER_BLOCK: usize = 16_384;

/// A column's cells in FITS form, one after the other: columns of plain numbers without
/// nulls straight from their buffers, the rest cell by cell.
fn encode_fits_column(column: &ArrayRef, plan: &FitsPlan) -> Vec<u8> {
    let mut out = Vec::with_capacity(column.len() * plan.bytes);
    if column.null_count() == 0 && plan.count == 1 {
        macro_rules! plain {
            ($kind:ident, $type:ty) => {
                if plan.kind == FitsKind::$kind
                    && column.data_type() == &<$type as arrow_array::ArrowPrimitiveType>::DATA_TYPE
                {
                    for value in column.as_primitive::<$type>().values() {
                        out.extend_from_slice(&value.to_be_bytes());
                    }
                    return out;
                }
            };
        }
        plain!(Double, Float64Type);
        plain!(Float, Float32Type);
        plain!(Long, Int64Type);
        plain!(Int, Int32Type);
        plain!(Short, Int16Type);
    }
    for row in 0..column.len() {
        encode_fits_cell(column, row, plan, &mut out);
    }
    out
}

fn encode_fits_cell(column: &ArrayRef, row: usize, plan: &FitsPlan, out: &mut Vec<u8>) {
    let null = column.is_null(row);
    if plan.kind == FitsKind::Text {
        let text = if null { "" } else { column.as_string::<i32>().value(row) };
        let start = out.len();
        out.extend_from_slice(&text.as_bytes()[..text.len().min(plan.bytes)]);
        out.resize(start + plan.bytes, b' ');
        return;
    }
    // A fixed array's elements, or the scalar column itself at `row` (no slice per cell:
    // slicing allocates, and cells are most of a table's writing time).
    let elements;
    let (values, base): (&ArrayRef, usize) = match column.data_type() {
        DataType::FixedSizeList(_, _)
            if plan.count > 1 || !matches!(plan.kind, FitsKind::ComplexFloat | FitsKind::ComplexDouble) =>
        {
            elements = column.as_fixed_size_list().value(row);
            (&elements, 0)
        }
        _ => (column, row),
    };
    for element in 0..plan.count {
        let i = base + element;
        let element_null = null || values.is_null(i);
        let sentinel = plan.tnull.unwrap_or(0);
        match plan.kind {
            FitsKind::Logical => out.push(if element_null {
                0
            } else if values.as_boolean().value(i) {
                b'T'
            } else {
                b'F'
            }),
            FitsKind::Byte => {
                out.push(if element_null { sentinel as u8 } else { values.as_primitive::<UInt8Type>().value(i) })
            }
            FitsKind::Short => {
                let v = if element_null {
                    sentinel as i16
                } else {
                    match values.data_type() {
                        DataType::Int8 => i16::from(values.as_primitive::<arrow_array::types::Int8Type>().value(i)),
                        _ => values.as_primitive::<Int16Type>().value(i),
                    }
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            FitsKind::Int => {
                let v = if element_null {
                    sentinel as i32
                } else {
                    match values.data_type() {
                        DataType::UInt16 => i32::from(values.as_primitive::<arrow_array::types::UInt16Type>().value(i)),
                        _ => values.as_primitive::<Int32Type>().value(i),
                    }
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            FitsKind::Long => {
                let v = if element_null {
                    sentinel
                } else {
                    match values.data_type() {
                        DataType::UInt32 => i64::from(values.as_primitive::<arrow_array::types::UInt32Type>().value(i)),
                        _ => values.as_primitive::<Int64Type>().value(i),
                    }
                };
                out.extend_from_slice(&v.to_be_bytes());
            }
            FitsKind::UnsignedLong => {
                let v = if element_null { 0 } else { values.as_primitive::<arrow_array::types::UInt64Type>().value(i) };
                out.extend_from_slice(&((v ^ (1 << 63)) as i64).to_be_bytes());
            }
            FitsKind::Float => {
                let v = if element_null { f32::NAN } else { values.as_primitive::<Float32Type>().value(i) };
                out.extend_from_slice(&v.to_be_bytes());
            }
            FitsKind::Double => {
                let v = if element_null { f64::NAN } else { values.as_primitive::<Float64Type>().value(i) };
                out.extend_from_slice(&v.to_be_bytes());
            }
            FitsKind::ComplexFloat | FitsKind::ComplexDouble => {
                let parts = values.as_fixed_size_list().value(i);
                for j in 0..2 {
                    if plan.kind == FitsKind::ComplexFloat {
                        let v = if element_null { f32::NAN } else { parts.as_primitive::<Float32Type>().value(j) };
                        out.extend_from_slice(&v.to_be_bytes());
                    } else {
                        let v = if element_null { f64::NAN } else { parts.as_primitive::<Float64Type>().value(j) };
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
            FitsKind::Text => {}
        }
    }
}

/// A FITS header being written: cards of 80 characters, ended by END and padded to a
/// 2880-byte block. Used for tables here and for images by `skyglass render`.
#[derive(Default)]
pub struct FitsHeader {
    cards: Vec<String>,
}

impl FitsHeader {
    /// A card with its value written as given (already formatted).
    pub fn card(&mut self, key: &str, value: &str) {
        let mut card = format!("{key:<8}= {value}");
        // Keep to 80 characters; longer strings are cut (CONTINUE cards are not written).
        while card.len() > 80 {
            card.pop();
        }
        if card.matches('\'').count() % 2 == 1 {
            card.pop();
            card.push('\'');
        }
        self.cards.push(format!("{card:<80}"));
    }

    pub fn logical(&mut self, key: &str, value: bool) {
        self.card(key, &format!("{:>20}", if value { "T" } else { "F" }));
    }

    pub fn integer(&mut self, key: &str, value: i64) {
        self.card(key, &format!("{value:>20}"));
    }

    /// A real number, exactly (shortest round-trip form, with an exponent in FITS style).
    pub fn real(&mut self, key: &str, value: f64) {
        let text = if value.is_finite() { format!("{value:?}").replace('e', "E") } else { "0.0".to_owned() };
        let text = if text.contains(['.', 'E']) { text } else { format!("{text}.0") };
        self.card(key, &format!("{text:>20}"));
    }

    fn text(&mut self, key: &str, value: &str) {
        self.card(key, &format!("{value:>20}"));
    }

    pub fn string(&mut self, key: &str, value: &str) {
        let printable: String = value.chars().map(|c| if (' '..='~').contains(&c) { c } else { '?' }).collect();
        let escaped = printable.replace('\'', "''");
        self.card(key, &format!("'{escaped:<8}'"));
    }

    pub fn write<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity((self.cards.len() + 1) * CARD);
        for card in &self.cards {
            bytes.extend_from_slice(card.as_bytes());
        }
        bytes.extend_from_slice(format!("{:<80}", "END").as_bytes());
        bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, b' ');
        out.write_all(&bytes)
    }
}
