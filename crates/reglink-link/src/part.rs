//! Linking on a distributed engine: each worker links a part of the
//! persons, and the driver merges the parts' reports.
//!
//! The engine cuts every source by person (all of a person's rows in one
//! part) and hands a worker one part: a folder with a Parquet file per
//! source (`<source name>.parquet`, the source's own schema and metadata,
//! plus [`ROW_COLUMN`], each row's 0-based row in the source's file) and,
//! when the study derives household types, [`PART_HOUSEHOLDS`]: the EB rows
//! of every household with a member in the part, whoever the member is, so
//! that the part counts each household's adults and children over the
//! whole register. [`link_part`] links the part like [`crate::link_each`]
//! links a group of persons; its [`Part`] carries the counts of the
//! linkage report, which [`Parts`] adds up on the driver (dictionaries of
//! codes merged by code, since each part has its own).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::derive::{self, Ctx};
use crate::frame::PopulationFrame;
use crate::link::{self, Counts};
use crate::load::{self, LoadStats, SourceData};
use crate::partial::{Decoder, Encoder, PartialError, expect_len};
use crate::report::{self, RejectCount, SourceSummary};
use crate::study::{Concept, SourceKind, Study};
use crate::{Input, LinkError, Linkage};

pub use crate::load::plan::ROW_COLUMN;

/// The file of a part's folder holding the EB rows of the households of
/// the part's persons.
pub const PART_HOUSEHOLDS: &str = "households.parquet";

/// What a part's encoding is called in its header.
const WHAT: &str = "a linked part";

/// The file of source `name` in a part's folder.
pub fn part_file(name: &str) -> String {
    format!("{name}.parquet")
}

/// Each source's plan (its schema checked, its key id and rows read from
/// its footer), the keys checked to agree.
fn checked_plans(study: &Study) -> Result<Vec<load::plan::Plan>, LinkError> {
    let plans = (0..study.sources.len())
        .map(|id| load::plan::plan(study, id))
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<(&str, &str)> = plans
        .iter()
        .map(|p| (p.key_id.as_str(), p.pseudonym_study.as_str()))
        .collect();
    load::check_same_key(study, &keys)?;
    Ok(plans)
}

/// Checks, from the footers alone, that the study's sources are
/// pseudonymised under one key: before an engine is given them.
pub fn check_sources(study: &Study) -> Result<(), LinkError> {
    checked_plans(study).map(|_| ())
}

/// The sources of `study` as the driver records them once the engine is
/// done: each file's fingerprint and key id, and its rows (from its
/// footer), the keys checked to agree.
pub fn sources_of(study: &Study) -> Result<(Vec<Input>, Vec<u64>), LinkError> {
    let plans = checked_plans(study)?;
    let rows = plans.iter().map(|p| p.rows).collect();
    let inputs = study
        .sources
        .iter()
        .zip(&plans)
        .map(|(source, plan)| crate::input_of(source, &plan.key_id))
        .collect::<Result<_, _>>()?;
    Ok((inputs, rows))
}

/// The fingerprints of the study file and its code lists: a part linked
/// under another study file or other code lists than the driver's is
/// refused, since its cells would not mean the same.
pub fn study_fingerprint(study: &Study) -> Result<String, LinkError> {
    let mut all = Vec::new();
    let paths = std::iter::once((&study.name, &study.path))
        .chain(study.codelists.iter().map(|c| (&c.name, &c.path)));
    for (name, path) in paths {
        let f = reglink_extract::fingerprint_file(path).map_err(|error| LinkError::Extract {
            source_name: name.clone(),
            error,
        })?;
        all.push(f.as_str().to_string());
    }
    Ok(all.join(" "))
}

/// Whether the study derives household types, so that a part needs
/// [`PART_HOUSEHOLDS`]; then the EB source's index and household column.
pub fn households_needed(study: &Study) -> Option<(usize, &str)> {
    let e = study.source_of_kind(SourceKind::Eb)?;
    if !Ctx::needs_households(study) {
        return None;
    }
    Some((e, study.sources[e].column(Concept::Household)?))
}

