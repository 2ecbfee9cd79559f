//! `skyglass convert`: tables between formats, values and VO metadata kept.

use super::*;

/// The ra column of a VOTable we wrote, or of a real one.
fn votable_column(path: &std::path::Path, name: &str) -> Vec<Option<f64>> {
    use skyglass_votable::read_votable;
    let votable = read_votable(&std::fs::read(path).unwrap()).unwrap();
    let schema = votable.meta.tables()[0].schema();
    let index = schema.index_of(name).unwrap();
    let mut out = Vec::new();
    for batch in &votable.batches[0] {
        let column = arrow_cast_f64(batch.column(index));
        out.extend(column);
    }
    out
}

fn arrow_cast_f64(array: &arrow_array::ArrayRef) -> Vec<Option<f64>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let values = array.as_primitive::<Float64Type>();
    (0..values.len()).map(|i| (!values.is_null(i)).then(|| values.value(i))).collect()
}

#[test]
fn convert_between_votable_and_csv_keeps_the_values() {
    let data = skyglass_test_support::shared_data().join("votable/astroquery/esa");
    let dir = std::env::temp_dir().join(format!("skyglass-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // The Gaia archive's own CSV of a query, to VOTable: the same positions as its VOTable.
    let from_csv = dir.join("from_csv.vot");
    let output =
        skyglass(&["convert", data.join("1714556098855O-result.csv").to_str().unwrap(), from_csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let archive_ra = votable_column(&data.join("1714556098855O-result.vot"), "ra");
    assert_eq!(votable_column(&from_csv, "ra"), archive_ra);
    assert_eq!(votable_column(&from_csv, "dec"), votable_column(&data.join("1714556098855O-result.vot"), "dec"));

    // VOTable to CSV and back through BINARY2: nothing changes.
    let csv = dir.join("table.csv");
    let back = dir.join("back.vot");
    let output =
        skyglass(&["convert", data.join("1714556098855O-result.vot").to_str().unwrap(), csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = skyglass(&["convert", csv.to_str().unwrap(), back.to_str().unwrap(), "--format", "votable-binary2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(std::fs::read_to_string(&back).unwrap().contains("<BINARY2>"));
    assert_eq!(votable_column(&back, "ra"), archive_ra);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_refuses_what_it_cannot_read_and_leaves_no_file() {
    let dir = std::env::temp_dir().join(format!("skyglass-convert-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("page.xml");
    std::fs::write(&html, "<html><body>502 Bad Gateway</body></html>").unwrap();
    let out = dir.join("out.csv");
    let output = skyglass(&["convert", html.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("not a VOTable"), "{}", stderr(&output));
    assert!(!out.exists() && !dir.join("out.partial").exists());

    let output = skyglass(&["convert", html.to_str().unwrap(), dir.join("out.unknown").to_str().unwrap()]);
    assert!(stderr(&output).contains("give --format"), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn parquet_keeps_values_and_vo_metadata() {
    let data = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let dir = std::env::temp_dir().join(format!("skyglass-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let parquet = dir.join("table.parquet");
    let back = dir.join("back.vot");
    for (input, output) in [(data.as_path(), parquet.as_path()), (parquet.as_path(), back.as_path())] {
        let output = skyglass(&["convert", input.to_str().unwrap(), output.to_str().unwrap()]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));
    assert_eq!(votable_column(&back, "ra"), votable_column(&data, "ra"));
    // The UCDs and units travelled through Parquet's stored Arrow schema.
    let text = std::fs::read_to_string(&back).unwrap();
    assert!(text.contains(r#"name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main""#), "{text:.2000}");
    std::fs::remove_dir_all(&dir).ok();
}
