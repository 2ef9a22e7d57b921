//! Never-panic properties of the crosswalk: files of number changes drawn
//! from a few people (so chains, repeats, conflicts and cycles happen), in
//! every written form, with invalid and missing numbers and arbitrary bytes,
//! load or fail with an error, never a panic. A loaded crosswalk resolves
//! every chain to its end, and no error repeats a number of the file.

use proptest::prelude::*;
use reglink_pnr::{Date, Form, Pnr};
use reglink_pseudo::Crosswalk;

fn reference() -> Date {
    Date::new(2026, 6, 30).expect("valid date")
}

/// Person `n` of a small pool.
fn person(n: u16) -> Pnr {
    let birth = Date::new(
        1950 + i32::from(n % 50),
        1 + (n % 12) as u8,
        1 + (n % 28) as u8,
    )
    .expect("valid date");
    Pnr::from_parts(birth, 100 + n, n.is_multiple_of(7)).expect("valid parts")
}

const FORMS: [Form; 4] = [
    Form::Twelve,
    Form::TwelveDash,
    Form::TenSeparated,
    Form::Ten,
];

/// One cell of the `old` or `new` column.
#[derive(Debug, Clone)]
enum Cell {
    Person(u16, usize),
    /// Person `n` with its check digit changed.
    BadChecksum(u16),
    Text(String),
    Empty,
}

impl Cell {
    fn write(&self) -> String {
        match self {
            Cell::Person(n, form) => person(*n).format(FORMS[*form], reference()),
            Cell::BadChecksum(n) => {
                let mut s = person(*n).format(Form::Twelve, reference());
                let last = s.pop().expect("twelve digits");
                s.push(if last == '0' { '1' } else { '0' });
                s
            }
            Cell::Text(t) => t.clone(),
            Cell::Empty => String::new(),
        }
    }
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        12 => (0u16..8, 0usize..4).prop_map(|(n, f)| Cell::Person(n, f)),
        1 => (0u16..8).prop_map(Cell::BadChecksum),
        1 => "[0-9ä+-]{0,14}".prop_map(Cell::Text),
        1 => Just(Cell::Empty),
    ]
}

/// A crosswalk file and the numbers written in it.
fn crosswalk_file() -> impl Strategy<Value = (Vec<u8>, Vec<String>)> {
    (
        prop::sample::select(vec![
            "old,new",
            "new,old",
            "old;new;note",
            "from,to",
            "old",
            "",
        ]),
        prop::collection::vec((cell(), cell()), 0..10),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..12)),
    )
        .prop_map(|(header, rows, garbage)| {
            let delimiter = if header.contains(';') { ";" } else { "," };
            // No header: the first row's numbers become column names.
            let mut text = if header.is_empty() {
                String::new()
            } else {
                format!("{header}\n")
            };
            let mut written = Vec::new();
            for (a, b) in rows {
                let (a, b) = (a.write(), b.write());
                text.push_str(&format!("{a}{delimiter}{b}"));
                if header.contains("note") {
                    text.push_str(&format!("{delimiter}x"));
                }
                text.push('\n');
                written.extend([a, b]);
            }
            let mut bytes = text.into_bytes();
            if let Some(g) = garbage {
                bytes.extend(g);
            }
            (bytes, written)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn crosswalks_load_resolved_or_fail_cleanly((bytes, written) in crosswalk_file()) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("crosswalk.csv");
        std::fs::write(&path, &bytes).expect("write");
        match Crosswalk::load(&path, reference()) {
            Ok(cw) => {
                for n in 0..8 {
                    let end = cw.resolve(person(n));
                    prop_assert_eq!(cw.resolve(end), end, "a chain stops before its end");
                }
            }
            Err(e) => {
                let message = e.to_string();
                // Values with ten or more digits: personnummer-like.
                for w in &written {
                    let digits: String = w.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() < 10 {
                        continue;
                    }
                    prop_assert!(
                        !message.contains(w.as_str()) && !message.contains(&digits),
                        "an error repeats a number of the file: {}",
                        message
                    );
                }
            }
        }
    }

    #[test]
    fn any_bytes_are_a_crosswalk_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("crosswalk.csv");
        std::fs::write(&path, &bytes).expect("write");
        let _ = Crosswalk::load(&path, reference());
    }
}
