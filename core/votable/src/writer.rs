//! Writing Arrow record batches as VOTable 1.4, in TABLEDATA or BINARY2, with the VO metadata
//! the fields carry (see [`crate::model::meta`]) turned back into FIELD attributes.

use crate::error::{Result, VoTableError};
use crate::model::{CooSys, Info, TimeSys, meta};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema};
use base64::Engine as _;
use std::collections::HashSet;
use std::io::Write;

/// How the rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serialization {
    /// XML cells: readable, larger and slower.
    TableData,
    /// Base64 binary with per-row null flags: compact and fast.
    Binary2,
}

/// What surrounds the table.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub table_name: Option<String>,
    pub description: Option<String>,
    /// INFOs of the RESOURCE, before the table (e.g. QUERY_STATUS OK, the query).
    pub infos_before: Vec<Info>,
    /// INFOs after the table (e.g. QUERY_STATUS OVERFLOW, as DALI wants it).
    pub infos_after: Vec<Info>,
    /// Coordinate and time systems, written before the table; FIELDs point to them by `ref`.
    pub coosys: Vec<CooSys>,
    pub timesys: Vec<TimeSys>,
}

/// One column as it will be written: its VOTable datatype and how to read its values.
struct Column {
    datatype: &'static str,
    arraysize: Option<String>,
    kind: Kind,
    /// Whether each cell is an array of `kind` (a List or FixedSizeList of elements).
    is_array: bool,
    /// Elements per cell of a fixed-size array.
    fixed_count: Option<usize>,
    /// The VALUES null of an integer fixed-size array with null cells: TABLEDATA writes such
    /// cells as this value repeated (an empty cell is not a valid fixed-size array).
    null_sentinel: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Bool,
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
    /// Strings, written as char when every one is ASCII, else as unicodeChar.
    Text {
        unicode: bool,
    },
    ComplexF32,
    ComplexF64,
}

/// Writes one table as a complete VOTable document.
pub fn write_votable<W: Write>(
    out: &mut W,
    schema: &Schema,
    batches: &[RecordBatch],
    serialization: Serialization,
    options: &WriteOptions,
) -> Result<()> {
    let (schema, batches) = &without_null_type(schema, batches)?;
    let columns: Vec<Column> =
        schema.fields().iter().enumerate().map(|(i, f)| plan_column(f, batches, i)).collect::<Result<_>>()?;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#
    )?;
    writeln!(out, r#"<RESOURCE type="results">"#)?;
    for info in &options.infos_before {
        write_info(out, info)?;
    }
    // A `ref` must name an element of this document; others are dropped rather than dangle.
    let mut ids: HashSet<String> = HashSet::new();
    for coosys in &options.coosys {
        write_coosys(out, coosys)?;
        ids.extend(coosys.id.clone());
    }
    for timesys in &options.timesys {
        write_timesys(out, timesys)?;
        ids.extend(timesys.id.clone());
    }
    ids.extend(schema.fields().iter().filter_map(|f| f.metadata().get(meta::ID).cloned()));
    match &options.table_name {
        Some(name) => writeln!(out, r#"<TABLE name="{}">"#, escape(name))?,
        None => writeln!(out, "<TABLE>")?,
    }
    if let Some(description) = &options.description {
        writeln!(out, "<DESCRIPTION>{}</DESCRIPTION>", escape(description))?;
    }
    for (field, column) in schema.fields().iter().zip(&columns) {
        write_field(out, field, column, &ids)?;
    }
    writeln!(out, "<DATA>")?;
    match serialization {
        Serialization::TableData => write_tabledata(out, batches, &columns)?,
        Serialization::Binary2 => write_binary2(out, batches, &columns)?,
    }
    writeln!(out, "</DATA>")?;
    writeln!(out, "</TABLE>")?;
    for info in &options.infos_after {
        write_info(out, info)?;
    }
    writeln!(out, "</RESOURCE>")?;
    writeln!(out, "</VOTABLE>")?;
    Ok(())
}

/// Columns of Arrow's Null type (a CSV column with no value at all) become null strings,
/// which VOTable can hold.
pub(crate) fn without_null_type(schema: &Schema, batches: &[RecordBatch]) -> Result<(Schema, Vec<RecordBatch>)> {
    if !schema.fields().iter().any(|f| f.data_type() == &DataType::Null) {
        return Ok((schema.clone(), batches.to_vec()));
    }
    let fields: Vec<ArrowField> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Null => f.as_ref().clone().with_data_type(DataType::Utf8).with_nullable(true),
            _ => f.as_ref().clone(),
        })
        .collect();
    let new_schema = std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Null => arrow_array::new_null_array(&DataType::Utf8, c.len()),
                _ => c.clone(),
            })
            .collect();
        out.push(RecordBatch::try_new(new_schema.clone(), columns)?);
    }
    Ok((new_schema.as_ref().clone(), out))
}

