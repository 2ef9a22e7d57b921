//! The RLE / bit-packing hybrid of the Parquet format, which encodes
//! definition levels and dictionary indices.
//!
//! A stream is a sequence of runs, each opening with a ULEB128 header:
//! an even header `2n` is `n` repeats of one value stored in
//! `ceil(bit_width / 8)` little-endian bytes; an odd header `2g + 1` is `g`
//! groups of eight values packed `bit_width` bits each, least significant bit
//! first. The reader knows how many values to expect, so the last bit-packed
//! group may be padded. parquet-rs keeps its own codec private, which is why
//! this one exists.

/// Why a stream could not be decoded.
pub(crate) type DecodeError = &'static str;

/// Decodes `n` values of `bit_width` bits from the start of `data`, appending
/// them to `out`. Returns the number of bytes consumed.
pub(crate) fn decode(
    data: &[u8],
    bit_width: u8,
    n: usize,
    out: &mut Vec<u32>,
) -> Result<usize, DecodeError> {
    if bit_width > 32 {
        return Err("bit width above 32");
    }
    let target = out.len() + n;
    out.reserve(n);
    let width = usize::from(bit_width);
    let mut pos = 0;
    while out.len() < target {
        let (run, used) = read_run(&data[pos..], bit_width)?;
        pos += used;
        let wanted = target - out.len();
        match run {
            Run::Repeat { value, count } => {
                out.extend(std::iter::repeat_n(value, count.min(wanted)))
            }
            Run::Packed { groups, packed } => {
                let take = groups.saturating_mul(8).min(wanted);
                if packed.len() < (take * width).div_ceil(8) {
                    return Err("bit-packed run past the end");
                }
                unpack(packed, bit_width, take, out);
            }
        }
    }
    Ok(pos)
}

/// One run of a stream.
enum Run<'a> {
    /// `count` repeats of `value`.
    Repeat { value: u32, count: usize },
    /// `groups` groups of eight packed values; `packed` is cut short where the
    /// stream ends (some writers leave out the padding of the last group).
    Packed { groups: usize, packed: &'a [u8] },
}

/// Reads the run at the start of `data`, and how many bytes it takes. The
/// header is untrusted: no arithmetic on it may overflow.
fn read_run(data: &[u8], bit_width: u8) -> Result<(Run<'_>, usize), DecodeError> {
    let (header, pos) = uleb128(data)?;
    let n = (header >> 1) as usize;
    let width = usize::from(bit_width);
    if header & 1 == 0 {
        if n == 0 {
            return Err("empty run");
        }
        let end = pos + width.div_ceil(8);
        let bytes = data.get(pos..end).ok_or("run value past the end")?;
        let value = bytes
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, b)| v | (u32::from(*b) << (8 * i)));
        Ok((Run::Repeat { value, count: n }, end))
    } else {
        if n == 0 {
            return Err("empty bit-packed run");
        }
        let end = pos.saturating_add(n.saturating_mul(width)).min(data.len());
        let packed = &data[pos..end];
        Ok((Run::Packed { groups: n, packed }, end))
    }
}

/// If `data` opens with a run of at least `n` repeats, that run's value.
/// Definition levels of a column without nulls are one such run.
pub(crate) fn leading_run(data: &[u8], bit_width: u8, n: usize) -> Option<u32> {
    match read_run(data, bit_width).ok()? {
        (Run::Repeat { value, count }, _) if count >= n => Some(value),
        _ => None,
    }
}

/// Encodes `values` (each below `2^bit_width`) and appends the stream to `out`.
pub(crate) fn encode(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    /// A repeat this long is written as a run rather than packed.
    const MIN_RUN: usize = 16;
    let mut packed_from = 0;
    let mut i = 0;
    while i < values.len() {
        let v = values[i];
        let mut j = i + 1;
        while j < values.len() && values[j] == v {
            j += 1;
        }
        // Bit-packed runs hold whole groups of eight, so the values waiting to
        // be packed are first topped up from the start of this repeat.
        let pad = (8 - (i - packed_from) % 8) % 8;
        if j - i >= MIN_RUN + pad {
            let split = i + pad;
            pack_run(&values[packed_from..split], bit_width, out);
            rle_run(v, j - split, bit_width, out);
            packed_from = j;
        }
        i = j;
    }
    pack_run(&values[packed_from..], bit_width, out);
}

