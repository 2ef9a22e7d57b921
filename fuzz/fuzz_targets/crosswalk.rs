//! The crosswalk: `Crosswalk::load` on any bytes written to a temporary CSV
//! file, with a fixed reference date.
//!
//! Beyond "never panics": resolving is idempotent (chains end at a number that
//! is not itself changed), checked for every number the file maps.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reglink_pnr::{Date, Pnr};
use reglink_pseudo::Crosswalk;

fuzz_target!(|data: &[u8]| {
    let file = reglink_fuzz::scratch_file("crosswalk.csv");
    std::fs::write(&file, data).expect("write the crosswalk");
    let reference = Date::new(2025, 1, 1).expect("a date");
    let Ok(crosswalk) = Crosswalk::load(&file, reference) else {
        return;
    };
    // Every field that parses as a number: its final number maps nowhere.
    for field in data.split(|b| matches!(b, b',' | b';' | b'\t' | b'|' | b'\n' | b'\r')) {
        if let Ok(pnr) = Pnr::parse_bytes(field, reference) {
            let last = crosswalk.resolve(pnr);
            assert!(
                crosswalk.resolve(last) == last,
                "a resolved number is final"
            );
        }
    }
});
