//! Personnummer parsing: `Pnr::parse_bytes` on any bytes, against any
//! reference date. The first four bytes pick the reference date.
//!
//! Beyond "never panics": an accepted number is 12 ASCII digits, redacts itself
//! in `Debug`, and every written form of it parses back to the same number
//! (the ten-digit forms only for people under 200 on the reference date).

#![no_main]

use libfuzzer_sys::fuzz_target;
use reglink_pnr::{Date, Form, Pnr};

fuzz_target!(|data: &[u8]| {
    let Some((head, input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let reference = Date::from_days_since_epoch(i32::from_le_bytes(*head));
    let from_bytes = Pnr::parse_bytes(input, reference);
    if let Ok(text) = std::str::from_utf8(input) {
        assert_eq!(
            Pnr::parse(text, reference).is_ok(),
            from_bytes.is_ok(),
            "parse and parse_bytes disagree"
        );
    }
    let Ok(pnr) = from_bytes else {
        return;
    };
    let digits = pnr.normalised();
    assert!(
        digits.iter().all(u8::is_ascii_digit),
        "normalised form is not 12 digits"
    );
    let debug = format!("{pnr:?}");
    assert!(
        !debug.contains(std::str::from_utf8(&digits[2..]).unwrap_or("")),
        "Debug shows the number"
    );
    // The ten-digit forms place a number within 200 years before the reference
    // date (`-` or `+`); older numbers have no ten-digit form.
    let ten_digit_ok = pnr.age_at(reference) < 200;
    for form in [
        Form::Twelve,
        Form::TwelveDash,
        Form::TenSeparated,
        Form::Ten,
    ] {
        if matches!(form, Form::TenSeparated | Form::Ten) && !ten_digit_ok {
            continue;
        }
        let written = pnr.format(form, reference);
        let again = Pnr::parse(&written, reference);
        assert!(
            again == Ok(pnr),
            "{form:?} does not parse back to the same number"
        );
    }
});