/// What linking one part of the persons adds to the linkage report.
pub struct Part {
    /// [`study_fingerprint`] of the study the part was linked with.
    study: String,
    summaries: Vec<SourceSummary>,
    counts: Counts,
    /// Per source: key id and study of the part's file.
    keys: Vec<(String, String)>,
}

/// Links the part of the persons in folder `dir` (see the module docs) and
/// hands its person-years to `each` (once).
pub fn link_part(
    study: &Study,
    dir: &Path,
    each: &mut dyn FnMut(Vec<PopulationFrame>),
) -> Result<Part, LinkError> {
    let mut part_study = study.clone();
    for s in &mut part_study.sources {
        s.path = dir.join(part_file(&s.name));
    }
    let study = &part_study;
    let mut loaded: Vec<SourceData> = Vec::with_capacity(study.sources.len());
    for id in 0..study.sources.len() {
        loaded.push(load::load_source(study, id)?);
    }
    let keys: Vec<(String, String)> = loaded
        .iter()
        .map(|d| (d.key_id.clone(), d.pseudonym_study.clone()))
        .collect();
    let households = match study.source_of_kind(SourceKind::Eb) {
        Some(e) if Ctx::needs_households(study) => {
            let mut hh_study = study.clone();
            hh_study.sources[e].path = dir.join(PART_HOUSEHOLDS);
            let rows = load::load_source(&hh_study, e)?;
            if (rows.key_id.as_str(), rows.pseudonym_study.as_str())
                != (keys[e].0.as_str(), keys[e].1.as_str())
            {
                return Err(LinkError::NotPseudonymised {
                    source_name: study.sources[e].name.clone(),
                    path: hh_study.sources[e].path.clone(),
                    message: "holds households under another key or study than the part's rows"
                        .to_string(),
                });
            }
            Some(derive::household_table(&rows))
        }
        _ => None,
    };
    let summaries: Vec<SourceSummary> = study
        .sources
        .iter()
        .zip(&loaded)
        .map(|(s, d)| SourceSummary::of(s.kind, d))
        .collect();
    let (offsets, by_slot) = crate::partitioned(study, &mut loaded);
    let ctx = Ctx::with_households(study, &by_slot, households.as_ref());
    let all = 0..link::BUCKET_COUNT as usize;
    let (frames, counts) = link::link(study, &by_slot, &offsets, &ctx, (all, &|_| {}));
    drop(ctx);
    drop(households);
    drop(loaded);
    each(frames);
    Ok(Part {
        study: study_fingerprint(study)?,
        summaries,
        counts,
        keys,
    })
}

// Debug leaves the counts out: they hold sums of pseudonyms.
impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part")
            .field("sources", &self.summaries.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("sources", &self.summaries.len())
            .finish_non_exhaustive()
    }
}

impl Part {
    /// Writes the part for [`Part::decode`].
    pub fn encode(&self, e: &mut Encoder) {
        e.str(&self.study);
        e.len(self.keys.len());
        for (key, study) in &self.keys {
            e.str(key);
            e.str(study);
        }
        for s in &self.summaries {
            encode_summary(s, e);
        }
        encode_counts(&self.counts, e);
    }

    /// Reads a part of `study` as [`Part::encode`] wrote it.
    pub fn decode(study: &Study, d: &mut Decoder<'_>) -> Result<Part, PartialError> {
        let fingerprint = d.str()?;
        let n = d.u64()? as usize;
        if n != study.sources.len() {
            return Err(PartialError(format!(
                "it has {n} sources, the study {}: was it linked with another study file?",
                study.sources.len()
            )));
        }
        let mut keys = Vec::with_capacity(n);
        for _ in 0..n {
            keys.push((d.str()?, d.str()?));
        }
        let mut summaries = Vec::with_capacity(n);
        for _ in 0..n {
            summaries.push(decode_summary(d)?);
        }
        let counts = decode_counts(study, d)?;
        Ok(Part {
            study: fingerprint,
            summaries,
            counts,
            keys,
        })
    }

