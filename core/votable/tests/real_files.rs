//! Every VOTable in the shared real data parses, and the two broken on purpose fail clearly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{BROKEN_ON_PURPOSE, load, real_votables};
use skyglass_test_support::shared_data;
use skyglass_votable::{VoTableError, read_votable};
use std::path::Path;

#[test]
fn every_real_votable_parses() {
    let files = real_votables();
    assert!(files.len() >= 36, "only {} VOTables found", files.len());
    let mut rows = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if BROKEN_ON_PURPOSE.contains(&name.as_str()) {
            continue;
        }
        let votable = read_votable(&load(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for batches in &votable.batches {
            rows += batches.iter().map(|b| b.num_rows()).sum::<usize>();
        }
    }
    eprintln!("{} files, {rows} rows", files.len());
}

#[test]
fn files_broken_on_purpose_give_clear_errors() {
    let data = shared_data().join("votable/astropy");
    let err = read_votable(&load(&data.join("custom_datatype.xml"))).unwrap_err();
    assert!(matches!(err, VoTableError::BadDefinition { .. }), "{err}");
    assert!(err.to_string().contains("unknown datatype \"bar\""), "{err}");

    let err = read_votable(&load(&data.join("too_many_columns.xml.gz"))).unwrap_err();
    assert!(err.to_string().contains("cells for"), "{err}");
}

/// Where we read nulls differently from astropy 8.0, on purpose; each was checked by hand.
/// - Empty (or blank) TD cells are null for every datatype, arrays included (VOTable 1.3,
///   section 6.1); astropy reads 0, or 1.0 for a blank float, unmasked.
/// - Integers out of their type's range are null, with a diagnostic; astropy clamps them.
/// - BINARY2 null flags on strings are honoured; astropy reads those strings as "".
///
/// The same columns of regression.xml's second table differ for the same reasons.
const DELIBERATE_DIFFERENCES: [(&str, &str); 12] = [
    ("footprints/astroquery/irsa/Polygon.xml", "phi_opt"),
    ("footprints/astroquery/irsa/Polygon.xml", "ext_key"),
    ("votable/astropy/binary2_masked_strings.xml", "epoch_photometry_url"),
    ("votable/astropy/gemini.xml", "content_length"),
    ("votable/astropy/regression.xml", "unsignedByte"),
    ("votable/astropy/regression.xml", "short"),
    ("votable/astropy/regression.xml", "float"),
    ("votable/astropy/regression.xml", "array"),
    ("votable/astropy/regression.xml", "bitvararray"),
    ("votable/astropy/regression.xml", "bitvararray2"),
    ("votable/astropy/regression.xml", "doublearray"),
    ("votable/pyvo/sla/dataset.xml", "recommended"),
];

/// Row counts and per-column null counts agree with astropy.io.votable on every real file
/// (golden/astropy_tables.csv, written by golden/make_golden.py), but for the deliberate
/// differences above.
#[test]
fn rows_and_nulls_match_astropy() {
    let golden =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/astropy_tables.csv")).unwrap();
    type Expected = (usize, usize, String, usize, String);
    let mut expected: std::collections::BTreeMap<String, Vec<Expected>> = Default::default();
    for line in golden.lines().skip(1) {
        let parts: Vec<&str> = line.split(',').collect();
        let [file, table, rows, column, masked, summary] = parts[..] else { panic!("bad golden line {line}") };
        expected.entry(file.to_owned()).or_default().push((
            table.parse().unwrap(),
            rows.parse().unwrap(),
            column.to_owned(),
            masked.parse().unwrap(),
            summary.to_owned(),
        ));
    }
    assert!(expected.len() >= 30);
    let mut problems = Vec::new();
    for (file, columns) in &expected {
        let votable = read_votable(&load(&shared_data().join(file))).unwrap();
        let mut position_in_table = std::collections::HashMap::new();
        for (table, rows, column, masked, summary) in columns {
            let position = position_in_table.entry(*table).or_insert(0usize);
            let Some(batches) = votable.batches.get(*table) else {
                problems.push(format!("{file}: no table {table}"));
                continue;
            };
            let ours_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            if ours_rows != *rows {
                problems.push(format!("{file} table {table}: {ours_rows} rows, astropy {rows}"));
            }
            if !column.is_empty() {
                let nulls: usize = batches.iter().map(|b| b.column(*position).null_count()).sum();
                let deliberate = DELIBERATE_DIFFERENCES.contains(&(file.as_str(), column.as_str()));
                if nulls != *masked && !deliberate {
                    problems.push(format!("{file} table {table} column {column}: {nulls} nulls, astropy {masked}"));
                }
                let ours = summarise(batches, *position);
                let agree = match (ours.parse::<f64>(), summary.parse::<f64>()) {
                    (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
                    _ => ours == summary.trim(),
                };
                if !summary.is_empty() && *rows > 0 && !agree && !deliberate {
                    problems
                        .push(format!("{file} table {table} column {column}: values {ours:?}, astropy {summary:?}"));
                }
                *position += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

/// The golden file's fingerprint of a column: the sum of finite non-null numbers, or the first
/// non-null string that is not blank and has no commas or newlines, trimmed: astropy's XML
/// parser strips the whitespace around every element's text, while we keep a TD's text as
/// written.
fn summarise(batches: &[arrow_array::RecordBatch], column: usize) -> String {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType;
    let mut sum = 0.0f64;
    let mut numeric = false;
    for batch in batches {
        let array = batch.column(column);
        let values: Vec<Option<f64>> = match array.data_type() {
            DataType::UInt8 => array.as_primitive::<UInt8Type>().iter().map(|v| v.map(f64::from)).collect(),
            DataType::Int16 => array.as_primitive::<Int16Type>().iter().map(|v| v.map(f64::from)).collect(),
            DataType::Int32 => array.as_primitive::<Int32Type>().iter().map(|v| v.map(f64::from)).collect(),
            DataType::Int64 => array.as_primitive::<Int64Type>().iter().map(|v| v.map(|x| x as f64)).collect(),
            DataType::Float32 => array.as_primitive::<Float32Type>().iter().map(|v| v.map(f64::from)).collect(),
            DataType::Float64 => array.as_primitive::<Float64Type>().iter().collect(),
            DataType::Utf8 => {
                for value in array.as_string::<i32>().iter().flatten() {
                    let value = value.trim();
                    if !value.is_empty() && !value.contains(',') && !value.contains('\n') {
                        return value.to_owned();
                    }
                }
                continue;
            }
            _ => return String::new(),
        };
        numeric = true;
        sum += values.into_iter().flatten().filter(|v| v.is_finite()).sum::<f64>();
    }
    if numeric { format!("{sum:?}") } else { String::new() }
}
