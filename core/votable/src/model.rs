//! The document model: everything a VOTable says about its tables. Rows live in Arrow record
//! batches; this is the metadata around them, small enough to keep whole.

use crate::datatype::{ArraySize, Datatype, Layout};
use arrow_array::RecordBatch;
use arrow_schema::{Field as ArrowField, Schema, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

/// Keys of the VO metadata that fields carry in their Arrow metadata.
pub mod meta {
    pub const DATATYPE: &str = "datatype";
    pub const ARRAYSIZE: &str = "arraysize";
    pub const UNIT: &str = "unit";
    pub const UCD: &str = "ucd";
    pub const UTYPE: &str = "utype";
    pub const XTYPE: &str = "xtype";
    pub const DESCRIPTION: &str = "description";
    pub const ID: &str = "ID";
    pub const REF: &str = "ref";
    pub const WIDTH: &str = "width";
    pub const PRECISION: &str = "precision";
    pub const NULL: &str = "null";
}

/// A whole document: the tree of resources and tables, with their rows.
#[derive(Clone, Debug, Default)]
pub struct VoTable {
    pub meta: Document,
    /// The rows of each table, in document order (see [`Document::tables`]).
    pub batches: Vec<Vec<RecordBatch>>,
    /// The first cells that could not be read and were taken as null.
    pub diagnostics: Vec<crate::reader::Diagnostic>,
    /// How many such cells there were in all.
    pub diagnostic_count: usize,
}

/// Document metadata: the root element's content.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    pub version: Option<String>,
    pub description: Option<String>,
    pub infos: Vec<Info>,
    pub params: Vec<Param>,
    pub coosys: Vec<CooSys>,
    pub timesys: Vec<TimeSys>,
    pub groups: Vec<Group>,
    pub resources: Vec<Resource>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub utype: Option<String>,
    pub description: Option<String>,
    pub infos: Vec<Info>,
    pub params: Vec<Param>,
    pub coosys: Vec<CooSys>,
    pub timesys: Vec<TimeSys>,
    pub groups: Vec<Group>,
    pub links: Vec<Link>,
    pub tables: Vec<Table>,
    pub resources: Vec<Resource>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Position of the table in document order, counting from 0.
    pub index: usize,
    pub id: Option<String>,
    pub name: Option<String>,
    pub ucd: Option<String>,
    pub utype: Option<String>,
    pub nrows: Option<u64>,
    pub description: Option<String>,
    pub fields: Vec<Field>,
    pub params: Vec<Param>,
    pub groups: Vec<Group>,
    pub links: Vec<Link>,
    /// INFO elements inside the TABLE, before and after its DATA.
    pub infos: Vec<Info>,
}

/// A FIELD: one column's definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub id: Option<String>,
    pub datatype: Datatype,
    pub arraysize: Option<ArraySize>,
    /// The arraysize as written, kept for writing it back.
    pub arraysize_text: Option<String>,
    pub unit: Option<String>,
    pub ucd: Option<String>,
    pub utype: Option<String>,
    pub xtype: Option<String>,
    pub reference: Option<String>,
    pub width: Option<String>,
    pub precision: Option<String>,
    pub description: Option<String>,
    pub values: Values,
    pub links: Vec<Link>,
}

/// VALUES: the null sentinel and the domain of a field or param.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values {
    pub null: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub options: Vec<(Option<String>, String)>,
}

