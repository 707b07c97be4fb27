//! The opt-in file store for machines without a keychain (Linux with no Secret Service: SSH
//! hosts, containers): every secret in one JSON object, `secrets.json` in Lanyard's state folder
//! (0700), the file itself 0600, written atomically through [`crate::fsutil`] under a lock.
//!
//! Its risk, stated wherever it is offered: the tokens are plain text to anyone who can read the
//! user's files (root, a backup, a copied disk), where a keychain would keep them encrypted at
//! rest and behind the user's session.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::store::{SecretError, SecretStore};
use crate::fsutil;
use crate::paths::Paths;

/// Secrets in `<state dir>/secrets.json`.
pub struct FileStore {
    paths: Paths,
}

impl FileStore {
    pub fn new(paths: Paths) -> FileStore {
        FileStore { paths }
    }

    /// Where the secrets are.
    pub fn path(paths: &Paths) -> PathBuf {
        paths.dir().join("secrets.json")
    }

    fn file(&self) -> PathBuf {
        FileStore::path(&self.paths)
    }

    fn failed(&self, what: impl std::fmt::Display) -> SecretError {
        SecretError::File(format!("{}: {what}", self.file().display()))
    }

    fn load(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read(self.file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                self.failed(format!(
                    "is not Lanyard's JSON ({e}); move it away to start over"
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Read-modify-write under the store's lock; the new file is 0600 before it is in place.
    fn update(&self, edit: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<(), SecretError> {
        self.paths.ensure_dir().map_err(|e| self.failed(e))?;
        let _lock = fsutil::lock(&self.paths.locks_dir().join("secrets.lock"))
            .map_err(|e| self.failed(e))?;
        let mut items = self.load()?;
        let before = items.clone();
        edit(&mut items);
        if items == before && self.file().exists() {
            return Ok(());
        }
        let mut json = serde_json::to_vec_pretty(&items).map_err(|e| self.failed(e))?;
        json.push(b'\n');
        let target = self.file();
        fsutil::Staged::write(&target, &json, owner_only)
            .and_then(|staged| staged.commit(&target))
            .map_err(|e| self.failed(e))
    }
}

#[cfg(unix)]
fn owner_only(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn owner_only(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

impl SecretStore for FileStore {
    fn check(&self) -> Result<(), SecretError> {
        self.load().map(|_| ())
    }
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        Ok(self.load()?.get(key).cloned())
    }
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.update(|items| {
            items.insert(key.to_owned(), value.to_owned());
        })
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        if !self.file().exists() {
            return Ok(());
        }
        self.update(|items| {
            items.remove(key);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_in_a_file_only_the_user_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(Paths::at(dir.path().join("lanyard")));
        assert_eq!(store.get("tokens:a").unwrap(), None);
        store.set("tokens:a", "secret-1").unwrap();
        store.set("tokens:b", "secret-2").unwrap();
        assert_eq!(store.get("tokens:a").unwrap().as_deref(), Some("secret-1"));
        store.delete("tokens:a").unwrap();
        store.delete("tokens:a").unwrap();
        assert_eq!(store.get("tokens:a").unwrap(), None);
        let file = FileStore::path(&Paths::at(dir.path().join("lanyard")));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("secret-1") && text.contains("secret-2"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        std::fs::write(FileStore::path(&paths), b"{not json").unwrap();
        let store = FileStore::new(paths);
        assert!(matches!(store.get("k"), Err(SecretError::File(_))));
        assert!(store.set("k", "v").is_err());
    }
}
