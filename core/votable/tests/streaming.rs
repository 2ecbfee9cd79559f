//! The reader streams: batches never exceed `batch_rows`, and however the rows are cut into
//! batches, together they are the same table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::concat;
use proptest::prelude::*;
use skyglass_test_support::shared_file;
use skyglass_votable::{Event, ReaderOptions, VoTableReader, read_votable};

/// One TABLEDATA, one BINARY and one BINARY2 file of real service output.
const FILES: [&str; 3] = [
    "votable/astroquery/ned/query_photometry.xml",
    "votable/astropy/vizier_b2_votable.xml",
    "votable/pyvo/scs/result.xml",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn batches_are_bounded_and_add_up(file in prop::sample::select(FILES.to_vec()), batch_rows in 1usize..50) {
        let bytes = std::fs::read(shared_file(file)).unwrap();
        let whole = read_votable(&bytes).unwrap();
        let options = ReaderOptions { batch_rows, ..ReaderOptions::default() };
        let mut reader = VoTableReader::with_options(&bytes[..], options);
        let mut batches = Vec::new();
        while let Some(event) = reader.next_event().unwrap() {
            if let Event::Batch { table: 0, batch } = event {
                prop_assert!(batch.num_rows() <= batch_rows);
                batches.push(batch);
            }
        }
        let expected = concat(&whole.batches[0]);
        let streamed = concat(&batches);
        prop_assert_eq!(expected.len(), streamed.len());
        for (a, b) in expected.iter().zip(&streamed) {
            prop_assert_eq!(a.to_data(), b.to_data());
        }
    }
}

/// Input arriving a few bytes at a time (a slow socket) reads the same as a whole file:
/// tags, cells, references and base64 split anywhere.
#[test]
fn tiny_input_buffers_read_the_same() {
    for file in FILES.iter().chain(["votable/astropy/regression.xml"].iter()) {
        let bytes = std::fs::read(shared_file(file)).unwrap();
        let whole = read_votable(&bytes).unwrap();
        for capacity in [1, 3, 7, 64] {
            let mut reader = VoTableReader::new(std::io::BufReader::with_capacity(capacity, &bytes[..]));
            let mut batches = Vec::new();
            while let Some(event) = reader.next_event().unwrap() {
                if let Event::Batch { table: 0, batch } = event {
                    batches.push(batch);
                }
            }
            let (a, b) = (concat(&whole.batches[0]), concat(&batches));
            assert_eq!(a.len(), b.len(), "{file} with {capacity}-byte reads");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.to_data(), y.to_data(), "{file} with {capacity}-byte reads");
            }
        }
    }
}