    /// The header every encoded part starts with.
    pub fn encoder() -> Encoder {
        Encoder::new(WHAT)
    }

    /// Reads the header of an encoded part.
    pub fn header(d: &mut Decoder<'_>) -> Result<(), PartialError> {
        d.header(WHAT)
    }
}

/// The parts of a distributed run, merged as they come.
pub struct Parts {
    /// [`study_fingerprint`] of the driver's study.
    study: String,
    summaries: Vec<SourceSummary>,
    /// Per source and code concept: code -> index in the merged dictionary.
    index: Vec<Vec<(Concept, HashMap<String, u32>)>>,
    counts: Counts,
    keys: Option<Vec<(String, String)>>,
}

impl Parts {
    /// No part yet.
    pub fn new(study: &Study) -> Result<Parts, LinkError> {
        Ok(Parts {
            study: study_fingerprint(study)?,
            summaries: study
                .sources
                .iter()
                .map(|_| SourceSummary::default())
                .collect(),
            index: study.sources.iter().map(|_| Vec::new()).collect(),
            counts: link::empty_counts(study),
            keys: None,
        })
    }

    /// Adds one part.
    pub fn add(&mut self, study: &Study, part: Part) -> Result<(), PartialError> {
        if part.study != self.study {
            return Err(PartialError(
                "it was linked with another study file or other code lists than this run's: a worker reads another copy"
                    .to_string(),
            ));
        }
        match &self.keys {
            None => self.keys = Some(part.keys.clone()),
            Some(k) if *k != part.keys => {
                return Err(PartialError(
                    "its sources were pseudonymised under another key or study than another part's"
                        .to_string(),
                ));
            }
            Some(_) => {}
        }
        let Part {
            summaries,
            mut counts,
            ..
        } = part;
        for (s, summary) in summaries.into_iter().enumerate() {
            let remaps = merge_summary(&mut self.summaries[s], &mut self.index[s], summary);
            // The municipality-years count the part's own dictionary indices.
            let slot = link::slot(study.sources[s].kind);
            let remap = remaps
                .iter()
                .find(|(c, _)| *c == Concept::Municipality)
                .map_or(&[][..], |(_, r)| r.as_slice());
            let by = std::mem::take(&mut counts.by_muni_year[slot]);
            counts.by_muni_year[slot] = by
                .into_iter()
                .map(|((m, y), v)| match remap.get(m as usize) {
                    Some(&to) => Ok(((to, y), v)),
                    None => Err(PartialError(format!(
                        "it counts persons of source {} in a municipality it does not name",
                        study.sources[s].name
                    ))),
                })
                .collect::<Result<_, _>>()?;
        }
        self.counts.merge(counts);
        Ok(())
    }

    /// The linkage of every part added, for `inputs` (the sources' own
    /// files, in the study's order). Every row of every source must have
    /// reached a part: `rows` are the sources' rows.
    pub fn finish(
        self,
        study: &Study,
        inputs: Vec<Input>,
        rows: &[u64],
    ) -> Result<Linkage, LinkError> {
        for ((source, summary), &expected) in study.sources.iter().zip(&self.summaries).zip(rows) {
            // Rows 1..=n, each once: their number, sum and sum of hashes.
            let n = u128::from(expected);
            let hashed = (1..=expected).fold(0u64, |h, r| h.wrapping_add(load::chunk::mix(r)));
            let sums = (n * (n + 1) / 2, hashed);
            if summary.stats.rows_read != expected || summary.stats.row_sums != sums {
                return Err(LinkError::Parts {
                    message: format!(
                        "the parts read {} rows of source {}, whose file has {expected}, or not each of them once: rows were lost or read twice on the way",
                        summary.stats.rows_read, source.name
                    ),
                });
            }
            let s = link::slot(source.kind);
            if self.counts.duplicates[s] > summary.rows {
                return Err(LinkError::Parts {
                    message: format!(
                        "the parts count more duplicates of source {} than rows kept",
                        source.name
                    ),
                });
            }
        }
        if let Some(keys) = &self.keys {
            for ((source, input), (key, _)) in study.sources.iter().zip(&inputs).zip(keys) {
                if *key != input.key_id {
                    return Err(LinkError::Parts {
                        message: format!(
                            "the parts of source {} were pseudonymised under key {key}, its file under key {}",
                            source.name, input.key_id
                        ),
                    });
                }
            }
        }
        let report = report::build_report(study, &self.summaries, &inputs, &self.counts);
        Ok(Linkage { report, inputs })
    }
}

