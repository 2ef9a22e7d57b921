//! The group arithmetic: ElGamal on ristretto255 and the key holder's
//! rekeying, all through `curve25519-dalek`.
//!
//! A person's point is `P = map(number)`, public and the same for everyone
//! ([`person_point`]). A source encrypts it to the joint key `X + Y` of the
//! key holder (`X = x·G`) and the linker (`Y = y·G`) with fresh randomness
//! `b`: `(b·G, P + b·X + b·Y)`, which neither can open alone. The key holder
//! removes its share and rekeys by its study scalar `k` in one step, and
//! rerandomises with a fresh `r`: `(k·b·G + r·G, k·P + (k·b + r)·Y)`, an
//! encryption of `k·P` to the linker alone that shares nothing with its
//! input. The linker decrypts with `y` and gets `k·P`, the same for every
//! source and unlike anything in another study.

use crate::kdf;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, MultiscalarMul};

/// Bytes of one ciphertext: two compressed points.
pub(crate) const CIPHERTEXT_LEN: usize = 64;

/// The public, unkeyed point of one person. Never written unencrypted.
pub(crate) fn person_point(normalised: &[u8; 12]) -> RistrettoPoint {
    RistrettoPoint::from_uniform_bytes(&kdf::to_group(normalised))
}

/// A scalar from 64 uniform bytes.
pub(crate) fn scalar(wide: &[u8; 64]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(wide)
}

/// Encrypts points to one public key (a table of its multiples, built once).
pub(crate) struct Encryptor {
    public: RistrettoBasepointTable,
}

impl Encryptor {
    pub(crate) fn new(public: &RistrettoPoint) -> Encryptor {
        Encryptor {
            public: RistrettoBasepointTable::create(public),
        }
    }

    /// `(b·G, point + b·Y)`, as 64 bytes.
    pub(crate) fn encrypt(&self, point: &RistrettoPoint, b: &Scalar) -> [u8; CIPHERTEXT_LEN] {
        let c1 = RISTRETTO_BASEPOINT_TABLE * b;
        let c2 = point + &self.public * b;
        join(&c1, &c2)
    }
}

/// The key holder's step for one study: remove its share `x`, rekey by
/// `k`, rerandomise towards the linker's `Y`.
pub(crate) struct Rekeyer {
    k: Scalar,
    minus_kx: Scalar,
    public: RistrettoBasepointTable,
}

impl Rekeyer {
    pub(crate) fn new(k: &Scalar, x: &Scalar, linker: &RistrettoPoint) -> Rekeyer {
        Rekeyer {
            k: *k,
            minus_kx: -(k * x),
            public: RistrettoBasepointTable::create(linker),
        }
    }

    /// `(k·c1 + r·G, k·c2 - k·x·c1 + r·Y)`; `None` if the input is not two
    /// valid points or `c1` is the identity (a ciphertext that hides nothing).
    pub(crate) fn rekey(&self, ct: &[u8], r: &Scalar) -> Option<[u8; CIPHERTEXT_LEN]> {
        let (c1, c2) = split(ct)?;
        if c1.is_identity() {
            return None;
        }
        let d1 = c1 * self.k + RISTRETTO_BASEPOINT_TABLE * r;
        let d2 =
            RistrettoPoint::multiscalar_mul([self.k, self.minus_kx], [c2, c1]) + &self.public * r;
        Some(join(&d1, &d2))
    }
}

impl Drop for Rekeyer {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.k);
        zeroize::Zeroize::zeroize(&mut self.minus_kx);
    }
}

/// The linker's step: `c2 - y·c1`, compressed; `None` if not two valid points.
pub(crate) fn decrypt(y: &Scalar, ct: &[u8]) -> Option<[u8; 32]> {
    let (c1, c2) = split(ct)?;
    Some((c2 - c1 * y).compress().to_bytes())
}

/// `s·G`, compressed: a public commitment to a secret scalar.
pub(crate) fn commit(s: &Scalar) -> [u8; 32] {
    (RISTRETTO_BASEPOINT_TABLE * s).compress().to_bytes()
}

