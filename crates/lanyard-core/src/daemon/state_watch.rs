//! Cross-process change notification: when another process (`lanyard add`, `login`, `remove`)
//! rewrites the state file, the engine rescans. inotify/FSEvents via `notify`; no polling.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};

use super::scheduler::RescanTrigger;

/// Watch the directories of `files` and ask for a rescan when one of `files` changes
/// (including being replaced by a rename, as atomic writers do). Keep the watcher alive.
pub fn watch_files(
    files: &[PathBuf],
    trigger: RescanTrigger,
) -> notify::Result<notify::RecommendedWatcher> {
    let names: HashSet<OsString> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_owned()))
        .collect();
    let dirs: HashSet<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        let relevant = event
            .paths
            .iter()
            .any(|p| p.file_name().is_some_and(|n| names.contains(n)));
        if relevant {
            trigger.rescan();
        }
    })?;
    for dir in dirs {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
    }
    Ok(watcher)
}
