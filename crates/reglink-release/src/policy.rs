//! `--policy`: a policy file, or the name of a preset.

use std::path::{Path, PathBuf};

use reglink_protect::Policy;
use reglink_protect::perturb::cell_key::ImportedPtable;

use crate::ReleaseError;

/// Reads `--policy`: a policy file if `arg` names a regular file, else the
/// preset of that name (`acro`, `abs`, `lenient`). A folder, a device, an
/// empty file or a name that is neither is an error that says which.
pub fn load_policy(arg: &str) -> Result<Policy, ReleaseError> {
    let path = Path::new(arg);
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(std::fs::Metadata::is_file) {
        let text =
            std::fs::read_to_string(path).map_err(|source| ReleaseError::PolicyUnreadable {
                path: path.to_path_buf(),
                source,
            })?;
        if text.trim().is_empty() {
            return Err(ReleaseError::PolicyEmpty {
                path: path.to_path_buf(),
            });
        }
        let mut policy = Policy::parse(&path.display().to_string(), &text)?;
        if let Some(table) = &mut policy.ptable_file {
            // Relative to the policy file, like every path a file names.
            let file = path.parent().unwrap_or(Path::new("")).join(&table.file);
            let text = std::fs::read_to_string(&file).map_err(|source| {
                ReleaseError::PtableUnreadable {
                    path: file.clone(),
                    source,
                }
            })?;
            *table = parse_r_ptable(&file.display().to_string(), &text)?;
            table.file = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        return Ok(policy);
    }
    if let Some(p) = Policy::preset(arg) {
        return Ok(p);
    }
    let path = path.to_path_buf();
    Err(match meta {
        Ok(m) if m.is_dir() => ReleaseError::PolicyIsFolder { path },
        Ok(_) => ReleaseError::PolicyNotAFile { path },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ReleaseError::NoSuchPolicy { path },
        Err(source) => ReleaseError::PolicyUnreadable { path, source },
    })
}

/// The policy file `--policy` names, if it names a file rather than a
/// preset: an input of the run, which no output may be or hold.
pub fn policy_file(arg: &str) -> Option<PathBuf> {
    let path = Path::new(arg);
    path.is_file().then(|| path.to_path_buf())
}

/// A perturbation and the interval of cell keys in `[0, 1)` that get it.
type Interval = (i64, f64, f64);

/// Reads a perturbation table in the R `ptable` package's layout
/// (`create_cnt_ptable(...)@pTable`, written with `write.csv` or `fwrite`):
/// columns `i` (the true count), `v` (the perturbation), `p_int_lb` and
/// `p_int_ub` (the interval of cell keys in `[0, 1)` that get it); `j`, `p`,
/// `type` and a leading row-name column may be there and are not read. Read
/// with the 256 byte cell keys: key `k` gets the perturbation whose interval
/// holds `k/256`, as the package's own lookup does for a cell key of
/// `k/256`. Errors name `file`, the line and the column.
pub fn parse_r_ptable(file: &str, text: &str) -> Result<ImportedPtable, ReleaseError> {
    let err = |line: usize, column: &str, message: String| ReleaseError::Ptable {
        file: file.to_string(),
        line,
        column: column.to_string(),
        message,
    };
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| err(1, "", e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            err(
                1,
                name,
                format!(
                    "no column `{name}` (the R ptable layout has i, j, p, v, p_int_lb, p_int_ub)"
                ),
            )
        })
    };
    let (ci, cv, clb, cub) = (col("i")?, col("v")?, col("p_int_lb")?, col("p_int_ub")?);
    // Per count: its first line, and (perturbation, lower, upper) in file order.
    let mut counts: Vec<(usize, Vec<Interval>)> = Vec::new();
    for (r, record) in reader.records().enumerate() {
        let line = r + 2;
        let record = record.map_err(|e| err(line, "", e.to_string()))?;
        let field = |c: usize, name: &str| {
            record
                .get(c)
                .map(str::trim)
                .ok_or_else(|| err(line, name, "missing".into()))
        };
        let number = |c: usize, name: &str| -> Result<f64, ReleaseError> {
            let f = field(c, name)?;
            f.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| err(line, name, format!("{f:?} is not a number")))
        };
        let i = number(ci, "i")?;
        let v = number(cv, "v")?;
        let (lb, ub) = (number(clb, "p_int_lb")?, number(cub, "p_int_ub")?);
        if i < 0.0 || i.fract() != 0.0 || v.fract() != 0.0 {
            return Err(err(
                line,
                "i",
                "i and v must be whole numbers, i at least 0".into(),
            ));
        }
        let (i, v) = (i as usize, v as i64);
        if i as i64 + v < 0 {
            return Err(err(line, "v", format!("count {i} cannot fall by {}", -v)));
        }
        if !(0.0..=1.0).contains(&lb) || !(lb..=1.0).contains(&ub) {
            return Err(err(
                line,
                "p_int_ub",
                format!("[{lb}, {ub}) is not an interval in [0, 1]"),
            ));
        }
        if i == counts.len() {
            counts.push((line, Vec::new()));
        } else if i + 1 != counts.len() {
            return Err(err(
                line,
                "i",
                format!("the counts must run 0, 1, 2, ... in order, not {i} here"),
            ));
        }
        counts[i].1.push((v, lb, ub));
    }
    if counts.is_empty() {
        return Err(err(1, "", "no rows".into()));
    }
    let mut rows = Vec::with_capacity(counts.len());
    for (i, (line, entries)) in counts.iter().enumerate() {
        let line = *line;
        let mut keys = vec![0u16; entries.len()];
        for k in 0..256u32 {
            let u = f64::from(k) / 256.0;
            let Some(e) = entries.iter().position(|&(_, lb, ub)| lb <= u && u < ub) else {
                return Err(err(
                    line,
                    "p_int_ub",
                    format!("count {i}: no interval holds the cell key {k}/256"),
                ));
            };
            keys[e] += 1;
        }
        let mut row: Vec<(i64, u16)> = entries.iter().map(|e| e.0).zip(keys).collect();
        row.sort_by_key(|e| e.0);
        if i == 0 && row.iter().any(|&(v, n)| v != 0 && n > 0) {
            return Err(err(line, "v", "a count of 0 must stay 0".into()));
        }
        rows.push(row);
    }
    Ok(ImportedPtable {
        file: file.to_string(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_a_file_and_every_wrong_kind_of_policy() {
        assert_eq!(load_policy("acro").unwrap().preset, "acro");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.toml");
        std::fs::write(&file, "preset = \"abs\"\nthreshold = 7\n").unwrap();
        let arg = file.to_str().unwrap();
        assert_eq!(load_policy(arg).unwrap().threshold, 7);
        assert_eq!(policy_file(arg), Some(file.clone()));
        assert_eq!(policy_file("acro"), None);

        std::fs::write(&file, " \n").unwrap();
        let empty = load_policy(arg).unwrap_err();
        assert!(matches!(empty, ReleaseError::PolicyEmpty { .. }), "{empty}");
        assert_eq!(
            empty.to_string(),
            format!(
                "{arg}: the policy file is empty (it must name at least a preset: acro, abs, lenient)"
            )
        );
        let folder = load_policy(dir.path().to_str().unwrap()).unwrap_err();
        assert!(
            matches!(folder, ReleaseError::PolicyIsFolder { .. }),
            "{folder}"
        );
        let missing = load_policy("acrp").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "acrp: no such policy file, and not a preset (acro, abs, lenient)"
        );
    }

    /// A table in the R `ptable` package's layout, as `write.csv` writes it
    /// (a row-name column, quoted names).
    const R_PTABLE: &str = "\"\",\"i\",\"j\",\"p\",\"v\",\"p_int_lb\",\"p_int_ub\",\"type\"
\"1\",0,0,1,0,0,1,\"all\"
\"2\",1,0,0.3,-1,0,0.3,\"all\"
\"3\",1,1,0.4,0,0.3,0.7,\"all\"
\"4\",1,2,0.3,1,0.7,1,\"all\"
\"5\",2,1,0.25,-1,0,0.25,\"all\"
\"6\",2,2,0.5,0,0.25,0.75,\"all\"
\"7\",2,3,0.25,1,0.75,1,\"all\"
";

    #[test]
    fn an_r_ptable_is_read_with_256_cell_keys() {
        let t = parse_r_ptable("r.csv", R_PTABLE).unwrap();
        // Key k gets the interval holding k/256: 77 keys below 0.3, 103 up to 0.7.
        assert_eq!(t.rows[1], vec![(-1, 77), (0, 103), (1, 76)]);
        assert_eq!(t.rows[2], vec![(-1, 64), (0, 128), (1, 64)]);
        let p = reglink_protect::perturb::cell_key::PTable::imported(&t);
        assert_eq!(p.perturbation(1, 76, 0), -1);
        assert_eq!(p.perturbation(1, 77, 0), 0);
        assert_eq!(p.perturbation(1, 180, 0), 1);
        // The last count stands for every larger one.
        assert_eq!(p.perturbation(500, 63, 0), -1);
        assert_eq!(p.perturbation(500, 64, 0), 0);
        assert!(p.to_csv().contains("\n2+,-1,0.25000000\n"));
        // Semicolons, as European locales write it, without the extra columns.
        let semi = "i;v;p_int_lb;p_int_ub\n0;0;0;1\n1;-1;0;0.5\n1;1;0.5;1\n";
        let t = parse_r_ptable("semi.csv", semi).unwrap();
        assert_eq!(t.rows[1], vec![(-1, 128), (1, 128)]);
    }

    #[test]
    fn a_wrong_r_ptable_is_refused_naming_the_line_and_column() {
        for (text, says) in [
            ("i,v,p_int_lb\n0,0,0\n", "line 1, column `p_int_ub`"),
            (
                "i,v,p_int_lb,p_int_ub\n0,0,0,1\n2,0,0,1\n",
                "line 3, column `i`",
            ),
            (
                "i,v,p_int_lb,p_int_ub\n0,0,0,1\n1,-2,0,1\n",
                "line 3, column `v`",
            ),
            (
                "i,v,p_int_lb,p_int_ub\n0,0,0,1\n1,0,0,0.5\n",
                "line 3, column `p_int_ub`: count 1: no interval holds the cell key 128/256",
            ),
            (
                "i,v,p_int_lb,p_int_ub\n0,0,0,1\n1,x,0,1\n",
                "line 3, column `v`: \"x\" is not a number",
            ),
            (
                "i,v,p_int_lb,p_int_ub\n0,1,0,1\n",
                "a count of 0 must stay 0",
            ),
        ] {
            let e = parse_r_ptable("p.csv", text).unwrap_err().to_string();
            assert!(
                e.starts_with("p.csv: ") && e.contains(says),
                "{text:?}: {e}"
            );
        }
    }
}
