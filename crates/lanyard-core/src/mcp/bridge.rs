//! `lanyard bridge NAME`: a stdio MCP server that forwards every JSON-RPC message to the remote
//! server over Streamable HTTP with a fresh token (`--url URL`: with none, for a server that
//! needs no sign-in).
//!
//! - stdin → one POST per message (concurrently, so a client can answer a server's request
//!   while a tool call is still streaming); `initialize` is awaited before the next message so the
//!   session id is known. Every request carries the headers of [`protocol::headers`]:
//!   `Mcp-Method`, `Mcp-Name`, and the `Mcp-Param-*` headers the tools' `x-mcp-header`
//!   annotations designate (a `tools/list` answer loses the tools whose annotations are
//!   malformed; a call of a tool never listed is preceded by a `tools/list` of the bridge's own).
//! - Answers come back as JSON (single or batch) or as an SSE stream; every message in them —
//!   responses, and server-to-client requests and notifications — goes to stdout as one line.
//!   A stream that ends before its response is resumed with GET and `Last-Event-ID` after the
//!   server's `retry:` (SEP-1699).
//! - 2025-06-18 / 2025-11-25: `Mcp-Session-Id` and `MCP-Protocol-Version` headers, a GET event
//!   stream for server-initiated messages (405 means the server has none), DELETE on exit, and a
//!   quiet re-initialize when the server forgets the session (404).
//! - 2026-07-28: stateless POSTs with `MCP-Protocol-Version`. A client that speaks 2026-07-28
//!   itself (`server/discover`, `_meta` envelope) is forwarded as it is. A 2025 client's
//!   `initialize` is first turned into a `server/discover` probe (asked again when the server
//!   refuses the version but lists 2026-07-28): when the server speaks 2026-07-28 alone, the
//!   bridge answers `initialize` itself from the discover result and wraps each later request
//!   in the `_meta` envelope (protocol version, the client's `clientInfo` and capabilities);
//!   `ping` is answered locally and `notifications/initialized` dropped, as the revision has
//!   neither. An `input_required` result (SEP-2322) is answered for the client: its input
//!   requests go to the client as ordinary server-to-client requests, and the request is sent
//!   again with a new id, the answers and the server's `requestState` untouched. Otherwise the
//!   `initialize` is forwarded and the 2025 session runs as above.
//! - 401: one forced refresh of the token and one retry; then a JSON-RPC error telling the user
//!   to sign in again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::error::UserFacing;
use crate::mcp::protocol::{self, LEGACY_VERSIONS, MODERN_VERSION, Request};
use crate::mcp::sse::SseParser;
use crate::mcp::tool_headers::ToolHeaders;

/// A header name and value, when it is ready.
pub type HeaderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(String, String), crate::Error>> + 'a>>;

/// Where the bridge gets its `Authorization` (or custom) header.
pub trait Credentials {
    /// The header name and value. `rejected`: the value the server just refused (force a
    /// refresh unless someone else already replaced it).
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a>;

    /// A header with more scope, after the server refused `rejected` with 403
    /// `insufficient_scope` asking for `scope` (a sign-in again, with the user). By default
    /// there is none: the request is answered with an error saying what the server asked for.
    fn step_up<'a>(&'a self, rejected: &'a str, scope: Option<&'a str>) -> HeaderFuture<'a> {
        let _ = rejected;
        Box::pin(async move {
            Err(BridgeError::NeedsScope {
                scope: scope.unwrap_or_default().to_owned(),
            }
            .into())
        })
    }
}

/// No credential: for a server that needs no sign-in (`lanyard bridge --url`). A 401 is
/// answered with [`BridgeError::SignInNeeded`].
pub struct Anonymous;

impl Credentials for Anonymous {
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            match rejected {
                None => Ok((String::new(), String::new())),
                Some(_) => Err(BridgeError::SignInNeeded.into()),
            }
        })
    }
}

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

/// The negotiated state shared by the forwarding tasks.
#[derive(Debug, Default)]
struct Session {
    id: Option<String>,
    version: Option<String>,
    /// The client's `initialize` request, replayed when the server forgets the session.
    init: Option<Value>,
    /// A 2025 client talking to a 2026-07-28 server: the `_meta` envelope the bridge adds to
    /// each of the client's messages.
    envelope: Option<Value>,
    get_stream_started: bool,
}

struct Bridge {
    http: reqwest::Client,
    url: Url,
    creds: Box<dyn Credentials>,
    session: RefCell<Session>,
    out: mpsc::UnboundedSender<String>,
    /// The header value in use (so a 401 can name what was refused).
    current: RefCell<Option<(String, String)>>,
    /// The `x-mcp-header` designations of the tools listed so far.
    tools: RefCell<ToolHeaders>,
    /// The bridge's own requests to the client awaiting its answer, by id.
    pending: RefCell<HashMap<String, oneshot::Sender<Value>>>,
    next_id: Cell<u64>,
    /// The client closed its input: it answers nothing any more.
    input_closed: Cell<bool>,
    get_stream: RefCell<Option<tokio::task::JoinHandle<()>>>,
}

/// The largest JSON body or SSE event the bridge reads from the server (a hostile server must
/// not exhaust the assistant's machine): 16 MiB.
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// A request to the server may take as long as its tool runs: the client's total timeout is
/// replaced by this ceiling (the stream is cut only by [`IDLE`] or a broken connection).
const REQUEST_CEILING: Duration = Duration::from_secs(24 * 60 * 60);

/// Longest silence on an answer or an event stream before the bridge gives up on it.
const IDLE: Duration = Duration::from_secs(60 * 60);

/// Runs the bridge until stdin closes.
pub async fn run(
    http: reqwest::Client,
    url: Url,
    creds: Box<dyn Credentials>,
) -> Result<(), crate::Error> {
    let stdin = tokio::io::stdin();
    let stdout = tokio::io::stdout();
    run_with(http, url, creds, stdin, stdout).await
}

/// The bridge over any byte streams (tests drive it with pipes).
pub async fn run_with<R, W>(
    http: reqwest::Client,
    url: Url,
    creds: Box<dyn Credentials>,
    input: R,
    output: W,
) -> Result<(), crate::Error>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin + 'static,
{
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let writer = tokio::task::spawn_local(async move {
                let mut output = output;
                while let Some(line) = rx.recv().await {
                    if output.write_all(line.as_bytes()).await.is_err()
                        || output.write_all(b"\n").await.is_err()
                        || output.flush().await.is_err()
                    {
                        return Err(BridgeError::Stdout("broken pipe".into()));
                    }
                }
                Ok(())
            });
            let bridge = Rc::new(Bridge {
                http,
                url,
                creds,
                session: RefCell::new(Session::default()),
                out: tx,
                current: RefCell::new(None),
                tools: RefCell::new(ToolHeaders::default()),
                pending: RefCell::new(HashMap::new()),
                next_id: Cell::new(1),
                input_closed: Cell::new(false),
                get_stream: RefCell::new(None),
            });
            let mut lines = BufReader::new(input).lines();
            let mut tasks = Vec::new();
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(l)) => l,
                    Ok(None) => break,
                    Err(e) => return Err(BridgeError::Stdin(e.to_string()).into()),
                };
                if line.trim().is_empty() {
                    continue;
                }
                let msg: Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        bridge.emit(json!({"jsonrpc": "2.0", "id": null,
                            "error": {"code": -32700, "message": format!("Parse error: {e}")}}));
                        continue;
                    }
                };
                if bridge.take_own_answer(&msg) {
                    continue;
                }
                if method_of(&msg) == Some("initialize") {
                    bridge.session.borrow_mut().init = Some(msg.clone());
                    bridge.initialize(msg).await;
                    continue;
                }
                let Some(msg) = bridge.translate(msg) else {
                    continue;
                };
                let is_initialized = method_of(&msg) == Some("notifications/initialized");
                let b = bridge.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    b.forward(msg).await;
                }));
                if is_initialized {
                    bridge.clone().start_get_stream();
                }
                tasks.retain(|t| !t.is_finished());
            }
            // Input closed: let in-flight requests finish (none can be answered by the client
            // any more), then end the session politely.
            bridge.input_closed.set(true);
            bridge.pending.borrow_mut().clear();
            for t in tasks {
                let _ = t.await;
            }
            bridge.end_session().await;
            // The GET stream may stay open for hours: it ends with the bridge.
            if let Some(stream) = bridge.get_stream.borrow_mut().take() {
                stream.abort();
            }
            drop(bridge);
            match writer.await {
                Ok(Ok(())) | Err(_) => Ok(()),
                Ok(Err(e)) => Err(e.into()),
            }
        })
        .await
}

