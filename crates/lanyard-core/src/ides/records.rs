//! What Lanyard connected where: `ide-connections.json` under the state dir (beside the core's
//! `state.json`, which stays the record of servers). Replaced atomically under a lock file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::text::{Created, Format};
use super::{Ide, IdeError, Mode, Scope};
use crate::paths::Paths;

/// One server connected to one assistant's config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub server: String,
    pub ide: Ide,
    pub scope: Scope,
    pub file: PathBuf,
    /// Path of the servers object in the file (`["mcpServers"]`, `["projects", root, …]`).
    pub container: Vec<String>,
    pub format: Format,
    pub mode: Mode,
    /// Static mode: the header carrying the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Native mode: the client id handed to the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Native mode: the loopback callback port handed to the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_port: Option<u16>,
    /// Native mode: the entry carries a client secret (kept in the keychain too, so a repair
    /// writes it back instead of removing it; the file is private, 0600).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub native_secret: bool,
    /// Containers (`mcpServers`, …) our first write created, removed again on disconnect.
    #[serde(default)]
    pub created: Created,
    /// The file did not exist before our first write.
    #[serde(default)]
    pub created_file: bool,
    pub status: ConnectionStatus,
    /// Unix seconds.
    pub connected_at: i64,
}

/// Whether our entry is meant to be there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionStatus {
    Connected,
    /// The user deleted our entry; shown as "disconnected in Cursor", never silently re-added.
    RemovedByUser {
        at: i64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    #[serde(default)]
    pub connections: Vec<Connection>,
}

impl Records {
    pub fn find(&self, server: &str, ide: Ide, file: &std::path::Path) -> Option<&Connection> {
        self.connections
            .iter()
            .find(|c| c.server == server && c.ide == ide && c.file == file)
    }
    pub fn find_mut(
        &mut self,
        server: &str,
        ide: Ide,
        file: &std::path::Path,
    ) -> Option<&mut Connection> {
        self.connections
            .iter_mut()
            .find(|c| c.server == server && c.ide == ide && c.file == file)
    }
    pub fn put(&mut self, c: Connection) {
        match self.find_mut(&c.server, c.ide, &c.file.clone()) {
            Some(slot) => *slot = c,
            None => self.connections.push(c),
        }
    }
    pub fn remove(&mut self, server: &str, ide: Ide, file: &std::path::Path) {
        self.connections
            .retain(|c| !(c.server == server && c.ide == ide && c.file == file));
    }
    pub fn of_server(&self, server: &str) -> impl Iterator<Item = &Connection> {
        self.connections.iter().filter(move |c| c.server == server)
    }
}

/// The records file.
#[derive(Debug, Clone)]
pub struct RecordsFile {
    paths: Paths,
}

impl RecordsFile {
    pub fn new(paths: Paths) -> RecordsFile {
        RecordsFile { paths }
    }
    pub fn paths(&self) -> &Paths {
        &self.paths
    }
    pub fn path(&self) -> PathBuf {
        self.paths.dir().join("ide-connections.json")
    }
    /// Where pre-Lanyard copies of config files go.
    pub fn backup_dir(&self) -> PathBuf {
        self.paths.dir().join("ide-backups")
    }

    pub fn load(&self) -> Result<Records, IdeError> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| IdeError::Records {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Records::default()),
            Err(e) => Err(IdeError::io(&path, e)),
        }
    }

    /// Read-modify-write under a lock; the closure's error aborts without writing.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut Records) -> Result<T, IdeError>,
    ) -> Result<T, IdeError> {
        let dir = self.paths.dir().to_path_buf();
        self.paths.ensure_dir().map_err(|e| IdeError::Io {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        crate::fsutil::update_json(
            &self.path(),
            &dir.join("ide-connections.lock"),
            || self.load(),
            f,
            IdeError::from,
        )
    }
}
