//! The bridge end to end against a Streamable HTTP server on loopback: sessions, both
//! revisions, refresh and step-up, size caps, resumed streams.

mod dpop;
mod fake_server;

use super::*;
use fake_server::{FakeState, Seen, fake_server};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use url::Url;

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
    run_bridge_as(http, url, Box::new(Rotating(Mutex::new(0))), input).await
}

/// The bridge over `input` with these credentials; every line it wrote, parsed.
async fn run_bridge_as(
    http: reqwest::Client,
    url: Url,
    creds: Box<dyn Credentials>,
    input: &str,
) -> Vec<Value> {
    let (out_w, mut out_r) = tokio::io::duplex(1 << 20);
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
    let out = run_bridge_as(
        crate::http::oauth_client().unwrap(),
        url,
        Box::new(Stuck),
        &format!("{INIT}\n"),
    )
    .await;
    assert_eq!(out.len(), 1, "{out:?}");
    let v = &out[0];
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
