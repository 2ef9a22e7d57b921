//! ISO dates: `reglink_pnr::Date::parse_iso`, the parser behind every date
//! cell of an extract (`reglink-link` `load/col.rs`) and `--reference-date`.
//! Fast, unlike `cells`, which reaches the same parser through `link`.
//!
//! Beyond "never panics": a parsed date prints as text that parses back to
//! it, and survives the trip through days since 1970.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reglink_pnr::Date;

fuzz_target!(|text: &str| {
    let Some(date) = Date::parse_iso(text) else {
        return;
    };
    let written = date.to_string();
    assert_eq!(Date::parse_iso(&written), Some(date), "Display parses back");
    assert_eq!(
        Date::from_days_since_epoch(date.days_since_epoch()),
        date,
        "days since 1970 round-trip"
    );
});
