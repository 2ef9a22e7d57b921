//! Text cells of pseudonymised extracts read as codes, months, dates and
//! numbers (`reglink-link` `load/col.rs`, through its hidden entry
//! `read_text_cells`): the same readers `cells` reaches through `link`, fast
//! enough for a million inputs. Each line of the input is one cell.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let cells: Vec<&str> = text.split('\n').collect();
    let ok = reglink_link::read_text_cells(&cells);
    assert!(ok <= 4 * cells.len());
});
