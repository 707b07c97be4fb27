//! A small Streamable HTTP MCP client (one request at a time).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::discovery::BearerChallenge;
use crate::error::UserFacing;
use crate::http;
use crate::mcp::protocol::{self, LEGACY_VERSIONS, MODERN_VERSION, Request};
use crate::mcp::sse::SseParser;
use crate::mcp::tool_headers::ToolHeaders;

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
            McpError::CrossOriginRedirect { location, .. } => format!("Lanyard sends tokens only to the origin you added. If you trust {location}, add that URL instead (`lanyard add {location}`)."),
        }
    }
}

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
    http: reqwest::Client,
    url: Url,
    header_name: String,
    header_value: String,
    session_id: Option<String>,
    negotiated: Negotiated,
    next_id: i64,
    server_info: Option<Value>,
    /// The `x-mcp-header` designations of the tools listed so far.
    tools: ToolHeaders,
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

    fn base(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut req = self.http.post(self.url.clone());
        if !self.header_name.is_empty() {
            req = req.header(self.header_name.as_str(), self.header_value.as_str());
        }
        let version = match &self.negotiated {
            Negotiated::Legacy(v) | Negotiated::Modern(v) => Some(v.as_str()),
            Negotiated::None => None,
        };
        let headers = protocol::headers(
            Request::Post(body),
            version,
            self.session_id.as_deref(),
            &self.tools,
        );
        protocol::apply(req, headers)
    }

    /// POST one message. A same-origin 307/308 (Starlette's slash redirect: what people paste
    /// ends in `/mcp/`) is followed with the same method, body and credential, and the endpoint
    /// is settled there for the rest of the connection; another origin is refused, the token
    /// never sent there.
    async fn post(&mut self, body: &Value) -> Result<reqwest::Response, McpError> {
        const MAX_HOPS: usize = 3;
        for _ in 0..MAX_HOPS {
            let resp = self
                .base(body)
                .json(body)
                .send()
                .await
                .map_err(|e| self.net_err(&e))?;
            if !matches!(resp.status().as_u16(), 307 | 308) {
                return Ok(resp);
            }
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let target = self.url.join(&location).ok().filter(|t| {
                t.origin() == self.url.origin() && matches!(t.scheme(), "http" | "https")
            });
            match target {
                Some(t) if t != self.url => {
                    tracing::info!("{} moved to {t}", self.url);
                    self.url = t;
                }
                _ => {
                    return Err(McpError::CrossOriginRedirect {
                        url: self.url.clone(),
                        location,
                    });
                }
            }
        }
        Err(self.proto(format!("more than {MAX_HOPS} redirects")))
    }

    async fn notify(&mut self, method: &str) -> Result<(), McpError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let resp = self.post(&body).await?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(self.status_err(resp).await)
    }

    /// Send one request; the result and the session id header, if any.
    async fn request_raw(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<(Value, Option<String>), McpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Negotiated::Modern(_) = &self.negotiated {
            protocol::wrap(
                &mut body,
                &protocol::envelope(protocol::lanyard_client_info(), json!({})),
            );
        }
        let resp = self.post(&body).await?;
        let status = resp.status().as_u16();
        if status == 400 {
            return Err(self.bad_request(method, resp).await);
        }
        if !(200..300).contains(&status) {
            return Err(self.status_err(resp).await);
        }
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let message = if ctype.starts_with("text/event-stream") {
            self.read_sse(resp, id).await?
        } else {
            let bytes = http::read_capped(resp, http::MAX_OAUTH_BODY, &self.url)
                .await
                .map_err(|e| self.proto(e.to_string()))?;
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| self.proto(format!("{method} answer is not JSON ({e})")))?;
            match v {
                Value::Array(items) => items
                    .into_iter()
                    .find(|m| m.get("id") == Some(&json!(id)))
                    .ok_or_else(|| self.proto(format!("no answer to {method} in the batch")))?,
                other => other,
            }
        };
        self.result_of(method, message).map(|r| (r, session))
    }

    fn result_of(&self, method: &str, message: Value) -> Result<Value, McpError> {
        if let Some(err) = message.get("error") {
            return Err(McpError::Rpc {
                url: self.url.clone(),
                method: method.to_owned(),
                code: err.get("code").and_then(|c| c.as_i64()).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        message
            .get("result")
            .cloned()
            .ok_or_else(|| self.proto(format!("the answer to {method} has no result")))
    }

    /// Read SSE events until the response with `id` arrives (notifications are skipped); the
    /// whole stream at most [`http::MAX_OAUTH_BODY`] bytes.
    async fn read_sse(&self, mut resp: reqwest::Response, id: i64) -> Result<Value, McpError> {
        let is_answer = |v: &Value| {
            v.get("id") == Some(&json!(id))
                && (v.get("result").is_some() || v.get("error").is_some())
        };
        let mut sse = SseParser::new(http::MAX_OAUTH_BODY);
        let mut total = 0usize;
        loop {
            let mut events = Vec::new();
            let mut each = |v: Value| events.push(v);
            let ended = match resp.chunk().await.map_err(|e| self.net_err(&e))? {
                Some(chunk) => {
                    total += chunk.len();
                    if total > http::MAX_OAUTH_BODY || sse.feed(&chunk, &mut each).is_err() {
                        return Err(self.proto("the event stream exceeded the size limit".into()));
                    }
                    false
                }
                // Stream ended: a last event without its blank line still counts.
                None => {
                    sse.finish(&mut each);
                    true
                }
            };
            if let Some(v) = events.into_iter().find(is_answer) {
                return Ok(v);
            }
            if ended {
                return Err(self.proto("the event stream ended without an answer".into()));
            }
        }
    }

    /// HTTP 400: a JSON-RPC error in the body (a refused protocol version) is reported as such,
    /// anything else as the HTTP status.
    async fn bad_request(&self, method: &str, resp: reqwest::Response) -> McpError {
        let body = http::read_capped(resp, 64 * 1024, &self.url)
            .await
            .unwrap_or_default();
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if protocol::refused_version_but_speaks_modern(&v) => McpError::Rpc {
                url: self.url.clone(),
                method: method.to_owned(),
                code: protocol::UNSUPPORTED_VERSION,
                message: v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            },
            _ => McpError::Http {
                url: self.url.clone(),
                status: 400,
                body: http::excerpt(&body),
            },
        }
    }

    fn net_err(&self, e: &reqwest::Error) -> McpError {
        McpError::Network {
            url: self.url.clone(),
            detail: http::describe_transport(e),
        }
    }
    fn proto(&self, detail: String) -> McpError {
        McpError::Protocol {
            url: self.url.clone(),
            detail,
        }
    }

    async fn status_err(&self, resp: reqwest::Response) -> McpError {
        let status = resp.status().as_u16();
        let values: Vec<String> = resp
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let www = Some(values.join(", ")).filter(|w| !w.is_empty());
        let challenge = BearerChallenge::from_headers(&values);
        let body = http::read_capped(resp, 64 * 1024, &self.url)
            .await
            .unwrap_or_default();
        if status == 401 {
            return McpError::Unauthorized {
                url: self.url.clone(),
                www_authenticate: www,
            };
        }
        if status == 403
            && let Some(c) = challenge.filter(|c| c.error.as_deref() == Some("insufficient_scope"))
        {
            return McpError::InsufficientScope {
                url: self.url.clone(),
                scope: c.scope,
                www_authenticate: www,
            };
        }
        McpError::Http {
            url: self.url.clone(),
            status,
            body: http::excerpt(&body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_scope_challenge_is_read_with_the_rfc9110_parser() {
        let h = r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="http://x/y""#;
        let c = BearerChallenge::parse(h).unwrap();
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scopes(), ["a", "b"]);
    }

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One HTTP/1.1 request read off a socket: (headers lower-cased, body).
    async fn read_request(sock: &mut tokio::net::TcpStream) -> (Vec<(String, String)>, Value) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                while buf.len() < pos + 4 + len {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body =
                    serde_json::from_slice(&buf[pos + 4..pos + 4 + len]).unwrap_or(Value::Null);
                return (headers, body);
            }
        }
    }

    /// The next request to a fake server: its socket, a header lookup, the body, its JSON-RPC
    /// method and id.
    async fn next_request(
        listener: &tokio::net::TcpListener,
    ) -> (
        tokio::net::TcpStream,
        impl Fn(&str) -> Option<String>,
        Value,
        String,
        Value,
    ) {
        let (mut sock, _) = listener.accept().await.unwrap();
        let (headers, body) = read_request(&mut sock).await;
        let h = move |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let method = body["method"].as_str().unwrap_or("").to_owned();
        let id = body["id"].clone();
        (sock, h, body, method, id)
    }

    async fn reply(sock: &mut tokio::net::TcpStream, status: u16, ctype: &str, body: &str) {
        let r = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(r.as_bytes()).await.unwrap();
    }

    /// A 2026-07-28-only server: refuses `initialize`, answers `server/discover`, and checks
    /// that every request carries `Mcp-Method`, `MCP-Protocol-Version` and the `_meta` context;
    /// the client never sends `initialize`.
    #[tokio::test]
    async fn speaks_2026_07_28_to_a_server_without_initialize() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (mut sock, h, body, method, id) = next_request(&listener).await;
                seen.push((
                    method.clone(),
                    h("mcp-method"),
                    h("mcp-protocol-version"),
                    h("authorization"),
                ));
                let answer = match method.as_str() {
                    "initialize" => {
                        json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"Method not found"}})
                    }
                    "server/discover" => {
                        assert_eq!(
                            body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
                            "2026-07-28"
                        );
                        json!({"jsonrpc":"2.0","id":id,"result":{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},
                            "_meta":{"io.modelcontextprotocol/serverInfo":{"name":"modern","version":"1"}}}})
                    }
                    _ => {
                        let meta = &body["params"]["_meta"];
                        assert_eq!(
                            meta["io.modelcontextprotocol/protocolVersion"],
                            "2026-07-28"
                        );
                        assert!(meta["io.modelcontextprotocol/clientCapabilities"].is_object());
                        json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}})
                    }
                };
                // The tools/list answer comes as an event stream, the others as JSON.
                if method == "tools/list" {
                    let sse = format!("event: message\ndata: {answer}\n\n");
                    reply(&mut sock, 200, "text/event-stream", &sse).await;
                } else {
                    reply(&mut sock, 200, "application/json", &answer.to_string()).await;
                }
            }
            seen
        });
        let mut c = McpClient::new(
            crate::http::oauth_client().unwrap(),
            url,
            "Authorization",
            "Bearer t".into(),
        );
        let tools = c.list_tools().await.unwrap();
        assert_eq!(tools[0].name, "echo");
        assert_eq!(c.negotiated(), &Negotiated::Modern("2026-07-28".into()));
        assert_eq!(c.server_info().unwrap()["name"], "modern");
        let seen = server.await.unwrap();
        assert_eq!(seen[0].0, "server/discover");
        assert_eq!(seen[0].1.as_deref(), Some("server/discover"));
        assert_eq!(seen[0].2.as_deref(), Some("2026-07-28"));
        assert_eq!(seen[1].1.as_deref(), Some("tools/list"));
        assert_eq!(seen[1].2.as_deref(), Some("2026-07-28"));
        assert_eq!(seen[1].3.as_deref(), Some("Bearer t"));
        assert!(seen.iter().all(|s| s.0 != "initialize"));
    }

    /// A 2025 server refuses the `server/discover` probe (HTTP 400 for the unknown version
    /// header, as the v1 TypeScript SDK does): the client falls back to `initialize` and speaks
    /// 2025-11-25 with the session id, without the modern `_meta` envelope.
    #[tokio::test]
    async fn falls_back_to_initialize_when_a_2025_server_refuses_discover() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..4 {
                let (mut sock, h, body, method, id) = next_request(&listener).await;
                seen.push((
                    method.clone(),
                    h("mcp-protocol-version"),
                    h("mcp-session-id"),
                    body["params"].get("_meta").is_some(),
                    h("mcp-method"),
                ));
                match method.as_str() {
                    "server/discover" => {
                        let e = json!({"jsonrpc":"2.0","id":null,"error":{"code":-32000,
                            "message":"Bad Request: Unsupported protocol version: 2026-07-28"}});
                        reply(&mut sock, 400, "application/json", &e.to_string()).await;
                    }
                    "initialize" => {
                        let r = json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-11-25",
                            "capabilities":{"tools":{}},"serverInfo":{"name":"legacy","version":"1"}}});
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{r}",
                            r.to_string().len()
                        );
                        sock.write_all(head.as_bytes()).await.unwrap();
                    }
                    "notifications/initialized" => {
                        reply(&mut sock, 202, "application/json", "").await
                    }
                    _ => {
                        let r =
                            json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"echo"}]}});
                        reply(&mut sock, 200, "application/json", &r.to_string()).await;
                    }
                }
            }
            seen
        });
        let mut c = McpClient::new(
            crate::http::oauth_client().unwrap(),
            url,
            "Authorization",
            "Bearer t".into(),
        );
        let tools = c.list_tools().await.unwrap();
        assert_eq!(tools[0].name, "echo");
        assert_eq!(c.negotiated(), &Negotiated::Legacy("2025-11-25".into()));
        assert_eq!(c.server_info().unwrap()["name"], "legacy");
        let seen = server.await.unwrap();
        let methods: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            methods,
            [
                "server/discover",
                "initialize",
                "notifications/initialized",
                "tools/list"
            ]
        );
        assert_eq!(seen[3].1.as_deref(), Some("2025-11-25"));
        assert_eq!(seen[3].2.as_deref(), Some("s1"));
        assert!(!seen[3].3, "no _meta envelope after a 2025 handshake");
        // The initialize fallback names its method like every POST.
        assert_eq!(seen[1].4.as_deref(), Some("initialize"));
        assert_eq!(seen[2].4.as_deref(), Some("notifications/initialized"));
    }

    /// 403 insufficient_scope and 401 are reported as such (step-up / refresh decisions).
    #[tokio::test]
    async fn auth_refusals_are_classified() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            for status in [403u16, 401] {
                let (mut sock, _) = listener.accept().await.unwrap();
                let _ = read_request(&mut sock).await;
                let r = format!(
                    "HTTP/1.1 {status} X\r\nWWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"a b\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                sock.write_all(r.as_bytes()).await.unwrap();
            }
        });
        let mut c = McpClient::new(
            crate::http::oauth_client().unwrap(),
            url,
            "X-Authorization",
            "Bearer t".into(),
        );
        match c.connect().await {
            Err(McpError::InsufficientScope { scope, .. }) => {
                assert_eq!(scope.as_deref(), Some("a b"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.connect().await,
            Err(McpError::Unauthorized { .. })
        ));
    }

    /// A 2026-07-28 server that refuses the first version (400, -32022, listing 2026-07-28):
    /// the client asks again instead of falling back to `initialize`; a call of a tool not
    /// listed yet lists first, the listing drops the tool with a malformed `x-mcp-header` and
    /// keeps the others' schemas untouched, and the call carries `Mcp-Param-*` headers.
    #[tokio::test]
    async fn a_refused_version_is_asked_again_and_calls_carry_param_headers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
        let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object", "$defs": {"id": {"type": "string"}},
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"},
                           "id": {"$ref": "#/$defs/id"}}});
        let listed = schema.clone();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for n in 0..5 {
                let (mut sock, h, body, method, id) = next_request(&listener).await;
                seen.push((method.clone(), h("mcp-method"), h("mcp-param-region")));
                let answer = match (n, method.as_str()) {
                    (0, _) => {
                        let e = json!({"jsonrpc":"2.0","id":id,"error":{"code":-32022,
                            "message":"Unsupported protocol version","data":{"supported":["2026-07-28"]}}});
                        reply(&mut sock, 400, "application/json", &e.to_string()).await;
                        continue;
                    }
                    (_, "server/discover") => json!({"jsonrpc":"2.0","id":id,"result":{
                        "supportedVersions":["2026-07-28"],"capabilities":{"tools":{}}}}),
                    (_, "tools/list") => json!({"jsonrpc":"2.0","id":id,"result":{"tools":[
                        {"name":"route","inputSchema":listed.clone()},
                        {"name":"bad","inputSchema":{"type":"object","properties":{
                            "v":{"type":"object","x-mcp-header":"V"}}}}]}}),
                    _ => {
                        assert_eq!(body["params"]["arguments"]["region"], "eu");
                        json!({"jsonrpc":"2.0","id":id,"result":{"content":[]}})
                    }
                };
                reply(&mut sock, 200, "application/json", &answer.to_string()).await;
            }
            seen
        });
        let mut c = McpClient::new(
            crate::http::oauth_client().unwrap(),
            url,
            "Authorization",
            "Bearer t".into(),
        );
        c.call_tool("route", json!({"region": "eu", "id": "x"}))
            .await
            .unwrap();
        assert_eq!(c.negotiated(), &Negotiated::Modern("2026-07-28".into()));
        let tools = c.list_tools().await.unwrap();
        assert_eq!(tools.len(), 1, "{tools:?}");
        assert_eq!(tools[0].name, "route");
        assert_eq!(tools[0].input_schema, Some(schema));
        let seen = server.await.unwrap();
        let methods: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            methods,
            [
                "server/discover",
                "server/discover",
                "tools/list",
                "tools/call",
                "tools/list"
            ]
        );
        assert_eq!(seen[3].1.as_deref(), Some("tools/call"));
        assert_eq!(seen[3].2.as_deref(), Some("eu"));
    }

    /// The listing before a call of an unlisted tool is best effort: a server that refuses
    /// `tools/list` still gets the call.
    #[tokio::test]
    async fn a_call_goes_through_when_the_listing_before_it_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            let mut methods = Vec::new();
            for _ in 0..5 {
                let (mut sock, _, _, method, id) = next_request(&listener).await;
                methods.push(method.clone());
                let (status, body) = match method.as_str() {
                    "server/discover" => (
                        400,
                        json!({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request"}}),
                    ),
                    "initialize" => (
                        200,
                        json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}),
                    ),
                    "notifications/initialized" => {
                        reply(&mut sock, 202, "application/json", "").await;
                        continue;
                    }
                    "tools/list" => (
                        200,
                        json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"Method not found"}}),
                    ),
                    _ => (
                        200,
                        json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":"hi"}]}}),
                    ),
                };
                reply(&mut sock, status, "application/json", &body.to_string()).await;
            }
            methods
        });
        let mut c = McpClient::new(
            crate::http::oauth_client().unwrap(),
            url,
            "Authorization",
            "Bearer t".into(),
        );
        let result = c.call_tool("echo", json!({})).await.unwrap();
        assert_eq!(result["content"][0]["text"], "hi");
        let methods = server.await.unwrap();
        assert_eq!(
            methods,
            [
                "server/discover",
                "initialize",
                "notifications/initialized",
                "tools/list",
                "tools/call"
            ]
        );
    }
}
