//! Step 1 of the flow: from a server URL to everything needed to sign in, without signing in.
//!
//! 401 + `WWW-Authenticate` ([`challenge`]) → Protected Resource Metadata, RFC 9728
//! ([`resource_metadata`]) → authorization server metadata, RFC 8414 / OIDC discovery
//! ([`auth_server`]). Every document is untrusted input: size-capped, type-checked, validated
//! against the rules of the spec before anything downstream sees it.
//!
//! Contract used by the rest of the crate (kept stable; the implementation may grow):
//! - [`discover`] runs the whole chain and returns a [`Discovery`] or a [`DiscoveryError`]
//!   naming the rule that failed.
//! - Every request it makes is recorded as a [`ProbeStep`] (also on failure, via
//!   [`DiscoveryError`]'s steps), which `lanyard probe` and the tray's timeline render.

pub mod auth_server;
pub mod challenge;
pub mod resource_metadata;

use serde::{Deserialize, Serialize};
use url::Url;

pub use auth_server::AuthServerMetadata;
pub use challenge::BearerChallenge;
pub use resource_metadata::ResourceMetadata;

/// Everything learnt about one MCP server before signing in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    /// The URL the user gave, normalised (this is what the PRM `resource` was checked against).
    pub server_url: Url,
    /// The `Bearer` challenge of the unauthenticated request, when the server sent one.
    pub challenge: Option<BearerChallenge>,
    /// Validated Protected Resource Metadata (RFC 9728).
    pub resource: ResourceMetadata,
    /// Validated metadata of the authorization server chosen from `resource.authorization_servers`.
    pub auth_server: AuthServerMetadata,
    /// The requests made, in order, for `lanyard probe` and the tray's timeline.
    pub steps: Vec<ProbeStep>,
}

impl Discovery {
    /// Scope to request, in the spec's order: the challenge's `scope`, else PRM
    /// `scopes_supported`, else none (the parameter is then omitted).
    pub fn scopes_to_request(&self) -> Vec<String> {
        if let Some(s) = self.challenge.as_ref().and_then(|c| c.scope.as_ref()) {
            return s.split_whitespace().map(str::to_owned).collect();
        }
        self.resource.scopes_supported.clone().unwrap_or_default()
    }
}

/// One request of the discovery chain, as shown to a person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeStep {
    /// Short name of the step: "challenge", "resource metadata", "authorization server", …
    pub step: String,
    pub method: String,
    pub url: String,
    /// HTTP status, or `None` when no answer came (connection refused, timeout, refused redirect).
    pub status: Option<u16>,
    pub millis: u64,
    /// What was learnt, or why this candidate was passed over / failed.
    pub outcome: String,
    pub ok: bool,
}