/// A 403 whose `WWW-Authenticate` says `insufficient_scope`: the scope it asks for, if any.
fn insufficient_scope(resp: &reqwest::Response) -> Option<Option<String>> {
    let values: Vec<String> = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let c = crate::discovery::BearerChallenge::from_headers(&values)?;
    (c.error.as_deref() == Some("insufficient_scope")).then_some(c.scope)
}

fn method_of(msg: &Value) -> Option<&str> {
    msg.get("method").and_then(Value::as_str)
}

/// A request (as opposed to a notification or a response) has both `method` and `id`.
fn request_id(msg: &Value) -> Option<Value> {
    if msg.get("method").is_some() {
        msg.get("id").cloned()
    } else {
        None
    }
}

/// A response (no `method`) to the request with `id`.
fn answers(m: &Value, id: &Value) -> bool {
    m.get("id") == Some(id) && m.get("method").is_none()
}

/// A 2026-07-28 result asking for more input first (SEP-2322): `inputRequests` to put to the
/// client, and the request to send again with their answers.
fn input_required(answer: &Value) -> Option<&Value> {
    let result = answer.get("result")?;
    (result.get("resultType").and_then(Value::as_str) == Some("input_required")).then_some(result)
}

/// How many rounds of input a request may ask for before the bridge gives up on it.
const MAX_INPUT_ROUNDS: usize = 8;
/// How many times a POST's event stream is resumed (GET with `Last-Event-ID`) for its answer.
const MAX_RESUMES: usize = 5;
/// The wait before resuming when the server named none (`retry:`), and the longest honoured.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

enum Sent {
    Ok(reqwest::Response),
    /// The server refused the token twice.
    Unauthorized(String),
    /// The session is gone (404 with a session id).
    SessionGone,
    Failed(String),
}

/// What a POST's answer held for the request it carried.
enum Relayed {
    /// The response to the request (everything else in the answer was relayed already).
    Answer(Value),
    /// Nothing to answer (a notification or a response was accepted).
    Nothing,
    /// No response came: why.
    Missing(String),
}

/// How an event stream ended.
struct StreamEnd {
    last_id: Option<String>,
    retry: Option<Duration>,
    /// `Some(why)` when cut short (too large, silent too long).
    cut: Option<String>,
}

impl Bridge {
    fn emit(&self, msg: Value) {
        let _ = self.out.send(msg.to_string());
    }

    fn error_reply(&self, msg: &Value, code: i64, message: String) {
        if let Some(id) = request_id(msg) {
            self.emit(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
            );
        } else {
            tracing::warn!("bridge: {message}");
        }
    }

    fn fresh_id(&self, what: &str) -> String {
        let n = self.next_id.get();
        self.next_id.set(n + 1);
        format!("lanyard-{what}-{n}")
    }

    /// A line from the client that answers one of the bridge's own requests: handed to the
    /// task waiting for it (`true`), not forwarded.
    fn take_own_answer(&self, msg: &Value) -> bool {
        if msg.get("method").is_some() {
            return false;
        }
        let Some(id) = msg.get("id").and_then(Value::as_str) else {
            return false;
        };
        match self.pending.borrow_mut().remove(id) {
            Some(tx) => {
                let _ = tx.send(msg.clone());
                true
            }
            None => false,
        }
    }

    async fn header(&self, rejected: Option<&str>) -> Result<(String, String), crate::Error> {
        let h = self.creds.header(rejected).await?;
        *self.current.borrow_mut() = Some(h.clone());
        Ok(h)
    }

    fn request(
        &self,
        method: reqwest::Method,
        header: &(String, String),
        msg: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let session = self.session.borrow();
        // No total timeout (tool calls may run for minutes, event streams for hours): the
        // client's connect timeout stays, silence is cut by `IDLE` while reading.
        let mut req = self
            .http
            .request(method.clone(), self.url.clone())
            .timeout(REQUEST_CEILING);
        if !header.0.is_empty() {
            req = req.header(header.0.as_str(), header.1.as_str());
        }
        let version = session
            .version
            .clone()
            .or_else(|| msg.and_then(protocol::version_in_meta).map(str::to_owned));
        let kind = match msg {
            Some(m) => Request::Post(m),
            None if method == reqwest::Method::DELETE => Request::Delete,
            None => Request::Get,
        };
        let headers = protocol::headers(
            kind,
            version.as_deref(),
            session.id.as_deref(),
            &self.tools.borrow(),
        );
        req = protocol::apply(req, headers);
        if let Some(m) = msg {
            req = req.json(m);
        }
        req
    }

    /// Sends with the current token; on 401 refreshes once and retries.
    async fn send(&self, method: reqwest::Method, msg: Option<&Value>) -> Sent {
        let cached = self.current.borrow().clone();
        let mut header = match cached {
            Some(h) => h,
            None => match self.header(None).await {
                Ok(h) => h,
                Err(e) => return Sent::Unauthorized(e.paragraph()),
            },
        };
        let (mut refreshed, mut stepped_up) = (false, false);
        loop {
            let had_session = self.session.borrow().id.is_some();
            let resp = match self.request(method.clone(), &header, msg).send().await {
                Ok(r) => r,
                Err(e) => return Sent::Failed(format!("could not reach {}: {e}", self.url)),
            };
            match resp.status().as_u16() {
                401 if !refreshed => {
                    refreshed = true;
                    header = match self.header(Some(&header.1)).await {
                        Ok(h) => h,
                        Err(e) => return Sent::Unauthorized(e.paragraph()),
                    };
                }
                401 => {
                    return Sent::Unauthorized(format!(
                        "{} refused the token even after a refresh",
                        self.url
                    ));
                }
                // Scope step-up: once per message; a server still not satisfied gets its 403.
                403 if !stepped_up && let Some(scope) = insufficient_scope(&resp) => {
                    stepped_up = true;
                    header = match self.creds.step_up(&header.1, scope.as_deref()).await {
                        Ok(h) => {
                            *self.current.borrow_mut() = Some(h.clone());
                            h
                        }
                        Err(e) => return Sent::Unauthorized(e.paragraph()),
                    };
                }
                404 if had_session => return Sent::SessionGone,
                _ => return Sent::Ok(resp),
            }
        }
    }