fn plan_column(field: &ArrowField, batches: &[RecordBatch], index: usize) -> Result<Column> {
    let unsupported = || {
        VoTableError::Unsupported(format!(
            "column {:?} of type {} cannot be written to VOTable",
            field.name(),
            field.data_type()
        ))
    };
    let declared = field.metadata().get(meta::DATATYPE).map(String::as_str);
    let (element, shape) = match field.data_type() {
        // A pair of floats declared complex is one complex number, not an array.
        DataType::FixedSizeList(item, 2)
            if matches!(item.data_type(), DataType::Float32 | DataType::Float64)
                && matches!(declared, Some("floatComplex" | "doubleComplex")) =>
        {
            (field.data_type().clone(), None)
        }
        DataType::FixedSizeList(item, n) => (item.data_type().clone(), Some(n.to_string())),
        DataType::List(item) | DataType::LargeList(item) => (item.data_type().clone(), Some("*".to_owned())),
        other => (other.clone(), None),
    };
    let kind = match &element {
        DataType::Boolean => Kind::Bool,
        DataType::UInt8 => Kind::U8,
        DataType::Int8 => Kind::I8,
        DataType::Int16 => Kind::I16,
        DataType::UInt16 => Kind::U16,
        DataType::Int32 => Kind::I32,
        DataType::UInt32 => Kind::U32,
        DataType::Int64 => Kind::I64,
        DataType::UInt64 => Kind::U64,
        DataType::Float32 => Kind::F32,
        DataType::Float64 => Kind::F64,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            // A column read as unicodeChar stays so; others are char unless they need more than ASCII.
            let unicode =
                declared == Some("unicodeChar") || !batches.iter().all(|b| strings_are_ascii(b.column(index)));
            Kind::Text { unicode }
        }
        DataType::FixedSizeList(item, 2) if item.data_type() == &DataType::Float32 => Kind::ComplexF32,
        DataType::FixedSizeList(item, 2) if item.data_type() == &DataType::Float64 => Kind::ComplexF64,
        _ => return Err(unsupported()),
    };
    let datatype = match kind {
        // Bits are written as booleans: STILTS fails on scalar bits and astropy on
        // variable-length bit arrays, while both read booleans. Only compactness is lost.
        Kind::Bool => "boolean",
        Kind::U8 => "unsignedByte",
        // VOTable has no signed byte or unsigned wider types: widen.
        Kind::I8 | Kind::I16 => "short",
        Kind::U16 | Kind::I32 => "int",
        Kind::U32 | Kind::I64 | Kind::U64 => "long",
        Kind::F32 => "float",
        Kind::F64 => "double",
        Kind::Text { unicode: false } => "char",
        Kind::Text { unicode: true } => "unicodeChar",
        Kind::ComplexF32 => "floatComplex",
        Kind::ComplexF64 => "doubleComplex",
    };
    let is_array = shape.is_some();
    let fixed_count = match field.data_type() {
        DataType::FixedSizeList(_, n) if is_array => usize::try_from(*n).ok(),
        _ => None,
    };
    let integer =
        matches!(kind, Kind::U8 | Kind::I8 | Kind::I16 | Kind::U16 | Kind::I32 | Kind::U32 | Kind::I64 | Kind::U64);
    let has_nulls = batches.iter().any(|b| b.column(index).null_count() > 0);
    let null_sentinel = if fixed_count.is_some() && integer && has_nulls {
        Some(choose_sentinel(kind, batches, index).ok_or_else(|| {
            VoTableError::Unsupported(format!(
                "column {:?} uses every value of its type: no null value is left",
                field.name()
            ))
        })?)
    } else {
        None
    };
    // Strings are variable-length character arrays; arrays of strings are not written.
    let arraysize = match (kind, shape) {
        (Kind::Text { .. }, None) => Some("*".to_owned()),
        (Kind::Text { .. }, Some(_)) => return Err(unsupported()),
        (_, shape) => shape,
    };
    Ok(Column { datatype, arraysize, kind, is_array, fixed_count, null_sentinel })
}

