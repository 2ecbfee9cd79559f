//! How the service writes what it answers: query results in the RESPONSEFORMATs TAP
//! clients ask for (VOTable TABLEDATA or BINARY2, CSV, TSV, Parquet, JSON), and the small
//! XML and text documents of VOSI, UWS and TAP+.

use crate::query::QueryResult;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use skyglass_votable::model::Info;
use skyglass_votable::{Serialization, WriteOptions, write_votable};

/// The output formats of RESPONSEFORMAT, with their aliases.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    VoTable,
    VoTableBinary2,
    Csv,
    Tsv,
    Parquet,
    Json,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        let lower = text.trim().to_ascii_lowercase();
        let base = lower.split(';').next().unwrap_or("").trim();
        Some(match base {
            // votable_plain and votable_gzip: ESA's TAP+ names (a client reads either plain).
            "votable"
            | "application/x-votable+xml"
            | "text/xml"
            | "votable/td"
            | "application/xml"
            | "votable_plain"
            | "votable_gzip" => {
                if lower.contains("serialization=binary2") {
                    Format::VoTableBinary2
                } else {
                    Format::VoTable
                }
            }
            "votable/b2" | "votable/binary2" => Format::VoTableBinary2,
            "csv" | "text/csv" => Format::Csv,
            "tsv" | "text/tab-separated-values" => Format::Tsv,
            "parquet" | "application/vnd.apache.parquet" | "application/x-parquet" => Format::Parquet,
            "json" | "application/json" => Format::Json,
            _ => return None,
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::VoTable | Format::VoTableBinary2 => "vot",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Json => "json",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::VoTable => "application/x-votable+xml",
            Format::VoTableBinary2 => "application/x-votable+xml;serialization=BINARY2",
            Format::Csv => "text/csv",
            Format::Tsv => "text/tab-separated-values",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Json => "application/json",
        }
    }
}

/// A result in the asked format.
pub(crate) fn serialize(result: &QueryResult, format: Format, query: &str) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let written: Result<(), String> = match format {
        Format::VoTable | Format::VoTableBinary2 => {
            let options = WriteOptions {
                infos_before: vec![info("QUERY_STATUS", "OK", None), info("QUERY", query, None)],
                infos_after: if result.overflow { vec![info("QUERY_STATUS", "OVERFLOW", None)] } else { vec![] },
                ..WriteOptions::default()
            };
            let serialization =
                if format == Format::VoTable { Serialization::TableData } else { Serialization::Binary2 };
            write_votable(&mut body, &result.schema, &result.batches, serialization, &options)
                .map_err(|e| e.to_string())
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_delimiter(delimiter)
                .build(&mut body);
            result.batches.iter().try_for_each(|batch| writer.write(batch)).map_err(|e| e.to_string())
        }
        Format::Parquet => {
            let mut write = || -> Result<(), parquet::errors::ParquetError> {
                let mut writer = parquet::arrow::ArrowWriter::try_new(&mut body, result.schema.clone(), None)?;
                for batch in &result.batches {
                    writer.write(batch)?;
                }
                writer.close()?;
                Ok(())
            };
            write().map_err(|e| e.to_string())
        }
        Format::Json => {
            json_result(result).and_then(|value| serde_json::to_writer(&mut body, &value).map_err(|e| e.to_string()))
        }
    };
    written.map_err(|message| format!("cannot write the result: {message}"))?;
    Ok(body)
}

/// A result as JSON: `metadata` (name, datatype, unit, UCD, description per column) and
/// `data` (rows as arrays; numbers as numbers, NaN and nulls as null).
fn json_result(result: &QueryResult) -> Result<serde_json::Value, String> {
    use datafusion::arrow::array::{Array, BooleanArray, Float64Array};
    use datafusion::arrow::datatypes::DataType;
    use serde_json::{Value, json};
    let metadata: Vec<Value> = result
        .schema
        .fields()
        .iter()
        .map(|field| {
            let get = |key: &str| field.metadata().get(key).cloned();
            let (datatype, arraysize) = crate::ingest::votable_datatype(field.data_type());
            json!({
                "name": field.name(),
                "datatype": datatype,
                "arraysize": arraysize,
                "unit": get("unit"),
                "ucd": get("ucd"),
                "description": get("description"),
            })
        })
        .collect();
    let mut data: Vec<Value> = Vec::with_capacity(result.rows());
    for batch in &result.batches {
        let columns: Vec<Box<dyn Fn(usize) -> Value>> = batch
            .columns()
            .iter()
            .map(|column| -> Result<Box<dyn Fn(usize) -> Value>, String> {
                let column = column.clone();
                if column.data_type().is_numeric() {
                    let numbers =
                        datafusion::arrow::compute::cast(&column, &DataType::Float64).map_err(|e| e.to_string())?;
                    let numbers = numbers.as_any().downcast_ref::<Float64Array>().cloned().ok_or("not numbers")?;
                    let integral = column.data_type().is_integer();
                    return Ok(Box::new(move |row| {
                        if numbers.is_null(row) || !numbers.value(row).is_finite() {
                            Value::Null
                        } else if integral {
                            json!(numbers.value(row) as i64)
                        } else {
                            json!(numbers.value(row))
                        }
                    }));
                }
                if let Some(booleans) = column.as_any().downcast_ref::<BooleanArray>().cloned() {
                    return Ok(Box::new(
                        move |row| if booleans.is_null(row) { Value::Null } else { json!(booleans.value(row)) },
                    ));
                }
                let strings = datafusion::arrow::compute::cast(&column, &DataType::Utf8).map_err(|e| e.to_string())?;
                let strings = strings
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>()
                    .cloned()
                    .ok_or("not text")?;
                Ok(Box::new(move |row| if strings.is_null(row) { Value::Null } else { json!(strings.value(row)) }))
            })
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            data.push(Value::Array(columns.iter().map(|cell| cell(row)).collect()));
        }
    }
    Ok(json!({ "metadata": metadata, "data": data, "overflow": result.overflow }))
}

fn info(name: &str, value: &str, content: Option<&str>) -> Info {
    Info { name: name.to_owned(), value: value.to_owned(), id: None, content: content.map(str::to_owned) }
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub(crate) fn xml_response(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

/// A plain-text answer (UWS's single-value resources, TAP+'s messages).
pub(crate) fn text_response(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// A query result in `format`, as the answer to a request.
pub(crate) fn result_response(result: &QueryResult, format: Format, query: &str) -> Result<Response, String> {
    let body = serialize(result, format, query)?;
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.mime()));
    Ok(response)
}
