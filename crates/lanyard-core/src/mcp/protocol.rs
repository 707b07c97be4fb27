//! The MCP wire vocabulary both speakers share — the `lanyard call` client and the stdio bridge:
//! the protocol revisions, the 2026-07-28 `_meta` request envelope, and the one place that
//! builds the headers of a request (`MCP-Protocol-Version`, `Mcp-Session-Id`, `Mcp-Method`,
//! `Mcp-Name`, and the `Mcp-Param-*` headers tool annotations designate), and what an answer's
//! `WWW-Authenticate` and `DPoP-Nonce` headers ask of the next request.

use serde_json::{Value, json};

use super::tool_headers::ToolHeaders;

/// The revision without `initialize` (SEP-2567): lifecycle in per-request `_meta`.
pub const MODERN_VERSION: &str = "2026-07-28";
/// The revisions with `initialize`, newest first: the first is the one asked for.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// `_meta` keys of the 2026-07-28 request envelope.
pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// Where a 2026-07-28 `server/discover` result carries the server's name and version.
const SERVER_INFO_POINTER: &str = "/_meta/io.modelcontextprotocol~1serverInfo";

/// The JSON-RPC error of a request whose protocol version the server does not speak; its
/// `data.supported` lists the ones it does (2026-07-28).
pub const UNSUPPORTED_VERSION: i64 = -32022;

/// Lanyard's own `clientInfo`.
pub fn lanyard_client_info() -> Value {
    json!({"name": "lanyard", "version": env!("CARGO_PKG_VERSION")})
}

/// The `_meta` a 2026-07-28 request carries.
pub fn envelope(client_info: Value, capabilities: Value) -> Value {
    json!({
        META_VERSION: MODERN_VERSION,
        META_CLIENT_INFO: client_info,
        META_CLIENT_CAPABILITIES: capabilities,
    })
}

/// Adds `envelope`'s keys to a request's `params._meta`, keeping the caller's own `_meta` keys
/// (a progress token…); `params` is created when the request has none.
pub fn wrap(message: &mut Value, envelope: &Value) {
    let (Some(obj), Some(env)) = (message.as_object_mut(), envelope.as_object()) else {
        return;
    };
    let params = obj.entry("params").or_insert_with(|| json!({}));
    let Some(params) = params.as_object_mut() else {
        return;
    };
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        for (k, v) in env {
            m.insert(k.clone(), v.clone());
        }
    }
}

/// The protocol version a request names in its own `_meta` (a 2026-07-28 client's).
pub fn version_in_meta(message: &Value) -> Option<&str> {
    message
        .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
        .and_then(Value::as_str)
}

/// The revisions a `server/discover` result lists.
pub fn supported_versions(result: &Value) -> Vec<&str> {
    result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The server's `serverInfo` in a `server/discover` result (in `_meta`, or at the top level as
/// some servers send it).
pub fn server_info(result: &Value) -> Option<Value> {
    result
        .pointer(SERVER_INFO_POINTER)
        .or_else(|| result.get("serverInfo"))
        .filter(|v| v.is_object())
        .cloned()
}

/// A refusal of the version a request was sent with (HTTP 400, JSON-RPC -32022) that lists
/// 2026-07-28 among the versions the server does speak: the request is worth sending again
/// with it. Any other body: `false`.
pub fn refused_version_but_speaks_modern(body: &Value) -> bool {
    let Some(err) = body.get("error") else {
        return false;
    };
    err.get("code").and_then(Value::as_i64) == Some(UNSUPPORTED_VERSION)
        && err
            .pointer("/data/supported")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|v| v == MODERN_VERSION))
}

/// The `Mcp-Name` of a request: the tool, prompt or resource it is about.
pub fn name_of(message: &Value) -> Option<&str> {
    let params = message.get("params")?;
    let n = match message.get("method")?.as_str()? {
        "tools/call" | "prompts/get" => params.get("name")?.as_str()?,
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            params.get("uri")?.as_str()?
        }
        _ => return None,
    };
    header_safe(n).then_some(n)
}

