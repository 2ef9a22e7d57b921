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
    // the top log2(groups) bits of the product depend on every bit of the
    // id, so sequential numbers fill the groups evenly too.
    let bits = groups.trailing_zeros();
    if bits == 0 {
        return 0;
    }
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
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

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};

    use super::*;
    use crate::testutil::{META, keyed, write_parquet};

    const STUDY: &str = r#"
[study]
name = "s"
period = ["2023-01", "2023-12"]

[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = { month = "period", municipality = "kommun", household = "hushall", role = "roll" }

[variables.household]
kind = "household_type"

[populations.p]
source = "eb"
years = [2023]

[[tables]]
name = "t"
population = "p"
dimensions = ["household"]
measures = [{ name = "persons", kind = "persons" }]
"#;

    #[test]
    fn each_group_gets_the_whole_registers_counts_of_the_households_it_looks_up() {
        // 80 persons in 16 households of 5 (an applicant, a co-applicant,
        // three children), three months each; one row twice; every 7th
        // person also has a month without a household.
        let mut rows: Vec<(u64, &str, Option<i64>, &str)> = Vec::new();
        for p in 0..80u64 {
            let role = ["S", "M", "B", "B", "B"][(p % 5) as usize];
            for month in ["202301", "202302", "202303"] {
                rows.push((p, month, Some((p / 5) as i64 * 1000), role));
            }
            if p % 7 == 0 {
                rows.push((p, "202304", None, role));
            }
        }
        rows.push(rows[0]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("study.toml"), STUDY).unwrap();
        let ids: Vec<Option<u64>> = rows.iter().map(|r| Some(r.0)).collect();
        let mut columns = keyed(&ids);
        columns.push((
            "period",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef,
        ));
        columns.push((
            "kommun",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "0180"))) as ArrayRef,
        ));
        columns.push((
            "hushall",
            Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()) as ArrayRef,
        ));
        columns.push((
            "roll",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.3))) as ArrayRef,
        ));
        write_parquet(&dir.path().join("eb.parquet"), columns, META, 50);
        let study = crate::Study::load(dir.path().join("study.toml")).unwrap();

        let whole = derive::household_table(&super::super::load_source(&study, 0).unwrap());
        assert_eq!(whole.len(), 16 * 3);
        assert!(whole.values().all(|&v| v == (2, 3)), "{whole:?}");

        let scratch = ScratchDir::create(dir.path(), "t").unwrap();
        let groups = 8;
        let group_of = move |p: u128| crate::link::group_of(p, groups);
        let eb =
            super::super::spill::spill_source(&study, 0, &scratch, (groups, &group_of)).unwrap();
        let parts = household_parts(&eb, &scratch, (groups, &group_of)).unwrap();
        let mut groups_of_household: HashMap<u64, HashSet<usize>> = HashMap::new();
        for g in 0..groups {
            let data = eb.peek(&scratch, g).unwrap();
            let table = parts.table(&scratch, g).unwrap();
            let wanted: HashSet<(u64, i32)> = (0..data.len())
                .filter(|&i| data.household[i] != u64::MAX)
                .map(|i| (data.household[i], data.time[i]))
                .collect();
            assert_eq!(
                table.keys().copied().collect::<HashSet<_>>(),
                wanted,
                "group {g}"
            );
            for (key, counts) in &table {
                assert_eq!(whole[key], *counts, "group {g}");
                groups_of_household.entry(key.0).or_default().insert(g);
            }
        }
        assert_eq!(groups_of_household.len(), 16);
        // The test means something only if households span groups.
        assert!(groups_of_household.values().any(|g| g.len() > 1));
        // Every household file was read and removed.
        let left: Vec<String> = std::fs::read_dir(scratch.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("households-"))
            .collect();
        assert_eq!(left, Vec::<String>::new());
    }
}
