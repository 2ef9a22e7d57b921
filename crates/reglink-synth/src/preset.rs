//! What to generate ([`Preset`]) and how to write it ([`Format`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SynthError;

/// The size and shape of the synthetic country.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// About 3,000 persons in 3 municipalities of 2 counties, with a raised EB
    /// share so that a few dozen EB households exist. For fixtures and unit
    /// tests; generates in milliseconds.
    Tiny,
    /// One mid-size municipality of about 165,000 inhabitants (about 4,000
    /// adult EB recipients) and two small neighbours, so that moves exist.
    Municipality,
    /// About 10.5 million persons in 290 municipalities of the 21 counties.
    National,
}

impl Preset {
    /// The lowercase name used on the command line and in `synth.json`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Municipality => "municipality",
            Preset::National => "national",
        }
    }

    /// Added to the log-odds of a household receiving EB: `tiny` has a
    /// modestly raised EB share so that its few thousand persons still include
    /// a few dozen EB households.
    pub(crate) fn eb_log_odds_shift(self) -> f64 {
        match self {
            Preset::Tiny => 0.55,
            Preset::Municipality | Preset::National => 0.0,
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = SynthError;

    fn from_str(s: &str) -> Result<Preset, SynthError> {
        match s {
            "tiny" => Ok(Preset::Tiny),
            "municipality" => Ok(Preset::Municipality),
            "national" => Ok(Preset::National),
            other => Err(SynthError::UnknownPreset(other.to_owned())),
        }
    }
}

/// The file format of the register extracts (`crosswalk.csv`, the code lists
/// and `synth.json` are always text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated text with a header row; dates `YYYY-MM-DD`, null as an
    /// empty field.
    Csv,
    /// Snappy-compressed Parquet with typed columns, row groups of about a
    /// million rows.
    Parquet,
}

impl Format {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = SynthError;

    fn from_str(s: &str) -> Result<Format, SynthError> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            other => Err(SynthError::UnknownFormat(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for preset in [Preset::Tiny, Preset::Municipality, Preset::National] {
            assert_eq!(preset.to_string().parse::<Preset>().unwrap(), preset);
        }
        for format in [Format::Csv, Format::Parquet] {
            assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(matches!(
            "Tiny".parse::<Preset>(),
            Err(SynthError::UnknownPreset(name)) if name == "Tiny"
        ));
        assert!(matches!(
            "xlsx".parse::<Format>(),
            Err(SynthError::UnknownFormat(_))
        ));
    }
}
