//! VOTable ⇄ Arrow for Skyglass.
//!
//! A VOTable document becomes a [`Document`] (resources, tables, fields, params, infos,
//! coordinate and time systems, groups, links) and, for each table, Arrow record batches whose
//! fields carry the VO metadata (`ucd`, `unit`, `utype`, `xtype`, `description`, `ID`, `ref`,
//! `datatype`, `arraysize`; keys in [`model::meta`]). TABLEDATA, BINARY and BINARY2 are read
//! as a stream, `batch_rows` rows at a time ([`VoTableReader`]), or whole ([`read_votable`]).
//!
//! ```
//! let xml = br#"<VOTABLE version="1.4"><RESOURCE><TABLE>
//!   <FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>
//!   <DATA><TABLEDATA><TR><TD>10.68</TD></TR><TR><TD/></TR></TABLEDATA></DATA>
//! </TABLE></RESOURCE></VOTABLE>"#;
//! let votable = skyglass_votable::read_votable(xml).unwrap();
//! let batch = &votable.batches[0][0];
//! assert_eq!(batch.num_rows(), 2);
//! assert_eq!(batch.column(0).null_count(), 1);
//! assert_eq!(batch.schema().field(0).metadata()["unit"], "deg");
//! ```

mod column;
mod csv;
pub mod datatype;
pub mod detect;
pub mod ecsv;
pub mod error;
pub mod fits;
pub mod formats;
pub mod model;
pub mod reader;
pub mod stream;
pub mod writer;

/// The Arrow types this crate hands out, for callers that do not depend on arrow themselves.
pub use arrow_array::RecordBatch as ArrowRecordBatch;
pub use arrow_schema::SchemaRef as ArrowSchemaRef;
pub use datatype::{ArraySize, Datatype};
pub use detect::{
    PositionColumns, PositionKind, column_f64, detect_equatorial_by_metadata, detect_position, detect_proper_motion,
    detect_time, to_degrees,
};
pub use error::{Result, VoTableError};
pub use formats::{TableData, TableFormat, first_table, read_table, write_table};
pub use model::{Document, Field, Info, Param, QueryStatus, Resource, Table, VoTable};
pub use reader::{Diagnostic, Event, ReaderOptions, VoTableReader, read_votable, read_votable_with};
pub use stream::{TableStream, can_stream, stream_table};
pub use writer::{Serialization, WriteOptions, write_votable};
