//! [`count_persons`]: how many persons the pseudonymised extracts hold, and
//! how many of the EB file's persons the other two hold. Only counts leave
//! this module; the pseudonyms read to make them do not.

use std::collections::HashSet;
use std::path::Path;

use reglink_pseudo::PseudonymiseReport;

use crate::ExampleError;

/// Distinct persons in the example's pseudonymised extracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonCounts {
    /// Distinct persons in each extract, in the order of the reports given
    /// to [`count_persons`].
    pub per_extract: Vec<usize>,
    /// The EB file's persons found in the AF and LISA files, when the
    /// reports include all three (`eb`, `af`, `lisa`).
    pub eb_overlap: Option<EbOverlap>,
}

/// How many of the EB file's persons the other extracts hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EbOverlap {
    /// Distinct persons in the EB file.
    pub eb: usize,
    /// Of them, how many are in the AF file.
    pub in_af: usize,
    /// Of them, how many are in the LISA file.
    pub in_lisa: usize,
}

/// Reads the pseudonym column of each extract `reports` names as written
/// (`(name, report)`, as [`crate::Step::Pseudonymised`] gives them) and
/// counts distinct persons, per file and across the EB file and the others.
pub fn count_persons(reports: &[(&str, PseudonymiseReport)]) -> Result<PersonCounts, ExampleError> {
    let mut sets = Vec::with_capacity(reports.len());
    for (_, report) in reports {
        sets.push(reglink_extract::pseudonymised::pseudonym_set(Path::new(
            &report.output,
        ))?);
    }
    let named = |name: &str| -> Option<&HashSet<u128>> {
        let i = reports.iter().position(|(n, _)| *n == name)?;
        Some(&sets[i])
    };
    let eb_overlap = match (named("eb"), named("af"), named("lisa")) {
        (Some(eb), Some(af), Some(lisa)) => Some(EbOverlap {
            eb: eb.len(),
            in_af: eb.intersection(af).count(),
            in_lisa: eb.intersection(lisa).count(),
        }),
        _ => None,
    };
    Ok(PersonCounts {
        per_extract: sets.iter().map(HashSet::len).collect(),
        eb_overlap,
    })
}