/// Printable ASCII (a header value reqwest sends as it is).
fn header_safe(v: &str) -> bool {
    v.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// What a request to the endpoint is: a POSTed message, or a GET/DELETE without a body.
pub enum Request<'a> {
    Post(&'a Value),
    Get,
    Delete,
}

/// Every MCP header of one request. `version`: the negotiated revision (none before the
/// handshake); `session`: the 2025 session id; `tools`: the `x-mcp-header` designations
/// learnt from `tools/list`. A POST always carries `Mcp-Method` (and `Mcp-Name` where one
/// applies) whatever the revision — 2026-07-28 servers and gateways route on them, older
/// servers ignore them — and a `tools/call` the `Mcp-Param-*` headers of its arguments.
pub fn headers(
    request: Request<'_>,
    version: Option<&str>,
    session: Option<&str>,
    tools: &ToolHeaders,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: &str| out.push((k.to_owned(), v.to_owned()));
    match request {
        Request::Post(_) => {
            add("Accept", "application/json, text/event-stream");
            add("Content-Type", "application/json");
        }
        Request::Get => add("Accept", "text/event-stream"),
        Request::Delete => {}
    }
    if let Some(v) = version.filter(|v| header_safe(v)) {
        add("MCP-Protocol-Version", v);
    }
    if let Some(s) = session.filter(|s| header_safe(s)) {
        add("Mcp-Session-Id", s);
    }
    if let Request::Post(message) = request {
        if let Some(m) = message
            .get("method")
            .and_then(Value::as_str)
            .filter(|m| header_safe(m))
        {
            add("Mcp-Method", m);
        }
        if let Some(n) = name_of(message) {
            add("Mcp-Name", n);
        }
        out.extend(tools.for_call(message));
    }
    out
}

/// `headers` applied to a request builder.
pub fn apply(
    mut req: reqwest::RequestBuilder,
    headers: Vec<(String, String)>,
) -> reqwest::RequestBuilder {
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req
}

/// Every `WWW-Authenticate` value of an answer (a server may send several).
pub fn www_authenticate(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// After an answer of the server at `url`: its `DPoP-Nonce` kept for the next proofs (any
/// answer may carry one), and whether it was a 401 asking for a nonce (RFC 9449 §9) that gave
/// a new one, worth one retry. Always false without DPoP.
pub fn dpop_nonce_retry(
    dpop: Option<&crate::tokens::dpop::Dpop>,
    url: &url::Url,
    resp: &reqwest::Response,
) -> bool {
    let Some(dpop) = dpop else {
        return false;
    };
    let nonce = resp
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok());
    let new = dpop.learn_nonce(url, nonce);
    let www = www_authenticate(resp.headers());
    new && crate::tokens::dpop::resource_asks_for_nonce(resp.status().as_u16(), &www)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `initialize` — the 2025 fallback — carries `Mcp-Method` like every other POST.
    #[test]
    fn every_post_names_its_method_including_initialize() {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
        let h = headers(Request::Post(&init), None, None, &ToolHeaders::default());
        assert_eq!(find(&h, "Mcp-Method"), Some("initialize"));
        assert_eq!(find(&h, "MCP-Protocol-Version"), None);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let h = headers(
            Request::Post(&note),
            Some("2025-11-25"),
            Some("s1"),
            &ToolHeaders::default(),
        );
        assert_eq!(find(&h, "Mcp-Method"), Some("notifications/initialized"));
        assert_eq!(find(&h, "MCP-Protocol-Version"), Some("2025-11-25"));
        assert_eq!(find(&h, "Mcp-Session-Id"), Some("s1"));
    }

    #[test]
    fn mcp_name_is_the_tool_prompt_or_resource_and_only_when_printable() {
        let read = json!({"method": "resources/read", "params": {"uri": "file:///a%20b.txt"}});
        let h = headers(Request::Post(&read), None, None, &ToolHeaders::default());
        assert_eq!(find(&h, "Mcp-Name"), Some("file:///a%20b.txt"));
        let prompt = json!({"method": "prompts/get", "params": {"name": "p-1"}});
        assert_eq!(name_of(&prompt), Some("p-1"));
        let odd = json!({"method": "tools/call", "params": {"name": "caf\u{e9}"}});
        assert_eq!(name_of(&odd), None);
        let get = headers(
            Request::Get,
            Some(MODERN_VERSION),
            None,
            &ToolHeaders::default(),
        );
        assert_eq!(find(&get, "Accept"), Some("text/event-stream"));
        assert_eq!(find(&get, "Mcp-Method"), None);
    }

    /// The envelope joins the caller's own `_meta` instead of replacing it.
    #[test]
    fn wrap_keeps_the_callers_meta() {
        let mut m = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {"progressToken": 7}}});
        wrap(&mut m, &envelope(lanyard_client_info(), json!({})));
        assert_eq!(m["params"]["_meta"]["progressToken"], json!(7));
        assert_eq!(version_in_meta(&m), Some(MODERN_VERSION));
        let mut bare = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
        wrap(&mut bare, &envelope(lanyard_client_info(), json!({})));
        assert!(bare["params"]["_meta"][META_CLIENT_CAPABILITIES].is_object());
    }

    #[test]
    fn a_version_refusal_listing_2026_07_28_is_worth_a_retry() {
        let refusal = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32022,
            "message": "Unsupported protocol version", "data": {"supported": ["2026-07-28"]}}});
        assert!(refused_version_but_speaks_modern(&refusal));
        let other = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32022,
            "data": {"supported": ["2025-11-25"]}}});
        assert!(!refused_version_but_speaks_modern(&other));
        assert!(!refused_version_but_speaks_modern(&json!({"result": {}})));
    }
}
