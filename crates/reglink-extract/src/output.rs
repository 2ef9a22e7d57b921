//! Output directories that appear whole or not at all, and that never
//! replace anything reglink cannot prove it wrote.
//!
//! A command that writes a directory (`reglink link`, `run`, `synth`,
//! `example`) asks for a [`StagedDir`] before it does any work:
//!
//! 1. [`StagedDir::create`] checks the target first: it must not be, or
//!    contain, any of the run's inputs (extracts, study file, policy, key,
//!    code lists), and if it exists it must be empty or an earlier output of
//!    the same kind that reglink can prove it wrote ([`prove_ours`]): its
//!    manifest parses as reglink's, lists every file in the folder with its
//!    BLAKE3 hash, and every file matches. Anything else is refused before a
//!    minute of work is spent.
//! 2. The command writes everything into a fresh staging directory beside
//!    the target (same file system), registered for removal on a signal.
//! 3. [`StagedDir::commit`] renames the old output aside, proves again that
//!    the set-aside folder is reglink's (it may have changed during the
//!    work), renames the staging directory in, and only then removes the old
//!    one. On any failure the old output is put back.
//!
//! ```
//! use reglink_extract::{OutputKind, StagedDir};
//! # let dir = tempfile::tempdir().unwrap();
//! let kind = OutputKind { command: "reglink demo", output: "demo", manifest: "manifest.json" };
//! let out = dir.path().join("out");
//! let staged = StagedDir::create(&out, &kind, &[]).unwrap();
//! std::fs::write(staged.path().join("table.csv"), "a,b\n").unwrap();
//! reglink_extract::write_manifest(staged.path(), &kind, serde_json::json!({})).unwrap();
//! staged.commit().unwrap();
//! // A second run may replace it: the manifest proves it is reglink's.
//! let again = StagedDir::create(&out, &kind, &[]).unwrap();
//! # drop(again);
//! ```

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::cleanup::{self, Registration};
use crate::fingerprint_file;

/// Which command's output a directory is, and the file that proves it.
#[derive(Debug, Clone, Copy)]
pub struct OutputKind {
    /// The command, as errors name it (`reglink link`).
    pub command: &'static str,
    /// What the folder is (`release`, `checker report`): written into the
    /// manifest as `output`, so that one command never replaces another's
    /// folder even where their manifests share a file name.
    pub output: &'static str,
    /// The manifest's file name at the top of the directory.
    pub manifest: &'static str,
}

/// Why an output was refused or could not be put in place. Messages name
/// paths, never file contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The output would replace or contain one of the run's inputs.
    #[error(
        "{out}: refusing to write the output here: it {relation} {role} ({input}); choose an --out that holds no input"
    )]
    HoldsInput {
        /// The output path.
        out: PathBuf,
        /// `is` or `contains`.
        relation: &'static str,
        /// What the input is (`the study file`, `source eb`).
        role: String,
        /// The input's path.
        input: PathBuf,
    },
    /// The output exists and reglink cannot prove it wrote it.
    #[error("{out}: exists and is not an output of `{command}` that reglink can replace: {reason}")]
    NotOurs {
        /// The output path.
        out: PathBuf,
        /// The command that would write it.
        command: &'static str,
        /// What failed the proof (a file not in the manifest, a changed file, ...).
        reason: String,
    },
    /// An output file exists and the user did not ask to replace it.
    #[error("{path}: already exists; pass --force to replace it")]
    FileExists {
        /// The file.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The path concerned (never a temporary name).
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl OutputError {
    /// A one-line hint for the user, where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            OutputError::NotOurs { .. } => Some(
                "reglink only replaces a folder it wrote itself, unchanged; pass a new --out, or move the folder away yourself",
            ),
            OutputError::HoldsInput { .. } => Some(
                "write outputs to a folder of their own, beside the inputs rather than around them",
            ),
            _ => None,
        }
    }
}

fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> OutputError + 'a {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// `path` made absolute with every existing part resolved (symbolic links,
/// `..`), so that two spellings of one place compare equal; the part that
/// does not exist yet is appended lexically.
pub fn resolved(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    // The longest existing ancestor, canonicalised, then the rest.
    let mut existing = absolute.as_path();
    let mut rest: Vec<Component> = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other.as_os_str()),
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Refuses an output `out` that is, or contains, one of `inputs`
/// (`(role, path)` pairs: `("the study file", path)`).
pub fn check_holds_no_input(out: &Path, inputs: &[(String, PathBuf)]) -> Result<(), OutputError> {
    let target = resolved(out);
    for (role, input) in inputs {
        let input_resolved = resolved(input);
        let relation = if input_resolved == target {
            "is"
        } else if input_resolved.starts_with(&target) {
            "contains"
        } else {
            continue;
        };
        return Err(OutputError::HoldsInput {
            out: out.to_path_buf(),
            relation,
            role: role.clone(),
            input: input.clone(),
        });
    }
    Ok(())
}

