//! Replacing a config file the safe way: the edit is computed from the bytes on disk, written to a
//! temp file in the same folder (same file system), fsynced, checked against the file once more
//! right before the rename — when someone else changed it meanwhile the edit is redone on their
//! version — then renamed over it. Mode and owner are kept. The version before Lanyard's first
//! change is copied once under the state dir.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::IdeError;
use crate::fsutil::{FsError, Staged};

/// What an edit wants done with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewContent {
    /// Nothing to change: the file is not touched.
    Keep,
    Write(String),
    /// Remove the file (only used for a file Lanyard created and emptied again).
    Delete,
}

/// What happened on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    /// `before` is `None` when the file did not exist.
    Written {
        before: Option<String>,
        after: String,
    },
    Deleted {
        before: String,
    },
}

/// How to write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Mode of a file this write creates (an existing file keeps its own mode, but never gets
    /// looser than `min_private` asks).
    pub new_mode: u32,
    /// The file will hold a secret: force 0600.
    pub private: bool,
    /// Where the pre-Lanyard copy goes (`None`: no backup).
    pub backup_dir: Option<PathBuf>,
}

const MAX_ATTEMPTS: u32 = 40;

/// Reads a file as UTF-8 text; `None` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, IdeError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| IdeError::NotUtf8(path.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IdeError::io(path, e)),
    }
}

/// The real file behind a symlink (dotfile managers link configs), so the rename replaces the
/// file and keeps the link.
fn resolve(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or(path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// Applies `edit` to the file at `path` atomically (see the module docs).
pub fn edit_file(
    path: &Path,
    opts: &WriteOptions,
    edit: &mut dyn FnMut(Option<&str>) -> Result<NewContent, IdeError>,
) -> Result<Outcome, IdeError> {
    let path = resolve(path);
    // What we wrote, once written: a later pass that finds nothing to do returns it.
    let mut wrote: Option<Outcome> = None;
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // Someone else is writing: give them a moment (1, 2, 4 … 32 ms).
            std::thread::sleep(std::time::Duration::from_millis(1 << attempt.min(5)));
        }
        let before = read_text(&path)?;
        let new = edit(before.as_deref())?;
        let after = match new {
            NewContent::Keep => return Ok(wrote.unwrap_or(Outcome::Unchanged)),
            NewContent::Write(t) if before.as_deref() == Some(t.as_str()) => {
                return Ok(wrote.unwrap_or(Outcome::Unchanged));
            }
            NewContent::Write(t) => t,
            NewContent::Delete => {
                let Some(before) = before else {
                    return Ok(Outcome::Unchanged);
                };
                if read_text(&path)?.as_deref() != Some(before.as_str()) {
                    continue;
                }
                backup_once(&path, &before, opts)?;
                fs::remove_file(&path).map_err(|e| IdeError::io(&path, e))?;
                return Ok(Outcome::Deleted { before });
            }
        };
        if let Some(b) = &before {
            backup_once(&path, b, opts)?;
        }
        let staged = Staged::write(&path, after.as_bytes(), |tmp| {
            keep_mode_and_owner(&path, tmp, opts)
        })?;
        // Last look before the rename: a change since we read means redo the edit on it.
        if read_text(&path)? != before {
            continue;
        }
        staged.commit(&path)?;
        // A writer that read before our rename may have replaced the file since: look once
        // more, and redo the edit on its version when ours is no longer there.
        let landed = read_text(&path)?.as_deref() == Some(after.as_str());
        let first_before = match wrote.take() {
            Some(Outcome::Written { before: b, .. }) => b,
            _ => before,
        };
        let outcome = Outcome::Written {
            before: first_before,
            after,
        };
        if landed {
            return Ok(outcome);
        }
        wrote = Some(outcome);
    }
    Err(IdeError::Contended(path))
}

fn keep_mode_and_owner(path: &Path, tmp: &fs::File, opts: &WriteOptions) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let (mut mode, owner) = match fs::metadata(path) {
            Ok(m) => (m.mode() & 0o7777, Some((m.uid(), m.gid()))),
            Err(_) => (opts.new_mode, None),
        };
        if opts.private {
            mode &= 0o700;
        }
        tmp.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            // Only root can give a file away; for others this is a no-op on their own files.
            let _ = std::os::unix::fs::fchown(tmp, Some(uid), Some(gid));
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, tmp, opts);
    }
    Ok(())
}

/// The backup file of a config path (stable, file-system safe name).
pub fn backup_path(dir: &Path, path: &Path) -> PathBuf {
    let digest = Sha256::digest(path.to_string_lossy().as_bytes());
    let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_start_matches('.').to_owned())
        .unwrap_or_default();
    dir.join(format!("{base}.{short}.orig"))
}

fn backup_once(path: &Path, content: &str, opts: &WriteOptions) -> Result<(), IdeError> {
    let Some(dir) = &opts.backup_dir else {
        return Ok(());
    };
    let target = backup_path(dir, path);
    if target.exists() {
        return Ok(());
    }
    let staged = Staged::write(&target, content.as_bytes(), |tmp| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp.set_permissions(fs::Permissions::from_mode(0o600));
        }
        #[cfg(not(unix))]
        let _ = tmp;
        Ok(())
    })?;
    let _ = staged.commit_new(&target);
    Ok(())
}

impl From<FsError> for IdeError {
    fn from(e: FsError) -> IdeError {
        IdeError::io(&e.path, e.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &Path) -> WriteOptions {
        WriteOptions {
            new_mode: 0o644,
            private: false,
            backup_dir: Some(dir.join("backups")),
        }
    }

    #[test]
    fn keeps_mode_backs_up_once_and_skips_unchanged() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.json");
        fs::write(&f, "{}").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        let o = edit_file(&f, &opts(dir.path()), &mut |_| {
            Ok(NewContent::Write("{ }".into()))
        })
        .unwrap();
        assert!(matches!(o, Outcome::Written { .. }));
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        edit_file(&f, &opts(dir.path()), &mut |_| {
            Ok(NewContent::Write("{  }".into()))
        })
        .unwrap();
        let backup = backup_path(&dir.path().join("backups"), &f);
        assert_eq!(fs::read_to_string(backup).unwrap(), "{}");
        let o = edit_file(&f, &opts(dir.path()), &mut |s| {
            Ok(NewContent::Write(s.unwrap().into()))
        })
        .unwrap();
        assert_eq!(o, Outcome::Unchanged);
    }

    #[test]
    fn redoes_the_edit_when_the_file_moves_underneath() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.txt");
        fs::write(&f, "a").unwrap();
        let mut calls = 0;
        let f2 = f.clone();
        edit_file(&f, &opts(dir.path()), &mut |s| {
            calls += 1;
            if calls == 1 {
                // A concurrent writer lands between our read and our rename.
                fs::write(&f2, "b").unwrap();
            }
            Ok(NewContent::Write(format!("{}+ours", s.unwrap())))
        })
        .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(fs::read_to_string(&f).unwrap(), "b+ours");
    }
}
