//! Sources set aside on disk by pseudonym group, for linking in bounded
//! memory.
//!
//! [`spill_source`] reads a source as [`super::load_source`] does (row
//! groups in parallel, a window of them at a time, every row kept,
//! rejected or counted), maps each row group's codes into the source's
//! dictionaries in file order, and appends each kept row to the file of
//! its group: a contiguous range of pseudonym buckets, so that a person's
//! rows of every source land in one group. [`Spilled::group`] reads one
//! group's rows back as a [`SourceData`] with the whole source's
//! dictionaries, in file order, ready to be partitioned and linked like a
//! source loaded whole.
//!
//! A file is a sequence of blocks, one per row group that had rows of the
//! group: the number of rows, then every column as its length (0 for a
//! column the source does not have, else the number of rows) and its
//! values, little-endian. The files live in a [`ScratchDir`] and hold
//! pseudonyms: they never leave it, and it is removed when linking ends.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use reglink_extract::ScratchDir;

use super::chunk::Chunk;
use super::{Dictionary, LoadStats, SourceData, plan, read_row_group};
use crate::LinkError;
use crate::study::{Concept, Study};

/// A source's rows in one file per group, and what the whole source read.
pub(crate) struct Spilled {
    files: Vec<String>,
    /// Per code concept, the source's dictionary.
    pub dictionaries: Vec<(Concept, Vec<String>)>,
    numbers: Vec<Concept>,
    /// Every row read, rejected or outside the period, over the whole source.
    pub stats: LoadStats,
    pub key_id: String,
    pub pseudonym_study: String,
    has_birth: bool,
}

/// A value written to and read from a spill file.
trait Raw: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! raw {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("a value's bytes"))
            }
        }
    )*};
}
raw!(u8, u32, i32, u64, i64, u128);

/// Writes column `col` at `rows` (empty: a column the source lacks).
fn put<T: Raw>(out: &mut Vec<u8>, col: &[T], rows: &[u32]) {
    if col.is_empty() {
        out.extend_from_slice(&0u64.to_le_bytes());
        return;
    }
    out.extend_from_slice(&(rows.len() as u64).to_le_bytes());
    out.reserve(rows.len() * T::SIZE);
    for &r in rows {
        col[r as usize].put(out);
    }
}

/// Reads a column written by [`put`] onto the end of `into`.
fn take<T: Raw>(r: &mut impl Read, into: &mut Vec<T>, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len) as usize;
    buf.resize(len * T::SIZE, 0);
    r.read_exact(buf)?;
    into.extend(buf.chunks_exact(T::SIZE).map(T::get));
    Ok(())
}

/// Reads source `source_id` of `study` into one file per group in
/// `scratch`; `group_of` gives a pseudonym's group, below `groups`.
pub(crate) fn spill_source(
    study: &Study,
    source_id: usize,
    scratch: &ScratchDir,
    (groups, group_of): (usize, &(dyn Fn(u128) -> usize + Sync)),
) -> Result<Spilled, LinkError> {
    let source = &study.sources[source_id];
    let plan = plan::plan(study, source_id)?;
    let layout = &plan.layout;
    let files: Vec<String> = (0..groups)
        .map(|g| format!("{source_id}-{g}.rows"))
        .collect();
    let write_error = |name: &str| {
        let path = scratch.path().join(name);
        move |source| LinkError::Spill {
            path,
            action: "write",
            source,
        }
    };
    // Every file exists, even a group without rows of this source.
    for f in &files {
        scratch.append(f, &[]).map_err(write_error(f))?;
    }
    let code_concepts: Vec<Concept> = layout
        .mapped
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| c.is_code())
        .collect();
    let numbers: Vec<Concept> = layout
        .mapped
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| super::is_number_concept(*c))
        .collect();
    let mut dictionaries: Vec<Dictionary> = code_concepts
        .iter()
        .map(|_| Dictionary::default())
        .collect();
    let mut stats = LoadStats::default();
    // A few row groups per thread at a time: memory holds a window, not the file.
    let window = 2 * rayon::current_num_threads().max(1);
    let row_groups = plan.first_rows.len();
    for start in (0..row_groups).step_by(window) {
        let end = (start + window).min(row_groups);
        let chunks: Vec<Chunk> = (start..end)
            .into_par_iter()
            .map(|rg| read_row_group(source, &plan, rg))
            .collect::<Result<_, _>>()?;
        for mut chunk in chunks {
            let codes: Vec<Vec<u32>> = dictionaries
                .iter_mut()
                .zip(&chunk.codes)
                .map(|(d, (_, local))| {
                    let mut global = Vec::with_capacity(local.values.len());
                    d.append(local, &mut global);
                    global
                })
                .collect();
            // The chunk's rows by group, in file order within each.
            let mut by_group: Vec<Vec<u32>> = vec![Vec::new(); groups];
            for (i, &p) in chunk.person.iter().enumerate() {
                by_group[group_of(p)].push(i as u32);
            }
            // Groups' blocks are built and appended in parallel: each goes
            // to its own file, one block per row group, so every file still
            // holds its rows in file order.
            by_group
                .par_iter()
                .enumerate()
                .filter(|(_, rows)| !rows.is_empty())
                .try_for_each_init(Vec::new, |block, (g, rows)| {
                    block.clear();
                    block.extend_from_slice(&(rows.len() as u64).to_le_bytes());
                    put(block, &chunk.person, rows);
                    put(block, &chunk.record_key, rows);
                    put(block, &chunk.birth_year, rows);
                    put(block, &chunk.sex, rows);
                    put(block, &chunk.time, rows);
                    put(block, &chunk.end, rows);
                    put(block, &chunk.household, rows);
                    put(block, &chunk.role, rows);
                    for c in &codes {
                        put(block, c, rows);
                    }
                    for (_, n) in &chunk.numbers {
                        put(block, n, rows);
                    }
                    // Opened for each block, so that a thousand groups do
                    // not keep a thousand files (and buffers) open.
                    scratch
                        .append(&files[g], block)
                        .map_err(write_error(&files[g]))
                })?;
            stats.merge(std::mem::take(&mut chunk.stats));
        }
    }
    Ok(Spilled {
        files,
        dictionaries: code_concepts
            .into_iter()
            .zip(dictionaries.into_iter().map(|d| d.codes))
            .collect(),
        numbers,
        stats,
        key_id: plan.key_id,
        pseudonym_study: plan.pseudonym_study,
        has_birth: layout.birth.is_some(),
    })
}