/// Adds summary `from` (with its own dictionaries) into `into`, whose
/// dictionaries `index` looks codes up in; returns per code concept the
/// index in `into` of each of `from`'s codes.
fn merge_summary(
    into: &mut SourceSummary,
    index: &mut Vec<(Concept, HashMap<String, u32>)>,
    from: SourceSummary,
) -> Vec<(Concept, Vec<u32>)> {
    into.stats.merge(from.stats);
    into.rows += from.rows;
    for (k, v) in from.by_period {
        *into.by_period.entry(k).or_default() += v;
    }
    let mut remaps = Vec::new();
    for ((concept, codes), (_, rows)) in from.dictionaries.into_iter().zip(from.code_rows) {
        let at = match into.dictionaries.iter().position(|(c, _)| *c == concept) {
            Some(at) => at,
            None => {
                into.dictionaries.push((concept, Vec::new()));
                into.code_rows.push((concept, Vec::new()));
                index.push((concept, HashMap::new()));
                into.dictionaries.len() - 1
            }
        };
        let dictionary = &mut into.dictionaries[at].1;
        let code_rows = &mut into.code_rows[at].1;
        let lookup = &mut index[at].1;
        let remap: Vec<u32> = codes
            .into_iter()
            .map(|code| {
                *lookup.entry(code).or_insert_with_key(|code| {
                    dictionary.push(code.clone());
                    code_rows.push(0);
                    dictionary.len() as u32 - 1
                })
            })
            .collect();
        for (i, n) in rows.into_iter().enumerate() {
            code_rows[remap[i] as usize] += n;
        }
        remaps.push((concept, remap));
    }
    remaps
}

fn encode_summary(s: &SourceSummary, e: &mut Encoder) {
    e.u64(s.stats.rows_read);
    e.u64(s.stats.outside_period);
    e.u64(s.stats.rounded);
    e.u128(s.stats.row_sums.0);
    e.u64(s.stats.row_sums.1);
    e.len(s.stats.rejected.len());
    for (reason, count) in &s.stats.rejected {
        e.str(reason);
        e.u64(count.rows);
        e.u64s(&count.first_rows);
    }
    e.u64(s.rows);
    e.len(s.dictionaries.len());
    for ((concept, codes), (_, rows)) in s.dictionaries.iter().zip(&s.code_rows) {
        e.u8(concept_tag(*concept));
        e.strs(codes);
        e.u64s(rows);
    }
    e.i32s(&s.by_period.keys().copied().collect::<Vec<_>>());
    e.u64s(&s.by_period.values().copied().collect::<Vec<_>>());
}

fn decode_summary(d: &mut Decoder<'_>) -> Result<SourceSummary, PartialError> {
    let mut stats = LoadStats {
        rows_read: d.u64()?,
        outside_period: d.u64()?,
        rounded: d.u64()?,
        row_sums: (d.u128()?, d.u64()?),
        ..LoadStats::default()
    };
    let reasons = d.len(16)?;
    for _ in 0..reasons {
        let reason = d.str()?;
        let rows = d.u64()?;
        let first_rows = d.u64s()?;
        stats
            .rejected
            .insert(reason, RejectCount { rows, first_rows });
    }
    let rows = d.u64()?;
    let concepts = d.len(1)?;
    let mut dictionaries = Vec::with_capacity(concepts);
    let mut code_rows = Vec::with_capacity(concepts);
    for _ in 0..concepts {
        let tag = d.u8()?;
        let concept = *Concept::ALL
            .get(tag as usize)
            .ok_or_else(|| PartialError(format!("it names concept {tag}, which does not exist")))?;
        let codes = d.strs()?;
        let n = codes.len();
        dictionaries.push((concept, codes));
        code_rows.push((concept, expect_len(d.u64s()?, n, "a dictionary")?));
    }
    let periods = d.i32s()?;
    let counts = expect_len(d.u64s()?, periods.len(), "the rows by period")?;
    let mut summary = SourceSummary::new(stats, dictionaries);
    summary.rows = rows;
    summary.code_rows = code_rows;
    summary.by_period = periods.into_iter().zip(counts).collect::<BTreeMap<_, _>>();
    Ok(summary)
}