    /// `server/discover` with the client's envelope: its result when the server answered
    /// one. A refusal of the version that lists 2026-07-28 as supported is asked once more.
    /// `Err(why)` when the server refused the token.
    async fn discover(&self, envelope: &Value) -> Result<Option<Value>, String> {
        for attempt in 0..2 {
            let probe = json!({"jsonrpc": "2.0", "id": self.fresh_id("discover"),
                "method": "server/discover", "params": {"_meta": envelope}});
            match self.send(reqwest::Method::POST, Some(&probe)).await {
                Sent::Ok(resp) if resp.status().is_success() => {
                    return Ok(self
                        .answer_to(resp, &probe["id"])
                        .await
                        .and_then(|m| m.get("result").cloned()));
                }
                Sent::Ok(resp) if resp.status().as_u16() == 400 && attempt == 0 => {
                    let refusal = read_capped(resp)
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                    if !refusal.is_some_and(|r| protocol::refused_version_but_speaks_modern(&r)) {
                        return Ok(None);
                    }
                }
                Sent::Unauthorized(why) => return Err(why),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The client's `initialize`: probe with `server/discover` first; a server that speaks only
    /// 2026-07-28 gets the modern lifecycle (answered here), any other the `initialize` itself.
    async fn initialize(&self, init: Value) {
        let params = init.get("params").cloned().unwrap_or(Value::Null);
        let client_info = params
            .get("clientInfo")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(
                || json!({"name": "lanyard-bridge", "version": env!("CARGO_PKG_VERSION")}),
            );
        // The client's own capabilities: the bridge relays what they cover (elicitation,
        // sampling, roots) as the revision's input requests.
        let capabilities = params
            .get("capabilities")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        let envelope = protocol::envelope(client_info, capabilities);
        let discovered = match self.discover(&envelope).await {
            Ok(d) => d,
            Err(why) => {
                self.error_reply(
                    &init,
                    -32001,
                    format!("Lanyard could not authorize to the MCP server: {why}"),
                );
                return;
            }
        };
        // Only a server that speaks 2026-07-28 alone: one that also speaks a 2025 revision
        // gives the 2025 client a real session (its capabilities, the GET stream, server
        // notifications), which the translation cannot.
        let Some(result) = discovered.filter(|r| {
            let v = protocol::supported_versions(r);
            v.contains(&MODERN_VERSION) && !v.iter().any(|v| LEGACY_VERSIONS.contains(v))
        }) else {
            self.forward(init).await;
            return;
        };
        {
            let mut s = self.session.borrow_mut();
            s.version = Some(MODERN_VERSION.to_owned());
            s.envelope = Some(envelope);
        }
        let asked = params.get("protocolVersion").and_then(Value::as_str);
        let version = asked
            .filter(|v| LEGACY_VERSIONS.contains(v))
            .unwrap_or(LEGACY_VERSIONS[0]);
        let server_info = protocol::server_info(&result)
            .unwrap_or_else(|| json!({"name": self.url.as_str(), "version": "unknown"}));
        let mut answer = json!({
            "protocolVersion": version,
            "capabilities": result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
            "serverInfo": server_info,
        });
        if let Some(i) = result.get("instructions").filter(|i| i.is_string()) {
            answer["instructions"] = i.clone();
        }
        if let Some(id) = request_id(&init) {
            self.emit(json!({"jsonrpc": "2.0", "id": id, "result": answer}));
        }
    }

    /// A 2025 client's message for a 2026-07-28 server: `None` when the bridge answered or
    /// dropped it, else the message with the `_meta` envelope. Unchanged in any other session.
    fn translate(&self, mut msg: Value) -> Option<Value> {
        let Some(envelope) = self.session.borrow().envelope.clone() else {
            return Some(msg);
        };
        match method_of(&msg) {
            Some("notifications/initialized") => return None,
            Some("ping") => {
                if let Some(id) = request_id(&msg) {
                    self.emit(json!({"jsonrpc": "2.0", "id": id, "result": {}}));
                }
                return None;
            }
            Some(_) => {}
            None => return Some(msg),
        }
        protocol::wrap(&mut msg, &envelope);
        Some(msg)
    }

    /// The JSON-RPC response with `id` in an answer (JSON, batch or event stream).
    async fn answer_to(&self, mut resp: reqwest::Response, id: &Value) -> Option<Value> {
        let mut found = None;
        if content_type(&resp).starts_with("text/event-stream") {
            self.read_events(&mut resp, &mut |m| {
                if found.is_none() && answers(&m, id) {
                    found = Some(m);
                }
            })
            .await;
            return found;
        }
        match serde_json::from_slice::<Value>(&read_capped(resp).await.ok()?).ok()? {
            Value::Array(items) => items.into_iter().find(|m| m.get("id") == Some(id)),
            m => Some(m).filter(|m| m.get("id") == Some(id)),
        }
    }

    /// Forwards one client message and relays whatever comes back. A 2025 client behind a
    /// 2026-07-28 server cannot answer `input_required` results itself: the bridge puts their
    /// input requests to it as ordinary server-to-client requests and sends the request again
    /// (new id, the answers, the server's `requestState` exactly as received).
    async fn forward(&self, msg: Value) {
        let client_id = request_id(&msg);
        let translated = self.session.borrow().envelope.is_some();
        let mut current = msg.clone();
        for _ in 0..MAX_INPUT_ROUNDS {
            let Some(mut answer) = self.exchange(&current, &msg).await else {
                return;
            };
            let Some(result) = input_required(&answer).filter(|_| translated).cloned() else {
                if let Some(id) = &client_id {
                    answer["id"] = id.clone();
                }
                self.emit(answer);
                return;
            };
            let responses = match self.ask_client(result.get("inputRequests")).await {
                Ok(r) => r,
                Err(why) => {
                    self.error_reply(&msg, -32603, format!("Lanyard bridge: {why}"));
                    return;
                }
            };
            current = msg.clone();
            current["id"] = json!(self.fresh_id("retry"));
            if let Some(p) = current.get_mut("params").and_then(Value::as_object_mut) {
                p.insert("inputResponses".into(), responses);
                match result.get("requestState") {
                    Some(state) => p.insert("requestState".into(), state.clone()),
                    None => p.remove("requestState"),
                };
            }
        }
        self.error_reply(
            &msg,
            -32603,
            format!(
                "Lanyard bridge: the server asked for input more than {MAX_INPUT_ROUNDS} times"
            ),
        );
    }

    /// Learns the tools' `x-mcp-header` annotations with a `tools/list` of the bridge's own
    /// (not relayed), for a call of a tool no listing has shown yet — a client may call
    /// without listing, or before its listing was answered. It carries the call's `_meta`
    /// envelope, so it is valid in whatever revision the call is.
    async fn learn_tools(&self, call: &Value) {
        let mut cursor: Option<Value> = None;
        for _ in 0..20 {
            let mut params = json!({});
            if let Some(meta) = call.pointer("/params/_meta").and_then(Value::as_object) {
                let envelope: serde_json::Map<String, Value> = meta
                    .iter()
                    .filter(|(k, _)| k.starts_with("io.modelcontextprotocol/"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !envelope.is_empty() {
                    params["_meta"] = Value::Object(envelope);
                }
            }
            if let Some(c) = cursor.take() {
                params["cursor"] = c;
            }
            let list = json!({"jsonrpc": "2.0", "id": self.fresh_id("tools"),
                "method": "tools/list", "params": params});
            let Sent::Ok(resp) = self.send(reqwest::Method::POST, Some(&list)).await else {
                return;
            };
            if !resp.status().is_success() {
                return;
            }
            let Some(mut answer) = self.answer_to(resp, &list["id"]).await else {
                return;
            };
            let Some(result) = answer.get_mut("result") else {
                return;
            };
            self.tools.borrow_mut().learn(result);
            cursor = result
                .get("nextCursor")
                .filter(|c| c.as_str().is_some_and(|c| !c.is_empty()))
                .cloned();
            if cursor.is_none() {
                return;
            }
        }
    }

    /// Sends one message (a new session when the server forgot it) and returns the response
    /// to it; `None` when there is none to give or a failure was already answered — to
    /// `client_msg`, the client's own request (`msg` may be the bridge's retry of it).
    async fn exchange(&self, msg: &Value, client_msg: &Value) -> Option<Value> {
        if self.tools.borrow().unknown_callee(msg).is_some() {
            self.learn_tools(msg).await;
        }
        let mut retried_session = false;
        loop {
            match self.send(reqwest::Method::POST, Some(msg)).await {
                Sent::Ok(resp) => {
                    return match self.relay_post_answer(msg, resp).await {
                        Relayed::Answer(a) => Some(a),
                        Relayed::Nothing => None,
                        Relayed::Missing(why) => {
                            self.error_reply(client_msg, -32603, format!("Lanyard bridge: {why}"));
                            None
                        }
                    };
                }
                Sent::SessionGone if !retried_session && method_of(msg) != Some("initialize") => {
                    retried_session = true;
                    if !self.reinitialize().await {
                        self.error_reply(
                            client_msg,
                            -32001,
                            "the MCP server ended the session and a new one could not be started"
                                .into(),
                        );
                        return None;
                    }
                }
                Sent::SessionGone => {
                    self.error_reply(
                        client_msg,
                        -32001,
                        "the MCP server ended the session".into(),
                    );
                    return None;
                }
                Sent::Unauthorized(why) => {
                    self.error_reply(
                        client_msg,
                        -32001,
                        format!("Lanyard could not authorize to the MCP server: {why}"),
                    );
                    return None;
                }
                Sent::Failed(why) => {
                    self.error_reply(client_msg, -32603, format!("Lanyard bridge: {why}"));
                    return None;
                }
            }
        }
    }

    /// Puts a result's `inputRequests` (key → `{method, params}`) to the client, one by one,
    /// and returns `inputResponses` (key → the client's result).
    async fn ask_client(&self, requests: Option<&Value>) -> Result<Value, String> {
        let Some(requests) = requests.and_then(Value::as_object) else {
            return Err("the server asked for input without saying which".into());
        };
        let mut responses = serde_json::Map::new();
        for (key, r) in requests {
            let Some(method) = r.get("method").and_then(Value::as_str) else {
                return Err(format!(
                    "the server's input request \"{key}\" names no method"
                ));
            };
            if self.input_closed.get() {
                return Err(format!("the assistant closed its input before {method}"));
            }
            let id = self.fresh_id("input");
            let (tx, rx) = oneshot::channel();
            self.pending.borrow_mut().insert(id.clone(), tx);
            let mut ask = json!({"jsonrpc": "2.0", "id": id, "method": method});
            if let Some(p) = r.get("params") {
                ask["params"] = p.clone();
            }
            self.emit(ask);
            let reply = match tokio::time::timeout(IDLE, rx).await {
                Ok(Ok(reply)) => reply,
                _ => {
                    self.pending.borrow_mut().remove(&id);
                    return Err(format!("the assistant did not answer {method}"));
                }
            };
            match reply.get("result") {
                Some(result) => {
                    responses.insert(key.clone(), result.clone());
                }
                None => {
                    let why = reply
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no result");
                    return Err(format!("the assistant refused {method}: {why}"));
                }
            }
        }
        Ok(Value::Object(responses))
    }

    /// A response on its way to the client: a `tools/list` result loses the tools whose
    /// `x-mcp-header` annotations are malformed (and teaches the bridge the others').
    fn inbound(&self, request: &Value, mut m: Value) -> Value {
        if method_of(request) == Some("tools/list")
            && let Some(result) = m.get_mut("result")
        {
            for r in self.tools.borrow_mut().learn(result) {
                tracing::warn!("bridge: tool \"{}\" left out: {}", r.tool, r.why);
            }
        }
        m
    }

    async fn relay_post_answer(&self, msg: &Value, resp: reqwest::Response) -> Relayed {
        let status = resp.status();
        let is_init = method_of(msg) == Some("initialize");
        if is_init
            && status.is_success()
            && let Some(id) = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            self.session.borrow_mut().id = Some(id.to_owned());
        }
        if status.as_u16() == 202 || status.as_u16() == 204 {
            return Relayed::Nothing;
        }
        let want = request_id(msg);
        let mut answer = None;
        let mut cut = None;
        if content_type(&resp).starts_with("text/event-stream") {
            let mut resp = resp;
            let end = self
                .read_events(&mut resp, &mut |m: Value| {
                    if is_init {
                        self.learn_version(&m);
                    }
                    match &want {
                        Some(id) if answer.is_none() && answers(&m, id) => answer = Some(m),
                        _ => self.emit(m),
                    }
                })
                .await;
            cut = end.cut;
            // The stream closed before the answer (the server may end it at will and resend
            // on a GET from where it stopped): resume after the delay it asked for.
            if answer.is_none()
                && cut.is_none()
                && let (Some(id), Some(last)) = (&want, end.last_id)
            {
                answer = self.resume(id, last, end.retry).await;
            }
        } else {
            let bytes = match read_capped(resp).await {
                Ok(b) => b,
                Err(why) => return Relayed::Missing(why),
            };
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Array(items)) => {
                    for m in items {
                        match &want {
                            Some(id) if answer.is_none() && answers(&m, id) => answer = Some(m),
                            _ => self.emit(m),
                        }
                    }
                    if want.is_some() && answer.is_none() {
                        return Relayed::Nothing;
                    }
                }
                Ok(mut m) if m.get("jsonrpc").is_some() => {
                    if is_init {
                        self.learn_version(&m);
                    }
                    match &want {
                        // A refusal not tied to the request (`"id": null`) still answers it.
                        Some(id) if m.get("id").is_none_or(Value::is_null) => {
                            m["id"] = id.clone();
                            answer = Some(m);
                        }
                        Some(_) => answer = Some(m),
                        None => self.emit(m),
                    }
                }
                _ => {}
            }
        }
        match (answer, want) {
            (Some(a), _) => Relayed::Answer(self.inbound(msg, a)),
            (None, None) => Relayed::Nothing,
            (None, Some(_)) => Relayed::Missing(match cut {
                Some(why) => why,
                None if status.is_success() => {
                    "the server's answer had no response to this request".to_owned()
                }
                None => format!("the server answered HTTP {status}"),
            }),
        }
    }

    /// Resumes a POST's event stream with GET and `Last-Event-ID` until the response to `id`
    /// arrives (other messages are relayed), waiting the server's `retry:` before each try.
    async fn resume(
        &self,
        id: &Value,
        mut last_id: String,
        mut retry: Option<Duration>,
    ) -> Option<Value> {
        for _ in 0..MAX_RESUMES {
            tokio::time::sleep(retry.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY)).await;
            let header = self.current.borrow().clone()?;
            let resp = self
                .request(reqwest::Method::GET, &header, None)
                .header("Last-Event-ID", last_id.as_str())
                .send()
                .await
                .ok()?;
            if !resp.status().is_success() || !content_type(&resp).starts_with("text/event-stream")
            {
                return None;
            }
            let mut resp = resp;
            let mut sse = SseParser::new(MAX_MESSAGE);
            let mut found = None;
            loop {
                let chunk = match tokio::time::timeout(IDLE, resp.chunk()).await {
                    Ok(Ok(Some(chunk))) => chunk,
                    Ok(_) => break,
                    Err(_) => return None,
                };
                let fed = sse.feed(&chunk, &mut |m: Value| {
                    if found.is_none() && answers(&m, id) {
                        found = Some(m);
                    } else {
                        self.emit(m);
                    }
                });
                if fed.is_err() {
                    return None;
                }
                if found.is_some() {
                    return found;
                }
            }
            sse.finish(&mut |m: Value| {
                if found.is_none() && answers(&m, id) {
                    found = Some(m);
                } else {
                    self.emit(m);
                }
            });
            if found.is_some() {
                return found;
            }
            last_id = sse.last_id().map(str::to_owned).unwrap_or(last_id);
            retry = sse.retry_ms().map(Duration::from_millis).or(retry);
        }
        None
    }

    fn learn_version(&self, m: &Value) {
        if let Some(v) = m.pointer("/result/protocolVersion").and_then(Value::as_str) {
            self.session.borrow_mut().version = Some(v.to_owned());
        }
    }

    /// Reads an SSE body, calling `each` for every JSON-RPC message. An event (or a line) over
    /// [`MAX_MESSAGE`] ends the stream, as does [`IDLE`] silence.
    async fn read_events(
        &self,
        resp: &mut reqwest::Response,
        each: &mut impl FnMut(Value),
    ) -> StreamEnd {
        let mut sse = SseParser::new(MAX_MESSAGE);
        let cut = loop {
            match tokio::time::timeout(IDLE, resp.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    if sse.feed(&chunk, each).is_err() {
                        break Some(too_large());
                    }
                }
                Err(_) => break Some(idle()),
                _ => {
                    sse.finish(each);
                    break None;
                }
            }
        };
        StreamEnd {
            last_id: sse.last_id().map(str::to_owned),
            retry: sse.retry_ms().map(Duration::from_millis),
            cut,
        }
    }

