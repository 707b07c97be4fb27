//! The agent where there are no Unix sockets (Windows): the engine runs without it, and callers
//! use the keychain path themselves. Same interface as the Unix listener, so the engine does not
//! care which platform it is on.

use std::path::PathBuf;
use std::sync::Arc;

use super::error::AgentError;
use crate::servers::StateFile;
use crate::tokens::SecretStore;

/// Never started: [`AgentServer::start`] says the platform does not support it.
pub struct AgentServer {
    sockets: Vec<PathBuf>,
}

impl AgentServer {
    pub fn start(
        _state_file: StateFile,
        _secrets: Arc<dyn SecretStore>,
    ) -> Result<AgentServer, AgentError> {
        Err(AgentError::Unsupported)
    }

    pub fn forget(&self, _server: &str) {}

    pub fn forget_all(&self) {}

    pub fn sockets(&self) -> &[PathBuf] {
        &self.sockets
    }
}
