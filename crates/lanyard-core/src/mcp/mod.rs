//! Step 5: talking MCP over Streamable HTTP with the bearer token — a `server/discover` probe
//! (2026-07-28: per-request `_meta`, no session), else `initialize` (2025 revisions), then
//! `tools/list`, `tools/call`.
//!
//! Why not `rmcp`: rmcp 3.x's streamable HTTP client is built on reqwest 0.13 (a second HTTP
//! stack beside the workspace's 0.12 and the guarded client), runs a background service task
//! per connection, and hides the raw 401/403 + `WWW-Authenticate` handling that scope step-up,
//! refresh-on-401 and custom token header names (`X-Authorization`) need. The subset Lanyard
//! uses — one request/response at a time, JSON or SSE answers — is small enough to own.

mod client;
pub mod sse;

pub use client::{McpClient, McpError, Negotiated, Tool};
