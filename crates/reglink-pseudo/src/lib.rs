//! Keys, keyed pseudonyms, crosswalks and the pseudonymise pipeline.
//!
//! This is the only crate in reglink that ever holds a key. Everything
//! downstream sees pseudonyms and record keys, never a personnummer, and can
//! therefore never turn one back into the other.
//!
//! The main types, in the order data flows through them:
//!
//! - [`MasterKey`]: 256 secret random bits in a mode-0600 key file, printed
//!   only as its [`KeyId`].
//! - [`StudyKey`]: derived from the master key and the study name, so one
//!   person gets unrelated pseudonyms in two studies.
//! - [`Crosswalk`]: old -> new number changes, resolved through chains and
//!   applied *before* hashing so that one person keeps one pseudonym.
//! - [`Pseudonym`]: the first 128 bits of keyed BLAKE3 over the normalised
//!   12-digit number; the next 32 bits are the person's record key for the
//!   cell key method (see [`kdf`] for the whole key hierarchy).
//! - [`pseudonymise`]: streams a raw extract into Parquet with the identifier
//!   column replaced, and writes a [`PseudonymiseReport`] that accounts for
//!   every row (`rows_in = rows_out + rows_rejected`).
//!
//! ```
//! use reglink_pnr::{Date, Pnr};
//! use reglink_pseudo::MasterKey;
//!
//! let master = MasterKey::generate().unwrap();
//! let study = master.study_key("eb-af-2023").unwrap();
//! let reference = Date::new(2026, 6, 30).unwrap();
//! let a = Pnr::parse("19811218-9876", reference).unwrap();
//! let b = Pnr::parse("811218-9876", reference).unwrap();
//! assert_eq!(study.pseudonym(&a), study.pseudonym(&b));
//! // Secrets and pseudonyms redact themselves.
//! assert_eq!(format!("{:?}", study.pseudonym(&a)), "Pseudonym(<redacted>)");
//! assert!(format!("{master:?}").starts_with("MasterKey(rk-"));
//! ```
#![deny(missing_docs)]

mod crosswalk;
mod error;
pub mod kdf;
mod key;
pub mod pipeline;
mod pseudonym;
mod reject;
mod report;
pub mod transcrypt;

pub use crosswalk::Crosswalk;
pub use error::PseudoError;
pub use key::{KEY_LEN, KeyId, MasterKey};
pub use pipeline::{PseudonymiseOptions, pseudonymise};
pub use pseudonym::{Keyed, PSEUDONYM_LEN, Pseudonym, StudyKey};
pub use reject::RejectReason;
pub use report::{CrosswalkSummary, PseudonymiseReport, Rejects};
