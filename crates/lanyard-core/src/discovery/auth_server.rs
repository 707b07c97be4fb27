//! Authorization server metadata: RFC 8414 and OpenID Connect discovery, tried in the MCP
//! spec's order; the `issuer` must equal the identifier it was looked up by.

use serde::{Deserialize, Serialize};
use url::Url;

/// Validated authorization server metadata (issuer checked, endpoints parsed and allowed,
/// `S256` among `code_challenge_methods_supported`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthServerMetadata {
    pub issuer: Url,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub registration_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub scopes_supported: Option<Vec<String>>,
    pub response_types_supported: Vec<String>,
    pub grant_types_supported: Option<Vec<String>>,
    pub code_challenge_methods_supported: Vec<String>,
    /// Defaults to `["client_secret_basic"]` when absent (RFC 8414 §2).
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// CIMD (MCP 2025-11-25+).
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: when true, the authorization response must carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// Where this document was read from.
    pub metadata_url: Url,
}
