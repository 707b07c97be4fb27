//! Which servers the forwarding socket serves: `agent-share.json` in the state directory,
//! `{"servers": {"NAME": ADDED_AT, …}}`. Nothing is shared unless the user says so per server.
//! A share names the server as it was added (its `added_at`): a server removed and added again
//! under the same name is not shared until the user shares it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::AgentError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    #[serde(default)]
    pub servers: BTreeMap<String, i64>,
}

impl Shared {
    /// Whether `server` (added at `added_at`) is shared.
    pub fn allows(&self, server: &str, added_at: i64) -> bool {
        self.servers.get(server) == Some(&added_at)
    }
}

fn file(state_dir: &Path) -> PathBuf {
    state_dir.join("agent-share.json")
}

/// The shared servers; a missing or unreadable file shares nothing.
pub fn load(state_dir: &Path) -> Shared {
    std::fs::read(file(state_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Share `server` (added at `added_at`) with forwarded connections (`Some`), or stop sharing it
/// (`None`). Returns whether anything changed.
pub fn set(state_dir: &Path, server: &str, added_at: Option<i64>) -> Result<bool, AgentError> {
    let fs_err = |e: crate::fsutil::FsError| AgentError::Share {
        detail: e.to_string(),
    };
    crate::fsutil::update_json(
        &file(state_dir),
        &state_dir.join("agent-share.lock"),
        || Ok(load(state_dir)),
        |s: &mut Shared| {
            Ok(match added_at {
                Some(at) => s.servers.insert(server.to_owned(), at) != Some(at),
                None => s.servers.remove(server).is_some(),
            })
        },
        fs_err,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_shared_until_the_user_shares_it_and_unsharing_takes_it_back() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).servers.is_empty());
        assert!(set(dir.path(), "docs", Some(7)).unwrap());
        assert!(!set(dir.path(), "docs", Some(7)).unwrap());
        assert!(load(dir.path()).allows("docs", 7));
        assert!(set(dir.path(), "docs", None).unwrap());
        assert!(load(dir.path()).servers.is_empty());
    }

    #[test]
    fn a_server_added_again_under_a_shared_name_is_not_shared() {
        let dir = tempfile::tempdir().unwrap();
        set(dir.path(), "docs", Some(7)).unwrap();
        assert!(!load(dir.path()).allows("docs", 8));
    }
}
