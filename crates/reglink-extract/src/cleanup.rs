//! Temporary files and directories that must not outlive an interrupted run.
//!
//! Everything reglink writes is first written under a temporary name beside
//! its target ([`crate::AtomicFile`], [`crate::StagedDir`]). Dropping the
//! writer removes it, but a signal (Ctrl-C, `kill`) ends the process without
//! running destructors, and a temporary file may hold hundreds of MB of
//! row-level data. So every temporary path is *registered* here while it
//! exists; the binary's signal handler calls [`remove_registered`] before it
//! exits. A run killed with SIGKILL, which no handler sees, leaves its
//! temporaries behind: their names carry the process id ([`temp_name`]), and
//! the next run into the same place removes those whose process is gone
//! ([`remove_stale`]) and says so ([`take_notices`]).
//!
//! Library code never installs a signal handler; the binary does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Paths to remove if the process is interrupted, by registration id.
static REGISTRY: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
/// Stale temporaries found by this process, for the binary to report.
static NOTICES: Mutex<Vec<Stale>> = Mutex::new(Vec::new());

/// A temporary left behind by a run that was killed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stale {
    /// Where it is.
    pub path: PathBuf,
    /// Whether it was removed. Staging files and directories (`tmp`) are;
    /// an earlier output set aside for replacement (`old`) is left for the
    /// user, since the run may have been killed before proving it was
    /// reglink's.
    pub removed: bool,
}

/// The marker every temporary name carries, between the target's name and
/// the process id.
const MARK: &str = ".reglink-";
/// The suffix of every temporary name.
const SUFFIX: &str = ".tmp";

/// Keeps a temporary path registered for removal on a signal; dropping it
/// unregisters the path (it does not remove it: its owner does that).
#[derive(Debug)]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        reg.retain(|(id, _)| *id != self.0);
    }
}

impl Registration {
    /// Removes the registered path now (a run that failed half-way) and
    /// unregisters it.
    pub fn remove(self) {
        let path = {
            let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
            reg.iter()
                .find(|(id, _)| *id == self.0)
                .map(|(_, p)| p.clone())
        };
        if let Some(path) = path {
            remove_path(&path);
        }
    }
}

/// Registers `path` (a file or a directory) for removal by [`remove_registered`].
pub fn register(path: &Path) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, path.to_path_buf()));
    Registration(id)
}

/// Removes every registered path. Called by the binary's signal handler just
/// before it exits; safe to call from any thread, any number of times.
/// Returns how many paths were removed.
pub fn remove_registered() -> usize {
    remove_registered_where(|_| true)
}

fn remove_registered_where(pick: impl Fn(u64) -> bool) -> usize {
    let paths: Vec<PathBuf> = {
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let (picked, kept) = reg.drain(..).partition(|(id, _)| pick(*id));
        *reg = kept;
        picked.into_iter().map(|(_, p): (u64, PathBuf)| p).collect()
    };
    paths.iter().filter(|p| remove_path(p)).count()
}

fn remove_path(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).is_ok(),
        Ok(_) => std::fs::remove_file(path).is_ok(),
        Err(_) => false,
    }
}

/// The prefix of every temporary name for `target` made by this process:
/// `.NAME.reglink-PID-`; a random part and [`SUFFIX`] follow.
pub(crate) fn temp_prefix(target_name: &str, role: &str) -> String {
    format!(".{target_name}{MARK}{role}-{}-", std::process::id())
}

/// The temporary name's suffix.
pub(crate) fn temp_suffix() -> &'static str {
    SUFFIX
}

/// A temporary name for `target_name` in role `role` (`tmp`, `old`), as
/// [`remove_stale`] recognises it. Only for tests and documentation; writers
/// use [`temp_prefix`] with a random part.
pub fn temp_name(target_name: &str, role: &str, random: &str) -> String {
    format!("{}{random}{SUFFIX}", temp_prefix(target_name, role))
}

/// The role and process id of a temporary name of `target_name`, if `name`
/// is one.
fn owner<'a>(name: &'a str, target_name: &str) -> Option<(&'a str, u32)> {
    let rest = name.strip_prefix('.')?.strip_prefix(target_name)?;
    let rest = rest.strip_prefix(MARK)?.strip_suffix(SUFFIX)?;
    let (role, rest) = rest.split_once('-')?;
    let (pid, _random) = rest.split_once('-')?;
    Some((role, pid.parse().ok()?))
}

