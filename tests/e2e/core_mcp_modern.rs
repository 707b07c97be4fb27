//! The 2026-07-28 revision against a real server: the official TypeScript SDK v2
//! (`@modelcontextprotocol/server`, the world's `"sdk": "v2"` server), which serves only the
//! modern lifecycle — `server/discover`, the per-request `_meta` envelope, the
//! `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers — and refuses `initialize`.
//! Sign-in, `tools`, `call` and the stdio bridge all work against it without ever sending
//! `initialize` to it.

use std::io::Write;
use std::process::Stdio;

use lanyard_e2e::{Sandbox, Value, World, json, lanyard_bin, tests_dir};

use crate::core_common::{add_ok, token_ok};

const MODERN: &str = "2026-07-28";

fn modern_world() -> World {
    World::start(json!({"mcpServers": [{"name": "modern", "sdk": "v2"}]})).expect("world starts")
}

/// The requests the modern server handled with a valid token (the MCP server itself saw them;
/// 401s stop at the world's bearer check).
fn authorized_requests(world: &World) -> Vec<Value> {
    let log = world.log().expect("log");
    log["mcpServers"]["modern"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["prm"] != json!(true) && e["status"] == json!(200))
        .collect()
}

fn has_rpc(entry: &Value, method: &str) -> bool {
    entry["rpc"]
        .as_array()
        .is_some_and(|a| a.contains(&json!(method)))
}

/// A stdio test client's session through `lanyard bridge` against the modern server: it
/// connected and saw the server's own name, listed `echo`, called it (the echo is `said`), and
/// closed.
#[track_caller]
fn assert_bridged_session(run: &lanyard_e2e::Run, said: &str) {
    run.assert_ok();
    assert_eq!(
        run.step("connected")["server"]["name"],
        json!("lanyard-test-world-modern"),
        "the client sees the server's own name:\n{}",
        run.describe()
    );
    assert!(
        run.step("tools")["names"]
            .as_array()
            .is_some_and(|n| n.contains(&json!("echo"))),
        "{}",
        run.describe()
    );
    assert_eq!(
        run.step("call")["result"]["content"][0]["text"],
        json!(said),
        "{}",
        run.describe()
    );
    run.step("closed");
}

/// Every request the server handled spoke 2026-07-28 (header and `_meta` envelope), none was
/// `initialize`, the lifecycle began with `server/discover`, and the SDK answered each one
/// with success (a request it refused would show here as 4xx).
#[track_caller]
fn assert_only_the_modern_lifecycle(world: &World) -> Vec<Value> {
    let seen = authorized_requests(world);
    let all = serde_json::to_string_pretty(&seen).unwrap_or_default();
    assert!(
        !seen.is_empty(),
        "no authorized MCP request reached the server"
    );
    assert!(
        !seen.iter().any(|e| has_rpc(e, "initialize")),
        "initialize reached the 2026-07-28 server: {all}"
    );
    let discover = seen
        .iter()
        .find(|e| has_rpc(e, "server/discover"))
        .unwrap_or_else(|| panic!("no server/discover: {all}"));
    assert_eq!(discover["mcp_method"], json!("server/discover"), "{all}");
    for e in &seen {
        assert_eq!(e["protocol_version"], json!(MODERN), "{all}");
        if e["rpc"].as_array().is_some_and(|a| !a.is_empty()) {
            assert_eq!(e["meta_versions"], json!([MODERN]), "{all}");
            assert_eq!(e["mcp_method"], e["rpc"][0], "{all}");
        }
        assert!(
            e["answer"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s)),
            "the SDK refused a request: {all}"
        );
    }
    seen
}

#[test]
fn add_signs_in_to_a_2026_07_28_server_and_tools_and_call_speak_it_without_initialize() {
    let world = modern_world();
    assert_eq!(world.info["mcpServers"]["modern"]["sdk"], json!("v2"));
    let sandbox = Sandbox::new().expect("sandbox");

    add_ok(&sandbox, &world, "modern", "modern");
    let counts = world.counts().expect("counts");
    assert!(
        counts.mcp_authorized("modern") >= 1,
        "the first tool call of `add` reached the server"
    );

    let tools = sandbox.lanyard(&["tools", "modern", "--json"]);
    tools.assert_ok();
    assert!(
        tools.stdout.contains("\"echo\""),
        "tools lists echo:\n{}",
        tools.describe()
    );

    let call = sandbox.lanyard(&[
        "call",
        "modern",
        "echo",
        "--args",
        r#"{"text":"hello 2026"}"#,
    ]);
    call.assert_ok();
    assert_eq!(call.stdout.trim(), "hello 2026", "{}", call.describe());

    let seen = assert_only_the_modern_lifecycle(&world);
    let tool_call = seen
        .iter()
        .find(|e| has_rpc(e, "tools/call"))
        .expect("a tools/call");
    assert_eq!(tool_call["mcp_name"], json!("echo"), "{tool_call}");
    assert!(seen.iter().any(|e| has_rpc(e, "tools/list")));

    // Every POST names its method, the unauthenticated discovery probe (401) included.
    let log = world.log().expect("log");
    let posts: Vec<Value> = log["mcpServers"]["modern"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["method"] == json!("POST") && e["prm"] != json!(true))
        .collect();
    assert!(posts.iter().any(|e| e["status"] == json!(401)), "{posts:?}");
    for e in &posts {
        if let Some(m) = e["rpc"].get(0) {
            assert_eq!(&e["mcp_method"], m, "{e}");
        }
    }
}