    /// Replays the client's `initialize` (its answer is not forwarded) to get a new session.
    async fn reinitialize(&self) -> bool {
        let Some(mut init) = self.session.borrow().init.clone() else {
            return false;
        };
        self.session.borrow_mut().id = None;
        init["id"] = json!("lanyard-reinitialize");
        let resp = match self.send(reqwest::Method::POST, Some(&init)).await {
            Sent::Ok(r) if r.status().is_success() => r,
            _ => return false,
        };
        if let Some(id) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session.borrow_mut().id = Some(id.to_owned());
        }
        // Drain the answer (not forwarded: the client already has one).
        if content_type(&resp).starts_with("text/event-stream") {
            let mut resp = resp;
            self.read_events(&mut resp, &mut |m| self.learn_version(&m))
                .await;
        } else if let Ok(m) = read_capped(resp)
            .await
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
        {
            self.learn_version(&m);
        }
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        matches!(self.send(reqwest::Method::POST, Some(&note)).await, Sent::Ok(r) if r.status().is_success())
    }

    /// The GET stream for server-initiated messages (2025 revisions with a session only).
    fn start_get_stream(self: Rc<Self>) {
        {
            let mut s = self.session.borrow_mut();
            let modern = s.version.as_deref().is_some_and(|v| v >= "2026-01-01");
            if s.get_stream_started || modern {
                return;
            }
            s.get_stream_started = true;
        }
        let this = self.clone();
        let stream = tokio::task::spawn_local(async move {
            let mut last_event: Option<String> = None;
            let mut retry = Duration::from_millis(500);
            for _ in 0..100 {
                let header = match this.current.borrow().clone() {
                    Some(h) => h,
                    None => return,
                };
                let mut req = this.request(reqwest::Method::GET, &header, None);
                if let Some(id) = &last_event {
                    req = req.header("Last-Event-ID", id.as_str());
                }
                let resp = match req.send().await {
                    Ok(r) => r,
                    Err(_) => return,
                };
                match resp.status().as_u16() {
                    200 if content_type(&resp).starts_with("text/event-stream") => {
                        let mut resp = resp;
                        let end = this.read_events(&mut resp, &mut |m| this.emit(m)).await;
                        if let Some(id) = end.last_id {
                            last_event = Some(id);
                        }
                        if let Some(r) = end.retry {
                            retry = r.min(MAX_RETRY);
                        }
                    }
                    401 => {
                        if this.header(Some(&header.1)).await.is_err() {
                            return;
                        }
                    }
                    // 405: no stream offered; anything else: give up quietly.
                    _ => return,
                }
                tokio::time::sleep(retry).await;
            }
        });
        *self.get_stream.borrow_mut() = Some(stream);
    }

    async fn end_session(&self) {
        if self.session.borrow().id.is_none() {
            return;
        }
        let Some(header) = self.current.borrow().clone() else {
            return;
        };
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            self.request(reqwest::Method::DELETE, &header, None).send(),
        )
        .await;
    }
}

