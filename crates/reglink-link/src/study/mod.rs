//! The study file: typed, checked, with every reference resolved.
//!
//! [`Study::load`] parses the TOML (unknown keys are errors with the line),
//! reads the code lists it names, and resolves every name a variable,
//! population or table uses, so that linking cannot meet an undefined name.
//! The meaning of each key is documented in `docs/study-file.md`.
//!
//! `raw.rs` mirrors the TOML; `kinds.rs` is the table of variable kinds
//! (name, type, keys, what each reads, its resolve function and evaluator);
//! `resolve.rs` and the files under `resolve/` check the file part by part.

mod kinds;
mod raw;
mod resolve;

use std::path::{Path, PathBuf};

use crate::{CodeList, LinkError};

pub use resolve::line_of;
pub(crate) use resolve::parse_month as resolve_parse_month;

/// Index of a source in [`Study::sources`].
pub type SourceId = usize;
/// Index of a variable in [`Study::variables`].
pub type VarId = usize;
/// Index of a code list in [`Study::codelists`].
pub type CodeListId = usize;

/// A month as `year * 12 + (month - 1)`.
pub type Month = i32;

/// A checked study.
#[derive(Debug, Clone)]
pub struct Study {
    /// The study file.
    pub path: PathBuf,
    /// The study's name.
    pub name: String,
    /// First month of data used.
    pub first_month: Month,
    /// Last month of data used.
    pub last_month: Month,
    /// Code lists.
    pub codelists: Vec<CodeList>,
    /// Sources, at most one of each kind.
    pub sources: Vec<Source>,
    /// Variables: the built-in ones (`year`, `sex`, `age`) first.
    pub variables: Vec<Variable>,
    /// Populations.
    pub populations: Vec<Population>,
    /// Tables in file order.
    pub tables: Vec<Table>,
    /// How much of the sources [`crate::link`] holds in memory at once, and
    /// where it sets the rest aside (not from the study file:
    /// `--rows-in-memory`, `--scratch`).
    pub memory: Memory,
}

/// How much of the sources [`crate::link`] holds in memory at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    /// Source rows held at once. Sources with more rows in all are linked
    /// a group of persons at a time, set aside on disk; the result is the
    /// same.
    pub rows: u64,
    /// Where the scratch folder of set-aside rows is made; `None` beside
    /// the first source's file.
    pub scratch: Option<PathBuf>,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory {
            rows: DEFAULT_ROWS_IN_MEMORY,
            scratch: None,
        }
    }
}

/// [`Memory::rows`] unless the user says otherwise: about 300 MiB
/// of typed columns for the widest source (LISA).
pub const DEFAULT_ROWS_IN_MEMORY: u64 = 4_000_000;

impl Study {
    /// Reads and checks a study file.
    pub fn load(path: impl AsRef<Path>) -> Result<Study, LinkError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LinkError::StudyIo {
            path: path.to_path_buf(),
            source,
        })?;
        Study::parse(path, &text)
    }

    /// Checks a study given as text; `path` is used for messages and to
    /// resolve relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Study, LinkError> {
        resolve::resolve(path, text)
    }

    /// The source of a kind, if the study has one.
    pub fn source_of_kind(&self, kind: SourceKind) -> Option<SourceId> {
        self.sources.iter().position(|s| s.kind == kind)
    }

    /// The variable called `name`.
    pub fn variable(&self, name: &str) -> Option<VarId> {
        self.variables.iter().position(|v| v.name == name)
    }

    /// The mapped columns of source `source` that linking reads: the time
    /// columns, the municipality (for the report), columns with a code list
    /// (their unknown codes are reported), and whatever a variable or measure
    /// uses. Mapped columns nothing uses are not read.
    pub fn needed_concepts(&self, source: SourceId) -> Vec<Concept> {
        let src = &self.sources[source];
        let kind = src.kind;
        // Category and programme take part in the AF duplicate rule.
        let mut want: Vec<Concept> = vec![
            Concept::Month,
            Concept::Start,
            Concept::End,
            Concept::Year,
            Concept::Municipality,
            Concept::Category,
            Concept::Programme,
        ];
        want.extend(src.codelists.iter().map(|(c, _)| *c));
        let mut add = |k: SourceKind, c: Concept| {
            if k == kind {
                want.push(c);
            }
        };
        for v in &self.variables {
            for &(k, c) in &v.reads {
                add(k, c);
            }
        }
        if self
            .tables
            .iter()
            .any(|t| t.measures.iter().any(|m| m.kind == MeasureKind::Households))
        {
            add(SourceKind::Eb, Concept::Household);
        }
        src.columns
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| want.contains(c))
            .collect()
    }

    /// The years the study period touches.
    pub fn years(&self) -> std::ops::RangeInclusive<i32> {
        self.first_month.div_euclid(12)..=self.last_month.div_euclid(12)
    }

    /// The categories variable `v` has in population `population`: its
    /// code list's (with groups), the population's years for `year`, and
    /// `no`/`yes` for a yes/no variable.
    pub fn categories(&self, population: usize, v: VarId) -> Categories {
        let var = &self.variables[v];
        match (&var.kind, &var.categories) {
            (VarKind::Year, _) => crate::link::year_categories(&self.populations[population].years),
            (_, Some(c)) => c.clone(),
            (_, None) => Categories::plain(&["no", "yes"]),
        }
    }
}

