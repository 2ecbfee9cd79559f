#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A space MOC written as FITS reads back the same, for each real MOC file.

use skyglass_sky::Moc;
use skyglass_test_support::shared_file;

#[test]
fn space_mocs_round_trip_through_fits() {
    for file in ["moc/mocpy/P-GALEXGR6-AIS-FUV.fits", "moc/cds-moc-rust/glimpse.moc.json", "moc/astroquery/moc.fits"] {
        let Moc::Space(moc) = Moc::read_path(&shared_file(file), None).unwrap() else { panic!("{file}") };
        let bytes = moc.to_fits().unwrap();
        let Moc::Space(again) = Moc::from_bytes(&bytes, None).unwrap() else { panic!("{file} as FITS") };
        assert_eq!(again.depth(), moc.depth(), "{file}");
        assert!(again.ranges().eq(moc.ranges()), "{file}: the same cells");
    }
}
