//! MOC files come from anywhere (archives, SAMP peers, the user's disk): every byte string
//! must give a MOC or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyglass_sky::Moc;

fuzz_target!(|data: &[u8]| {
    let _ = Moc::from_bytes(data, None);
});
