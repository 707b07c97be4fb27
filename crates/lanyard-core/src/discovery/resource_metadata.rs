//! RFC 9728 Protected Resource Metadata: where to find it and what makes it valid.

use serde::{Deserialize, Serialize};
use url::Url;

/// A validated PRM document: `resource` already matched the server URL (RFC 9728 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMetadata {
    pub resource: Url,
    /// Never empty after validation.
    pub authorization_servers: Vec<Url>,
    pub scopes_supported: Option<Vec<String>>,
    pub bearer_methods_supported: Option<Vec<String>>,
    pub resource_name: Option<String>,
    /// Where this document was read from.
    pub metadata_url: Url,
}
