//! Swedish personal identity numbers: *personnummer* and *samordningsnummer*.
//!
//! Every register row is linked through the person's identity number, so this
//! crate is the first stage of reglink's data flow. It turns the many ways a
//! number is written in an extract into one normal form, which
//! `reglink-pseudo` then replaces by a keyed pseudonym:
//!
//! ```text
//!   field of an extract            Pnr                        reglink-pseudo
//!   b" 811218-9876 "  ──parse_bytes──▶ 12 digits YYYYMMDDNNNC ──normalised()──▶ keyed hash
//!                          ▲
//!          reference date (the day the extract was taken)
//! ```
//!
//! # Types
//!
//! - [`Pnr`]: a valid number in normal form, the twelve ASCII digits
//!   `YYYYMMDDNNNC`. Built by [`Pnr::parse`] / [`Pnr::parse_bytes`] (from
//!   text) or [`Pnr::from_parts`] (from a birth date and birth number, for
//!   synthetic data). Read with [`Pnr::normalised`], [`Pnr::birth_date`],
//!   [`Pnr::sex`], [`Pnr::is_coordination`], [`Pnr::birth_number`],
//!   [`Pnr::age_at`]; written out with [`Pnr::format`] in a [`Form`].
//! - [`Date`]: a small civil date, convertible to Arrow's `Date32` day count.
//! - [`PnrError`]: why an input was rejected. Its messages never contain the
//!   input or its digits.
//!
//! # The number
//!
//! `YYYYMMDD` is the date of birth, `NNN` the birth number (its last digit odd
//! for men, even for women) and `C` a Luhn check digit over `YYMMDDNNN`. A
//! samordningsnummer (coordination number, for people not registered as
//! resident) adds sixty to the day; it is a full identity, parsed and linked
//! like a personnummer, and keeps the day plus sixty in its normal form.
//!
//! Accepted written forms (surrounding ASCII whitespace is ignored):
//!
//! | form            | example         | century from                  |
//! |-----------------|-----------------|-------------------------------|
//! | `YYYYMMDDNNNC`  | `198112189876`  | the digits                    |
//! | `YYYYMMDD-NNNC` | `19811218-9876` | the digits                    |
//! | `YYMMDD-NNNC`   | `811218-9876`   | aged 0..=99 on the reference date |
//! | `YYMMDDNNNC`    | `8112189876`    | aged 0..=99 on the reference date |
//! | `YYMMDD+NNNC`   | `811218+9876`   | aged 100..=199 on the reference date |
//!
//! A space in place of the separator is rejected (it is ambiguous), as is a
//! `+` in the twelve-digit form.
//!
//! # The reference date
//!
//! A ten-digit number does not say its century; the separator only says
//! whether the person was under or over 100 *when the number was written*.
//! Parsing therefore takes a reference date, the day the extract was taken,
//! and picks the latest birth date with those digits that is not after it
//! (then a century earlier for `+`). Using the date of parsing instead would
//! silently move people born in the year 25 of one century into the next as
//! the extract ages. A twelve-digit number born after the reference date is
//! rejected.
//!
//! # What the check digit does not protect
//!
//! Luhn catches any single mistyped digit among the ten digits `YYMMDDNNNC`,
//! but the century digits `YY` of `YYYYMMDDNNNC` are outside it: a typo there
//! (`18…` for `19…`) yields another valid number unless the date becomes
//! impossible or lies after the reference date. It can never yield the *same*
//! normal form, so such a typo splits a person into two pseudonyms rather than
//! merging two people.
//!
//! # Example
//!
//! ```
//! use reglink_pnr::{Date, Form, Pnr, PnrError, Sex};
//!
//! // The day the extract was taken.
//! let reference = Date::new(2024, 1, 31).expect("valid date");
//!
//! // Different spellings of one person parse to one normal form.
//! let pnr = Pnr::parse(" 811218-9876 ", reference)?;
//! assert_eq!(pnr, Pnr::parse("198112189876", reference)?);
//! assert_eq!(pnr, Pnr::parse_bytes(b"8112189876", reference)?);
//! assert_eq!(pnr.normalised(), b"198112189876");
//!
//! assert_eq!(pnr.birth_date(), Date::new(1981, 12, 18).expect("valid date"));
//! assert_eq!(pnr.sex(), Sex::Male);
//! assert_eq!(pnr.age_at(reference), 42);
//! assert_eq!(pnr.format(Form::TwelveDash, reference), "19811218-9876");
//!
//! // '+' puts the birth a century earlier.
//! let older = Pnr::parse("811218+9876", reference)?;
//! assert_eq!(older.birth_date().year(), 1881);
//!
//! // Errors say what is wrong, never which digits were read.
//! assert_eq!(Pnr::parse("811218-9875", reference), Err(PnrError::Checksum));
//! assert_eq!(
//!     Pnr::parse("811218 9876", reference),
//!     Err(PnrError::Separator { position: 6 })
//! );
//!
//! // The redacted Debug keeps numbers out of logs.
//! assert_eq!(format!("{pnr:?}"), "Pnr(<redacted>)");
//! # Ok::<(), PnrError>(())
//! ```
#![deny(missing_docs)]

mod date;
mod error;
mod format;
mod luhn;
mod parse;
mod pnr;
mod redact;

pub use date::Date;
pub use error::PnrError;
pub use format::Form;
pub use pnr::{Pnr, Sex};
pub use redact::{WITHHELD, withhold_numbers};
