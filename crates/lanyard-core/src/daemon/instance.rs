//! One engine per machine (per state directory): the engine holds an exclusive lock on
//! `daemon.lock` for as long as it runs. `lanyard list` uses the same lock to tell a live status
//! file from one left behind by an engine that has stopped.

use std::fs::File;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

pub const LOCK_FILE: &str = "daemon.lock";

fn lock_path(state_dir: &Path) -> PathBuf {
    state_dir.join(LOCK_FILE)
}

fn open(state_dir: &Path) -> std::io::Result<File> {
    crate::fsutil::open_lock_file(&lock_path(state_dir)).map_err(|e| e.source)
}

/// Held while an engine runs; released when dropped (or when the process dies, even by kill -9).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Take the lock, or `Ok(None)` when another engine already runs.
    pub fn try_acquire(state_dir: &Path) -> std::io::Result<Option<InstanceLock>> {
        Ok(crate::fsutil::try_lock(&lock_path(state_dir))
            .map_err(|e| e.source)?
            .map(|file| InstanceLock { _file: file }))
    }
}

/// Whether an engine (daemon or tray) currently runs for `state_dir`.
pub fn is_running(state_dir: &Path) -> bool {
    if !lock_path(state_dir).exists() {
        return false;
    }
    match open(state_dir) {
        // If we can take a shared lock, nobody holds the exclusive one.
        Ok(file) => !matches!(FileExt::try_lock_shared(&file), Ok(true)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_engine_is_refused_and_lock_is_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_running(dir.path()));
        let first = InstanceLock::try_acquire(dir.path())
            .expect("io")
            .expect("free");
        assert!(is_running(dir.path()));
        assert!(InstanceLock::try_acquire(dir.path()).expect("io").is_none());
        drop(first);
        assert!(!is_running(dir.path()));
        assert!(InstanceLock::try_acquire(dir.path()).expect("io").is_some());
    }
}
