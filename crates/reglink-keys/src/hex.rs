//! Lowercase hex, as reglink writes keys, signatures and fingerprints: one
//! spelling per value, so that reading accepts lowercase digits only.

/// `bytes` as lowercase hex digits.
pub fn encode(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Exactly `N` bytes from `2 N` lowercase hex digits; `None` otherwise.
pub fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_one_spelling() {
        assert_eq!(super::encode(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(super::decode::<3>("00ab10"), Some([0, 0xab, 0x10]));
        assert_eq!(super::decode::<3>("00AB10"), None);
        assert_eq!(super::decode::<2>("00ab10"), None);
    }
}
