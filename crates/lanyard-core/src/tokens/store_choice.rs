//! Which store keeps this install's secrets: the OS keychain (the default), or the file store
//! ([`super::file_store`]) when the user opted in — for one run with `LANYARD_STORE=file`, or for
//! good with `lanyard store use-file --i-understand-the-risk`, remembered in `secret-store` in the
//! state folder. The variable wins over the remembered choice (`LANYARD_STORE=keychain` too).

use std::sync::Arc;

use super::file_store::FileStore;
use super::store::{LazyKeyringStore, SecretStore};
use crate::error::UserFacing;
use crate::paths::Paths;

/// The variable that picks the store for one run.
pub const ENV: &str = "LANYARD_STORE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keychain,
    File,
}

impl StoreKind {
    fn parse(s: &str) -> Option<StoreKind> {
        match s.trim() {
            "keychain" => Some(StoreKind::Keychain),
            "file" => Some(StoreKind::File),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Keychain => "keychain",
            StoreKind::File => "file",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreChoiceError {
    #[error("{ENV}={0} names no secret store")]
    BadEnv(String),
    #[error("Lanyard could not remember the secret store choice in {0}")]
    Write(String),
}

impl UserFacing for StoreChoiceError {
    fn code(&self) -> &'static str {
        match self {
            StoreChoiceError::BadEnv(..) => "store.bad-env",
            StoreChoiceError::Write(..) => "store.write",
        }
    }
    fn next_step(&self) -> String {
        match self {
            StoreChoiceError::BadEnv(..) => {
                format!("Set {ENV} to `keychain` or `file`, or unset it.")
            }
            StoreChoiceError::Write(..) => {
                "Check that Lanyard's folder belongs to you and the disk is not full.".into()
            }
        }
    }
}

fn setting(paths: &Paths) -> std::path::PathBuf {
    paths.dir().join("secret-store")
}

/// The store in force: the variable, else the remembered choice, else the keychain.
pub fn chosen(paths: &Paths) -> Result<StoreKind, StoreChoiceError> {
    if let Some(v) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        let v = v.to_string_lossy();
        return StoreKind::parse(&v).ok_or_else(|| StoreChoiceError::BadEnv(v.into_owned()));
    }
    Ok(std::fs::read_to_string(setting(paths))
        .ok()
        .and_then(|s| StoreKind::parse(&s))
        .unwrap_or(StoreKind::Keychain))
}

/// Remember `kind` for every later run (the keychain is the default: its choice is no file).
pub fn remember(paths: &Paths, kind: StoreKind) -> Result<(), StoreChoiceError> {
    let file = setting(paths);
    let failed =
        |e: &dyn std::fmt::Display| StoreChoiceError::Write(format!("{}: {e}", file.display()));
    match kind {
        StoreKind::File => {
            paths.ensure_dir().map_err(|e| failed(&e))?;
            crate::fsutil::write_atomic(&file, b"file\n").map_err(|e| failed(&e))
        }
        StoreKind::Keychain => match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed(&e)),
            _ => Ok(()),
        },
    }
}

/// The store of the user's Lanyard.
pub fn open(paths: &Paths) -> Result<Arc<dyn SecretStore>, StoreChoiceError> {
    Ok(match chosen(paths)? {
        StoreKind::Keychain => Arc::new(LazyKeyringStore::new(paths.clone())),
        StoreKind::File => Arc::new(FileStore::new(paths.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keychain_is_the_default_and_a_remembered_file_choice_is_undone_by_keychain() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path().join("lanyard"));
        // (LANYARD_STORE is unset in unit tests.)
        assert_eq!(chosen(&paths).unwrap(), StoreKind::Keychain);
        remember(&paths, StoreKind::File).unwrap();
        assert_eq!(chosen(&paths).unwrap(), StoreKind::File);
        remember(&paths, StoreKind::Keychain).unwrap();
        assert_eq!(chosen(&paths).unwrap(), StoreKind::Keychain);
    }
}
