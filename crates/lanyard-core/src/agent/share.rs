//! Which servers the forwarding socket serves: `agent-share.json` in the state directory,
//! `{"servers": ["NAME", …]}`. Nothing is shared unless the user says so per server.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::AgentError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    #[serde(default)]
    pub servers: BTreeSet<String>,
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

/// Share `server` with forwarded connections (`on`), or stop sharing it. Returns whether
/// anything changed.
pub fn set(state_dir: &Path, server: &str, on: bool) -> Result<bool, AgentError> {
    let fs_err = |e: crate::fsutil::FsError| AgentError::Share {
        detail: e.to_string(),
    };
    crate::fsutil::update_json(
        &file(state_dir),
        &state_dir.join("agent-share.lock"),
        || Ok(load(state_dir)),
        |s: &mut Shared| {
            Ok(if on {
                s.servers.insert(server.to_owned())
            } else {
                s.servers.remove(server)
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
        assert!(set(dir.path(), "docs", true).unwrap());
        assert!(!set(dir.path(), "docs", true).unwrap());
        assert!(load(dir.path()).servers.contains("docs"));
        assert!(set(dir.path(), "docs", false).unwrap());
        assert!(load(dir.path()).servers.is_empty());
    }
}
