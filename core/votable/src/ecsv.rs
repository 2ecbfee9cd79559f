//! ECSV (astropy's Enhanced CSV) into the Arrow model: the YAML header's column datatypes,
//! units, descriptions and UCDs, then the rows through arrow-csv.
//!
//! The header is read with a small reader of the YAML ECSV writers produce: the `datatype`
//! list in block or flow style, each column's `meta` (for its `ucd`), and `delimiter`.

use crate::error::{Result, VoTableError};
use crate::formats::TableData;
use crate::model::meta;
use crate::writer::WriteOptions;
use arrow_schema::{DataType, Field, Schema};
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

/// Reads an ECSV document (version 0.9 or 1.0).
pub fn read_ecsv(bytes: &[u8]) -> Result<TableData> {
    let bad = |message: String| VoTableError::Unsupported(format!("ECSV: {message}"));
    let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 ({e})")))?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if !first.trim_start_matches('#').trim().starts_with("%ECSV") {
        return Err(bad("the first line is not '# %ECSV <version>'".to_owned()));
    }
    let header: Vec<&str> = lines
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.strip_prefix("# ").or_else(|| l.strip_prefix('#')).unwrap_or(""))
        .skip_while(|l| l.trim() != "---")
        .skip(1)
        .collect();
    let (columns, delimiter) = parse_header(&header).map_err(bad)?;
    if columns.is_empty() {
        return Err(bad("the header declares no columns".to_owned()));
    }
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| {
            let mut metadata = HashMap::new();
            for (key, value) in [(meta::UNIT, &c.unit), (meta::DESCRIPTION, &c.description), (meta::UCD, &c.ucd)] {
                if let Some(value) = value {
                    metadata.insert(key.to_owned(), value.clone());
                }
            }
            Field::new(c.name.clone(), arrow_type(&c.datatype, c.subtype.is_some()), true).with_metadata(metadata)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let format = arrow_csv::reader::Format::default().with_header(true).with_delimiter(delimiter).with_comment(b'#');
    let reader = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_format(format)
        .with_batch_size(65_536)
        .build(Cursor::new(bytes))
        .map_err(|e| bad(e.to_string()))?;
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| bad(e.to_string()))?;
    Ok(TableData { schema, batches, options: WriteOptions::default(), diagnostic_count: 0 })
}

#[derive(Default)]
struct Column {
    name: String,
    datatype: String,
    subtype: Option<String>,
    unit: Option<String>,
    description: Option<String>,
    ucd: Option<String>,
}

impl Column {
    fn set(&mut self, key: &str, value: String) {
        match key {
            "name" => self.name = value,
            "datatype" => self.datatype = value,
            "subtype" => self.subtype = Some(value),
            "unit" => self.unit = Some(value),
            "description" => self.description = Some(value),
            "ucd" => self.ucd = Some(value),
            _ => {}
        }
    }
}

/// The columns and the delimiter from the YAML lines after `---`.
fn parse_header(lines: &[&str]) -> std::result::Result<(Vec<Column>, u8), String> {
    let mut columns: Vec<Column> = Vec::new();
    let mut delimiter = b' ';
    let mut in_datatype = false;
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim_start();
        if indent == 0 && !content.starts_with('-') {
            let (key, value) = split_key(content).ok_or_else(|| format!("cannot read the header line {line:?}"))?;
            in_datatype = key == "datatype";
            if key == "delimiter" {
                delimiter = match unquote(value).as_str() {
                    "," => b',',
                    " " => b' ',
                    other => return Err(format!("unsupported delimiter {other:?}")),
                };
            }
            continue;
        }
        if !in_datatype {
            continue;
        }
        if indent == 0 {
            // A new column: `- {name: a, datatype: int64}` or `- name: a`.
            let item = content.trim_start_matches('-').trim_start();
            let mut column = Column::default();
            if let Some(map) = item.strip_prefix('{') {
                for (key, value) in flow_mapping(map) {
                    column.set(&key, value);
                }
            } else if let Some((key, value)) = split_key(item) {
                column.set(key, unquote(value));
            }
            columns.push(column);
        } else if let Some(column) = columns.last_mut() {
            // Inside a column: its own keys, or entries of its `meta` list (for the UCD).
            if let Some(map) = content.strip_prefix("- {") {
                for (key, value) in flow_mapping(map) {
                    if key == "ucd" {
                        column.ucd = Some(value);
                    }
                }
            } else if indent == 2
                && !content.starts_with('-')
                && let Some((key, value)) = split_key(content)
            {
                column.set(key, unquote(value));
            }
        }
    }
    if columns.iter().any(|c| c.name.is_empty() || c.datatype.is_empty()) {
        return Err("a column lacks its name or datatype".to_owned());
    }
    Ok((columns, delimiter))
}

/// `key: value` → (key, value), the value still raw.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let (key, value) = text.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// The entries of a flow mapping, from after its `{` to its `}`; commas inside quotes stay.
fn flow_mapping(text: &str) -> Vec<(String, String)> {
    let body = text.trim().trim_end_matches('}');
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in body.chars() {
        match (c, quote) {
            ('\'' | '"', None) => {
                quote = Some(c);
                current.push(c);
            }
            (q, Some(open)) if q == open => {
                quote = None;
                current.push(c);
            }
            (',', None) => entries.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    entries.push(current);
    entries.iter().filter_map(|entry| split_key(entry).map(|(k, v)| (k.to_owned(), unquote(v)))).collect()
}

/// A YAML scalar: quotes removed ('' and \" unescaped), and `!!tags` dropped.
fn unquote(value: &str) -> String {
    let value = value.trim();
    let value = if value.starts_with("!!") { value.split_once(' ').map_or("", |(_, v)| v).trim() } else { value };
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        value.to_owned()
    }
}

/// ECSV datatypes to Arrow; arrays and objects (with a subtype) stay as their JSON text.
fn arrow_type(datatype: &str, has_subtype: bool) -> DataType {
    if has_subtype {
        return DataType::Utf8;
    }
    match datatype {
        "bool" => DataType::Boolean,
        "int8" => DataType::Int8,
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        "uint8" => DataType::UInt8,
        "uint16" => DataType::UInt16,
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "float16" | "float32" => DataType::Float32,
        "float64" | "float128" => DataType::Float64,
        _ => DataType::Utf8,
    }
}
