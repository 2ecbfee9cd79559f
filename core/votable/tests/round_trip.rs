//! What we write, we read back unchanged: every table of the real files, through TABLEDATA
//! and through BINARY2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{concat, load, valid_real_votables};
use skyglass_votable::{Serialization, VoTableError, WriteOptions, read_votable, write_votable};

fn nulls_as_empty(array: &arrow_array::ArrayRef) -> arrow_array::ArrayRef {
    use arrow_array::cast::AsArray;
    let strings: arrow_array::StringArray = array.as_string::<i32>().iter().map(|s| Some(s.unwrap_or(""))).collect();
    std::sync::Arc::new(strings)
}

#[test]
fn real_tables_survive_both_serialisations() {
    let mut tables = 0;
    let mut skipped = Vec::new();
    for path in valid_real_votables() {
        let original = read_votable(&load(&path)).unwrap();
        for (table, batches) in original.meta.tables().iter().zip(&original.batches) {
            let schema = table.schema();
            for serialization in [Serialization::TableData, Serialization::Binary2] {
                let mut written = Vec::new();
                match write_votable(&mut written, &schema, batches, serialization, &WriteOptions::default()) {
                    Err(VoTableError::Unsupported(why)) => {
                        skipped.push(format!("{}: {why}", path.display()));
                        break;
                    }
                    other => other.unwrap(),
                }
                let again = read_votable(&written).unwrap_or_else(|e| {
                    panic!("{} {serialization:?}: {e}\n{}", path.display(), String::from_utf8_lossy(&written))
                });
                let before = concat(batches);
                let after = concat(&again.batches[0]);
                for (c, (a, b)) in before.iter().zip(&after).enumerate() {
                    let name = schema.field(c).name();
                    // TABLEDATA writes a null string as an empty cell, which reads back as "":
                    // the format cannot tell them apart (BINARY2 can).
                    let (a, b) = match (serialization, a.data_type()) {
                        (Serialization::TableData, arrow_schema::DataType::Utf8) => {
                            (nulls_as_empty(a), nulls_as_empty(b))
                        }
                        _ => (a.clone(), b.clone()),
                    };
                    let (a, b) = (&a, &b);
                    assert_eq!(a.len(), b.len(), "{} {serialization:?} {name}: rows", path.display());
                    assert_eq!(a.null_count(), b.null_count(), "{} {serialization:?} {name}: nulls", path.display());
                    assert_eq!(a.to_data(), b.to_data(), "{} {serialization:?} column {name}", path.display());
                }
            }
            tables += 1;
        }
    }
    assert!(tables >= 30, "{tables} tables");
    // Arrays of strings (char arraysize="10x3") have no Arrow-side writer yet.
    assert!(skipped.len() <= 2, "skipped: {skipped:#?}");
}
