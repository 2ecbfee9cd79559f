//! VOSI tables (`/tables`): schemas, tables and columns with what describes them.

use crate::{Result, TapError};
use quick_xml::events::Event;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnMeta {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub ucd: String,
    pub datatype: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableMeta {
    pub schema: String,
    /// The name as ADQL takes it (usually `schema.table`).
    pub name: String,
    pub description: String,
    pub columns: Vec<ColumnMeta>,
}

/// The tables of a VOSI tableset document (a bare `<table>` document too).
pub fn parse_tables(xml: &[u8]) -> Result<Vec<TableMeta>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buffer = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let (mut schema, mut tables) = (String::new(), Vec::new());
    let mut table: Option<TableMeta> = None;
    let mut column: Option<ColumnMeta> = None;
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| TapError::Protocol(format!("the tables document is not XML: {e}")))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                // A web page or an error document where the tables should be.
                if path.is_empty() && !matches!(name.as_str(), "tableset" | "table") {
                    return Err(TapError::Protocol(format!("the tables document is a <{name}>, not a VOSI tableset")));
                }
                match name.as_str() {
                    "table" => table = Some(TableMeta { schema: schema.clone(), ..TableMeta::default() }),
                    "column" => column = Some(ColumnMeta::default()),
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Text(content) => text.push_str(&content.xml10_content()),
            Event::CData(content) => text.push_str(&content.into_inner()),
            Event::GeneralRef(reference) => {
                let character = match reference.xml10_content().as_ref() {
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "amp" => Some('&'),
                    "apos" => Some('\''),
                    "quot" => Some('"'),
                    _ => reference.resolve_char_ref().ok().flatten(),
                };
                text.extend(character);
            }
            Event::End(_) => {
                let Some(name) = path.pop() else { continue };
                let parent = path.last().map(String::as_str);
                let value = text.trim().to_owned();
                let field = match (name.as_str(), parent) {
                    ("name", Some("schema")) => Some(&mut schema),
                    ("name", Some("table")) => table.as_mut().map(|t| &mut t.name),
                    ("description", Some("table")) => table.as_mut().map(|t| &mut t.description),
                    ("name", Some("column")) => column.as_mut().map(|c| &mut c.name),
                    ("description", Some("column")) => column.as_mut().map(|c| &mut c.description),
                    ("unit", Some("column")) => column.as_mut().map(|c| &mut c.unit),
                    ("ucd", Some("column")) => column.as_mut().map(|c| &mut c.ucd),
                    ("dataType", Some("column")) => column.as_mut().map(|c| &mut c.datatype),
                    _ => None,
                };
                if let Some(field) = field {
                    *field = value;
                }
                match name.as_str() {
                    "column" => {
                        if let (Some(done), Some(table)) = (column.take(), table.as_mut()) {
                            table.columns.push(done);
                        }
                    }
                    "table" => tables.extend(table.take()),
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    Ok(tables)
}

/// What a TAP service says it can do (VOSI capabilities with TAPRegExt).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capabilities {
    /// Query languages with their versions: ("ADQL", ["2.0", "2.1"]).
    pub languages: Vec<(String, Vec<String>)>,
    /// Result formats by MIME type.
    pub output_formats: Vec<String>,
    /// Upload methods (TAPRegExt ivo-ids: upload-inline, upload-http…).
    pub upload_methods: Vec<String>,
    /// Rows returned without MAXREC, and the most that may be asked for.
    pub default_rows: Option<u64>,
    pub most_rows: Option<u64>,
    /// The largest upload, in bytes.
    pub upload_limit: Option<u64>,
}

/// The TAP capability of a VOSI capabilities document.
pub fn parse_capabilities(xml: &[u8]) -> Result<Capabilities> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buffer = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut found = Capabilities::default();
    let mut in_tap = false;
    let mut unit_rows = true;
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| TapError::Protocol(format!("the capabilities document is not XML: {e}")))?;
        match event {
            Event::Start(start) => {
                path.push(open_tag(&start, &mut found, &mut in_tap, &mut unit_rows));
                text.clear();
            }
            Event::Empty(start) => {
                open_tag(&start, &mut found, &mut in_tap, &mut unit_rows);
            }
            Event::Text(content) => text.push_str(&content.xml10_content()),
            Event::End(_) => {
                let Some(name) = path.pop() else { continue };
                let parent = path.last().map(String::as_str);
                let value = text.trim().to_owned();
                if in_tap {
                    match (name.as_str(), parent) {
                        ("name", Some("language")) => found.languages.push((value, Vec::new())),
                        ("version", Some("language")) => {
                            if let Some((_, versions)) = found.languages.last_mut() {
                                versions.push(value);
                            }
                        }
                        ("mime", Some("outputFormat")) => found.output_formats.push(value),
                        ("default", Some("outputLimit")) if unit_rows => found.default_rows = value.parse().ok(),
                        ("hard", Some("outputLimit")) if unit_rows => found.most_rows = value.parse().ok(),
                        ("hard", Some("uploadLimit")) => found.upload_limit = value.parse().ok(),
                        _ => {}
                    }
                }
                if name == "capability" {
                    in_tap = false;
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if found.languages.is_empty() {
        return Err(TapError::Protocol("the capabilities name no TAP query language".to_owned()));
    }
    Ok(found)
}

/// Notes what an opening tag says (which capability, upload methods, limit units); its name.
fn open_tag(
    start: &quick_xml::events::BytesStart<'_>,
    found: &mut Capabilities,
    in_tap: &mut bool,
    unit_rows: &mut bool,
) -> String {
    let name = start.local_name().as_ref().to_owned();
    let attribute = |key: &str| {
        start.attributes().flatten().find(|a| a.key.local_name().as_ref() == key).map(|a| a.value.to_string())
    };
    match name.as_str() {
        "capability" => *in_tap = attribute("standardID").is_some_and(|id| id.starts_with("ivo://ivoa.net/std/TAP")),
        "uploadMethod" if *in_tap => found.upload_methods.extend(attribute("ivo-id")),
        "default" | "hard" => *unit_rows = attribute("unit").is_none_or(|u| u == "row"),
        _ => {}
    }
    name
}