/// The first line of a signature file over a manifest (`manifest.json.sig`
/// beside `manifest.json`), as `reglink-keys` writes it.
pub const SIGNATURE_TAG: &str = "reglink-ed25519-signature-v1";

/// The name of the signature file over `kind`'s manifest: the manifest's
/// name with `.sig` appended.
pub fn signature_name(kind: &OutputKind) -> String {
    format!("{}.sig", kind.manifest)
}

/// Whether `path` is a signature file as reglink writes it over a manifest
/// that names its `signer`: small, starting with [`SIGNATURE_TAG`], and
/// naming that signer on its second line. A signature is not listed in the
/// manifest it signs; this is how a folder proves it is ours anyway.
fn is_signature(path: &Path, signer: Option<&str>) -> bool {
    let (Ok(meta), Some(signer)) = (std::fs::symlink_metadata(path), signer) else {
        return false;
    };
    meta.is_file()
        && meta.len() < 1024
        && std::fs::read_to_string(path).is_ok_and(|t| {
            let mut lines = t.lines();
            lines.next() == Some(SIGNATURE_TAG)
                && lines.next() == Some(format!("signer {signer}").as_str())
        })
}

/// Proves that the existing directory `dir` is an unchanged output of
/// `kind`: its manifest parses as reglink's (`tool` names reglink) and lists
/// every file below `dir` (`files`: `path`, `blake3`), each with its hash,
/// but for a signature over the manifest ([`signature_name`]). Empty
/// directories are allowed; symbolic links and unlisted or changed files
/// are not. Returns the reason it is not.
pub fn prove_ours(dir: &Path, kind: &OutputKind) -> Result<(), String> {
    let manifest_path = dir.join(kind.manifest);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|_| format!("it has no readable `{}`", kind.manifest))?;
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| format!("its `{}` is not reglink's", kind.manifest))?;
    let is_reglink = manifest["tool"]
        .as_str()
        .is_some_and(|t| t.starts_with("reglink "));
    let files = manifest["files"].as_array();
    let (true, Some(files)) = (is_reglink, files) else {
        return Err(format!(
            "its `{}` is not a manifest of reglink that lists its files",
            kind.manifest
        ));
    };
    match manifest["output"].as_str() {
        Some(o) if o == kind.output => {}
        Some(o) => return Err(format!("it is a {o}, not a {}", kind.output)),
        None => return Err(format!("its `{}` does not say what it is", kind.manifest)),
    }
    let mut listed: BTreeMap<String, &str> = BTreeMap::new();
    for f in files {
        let (Some(path), Some(hash)) = (f["path"].as_str(), f["blake3"].as_str()) else {
            return Err(format!(
                "its `{}` has a malformed file entry",
                kind.manifest
            ));
        };
        listed.insert(path.to_string(), hash);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|_| format!("{} cannot be read", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|_| format!("{} cannot be read", d.display()))?;
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .expect("below the directory")
                .to_string_lossy()
                .replace('\\', "/");
            let file_type = entry
                .file_type()
                .map_err(|_| format!("{rel} cannot be read"))?;
            if file_type.is_symlink() {
                return Err(format!("{rel} is a symbolic link reglink did not write"));
            }
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            if rel == kind.manifest {
                continue;
            }
            if rel == signature_name(kind) && is_signature(&path, manifest["signing_key"].as_str())
            {
                continue;
            }
            let Some(hash) = listed.get(&rel) else {
                return Err(format!("{rel} is not a file reglink wrote there"));
            };
            let actual = fingerprint_file(&path).map_err(|_| format!("{rel} cannot be read"))?;
            if actual.as_str() != *hash {
                return Err(format!("{rel} has changed since reglink wrote it"));
            }
        }
    }
    Ok(())
}

