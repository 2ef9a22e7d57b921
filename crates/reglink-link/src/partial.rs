//! A compact binary encoding for partial results: what linking some of the
//! persons on one worker of a distributed engine sends back to be merged.
//!
//! Everything is little-endian; a slice is its length (`u64`) and then its
//! elements. The encoding is only ever read back by the same build of
//! reglink (a partial is a transient file between the engine's tasks and
//! the driver), so it carries a format tag but no compatibility promise:
//! [`Decoder::header`] refuses a partial of another format or version.
//!
//! A partial holds counts, sums and dictionaries of codes, never a
//! personnummer or key; it does hold household ids (to count a household
//! once across parts) and a sum of pseudonyms per population and year (to
//! tell populations with the same members apart), so it is as private as
//! the pseudonymised extracts and lives only in the run's private folders.

use std::fmt;

/// The first bytes of every partial.
const MAGIC: &[u8; 8] = b"RLPART\0\x01";

/// What is wrong with a partial result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialError(pub String);

impl fmt::Display for PartialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PartialError {}

/// Writes a partial result.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

macro_rules! put {
    ($name:ident, $slice:ident, $t:ty) => {
        #[doc = concat!("Writes a `", stringify!($t), "`.")]
        pub fn $name(&mut self, x: $t) {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }

        #[doc = concat!("Writes a slice of `", stringify!($t), "`.")]
        pub fn $slice(&mut self, xs: &[$t]) {
            self.len(xs.len());
            self.buf.reserve(xs.len() * std::mem::size_of::<$t>());
            for x in xs {
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
        }
    };
}

macro_rules! get {
    ($name:ident, $slice:ident, $t:ty) => {
        #[doc = concat!("Reads a `", stringify!($t), "`.")]
        pub fn $name(&mut self) -> Result<$t, PartialError> {
            const N: usize = std::mem::size_of::<$t>();
            let bytes = self.take(N)?;
            Ok(<$t>::from_le_bytes(
                bytes.try_into().unwrap_or_else(|_| unreachable!("taken")),
            ))
        }

        #[doc = concat!("Reads a slice of `", stringify!($t), "`.")]
        pub fn $slice(&mut self) -> Result<Vec<$t>, PartialError> {
            const N: usize = std::mem::size_of::<$t>();
            let n = self.len(N)?;
            let bytes = self.take(n * N)?;
            Ok(bytes
                .chunks_exact(N)
                .map(|b| {
                    <$t>::from_le_bytes(b.try_into().unwrap_or_else(|_| unreachable!("exact")))
                })
                .collect())
        }
    };
}

impl Encoder {
    /// An encoder with the header of a partial of `what` (a name for
    /// error messages and a check on the reader's side).
    pub fn new(what: &str) -> Encoder {
        let mut e = Encoder { buf: Vec::new() };
        e.buf.extend_from_slice(MAGIC);
        e.str(env!("CARGO_PKG_VERSION"));
        e.str(what);
        e
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Writes a length.
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }

    put!(u8, u8s, u8);
    put!(u32, u32s, u32);
    put!(u64, u64s, u64);
    put!(i32, i32s, i32);
    put!(i64, i64s, i64);
    put!(u128, u128s, u128);

    /// Writes a bool.
    pub fn bool(&mut self, b: bool) {
        self.u8(b as u8);
    }

    /// Writes a string.
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// Writes a slice of strings.
    pub fn strs(&mut self, xs: &[String]) {
        self.len(xs.len());
        for x in xs {
            self.str(x);
        }
    }
}

/// Reads a partial result written by [`Encoder`].
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, at: 0 }
    }

    /// Reads and checks the header written by [`Encoder::new`] for `what`.
    pub fn header(&mut self, what: &str) -> Result<(), PartialError> {
        if self.bytes.len() < MAGIC.len() || &self.bytes[..MAGIC.len()] != MAGIC {
            return Err(PartialError(
                "it is not a partial result of reglink".to_string(),
            ));
        }
        self.at = MAGIC.len();
        let version = self.str()?;
        if version != env!("CARGO_PKG_VERSION") {
            return Err(PartialError(format!(
                "it was written by reglink {version}, this is reglink {}; run one version on every worker",
                env!("CARGO_PKG_VERSION")
            )));
        }
        let found = self.str()?;
        if found != what {
            return Err(PartialError(format!("it holds {found}, expected {what}")));
        }
        Ok(())
    }

    /// Checks that every byte was read.
    pub fn finish(self) -> Result<(), PartialError> {
        if self.at != self.bytes.len() {
            return Err(PartialError(format!(
                "{} bytes are left after its end",
                self.bytes.len() - self.at
            )));
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PartialError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| PartialError("it ends early (cut off?)".to_string()))?;
        let bytes = &self.bytes[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// Reads a length of elements of `size` bytes, checked against the
    /// bytes left.
    pub fn len(&mut self, size: usize) -> Result<usize, PartialError> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n.saturating_mul(size.max(1) as u64) > left {
            return Err(PartialError("it ends early (cut off?)".to_string()));
        }
        Ok(n as usize)
    }

    get!(u8, u8s, u8);
    get!(u32, u32s, u32);
    get!(u64, u64s, u64);
    get!(i32, i32s, i32);
    get!(i64, i64s, i64);
    get!(u128, u128s, u128);

    /// Reads a bool.
    pub fn bool(&mut self) -> Result<bool, PartialError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(PartialError(format!("a flag has the value {b}"))),
        }
    }

    /// Reads a string.
    pub fn str(&mut self) -> Result<String, PartialError> {
        let n = self.len(1)?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| PartialError("a text is not UTF-8".into()))
    }

    /// Reads a slice of strings.
    pub fn strs(&mut self) -> Result<Vec<String>, PartialError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.str()).collect()
    }

    /// Reads a slice of `u64` of length `n`, or says what has another length.
    pub fn u64s_of(&mut self, n: usize, what: &str) -> Result<Vec<u64>, PartialError> {
        let v = self.u64s()?;
        expect_len(v, n, what)
    }
}

