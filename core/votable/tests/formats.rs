//! CSV and Parquet through read_table/write_table: real tables round-trip, and corrupted
//! input is an error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::load;
use proptest::prelude::*;
use skyglass_test_support::shared_file;
use skyglass_votable::{TableFormat, read_table, write_table};
use std::io::Cursor;

fn gaia_as(format: TableFormat) -> Vec<u8> {
    let table = read_table(
        Cursor::new(load(&shared_file("votable/astroquery/esa/1714556098855O-result.vot"))),
        TableFormat::VoTable,
    )
    .unwrap();
    let mut bytes = Vec::new();
    write_table(&mut bytes, &table, format, Vec::new()).unwrap();
    bytes
}

#[test]
fn parquet_and_csv_round_trip_a_real_table() {
    let original = read_table(
        Cursor::new(load(&shared_file("votable/astroquery/esa/1714556098855O-result.vot"))),
        TableFormat::VoTable,
    )
    .unwrap();
    let again = read_table(Cursor::new(gaia_as(TableFormat::Parquet)), TableFormat::Parquet).unwrap();
    assert_eq!(original.schema.fields().len(), again.schema.fields().len());
    for (a, b) in original.batches.iter().zip(&again.batches) {
        assert_eq!(a.columns(), b.columns());
    }
    let csv = read_table(Cursor::new(gaia_as(TableFormat::Csv)), TableFormat::Csv).unwrap();
    assert_eq!(csv.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn corrupted_parquet_never_panics(edits in prop::collection::vec((0usize..100_000, any::<u8>()), 1..20)) {
        let mut bytes = gaia_as(TableFormat::Parquet);
        let len = bytes.len();
        for (at, value) in edits {
            bytes[at % len] = value;
        }
        let _ = read_table(Cursor::new(bytes), TableFormat::Parquet);
    }

    #[test]
    fn arbitrary_csv_never_panics(text in "[a-z0-9,\\.\\-\"\\n ]{0,200}") {
        let _ = read_table(Cursor::new(text.into_bytes()), TableFormat::Csv);
    }
}
