//! RFC 9110 §11.6.1 `WWW-Authenticate` parsing: several challenges in one header, quoted
//! strings with escapes, commas inside quotes, token68, any case for scheme and parameter names.

use serde::{Deserialize, Serialize};

/// The `Bearer` challenge's parameters that MCP authorization uses (RFC 6750, RFC 9728 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BearerChallenge {
    pub realm: Option<String>,
    /// RFC 9728 `resource_metadata`: where the Protected Resource Metadata lives.
    pub resource_metadata: Option<String>,
    /// Space-separated scopes the server wants (used first when choosing scopes).
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, …
    pub error: Option<String>,
    pub error_description: Option<String>,
}
