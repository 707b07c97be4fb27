//! A small Streamable HTTP MCP client (one request at a time): `connection` (the handshake and
//! the calls), `transport` (one message over HTTP and its answer), `error` (`McpError`).

mod connection;
mod error;
mod transport;

pub use connection::{McpClient, Negotiated, Tool};
pub use error::McpError;

#[cfg(test)]
mod tests;
