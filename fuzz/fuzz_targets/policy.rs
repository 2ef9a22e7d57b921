//! The disclosure policy file: `Policy::parse` on any UTF-8 text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reglink_protect::Policy;

fuzz_target!(|text: &str| {
    let _ = Policy::parse("fuzz.toml", text);
});