impl Spilled {
    /// The rows of group `g`, in file order, with the source's
    /// dictionaries; its file is removed once read. The statistics are
    /// left empty: they are the whole source's, in [`Spilled::stats`].
    pub(crate) fn group(&self, scratch: &ScratchDir, g: usize) -> Result<SourceData, LinkError> {
        let data = self.peek(scratch, g)?;
        scratch
            .remove_file(&self.files[g])
            .map_err(|source| LinkError::Spill {
                path: scratch.path().join(&self.files[g]),
                action: "read",
                source,
            })?;
        Ok(data)
    }

    /// [`Spilled::group`], leaving the file for a later read.
    pub(crate) fn peek(&self, scratch: &ScratchDir, g: usize) -> Result<SourceData, LinkError> {
        let path: PathBuf = scratch.path().join(&self.files[g]);
        let read_error = |source| LinkError::Spill {
            path: path.clone(),
            action: "read",
            source,
        };
        let mut data = SourceData {
            key_id: self.key_id.clone(),
            pseudonym_study: self.pseudonym_study.clone(),
            has_birth: self.has_birth,
            codes: self
                .dictionaries
                .iter()
                .map(|(c, _)| (*c, Vec::new()))
                .collect(),
            dictionaries: self.dictionaries.clone(),
            numbers: self.numbers.iter().map(|c| (*c, Vec::new())).collect(),
            ..SourceData::default()
        };
        let file = std::fs::File::open(&path).map_err(read_error)?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        read_blocks(&mut r, &mut data).map_err(read_error)?;
        Ok(data)
    }
}

/// Appends every block of a spill file to `data`'s columns.
fn read_blocks(r: &mut impl Read, data: &mut SourceData) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let mut rows = [0u8; 8];
        // A clean end only between blocks: a header cut short is an error.
        let mut got = 0;
        while got < rows.len() {
            match r.read(&mut rows[got..])? {
                0 if got == 0 => return Ok(()),
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => got += n,
            }
        }
        let (rows, before) = (u64::from_le_bytes(rows) as usize, data.person.len());
        take(r, &mut data.person, &mut buf)?;
        take(r, &mut data.record_key, &mut buf)?;
        take(r, &mut data.birth_year, &mut buf)?;
        take(r, &mut data.sex, &mut buf)?;
        take(r, &mut data.time, &mut buf)?;
        take(r, &mut data.end, &mut buf)?;
        take(r, &mut data.household, &mut buf)?;
        take(r, &mut data.role, &mut buf)?;
        for (_, c) in data.codes.iter_mut() {
            take(r, c, &mut buf)?;
        }
        for (_, n) in data.numbers.iter_mut() {
            take(r, n, &mut buf)?;
        }
        if data.person.len() != before + rows {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a block's rows do not match its header",
            ));
        }
    }
}

/// Where a study's spill files go: a scratch folder in the folder the
/// user chose, else beside its first source's file (on the same disk as the
/// extracts, which are as sensitive).
pub(crate) fn scratch_for(study: &Study) -> Result<ScratchDir, LinkError> {
    if let Some(dir) = &study.memory.scratch {
        return ScratchDir::create(dir, "spill").map_err(|source| LinkError::Spill {
            path: dir.clone(),
            action: "write",
            source,
        });
    }
    let first = study
        .sources
        .first()
        .map(|s| s.path.as_path())
        .unwrap_or(Path::new("."));
    let parent = match first.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    ScratchDir::create(&parent, "spill").map_err(|source| LinkError::Spill {
        path: parent,
        action: "write",
        source,
    })
}
