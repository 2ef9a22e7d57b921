//! [`ExampleError`]: everything that can end `reglink example`.

use std::path::PathBuf;

use reglink_extract::{ExtractError, Hint, Hinted, OutputError};
use reglink_protect::ProtectError;
use reglink_pseudo::PseudoError;
use reglink_release::ReleaseError;
use reglink_synth::SynthError;

/// Why the example failed. The errors of the stages it calls pass through
/// unchanged (same message, same causes, same hint); the others name the
/// folder concerned and keep the error that caused them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExampleError {
    /// The synthetic registers could not be written.
    #[error("could not generate the synthetic registers")]
    Synth(#[from] SynthError),
    /// The key, the crosswalk or pseudonymising an extract failed.
    #[error(transparent)]
    Pseudo(#[from] PseudoError),
    /// Linking, tabulating or releasing the example study failed.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// The example's policy is wrong.
    #[error(transparent)]
    Policy(#[from] ProtectError),
    /// The example folder was refused, or could not be set aside, put back
    /// or given its manifest.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The study or policy file could not be written, or a pseudonymised
    /// extract could not be read back.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// A folder of the example could not be created.
    #[error("{}: cannot create directory", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Hinted for ExampleError {
    /// A one-line hint for the user, where the error this one passes
    /// through has one. The wrapped errors of transparent variants are not
    /// in the error's source chain themselves, so their hint is passed on
    /// here; a [`ExampleError::Synth`] leaves the hint to its causes.
    fn hint(&self) -> Option<Hint> {
        match self {
            ExampleError::Pseudo(e) => e.hint(),
            ExampleError::Release(e) => e.hint(),
            ExampleError::Output(e) => Hinted::hint(e),
            ExampleError::Extract(e) => e.hint(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_transparent_error_keeps_its_message_causes_and_hint() {
        let missing = ExtractError::MissingColumn {
            path: "cw.csv".into(),
            column: "old".into(),
            available: vec!["from".into(), "to".into()],
        };
        let pseudo = PseudoError::ReadingCrosswalk(Box::new(PseudoError::Extract(missing)));
        let (text, hint) = (pseudo.to_string(), pseudo.hint());
        let cause = pseudo.source().map(ToString::to_string);
        let err = ExampleError::from(pseudo);
        assert_eq!(err.to_string(), text);
        assert_eq!(err.source().map(ToString::to_string), cause);
        assert!(hint.is_some());
        assert_eq!(Hinted::hint(&err), hint);
    }

    #[test]
    fn a_refused_folder_passes_its_hint_on_through_the_release_error_too() {
        let refused = || OutputError::NotOurs {
            out: "/tmp/out".into(),
            command: "reglink example",
            reason: "a file is not in the manifest".into(),
        };
        let expected = Hinted::hint(&refused()).expect("a refused output has a hint");
        assert_eq!(ExampleError::from(refused()).hint(), Some(expected.clone()));
        let through_release = ExampleError::from(ReleaseError::from(refused()));
        assert_eq!(through_release.hint(), Some(expected));
    }

    #[test]
    fn synthetic_registers_say_what_failed_and_keep_the_cause() {
        let io = std::io::Error::other("disk full");
        let err = ExampleError::from(SynthError::Io {
            path: "raw/eb.csv".into(),
            source: io,
        });
        assert_eq!(
            err.to_string(),
            "could not generate the synthetic registers"
        );
        let cause = err.source().expect("the synth error").to_string();
        assert!(cause.starts_with("cannot write raw/eb.csv"), "{cause}");
        assert_eq!(err.hint(), None);
    }
}
