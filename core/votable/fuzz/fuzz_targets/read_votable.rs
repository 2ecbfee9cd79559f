//! VOTables arrive from any service, SAMP peer or upload: every byte string must give a
//! document or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyglass_votable::{ReaderOptions, read_votable_with};

fuzz_target!(|data: &[u8]| {
    // Small batches exercise the batch boundaries; small limits the refusals.
    let options = ReaderOptions { batch_rows: 3, max_array_elements: 4096, ..ReaderOptions::default() };
    let _ = read_votable_with(data, options);
});