/// Which register a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    /// Ekonomiskt bistånd: person, household, month with a payment.
    Eb,
    /// Arbetsförmedlingen: spells.
    Af,
    /// LISA-style yearly file.
    Lisa,
}

impl SourceKind {
    /// The kind as written in study files.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Eb => "eb",
            SourceKind::Af => "af",
            SourceKind::Lisa => "lisa",
        }
    }

    /// The concepts a source of this kind can map, and which are required.
    pub fn concepts(self) -> &'static [(Concept, bool)] {
        use Concept::*;
        match self {
            SourceKind::Eb => &[
                (Month, true),
                (Municipality, true),
                (Household, false),
                (Role, false),
                (Amount, false),
                (Hinder, false),
            ],
            SourceKind::Af => &[
                (Start, true),
                (End, false),
                (Municipality, false),
                (Category, false),
                (Programme, false),
                (Exit, false),
            ],
            SourceKind::Lisa => &[
                (Year, true),
                (Municipality, false),
                (RegionOfBirth, false),
                (Education, false),
                (Employment, false),
                (Earnings, false),
                (DisposableIncome, false),
                (UnemploymentBenefit, false),
            ],
        }
    }
}

/// What a column means to reglink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Concept {
    Month,
    Municipality,
    Household,
    Role,
    Amount,
    Hinder,
    Start,
    End,
    Category,
    Programme,
    Exit,
    Year,
    RegionOfBirth,
    Education,
    Employment,
    Earnings,
    DisposableIncome,
    UnemploymentBenefit,
}

impl Concept {
    /// Every concept.
    pub const ALL: [Concept; 18] = [
        Concept::Month,
        Concept::Municipality,
        Concept::Household,
        Concept::Role,
        Concept::Amount,
        Concept::Hinder,
        Concept::Start,
        Concept::End,
        Concept::Category,
        Concept::Programme,
        Concept::Exit,
        Concept::Year,
        Concept::RegionOfBirth,
        Concept::Education,
        Concept::Employment,
        Concept::Earnings,
        Concept::DisposableIncome,
        Concept::UnemploymentBenefit,
    ];

    /// The concept as written in study files.
    pub fn name(self) -> &'static str {
        match self {
            Concept::Month => "month",
            Concept::Municipality => "municipality",
            Concept::Household => "household",
            Concept::Role => "role",
            Concept::Amount => "amount",
            Concept::Hinder => "hinder",
            Concept::Start => "start",
            Concept::End => "end",
            Concept::Category => "category",
            Concept::Programme => "programme",
            Concept::Exit => "exit",
            Concept::Year => "year",
            Concept::RegionOfBirth => "region_of_birth",
            Concept::Education => "education",
            Concept::Employment => "employment",
            Concept::Earnings => "earnings",
            Concept::DisposableIncome => "disposable_income",
            Concept::UnemploymentBenefit => "unemployment_benefit",
        }
    }

    /// Whether the concept is a code (read as text and looked up in a code list).
    pub fn is_code(self) -> bool {
        matches!(
            self,
            Concept::Municipality
                | Concept::Hinder
                | Concept::Category
                | Concept::Programme
                | Concept::Exit
                | Concept::RegionOfBirth
                | Concept::Education
                | Concept::Employment
        )
    }

    fn parse(s: &str) -> Option<Concept> {
        Concept::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// EB role codes.
#[derive(Debug, Clone)]
pub struct Roles {
    /// The applicant (sökande).
    pub applicant: String,
    /// The co-applicant (medsökande).
    pub co_applicant: String,
    /// A child.
    pub child: String,
}

/// One source extract.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name in the study file.
    pub name: String,
    /// Which register.
    pub kind: SourceKind,
    /// The pseudonymised Parquet file.
    pub path: PathBuf,
    /// Concept -> the extract's column name.
    pub columns: Vec<(Concept, String)>,
    /// Concept -> code list, for code concepts.
    pub codelists: Vec<(Concept, CodeListId)>,
    /// EB role codes.
    pub roles: Roles,
}

impl Source {
    /// The column mapped to `concept`.
    pub fn column(&self, concept: Concept) -> Option<&str> {
        self.columns
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, n)| n.as_str())
    }

    /// The code list of `concept`.
    pub fn codelist(&self, concept: Concept) -> Option<CodeListId> {
        self.codelists
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, l)| *l)
    }
}

/// What values a variable takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    /// One of a fixed list of categories.
    Category,
    /// An integer.
    Number,
    /// Yes or no.
    Bool,
}

/// A variable: built in or defined in the study file.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// How it is computed.
    pub kind: VarKind,
    /// Its type.
    pub ty: VarType,
    /// Its categories, for category variables.
    pub categories: Option<Categories>,
    /// How its value is computed for one person-year (its kind's evaluator).
    pub(crate) eval: crate::derive::Eval,
    /// The mapped columns it reads: (register, concept).
    pub(crate) reads: Vec<(SourceKind, Concept)>,
}

