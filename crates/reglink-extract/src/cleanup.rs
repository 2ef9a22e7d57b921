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

/// What to do with a registered path if the process is interrupted.
#[derive(Debug, Clone)]
enum Action {
    /// Remove it: a temporary file or staging directory.
    Remove(PathBuf),
    /// An earlier output set aside while its replacement is moved in: put it
    /// back if the target is empty again, else remove it (the new output is
    /// in place, and the set-aside one was proven reglink's).
    Restore { aside: PathBuf, target: PathBuf },
}

/// Registered paths, by registration id.
static REGISTRY: Mutex<Vec<(u64, Action)>> = Mutex::new(Vec::new());
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
    /// Carries out the registered action now (a run that failed half-way)
    /// and unregisters it.
    pub fn remove(self) {
        let action = {
            let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
            reg.iter()
                .find(|(id, _)| *id == self.0)
                .map(|(_, a)| a.clone())
        };
        if let Some(action) = action {
            carry_out(&action);
        }
    }
}

fn push(action: Action) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, action));
    Registration(id)
}

/// Registers `path` (a file or a directory) for removal by [`remove_registered`].
pub fn register(path: &Path) -> Registration {
    push(Action::Remove(path.to_path_buf()))
}

/// Registers an earlier output set aside at `aside` while a new one is moved
/// to `target`: on a signal it is put back if `target` is gone, and removed
/// if the new output is already in place.
pub fn register_restore(aside: &Path, target: &Path) -> Registration {
    push(Action::Restore {
        aside: aside.to_path_buf(),
        target: target.to_path_buf(),
    })
}

fn carry_out(action: &Action) -> bool {
    match action {
        Action::Remove(path) => remove_path(path),
        Action::Restore { aside, target } => {
            if std::fs::symlink_metadata(target).is_err() {
                std::fs::rename(aside, target).is_ok()
            } else {
                remove_path(aside)
            }
        }
    }
}

/// Removes every registered path. Called by the binary's signal handler just
/// before it exits; safe to call from any thread, any number of times.
/// Returns how many paths were removed.
pub fn remove_registered() -> usize {
    remove_registered_where(|_| true)
}

fn remove_registered_where(pick: impl Fn(u64) -> bool) -> usize {
    let mut actions: Vec<Action> = {
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let (picked, kept) = reg.drain(..).partition(|(id, _)| pick(*id));
        *reg = kept;
        picked.into_iter().map(|(_, a): (u64, Action)| a).collect()
    };
    // Temporaries first, so that a target they stood for is empty again
    // before an earlier output is put back there.
    actions.sort_by_key(|a| matches!(a, Action::Restore { .. }));
    actions.iter().filter(|a| carry_out(a)).count()
}