/// `v`, if it has `n` elements.
pub fn expect_len<T>(v: Vec<T>, n: usize, what: &str) -> Result<Vec<T>, PartialError> {
    if v.len() != n {
        return Err(PartialError(format!(
            "{what} has {} entries, the study {n}: was it linked with another study file?",
            v.len()
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_and_a_cut_partial_is_refused() {
        let mut e = Encoder::new("a test");
        e.u64s(&[1, u64::MAX]);
        e.i64(-5);
        e.u128(u128::MAX - 1);
        e.strs(&["a".into(), "åäö".into()]);
        e.bool(true);
        let bytes = e.into_bytes();

        let mut d = Decoder::new(&bytes);
        d.header("a test").unwrap();
        assert_eq!(d.u64s().unwrap(), vec![1, u64::MAX]);
        assert_eq!(d.i64().unwrap(), -5);
        assert_eq!(d.u128().unwrap(), u128::MAX - 1);
        assert_eq!(d.strs().unwrap(), vec!["a".to_string(), "åäö".to_string()]);
        assert!(d.bool().unwrap());
        d.finish().unwrap();

        for cut in [0, 5, bytes.len() - 1] {
            let mut d = Decoder::new(&bytes[..cut]);
            let read = d.header("a test").and_then(|()| {
                d.u64s()?;
                d.i64()?;
                d.u128()?;
                d.strs()?;
                d.bool()
            });
            assert!(read.is_err(), "cut at {cut} was read");
        }
        let mut d = Decoder::new(&bytes);
        assert!(d.header("another thing").is_err());
    }

    #[test]
    fn a_length_longer_than_the_bytes_is_refused_before_allocating() {
        let mut e = Encoder::new("x");
        e.u64(u64::MAX / 2);
        let bytes = e.into_bytes();
        let mut d = Decoder::new(&bytes);
        d.header("x").unwrap();
        assert!(d.u64s().is_err());
    }
}
