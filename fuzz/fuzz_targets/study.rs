//! The study file: `Study::parse` on any UTF-8 text, resolved against
//! `fuzz/study/`, which holds small code lists at the paths the example study
//! names (`raw/codelists/*.csv`), so a study can get past its code lists and
//! on to variables, populations and tables.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use reglink_link::Study;

fuzz_target!(|text: &str| {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/study/study.toml"));
    let _ = Study::parse(path, text);
});