/// The world's v2 server is strict: the 2025 handshake with a valid token is refused with the
/// SDK's unsupported-protocol-version error, so a client that does not do the 2026 lifecycle
/// fails against it (the other tests passing is not an accident of leniency).
#[test]
fn the_v2_world_server_refuses_the_2025_initialize_handshake() {
    let world = modern_world();
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "modern", "modern");
    let token = token_ok(&sandbox, "modern");

    let r = world
        .mcp_post(
            "modern",
            &token,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "e2e", "version": "0"}}}),
        )
        .expect("MCP server answers");
    assert_eq!(r.status, 400, "{}", r.body);
    let body = r.json();
    assert_eq!(body["error"]["code"], json!(-32022), "{body}");
    assert_eq!(
        body["error"]["data"]["supported"],
        json!([MODERN]),
        "{body}"
    );
}

/// A stdio client on the 2025 SDK (what assistants run today) talks to `lanyard bridge`, which
/// speaks 2026-07-28 to the server on its behalf: it answers the client's `initialize` itself
/// from `server/discover` and wraps every request in the modern envelope.
#[test]
fn a_2025_stdio_client_uses_a_2026_07_28_server_through_the_bridge() {
    let world = modern_world();
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "modern", "modern");
    world.reset_counts().expect("reset");

    let mut cmd = sandbox.command("node");
    cmd.arg(tests_dir().join("ide-clis/bridge-client.mjs"))
        .arg(lanyard_bin())
        .arg("modern");
    let run = sandbox.run(cmd);
    assert_bridged_session(&run, "through the bridge");

    let seen = assert_only_the_modern_lifecycle(&world);
    let tool_call = seen
        .iter()
        .find(|e| has_rpc(e, "tools/call"))
        .expect("a tools/call through the bridge");
    assert_eq!(tool_call["mcp_name"], json!("echo"), "{tool_call}");
}

/// A stdio client on SDK v2 pinned to 2026-07-28 (`server/discover`, its own `_meta` envelope)
/// is forwarded by `lanyard bridge` as it is: the server sees the client's own envelope
/// (its `clientInfo`), with the modern headers the bridge derives from it.
#[test]
fn a_2026_07_28_stdio_client_is_forwarded_by_the_bridge_as_it_is() {
    let world = modern_world();
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "modern", "modern");
    world.reset_counts().expect("reset");

    let mut cmd = sandbox.command("node");
    cmd.arg(tests_dir().join("world/stdio-client-v2.mjs"))
        .arg(lanyard_bin())
        .arg("bridge")
        .arg("modern");
    let run = sandbox.run(cmd);
    assert_bridged_session(&run, "modern through the bridge");
    let connected = run.step("connected");
    assert_eq!(connected["protocolVersion"], json!(MODERN), "{connected}");

    let seen = assert_only_the_modern_lifecycle(&world);
    for e in seen
        .iter()
        .filter(|e| e["rpc"].as_array().is_some_and(|a| !a.is_empty()))
    {
        assert_eq!(
            e["meta_clients"],
            json!(["lanyard-e2e-stdio-client-v2"]),
            "the client's own envelope reached the server: {e}"
        );
    }
    assert!(
        seen.iter()
            .any(|e| has_rpc(e, "tools/call") && e["mcp_name"] == json!("echo"))
    );
}

/// `lanyard bridge --url` (for servers that need no sign-in) sends no token: against the
/// world's protected server, the client's `initialize` is answered with a JSON-RPC error that
/// names the way in (`lanyard add`), nothing authorized reaches the server, and the bridge ends
/// cleanly when its input closes.
#[test]
fn the_tokenless_bridge_sends_no_token_and_points_to_lanyard_add() {
    let world = modern_world();
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("modern");
    let mut cmd = sandbox.command(lanyard_bin());
    cmd.args(["bridge", "--url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the bridge starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "0"}}});
        writeln!(stdin, "{init}").expect("write initialize");
    }
    let out = child.wait_with_output().expect("the bridge ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let answer: Value = serde_json::from_str(stdout.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(answer["id"], json!(1), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("lanyard add"), "{answer}");
    assert_eq!(
        world.counts().expect("counts").mcp_authorized("modern"),
        0,
        "no authorized request reached the server"
    );
}