/// Lists every file below `dir` except the manifest, sorted, as manifest
/// entries: `{"path", "blake3", "bytes"}` with `/` separators.
pub fn file_entries(dir: &Path, kind: &OutputKind) -> Result<Vec<serde_json::Value>, OutputError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d, "cannot read the directory"))? {
            let entry = entry.map_err(io(&d, "cannot read the directory"))?;
            let path = entry.path();
            if entry
                .file_type()
                .map_err(io(&path, "cannot read"))?
                .is_dir()
            {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .expect("below the directory")
                .to_string_lossy()
                .replace('\\', "/");
            if rel != kind.manifest && rel != signature_name(kind) {
                files.push((rel, path));
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|(rel, path)| {
            let fp = fingerprint_file(&path).map_err(|e| OutputError::Io {
                path: path.clone(),
                action: "cannot read",
                source: std::io::Error::other(e.to_string()),
            })?;
            let bytes = std::fs::metadata(&path)
                .map_err(io(&path, "cannot read"))?
                .len();
            Ok(serde_json::json!({ "path": rel, "blake3": fp.as_str(), "bytes": bytes }))
        })
        .collect()
}

/// Writes `kind`'s manifest into `dir`: the object `fields` with `tool`
/// (`reglink VERSION`, unless `fields` names one) and `files` (every other
/// file below `dir`, see [`file_entries`]) added. Call it last.
pub fn write_manifest(
    dir: &Path,
    kind: &OutputKind,
    mut fields: serde_json::Value,
) -> Result<PathBuf, OutputError> {
    let files = file_entries(dir, kind)?;
    let obj = fields
        .as_object_mut()
        .expect("manifest fields are a JSON object");
    obj.entry("tool")
        .or_insert_with(|| format!("reglink {}", env!("CARGO_PKG_VERSION")).into());
    obj.insert("output".into(), kind.output.into());
    obj.insert("files".into(), files.into());
    let mut text = serde_json::to_string_pretty(&fields).expect("JSON");
    text.push('\n');
    let path = dir.join(kind.manifest);
    crate::write_atomic(&path, text.as_bytes()).map_err(|e| match e {
        // The file's own I/O error, not its text: the message names the
        // path once and the cause stays typed.
        crate::ExtractError::Output { path, source } => OutputError::Io {
            path,
            action: "cannot write",
            source,
        },
        other => OutputError::Io {
            path: path.clone(),
            action: "cannot write",
            source: std::io::Error::other(other.to_string()),
        },
    })?;
    Ok(path)
}

/// A directory being written beside its target, moved into place by
/// [`StagedDir::commit`]; dropped uncommitted, it is removed.
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    kind: OutputKind,
    staging: Option<PathBuf>,
    _registration: Registration,
}

fn target_name(target: &Path) -> Result<String, OutputError> {
    target
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| OutputError::Io {
            path: target.to_path_buf(),
            action: "cannot be replaced as a whole",
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "name a folder of its own, such as `release`",
            ),
        })
}

fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` without a trailing separator or `.` parts (`release/` is
/// `release`), so that a symbolic link is seen as the link, not followed.
fn plain(path: &Path) -> PathBuf {
    let p: PathBuf = path.components().collect();
    if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p
    }
}

/// Checks an existing `target` before any work: a directory that is empty
/// or provably an unchanged output of `kind`.
pub fn check_replaceable(target: &Path, kind: &OutputKind) -> Result<(), OutputError> {
    let target = &plain(target);
    let meta = match std::fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(target, "cannot read")(e)),
    };
    let not_ours = |reason: String| OutputError::NotOurs {
        out: target.to_path_buf(),
        command: kind.command,
        reason,
    };
    if meta.file_type().is_symlink() {
        return Err(not_ours("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(not_ours("it is not a directory".into()));
    }
    let empty = std::fs::read_dir(target)
        .map_err(io(target, "cannot read the directory"))?
        .next()
        .is_none();
    if empty {
        return Ok(());
    }
    prove_ours(target, kind).map_err(not_ours)
}

impl StagedDir {
    /// Checks `target` (see the module docs) and creates an empty staging
    /// directory beside it, creating `target`'s parent if needed. `inputs`
    /// are the run's inputs as `(role, path)`; the target may be none of
    /// them and contain none of them.
    pub fn create(
        target: &Path,
        kind: &OutputKind,
        inputs: &[(String, PathBuf)],
    ) -> Result<StagedDir, OutputError> {
        let target = &plain(target);
        check_holds_no_input(target, inputs)?;
        let name = target_name(target)?;
        check_replaceable(target, kind)?;
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent).map_err(io(&parent, "cannot create the directory"))?;
        cleanup::remove_stale(target);
        let staging = tempfile::Builder::new()
            .prefix(&cleanup::temp_prefix(&name, "tmp"))
            .suffix(cleanup::temp_suffix())
            .tempdir_in(&parent)
            .map_err(io(target, "cannot create a directory beside it"))?
            .keep();
        let registration = cleanup::register(&staging);
        Ok(StagedDir {
            target: target.to_path_buf(),
            kind: *kind,
            staging: Some(staging),
            _registration: registration,
        })
    }

    /// Where to write the output.
    pub fn path(&self) -> &Path {
        self.staging.as_deref().expect("staging until committed")
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Empties the staging directory, for an output written again from the
    /// start (a release protected again after its audit). Only what this
    /// process staged is removed; the target is not touched.
    pub fn clear(&self) -> Result<(), OutputError> {
        let staging = self.path();
        let entries =
            std::fs::read_dir(staging).map_err(io(staging, "cannot read the directory"))?;
        for entry in entries {
            let path = entry
                .map_err(io(staging, "cannot read the directory"))?
                .path();
            let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            let removed = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(io(&path, "cannot remove"))?;
        }
        Ok(())
    }

    /// Moves the output into place, replacing an earlier output of the same
    /// kind only once it is proven unchanged (see the module docs).
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let staging = self.staging.take().expect("staging until committed");
        let result = self.swap_in(&staging);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    fn swap_in(&self, staging: &Path) -> Result<PathBuf, OutputError> {
        let target = &self.target;
        let rename_in = || {
            std::fs::rename(staging, target)
                .map_err(io(target, "cannot move the output into place"))
        };
        if std::fs::symlink_metadata(target).is_err() {
            rename_in()?;
            return Ok(target.clone());
        }
        // Nothing is removed before the new output is in place, and a
        // signal on the way puts the old one back.
        let aside = SetAside::new(target, &self.kind)?;
        rename_in()?;
        aside.discard()?;
        Ok(target.clone())
    }
}

/// An earlier output renamed aside (`.NAME.reglink-old-PID-XXXX.tmp`) and
/// proven there to be empty or an unchanged output of its kind, so that what
/// is proven is what is later removed (the folder may have changed since an
/// earlier check). Dropped, or on a signal while the target is empty, it is
/// put back; [`SetAside::discard`] removes it once its replacement is in.
#[derive(Debug)]
pub struct SetAside {
    aside: PathBuf,
    target: PathBuf,
    registration: Option<Registration>,
}

impl SetAside {
    /// Sets the existing folder `target` aside and proves it is `kind`'s;
    /// if the proof fails it is put back and the error says why.
    pub fn new(target: &Path, kind: &OutputKind) -> Result<SetAside, OutputError> {
        let target = plain(target);
        let name = target_name(&target)?;
        let aside = tempfile::Builder::new()
            .prefix(&cleanup::temp_prefix(&name, "old"))
            .suffix(cleanup::temp_suffix())
            .tempdir_in(parent_of(&target))
            .map_err(io(&target, "cannot create a directory beside it"))?
            .keep();
        // Registered before the rename: a signal before it removes the empty
        // `aside`, one after it puts the folder back.
        let registration = cleanup::register_restore(&aside, &target);
        let set_aside = SetAside {
            aside,
            target,
            registration: Some(registration),
        };
        // `rename` onto an empty directory replaces it on Unix.
        if let Err(e) = std::fs::rename(&set_aside.target, &set_aside.aside) {
            return Err(io(
                &set_aside.target,
                "cannot move the earlier output aside",
            )(e));
        }
        match check_replaceable(&set_aside.aside, kind) {
            Ok(()) => Ok(set_aside),
            Err(OutputError::NotOurs { reason, .. }) => Err(OutputError::NotOurs {
                out: set_aside.target.clone(),
                command: kind.command,
                reason,
            }),
            Err(other) => Err(other),
        }
    }

    /// Removes the set-aside folder: its replacement is in place.
    pub fn discard(mut self) -> Result<(), OutputError> {
        self.registration = None;
        let aside = std::mem::take(&mut self.aside);
        std::fs::remove_dir_all(&aside)
            .map_err(io(&self.target, "cannot remove the earlier output"))
    }
}

impl Drop for SetAside {
    fn drop(&mut self) {
        if let Some(registration) = self.registration.take() {
            // Put back if the target is free again; else (a replacement is
            // in place and the proof held) it is removed.
            registration.remove();
        }
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            let _ = std::fs::remove_dir_all(staging);
        }
    }
}

/// Refuses to replace an existing output file unless `force`, and refuses
/// a file that is one of the run's `inputs` even with `force`.
pub fn check_new_file(
    path: &Path,
    force: bool,
    inputs: &[(String, PathBuf)],
) -> Result<(), OutputError> {
    check_holds_no_input(path, inputs)?;
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(OutputError::FileExists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
