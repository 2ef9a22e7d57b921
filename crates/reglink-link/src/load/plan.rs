//! What to read from one source, decided before any row is read: the file's
//! pseudonymised schema checked, every mapped column found with a usable
//! type, and the projection and column layout the row-group readers share.

use std::fs::File;
use std::sync::Arc;

use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::errors::ParquetError;
use reglink_extract::pseudonymised::{self, SchemaProblem};
use reglink_extract::{ExtractError, Format};

use super::col::Col;
use super::{month_first_day, want_of};
use crate::LinkError;
use crate::study::{Concept, Source, SourceKind, Study};

/// Where a batch's columns are (indices into the projected batch), and the
/// study period: what every row-group reader of a source shares.
pub(crate) struct Layout {
    pub kind: SourceKind,
    pub pseudonym: usize,
    pub record_key: usize,
    /// Birth year and sex, when the file has both.
    pub birth: Option<(usize, usize)>,
    /// The needed concepts and their columns.
    pub mapped: Vec<(Concept, usize)>,
    pub first_month: i32,
    pub last_month: i32,
    /// First and last day of the period, for AF spells.
    pub first_day: i32,
    pub last_day: i32,
    /// The EB role codes of applicant, co-applicant and child.
    pub roles: [String; 3],
    /// The column of [`ROW_COLUMN`], in a part of a source cut out by a
    /// distributed engine: each row's 0-based row in the source's file.
    pub row: Option<usize>,
}

/// The column a distributed engine adds to the part of a source it hands
/// a worker: the row's 0-based index in the source's own file, so that
/// rejected rows are named by their row in that file.
pub const ROW_COLUMN: &str = "__reglink_row";

impl Layout {
    /// The projected column of `concept`, if it is read.
    pub fn column(&self, concept: Concept) -> Option<usize> {
        self.mapped
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, i)| *i)
    }

    /// Whether a row at `time` (ending at `end` for AF) lies in the study period.
    pub fn inside(&self, time: i32, end: i32) -> bool {
        match self.kind {
            SourceKind::Eb => (self.first_month..=self.last_month).contains(&time),
            SourceKind::Af => time <= self.last_day && end >= self.first_day,
            SourceKind::Lisa => {
                (self.first_month.div_euclid(12)..=self.last_month.div_euclid(12)).contains(&time)
            }
        }
    }
}

/// Everything needed to read a source's row groups.
pub(crate) struct Plan {
    pub layout: Layout,
    /// The root columns to read.
    pub mask: ProjectionMask,
    /// The schema to read with: the file's, with text code columns as dictionaries.
    pub read_schema: SchemaRef,
    /// The 1-based number of each row group's first row.
    pub first_rows: Vec<u64>,
    /// Rows in the file.
    pub rows: u64,
    pub key_id: String,
    pub pseudonym_study: String,
}

