//! The client against hand-written loopback servers: both revisions, auth refusals, a refused
//! version asked again, parameter headers.

use super::*;
use crate::discovery::BearerChallenge;
use serde_json::{Value, json};
use url::Url;

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
            let body = serde_json::from_slice(&buf[pos + 4..pos + 4 + len]).unwrap_or(Value::Null);
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
                "notifications/initialized" => reply(&mut sock, 202, "application/json", "").await,
                _ => {
                    let r = json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"echo"}]}});
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
