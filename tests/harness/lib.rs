//! The test world: starts and stops the real components the end-to-end tests talk to.
//!
//! - [`World`]: the Node test world (oidc-provider issuers, MCP servers, admin API).
//! - [`Sandbox`]: a throwaway user (HOME, XDG dirs, IDE config dirs, private Secret Service,
//!   scripted browser) that runs the `lanyard` binary.
//! - [`Stack`]: an independent MCP auth stack of the interop matrix (FastMCP, the Python SDK,
//!   better-auth) with its admin API.
//! - [`http`]: a tiny loopback HTTP client for the tests' own requests.

// Test code through and through: a helper whose setup fails should panic with the value, like
// the tests that call it (clippy.toml allows unwrap/expect only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod enterprise;
pub mod http;
pub mod keyring;
pub mod sandbox;
pub mod stack;
pub mod world;

/// Proxies and a private CA for the corporate-network tests.
pub mod corpnet;

pub use enterprise::EnterpriseWorld;
pub use sandbox::{Run, Sandbox, lanyard_bin};
pub use serde_json::{Value, json};
pub use stack::{Stack, StackKind};
pub use world::{Counts, World, browser_path, tests_dir};
