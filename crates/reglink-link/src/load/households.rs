//! The EB household table for linking a group of persons at a time.
//!
//! `household_type` needs, for a person's EB month, the adults and children
//! of their household that month, and a household's members fall in
//! different groups of pseudonyms. Instead of one table of every household
//! (which grows with the register), the table is cut by group on disk, in
//! two passes over the EB rows set aside by [`super::spill`]:
//!
//! 1. every person group's EB rows with a household go, as (household,
//!    month, person, role), to the file of the household's *household
//!    group*, so that all members of a household meet in one file;
//! 2. each household group's compositions are counted and each (household,
//!    month, adults, children) is written to the file of every person group
//!    with a member in that household that month.
//!
//! A person group's table ([`HouseholdParts::table`]) then holds exactly the
//! entries its own EB rows look up, with the same counts as the table of
//! the whole register. Both kinds of file are fixed-size little-endian
//! records in the spill folder and are removed once read.

use std::io::{BufReader, Read};

use reglink_extract::ScratchDir;

use super::spill::Spilled;
use crate::LinkError;
use crate::derive::{self, Households, Member};

/// Bytes of a member record: household, month, person, role.
const MEMBER: usize = 8 + 4 + 16 + 1;
/// Bytes of a composition record: household, month, adults, children.
const ENTRY: usize = 8 + 4 + 4 + 4;

/// The household tables of the person groups, cut on disk.
pub(crate) struct HouseholdParts {
    groups: usize,
}

/// The household group of household `h` among `groups` (a power of two).
fn household_group(h: u64, groups: usize) -> usize {
    // Integer household ids are kept as they are (text ids are hashed):
    // the top bits of the product depend on every bit of the id, so
    // sequential numbers fill the groups evenly too.
    ((h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize) & (groups - 1)
}

fn members_file(hg: usize) -> String {
    format!("households-{hg:04}.members")
}

fn table_file(g: usize) -> String {
    format!("households-{g:04}.table")
}

/// Reads a file of fixed-size records and removes it.
fn read_records(scratch: &ScratchDir, name: &str, size: usize) -> Result<Vec<u8>, LinkError> {
    let path = scratch.path().join(name);
    let error = |source| LinkError::Spill {
        path: path.clone(),
        action: "read",
        source,
    };
    let mut bytes = Vec::new();
    match std::fs::File::open(&path) {
        Ok(file) => {
            BufReader::new(file)
                .read_to_end(&mut bytes)
                .map_err(error)?;
        }
        // No record was written for this group.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(bytes),
        Err(e) => return Err(error(e)),
    }
    if bytes.len() % size != 0 {
        return Err(error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file ends inside a record",
        )));
    }
    scratch.remove_file(name).map_err(error)?;
    Ok(bytes)
}

/// Appends `bytes` to file `name`, if there are any.
fn append(scratch: &ScratchDir, name: &str, bytes: &[u8]) -> Result<(), LinkError> {
    if bytes.is_empty() {
        return Ok(());
    }
    scratch
        .append(name, bytes)
        .map_err(|source| LinkError::Spill {
            path: scratch.path().join(name),
            action: "write",
            source,
        })
}

/// Cuts the household table of the EB rows `eb` (set aside in `groups`
/// person groups; `group_of` gives a pseudonym's) into one table per person
/// group, on disk.
pub(crate) fn household_parts(
    eb: &Spilled,
    scratch: &ScratchDir,
    (groups, group_of): (usize, &(dyn Fn(u128) -> usize + Sync)),
) -> Result<HouseholdParts, LinkError> {
    // 1. Members to their household's group.
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); groups];
    for g in 0..groups {
        let data = eb.peek(scratch, g)?;
        for i in 0..data.len() {
            let h = data.household[i];
            if h == u64::MAX {
                continue;
            }
            let buf = &mut out[household_group(h, groups)];
            buf.extend_from_slice(&h.to_le_bytes());
            buf.extend_from_slice(&data.time[i].to_le_bytes());
            buf.extend_from_slice(&data.person[i].to_le_bytes());
            buf.push(data.role.get(i).copied().unwrap_or(u8::MAX));
        }
        for (hg, buf) in out.iter_mut().enumerate() {
            append(scratch, &members_file(hg), buf)?;
            buf.clear();
        }
    }
    // 2. Each household group's compositions to the person groups that
    // look them up.
    for hg in 0..groups {
        let bytes = read_records(scratch, &members_file(hg), MEMBER)?;
        let mut members: Vec<Member> = bytes
            .chunks_exact(MEMBER)
            .map(|r| {
                (
                    u64::from_le_bytes(r[0..8].try_into().expect("8 bytes")),
                    i32::from_le_bytes(r[8..12].try_into().expect("4 bytes")),
                    u128::from_le_bytes(r[12..28].try_into().expect("16 bytes")),
                    r[28],
                )
            })
            .collect();
        drop(bytes);
        let table = derive::compositions(&mut members);
        let mut wanted: Vec<(usize, u64, i32)> = members
            .iter()
            .map(|&(h, m, p, _)| (group_of(p), h, m))
            .collect();
        drop(members);
        wanted.sort_unstable();
        wanted.dedup();
        let mut at = 0;
        while at < wanted.len() {
            let g = wanted[at].0;
            let mut buf = Vec::new();
            while at < wanted.len() && wanted[at].0 == g {
                let (_, h, m) = wanted[at];
                let (adults, children) = table[&(h, m)];
                buf.extend_from_slice(&h.to_le_bytes());
                buf.extend_from_slice(&m.to_le_bytes());
                buf.extend_from_slice(&adults.to_le_bytes());
                buf.extend_from_slice(&children.to_le_bytes());
                at += 1;
            }
            append(scratch, &table_file(g), &buf)?;
        }
    }
    Ok(HouseholdParts { groups })
}

impl HouseholdParts {
    /// The household table of person group `g`: every (household, month)
    /// its EB rows have, with the whole register's counts. Its file is
    /// removed once read.
    pub(crate) fn table(&self, scratch: &ScratchDir, g: usize) -> Result<Households, LinkError> {
        debug_assert!(g < self.groups);
        let bytes = read_records(scratch, &table_file(g), ENTRY)?;
        Ok(bytes
            .chunks_exact(ENTRY)
            .map(|r| {
                (
                    (
                        u64::from_le_bytes(r[0..8].try_into().expect("8 bytes")),
                        i32::from_le_bytes(r[8..12].try_into().expect("4 bytes")),
                    ),
                    (
                        u32::from_le_bytes(r[12..16].try_into().expect("4 bytes")),
                        u32::from_le_bytes(r[16..20].try_into().expect("4 bytes")),
                    ),
                )
            })
            .collect())
    }
}
