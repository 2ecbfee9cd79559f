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