fn concept_tag(c: Concept) -> u8 {
    Concept::ALL
        .iter()
        .position(|&x| x == c)
        .unwrap_or_else(|| unreachable!("every concept is in ALL")) as u8
}

fn encode_counts(c: &Counts, e: &mut Encoder) {
    e.u64s(&c.persons);
    e.u64s(&c.duplicates);
    e.u64s(&c.without_birth);
    e.u64s(&c.matched.concat());
    e.u64(c.overlapping_spells);
    for by in &c.by_muni_year {
        let mut keys: Vec<&(u32, i32)> = by.keys().collect();
        keys.sort_unstable();
        e.u32s(&keys.iter().map(|k| k.0).collect::<Vec<_>>());
        e.i32s(&keys.iter().map(|k| k.1).collect::<Vec<_>>());
        e.u64s(&keys.iter().flat_map(|k| by[k]).collect::<Vec<_>>());
    }
    for years in &c.population_years {
        e.u64s(years);
    }
    for sums in &c.population_members {
        e.u128s(sums);
    }
    e.u64s(&c.without_age);
}

fn decode_counts(study: &Study, d: &mut Decoder<'_>) -> Result<Counts, PartialError> {
    let three = |d: &mut Decoder<'_>| -> Result<[u64; 3], PartialError> {
        let v = expect_len(d.u64s()?, 3, "the source counts")?;
        Ok([v[0], v[1], v[2]])
    };
    let mut c = link::empty_counts(study);
    c.persons = three(d)?;
    c.duplicates = three(d)?;
    c.without_birth = three(d)?;
    let matched = expect_len(d.u64s()?, 9, "the matches")?;
    for a in 0..3 {
        c.matched[a].copy_from_slice(&matched[a * 3..a * 3 + 3]);
    }
    c.overlapping_spells = d.u64()?;
    for by in &mut c.by_muni_year {
        let m = d.u32s()?;
        let y = expect_len(d.i32s()?, m.len(), "the municipality-years")?;
        let v = expect_len(d.u64s()?, m.len() * 4, "the municipality-years")?;
        for (i, key) in m.into_iter().zip(y).enumerate() {
            by.insert(key, [v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]]);
        }
    }
    for (p, years) in c.population_years.iter_mut().enumerate() {
        *years = d.u64s_of(study.populations[p].years.len(), "a population's years")?;
    }
    for (p, sums) in c.population_members.iter_mut().enumerate() {
        *sums = expect_len(
            d.u128s()?,
            study.populations[p].years.len(),
            "a population's years",
        )?;
    }
    c.without_age = d.u64s_of(study.populations.len(), "the populations")?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};

    use super::*;
    use crate::testutil::{META, StudyDir, keyed, write_parquet};

    /// EB rows (person, month, municipality, amount) of the whole source,
    /// and the part of each person.
    const ROWS: [(u64, &str, Option<&str>, &str); 6] = [
        (1, "202301", Some("0180"), "100"),
        (2, "202302", Some("0380"), "200"),
        (1, "202303", Some("0180"), "300"),
        (3, "202304", None, "400"),
        (2, "202305", Some("0180"), "500"),
        (3, "202306", Some("0380"), "600"),
    ];

    fn text(values: Vec<Option<&str>>) -> ArrayRef {
        Arc::new(StringArray::from(values))
    }

    /// The EB rows at `rows` (0-based rows of the whole source), with their rows.
    fn eb_file(path: &Path, rows: &[usize]) {
        let ids: Vec<Option<u64>> = rows.iter().map(|&r| Some(ROWS[r].0)).collect();
        let mut columns = keyed(&ids);
        columns.push((
            "period",
            text(rows.iter().map(|&r| Some(ROWS[r].1)).collect()),
        ));
        columns.push(("kommun", text(rows.iter().map(|&r| ROWS[r].2).collect())));
        columns.push((
            "belopp",
            text(rows.iter().map(|&r| Some(ROWS[r].3)).collect()),
        ));
        let numbers = Int64Array::from(rows.iter().map(|&r| r as i64).collect::<Vec<_>>());
        columns.push((ROW_COLUMN, Arc::new(numbers) as ArrayRef));
        write_parquet(path, columns, META, 2);
    }

    /// Person 1 and 3 in one part, person 2 in the other, each linked and
    /// read back from its encoding.
    fn parts(dir: &StudyDir, study: &Study) -> Vec<Part> {
        eb_file(&dir.path("eb.parquet"), &[0, 1, 2, 3, 4, 5]);
        [vec![0, 2, 3, 5], vec![1, 4]]
            .iter()
            .enumerate()
            .map(|(i, rows)| {
                let folder = dir.path(&format!("part{i}"));
                std::fs::create_dir_all(&folder).unwrap();
                eb_file(&folder.join(part_file("eb")), rows);
                let part = link_part(study, &folder, &mut |_| {}).unwrap();
                let mut e = Part::encoder();
                part.encode(&mut e);
                let bytes = e.into_bytes();
                let mut d = Decoder::new(&bytes);
                Part::header(&mut d).unwrap();
                let part = Part::decode(study, &mut d).unwrap();
                d.finish().unwrap();
                part
            })
            .collect()
    }

    fn merged(study: &Study, parts: Vec<Part>) -> Result<Linkage, String> {
        let (inputs, rows) = sources_of(study).map_err(|e| e.to_string())?;
        let mut all = Parts::new(study).map_err(|e| e.to_string())?;
        for part in parts {
            all.add(study, part).map_err(|e| e.to_string())?;
        }
        all.finish(study, inputs, &rows).map_err(|e| e.to_string())
    }

    #[test]
    fn parts_add_up_to_the_report_of_the_whole_and_a_corrupt_part_is_refused() {
        let dir = StudyDir::new(false);
        let study = dir.study();
        eb_file(&dir.path("eb.parquet"), &[0, 1, 2, 3, 4, 5]);
        let whole = crate::link(&study, &crate::NoProgress).unwrap().report;
        let linkage = merged(&study, parts(&dir, &study)).unwrap();
        assert_eq!(
            serde_json::to_string(&linkage.report).unwrap(),
            serde_json::to_string(&whole).unwrap()
        );
        // Person 3's row without a municipality is named by its row in the source.
        assert_eq!(
            linkage.report.sources["eb"].rejected["municipality_missing"].first_rows,
            [4]
        );

        // One part missing: its rows were lost.
        let mut two = parts(&dir, &study);
        two.pop();
        let error = merged(&study, two).unwrap_err();
        assert!(error.contains("rows were lost or read twice"), "{error}");
        // Linked with another study file.
        let mut two = parts(&dir, &study);
        two[0].study = "blake3:0".to_string();
        let error = merged(&study, two).unwrap_err();
        assert!(error.contains("another study file"), "{error}");
        // Persons in a municipality the part's dictionary does not have.
        let mut two = parts(&dir, &study);
        two[1].counts.by_muni_year[0].insert((7, 2023), [1, 0, 0, 0]);
        let error = merged(&study, two).unwrap_err();
        assert!(error.contains("does not name"), "{error}");
        // More duplicates than rows.
        let mut two = parts(&dir, &study);
        two[1].counts.duplicates[0] = 100;
        let error = merged(&study, two).unwrap_err();
        assert!(error.contains("more duplicates"), "{error}");
    }
}
