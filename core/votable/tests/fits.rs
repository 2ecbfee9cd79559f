//! FITS binary tables read as astropy.io.fits reads them (golden/astropy_fits_tables.csv,
//! written by golden/make_fits_golden.py): rows, and per column the sum of its numbers
//! (arrays flattened, TSCAL/TZERO applied) or its first string.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use common::load;
use skyglass_test_support::shared_file;
use skyglass_votable::fits::read_fits_table;
use std::path::Path;

/// Sum of the finite numbers of a column, or its first non-blank string.
fn summarise(arrays: &[ArrayRef]) -> String {
    let mut sum = 0.0;
    for array in arrays {
        match numbers(array) {
            Some(values) => sum += values.into_iter().filter(|v| v.is_finite()).sum::<f64>(),
            None => {
                if let DataType::Utf8 = array.data_type()
                    && let Some(text) = array.as_string::<i32>().iter().flatten().map(str::trim).find(|s| !s.is_empty())
                {
                    return text.to_owned();
                }
                return String::new();
            }
        }
    }
    format!("{sum:?}")
}

fn numbers(array: &ArrayRef) -> Option<Vec<f64>> {
    let valid = |i: usize| !array.is_null(i);
    Some(match array.data_type() {
        DataType::FixedSizeList(_, _) => {
            let list = array.as_fixed_size_list();
            (0..list.len()).filter(|&i| valid(i)).flat_map(|i| numbers(&list.value(i)).unwrap_or_default()).collect()
        }
        DataType::Boolean => (0..array.len()).map(|i| f64::from(u8::from(array.as_boolean().value(i)))).collect(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().iter().flatten().map(f64::from).collect(),
        DataType::Int16 => array.as_primitive::<Int16Type>().iter().flatten().map(f64::from).collect(),
        DataType::Int32 => array.as_primitive::<Int32Type>().iter().flatten().map(f64::from).collect(),
        DataType::Int64 => array.as_primitive::<Int64Type>().iter().flatten().map(|v| v as f64).collect(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().iter().flatten().map(|v| v as f64).collect(),
        DataType::Float32 => array.as_primitive::<Float32Type>().iter().flatten().map(f64::from).collect(),
        DataType::Float64 => array.as_primitive::<Float64Type>().iter().flatten().collect(),
        _ => return None,
    })
}

#[test]
fn binary_tables_match_astropy() {
    let golden =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/astropy_fits_tables.csv"))
            .unwrap();
    let mut checked = 0;
    let mut problems = Vec::new();
    let mut position = std::collections::HashMap::new();
    for line in golden.lines().skip(1) {
        let parts: Vec<&str> = line.splitn(5, ',').collect();
        let [file, hdu, rows, column, summary] = parts[..] else { panic!("bad golden line {line}") };
        let hdu: usize = hdu.parse().unwrap();
        let table =
            read_fits_table(&load(&shared_file(file)), Some(hdu)).unwrap_or_else(|e| panic!("{file} HDU {hdu}: {e}"));
        let index = position.entry((file.to_owned(), hdu)).or_insert(0usize);
        let ours_rows: usize = table.batches.iter().map(|b| b.num_rows()).sum();
        if ours_rows.to_string() != rows {
            problems.push(format!("{file} HDU {hdu}: {ours_rows} rows, astropy {rows}"));
        }
        let field = table.schema.field(*index);
        if field.name() != column {
            problems.push(format!("{file} HDU {hdu}: column {} is {}, astropy {column}", *index, field.name()));
        }
        let arrays: Vec<ArrayRef> = table.batches.iter().map(|b| b.column(*index).clone()).collect();
        let ours = summarise(&arrays);
        let agree = match (ours.parse::<f64>(), summary.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
            _ => ours == summary,
        };
        if !agree {
            problems.push(format!("{file} HDU {hdu} column {column}: {ours:?}, astropy {summary:?}"));
        }
        *index += 1;
        checked += 1;
    }
    assert!(checked >= 50, "{checked} columns");
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn units_and_the_first_table_by_default() {
    let table = read_fits_table(&load(&shared_file("timeseries/sunpy/gbm.fits")), None).unwrap();
    assert_eq!(table.schema.field(0).name(), "CHANNEL");
    assert_eq!(table.schema.field(1).metadata().get("unit").map(String::as_str), Some("keV"));
}

/// GOES-15 XRS keeps a day in one row of its second table: TIME (42177 s) and FLUX with
/// TDIM (2,42177), the two channels side by side at each time.
#[test]
fn every_table_of_a_file_with_its_name_and_array_shapes() {
    let tables =
        skyglass_votable::fits::read_fits_tables(&load(&shared_file("timeseries/sunpy/go1520110607.fits"))).unwrap();
    let names: Vec<(usize, Option<&str>)> = tables.iter().map(|t| (t.hdu, t.name.as_deref())).collect();
    assert_eq!(names, [(1, Some("EDGES")), (2, Some("FLUXES")), (3, Some("STATUS"))]);
    let fluxes = tables[1].table.as_ref().unwrap();
    assert_eq!(fluxes.batches[0].num_rows(), 1);
    let arraysize = |name: &str| {
        let field = fluxes.schema.field_with_name(name).unwrap();
        field.metadata().get("arraysize").cloned()
    };
    assert_eq!(arraysize("TIME").as_deref(), Some("42177"));
    assert_eq!(arraysize("FLUX").as_deref(), Some("2x42177"));
}

#[test]
fn broken_fits_files_are_clear_errors() {
    let bytes = load(&shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits"));
    let err = read_fits_table(&bytes[..bytes.len() - 20_000], None).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
    let err = read_fits_table(b"SIMPLE  = T", None).unwrap_err().to_string();
    assert!(err.contains("truncated") || err.contains("no binary table"), "{err}");
    let image = load(&shared_file("fits/astropy/m13.fits"));
    assert!(read_fits_table(&image, None).unwrap_err().to_string().contains("no binary table"));
}

/// What we write as FITS, astropy reads with the same rows and values (and no warning):
/// tables from VOTable (strings, integers with nulls, booleans) and from FITS (scaled and
/// vector columns).
#[test]
fn astropy_reads_the_fits_tables_we_write() {
    use skyglass_votable::{TableFormat, read_table};
    let dir = std::env::temp_dir().join(format!("skyglass-fits-readback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sources = [
        ("votable/astroquery/esa/1714556098855O-result.vot", TableFormat::VoTable),
        ("votable/pyvo/scs/result.xml", TableFormat::VoTable),
        ("timeseries/sunpy/gbm.fits", TableFormat::Fits),
        ("timeseries/sunpy/go1520110607.fits", TableFormat::Fits),
        ("timeseries/sunpy/lyra_20150101-000000_lev3_std_truncated.fits.gz", TableFormat::Fits),
    ];
    let mut expected = Vec::new();
    for (i, (source, format)) in sources.iter().enumerate() {
        let table = read_table(std::io::Cursor::new(load(&shared_file(source))), *format).unwrap();
        let name = format!("t{i}.fits");
        let mut bytes = Vec::new();
        skyglass_votable::write_table(&mut bytes, &table, TableFormat::Fits, Vec::new()).unwrap();
        assert_eq!(bytes.len() % 2880, 0, "{source}: FITS files are whole blocks");
        std::fs::write(dir.join(&name), &bytes).unwrap();
        let rows: usize = table.batches.iter().map(|b| b.num_rows()).sum();
        for (c, field) in table.schema.fields().iter().enumerate() {
            let arrays: Vec<ArrayRef> = table.batches.iter().map(|b| b.column(c).clone()).collect();
            expected.push(format!("{name},{rows},{},{}", field.name(), summarise(&arrays)));
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fits_readback.py");
    let output = std::process::Command::new("python3").arg(script).arg(&dir).output().expect("python3 with astropy");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "astropy: {}{}", said, String::from_utf8_lossy(&output.stderr));
    let got: Vec<&str> = said.lines().collect();
    assert_eq!(got.len(), expected.len(), "{said}");
    for (ours, theirs) in expected.iter().zip(&got) {
        let (a, b): (Vec<&str>, Vec<&str>) = (ours.splitn(4, ',').collect(), theirs.splitn(4, ',').collect());
        assert_eq!(a[..3], b[..3], "{ours} / {theirs}");
        let agree = match (a[3].parse::<f64>(), b[3].parse::<f64>()) {
            (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300),
            _ => a[3] == b[3],
        };
        assert!(agree, "ours {ours} / astropy {theirs}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

mod corrupted {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Bytes overwritten anywhere in a real FITS table: a table or an error, never a
        /// panic (header sizes are untrusted).
        #[test]
        fn corrupted_fits_tables_never_panic(edits in prop::collection::vec((0usize..40_000, any::<u8>()), 1..30)) {
            let mut bytes = load(&shared_file("timeseries/sunpy/gbm.fits"));
            let len = bytes.len();
            for (at, value) in edits {
                bytes[at % len] = value;
            }
            let _ = read_fits_table(&bytes, None);
            let _ = read_fits_table(&bytes, Some(2));
        }

        /// Header cards rewritten with arbitrary digits: sizes near overflow are refused.
        #[test]
        fn absurd_fits_sizes_never_panic(naxis1 in any::<u64>(), naxis2 in any::<u64>(), repeat in any::<u64>()) {
            let mut bytes = load(&shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits"));
            let text = String::from_utf8_lossy(&bytes).into_owned();
            for (key, value) in [("NAXIS1  =", naxis1), ("NAXIS2  =", naxis2), ("TFORM1  =", repeat)] {
                if let Some(at) = text.find(key) {
                    let card = if key.starts_with("TFORM") { format!("{key} '{value}E'") } else { format!("{key} {value:>20}") };
                    let card = format!("{card:<80}");
                    bytes[at..at + 80].copy_from_slice(&card.as_bytes()[..80]);
                }
            }
            let _ = read_fits_table(&bytes, None);
        }
    }
}
