//! The enumeration attack on an unkeyed or publicly salted hash.
//!
//! A personnummer carries about 28 bits of entropy at most: a birth date (some
//! 46,000 days since 1900) and a three-digit birth number; the check digit is
//! determined. Hashing every candidate and comparing with a leaked column of
//! hashes recovers every number, whatever the hash function, as long as the
//! attacker can compute it. That is the case for an unkeyed hash and for a
//! "salted" hash whose salt is stored with the data or published. A keyed
//! hash under a secret 256-bit key is immune: without the key there is
//! nothing to enumerate against.
//!
//! Nothing here prints or returns a recovered number, only counts.
#![allow(clippy::disallowed_methods)] // demonstrates the very calls reglink forbids

use rayon::prelude::*;
use reglink_pnr::{Date, Pnr};
use std::collections::HashSet;

/// How an attacker (or a careless pipeline) hashes a normalised number.
#[derive(Debug, Clone, Copy)]
pub enum Scheme<'a> {
    /// `blake3(number)`: no key at all.
    Unkeyed,
    /// `blake3_keyed(salt, number)` where the salt is known to the attacker
    /// (stored beside the data, in a script, or in a paper).
    PublicSalt(&'a [u8; 32]),
}

impl Scheme<'_> {
    /// The first 128 bits of the digest of one normalised number: the width
    /// of a reglink pseudonym, so leaked pseudonyms can be compared directly.
    #[inline]
    pub fn digest(self, normalised: &[u8; 12]) -> [u8; 16] {
        let full = match self {
            Scheme::Unkeyed => blake3::hash(normalised),
            Scheme::PublicSalt(salt) => blake3::keyed_hash(salt, normalised),
        };
        let mut out = [0u8; 16];
        out.copy_from_slice(&full.as_bytes()[..16]);
        out
    }
}

/// The outcome of one enumeration run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Candidate numbers hashed.
    pub candidates: u64,
    /// Targets whose number was recovered.
    pub recovered: u64,
}

/// Hashes every personnummer (not samordningsnummer) born on each day from
/// `from` to `to` inclusive under `scheme`, in parallel, and counts how many
/// of `targets` are hit.
pub fn enumerate(from: Date, to: Date, scheme: Scheme<'_>, targets: &HashSet<[u8; 16]>) -> Outcome {
    let (first, last) = (from.days_since_epoch(), to.days_since_epoch());
    let (candidates, recovered) = (first..=last)
        .into_par_iter()
        .map(|day| {
            let date = Date::from_days_since_epoch(day);
            let mut hits = 0u64;
            for n in 0..1000 {
                let pnr = Pnr::from_parts(date, n, false).expect("valid birth number");
                if targets.contains(&scheme.digest(pnr.normalised())) {
                    hits += 1;
                }
            }
            (1000u64, hits)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    Outcome {
        candidates,
        recovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reglink_pseudo::MasterKey;

    fn people() -> Vec<Pnr> {
        (0..200u16)
            .map(|i| {
                let born = Date::new(1987, 1 + (i % 12) as u8, 1 + (i % 28) as u8).unwrap();
                Pnr::from_parts(born, (i * 37) % 1000, false).unwrap()
            })
            .collect()
    }

    fn one_year() -> (Date, Date) {
        (
            Date::new(1987, 1, 1).unwrap(),
            Date::new(1987, 12, 31).unwrap(),
        )
    }

    #[test]
    fn unkeyed_and_publicly_salted_hashes_fall_to_enumeration() {
        let salt = [42u8; 32];
        for scheme in [Scheme::Unkeyed, Scheme::PublicSalt(&salt)] {
            let leaked: HashSet<[u8; 16]> = people()
                .iter()
                .map(|p| scheme.digest(p.normalised()))
                .collect();
            let (from, to) = one_year();
            let outcome = enumerate(from, to, scheme, &leaked);
            assert_eq!(outcome.candidates, 365 * 1000);
            assert_eq!(outcome.recovered, 200, "{scheme:?}");
        }
    }

    #[test]
    fn keyed_pseudonyms_do_not() {
        let study = MasterKey::generate()
            .unwrap()
            .study_key("attack-demo")
            .unwrap();
        // The attacker holds the pseudonym column and tries every scheme they
        // can compute; the same enumeration recovers all 200 numbers from
        // an unkeyed column in the test above.
        let leaked: HashSet<[u8; 16]> = people()
            .iter()
            .map(|p| study.pseudonym(p).to_bytes())
            .collect();
        let guessed_salt = [0u8; 32];
        let (from, to) = one_year();
        for scheme in [Scheme::Unkeyed, Scheme::PublicSalt(&guessed_salt)] {
            assert_eq!(enumerate(from, to, scheme, &leaked).recovered, 0);
        }
    }
}
