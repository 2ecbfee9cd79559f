//! Helpers shared by this crate's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use arrow_array::{ArrayRef, RecordBatch};
use skyglass_test_support::shared_data;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The two real files that are invalid on purpose.
pub const BROKEN_ON_PURPOSE: [&str; 2] = ["too_many_columns.xml.gz", "custom_datatype.xml"];

/// A file's bytes, gunzipped when its name ends in .gz.
pub fn load(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
        out
    } else {
        raw
    }
}

/// Every file of the shared real data whose root element is VOTABLE, sorted.
pub fn real_votables() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> =
        ["votable", "tap", "uws", "footprints"].iter().map(|d| shared_data().join(d)).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let bytes = load(&path);
                if String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).contains("<VOTABLE") {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out
}

/// The real VOTables that are valid.
pub fn valid_real_votables() -> Vec<PathBuf> {
    real_votables().into_iter().filter(|p| !BROKEN_ON_PURPOSE.iter().any(|broken| p.ends_with(broken))).collect()
}

/// A table's batches as one array per column.
pub fn concat(batches: &[RecordBatch]) -> Vec<ArrayRef> {
    let Some(first) = batches.first() else { return Vec::new() };
    (0..first.num_columns())
        .map(|c| {
            let parts: Vec<&dyn arrow_array::Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow_select::concat::concat(&parts).unwrap()
        })
        .collect()
}