/// Re-encodes the first `keep.len()` values of the stream `data`, leaving out
/// those whose `keep` entry is false, without unpacking them one by one: runs
/// of repeats shrink, and the bits of bit-packed runs are moved a word at a
/// time between the dropped values. Appends the new stream to `out`.
///
/// Bit-packed runs must hold whole groups of eight, so the values kept are
/// gathered into one bit-packed run until a long repeat starts at a group
/// boundary; only the stream's last run is padded.
pub(crate) fn splice(
    data: &[u8],
    bit_width: u8,
    keep: &[bool],
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    if bit_width > 32 {
        return Err("bit width above 32");
    }
    let n = keep.len();
    let width = usize::from(bit_width);
    let mut packed = BitPacker::default();
    let mut pos = 0;
    let mut at = 0; // values of the input read so far
    while at < n {
        let (run, used) = read_run(&data[pos..], bit_width)?;
        pos += used;
        match run {
            Run::Repeat { value, count } => {
                let end = at.saturating_add(count).min(n);
                let kept = keep[at..end].iter().filter(|k| **k).count();
                packed.repeat(value, kept, bit_width, out);
                at = end;
            }
            Run::Packed {
                groups,
                packed: run,
            } => {
                let end = at.saturating_add(groups.saturating_mul(8)).min(n);
                if run.len() < ((end - at) * width).div_ceil(8) {
                    return Err("bit-packed run past the end");
                }
                // Copy the stretches between dropped values.
                let mut from = at;
                for (i, k) in keep[at..end].iter().enumerate() {
                    if !k {
                        let i = at + i;
                        packed.copy(run, (from - at) * width, i - from, width);
                        from = i + 1;
                    }
                }
                packed.copy(run, (from - at) * width, end - from, width);
                at = end;
            }
        }
    }
    packed.flush(bit_width, out);
    Ok(())
}

/// The values of a bit-packed run being gathered, packed as they come.
#[derive(Default)]
struct BitPacker {
    bytes: Vec<u8>,
    /// Bits not yet in `bytes` (fewer than 8 after every call).
    acc: u64,
    acc_bits: usize,
    values: usize,
}

impl BitPacker {
    /// Appends the low `bits` (at most 56) bits of `chunk`.
    #[inline]
    fn put(&mut self, chunk: u64, bits: usize) {
        self.acc |= chunk << self.acc_bits;
        self.acc_bits += bits;
        let whole = self.acc_bits / 8;
        self.bytes
            .extend_from_slice(&self.acc.to_le_bytes()[..whole]);
        self.acc = if whole == 8 {
            0
        } else {
            self.acc >> (8 * whole)
        };
        self.acc_bits -= 8 * whole;
    }

    /// Appends `count` values of `width` bits read from `src` at bit `start`.
    fn copy(&mut self, src: &[u8], mut start: usize, count: usize, width: usize) {
        let mut bits = count * width;
        self.values += count;
        while bits > 0 {
            let take = bits.min(56);
            let byte = start / 8;
            let mut word = [0u8; 8];
            let avail = src.len().saturating_sub(byte).min(8);
            word[..avail].copy_from_slice(&src[byte..byte + avail]);
            let chunk = (u64::from_le_bytes(word) >> (start % 8)) & ((1u64 << take) - 1);
            self.put(chunk, take);
            start += take;
            bits -= take;
        }
    }

    /// Appends `count` repeats of `value`: as a run of its own when long
    /// enough and the values gathered so far fill whole groups of eight.
    fn repeat(&mut self, value: u32, mut count: usize, bit_width: u8, out: &mut Vec<u8>) {
        const MIN_RUN: usize = 16;
        let width = usize::from(bit_width);
        let pad = (8 - self.values % 8) % 8;
        if count >= MIN_RUN + pad {
            for _ in 0..pad {
                self.put(u64::from(value), width);
            }
            self.values += pad;
            count -= pad;
            self.flush(bit_width, out);
            rle_run(value, count, bit_width, out);
        } else {
            for _ in 0..count {
                self.put(u64::from(value), width);
            }
            self.values += count;
        }
    }

