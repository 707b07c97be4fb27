//! The MCP wire module: everything Lanyard says to an MCP server over Streamable HTTP.
//!
//! - `protocol`: the revisions, the 2026-07-28 `_meta` envelope, the one builder of request
//!   headers (`MCP-Protocol-Version`, `Mcp-Session-Id`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`).
//! - `tool_headers`: the `x-mcp-header` tool annotations behind the `Mcp-Param-*` headers.
//! - `sse`: the one size-capped event-stream reader.
//! - `client`: one request at a time, for `lanyard call`/`tools` and `add`'s first call —
//!   a `server/discover` probe (2026-07-28: per-request `_meta`, no session), else
//!   `initialize` (2025 revisions), then `tools/list`, `tools/call`.
//! - `bridge`: the stdio MCP server assistants start (`lanyard bridge NAME`), forwarding
//!   every message both ways.
//!
//! Why not `rmcp`: rmcp 3.x's streamable HTTP client builds its own reqwest client (outside the
//! guarded one: no URL policy, size caps or corporate trust settings), runs a background service
//! task per connection, and hides the raw 401/403 + `WWW-Authenticate` handling that scope
//! step-up, refresh-on-401 and custom token header names (`X-Authorization`) need. The subset Lanyard
//! uses — one request/response at a time, JSON or SSE answers — is small enough to own.

pub mod bridge;
mod client;
pub mod protocol;
pub mod sse;
pub mod tool_headers;

pub use client::{McpClient, McpError, Negotiated, Tool};
