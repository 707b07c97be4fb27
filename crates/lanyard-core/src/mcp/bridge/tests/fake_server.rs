//! A Streamable HTTP server on loopback for the bridge's tests: 2025 sessions, a
//! 2026-07-28-only mode and a dual one, and the misbehaviours the tests switch on in
//! [`FakeState`].

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Value,
}

impl Seen {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub(super) struct FakeState {
    pub(super) seen: Vec<Seen>,
    /// Answer 404 to the next request carrying session s1 (the server forgot it).
    pub(super) forget_session: bool,
    pub(super) sessions: u32,
    /// Behave as a 2026-07-28-only server (see `respond_modern`).
    pub(super) modern: bool,
    /// A 2025 server that also answers `server/discover`, listing both revisions.
    pub(super) dual: bool,
    /// `tools/call` answers only after this long (a long-running tool).
    pub(super) call_delay: Option<std::time::Duration>,
    /// `tools/call` answers with a message of this many bytes: "json" or "sse" framing.
    pub(super) huge_call: Option<(&'static str, usize)>,
    /// Modern mode: refuse the first request's version (400, -32022, 2026-07-28 supported).
    pub(super) refuse_first: bool,
    /// Modern mode: the tools `tools/list` answers with (default: one `echo`).
    pub(super) tools: Option<Value>,
    /// 2025 mode: `tools/call` ends its event stream after a priming event (id `p1`,
    /// retry 50 ms); a GET with `Last-Event-ID: p1` carries the answer.
    pub(super) resumable_call: bool,
    pub(super) pending_call: Option<Value>,
    /// 2025 mode: the GET stream opens and never ends.
    pub(super) endless_get: bool,
    /// 2025 mode: `tools/call` needs the scope "extra", which only "Bearer wide" carries
    /// (403 `insufficient_scope` otherwise).
    pub(super) needs_scope: bool,
}

/// A Streamable HTTP server (2025-06-18 style) with just enough behaviour for the bridge:
/// sessions, a token check ("Bearer new"), SSE answers carrying a notification and a
/// server-to-client request before the response, 405 on GET, 404 for a forgotten session.
pub(super) async fn fake_server(state: Arc<Mutex<FakeState>>) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.lines();
                let method = lines
                    .next()
                    .unwrap_or("")
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
                let seen = Seen {
                    method: method.clone(),
                    headers,
                    body: body.clone(),
                };
                let (status, ctype, extra, payload, delay) = {
                    let mut st = state.lock().unwrap();
                    st.seen.push(seen.clone());
                    let (a, b, c, d) = respond(&mut st, &seen);
                    let delay = st
                        .call_delay
                        .filter(|_| seen.body["method"] == json!("tools/call"));
                    (a, b, c, d, delay)
                };
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                if extra.iter().any(|(k, _)| k == "X-Endless") {
                    // An event stream that never ends (a server's idle GET stream).
                    let head =
                        format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n\r\n{payload}");
                    let _ = sock.write_all(head.as_bytes()).await;
                    std::future::pending::<()>().await;
                }
                let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
                if !ctype.is_empty() {
                    out.push_str(&format!("Content-Type: {ctype}\r\n"));
                }
                for (k, v) in extra {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str(&format!(
                    "Content-Length: {}\r\n\r\n{payload}",
                    payload.len()
                ));
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    url
}

fn respond(
    st: &mut FakeState,
    seen: &Seen,
) -> (&'static str, &'static str, Vec<(String, String)>, String) {
    if !matches!(
        seen.header("authorization"),
        Some("Bearer new" | "Bearer wide")
    ) {
        return (
            "401 Unauthorized",
            "",
            vec![("WWW-Authenticate".into(), "Bearer".into())],
            String::new(),
        );
    }
    if st.modern {
        if std::mem::take(&mut st.refuse_first) {
            let id = seen.body.get("id").cloned().unwrap_or(Value::Null);
            let e = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32022,
                "message": "Unsupported protocol version", "data": {"supported": ["2026-07-28"]}}});
            return ("400 Bad Request", "application/json", vec![], e.to_string());
        }
        return respond_modern(st, seen);
    }
    if seen.method == "GET" {
        if seen.header("last-event-id") == Some("p1")
            && let Some(id) = st.pending_call.take()
        {
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "resumed"}]}});
            return (
                "200 OK",
                "text/event-stream",
                vec![],
                format!("id: p2\ndata: {answer}\n\n"),
            );
        }
        if st.endless_get {
            return (
                "200 OK",
                "text/event-stream",
                vec![("X-Endless".into(), "1".into())],
                ": open\n\n".to_owned(),
            );
        }
        return ("405 Method Not Allowed", "", vec![], String::new());
    }
    if seen.method == "DELETE" {
        return ("200 OK", "", vec![], String::new());
    }
    let method = seen
        .body
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("");
    if method != "initialize" {
        let session = seen.header("mcp-session-id").unwrap_or("");
        if session == "s1" && st.forget_session {
            st.forget_session = false;
            return ("404 Not Found", "", vec![], String::new());
        }
    }
    let id = seen.body.get("id").cloned().unwrap_or(Value::Null);
    match method {
        "server/discover" if st.dual => {
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {
                "supportedVersions": ["2026-07-28", "2025-06-18"], "capabilities": {}}});
            ("200 OK", "application/json", vec![], body.to_string())
        }
        "initialize" => {
            st.sessions += 1;
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "fake", "version": "1"}}});
            (
                "200 OK",
                "application/json",
                vec![("Mcp-Session-Id".into(), format!("s{}", st.sessions))],
                body.to_string(),
            )
        }
        "tools/call" if st.huge_call.is_some() => {
            let (framing, size) = st.huge_call.unwrap_or_default();
            let text = "x".repeat(size);
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": text}]}});
            if framing == "sse" {
                (
                    "200 OK",
                    "text/event-stream",
                    vec![],
                    format!("data: {body}\n\n"),
                )
            } else {
                ("200 OK", "application/json", vec![], body.to_string())
            }
        }
        "tools/call" if st.needs_scope && seen.header("authorization") != Some("Bearer wide") => (
            "403 Forbidden",
            "",
            vec![(
                "WWW-Authenticate".into(),
                r#"Bearer error="insufficient_scope", scope="extra""#.into(),
            )],
            String::new(),
        ),
        "tools/call" if st.resumable_call => {
            st.pending_call = Some(id);
            (
                "200 OK",
                "text/event-stream",
                vec![],
                "id: p1\nretry: 50\ndata: \n\n".to_owned(),
            )
        }
        "tools/call" => {
            let events = [
                json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 0.5}}),
                json!({"jsonrpc": "2.0", "id": "srv-1", "method": "roots/list"}),
                json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "done"}]}}),
            ];
            let sse: String = events
                .iter()
                .enumerate()
                .map(|(i, e)| format!("id: {i}\nevent: message\ndata: {e}\n\n"))
                .collect();
            ("200 OK", "text/event-stream", vec![], sse)
        }
        "" => ("202 Accepted", "", vec![], String::new()),
        m if m.starts_with("notifications/") => ("202 Accepted", "", vec![], String::new()),
        _ => {
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {"tools": []}});
            ("200 OK", "application/json", vec![], body.to_string())
        }
    }
}

