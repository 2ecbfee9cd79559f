//! Malformed input gives a clear error, never a panic.

// Test helpers may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use skyglass_sky::{Moc, MocError, MocKind};
use skyglass_test_support::shared_data;
use std::path::PathBuf;

fn real_fits_moc() -> Vec<u8> {
    std::fs::read(shared_data().join("moc/mocpy/CDS-I-125A-catalog_MOC.fits")).unwrap()
}

#[test]
fn truncated_fits_moc_is_an_error() {
    let bytes = real_fits_moc();
    // The last cut keeps the headers and most rows but not all (the file ends in 1216 bytes of padding).
    for cut in [10, 2880, 2880 + 100, 5760 + 17, bytes.len() - 3000] {
        let err = Moc::from_bytes(&bytes[..cut], None).expect_err("truncated file read as a MOC");
        assert!(matches!(err, MocError::Fits(_)), "cut at {cut}: {err}");
    }
}

#[test]
fn garbage_is_an_error_with_the_format_named() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"SIMPLE  = nonsense", "FITS"),
        (b"3/abc 4/1", "ASCII"),
        (b"{\"3\": [1, \"x\"]}", "JSON"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
    ];
    for (bytes, expected) in cases {
        let err = Moc::from_bytes(bytes, None).expect_err("garbage read as a MOC").to_string();
        assert!(err.contains(expected), "{:?}: {err:?} does not mention {expected}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn missing_file_names_the_path() {
    let err = Moc::read_path(std::path::Path::new("no/such/moc.fits"), None).unwrap_err().to_string();
    assert!(err.contains("no/such/moc.fits"), "{err}");
}

#[test]
fn ascii_kind_can_be_forced() {
    let space = Moc::from_ascii("3/1-4 4/20", Some(MocKind::Space)).unwrap();
    let time = Moc::from_ascii("3/1-4 4/20", Some(MocKind::Time)).unwrap();
    assert_eq!(space.kind(), MocKind::Space);
    assert_eq!(time.kind(), MocKind::Time);
    // An order past 29 is not spatial.
    assert!(Moc::from_ascii("35/1", Some(MocKind::Space)).is_err());
    assert!(Moc::from_ascii("3/768", None).unwrap_err().to_string().contains("do not exist at order 3"));
    assert!(Moc::from_json("{\"62\": [1]}", None).unwrap_err().to_string().contains("above the maximum"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Random bytes overwritten in a real FITS MOC: an error or a MOC, never a panic.
    #[test]
    fn corrupted_fits_moc_never_panics(edits in prop::collection::vec((0usize..20_000, any::<u8>()), 1..20)) {
        let mut bytes = real_fits_moc();
        let len = bytes.len();
        for (at, value) in edits {
            bytes[at % len] = value;
        }
        let _ = Moc::from_bytes(&bytes, None);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[0-9/ ,\\-ts{}\\[\\]\":]{0,60}") {
        let _ = Moc::from_bytes(text.as_bytes(), None);
    }
}

/// Found by the `read_moc` fuzz target: a real MOC with one NUNIQ value overwritten by a
/// number below 4, which underflowed inside the `moc` crate.
#[test]
fn regression_nuniq_below_four_is_an_error() {
    let bytes =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_moc_nuniq_below_four.fits"))
            .unwrap();
    let err = Moc::from_bytes(&bytes, None).unwrap_err().to_string();
    assert!(err.contains("is not valid in a SPACE MOC"), "{err}");
}

/// Found by the `read_moc` fuzz target: `MOCDIM = 'SPACE   '  &` once escaped the value
/// checks, because the quoted string was not parsed as FITS defines it.
#[test]
fn regression_text_after_a_quoted_value_does_not_skip_the_checks() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_moc_text_after_quoted_mocdim.fits");
    let err = Moc::from_bytes(&std::fs::read(path).unwrap(), None).unwrap_err().to_string();
    assert!(err.contains("SPACE MOC"), "{err}");
}

/// Found by the `read_moc` fuzz target: `NAXIS   =` with no value made the `moc` crate
/// slice past the value while writing its own error message.
#[test]
fn regression_a_mandatory_card_without_value_is_an_error() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_moc_empty_naxis_value.fits");
    let err = Moc::from_bytes(&std::fs::read(path).unwrap(), None).unwrap_err().to_string();
    assert!(err.contains("card 3: expected NAXIS = 0, found NAXIS = \"\""), "{err}");
}

/// Found by the `read_moc` fuzz target: a byte inserted in the header shifted ` END` off
/// the start of its card; the checks took it for the end of the header, the `moc` crate
/// did not, and they read different bytes as the table.
#[test]
fn regression_an_indented_end_card_does_not_end_the_header() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_moc_indented_end_card.fits");
    assert!(Moc::from_bytes(&std::fs::read(path).unwrap(), None).is_err());
}

/// Found by the `read_moc` fuzz target: a second, valid copy of the table's mandatory cards
/// after an empty TFIELDS. The `moc` crate reads the first; so must the checks.
#[test]
fn regression_mandatory_cards_are_checked_in_place() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_moc_repeated_mandatory_cards.fits");
    let err = Moc::from_bytes(&std::fs::read(path).unwrap(), None).unwrap_err().to_string();
    assert!(err.contains("expected TFIELDS = 1"), "{err}");
}
