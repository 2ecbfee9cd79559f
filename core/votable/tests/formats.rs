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
    fn arbitrary_ecsv_headers_never_panic(header in prop::collection::vec("[ a-z0-9:,'\"{}!%#-]{0,40}", 0..12)) {
        let text = format!("# %ECSV 1.0\n# ---\n{}\na b\n1 2\n", header.iter().map(|l| format!("# {l}")).collect::<Vec<_>>().join("\n"));
        let _ = read_table(Cursor::new(text.into_bytes()), TableFormat::Ecsv);
    }

    #[test]
    fn arbitrary_csv_never_panics(text in "[a-z0-9,\\.\\-\"\\n ]{0,200}") {
        let _ = read_table(Cursor::new(text.into_bytes()), TableFormat::Csv);
    }
}

/// ECSV files astropy wrote from real VOTables (golden/make_ecsv.py) read with the rows,
/// nulls and values astropy reads from those VOTables (golden/astropy_tables.csv), and with
/// their units, descriptions and UCDs.
#[test]
fn ecsv_reads_as_astropy_wrote_it() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_array::{Array, ArrayRef};
    use arrow_schema::DataType;
    fn sum(array: &ArrayRef) -> Option<f64> {
        let values: Vec<f64> = match array.data_type() {
            DataType::Int8 => array.as_primitive::<Int8Type>().iter().flatten().map(f64::from).collect(),
            DataType::Int16 => array.as_primitive::<Int16Type>().iter().flatten().map(f64::from).collect(),
            DataType::Int32 => array.as_primitive::<Int32Type>().iter().flatten().map(f64::from).collect(),
            DataType::Int64 => array.as_primitive::<Int64Type>().iter().flatten().map(|v| v as f64).collect(),
            DataType::UInt8 => array.as_primitive::<UInt8Type>().iter().flatten().map(f64::from).collect(),
            DataType::Float32 => array.as_primitive::<Float32Type>().iter().flatten().map(f64::from).collect(),
            DataType::Float64 => array.as_primitive::<Float64Type>().iter().flatten().collect(),
            _ => return None,
        };
        Some(values.into_iter().filter(|v| v.is_finite()).sum())
    }
    let golden = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/astropy_tables.csv"),
    )
    .unwrap();
    let mut checked = 0;
    for (ecsv, source) in [
        ("gaia_result", "votable/astroquery/esa/1714556098855O-result.vot"),
        ("scs_result", "votable/pyvo/scs/result.xml"),
        ("ned_photometry", "votable/astroquery/ned/query_photometry.xml"),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/ecsv/{ecsv}.ecsv"));
        let table = read_table(Cursor::new(std::fs::read(&path).unwrap()), TableFormat::Ecsv).unwrap();
        for line in golden.lines().filter(|l| l.starts_with(&format!("{source},0,"))) {
            let parts: Vec<&str> = line.split(',').collect();
            let (rows, column, masked, summary) = (parts[2], parts[3], parts[4], parts[5]);
            let index = table.schema.index_of(column).unwrap_or_else(|_| panic!("{ecsv}: no column {column}"));
            let array = arrow_select::concat::concat(
                &table.batches.iter().map(|b| b.column(index).as_ref()).collect::<Vec<_>>(),
            )
            .unwrap();
            assert_eq!(array.len().to_string(), rows, "{ecsv} {column}: rows");
            if let (Some(ours), Ok(theirs)) = (sum(&array), summary.parse::<f64>()) {
                assert!(
                    (ours - theirs).abs() <= 1e-6 * ours.abs().max(theirs.abs()).max(1e-300),
                    "{ecsv} {column}: {ours} vs {theirs}"
                );
                assert_eq!(array.null_count().to_string(), masked, "{ecsv} {column}: nulls");
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} columns");
    let gaia = read_table(
        Cursor::new(
            std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ecsv/gaia_result.ecsv"))
                .unwrap(),
        ),
        TableFormat::Ecsv,
    )
    .unwrap();
    let ra = gaia.schema.field_with_name("ra").unwrap().metadata();
    assert_eq!(ra.get("unit").map(String::as_str), Some("deg"));
    assert_eq!(ra.get("ucd").map(String::as_str), Some("pos.eq.ra;meta.main"));
    assert!(ra.get("description").is_some_and(|d| d.contains("Right ascension")));
}
