//! The failures that stop the bridge itself.

use crate::error::UserFacing;

/// Failures that stop the bridge itself (per-message failures become JSON-RPC errors).
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("The bridge could not read its input: {0}")]
    Stdin(String),
    #[error("The bridge could not write its output: {0}")]
    Stdout(String),
    #[error("the MCP server asks for a sign-in")]
    SignInNeeded,
    #[error("the MCP server needs more permissions than the token carries (insufficient_scope{})", if .scope.is_empty() { String::new() } else { format!("; it asks for \"{}\"", .scope) })]
    NeedsScope { scope: String },
}

impl UserFacing for BridgeError {
    fn code(&self) -> &'static str {
        match self {
            BridgeError::Stdin(..) => "bridge.stdin",
            BridgeError::Stdout(..) => "bridge.stdout",
            BridgeError::SignInNeeded => "bridge.sign-in-needed",
            BridgeError::NeedsScope { .. } => "bridge.needs-scope",
        }
    }
    fn next_step(&self) -> String {
        match self {
            BridgeError::SignInNeeded => "Add the server with `lanyard add URL` (it signs you in), then bridge it by name: `lanyard bridge NAME`.".into(),
            BridgeError::NeedsScope { .. } => "Ask your admin to grant you the scope the server asks for, then sign in again with `lanyard login NAME`.".into(),
            _ => "The assistant that started `lanyard bridge` closed its pipes; restart the assistant's MCP server.".into(),
        }
    }
}
