//! One MCP connection as its callers see it: the handshake (`server/discover`, else
//! `initialize`), `tools/list` and `tools/call`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::error::McpError;
use crate::mcp::protocol::{self, LEGACY_VERSIONS, MODERN_VERSION};
use crate::mcp::tool_headers::ToolHeaders;

/// A tool as listed by the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        rename = "inputSchema",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_schema: Option<Value>,
}

/// What was agreed with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// Before any handshake.
    None,
    /// `initialize` happened; the version the server chose.
    Legacy(String),
    /// 2026-07-28: no session, `_meta` on every request.
    Modern(String),
}

/// One MCP connection.
pub struct McpClient {
    pub(super) http: reqwest::Client,
    pub(super) url: Url,
    pub(super) header_name: String,
    pub(super) header_value: String,
    pub(super) session_id: Option<String>,
    pub(super) negotiated: Negotiated,
    pub(super) next_id: i64,
    pub(super) server_info: Option<Value>,
    /// The `x-mcp-header` designations of the tools listed so far.
    pub(super) tools: ToolHeaders,
    /// The key a DPoP-bound token (`DPoP …` header value) is proved with (RFC 9449 §7).
    pub(super) dpop: Option<crate::tokens::dpop::Dpop>,
}

impl McpClient {
    /// `header_name`/`header_value`: usually `Authorization` / `Bearer …`.
    pub fn new(
        http: reqwest::Client,
        url: Url,
        header_name: &str,
        header_value: String,
    ) -> McpClient {
        McpClient {
            http,
            url,
            header_name: header_name.to_owned(),
            header_value,
            session_id: None,
            negotiated: Negotiated::None,
            next_id: 1,
            server_info: None,
            tools: ToolHeaders::default(),
            dpop: None,
        }
    }

    /// A client sending no credential (to learn the server's challenge).
    pub fn anonymous(http: reqwest::Client, url: Url) -> McpClient {
        McpClient::new(http, url, "", String::new())
    }

    /// The endpoint as it answers now: the URL given, or where the server's same-origin
    /// 307/308 settled it (`…/mcp/` → `…/mcp`).
    pub fn url(&self) -> &Url {
        &self.url
    }
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }
    pub fn server_info(&self) -> Option<&Value> {
        self.server_info.as_ref()
    }
    /// The DPoP key of the server, for a DPoP-bound token: each request then carries a proof.
    pub fn set_dpop(&mut self, dpop: Option<crate::tokens::dpop::Dpop>) {
        self.dpop = dpop;
    }

    /// Replace the credential (after a refresh or step-up) and start over.
    pub fn set_auth(&mut self, header_value: String) {
        self.header_value = header_value;
        self.session_id = None;
        self.negotiated = Negotiated::None;
    }

    /// Handshake, the way the 2026-07-28 revision asks negotiating clients to do it: probe with
    /// `server/discover` (carrying the per-request `_meta` envelope and the modern headers); a
    /// server that lists 2026-07-28 in `supportedVersions` is spoken to without `initialize`.
    /// Any other answer (a 2025 server refuses the unknown method or the version header) falls
    /// back to `initialize` (2025-11-25 / 2025-06-18 / 2025-03-26). Auth and network errors are
    /// returned as they are, from whichever request met them.
    pub async fn connect(&mut self) -> Result<(), McpError> {
        match self.discover().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(
                e @ (McpError::Unauthorized { .. }
                | McpError::InsufficientScope { .. }
                | McpError::Network { .. }),
            ) => return Err(e),
            Err(_) => {}
        }
        self.initialize().await
    }

    /// `server/discover`: `Ok(true)` when the server speaks 2026-07-28 (and it is now the
    /// negotiated revision), `Ok(false)` when it answered but does not list it. A refusal of
    /// the version that lists 2026-07-28 as supported (a server may refuse a client's first
    /// choice) is answered by asking once more.
    async fn discover(&mut self) -> Result<bool, McpError> {
        let mut answer;
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.negotiated = Negotiated::Modern(MODERN_VERSION.to_owned());
            answer = self.request_raw("server/discover", json!({})).await;
            self.negotiated = Negotiated::None;
            match &answer {
                Err(McpError::Rpc { code, .. })
                    if *code == protocol::UNSUPPORTED_VERSION && attempts < 2 => {}
                _ => break,
            }
        }
        let (result, _) = answer?;
        if !protocol::supported_versions(&result).contains(&MODERN_VERSION) {
            return Ok(false);
        }
        self.server_info = protocol::server_info(&result);
        self.session_id = None;
        self.negotiated = Negotiated::Modern(MODERN_VERSION.to_owned());
        Ok(true)
    }

    /// The 2025 handshake: `initialize`, then `notifications/initialized`.
    async fn initialize(&mut self) -> Result<(), McpError> {
        let params = json!({
            "protocolVersion": LEGACY_VERSIONS[0],
            "capabilities": {},
            "clientInfo": protocol::lanyard_client_info(),
        });
        let (result, session) = self.request_raw("initialize", params).await?;
        let version = result
            .get("protocolVersion")
            .and_then(|v| v.as_str())
            .unwrap_or(LEGACY_VERSIONS[0])
            .to_owned();
        self.server_info = result.get("serverInfo").cloned();
        self.session_id = session;
        if version.as_str() >= MODERN_VERSION {
            self.negotiated = Negotiated::Modern(version);
            return Ok(());
        }
        if !LEGACY_VERSIONS.contains(&version.as_str()) && version.as_str() < "2024-11-05" {
            return Err(McpError::Protocol {
                url: self.url.clone(),
                detail: format!(
                    "it chose protocol version {version}, which Lanyard does not speak"
                ),
            });
        }
        self.negotiated = Negotiated::Legacy(version);
        self.notify("notifications/initialized").await
    }

    /// `tools/list`, following `nextCursor`.
    pub async fn list_tools(&mut self) -> Result<Vec<Tool>, McpError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let mut result = self.request("tools/list", params).await?;
            for r in self.tools.learn(&mut result) {
                tracing::warn!("{}: tool \"{}\" left out: {}", self.url, r.tool, r.why);
            }
            let page: Vec<Tool> = result
                .get("tools")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| McpError::Protocol {
                    url: self.url.clone(),
                    detail: format!("tools/list result: {e}"),
                })?
                .unwrap_or_default();
            tools.extend(page);
            cursor = result
                .get("nextCursor")
                .and_then(|c| c.as_str())
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        Ok(tools)
    }

    /// `tools/call`; the result as the server sent it (`content`, `isError`, …). A tool no
    /// listing has shown yet is listed first: its `x-mcp-header` annotations say which
    /// arguments the call carries as headers.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value, McpError> {
        // Best effort: a server that cannot list still gets the call; a refused credential or
        // a dead network ends here as it would on the call.
        if !self.tools.knows(name)
            && let Err(
                e @ (McpError::Unauthorized { .. }
                | McpError::InsufficientScope { .. }
                | McpError::Network { .. }
                | McpError::CrossOriginRedirect { .. }),
            ) = self.list_tools().await
        {
            return Err(e);
        }
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, McpError> {
        if self.negotiated == Negotiated::None {
            self.connect().await?;
        }
        self.request_raw(method, params).await.map(|(v, _)| v)
    }
}
