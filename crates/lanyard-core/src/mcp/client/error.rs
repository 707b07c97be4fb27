//! How a conversation with an MCP server fails, for the user.

use url::Url;

use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("the MCP server {url} refused the token (HTTP 401)")]
    Unauthorized {
        url: Url,
        www_authenticate: Option<String>,
    },
    #[error("the MCP server {url} needs more permissions than the token carries (insufficient_scope{})", .scope.as_ref().map(|s| format!("; it asks for \"{s}\"")).unwrap_or_default())]
    InsufficientScope {
        url: Url,
        scope: Option<String>,
        www_authenticate: Option<String>,
    },
    #[error("the MCP server {url} answered HTTP {status}: {body}")]
    Http { url: Url, status: u16, body: String },
    #[error("could not reach the MCP server {url}: {detail}")]
    Network { url: Url, detail: String },
    #[error("the MCP server {url} broke the protocol: {detail}")]
    Protocol { url: Url, detail: String },
    #[error("the MCP server {url} answered {method} with error {code}: {message}")]
    Rpc {
        url: Url,
        method: String,
        code: i64,
        message: String,
    },
    #[error("the MCP server {url} has no tool named \"{tool}\"")]
    NoSuchTool { url: Url, tool: String },
    #[error("the MCP server {url} redirects to {location}, which is not on the same origin")]
    CrossOriginRedirect { url: Url, location: String },
    #[error("Lanyard could not sign the DPoP proof for {url}: {detail}")]
    Proof { url: Url, detail: String },
}

impl UserFacing for McpError {
    fn code(&self) -> &'static str {
        match self {
            McpError::Unauthorized { .. } => "mcp.unauthorized",
            McpError::InsufficientScope { .. } => "mcp.insufficient-scope",
            McpError::Http { .. } => "mcp.http",
            McpError::Network { .. } => "mcp.network",
            McpError::Protocol { .. } => "mcp.protocol",
            McpError::Rpc { .. } => "mcp.rpc",
            McpError::NoSuchTool { .. } => "mcp.no-such-tool",
            McpError::CrossOriginRedirect { .. } => "mcp.cross-origin-redirect",
            McpError::Proof { .. } => "mcp.dpop-proof",
        }
    }
    fn next_step(&self) -> String {
        match self {
            McpError::Unauthorized { .. } => "Sign in again with `lanyard login NAME`; if it keeps failing, the server does not accept tokens from this identity provider — check the server URL with `lanyard probe URL`.".into(),
            McpError::InsufficientScope { .. } => "Ask your admin to grant you the scope the server asks for, then run `lanyard login NAME`.".into(),
            McpError::Http { status, .. } if *status >= 500 => "The server has a problem; try again later or tell its admin.".into(),
            McpError::Http { .. } => "Check the server URL (it must be the MCP endpoint, usually ending in /mcp).".into(),
            McpError::Network { .. } => "Check your network connection and that the server is up, then try again.".into(),
            McpError::Protocol { .. } => "This server does not speak MCP Streamable HTTP correctly; tell its admin.".into(),
            McpError::Rpc { .. } => "Check the tool name and arguments (`lanyard tools NAME` lists them).".into(),
            McpError::NoSuchTool { .. } => "Run `lanyard tools NAME` to see the server's tools.".into(),
            McpError::Proof { .. } => "Sign the server in again with `lanyard login NAME` (a new DPoP key is made for it).".into(),
            McpError::CrossOriginRedirect { location, .. } => format!("Lanyard sends tokens only to the origin you added. If you trust {location}, add that URL instead (`lanyard add {location}`)."),
        }
    }
}
