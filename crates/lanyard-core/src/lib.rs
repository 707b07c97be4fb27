//! Lanyard's engine. One module per step of the MCP authorization flow; data flows one way:
//!
//! `discovery` → `registration` → `authorization` → `tokens` → `servers` → `mcp` → `ides` → `watch`,
//! with `cleanup` undoing what the others created. `http` is the one guarded way to the network,
//! `paths` the one place that knows where state lives, `error` the user-facing error type.
//! Nothing here depends on a GUI toolkit: the CLI and the tray app are thin shells over it.

// Error enums carry the URLs they are about (for the one-paragraph messages); they are only
// built on the cold path, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod error;
pub mod http;
pub mod paths;

pub mod api;
pub mod appimage;
pub mod authorization;
pub mod cleanup;
pub mod daemon;
pub mod discovery;
pub mod ides;
pub mod mcp;
pub(crate) mod net;
pub mod registration;
pub mod servers;
pub mod tokens;

pub use error::{Error, Result};