/// Opens the source, checks its schema and decides what to read.
pub(crate) fn plan(study: &Study, source_id: usize) -> Result<Plan, LinkError> {
    let source = &study.sources[source_id];
    let builder = parquet_reader(source)?;
    let schema = builder.schema().clone();
    let file = check_pseudonymised(source, &schema)?;
    let mapped = mapped_columns(source, &schema, &study.needed_concepts(source_id))?;
    let birth = file.birth_year.zip(file.sex);
    let row = schema.index_of(ROW_COLUMN).ok();
    if let Some(r) = row
        && schema.field(r).data_type() != &DataType::Int64
    {
        return Err(not_pseudonymised(
            source,
            "has a `__reglink_row` column that is not a 64-bit integer",
        ));
    }

    let mut roots: Vec<usize> = vec![file.pseudonym, file.record_key];
    roots.extend(row);
    if let Some((b, s)) = birth {
        roots.extend([b, s]);
    }
    roots.extend(mapped.iter().map(|(_, i)| *i));
    roots.sort_unstable();
    roots.dedup();
    let projected = |field: usize| {
        roots
            .binary_search(&field)
            .unwrap_or_else(|_| unreachable!("projected"))
    };

    let mut first_rows = Vec::with_capacity(builder.metadata().num_row_groups());
    let mut next = 1u64;
    for rg in builder.metadata().row_groups() {
        first_rows.push(next);
        next += rg.num_rows() as u64;
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let layout = Layout {
        kind: source.kind,
        pseudonym: projected(file.pseudonym),
        record_key: projected(file.record_key),
        birth: birth.map(|(b, s)| (projected(b), projected(s))),
        mapped: mapped.iter().map(|(c, i)| (*c, projected(*i))).collect(),
        first_month: study.first_month,
        last_month: study.last_month,
        first_day: month_first_day(study.first_month),
        last_day: month_first_day(study.last_month + 1) - 1,
        roles: [
            source.roles.applicant.clone(),
            source.roles.co_applicant.clone(),
            source.roles.child.clone(),
        ],
        row: row.map(projected),
    };
    Ok(Plan {
        layout,
        mask,
        read_schema: codes_as_dictionaries(&schema, &mapped),
        first_rows,
        rows: next - 1,
        key_id: file.key_id,
        pseudonym_study: file.study,
    })
}

/// Opens the source's file, naming the source in the error.
pub(super) fn open(source: &Source) -> Result<File, LinkError> {
    File::open(&source.path).map_err(|e| LinkError::Extract {
        source_name: source.name.clone(),
        error: ExtractError::Io {
            path: source.path.clone(),
            source: e,
        },
    })
}

/// [`LinkError::Parquet`] for `source`.
pub(super) fn parquet_error(source: &Source, error: ParquetError) -> LinkError {
    LinkError::Parquet {
        source_name: source.name.clone(),
        path: source.path.clone(),
        error,
    }
}

/// [`LinkError::Arrow`] for `source`.
pub(super) fn arrow_error(source: &Source, error: ArrowError) -> LinkError {
    LinkError::Arrow {
        source_name: source.name.clone(),
        path: source.path.clone(),
        error,
    }
}

/// [`LinkError::NotPseudonymised`] for `source`.
fn not_pseudonymised(source: &Source, message: &str) -> LinkError {
    LinkError::NotPseudonymised {
        source_name: source.name.clone(),
        path: source.path.clone(),
        message: message.to_string(),
    }
}

/// A Parquet reader of the source; a file of another format is not pseudonymised.
fn parquet_reader(source: &Source) -> Result<ParquetRecordBatchReaderBuilder<File>, LinkError> {
    if Format::detect(&source.path).ok() != Some(Format::Parquet) {
        // Missing files are reported as such, not as "not Parquet".
        open(source)?;
        return Err(not_pseudonymised(source, "is not a Parquet file"));
    }
    ParquetRecordBatchReaderBuilder::try_new(open(source)?).map_err(|e| parquet_error(source, e))
}

/// The pseudonym, record key, birth columns, key id and study of the file.
fn check_pseudonymised(
    source: &Source,
    schema: &Schema,
) -> Result<pseudonymised::Layout, LinkError> {
    pseudonymised::check(&source.path, schema).map_err(|e| match e {
        ExtractError::NotPseudonymised { problem, .. } => {
            not_pseudonymised(source, not_pseudonymised_message(&problem))
        }
        other => LinkError::Extract {
            source_name: source.name.clone(),
            error: other,
        },
    })
}

/// How `link` words a schema problem.
fn not_pseudonymised_message(problem: &SchemaProblem) -> &'static str {
    match problem {
        SchemaProblem::MissingMetadata { .. } => "has no key id in its metadata",
        SchemaProblem::MissingColumn { column } | SchemaProblem::ColumnType { column, .. }
            if *column == pseudonymised::RECORD_KEY =>
        {
            "has no record_key column"
        }
        _ => "has no 16-byte pseudonym column",
    }
}

/// Finds every mapped column and checks its type; returns the needed ones
/// (concept and schema index), in the study file's order.
fn mapped_columns(
    source: &Source,
    schema: &Schema,
    needed: &[Concept],
) -> Result<Vec<(Concept, usize)>, LinkError> {
    let mut mapped = Vec::new();
    for (concept, column) in &source.columns {
        let index = schema
            .fields()
            .iter()
            .position(|f| f.name() == column)
            .ok_or_else(|| LinkError::MissingColumn {
                source_name: source.name.clone(),
                path: source.path.clone(),
                concept: concept.name().to_string(),
                column: column.clone(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            })?;
        let want = want_of(*concept);
        let data_type = schema.field(index).data_type();
        if Col::new(&arrow_array::new_empty_array(data_type), want).is_none() {
            return Err(LinkError::ColumnType {
                source_name: source.name.clone(),
                path: source.path.clone(),
                concept: concept.name().to_string(),
                column: column.clone(),
                found: data_type.to_string(),
                expected: want.expected(),
            });
        }
        if needed.contains(concept) {
            mapped.push((*concept, index));
        }
    }
    Ok(mapped)
}

/// The schema to read with: a text column that only code concepts read comes
/// as a dictionary, so a batch's few distinct codes are interned once instead
/// of once per row.
fn codes_as_dictionaries(schema: &Schema, mapped: &[(Concept, usize)]) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (_, index) in mapped {
        let only_codes = mapped
            .iter()
            .filter(|(_, i)| i == index)
            .all(|(c, _)| c.is_code());
        if only_codes && fields[*index].data_type() == &DataType::Utf8 {
            let field = &fields[*index];
            fields[*index] = Field::new(
                field.name(),
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                field.is_nullable(),
            );
        }
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
