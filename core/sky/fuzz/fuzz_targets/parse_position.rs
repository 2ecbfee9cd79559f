//! The coordinate parser takes whatever a user types: it must answer every input with a
//! position or an error, never a panic, and what it accepts must be a real direction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyglass_sky::{Frame, parse_position};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for frame in [Frame::Icrs, Frame::Galactic] {
        if let Ok(position) = parse_position(text, frame) {
            let (lon, lat) = (position.lon().degrees(), position.lat().degrees());
            assert!((0.0..360.0).contains(&lon), "{text:?} gave longitude {lon}");
            assert!((-90.0..=90.0).contains(&lat), "{text:?} gave latitude {lat}");
        }
    }
});