/// The categories of a category variable, with optional groups (the rollup).
#[derive(Debug, Clone, Default)]
pub struct Categories {
    /// Category codes, in order.
    pub codes: Vec<String>,
    /// A label per category.
    pub labels: Vec<String>,
    /// With `rollup`: group index per category.
    pub group_of: Option<Vec<u32>>,
    /// With `rollup`: group codes.
    pub groups: Vec<String>,
}

impl Categories {
    /// Categories whose labels are their codes, without groups.
    pub fn plain(codes: &[&str]) -> Categories {
        Categories {
            codes: codes.iter().map(|s| s.to_string()).collect(),
            labels: codes.iter().map(|s| s.to_string()).collect(),
            group_of: None,
            groups: Vec::new(),
        }
    }
}

/// A numeric band: `lo..=hi`, either end open.
#[derive(Debug, Clone)]
pub struct Band {
    /// Lowest value, inclusive.
    pub lo: Option<i64>,
    /// Highest value, inclusive.
    pub hi: Option<i64>,
}

impl Band {
    /// Whether `v` falls in the band.
    pub fn contains(&self, v: i64) -> bool {
        self.lo.is_none_or(|lo| v >= lo) && self.hi.is_none_or(|hi| v <= hi)
    }
}

/// How a variable is computed: its kind with what its keys resolved to; see
/// `docs/study-file.md` for each. The table of kinds (`study/kinds.rs`) says
/// how each kind is written, resolved and evaluated.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum VarKind {
    Year,
    Sex,
    Age,
    Band {
        of: VarId,
        bands: Vec<Band>,
    },
    Code {
        source: SourceId,
        concept: Concept,
        codelist: CodeListId,
        group_level: bool,
        offset: i32,
    },
    EbMonths,
    LongTerm {
        min_months: u32,
    },
    EbAmount,
    HouseholdType,
    AtAfDuringEb,
    /// The person has a row in a source of this kind within the study period
    /// (the linkage: found in it).
    FoundIn {
        kind: SourceKind,
    },
    AfProgramme {
        /// Programme codes (code-list indices) that count; `None` = any programme.
        codes: Option<Vec<u32>>,
    },
    BenefitGroup,
    AfEntry,
    AfExit {
        within_months: i32,
    },
    AfRegistrationDays,
    DaysToProgramme {
        codes: Option<Vec<u32>>,
    },
    ProgrammeDays {
        codes: Option<Vec<u32>>,
    },
    EbSpellMonths {
        max_gap: i32,
    },
    EbEntry {
        months: i32,
    },
    StatusAfter {
        months: i32,
    },
    LisaValue {
        concept: Concept,
        offset: i32,
    },
    SelfSupporting {
        offset: i32,
        /// Employment codes (code-list indices) that count as employed.
        employed: Vec<u32>,
    },
}

/// Categories of `household_type`.
pub const HOUSEHOLD_TYPES: [&str; 4] = [
    "single_no_children",
    "single_with_children",
    "couple_no_children",
    "couple_with_children",
];
/// Categories of `benefit_group`.
pub const BENEFIT_GROUPS: [&str; 3] = ["eb", "a_kassa", "other"];
/// Categories of `status_after`.
pub const STATUSES: [&str; 4] = ["on_eb", "at_af", "neither", "not_observed"];
/// The code-list group of AF exit codes that chain spells into a registration.
pub const TRANSFER_GROUP: &str = "transfer";

/// A population: the person-years tables count.
#[derive(Debug, Clone)]
pub struct Population {
    /// Its name.
    pub name: String,
    /// Which source defines presence in a year.
    pub source: SourceKind,
    /// The years.
    pub years: Vec<i32>,
    /// Inclusive age range.
    pub age: Option<(i64, i64)>,
    /// Bool variables that must be yes.
    pub require: Vec<VarId>,
    /// Every variable the population's tables and filters need, in an order
    /// where each comes after the variables it is computed from.
    pub needs: Vec<VarId>,
}

/// A table to compute.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its name (file stem of its cell table).
    pub name: String,
    /// A readable title.
    pub title: Option<String>,
    /// Index into [`Study::populations`].
    pub population: usize,
    /// Dimension variables (category or bool).
    pub dimensions: Vec<VarId>,
    /// Measures.
    pub measures: Vec<Measure>,
}

/// A measure of a table.
#[derive(Debug, Clone)]
pub struct Measure {
    /// Its name (prefix of its columns).
    pub name: String,
    /// What it computes.
    pub kind: MeasureKind,
}

/// What a measure computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureKind {
    /// Distinct persons (the contributors).
    Persons,
    /// Distinct households of the contributors.
    Households,
    /// Persons with yes over persons with yes or no.
    Share(VarId),
    /// Sum of a number.
    Sum(VarId),
    /// Sum and mean of a number.
    Mean(VarId),
    /// Median of a number.
    Median(VarId),
}
