//! Where Lanyard keeps its non-secret state (the one place that knows).
//!
//! Everything lives under one directory: the platform config dir from `directories`
//! (`$XDG_CONFIG_HOME/lanyard`, else `$HOME/.config/lanyard` on Linux), or `LANYARD_CONFIG_DIR`
//! when set (tests and portable installs).
//!
//! - `state.json`   servers, registrations, callback port ([`crate::servers::State`])
//! - `state.lock`   guards writers of `state.json`
//! - `install-id`   random id namespacing this install's keychain items
//! - `locks/`       one lock file per server for the cross-process refresh single flight

use std::path::{Path, PathBuf};

use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("Lanyard could not find a home or config directory for this user")]
    NoHome,
    #[error("Lanyard could not use its state directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl UserFacing for PathsError {
    fn code(&self) -> &'static str {
        match self {
            PathsError::NoHome => "paths.no-home",
            PathsError::Io { .. } => "paths.io",
        }
    }
    fn next_step(&self) -> String {
        match self {
            PathsError::NoHome => {
                "Set HOME (or XDG_CONFIG_HOME, or LANYARD_CONFIG_DIR) and run the command again."
                    .into()
            }
            PathsError::Io { path, .. } => format!(
                "Check that {} is writable by you (or set LANYARD_CONFIG_DIR to a writable directory) and try again.",
                path.display()
            ),
        }
    }
}

/// The state directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    dir: PathBuf,
}

impl Paths {
    /// The directory from the environment (see the module docs). Creates nothing.
    pub fn from_env() -> Result<Paths, PathsError> {
        if let Some(dir) = std::env::var_os("LANYARD_CONFIG_DIR").filter(|d| !d.is_empty()) {
            return Ok(Paths { dir: dir.into() });
        }
        let dirs = directories::ProjectDirs::from("", "", "lanyard").ok_or(PathsError::NoHome)?;
        Ok(Paths {
            dir: dirs.config_dir().to_path_buf(),
        })
    }

    /// State kept in an explicit directory.
    pub fn at(dir: impl Into<PathBuf>) -> Paths {
        Paths { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub fn state_lock(&self) -> PathBuf {
        self.dir.join("state.lock")
    }
    pub fn install_id_file(&self) -> PathBuf {
        self.dir.join("install-id")
    }
    pub fn locks_dir(&self) -> PathBuf {
        self.dir.join("locks")
    }
    /// The lock file of one server's refresh (the name is sanitised for the file system).
    pub fn server_lock(&self, server: &str) -> PathBuf {
        let safe: String = server
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.locks_dir().join(format!("{safe}.lock"))
    }

    /// Create the state directory (0700 on Unix) when missing.
    pub fn ensure_dir(&self) -> Result<(), PathsError> {
        let io = |source| PathsError::Io {
            path: self.dir.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(())
    }

    /// This install's id: read from `install-id`, created (randomly) on first use. Keychain
    /// items are namespaced by it, so parallel sandboxes sharing one Secret Service never mix.
    pub fn install_id(&self) -> Result<String, PathsError> {
        let file = self.install_id_file();
        if let Ok(id) = std::fs::read_to_string(&file) {
            let id = id.trim();
            if !id.is_empty() && id.len() <= 64 {
                return Ok(id.to_owned());
            }
        }
        self.ensure_dir()?;
        let id = random_hex(12);
        let io = |source| PathsError::Io {
            path: file.clone(),
            source,
        };
        // Written atomically and never over another's, so a concurrent first run reads a
        // whole id and both end up with the same one.
        let staged = crate::fsutil::Staged::write(&file, id.as_bytes(), |_| Ok(()))
            .map_err(|e| io(e.source))?;
        if staged.commit_new(&file).map_err(|e| io(e.source))? {
            Ok(id)
        } else {
            // Another process won the race: use its id.
            std::fs::read_to_string(&file)
                .map(|s| s.trim().to_owned())
                .map_err(io)
        }
    }
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_id_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path().join("cfg"));
        let a = paths.install_id().unwrap();
        let b = paths.install_id().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 24);
    }

    #[test]
    fn server_lock_names_are_file_safe() {
        let paths = Paths::at("/x");
        assert_eq!(
            paths.server_lock("a/b c"),
            PathBuf::from("/x/locks/a_b_c.lock")
        );
    }
}
