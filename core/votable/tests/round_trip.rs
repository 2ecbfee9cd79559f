//! What we write, we read back unchanged: every table of the real files, through TABLEDATA
//! and through BINARY2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use arrow_array::RecordBatch;
use skyglass_test_support::shared_data;
use skyglass_votable::{Serialization, VoTableError, WriteOptions, read_votable, write_votable};
use std::path::PathBuf;

fn real_votables() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> =
        ["votable", "tap", "uws", "footprints"].iter().map(|d| shared_data().join(d)).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e != "gz")
                && std::fs::read(&path)
                    .is_ok_and(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).contains("<VOTABLE"))
                && !path.ends_with("custom_datatype.xml")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn concat(batches: &[RecordBatch]) -> Vec<arrow_array::ArrayRef> {
    let Some(first) = batches.first() else { return Vec::new() };
    (0..first.num_columns())
        .map(|c| {
            let parts: Vec<&dyn arrow_array::Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow_select::concat::concat(&parts).unwrap()
        })
        .collect()
}

fn nulls_as_empty(array: &arrow_array::ArrayRef) -> arrow_array::ArrayRef {
    use arrow_array::cast::AsArray;
    let strings: arrow_array::StringArray = array.as_string::<i32>().iter().map(|s| Some(s.unwrap_or(""))).collect();
    std::sync::Arc::new(strings)
}

#[test]
fn real_tables_survive_both_serialisations() {
    let mut tables = 0;
    let mut skipped = Vec::new();
    for path in real_votables() {
        let original = read_votable(&std::fs::read(&path).unwrap()).unwrap();
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