/// Removes a file, or a directory with everything in it. Another thread of
/// the process may still be writing into a directory being removed (a
/// signal arrives while the main thread works), so removal is retried until
/// the directory is gone, for up to about a second.
fn remove_path(path: &Path) -> bool {
    for _ in 0..50 {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let _ = std::fs::remove_dir_all(path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(path);
            }
            Err(_) => return true,
        }
        if std::fs::symlink_metadata(path).is_err() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
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
/// use `temp_prefix` with a random part.
pub fn temp_name(target_name: &str, role: &str, random: &str) -> String {
    format!("{}{random}{SUFFIX}", temp_prefix(target_name, role))
}

/// The target name, role and process id of a temporary name made by
/// [`temp_prefix`] (`.NAME.reglink-ROLE-PID-RANDOM.tmp`), if `name` is one.
fn parse_temp(name: &str) -> Option<(&str, &str, u32)> {
    let rest = name.strip_prefix('.')?.strip_suffix(SUFFIX)?;
    let (rest, random) = rest.rsplit_once('-')?;
    let (rest, pid) = rest.rsplit_once('-')?;
    let (rest, role) = rest.rsplit_once('-')?;
    let target = rest.strip_suffix(MARK.trim_end_matches('-'))?;
    let plausible = !target.is_empty()
        && matches!(role, "tmp" | "old")
        && !random.is_empty()
        && random.chars().all(|c| c.is_ascii_alphanumeric());
    plausible.then_some((target, role, pid.parse().ok()?))
}

/// How long a staging temporary of another target must have lain untouched
/// before a run removes it: its process id may belong to another PID
/// namespace (a container writing into the same folder), where it may still
/// be running.
const OTHER_TARGET_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether process `pid` is still running. Where that cannot be told (no
/// `/proc`), every process counts as running, so nothing is removed.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Finds the temporaries that runs killed before they could clean up left
/// in `target`'s folder: names made by `temp_prefix` whose process no
/// longer runs. Staging temporaries of `target` itself are removed, and
/// those of other names in the folder once they have lain untouched for an
/// hour (`OTHER_TARGET_AGE`); the rest, and every earlier output set aside
/// for replacement, are only reported (see [`Stale::removed`]). Each is
/// recorded once for [`take_notices`]. Errors are ignored: a stale file that
/// cannot be removed is no worse than before.
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
        let Some((of, role, pid)) = file_name.to_str().and_then(parse_temp) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let untouched = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= OTHER_TARGET_AGE)
        };
        let removable = role == "tmp" && (of == name || untouched());
        let removed = removable && remove_path(&entry.path());
        let mut notices = NOTICES.lock().unwrap_or_else(|e| e.into_inner());
        let stale = Stale {
            path: entry.path(),
            removed,
        };
        if !notices.contains(&stale) {
            notices.push(stale);
        }
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
    fn temporary_names_are_read_back_and_nothing_else_is() {
        let name = temp_name("eb.parquet", "tmp", "AbC123");
        assert_eq!(
            parse_temp(&name),
            Some(("eb.parquet", "tmp", std::process::id())),
            "{name}"
        );
        assert_eq!(
            parse_temp(".eb.parquet.reglink-old-12-x.tmp"),
            Some(("eb.parquet", "old", 12))
        );
        assert_eq!(
            parse_temp(".my-file.reglink-tmp-12-x9.tmp"),
            Some(("my-file", "tmp", 12))
        );
        for other in [
            ".eb.parquet.tmp",
            "eb.parquet",
            ".eb.reglink-new-12-x.tmp",
            ".eb.reglink-tmp-12-.tmp",
            ".eb.reglink-tmp-x-y.tmp",
            ".reglink-tmp-12-x.tmp",
        ] {
            assert_eq!(parse_temp(other), None, "{other}");
        }
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
        // Another target's fresh temporary of a dead process: only named.
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
        assert!(
            other_target.exists(),
            "another target's fresh temporary stays"
        );
        assert!(user_file.exists(), "a name reglink does not make stays");
        // Other tests may add notices of their own targets: keep ours.
        let mut notices: Vec<Stale> = take_notices()
            .into_iter()
            .filter(|n| n.path.starts_with(dir.path()))
            .collect();
        notices.sort();
        let mut expected: Vec<Stale> = vec![
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
            Stale {
                path: other_target,
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

    #[test]
    fn a_set_aside_output_is_put_back_or_removed_on_a_signal() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("release");
        let aside = dir.path().join(".release.reglink-old-1-a.tmp");
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join("t.csv"), "old").unwrap();
        // Interrupted before the new output was in place: put back.
        let staging = dir.path().join(".release.reglink-tmp-1-b.tmp");
        std::fs::create_dir(&staging).unwrap();
        let r = register_restore(&aside, &target);
        let t = register(&staging);
        let removed = remove_registered_where(|id| id == r.0 || id == t.0);
        assert_eq!(removed, 2);
        assert_eq!(
            std::fs::read_to_string(target.join("t.csv")).unwrap(),
            "old"
        );
        assert!(!aside.exists() && !staging.exists());

        // Interrupted after it: the set-aside copy goes.
        std::fs::create_dir(&aside).unwrap();
        let r = register_restore(&aside, &target);
        remove_registered_where(|id| id == r.0);
        assert!(!aside.exists());
        assert_eq!(
            std::fs::read_to_string(target.join("t.csv")).unwrap(),
            "old"
        );
    }
}