/// A PARAM: a FIELD with one value.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub field: Field,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Info {
    pub name: String,
    pub value: String,
    pub id: Option<String>,
    pub content: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CooSys {
    pub id: Option<String>,
    pub system: Option<String>,
    pub equinox: Option<String>,
    pub epoch: Option<String>,
    pub refposition: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSys {
    pub id: Option<String>,
    pub timeorigin: Option<String>,
    pub timescale: Option<String>,
    pub refposition: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub id: Option<String>,
    pub name: Option<String>,
    pub reference: Option<String>,
    pub ucd: Option<String>,
    pub utype: Option<String>,
    pub description: Option<String>,
    pub field_refs: Vec<String>,
    pub param_refs: Vec<String>,
    pub params: Vec<Param>,
    pub groups: Vec<Group>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Link {
    pub id: Option<String>,
    pub content_role: Option<String>,
    pub content_type: Option<String>,
    pub title: Option<String>,
    pub href: Option<String>,
    pub value: Option<String>,
}

/// The overall status a service gave its answer: `<INFO name="QUERY_STATUS">`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryStatus {
    Ok,
    /// The result was truncated (MAXREC or a service limit).
    Overflow,
    Error(String),
}

impl Document {
    /// Every resource, nested ones included, depth first.
    pub fn all_resources(&self) -> Vec<&Resource> {
        fn walk<'a>(resources: &'a [Resource], out: &mut Vec<&'a Resource>) {
            for resource in resources {
                out.push(resource);
                walk(&resource.resources, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.resources, &mut out);
        out
    }

    /// Every table in document order.
    pub fn tables(&self) -> Vec<&Table> {
        let mut out: Vec<&Table> = self.all_resources().into_iter().flat_map(|r| r.tables.iter()).collect();
        out.sort_by_key(|t| t.index);
        out
    }

    /// Every INFO anywhere in the document, in the order of the tree.
    pub fn all_infos(&self) -> Vec<&Info> {
        let mut out: Vec<&Info> = self.infos.iter().collect();
        for resource in self.all_resources() {
            out.extend(resource.infos.iter());
            out.extend(resource.tables.iter().flat_map(|t| t.infos.iter()));
        }
        out
    }

    /// Every COOSYS and TIMESYS of the document and its resources, for writing a table out
    /// with the systems its fields refer to.
    pub fn systems(&self) -> (Vec<CooSys>, Vec<TimeSys>) {
        let (mut coosys, mut timesys) = (self.coosys.clone(), self.timesys.clone());
        for resource in self.all_resources() {
            coosys.extend(resource.coosys.iter().cloned());
            timesys.extend(resource.timesys.iter().cloned());
        }
        (coosys, timesys)
    }

    /// The QUERY_STATUS of a DALI answer: ERROR wins, then OVERFLOW; OK when absent.
    pub fn query_status(&self) -> QueryStatus {
        let statuses: Vec<&Info> = self.all_infos().into_iter().filter(|i| i.name == "QUERY_STATUS").collect();
        if let Some(error) = statuses.iter().find(|i| i.value.eq_ignore_ascii_case("ERROR")) {
            let message = error.content.clone().unwrap_or_default();
            return QueryStatus::Error(message.trim().to_owned());
        }
        if statuses.iter().any(|i| i.value.eq_ignore_ascii_case("OVERFLOW")) {
            return QueryStatus::Overflow;
        }
        QueryStatus::Ok
    }
}

impl Field {
    pub fn layout(&self) -> Layout {
        Layout::new(self.datatype, self.arraysize.as_ref())
    }

    /// The Arrow field: name, type from datatype and arraysize, VO metadata attached.
    pub fn to_arrow(&self) -> ArrowField {
        let mut metadata = HashMap::new();
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                metadata.insert(key.to_owned(), v.clone());
            }
        };
        put(meta::ARRAYSIZE, &self.arraysize_text);
        put(meta::UNIT, &self.unit);
        put(meta::UCD, &self.ucd);
        put(meta::UTYPE, &self.utype);
        put(meta::XTYPE, &self.xtype);
        put(meta::DESCRIPTION, &self.description);
        put(meta::ID, &self.id);
        put(meta::REF, &self.reference);
        put(meta::WIDTH, &self.width);
        put(meta::PRECISION, &self.precision);
        put(meta::NULL, &self.values.null);
        metadata.insert(meta::DATATYPE.to_owned(), self.datatype.name().to_owned());
        ArrowField::new(self.name.clone(), self.layout().arrow_type(), true).with_metadata(metadata)
    }
}

impl Table {
    /// The Arrow schema of the table's rows, unique names kept as VOTable gives them.
    pub fn schema(&self) -> SchemaRef {
        let mut metadata = HashMap::new();
        if let Some(name) = &self.name {
            metadata.insert("name".to_owned(), name.clone());
        }
        if let Some(description) = &self.description {
            metadata.insert(meta::DESCRIPTION.to_owned(), description.clone());
        }
        Arc::new(Schema::new_with_metadata(self.fields.iter().map(Field::to_arrow).collect::<Vec<_>>(), metadata))
    }
}
