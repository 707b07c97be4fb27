//! `lanyard bridge NAME`: a stdio MCP server that forwards every JSON-RPC message to the remote
//! server over Streamable HTTP with a fresh token (`--url URL`: with none, for a server that
//! needs no sign-in).
//!
//! - stdin → one POST per message (concurrently, so a client can answer a server's request
//!   while a tool call is still streaming); `initialize` is awaited before the next message so the
//!   session id is known. Every request carries the headers of
//!   [`protocol::headers`](crate::mcp::protocol::headers):
//!   `Mcp-Method`, `Mcp-Name`, and the `Mcp-Param-*` headers the tools' `x-mcp-header`
//!   annotations designate (a `tools/list` answer loses the tools whose annotations are
//!   malformed; a call of a tool never listed is preceded by a `tools/list` of the bridge's own).
//! - Answers come back as JSON (single or batch) or as an SSE stream; every message in them —
//!   responses, and server-to-client requests and notifications — goes to stdout as one line.
//!   A stream that ends before its response is resumed with GET and `Last-Event-ID` after the
//!   server's `retry:` (SEP-1699).
//! - 2025-06-18 / 2025-11-25: `Mcp-Session-Id` and `MCP-Protocol-Version` headers, a GET event
//!   stream for server-initiated messages (405 means the server has none), DELETE on exit, and a
//!   quiet re-initialize when the server forgets the session (404).
//! - 2026-07-28: stateless POSTs with `MCP-Protocol-Version`. A client that speaks 2026-07-28
//!   itself (`server/discover`, `_meta` envelope) is forwarded as it is. A 2025 client's
//!   `initialize` is first turned into a `server/discover` probe (asked again when the server
//!   refuses the version but lists 2026-07-28): when the server speaks 2026-07-28 alone, the
//!   bridge answers `initialize` itself from the discover result and wraps each later request
//!   in the `_meta` envelope (protocol version, the client's `clientInfo` and capabilities);
//!   `ping` is answered locally and `notifications/initialized` dropped, as the revision has
//!   neither. An `input_required` result (SEP-2322) is answered for the client: its input
//!   requests go to the client as ordinary server-to-client requests, and the request is sent
//!   again with a new id, the answers and the server's `requestState` untouched. Otherwise the
//!   `initialize` is forwarded and the 2025 session runs as above.
//! - 401: one forced refresh of the token and one retry; then a JSON-RPC error telling the user
//!   to sign in again. 403 `insufficient_scope`: one step-up through [`Credentials::step_up`].
//!
//! The parts, from the assistant's side down: `stdio` (the line framing and the run loop),
//! `translate` (`initialize`, the 2026-07-28 translation), `forward` (one message and its
//! answer), `request_state` (SEP-2322 input rounds), `tools` (`x-mcp-header` designations),
//! `session` (re-initialize, DELETE), `get_stream` (GET event streams, resuming), `send` (one
//! HTTP request: headers, refresh, step-up), `body` (capped reading), `state` (what the tasks
//! share), `message` (JSON-RPC shapes), `credentials` and `error`.

mod body;
mod credentials;
mod error;
mod forward;
mod get_stream;
mod message;
mod request_state;
mod send;
mod session;
mod state;
mod stdio;
mod tools;
mod translate;

pub use body::MAX_MESSAGE;
pub use credentials::{Anonymous, Credentials, HeaderFuture};
pub use error::BridgeError;
pub use stdio::{run, run_with};

#[cfg(test)]
mod tests;