/// Whether 32 bytes are a valid point other than the identity (a public
/// key of the identity would make every ciphertext plain text).
pub(crate) fn proper_point(bytes: &[u8; 32]) -> bool {
    point(bytes).is_some_and(|p| !p.is_identity())
}

/// A point from its 32 compressed bytes, if valid.
pub(crate) fn point(bytes: &[u8; 32]) -> Option<RistrettoPoint> {
    CompressedRistretto(*bytes).decompress()
}

fn join(a: &RistrettoPoint, b: &RistrettoPoint) -> [u8; CIPHERTEXT_LEN] {
    let mut out = [0u8; CIPHERTEXT_LEN];
    out[..32].copy_from_slice(a.compress().as_bytes());
    out[32..].copy_from_slice(b.compress().as_bytes());
    out
}

fn split(ct: &[u8]) -> Option<(RistrettoPoint, RistrettoPoint)> {
    if ct.len() != CIPHERTEXT_LEN {
        return None;
    }
    let a = CompressedRistretto::from_slice(&ct[..32])
        .ok()?
        .decompress()?;
    let b = CompressedRistretto::from_slice(&ct[32..])
        .ok()?
        .decompress()?;
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reglink_pnr::Pnr;

    fn pnr(text: &str) -> Pnr {
        Pnr::parse(text, reglink_pnr::Date::new(2026, 6, 30).unwrap()).unwrap()
    }

    #[test]
    fn the_linker_opens_k_times_the_point_whatever_the_randomness() {
        let y = scalar(&[7; 64]);
        let public = RISTRETTO_BASEPOINT_TABLE * &y;
        let x = scalar(&[8; 64]);
        let joint = public + RISTRETTO_BASEPOINT_TABLE * &x;
        let k = scalar(&[9; 64]);
        let p = person_point(pnr("19811218-9876").normalised());
        let enc = Encryptor::new(&joint);
        let rekey = Rekeyer::new(&k, &x, &public);
        // Neither share alone opens what the source wrote.
        let sent = enc.encrypt(&p, &scalar(&[1; 64]));
        assert_ne!(decrypt(&y, &sent).unwrap(), p.compress().to_bytes());
        assert_ne!(decrypt(&x, &sent).unwrap(), p.compress().to_bytes());
        assert_eq!(decrypt(&(x + y), &sent).unwrap(), p.compress().to_bytes());
        let a = rekey
            .rekey(&enc.encrypt(&p, &scalar(&[1; 64])), &scalar(&[2; 64]))
            .unwrap();
        let b = rekey
            .rekey(&enc.encrypt(&p, &scalar(&[3; 64])), &scalar(&[4; 64]))
            .unwrap();
        assert_ne!(a, b, "ciphertexts of one person differ");
        assert_eq!(decrypt(&y, &a), decrypt(&y, &b));
        assert_eq!(decrypt(&y, &a).unwrap(), (p * k).compress().to_bytes());
        // Another study scalar, another point.
        let other = Rekeyer::new(&scalar(&[10; 64]), &x, &public);
        let c = other
            .rekey(&enc.encrypt(&p, &scalar(&[1; 64])), &scalar(&[2; 64]))
            .unwrap();
        assert_ne!(decrypt(&y, &a), decrypt(&y, &c));
    }

    #[test]
    fn garbage_is_not_a_ciphertext() {
        let rekey = Rekeyer::new(
            &scalar(&[9; 64]),
            &scalar(&[8; 64]),
            &(RISTRETTO_BASEPOINT_TABLE * &scalar(&[7; 64])),
        );
        assert!(rekey.rekey(&[0xff; 64], &scalar(&[2; 64])).is_none());
        // c1 = identity: the second half would be the point in the clear.
        let mut plain = [0u8; 64];
        let p = person_point(pnr("19811218-9876").normalised());
        plain[32..].copy_from_slice(p.compress().as_bytes());
        assert!(rekey.rekey(&plain, &scalar(&[2; 64])).is_none());
        assert!(rekey.rekey(&[0; 63], &scalar(&[2; 64])).is_none());
        assert!(decrypt(&scalar(&[7; 64]), &[0xff; 64]).is_none());
    }
}