/// The lowest value of the written type (highest for unsignedByte) that the column does not use.
fn choose_sentinel(kind: Kind, batches: &[RecordBatch], index: usize) -> Option<i64> {
    let used: std::collections::HashSet<i64> = batches
        .iter()
        .flat_map(|b| {
            let values = b.column(index).as_fixed_size_list().values().clone();
            (0..values.len()).map(move |i| integer_value(&values, i, kind))
        })
        .collect();
    let candidates: Box<dyn Iterator<Item = i64>> = match kind {
        Kind::U8 => Box::new((0..=255).rev()),
        Kind::I8 | Kind::I16 => Box::new(i64::from(i16::MIN)..=i64::from(i16::MAX)),
        Kind::U16 | Kind::I32 => Box::new(i64::from(i32::MIN)..=i64::from(i32::MAX)),
        _ => Box::new(i64::MIN..=i64::MAX),
    };
    candidates.take(1 << 20).find(|c| !used.contains(c))
}

fn integer_value(values: &ArrayRef, i: usize, kind: Kind) -> i64 {
    match kind {
        Kind::U8 => i64::from(values.as_primitive::<UInt8Type>().value(i)),
        Kind::I8 => i64::from(values.as_primitive::<Int8Type>().value(i)),
        Kind::I16 => i64::from(values.as_primitive::<Int16Type>().value(i)),
        Kind::U16 => i64::from(values.as_primitive::<UInt16Type>().value(i)),
        Kind::I32 => i64::from(values.as_primitive::<Int32Type>().value(i)),
        Kind::U32 => i64::from(values.as_primitive::<UInt32Type>().value(i)),
        Kind::I64 => values.as_primitive::<Int64Type>().value(i),
        Kind::U64 => values.as_primitive::<UInt64Type>().value(i) as i64,
        _ => 0,
    }
}