/// A 2026-07-28-only server, strict like the TypeScript SDK v2: every request needs the
/// `_meta` envelope and a matching `MCP-Protocol-Version` header (else 400, -32022);
/// `server/discover` lists 2026-07-28; `ping` is unknown (404, -32601).
/// Also `tools/call`: `confirm` asks for input (SEP-2322) until it is called again with
/// the answer and the exact `requestState`; any other tool answers "done".
fn respond_modern(
    st: &FakeState,
    seen: &Seen,
) -> (&'static str, &'static str, Vec<(String, String)>, String) {
    let id = seen.body.get("id").cloned().unwrap_or(Value::Null);
    let method = seen.body["method"].as_str().unwrap_or("");
    let meta = &seen.body["params"]["_meta"];
    let claimed = meta["io.modelcontextprotocol/protocolVersion"].as_str();
    let complete = claimed == Some("2026-07-28")
        && seen.header("mcp-protocol-version") == claimed
        && meta["io.modelcontextprotocol/clientInfo"].is_object()
        && meta["io.modelcontextprotocol/clientCapabilities"].is_object();
    let json_reply = |status, body: Value| (status, "application/json", vec![], body.to_string());
    if seen.method != "POST" {
        return ("405 Method Not Allowed", "", vec![], String::new());
    }
    if !complete {
        return json_reply(
            "400 Bad Request",
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32022,
                "message": "Unsupported protocol version", "data": {"supported": ["2026-07-28"]}}}),
        );
    }
    if id.is_null() {
        return ("202 Accepted", "", vec![], String::new());
    }
    match method {
        "server/discover" => json_reply(
            "200 OK",
            json!({"jsonrpc": "2.0", "id": id, "result": {"supportedVersions": ["2026-07-28"],
                "capabilities": {"tools": {}}, "instructions": "be kind",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "modern-fake", "version": "2"}}}}),
        ),
        "tools/list" => json_reply(
            "200 OK",
            json!({"jsonrpc": "2.0", "id": id, "result": {
                "tools": st.tools.clone().unwrap_or_else(|| json!([{"name": "echo"}])),
                "resultType": "complete"}}),
        ),
        "tools/call" if seen.body["params"]["name"] == json!("confirm") => {
            let p = &seen.body["params"];
            let result = if p.get("inputResponses").is_none() {
                json!({"resultType": "input_required", "requestState": "opaque-\u{1f512}",
                    "inputRequests": {"ok": {"method": "elicitation/create", "params": {
                        "message": "Sure?", "requestedSchema": {"type": "object",
                        "properties": {"sure": {"type": "boolean"}}}}}}})
            } else if p["requestState"] == json!("opaque-\u{1f512}")
                && p["inputResponses"]["ok"]["action"] == json!("accept")
            {
                json!({"resultType": "complete", "content": [{"type": "text", "text": "confirmed"}]})
            } else {
                json!({"resultType": "complete", "isError": true, "content": [{"type": "text", "text": format!("bad retry: {p}")}]})
            };
            json_reply(
                "200 OK",
                json!({"jsonrpc": "2.0", "id": id, "result": result}),
            )
        }
        "tools/call" => json_reply(
            "200 OK",
            json!({"jsonrpc": "2.0", "id": id, "result": {"resultType": "complete",
                "content": [{"type": "text", "text": "done"}]}}),
        ),
        _ => json_reply(
            "404 Not Found",
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}),
        ),
    }
}
