//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// reglink links Swedish register extracts on secret-keyed pseudonyms of the
/// personnummer and releases only aggregate tables that pass disclosure control.
#[derive(Debug, Parser)]
#[command(
    name = "reglink",
    bin_name = "reglink",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Print only errors, warnings that need action (a high share of rejected
    /// rows; the number of other warnings and where they are listed) and the
    /// last line saying where the output went. `key`, `inspect` and `verify`
    /// print their result as without it.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown under `reglink --help` (and in the README).
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    `verify`: the bundle does not match its manifest or signature;
       `audit`: a check failed
  2    error: bad arguments or input, a file that cannot be read or written
  3    ran, but produced no usable output: every row rejected, no rows, or a
       source without a usable row (the output is written; --allow-empty
       makes this a success)
  101  internal error: a bug in reglink
  130  interrupted (Ctrl-C or a termination signal); temporary files removed";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded example study end to end on synthetic data.
    ///
    /// Generates synthetic registers (`--preset`), creates a key, pseudonymises
    /// the three extracts with the crosswalk, links and tabulates the example
    /// study, protects it under ACRO's defaults and writes the release bundle
    /// (`OUT/release`), printing one table as released.
    Example(ExampleArgs),
    /// Create or inspect master key files.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Replace the personnummer column of an extract by keyed pseudonyms.
    ///
    /// Reads CSV or Parquet in bounded memory and writes Parquet, plus a reject
    /// report beside it (`eb.rejects.json` for `--out eb.parquet`) with counts
    /// per reason and the row numbers of rejected rows, never their values.
    /// Every input row is either written or counted as rejected. Warns when
    /// more than 5 % of the rows are rejected; exits with 3 when every row is
    /// rejected or there are none, unless --allow-empty.
    Pseudonymise(PseudonymiseArgs),
    /// Link pseudonymised extracts as a study file describes and tabulate its tables.
    ///
    /// Writes, into --out, one cell table per study table (`cells/NAME.parquet`
    /// and `cells/NAME.json`), `linkage-report.json` (rows read, used, rejected,
    /// duplicates, persons matched across sources, unknown codes, match rates
    /// by municipality and year) and `link.json` (the inputs' fingerprints and
    /// key id). Only aggregates are written. See docs/study-file.md.
    Link(LinkArgs),
    /// Link one part of the persons cut out by a distributed engine (what
    /// each task of `reglink link --engine spark` runs).
    #[command(hide = true)]
    LinkPart(LinkPartArgs),
    /// Link, tabulate, protect and release: the whole job for one study.
    ///
    /// Links the pseudonymised extracts as `reglink link` does, applies the
    /// disclosure policy (primary rules, then secondary suppression verified
    /// with the attacker's linear program, or rounding, or the cell key
    /// method) to all tables together, and writes the release bundle into
    /// --out: tables as CSV (`..` where suppressed, a flag per value) and
    /// Parquet, a description of each table, `summary.md`, and
    /// `manifest.json` with the policy, the study file's and inputs' hashes,
    /// the key id and the hash of every file. No row, pseudonym or
    /// unprotected count is written. See docs/disclosure-control.md.
    Run(RunArgs),
    /// Check a release bundle against its manifest and its signature.
    ///
    /// Recomputes the BLAKE3 hash of every file the manifest lists and
    /// reports files missing, changed or not listed, and a manifest or table
    /// that contradicts the tables' descriptions (other tables, another
    /// policy, other columns, rows or flag counts).
    /// With --public-key the manifest must carry that key's valid signature;
    /// without it, says whether the bundle is signed and by which key.
    /// Exits non-zero on any problem.
    Verify(VerifyArgs),
    /// Check a release bundle's disclosure rules from the bundle alone.
    ///
    /// Needs no microdata and no key, and shares no code with the engine
    /// that chose what to suppress. Per table it checks the files against
    /// the manifest (as `verify`), the flags, every published value against
    /// the policy's rules, shares against their counts, every margin whose
    /// terms are all published, and, from the equations of every table of a
    /// population, the attacker's interval of every suppressed count. Each
    /// check ends pass, review (the bundle alone cannot decide it) or fail,
    /// with the reason and the cells concerned. Exits non-zero on any failure.
    Audit(AuditArgs),
    /// Turn a release bundle into what spreadsheets open.
    ///
    /// Checks the bundle as `verify` does, then writes into --out an Excel
    /// workbook (`release.xlsx`: a sheet per table with numbers as numbers
    /// and `..` where suppressed, a sheet on the release and its policy, a
    /// sheet of flags) and the tables for Swedish Excel (`csv-sv/NAME.csv`:
    /// `;`, decimal comma, byte order mark). Reads only the bundle's
    /// published files, so the export holds nothing the bundle does not.
    Export(ExportArgs),
    /// Show or check a release ledger (`reglink run --ledger DIR`).
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Three-party pseudonymisation, a source's step (no shared key).
    ///
    /// For agencies that must not hold a key to each other's data: the
    /// extract's rows, with a throw-away token in place of the number, go to
    /// the linker (`--out`); each distinct person, encrypted to the linker's
    /// public key and signed with the source's signing key, goes to the key
    /// holder (`--batch`). See docs/three-party.md.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Three-party pseudonymisation, the key holder's step and its log.
    #[command(subcommand)]
    Keyholder(KeyholderCommand),
    /// Three-party pseudonymisation, the linker's step: pseudonymised Parquet
    /// that `link` and `run` read.
    #[command(subcommand)]
    Linker(LinkerCommand),
    /// Write synthetic EB, AF and LISA-style extracts, a crosswalk and code lists.
    Synth(SynthArgs),
    /// Describe a pseudonymised Parquet file: rows, columns, distinct persons.
    Inspect(InspectArgs),
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// List the releases a ledger holds, and its head (the last entry's hash).
    Show {
        /// The ledger folder.
        ledger: PathBuf,
    },
    /// Check a ledger: every entry links to the one before by its hash, and
    /// every bundle copy matches its manifest and the entry. Exits non-zero
    /// on any problem.
    Verify {
        /// The ledger folder.
        ledger: PathBuf,
        /// The data holder's public signing key: every entry and bundle must
        /// carry that key's valid signature.
        #[arg(long, value_name = "PUB")]
        public_key: Option<PathBuf>,
        /// The head you were given (`reglink ledger show`): the last entry
        /// must have this hash, so that a ledger cut short is noticed.
        #[arg(long)]
        head: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Write the rows for the linker and the signed batch for the key holder.
    ///
    /// Rows are parsed, rejected and counted as `pseudonymise` does (a reject
    /// report beside --out). Nothing written leads back to a personnummer:
    /// the tokens are keyed by random bits that exist only while the command
    /// runs, and the batch holds ciphertexts only.
    Encrypt(SourceEncryptArgs),
}

#[derive(Debug, Args)]
pub struct SourceEncryptArgs {
    /// The raw extract, CSV or Parquet.
    #[arg(long = "in", value_name = "EXTRACT")]
    pub input: PathBuf,
    /// The column holding the personnummer.
    #[arg(long)]
    pub id_column: String,
    /// The study name, as the key holder's configuration has it.
    #[arg(long)]
    pub study: String,
    /// This source's name, as the key holder's configuration has it.
    #[arg(long)]
    pub source: String,
    /// The linker's public key (`reglink key new-linker`).
    #[arg(long, value_name = "PUB")]
    pub linker_public: PathBuf,
    /// The key holder's public key (`reglink key new-keyholder`): persons are
    /// encrypted to the linker's and the key holder's keys together, so that
    /// neither can open the batch alone.
    #[arg(long, value_name = "PUB")]
    pub keyholder_public: PathBuf,
    /// This source's signing key (`reglink key new-signing`); the key holder has its public half.
    #[arg(long, value_name = "KEY")]
    pub sign: PathBuf,
    /// The rows for the linker (Parquet).
    #[arg(long)]
    pub out: PathBuf,
    /// The batch for the key holder.
    #[arg(long)]
    pub batch: PathBuf,
    /// Number changes (CSV with columns `old`, `new`), applied before encrypting.
    #[arg(long)]
    pub crosswalk: Option<PathBuf>,
    /// Add birth_year, birth_month and sex derived from the number.
    #[arg(long)]
    pub derive: bool,
    /// The date the extract was taken (YYYY-MM-DD). Defaults to today.
    #[arg(long)]
    pub reference_date: Option<String>,
    /// Exit with 0, not 3, when every row is rejected or the extract has no rows.
    #[arg(long)]
    pub allow_empty: bool,
    /// Print one JSON object summarising the result on stdout instead of the text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyholderCommand {
    /// Check a source's batch and rekey it for the linker.
    ///
    /// Refuses (writing nothing) a batch not signed by a source the
    /// configuration lists for its study, encrypted to another linker, or
    /// over the source's quota. Otherwise writes --out and appends an entry
    /// to the log (both or neither).
    Transcrypt {
        /// The source's batch.
        batch: PathBuf,
        /// The key holder's key (`reglink key new-keyholder`).
        #[arg(long)]
        key: PathBuf,
        /// The key holder's configuration: log, studies, their linker, sources and quotas.
        #[arg(long)]
        config: PathBuf,
        /// The batch for the linker.
        #[arg(long)]
        out: PathBuf,
        /// Print one JSON object summarising the result on stdout instead of the text.
        #[arg(long)]
        json: bool,
    },
    /// Show and check the key holder's log: every accepted batch, chained by hashes.
    ///
    /// Exits non-zero if an entry was edited, removed or reordered.
    Log {
        /// The key holder's configuration (names the log).
        #[arg(long)]
        config: PathBuf,
        /// The head you noted earlier: the last entry must have this hash, so
        /// that a log cut short is noticed.
        #[arg(long)]
        head: Option<String>,
        /// The key holder's public key: every entry must carry its signature.
        #[arg(long, value_name = "PUB")]
        public_key: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkerCommand {
    /// Open the key holder's batch and write the source's rows pseudonymised.
    Open {
        /// The source's rows (`reglink source encrypt --out`).
        #[arg(long)]
        rows: PathBuf,
        /// The key holder's output for the same batch.
        #[arg(long)]
        batch: PathBuf,
        /// The linker's key (`reglink key new-linker`).
        #[arg(long)]
        key: PathBuf,
        /// The key holder's public key (`reglink key new-keyholder`, KEY.pub).
        #[arg(long, value_name = "PUB")]
        keyholder_public: PathBuf,
        /// The pseudonymised Parquet file to write.
        #[arg(long)]
        out: PathBuf,
        /// Print one JSON object summarising the result on stdout instead of the text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a new 256-bit master key in a file with mode 0600.
    ///
    /// Prints the key id (a fingerprint), never the key. Refuses to overwrite.
    New {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a release-signing key pair: KEY (private, mode 0600) and KEY.pub.
    ///
    /// `reglink run --sign KEY` signs a release with it; hand KEY.pub (and
    /// the fingerprint printed, `rs-` and 32 hex digits) to auditors, who
    /// check releases with `reglink verify --public-key KEY.pub`. Refuses to
    /// overwrite either file.
    NewSigning {
        /// Where to write the private key; the public key goes beside it
        /// with `.pub` appended.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create the three-party key holder's key: KEY (mode 0600) and KEY.pub.
    ///
    /// KEY.pub holds the key that signs the key holder's output and its share
    /// of the key sources encrypt to; hand it to the linker and to every
    /// source, with the fingerprint printed (`rh-` and 32 hex digits).
    /// Refuses to overwrite either file.
    NewKeyholder {
        /// Where to write the key; the public key goes beside it with `.pub` appended.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create the three-party linker's key: KEY (mode 0600) and KEY.pub.
    ///
    /// KEY.pub is what sources encrypt to; hand it to every source and to
    /// the key holder, with the fingerprint printed (`rl-` and 32 hex digits)
    /// to compare over the phone. Refuses to overwrite either file.
    NewLinker {
        /// Where to write the key; the public key goes beside it with `.pub` appended.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the id of an existing key file.
    Id {
        /// The key file.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct PseudonymiseArgs {
    /// The master key file (mode 0600).
    #[arg(long)]
    pub key: PathBuf,
    /// The study name; the same person gets unrelated pseudonyms in two studies.
    #[arg(long)]
    pub study: String,
    /// The column holding the personnummer.
    #[arg(long)]
    pub id_column: String,
    /// The raw extract, CSV or Parquet.
    #[arg(long = "in", value_name = "EXTRACT")]
    pub input: PathBuf,
    /// The Parquet file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Number changes (CSV with columns `old`, `new`), applied before hashing.
    #[arg(long)]
    pub crosswalk: Option<PathBuf>,
    /// Add birth_year, birth_month and sex derived from the number.
    #[arg(long)]
    pub derive: bool,
    /// The date the extract was taken (YYYY-MM-DD); places 10-digit numbers
    /// in a century. Defaults to today.
    #[arg(long)]
    pub reference_date: Option<String>,
    /// Rows per batch.
    #[arg(long, default_value_t = 65536)]
    pub batch_size: usize,
    /// Decode and re-encode every column of a Parquet extract, instead of
    /// keeping the encoded pages of the columns other than the id. The output
    /// holds the same values either way; this is for comparing the two.
    #[arg(long)]
    pub reencode: bool,
    /// Exit with 0, not 3, when every row is rejected or the extract has no rows.
    #[arg(long)]
    pub allow_empty: bool,
    /// Replace `--out` (and its reject report) if it already exists. Without
    /// it an existing output is an error and nothing is written.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object summarising the result on stdout instead of
    /// the text (for scripts; warnings and errors still go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Size of the synthetic country: tiny (~3 k people), municipality (~165 k), national (~10.5 M).
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 2023)]
    pub seed: u64,
    /// Directory to write into.
    #[arg(long)]
    pub out: PathBuf,
    /// csv or parquet.
    #[arg(long, default_value = "csv")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The study file (TOML).
    pub study: PathBuf,
    /// Directory to write the cell tables and the linkage report into.
    #[arg(long)]
    pub out: PathBuf,
    /// Exit with 0, not 3, when a source has no usable row.
    #[arg(long)]
    pub allow_empty: bool,
    /// Source rows held in memory at once. Sources with more rows in all
    /// are read once into a private scratch folder (about as large as the
    /// rows, uncompressed; removed at the end) and linked a group of
    /// persons at a time, with the same result.
    #[arg(long, value_name = "ROWS", default_value_t = reglink_link::study::DEFAULT_ROWS_IN_MEMORY,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rows_in_memory: u64,
    /// Where to make the scratch folder of --rows-in-memory (default:
    /// beside the first source's file). It holds pseudonymised rows: use a
    /// folder as protected as the extracts.
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Print one JSON object summarising the result on stdout instead of
    /// the text (for scripts; warnings and errors still go to stderr).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Where to link, for `link` and `run`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Where to link: on this machine, or on an Apache Spark cluster
    /// (spark-submit must be installed; see docs/distributed.md). The cell
    /// tables and the report are the same either way.
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    /// The Spark master to submit to (with --engine spark), as spark-submit
    /// takes it: `spark://HOST:7077`, `yarn`, `local[4]`.
    #[arg(long, value_name = "URL", default_value = "local[2]")]
    pub spark_master: String,
    /// The spark-submit program (with --engine spark).
    #[arg(long, value_name = "PATH", default_value = "spark-submit")]
    pub spark_submit: PathBuf,
    /// Parts the persons are cut into on Spark (with --engine spark): each
    /// is linked by one task, in that task's memory.
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub parts: u32,
    /// A Spark setting for the job (with --engine spark), passed to
    /// spark-submit as `--conf KEY=VALUE`; repeat for more. reglink turns on
    /// `spark.io.encryption.enabled` (the shuffle files hold pseudonymised
    /// rows) unless this sets it.
    #[arg(long, value_name = "KEY=VALUE")]
    pub spark_conf: Vec<String>,
}

/// Where `reglink link` links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// This machine (in bounded memory when the sources are large).
    Local,
    /// An Apache Spark cluster, through spark-submit.
    Spark,
}

/// `reglink link-part`: what a Spark task runs (not for people).
#[derive(Debug, Args)]
pub struct LinkPartArgs {
    /// The study file (TOML).
    pub study: PathBuf,
    /// The part's folder: a Parquet file per source, cut by the engine.
    #[arg(long)]
    pub part: PathBuf,
    /// Where to write the part's result (a new file).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The study file (TOML).
    pub study: PathBuf,
    /// The disclosure policy: a policy file (TOML) or a preset name (acro, abs, lenient).
    #[arg(long)]
    pub policy: String,
    /// Directory to write the release bundle into.
    #[arg(long)]
    pub out: PathBuf,
    /// Exit with 0, not 3, when a source has no usable row.
    #[arg(long)]
    pub allow_empty: bool,
    /// Sign the release's manifest with this private signing key (mode
    /// 0600, from `reglink key new-signing`). The manifest lists every file
    /// with its hash, so the signature covers the whole bundle; auditors
    /// check it with `reglink verify BUNDLE --public-key KEY.pub`.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// The release ledger. Every count an earlier release in it hid stays
    /// hidden when the earlier release counts the same people (the same
    /// input files under the same keys); the release is audited together
    /// with those releases (a failure publishes nothing), then added to the
    /// ledger (signed with --sign). Created if missing; see
    /// docs/disclosure-control.md, "Releases over time".
    #[arg(long, value_name = "DIR")]
    pub ledger: Option<PathBuf>,
    /// Source rows held in memory at once. Sources with more rows in all
    /// are read once into a private scratch folder (about as large as the
    /// rows, uncompressed; removed at the end) and linked a group of
    /// persons at a time, with the same result.
    #[arg(long, value_name = "ROWS", default_value_t = reglink_link::study::DEFAULT_ROWS_IN_MEMORY,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rows_in_memory: u64,
    /// Where to make the scratch folder of --rows-in-memory (default:
    /// beside the first source's file). It holds pseudonymised rows: use a
    /// folder as protected as the extracts.
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Print one JSON object summarising the result on stdout instead of
    /// the text (for scripts; warnings and errors still go to stderr).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The release bundle (a directory with manifest.json).
    pub bundle: PathBuf,
    /// The data holder's public signing key (`NAME.pub` from `reglink key
    /// new-signing`): the bundle must carry that key's valid signature over
    /// its manifest. Without it a signature is reported, not checked.
    #[arg(long, value_name = "PUB")]
    pub public_key: Option<PathBuf>,
    /// Print one JSON object summarising the result on stdout instead of
    /// the text (for scripts; warnings and errors still go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The release bundle (a directory with manifest.json).
    pub bundle: PathBuf,
    /// The folder to write (new, or an earlier export, which is replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// The data holder's public signing key: the bundle must carry that
    /// key's valid signature, as for `verify`.
    #[arg(long, value_name = "PUB")]
    pub public_key: Option<PathBuf>,
    /// Print one JSON object summarising the result on stdout instead of
    /// the text (for scripts; warnings and errors still go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The release bundle (a directory with manifest.json).
    pub bundle: PathBuf,
    /// The data holder's public signing key: the bundle must carry that
    /// key's valid signature, as for `verify`.
    #[arg(long, value_name = "PUB")]
    pub public_key: Option<PathBuf>,
    /// Print the whole report as one JSON object, every cell included.
    #[arg(long)]
    pub json: bool,
    /// A release ledger: audit the bundle together with every earlier
    /// release in it that counts the same registers under the same key.
    #[arg(long, value_name = "DIR")]
    pub ledger: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Parquet file written by `reglink pseudonymise`.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExampleArgs {
    /// Directory for the example's files.
    #[arg(long, default_value = "reglink-example")]
    pub out: PathBuf,
    /// Seed of the synthetic registers.
    #[arg(long, default_value_t = 2023)]
    pub seed: u64,
    /// Size of the synthetic registers: `municipality` (a city of 165,000
    /// and two small municipalities, 11,000 people on EB; a few seconds),
    /// `tiny` (about 3,000 people: too few to publish most tables under a
    /// threshold of 10) or `national` (all of Sweden's size; minutes).
    #[arg(long, default_value = "municipality", value_parser = ["tiny", "municipality", "national"])]
    pub preset: String,
}

impl LinkArgs {
    /// What `--rows-in-memory` and `--scratch` say.
    pub fn memory(&self) -> reglink_link::study::Memory {
        reglink_link::study::Memory {
            rows: self.rows_in_memory,
            scratch: self.scratch.clone(),
        }
    }
}

impl RunArgs {
    /// What `--rows-in-memory` and `--scratch` say.
    pub fn memory(&self) -> reglink_link::study::Memory {
        reglink_link::study::Memory {
            rows: self.rows_in_memory,
            scratch: self.scratch.clone(),
        }
    }
}