fn strings_are_ascii(array: &ArrayRef) -> bool {
    let strings: Box<dyn Iterator<Item = Option<&str>>> = match array.data_type() {
        DataType::Utf8 => Box::new(array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => Box::new(array.as_string::<i64>().iter()),
        DataType::Utf8View => Box::new(array.as_string_view().iter()),
        _ => return true,
    };
    strings.flatten().all(|s| s.is_ascii())
}

fn write_field<W: Write>(out: &mut W, field: &ArrowField, column: &Column, ids: &HashSet<String>) -> Result<()> {
    let metadata = field.metadata();
    write!(out, r#"<FIELD name="{}" datatype="{}""#, escape(field.name()), column.datatype)?;
    if let Some(arraysize) = &column.arraysize {
        write!(out, r#" arraysize="{}""#, escape(arraysize))?;
    }
    for (key, attribute) in [
        (meta::UNIT, "unit"),
        (meta::UCD, "ucd"),
        (meta::UTYPE, "utype"),
        (meta::XTYPE, "xtype"),
        (meta::ID, "ID"),
        (meta::REF, "ref"),
        (meta::WIDTH, "width"),
        (meta::PRECISION, "precision"),
    ] {
        if let Some(value) = metadata.get(key) {
            if key == meta::REF && !ids.contains(value) {
                continue;
            }
            write!(out, r#" {attribute}="{}""#, escape(value))?;
        }
    }
    let description = metadata.get(meta::DESCRIPTION);
    if description.is_none() && column.null_sentinel.is_none() {
        writeln!(out, "/>")?;
        return Ok(());
    }
    writeln!(out, ">")?;
    if let Some(description) = description {
        writeln!(out, "<DESCRIPTION>{}</DESCRIPTION>", escape(description))?;
    }
    if let Some(sentinel) = column.null_sentinel {
        writeln!(out, r#"<VALUES null="{sentinel}"/>"#)?;
    }
    writeln!(out, "</FIELD>")?;
    Ok(())
}

fn write_coosys<W: Write>(out: &mut W, coosys: &CooSys) -> Result<()> {
    write!(out, "<COOSYS")?;
    for (name, value) in [
        ("ID", &coosys.id),
        ("system", &coosys.system),
        ("equinox", &coosys.equinox),
        ("epoch", &coosys.epoch),
        ("refposition", &coosys.refposition),
    ] {
        if let Some(value) = value {
            write!(out, r#" {name}="{}""#, escape(value))?;
        }
    }
    writeln!(out, "/>")?;
    Ok(())
}

fn write_timesys<W: Write>(out: &mut W, timesys: &TimeSys) -> Result<()> {
    write!(out, "<TIMESYS")?;
    for (name, value) in [
        ("ID", &timesys.id),
        ("timeorigin", &timesys.timeorigin),
        ("timescale", &timesys.timescale),
        ("refposition", &timesys.refposition),
    ] {
        if let Some(value) = value {
            write!(out, r#" {name}="{}""#, escape(value))?;
        }
    }
    writeln!(out, "/>")?;
    Ok(())
}

fn write_info<W: Write>(out: &mut W, info: &Info) -> Result<()> {
    write!(out, r#"<INFO name="{}" value="{}""#, escape(&info.name), escape(&info.value))?;
    match &info.content {
        Some(content) => writeln!(out, ">{}</INFO>", escape(content))?,
        None => writeln!(out, "/>")?,
    }
    Ok(())
}

/// XML-escapes text; characters XML 1.0 cannot carry become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn write_tabledata<W: Write>(out: &mut W, batches: &[RecordBatch], columns: &[Column]) -> Result<()> {
    writeln!(out, "<TABLEDATA>")?;
    let mut cell = String::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.write_all(b"<TR>")?;
            for (array, column) in batch.columns().iter().zip(columns) {
                if array.is_null(row) {
                    match null_cell(column) {
                        Some(text) => write!(out, "<TD>{text}</TD>")?,
                        None => out.write_all(b"<TD/>")?,
                    }
                    continue;
                }
                cell.clear();
                format_cell(array, row, column, &mut cell)?;
                write!(out, "<TD>{}</TD>", escape(&cell))?;
            }
            out.write_all(b"</TR>\n")?;
        }
    }
    writeln!(out, "</TABLEDATA>")?;
    Ok(())
}

/// A null cell that cannot be an empty TD: a fixed-size array (its elements' null values)
/// or a complex number (NaN NaN), which STILTS reads as arrays of fixed size.
fn null_cell(column: &Column) -> Option<String> {
    let element = match column.kind {
        Kind::F32 | Kind::F64 => "NaN".to_owned(),
        Kind::ComplexF32 | Kind::ComplexF64 => "NaN NaN".to_owned(),
        Kind::Bool => "?".to_owned(),
        Kind::Text { .. } => return None,
        _ => column.null_sentinel?.to_string(),
    };
    match (column.fixed_count, column.is_array, column.kind) {
        (Some(n), _, _) => Some(vec![element; n].join(" ")),
        (None, false, Kind::ComplexF32 | Kind::ComplexF64) => Some(element),
        _ => None,
    }
}

/// One cell as TABLEDATA text: array elements separated by blanks.
fn format_cell(array: &ArrayRef, row: usize, column: &Column, out: &mut String) -> Result<()> {
    let bits = column.datatype == "bit";
    if !column.is_array {
        return format_elements(&array.slice(row, 1), column.kind, bits, out);
    }
    match array.data_type() {
        DataType::List(_) => {
            let values = array.as_list::<i32>().value(row);
            format_elements(&values, column.kind, bits, out)
        }
        DataType::LargeList(_) => {
            let values = array.as_list::<i64>().value(row);
            format_elements(&values, column.kind, bits, out)
        }
        _ => {
            let values = array.as_fixed_size_list().value(row);
            format_elements(&values, column.kind, bits, out)
        }
    }
}

/// `bits`: booleans of a `bit` column are written 1 and 0, not T and F.
fn format_elements(values: &ArrayRef, kind: Kind, bits: bool, out: &mut String) -> Result<()> {
    use std::fmt::Write as _;
    let mut first = true;
    let mut separate = |out: &mut String| {
        if !first {
            out.push(' ');
        }
        first = false;
    };
    for i in 0..values.len() {
        separate(out);
        let null = values.is_null(i);
        let _ = match kind {
            Kind::Bool => {
                let (yes, no) = if bits { ("1", "0") } else { ("T", "F") };
                write!(
                    out,
                    "{}",
                    if null {
                        "?"
                    } else if values.as_boolean().value(i) {
                        yes
                    } else {
                        no
                    }
                )
            }
            Kind::U8 => write!(out, "{}", values.as_primitive::<UInt8Type>().value(i)),
            Kind::I8 => write!(out, "{}", values.as_primitive::<Int8Type>().value(i)),
            Kind::I16 => write!(out, "{}", values.as_primitive::<Int16Type>().value(i)),
            Kind::U16 => write!(out, "{}", values.as_primitive::<UInt16Type>().value(i)),
            Kind::I32 => write!(out, "{}", values.as_primitive::<Int32Type>().value(i)),
            Kind::U32 => write!(out, "{}", values.as_primitive::<UInt32Type>().value(i)),
            Kind::I64 => write!(out, "{}", values.as_primitive::<Int64Type>().value(i)),
            Kind::U64 => write!(out, "{}", values.as_primitive::<UInt64Type>().value(i)),
            Kind::F32 => {
                write!(out, "{}", float_text(f64::from(values.as_primitive::<Float32Type>().value(i)), null, true))
            }
            Kind::F64 => write!(out, "{}", float_text(values.as_primitive::<Float64Type>().value(i), null, false)),
            Kind::Text { .. } => {
                out.push_str(string_value(values, i).unwrap_or(""));
                Ok(())
            }
            Kind::ComplexF32 | Kind::ComplexF64 => {
                let parts = values.as_fixed_size_list().value(i);
                let single = kind == Kind::ComplexF32;
                let part = |j: usize| match single {
                    true => f64::from(parts.as_primitive::<Float32Type>().value(j)),
                    false => parts.as_primitive::<Float64Type>().value(j),
                };
                write!(out, "{} {}", float_text(part(0), null, single), float_text(part(1), null, single))
            }
        };
    }
    Ok(())
}

/// The shortest text that reads back to the same float; NaN for nulls inside arrays.
fn float_text(value: f64, null: bool, single: bool) -> String {
    if null || value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() }
    } else if single {
        format!("{}", value as f32)
    } else {
        format!("{value}")
    }
}

fn string_value(array: &ArrayRef, i: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(array.as_string_view().value(i)),
        _ => None,
    }
}

fn write_binary2<W: Write>(out: &mut W, batches: &[RecordBatch], columns: &[Column]) -> Result<()> {
    writeln!(out, "<BINARY2>")?;
    writeln!(out, r#"<STREAM encoding="base64">"#)?;
    let flag_bytes = columns.len().div_ceil(8);
    let mut bytes: Vec<u8> = Vec::new();
    let mut encoder = LineEncoder::default();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let flags_at = bytes.len();
            bytes.resize(flags_at + flag_bytes, 0);
            for (i, (array, column)) in batch.columns().iter().zip(columns).enumerate() {
                let null = array.is_null(row);
                if null && let Some(flag) = bytes.get_mut(flags_at + i / 8) {
                    *flag |= 0x80 >> (i % 8);
                }
                encode_cell(array, row, column, null, &mut bytes)?;
            }
            // Encode whole base64 groups as the buffer fills, keeping memory bounded.
            if bytes.len() >= 1 << 16 {
                encoder.push(&mut bytes, out)?;
            }
        }
    }
    encoder.push(&mut bytes, out)?;
    encoder.finish(&mut bytes, out)?;
    writeln!(out, "</STREAM>")?;
    writeln!(out, "</BINARY2>")?;
    Ok(())
}

/// Base64 in lines of 76 characters, fed in pieces.
#[derive(Default)]
struct LineEncoder {
    column: usize,
    text: String,
}

impl LineEncoder {
    /// Encodes the whole 3-byte groups of `bytes` and keeps the rest.
    fn push<W: Write>(&mut self, bytes: &mut Vec<u8>, out: &mut W) -> Result<()> {
        let whole = bytes.len() / 3 * 3;
        self.text.clear();
        base64::engine::general_purpose::STANDARD.encode_string(&bytes[..whole], &mut self.text);
        bytes.drain(..whole);
        self.write_lines(out)
    }

    fn finish<W: Write>(&mut self, bytes: &mut Vec<u8>, out: &mut W) -> Result<()> {
        self.text.clear();
        base64::engine::general_purpose::STANDARD.encode_string(&bytes[..], &mut self.text);
        bytes.clear();
        self.write_lines(out)?;
        if self.column > 0 {
            writeln!(out)?;
        }
        Ok(())
    }

    fn write_lines<W: Write>(&mut self, out: &mut W) -> Result<()> {
        let mut rest = self.text.as_bytes();
        while !rest.is_empty() {
            let take = (76 - self.column).min(rest.len());
            out.write_all(&rest[..take])?;
            self.column += take;
            rest = &rest[take..];
            if self.column == 76 {
                out.write_all(b"\n")?;
                self.column = 0;
            }
        }
        Ok(())
    }
}

/// One BINARY2 cell: fixed-size values big-endian, variable ones after a 4-byte count.
fn encode_cell(array: &ArrayRef, row: usize, column: &Column, null: bool, bytes: &mut Vec<u8>) -> Result<()> {
    let kind = column.kind;
    match array.data_type() {
        DataType::List(_) | DataType::LargeList(_) if column.is_array => {
            let values = if null {
                None
            } else if let DataType::List(_) = array.data_type() {
                Some(array.as_list::<i32>().value(row))
            } else {
                Some(array.as_list::<i64>().value(row))
            };
            let count = values.as_ref().map_or(0, |v| v.len());
            let count = u32::try_from(count)
                .map_err(|_| VoTableError::Unsupported("an array of over 4G elements".to_owned()))?;
            if column.datatype == "bit" {
                bytes.extend_from_slice(&count.to_be_bytes());
                encode_bits(values.as_ref(), count as usize, bytes);
                return Ok(());
            }
            bytes.extend_from_slice(&count.to_be_bytes());
            if let Some(values) = values {
                for i in 0..values.len() {
                    encode_element(&values, i, kind, bytes);
                }
            }
        }
        DataType::FixedSizeList(_, n) if column.is_array => {
            let values = array.as_fixed_size_list().value(row);
            if column.datatype == "bit" {
                encode_bits(Some(&values), *n as usize, bytes);
                return Ok(());
            }
            for i in 0..values.len() {
                encode_element(&values, i, kind, bytes);
            }
        }
        _ => match kind {
            Kind::Text { unicode } => {
                let text = if null { "" } else { string_value(array, row).unwrap_or("") };
                if unicode {
                    let units: Vec<u16> = text.chars().map(|c| u16::try_from(u32::from(c)).unwrap_or(0xFFFD)).collect();
                    bytes.extend_from_slice(&(units.len() as u32).to_be_bytes());
                    for unit in units {
                        bytes.extend_from_slice(&unit.to_be_bytes());
                    }
                } else {
                    bytes.extend_from_slice(&(text.len() as u32).to_be_bytes());
                    bytes.extend_from_slice(text.as_bytes());
                }
            }
            _ if column.datatype == "bit" => {
                let byte = if !null && array.as_boolean().value(row) { 0x80 } else { 0 };
                bytes.push(byte);
            }
            _ => encode_element(array, row, kind, bytes),
        },
    }
    Ok(())
}

fn encode_bits(values: Option<&ArrayRef>, count: usize, bytes: &mut Vec<u8>) {
    let start = bytes.len();
    bytes.resize(start + count.div_ceil(8), 0);
    if let Some(values) = values {
        let booleans = values.as_boolean();
        for i in 0..count.min(booleans.len()) {
            if booleans.value(i)
                && let Some(byte) = bytes.get_mut(start + i / 8)
            {
                *byte |= 0x80 >> (i % 8);
            }
        }
    }
}

/// One element; nulls are written as the type's null-ish value (NaN, 0, '?').
fn encode_element(values: &ArrayRef, i: usize, kind: Kind, bytes: &mut Vec<u8>) {
    let null = values.is_null(i);
    match kind {
        Kind::Bool => bytes.push(if null {
            b'?'
        } else if values.as_boolean().value(i) {
            b'T'
        } else {
            b'F'
        }),
        Kind::U8 => bytes.push(values.as_primitive::<UInt8Type>().value(i)),
        Kind::I8 => bytes.extend_from_slice(&i16::from(values.as_primitive::<Int8Type>().value(i)).to_be_bytes()),
        Kind::I16 => bytes.extend_from_slice(&values.as_primitive::<Int16Type>().value(i).to_be_bytes()),
        Kind::U16 => bytes.extend_from_slice(&i32::from(values.as_primitive::<UInt16Type>().value(i)).to_be_bytes()),
        Kind::I32 => bytes.extend_from_slice(&values.as_primitive::<Int32Type>().value(i).to_be_bytes()),
        Kind::U32 => bytes.extend_from_slice(&i64::from(values.as_primitive::<UInt32Type>().value(i)).to_be_bytes()),
        Kind::I64 => bytes.extend_from_slice(&values.as_primitive::<Int64Type>().value(i).to_be_bytes()),
        // Values above i64::MAX have no VOTable type; they keep their bits.
        Kind::U64 => bytes.extend_from_slice(&values.as_primitive::<UInt64Type>().value(i).to_be_bytes()),
        Kind::F32 => {
            let v = if null { f32::NAN } else { values.as_primitive::<Float32Type>().value(i) };
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        Kind::F64 => {
            let v = if null { f64::NAN } else { values.as_primitive::<Float64Type>().value(i) };
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        Kind::ComplexF32 => {
            let parts = values.as_fixed_size_list().value(i);
            for j in 0..2 {
                let v = if null { f32::NAN } else { parts.as_primitive::<Float32Type>().value(j) };
                bytes.extend_from_slice(&v.to_be_bytes());
            }
        }
        Kind::ComplexF64 => {
            let parts = values.as_fixed_size_list().value(i);
            for j in 0..2 {
                let v = if null { f64::NAN } else { parts.as_primitive::<Float64Type>().value(j) };
                bytes.extend_from_slice(&v.to_be_bytes());
            }
        }
        Kind::Text { .. } => {}
    }
}
