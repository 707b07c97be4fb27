//! Lanyard's engine: MCP authorization discovery, registration, sign-in, keychain tokens,
//! assistant configs. Nothing here depends on a GUI toolkit: the CLI and the tray app are thin
//! shells over [`api::Lanyard`] and [`daemon::Daemon`].
//!
//! Data flows one way, upward; a module uses the ones below it and never one above:
//!
//! ```text
//! cleanup                       undoes what everything below created (uninstall, prune)
//! ides · daemon                 assistant configs and their watcher · the refresh scheduler
//! agent                         tokens served over a Unix socket (local, and forwarded to remotes)
//! api                           `Lanyard`, the facade the shells call: add, session, sign-out, views
//! mcp                           the MCP wire: protocol, SSE, client, stdio bridge
//! registry                      MCP Registry API: list a catalogue, judge its server.json entries
//! enterprise                    company IdP session; ID-JAG token exchange and redemption
//! tokens                        keychain tokens; refresh and revocation under the server's lock
//! servers                       the state file: servers and registrations
//! registration · authorization  MCP authorization: client id (DCR, CIMD), browser sign-in
//! discovery                     challenge → Protected Resource Metadata → AS metadata
//! http                          the one guarded way to the network
//! error · paths · fsutil        user-facing errors · where state lives · locked, atomic writes
//! ```
//!
//! `scripts/lint-cycles` (run by `scripts/test`) fails when two modules import each other, at
//! the level of files and of these top-level modules. Where each mechanism lives and where a
//! change goes: `docs/architecture.md`.

// Error enums carry the URLs they are about (for the one-paragraph messages); they are only
// built on the cold path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod error;
pub mod fsutil;
pub mod http;
pub mod paths;

pub mod agent;
pub mod api;
pub mod appimage;
pub mod authorization;
pub mod cleanup;
pub mod daemon;
pub mod discovery;
pub mod enterprise;
pub mod ides;
pub mod mcp;
pub mod registration;
pub mod registry;
pub mod servers;
pub mod tokens;

pub use error::{Error, Result};