    /// Writes the gathered values as one bit-packed run, padded to whole
    /// groups, and starts afresh.
    fn flush(&mut self, bit_width: u8, out: &mut Vec<u8>) {
        if self.values == 0 {
            return;
        }
        let groups = self.values.div_ceil(8);
        put_uleb128(((groups as u64) << 1) | 1, out);
        if self.acc_bits > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes.resize(groups * usize::from(bit_width), 0);
        out.extend_from_slice(&self.bytes);
        self.bytes.clear();
        self.acc = 0;
        self.acc_bits = 0;
        self.values = 0;
    }
}

fn uleb128(data: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut value = 0u64;
    for (i, b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("truncated or overlong run header")
}

fn put_uleb128(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends `n` values of `bit_width` bits packed LSB-first in `data`; bytes
/// missing at the end read as zero.
fn unpack(data: &[u8], bit_width: u8, n: usize, out: &mut Vec<u32>) {
    if bit_width == 0 {
        out.extend(std::iter::repeat_n(0, n));
        return;
    }
    let width = usize::from(bit_width);
    let mask = if width == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << width) - 1
    };
    // Whole groups of eight while a full 8-byte (or 16-byte) load stays in
    // bounds: one load and eight shifts per group.
    let mut k = 0;
    if width <= 8 {
        while k + 8 <= n && (k / 8) * width + 8 <= data.len() {
            let at = (k / 8) * width;
            let word = u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"));
            let mut group = [0u32; 8];
            for (i, v) in group.iter_mut().enumerate() {
                *v = ((word >> (i * width)) & mask) as u32;
            }
            out.extend_from_slice(&group);
            k += 8;
        }
    } else if width <= 16 {
        while k + 8 <= n && (k / 8) * width + 16 <= data.len() {
            let at = (k / 8) * width;
            let word = u128::from_le_bytes(data[at..at + 16].try_into().expect("16 bytes"));
            let mut group = [0u32; 8];
            for (i, v) in group.iter_mut().enumerate() {
                *v = ((word >> (i * width)) as u64 & mask) as u32;
            }
            out.extend_from_slice(&group);
            k += 8;
        }
    }
    for k in k..n {
        let bit = k * width;
        let byte = bit / 8;
        let mut word = [0u8; 8];
        let avail = data.len().saturating_sub(byte).min(8);
        word[..avail].copy_from_slice(&data[byte..byte + avail]);
        let raw = u64::from_le_bytes(word) >> (bit % 8);
        out.push((raw & mask) as u32);
    }
}

fn pack_run(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let groups = values.len().div_ceil(8);
    put_uleb128(((groups as u64) << 1) | 1, out);
    let width = usize::from(bit_width);
    out.reserve(groups * width);
    let mut chunks = values.chunks_exact(8);
    if width <= 8 {
        for group in &mut chunks {
            let mut word = 0u64;
            for (i, v) in group.iter().enumerate() {
                word |= u64::from(*v) << (i * width);
            }
            out.extend_from_slice(&word.to_le_bytes()[..width]);
        }
    } else if width <= 16 {
        for group in &mut chunks {
            let mut word = 0u128;
            for (i, v) in group.iter().enumerate() {
                word |= u128::from(*v) << (i * width);
            }
            out.extend_from_slice(&word.to_le_bytes()[..width]);
        }
    } else {
        for group in &mut chunks {
            pack_bits(group, width, out);
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u32; 8];
        last[..rest.len()].copy_from_slice(rest);
        pack_bits(&last, width, out);
    }
}