fn too_large() -> String {
    format!(
        "the server sent a message larger than the {} MiB the bridge accepts",
        MAX_MESSAGE / (1024 * 1024)
    )
}

fn idle() -> String {
    format!(
        "the server sent nothing for {} minutes",
        IDLE.as_secs() / 60
    )
}

/// A whole (non-stream) body, at most [`MAX_MESSAGE`] bytes, each read within [`IDLE`].
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_MESSAGE as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(IDLE, resp.chunk()).await {
            Err(_) => return Err(idle()),
            Ok(Err(e)) => return Err(format!("the answer was cut off: {e}")),
            Ok(Ok(None)) => return Ok(body),
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > MAX_MESSAGE {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// One request as the fake server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        headers: Vec<(String, String)>,
        body: Value,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    #[derive(Default)]
    struct FakeState {
        seen: Vec<Seen>,
        /// Answer 404 to the next request carrying session s1 (the server forgot it).
        forget_session: bool,
        sessions: u32,
        /// Behave as a 2026-07-28-only server (see `respond_modern`).
        modern: bool,
        /// A 2025 server that also answers `server/discover`, listing both revisions.
        dual: bool,
        /// `tools/call` answers only after this long (a long-running tool).
        call_delay: Option<std::time::Duration>,
        /// `tools/call` answers with a message of this many bytes: "json" or "sse" framing.
        huge_call: Option<(&'static str, usize)>,
        /// Modern mode: refuse the first request's version (400, -32022, 2026-07-28 supported).
        refuse_first: bool,
        /// Modern mode: the tools `tools/list` answers with (default: one `echo`).
        tools: Option<Value>,
        /// 2025 mode: `tools/call` ends its event stream after a priming event (id `p1`,
        /// retry 50 ms); a GET with `Last-Event-ID: p1` carries the answer.
        resumable_call: bool,
        pending_call: Option<Value>,
        /// 2025 mode: the GET stream opens and never ends.
        endless_get: bool,
        /// 2025 mode: `tools/call` needs the scope "extra", which only "Bearer wide" carries
        /// (403 `insufficient_scope` otherwise).
        needs_scope: bool,
    }

    /// A Streamable HTTP server (2025-06-18 style) with just enough behaviour for the bridge:
    /// sessions, a token check ("Bearer new"), SSE answers carrying a notification and a
    /// server-to-client request before the response, 405 on GET, 404 for a forgotten session.
    async fn fake_server(state: Arc<Mutex<FakeState>>) -> Url {
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
                    let body: Value =
                        serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
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
            "tools/call"
                if st.needs_scope && seen.header("authorization") != Some("Bearer wide") =>
            {
                (
                    "403 Forbidden",
                    "",
                    vec![(
                        "WWW-Authenticate".into(),
                        r#"Bearer error="insufficient_scope", scope="extra""#.into(),
                    )],
                    String::new(),
                )
            }
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
        let json_reply =
            |status, body: Value| (status, "application/json", vec![], body.to_string());
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

    /// Hands out "Bearer old" first, "Bearer new" once "Bearer old" was refused.
    struct Rotating(Mutex<u32>);
    impl Credentials for Rotating {
        fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
            Box::pin(async move {
                *self.0.lock().unwrap() += 1;
                let v = if rejected == Some("Bearer old") {
                    "Bearer new"
                } else {
                    "Bearer old"
                };
                Ok(("Authorization".to_owned(), v.to_owned()))
            })
        }
    }

    async fn run_bridge(url: Url, input: &str) -> Vec<Value> {
        run_bridge_with(crate::http::oauth_client().unwrap(), url, input).await
    }

    async fn run_bridge_with(http: reqwest::Client, url: Url, input: &str) -> Vec<Value> {
        let (out_w, mut out_r) = tokio::io::duplex(1 << 20);
        let creds = Box::new(Rotating(Mutex::new(0)));
        run_with(http, url, creds, input.as_bytes(), out_w)
            .await
            .unwrap();
        let mut s = String::new();
        out_r.read_to_string(&mut s).await.unwrap();
        s.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{}},"clientInfo":{"name":"t","version":"1"}}}"#;

    const CALL: &str =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;

    /// The answer to request 1 in the bridge's output.
    fn answer_1(out: &[Value]) -> Value {
        out.iter()
            .find(|m| m.get("id") == Some(&json!(1)))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// A tool that runs longer than the HTTP client's total timeout (the CLI's client has 60 s;
    /// here 1 s against a 2 s tool): the call is not cut, its answer comes through.
    #[tokio::test]
    async fn a_tool_call_outlives_the_clients_total_timeout() {
        let state = Arc::new(Mutex::new(FakeState {
            call_delay: Some(std::time::Duration::from_secs(2)),
            ..FakeState::default()
        }));
        let url = fake_server(state).await;
        let http = crate::http::build_client(&crate::http::Limits {
            total_timeout: std::time::Duration::from_secs(1),
            ..crate::http::Limits::oauth()
        })
        .unwrap();
        let out = run_bridge_with(http, url, &format!("{INIT}\n{CALL}\n")).await;
        let a = answer_1(&out);
        assert_eq!(a["result"]["content"][0]["text"], json!("done"), "{out:?}");
    }

    /// A body or an SSE event over the cap is refused with an error answer, never buffered
    /// and relayed; a large one under the cap still goes through.
    #[tokio::test]
    async fn bodies_and_events_over_the_cap_are_refused() {
        for framing in ["json", "sse"] {
            let state = Arc::new(Mutex::new(FakeState {
                huge_call: Some((framing, MAX_MESSAGE + 1024)),
                ..FakeState::default()
            }));
            let url = fake_server(state).await;
            let out = run_bridge(url, &format!("{INIT}\n{CALL}\n")).await;
            let a = answer_1(&out);
            assert_eq!(a["error"]["code"], json!(-32603), "{framing}");
            assert!(
                a["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("larger than"),
                "{framing}: {}",
                a["error"]["message"]
            );
        }
        let state = Arc::new(Mutex::new(FakeState {
            huge_call: Some(("sse", 512 * 1024)),
            ..FakeState::default()
        }));
        let url = fake_server(state).await;
        let out = run_bridge(url, &format!("{INIT}\n{CALL}\n")).await;
        assert!(answer_1(&out)["result"].is_object());
    }

    #[tokio::test]
    async fn forwards_both_ways_with_session_version_and_refresh() {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let url = fake_server(state.clone()).await;
        let input = format!(
            "{INIT}\n{}\n{}\n{}\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":"srv-1","result":{"roots":[]}}"#,
        );
        let out = run_bridge(url, &input).await;
        // The initialize answer, then the SSE stream's three messages in order.
        assert_eq!(out[0]["result"]["protocolVersion"], json!("2025-06-18"));
        let tail: Vec<&Value> = out
            .iter()
            .filter(|m| m.get("id") != Some(&json!(0)))
            .collect();
        assert_eq!(tail[0]["method"], json!("notifications/progress"));
        assert_eq!(tail[1]["method"], json!("roots/list"));
        assert_eq!(tail[2]["result"]["content"][0]["text"], json!("done"));

        let seen = state.lock().unwrap().seen.clone();
        // The first try with the old token got a 401; everything after used the new one.
        assert_eq!(seen[0].header("authorization"), Some("Bearer old"));
        assert!(
            seen[1..]
                .iter()
                .all(|s| s.header("authorization") == Some("Bearer new"))
        );
        let call = seen
            .iter()
            .find(|s| s.body["method"] == json!("tools/call"))
            .unwrap();
        assert_eq!(call.header("mcp-session-id"), Some("s1"));
        assert_eq!(call.header("mcp-protocol-version"), Some("2025-06-18"));
        assert_eq!(call.header("mcp-method"), Some("tools/call"));
        assert_eq!(call.header("mcp-name"), Some("echo"));
        // The initialize the bridge forwarded names its method too, like every POST.
        let init = seen
            .iter()
            .find(|s| s.body["method"] == json!("initialize"))
            .unwrap();
        assert_eq!(init.header("mcp-method"), Some("initialize"));
        // The client's answer to the server's request went back as a POST in the session.
        let answer = seen
            .iter()
            .find(|s| s.body["id"] == json!("srv-1"))
            .unwrap();
        assert_eq!(answer.method, "POST");
        assert_eq!(answer.header("mcp-session-id"), Some("s1"));
        // The GET stream was tried (405) and the session ended with DELETE.
        assert!(seen.iter().any(|s| s.method == "GET"));
        assert!(seen.iter().any(|s| s.method == "DELETE"));
    }

    /// A 2025 client (it sends `initialize`) behind the bridge, a 2026-07-28-only server in
    /// front: the bridge probes `server/discover`, answers `initialize` and `ping` itself, drops
    /// `notifications/initialized`, and sends each request with the `_meta` envelope (merged
    /// with the client's own `_meta`) and the modern headers; no GET stream, no DELETE.
    #[tokio::test]
    async fn a_2025_client_speaks_to_a_2026_07_28_server_through_the_bridge() {
        let state = Arc::new(Mutex::new(FakeState {
            modern: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let input = format!(
            "{INIT}\n{}\n{}\n{}\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"_meta":{"progressToken":1}}}"#,
        );
        let out = run_bridge(url, &input).await;
        let answer = |id: i64| {
            out.iter()
                .find(|m| m["id"] == json!(id))
                .unwrap_or_else(|| panic!("no answer {id}: {out:?}"))
        };
        let init = &answer(0)["result"];
        assert_eq!(init["protocolVersion"], json!("2025-06-18"), "{out:?}");
        assert_eq!(init["serverInfo"]["name"], json!("modern-fake"));
        assert_eq!(init["capabilities"], json!({"tools": {}}));
        assert_eq!(init["instructions"], json!("be kind"));
        assert_eq!(answer(5)["result"], json!({}));
        assert_eq!(answer(6)["result"]["tools"][0]["name"], json!("echo"));
        assert_eq!(out.len(), 3, "{out:?}");

        let seen = state.lock().unwrap().seen.clone();
        let sent: Vec<&str> = seen
            .iter()
            .filter(|s| s.header("authorization") == Some("Bearer new"))
            .map(|s| s.body["method"].as_str().unwrap_or(s.method.as_str()))
            .collect();
        assert_eq!(sent, ["server/discover", "tools/list"], "{seen:?}");
        let list = seen
            .iter()
            .find(|s| s.body["method"] == json!("tools/list"))
            .unwrap();
        assert_eq!(list.header("mcp-protocol-version"), Some("2026-07-28"));
        assert_eq!(list.header("mcp-method"), Some("tools/list"));
        let meta = &list.body["params"]["_meta"];
        assert_eq!(meta["progressToken"], json!(1));
        assert_eq!(
            meta["io.modelcontextprotocol/clientInfo"]["name"],
            json!("t")
        );
        // The client's own capabilities: the bridge relays input requests to it.
        assert_eq!(
            meta["io.modelcontextprotocol/clientCapabilities"],
            json!({"roots": {}})
        );
    }

    /// A server that speaks 2026-07-28 and a 2025 revision: a 2025 client gets a real 2025
    /// session (the server's own `initialize`), not the translation.
    #[tokio::test]
    async fn a_2025_client_gets_a_real_session_from_a_server_that_speaks_both() {
        let state = Arc::new(Mutex::new(FakeState {
            dual: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let out = run_bridge(url, &format!("{INIT}\n")).await;
        let init = out
            .iter()
            .find(|m| m["id"] == json!(0))
            .unwrap_or_else(|| panic!("no answer: {out:?}"));
        assert_eq!(
            init["result"]["serverInfo"]["name"],
            json!("fake"),
            "{out:?}"
        );
        let seen = state.lock().unwrap().seen.clone();
        assert!(
            seen.iter().any(|s| s.body["method"] == json!("initialize")),
            "the server's own initialize answered: {seen:?}"
        );
    }

    #[tokio::test]
    async fn a_forgotten_session_is_reinitialized_quietly() {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let url = fake_server(state.clone()).await;
        let list = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
        // Run the handshake, then make the server forget the session before tools/list.
        let first = run_bridge(url.clone(), &format!("{INIT}\n")).await;
        assert_eq!(first.len(), 1);
        state.lock().unwrap().sessions = 0;
        state.lock().unwrap().forget_session = true;
        let out = run_bridge(url, &format!("{INIT}\n{list}\n")).await;
        // The client sees exactly one initialize answer and the tools/list answer.
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[1]["id"], json!(7));
        assert!(out[1].get("result").is_some(), "{out:?}");
        let seen = state.lock().unwrap().seen.clone();
        let lists: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.body["method"] == json!("tools/list"))
            .collect();
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[1].header("mcp-session-id"), Some("s2"));
    }

    #[tokio::test]
    async fn a_server_that_never_accepts_the_token_yields_a_json_rpc_error() {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let url = fake_server(state.clone()).await;
        struct Stuck;
        impl Credentials for Stuck {
            fn header<'a>(&'a self, _: Option<&'a str>) -> HeaderFuture<'a> {
                Box::pin(async { Ok(("Authorization".to_owned(), "Bearer old".to_owned())) })
            }
        }
        let (out_w, mut out_r) = tokio::io::duplex(1 << 16);
        run_with(
            crate::http::oauth_client().unwrap(),
            url,
            Box::new(Stuck),
            format!("{INIT}\n").as_bytes(),
            out_w,
        )
        .await
        .unwrap();
        let mut s = String::new();
        out_r.read_to_string(&mut s).await.unwrap();
        let v: Value = serde_json::from_str(s.trim()).unwrap();
        assert_eq!(v["id"], json!(0));
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("refused the token"),
            "{v}"
        );
        // Exactly one retry.
        assert_eq!(state.lock().unwrap().seen.len(), 2);
    }

    /// Runs the bridge with a client that answers the bridge's requests (`answer`) and closes
    /// its input once request `last` is answered; everything the bridge wrote.
    async fn run_bridge_talking(
        url: Url,
        lines: &[&str],
        last: i64,
        answer: impl Fn(&Value) -> Value,
    ) -> Vec<Value> {
        let (mut in_w, in_r) = tokio::io::duplex(1 << 20);
        let (out_w, out_r) = tokio::io::duplex(1 << 20);
        for l in lines {
            in_w.write_all(format!("{l}\n").as_bytes()).await.unwrap();
        }
        let creds = Box::new(Rotating(Mutex::new(0)));
        let client = async move {
            let mut seen = Vec::new();
            let mut out = tokio::io::BufReader::new(out_r).lines();
            let mut in_w = Some(in_w);
            while let Ok(Some(line)) = out.next_line().await {
                let m: Value = serde_json::from_str(&line).unwrap();
                if m.get("method").is_some()
                    && let (Some(id), Some(w)) = (m.get("id"), in_w.as_mut())
                {
                    let reply = json!({"jsonrpc": "2.0", "id": id, "result": answer(&m)});
                    w.write_all(format!("{reply}\n").as_bytes()).await.unwrap();
                }
                if m.get("id") == Some(&json!(last)) {
                    in_w = None;
                }
                seen.push(m);
            }
            seen
        };
        let (ran, seen) = tokio::join!(
            run_with(
                crate::http::oauth_client().unwrap(),
                url,
                creds,
                in_r,
                out_w
            ),
            client
        );
        ran.unwrap();
        seen
    }

    /// SEP-2322 through the bridge: a 2025 client cannot answer `input_required`, so the bridge
    /// puts the input request to it as an `elicitation/create`, then sends the call again with
    /// a new id, the client's answer and the server's `requestState` byte for byte; the client
    /// gets one answer, under its own id.
    #[tokio::test]
    async fn input_requests_of_a_2026_07_28_server_are_put_to_the_client_and_the_call_retried() {
        let state = Arc::new(Mutex::new(FakeState {
            modern: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"confirm","arguments":{}}}"#;
        let out = run_bridge_talking(url, &[INIT, call], 1, |ask| {
            assert_eq!(ask["method"], json!("elicitation/create"));
            json!({"action": "accept", "content": {"sure": true}})
        })
        .await;
        let asks: Vec<&Value> = out.iter().filter(|m| m.get("method").is_some()).collect();
        assert_eq!(asks.len(), 1, "{out:?}");
        assert_eq!(asks[0]["params"]["message"], json!("Sure?"));
        assert_eq!(
            answer_1(&out)["result"]["content"][0]["text"],
            json!("confirmed"),
            "{out:?}"
        );
        let seen = state.lock().unwrap().seen.clone();
        let calls: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.body["method"] == json!("tools/call"))
            .collect();
        assert_eq!(calls.len(), 2);
        assert_ne!(
            calls[0].body["id"], calls[1].body["id"],
            "a retry has a new id"
        );
        assert!(calls[0].body["params"].get("requestState").is_none());
        assert_eq!(
            calls[1].body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            json!("2026-07-28")
        );
    }

    /// A server that refuses the first version it is sent (400, -32022) but lists 2026-07-28
    /// is asked again; the 2025 client never notices, and every request carries the envelope.
    #[tokio::test]
    async fn a_refused_first_version_is_asked_again() {
        let state = Arc::new(Mutex::new(FakeState {
            modern: true,
            refuse_first: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let out = run_bridge(url, &format!("{INIT}\n{list}\n")).await;
        assert_eq!(out[0]["result"]["serverInfo"]["name"], json!("modern-fake"));
        assert_eq!(answer_1(&out)["result"]["tools"][0]["name"], json!("echo"));
        let seen = state.lock().unwrap().seen.clone();
        let methods: Vec<&str> = seen
            .iter()
            .filter(|s| s.header("authorization") == Some("Bearer new"))
            .map(|s| s.body["method"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            methods,
            ["server/discover", "server/discover", "tools/list"]
        );
    }

    /// SEP-2243 through the bridge: `tools/list` loses the tool whose `x-mcp-header` is
    /// malformed and keeps the others' schemas as they are; a call of an annotated tool mirrors
    /// its arguments into `Mcp-Param-*` headers.
    #[tokio::test]
    async fn annotated_arguments_become_headers_and_malformed_tools_are_left_out() {
        let route_schema = json!({"type": "object", "$defs": {"r": {"$anchor": "r"}},
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"},
                           "n": {"type": "integer", "x-mcp-header": "N"},
                           "q": {"$ref": "#/$defs/r"}}});
        let state = Arc::new(Mutex::new(FakeState {
            modern: true,
            tools: Some(json!([
                {"name": "route", "inputSchema": route_schema.clone()},
                {"name": "bad", "inputSchema": {"type": "object",
                    "properties": {"v": {"type": "string", "x-mcp-header": "A B"}}}},
            ])),
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"route","arguments":{"region":"eu west ","n":3,"q":"x"}}}"#;
        let out = run_bridge(url, &format!("{INIT}\n{list}\n{call}\n")).await;
        let tools = answer_1(&out)["result"]["tools"].clone();
        assert_eq!(
            tools,
            json!([{"name": "route", "inputSchema": route_schema}]),
            "{out:?}"
        );
        let seen = state.lock().unwrap().seen.clone();
        let sent = seen
            .iter()
            .find(|s| s.body["method"] == json!("tools/call"))
            .unwrap();
        assert_eq!(sent.header("mcp-method"), Some("tools/call"));
        assert_eq!(sent.header("mcp-name"), Some("route"));
        assert_eq!(
            sent.header("mcp-param-region"),
            Some("=?base64?ZXUgd2VzdCA=?=")
        );
        assert_eq!(sent.header("mcp-param-n"), Some("3"));
        assert_eq!(sent.header("mcp-param-q"), None);
    }

    /// SEP-1699: a POST's event stream that ends after a priming event, before the answer, is
    /// resumed with a GET carrying `Last-Event-ID`, after the server's `retry:`; the answer
    /// that comes on it reaches the client.
    #[tokio::test]
    async fn a_stream_closed_before_its_answer_is_resumed_with_last_event_id() {
        let state = Arc::new(Mutex::new(FakeState {
            resumable_call: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let out = run_bridge(url, &format!("{INIT}\n{CALL}\n")).await;
        assert_eq!(
            answer_1(&out)["result"]["content"][0]["text"],
            json!("resumed"),
            "{out:?}"
        );
        let seen = state.lock().unwrap().seen.clone();
        let resumed = seen
            .iter()
            .find(|s| s.method == "GET" && s.header("last-event-id").is_some())
            .unwrap_or_else(|| panic!("no resumption: {seen:?}"));
        assert_eq!(resumed.header("last-event-id"), Some("p1"));
        assert_eq!(resumed.header("mcp-session-id"), Some("s1"));
    }

    /// A server's GET stream may stay open for hours: when the client closes its input, the
    /// bridge still ends (and ends the session), instead of waiting on the stream.
    #[tokio::test]
    async fn the_bridge_ends_with_its_input_even_with_the_get_stream_open() {
        let state = Arc::new(Mutex::new(FakeState {
            endless_get: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let out = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            run_bridge(url, &format!("{INIT}\n{initialized}\n{list}\n")),
        )
        .await
        .expect("the bridge ends");
        assert!(answer_1(&out)["result"].is_object(), "{out:?}");
        let seen = state.lock().unwrap().seen.clone();
        assert!(seen.iter().any(|s| s.method == "GET"), "{seen:?}");
        assert!(seen.iter().any(|s| s.method == "DELETE"), "{seen:?}");
    }

    /// Like [`Rotating`], and a step-up gives "Bearer wide" (recording the scope asked for).
    /// (the token refused, the scope asked for) of each step-up.
    type StepUps = Arc<Mutex<Vec<(String, Option<String>)>>>;
    struct Widening(Rotating, StepUps);
    impl Credentials for Widening {
        fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
            self.0.header(rejected)
        }
        fn step_up<'a>(&'a self, rejected: &'a str, scope: Option<&'a str>) -> HeaderFuture<'a> {
            self.1
                .lock()
                .unwrap()
                .push((rejected.to_owned(), scope.map(str::to_owned)));
            Box::pin(async { Ok(("Authorization".to_owned(), "Bearer wide".to_owned())) })
        }
    }

    /// A 403 `insufficient_scope` is met with one step-up (the credentials sign in again for
    /// the scope the challenge names) and the request sent again with the wider token; without
    /// a way to step up, the client gets an error that names the scope.
    #[tokio::test]
    async fn insufficient_scope_steps_up_once_and_retries() {
        let state = Arc::new(Mutex::new(FakeState {
            needs_scope: true,
            ..FakeState::default()
        }));
        let url = fake_server(state.clone()).await;
        let asked = Arc::new(Mutex::new(Vec::new()));
        let creds = Box::new(Widening(Rotating(Mutex::new(0)), asked.clone()));
        let (out_w, mut out_r) = tokio::io::duplex(1 << 20);
        let input = format!("{INIT}\n{CALL}\n");
        run_with(
            crate::http::oauth_client().unwrap(),
            url.clone(),
            creds,
            input.as_bytes(),
            out_w,
        )
        .await
        .unwrap();
        let mut text = String::new();
        out_r.read_to_string(&mut text).await.unwrap();
        let out: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let a = answer_1(&out);
        assert_eq!(a["result"]["content"][0]["text"], json!("done"), "{out:?}");
        assert_eq!(
            *asked.lock().unwrap(),
            [("Bearer new".to_owned(), Some("extra".to_owned()))]
        );
        let seen = state.lock().unwrap().seen.clone();
        assert!(
            seen.iter().any(|s| s.body["method"] == json!("tools/call")
                && s.header("authorization") == Some("Bearer wide")),
            "{seen:?}"
        );

        let out = run_bridge(url, &format!("{INIT}\n{CALL}\n")).await;
        let message = answer_1(&out)["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            message.contains("insufficient_scope") && message.contains("extra"),
            "{out:?}"
        );
    }
}
