//! The agent: the running engine (`lanyard daemon`, the tray) serves access tokens over a Unix
//! socket, the way ssh-agent serves keys. Local callers (`lanyard token`, the headers helper,
//! `lanyard bridge`) ask it first, so a burst of assistants costs no keychain reads; a remote
//! machine reaches it through a forwarded socket (`ssh -R REMOTE.sock:LAPTOP.sock`) and keeps
//! nothing: no state file, no keychain, no refresh token. The laptop's refresh path
//! ([`crate::tokens::obtain`]) stays the only one.
//!
//! Two sockets, both in a 0700 folder `agent/` of the state directory, 0600 themselves:
//! - `local.sock` serves every saved server, to this user's processes;
//! - `forward.sock` is the one to forward, and serves only the servers the user shared with
//!   remotes (`lanyard agent share NAME`, kept in `agent-share.json`). A socket cannot tell a
//!   forwarded caller from a local one, so the choice is made by which socket is forwarded.
//!
//! - [`protocol`]: one JSON line asked, one answered.
//! - [`share`]: which servers a forwarded socket serves.
//! - [`server`]: the listener, answering from memory and falling back to the keychain path.
//! - [`client`]: asking a socket (`LANYARD_AGENT_SOCK`, else the local engine's).
//! - [`credentials`]: the bridge's header from the agent.
//! - [`error`]: what can fail, [`error::AgentError`].
//!
//! Without Unix sockets (Windows) there is no agent: [`server`] is `unsupported.rs`, whose
//! `start` fails with [`AgentError::Unsupported`]; the engine runs without it, callers find no
//! socket and use the keychain path, and `lanyard agent` says the platform does not support it.

pub mod client;
pub mod credentials;
pub mod error;
pub mod protocol;
#[cfg(unix)]
pub mod server;
#[cfg(not(unix))]
#[path = "unsupported.rs"]
pub mod server;
pub mod share;

pub use client::{Agent, Found};
pub use error::AgentError;
pub use server::AgentServer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

/// The variable naming a forwarded agent socket (like `SSH_AUTH_SOCK`).
pub const SOCK_ENV: &str = "LANYARD_AGENT_SOCK";

/// The folder of the sockets in a state directory.
pub fn socket_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("agent")
}

/// The socket serving every server to local callers.
pub fn local_socket(state_dir: &Path) -> PathBuf {
    socket_dir(state_dir).join("local.sock")
}

/// The socket to forward to remote machines: only shared servers.
pub fn forward_socket(state_dir: &Path) -> PathBuf {
    socket_dir(state_dir).join("forward.sock")
}