/// Packs one group of eight values bit by bit.
fn pack_bits(group: &[u32], width: usize, out: &mut Vec<u8>) {
    let mut acc = 0u64;
    let mut bits = 0;
    for v in group {
        acc |= u64::from(*v) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
}

/// Appends one run of `count` repeats of `value`.
pub(crate) fn rle_run(value: u32, count: usize, bit_width: u8, out: &mut Vec<u8>) {
    put_uleb128((count as u64) << 1, out);
    let bytes = usize::from(bit_width).div_ceil(8);
    out.extend_from_slice(&value.to_le_bytes()[..bytes]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[u32], bit_width: u8) -> Vec<u32> {
        let mut stream = Vec::new();
        encode(values, bit_width, &mut stream);
        let mut back = Vec::new();
        let used = decode(&stream, bit_width, values.len(), &mut back).unwrap();
        assert_eq!(used, stream.len(), "the whole stream is consumed");
        back
    }

    #[test]
    fn long_repeats_become_runs() {
        let values = vec![1u32; 1000];
        let mut stream = Vec::new();
        encode(&values, 1, &mut stream);
        // One header (1000 << 1 = 2000, two ULEB128 bytes) and one value byte.
        assert_eq!(stream, [0xd0, 0x0f, 0x01]);
        assert_eq!(round_trip(&values, 1), values);
    }

    #[test]
    fn decodes_a_hand_written_stream() {
        // Bit width 3: a bit-packed group of 0..8, then 5 repeats of 6.
        // 0..8 at 3 bits LSB-first is 0x88 0xc6 0xfa (the spec's example).
        let stream = [0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x06];
        let mut out = Vec::new();
        let used = decode(&stream, 3, 13, &mut out).unwrap();
        assert_eq!(used, stream.len());
        assert_eq!(out, [0, 1, 2, 3, 4, 5, 6, 7, 6, 6, 6, 6, 6]);
    }

    #[test]
    fn truncated_streams_are_errors() {
        let mut out = Vec::new();
        assert!(decode(&[0x03, 0x88], 3, 8, &mut out).is_err());
        assert!(decode(&[0x80], 3, 1, &mut out).is_err());
        assert!(decode(&[0x00], 3, 1, &mut out).is_err());
    }

    #[test]
    fn absurd_run_lengths_are_errors_or_clipped_never_panics() {
        // A bit-packed run of 2^63 - 1 groups after a short run.
        let mut stream = vec![0x02, 0x00];
        stream.extend([0xff; 9]);
        stream.push(0x01);
        for width in [0u8, 2, 17] {
            let mut out = Vec::new();
            let decoded = decode(&stream, width, 5, &mut out);
            assert!(decoded.is_err() || out.len() == 5, "width {width}");
            let mut spliced = Vec::new();
            let keep = [true, false, true, true, false];
            let result = splice(&stream, width, &keep, &mut spliced);
            assert!(result.is_err() || width == 0, "width {width}");
        }
        // A run of repeats just as long.
        let mut stream = vec![0xfe; 9];
        stream.push(0x01);
        stream.push(0x01);
        let mut out = Vec::new();
        decode(&stream, 1, 4, &mut out).unwrap();
        assert_eq!(out, [1, 1, 1, 1]);
        let mut spliced = Vec::new();
        splice(&stream, 1, &[true, false, true, true], &mut spliced).unwrap();
        out.clear();
        decode(&spliced, 1, 3, &mut out).unwrap();
        assert_eq!(out, [1, 1, 1]);
    }

    proptest! {
        #[test]
        fn splicing_drops_exactly_the_values_not_kept(
            bit_width in 0u8..=32,
            runs in prop::collection::vec((any::<u32>(), 1usize..40), 1..60),
            dropped in prop::collection::vec(any::<bool>(), 1..2000),
            short in 0usize..8,
        ) {
            let mask = if bit_width == 32 { u32::MAX } else { (1u32 << bit_width) - 1 };
            let values: Vec<u32> = runs
                .iter()
                .flat_map(|(v, n)| std::iter::repeat_n(v & mask, *n))
                .collect();
            // Drop rarely, like rejected rows, but sometimes in stretches.
            let keep: Vec<bool> = (0..values.len())
                .map(|i| !(dropped[i % dropped.len()] && i % 7 == short))
                .collect();
            let mut stream = Vec::new();
            encode(&values, bit_width, &mut stream);
            // The stream may describe more values than are asked for.
            let asked = values.len() - short.min(values.len() - 1);
            let mut spliced = Vec::new();
            splice(&stream, bit_width, &keep[..asked], &mut spliced).unwrap();
            let expected: Vec<u32> = values[..asked]
                .iter()
                .zip(&keep)
                .filter_map(|(v, k)| k.then_some(*v))
                .collect();
            let mut back = Vec::new();
            decode(&spliced, bit_width, expected.len(), &mut back).unwrap();
            prop_assert_eq!(back, expected);
        }

        #[test]
        fn every_stream_round_trips(
            bit_width in 0u8..=32,
            runs in prop::collection::vec((any::<u32>(), 1usize..40), 0..60),
        ) {
            let mask = if bit_width == 32 { u32::MAX } else { (1u32 << bit_width) - 1 };
            let values: Vec<u32> = runs
                .iter()
                .flat_map(|(v, n)| std::iter::repeat_n(v & mask, *n))
                .collect();
            prop_assert_eq!(round_trip(&values, bit_width), values);
        }
    }
}
