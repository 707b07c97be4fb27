//! The files Lanyard writes, one rule each: a lock file, an atomic write, a read-modify-write of
//! a JSON file. Every writer (the state file, the IDE records and configs, the status file, the
//! install id, the AppImage's CLI copy, the refresh and engine locks) comes here.
//!
//! The atomic-write rule: a temporary file beside the target (same directory, so the rename
//! stays on one file system), written and fsynced, renamed over the target, then the directory
//! fsynced (best effort) so the rename itself survives a crash. A reader sees the old file or
//! the new one, never a part.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A file that could not be locked, written or renamed, with the path it is about.
#[derive(Debug)]
pub struct FsError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FsError {
    fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
        move |source| FsError {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

/// Open (creating it and its folder) a lock file, without locking it.
pub fn open_lock_file(path: &Path) -> Result<File, FsError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(FsError::at(dir))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(FsError::at(path))
}

/// Take the exclusive lock on `path`, waiting for it (blocking: call it off the async threads
/// when another process may hold it long). Released when the file is dropped, or when the
/// process dies.
pub fn lock(path: &Path) -> Result<File, FsError> {
    let f = open_lock_file(path)?;
    fs4::fs_std::FileExt::lock_exclusive(&f).map_err(FsError::at(path))?;
    Ok(f)
}

/// Take the exclusive lock on `path` when nobody holds it; `None` when someone does.
pub fn try_lock(path: &Path) -> Result<Option<File>, FsError> {
    let f = open_lock_file(path)?;
    if fs4::fs_std::FileExt::try_lock_exclusive(&f).map_err(FsError::at(path))? {
        Ok(Some(f))
    } else {
        Ok(None)
    }
}

/// New content written and fsynced beside its target, not yet in place: the caller may look
/// at the target once more before [`Staged::commit`] (the IDE config writer does).
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    dir: PathBuf,
}

impl Staged {
    /// Write `bytes` to a temporary file beside `target`; `prepare` may set its permissions
    /// or owner before it is fsynced.
    pub fn write(
        target: &Path,
        bytes: &[u8],
        prepare: impl FnOnce(&File) -> std::io::Result<()>,
    ) -> Result<Staged, FsError> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(FsError::at(&dir))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".lanyard-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(FsError::at(&dir))?;
        tmp.write_all(bytes).map_err(FsError::at(target))?;
        prepare(tmp.as_file()).map_err(FsError::at(target))?;
        tmp.as_file().sync_all().map_err(FsError::at(target))?;
        Ok(Staged { tmp, dir })
    }

    /// Rename the new content over `target`, then fsync the directory.
    pub fn commit(self, target: &Path) -> Result<(), FsError> {
        self.tmp
            .persist(target)
            .map_err(|e| FsError::at(target)(e.error))?;
        sync_dir(&self.dir);
        Ok(())
    }

    /// Put the new content at `target` only when nothing is there yet: `false` when another
    /// writer was first (its file stays).
    pub fn commit_new(self, target: &Path) -> Result<bool, FsError> {
        match self.tmp.persist_noclobber(target) {
            Ok(_) => {
                sync_dir(&self.dir);
                Ok(true)
            }
            Err(e) if target.exists() => {
                drop(e);
                Ok(false)
            }
            Err(e) => Err(FsError::at(target)(e.error)),
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Replace `target` with `bytes` atomically (the rule in the module docs).
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), FsError> {
    Staged::write(target, bytes, |_| Ok(()))?.commit(target)
}

/// Replace `target` with `value` as pretty JSON (with a final newline), atomically.
pub fn write_json(target: &Path, value: &impl Serialize) -> Result<(), FsError> {
    let mut json = serde_json::to_vec_pretty(value)
        .map_err(|e| FsError::at(target)(std::io::Error::other(e)))?;
    json.push(b'\n');
    write_atomic(target, &json)
}

/// Read-modify-write of a JSON file under the lock file `lock_path`: `load` reads the current
/// value, `edit` changes it (its error aborts without writing), and the file is written only
/// when the value changed. `fs_error` turns a failed lock or write into the caller's error.
pub fn update_json<D, T, E>(
    target: &Path,
    lock_path: &Path,
    load: impl FnOnce() -> Result<D, E>,
    edit: impl FnOnce(&mut D) -> Result<T, E>,
    fs_error: impl Fn(FsError) -> E,
) -> Result<T, E>
where
    D: Serialize + PartialEq + Clone,
{
    let lock = lock(lock_path).map_err(&fs_error)?;
    let mut value = load()?;
    let before = value.clone();
    let out = edit(&mut value)?;
    if value != before {
        write_json(target, &value).map_err(&fs_error)?;
    }
    drop(lock); // closing the file releases the lock
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("f.json");
        write_atomic(&target, b"old").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[test]
    fn a_new_file_is_never_put_over_one_another_writer_made_first() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("id");
        assert!(
            Staged::write(&target, b"first", |_| Ok(()))
                .unwrap()
                .commit_new(&target)
                .unwrap()
        );
        assert!(
            !Staged::write(&target, b"second", |_| Ok(()))
                .unwrap()
                .commit_new(&target)
                .unwrap()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
    }

    #[test]
    fn a_json_update_writes_only_a_changed_value_and_an_error_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (target, lock_path) = (dir.path().join("v.json"), dir.path().join("v.lock"));
        let load = || -> Result<Vec<u32>, FsError> {
            match std::fs::read(&target) {
                Ok(b) => Ok(serde_json::from_slice(&b).unwrap()),
                Err(_) => Ok(Vec::new()),
            }
        };
        update_json(
            &target,
            &lock_path,
            load,
            |v| {
                v.push(1);
                Ok(())
            },
            |e| e,
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[\n  1\n]\n");
        let unchanged_at = std::fs::metadata(&target).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        update_json(&target, &lock_path, load, |_| Ok(()), |e| e).unwrap();
        assert_eq!(
            std::fs::metadata(&target).unwrap().modified().unwrap(),
            unchanged_at
        );
        let failed: Result<(), FsError> = update_json(
            &target,
            &lock_path,
            load,
            |v| {
                v.push(2);
                Err(FsError::at(Path::new("x"))(std::io::Error::other("no")))
            },
            |e| e,
        );
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[\n  1\n]\n");
    }

    #[test]
    fn a_held_lock_is_not_taken_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks").join("s.lock");
        let held = lock(&path).unwrap();
        assert!(try_lock(&path).unwrap().is_none());
        drop(held);
        assert!(try_lock(&path).unwrap().is_some());
    }
}
