#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A real service's table metadata (the ESA Gaia archive's VOSI tables, as astroquery's tests
//! keep them) read, and the position columns found in it as in the tables' rows.

use skyglass_test_support::shared_file;

#[test]
fn position_columns_are_found_in_a_real_services_metadata() {
    let xml = std::fs::read(shared_file("tap/astroquery/test_tables_gaia.xml")).unwrap();
    let tables = skyglass_tap::vosi::parse_tables(&xml).unwrap();
    let found: Vec<(String, Option<(String, String)>)> = tables
        .iter()
        .map(|table| {
            let columns = table.columns.iter().map(|c| (c.name.as_str(), c.ucd.as_str(), c.datatype.as_str()));
            let position = skyglass_votable::detect_equatorial_by_metadata(columns)
                .map(|(ra, dec)| (table.columns[ra].name.clone(), table.columns[dec].name.clone()));
            (table.name.clone(), position)
        })
        .collect();
    let pair = |ra: &str, dec: &str| Some((ra.to_owned(), dec.to_owned()));
    assert_eq!(
        found,
        [
            ("external.apassdr9".to_owned(), pair("raj2000", "dej2000")),
            ("external.catwise2020".to_owned(), pair("ra_icrs", "de_icrs")),
            ("external.gaiadr2_astrophysical_parameters".to_owned(), None),
        ]
    );
}