/// Whether process `pid` is still running. Where that cannot be told (no
/// `/proc`), every process counts as running, so nothing is removed.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Finds the temporaries of `target` (a file or directory path) that a run
/// killed before it could clean up left in `target`'s directory: names made
/// by [`temp_prefix`] for this target whose process no longer runs. Staging
/// temporaries are removed; set-aside earlier outputs are only reported
/// (see [`Stale::removed`]). Each is recorded for [`take_notices`]. Errors
/// are ignored: a stale file that cannot be removed is no worse than before.
pub fn remove_stale(target: &Path) {
    let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(entry_name) = file_name.to_str() else {
            continue;
        };
        let Some((role, pid)) = owner(entry_name, name) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let removed = role == "tmp" && remove_path(&entry.path());
        NOTICES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Stale {
                path: entry.path(),
                removed,
            });
    }
}

/// The stale temporaries found so far by this process, emptied.
pub fn take_notices() -> Vec<Stale> {
    std::mem::take(&mut *NOTICES.lock().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_reads_only_names_made_for_this_target() {
        let name = temp_name("eb.parquet", "tmp", "AbC123");
        assert_eq!(
            owner(&name, "eb.parquet"),
            Some(("tmp", std::process::id())),
            "{name}"
        );
        assert_eq!(owner(&name, "eb"), None);
        assert_eq!(owner(&name, "af.parquet"), None);
        assert_eq!(owner(".eb.parquet.tmp", "eb.parquet"), None);
        assert_eq!(owner("eb.parquet", "eb.parquet"), None);
        assert_eq!(
            owner(".eb.parquet.reglink-old-12-x.tmp", "eb.parquet"),
            Some(("old", 12))
        );
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_and_reported() {
        if !Path::new("/proc/self").exists() {
            return; // liveness cannot be told here; nothing is ever removed
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        // A pid far above any Linux pid_max is never running.
        let dead = dir.path().join(".out.parquet.reglink-tmp-999999999-zz.tmp");
        let mine = dir.path().join(temp_name("out.parquet", "tmp", "yy"));
        let other_target = dir.path().join(".other.reglink-tmp-999999999-zz.tmp");
        let user_file = dir.path().join(".out.parquet.tmp");
        for p in [&dead, &mine, &other_target, &user_file] {
            std::fs::write(p, b"x").unwrap();
        }
        let stale_dir = dir.path().join(".out.parquet.reglink-tmp-999999999-q.tmp");
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(stale_dir.join("inner"), b"x").unwrap();
        let set_aside = dir.path().join(".out.parquet.reglink-old-999999999-r.tmp");
        std::fs::create_dir(&set_aside).unwrap();
        std::fs::write(set_aside.join("thesis.docx"), b"x").unwrap();
        remove_stale(&target);
        assert!(!dead.exists());
        assert!(!stale_dir.exists());
        assert!(
            set_aside.join("thesis.docx").exists(),
            "an earlier output set aside is only reported"
        );
        assert!(mine.exists(), "a running process's temporary stays");
        assert!(other_target.exists(), "another target's temporary stays");
        assert!(user_file.exists(), "a name reglink does not make stays");
        // Other tests may add notices of their own targets: keep ours.
        let mut notices: Vec<Stale> = take_notices()
            .into_iter()
            .filter(|n| n.path.starts_with(dir.path()))
            .collect();
        notices.sort();
        let mut expected = vec![
            Stale {
                path: dead,
                removed: true,
            },
            Stale {
                path: stale_dir,
                removed: true,
            },
            Stale {
                path: set_aside,
                removed: false,
            },
        ];
        expected.sort();
        assert_eq!(notices, expected);
    }

    #[test]
    fn registered_paths_are_removed_until_unregistered() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        let sub = dir.path().join("d");
        std::fs::write(&file, b"x").unwrap();
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("b"), b"x").unwrap();
        let kept = dir.path().join("kept");
        std::fs::write(&kept, b"x").unwrap();
        let a = register(&file);
        let d = register(&sub);
        let k = register(&kept);
        let k_id = k.0;
        drop(k);
        // Only this test's registrations: other tests' temporaries are live.
        let removed = remove_registered_where(|id| id == a.0 || id == d.0 || id == k_id);
        assert_eq!(removed, 2);
        assert!(!file.exists());
        assert!(!sub.exists());
        assert!(kept.exists(), "an unregistered path is left alone");
    }
}
