//! Shared steps of the core end-to-end tests (issue 2's CLI surface).

use lanyard_e2e::{Run, Sandbox, World};

/// `lanyard add URL --name NAME` against MCP server `server` of the world, asserting success.
#[track_caller]
pub(crate) fn add_ok(sandbox: &Sandbox, world: &World, server: &str, name: &str) -> Run {
    let url = world.mcp_url(server);
    let run = sandbox.lanyard(&["add", &url, "--name", name]);
    run.assert_ok();
    run
}

/// `lanyard token NAME`: the bare access token, asserting success.
#[track_caller]
pub(crate) fn token_ok(sandbox: &Sandbox, name: &str) -> String {
    let run = sandbox.lanyard(&["token", name]);
    run.assert_ok();
    let token = run.stdout.trim().to_string();
    assert_eq!(
        token.split('.').count(),
        3,
        "`lanyard token` should print the bare JWT access token:\n{}",
        run.describe()
    );
    token
}

/// The MCP server accepts `token` for an `initialize`.
#[track_caller]
pub(crate) fn assert_server_accepts(world: &World, server: &str, token: &str) {
    let r = world
        .mcp_post(
            server,
            token,
            &lanyard_e2e::json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "e2e", "version": "0"}}
            }),
        )
        .expect("MCP server answers");
    assert_eq!(
        r.status, 200,
        "the MCP server refused the token: {}",
        r.body
    );
}

/// Lower-cased stdout + stderr, for message checks.
pub(crate) fn said(run: &Run) -> String {
    run.output().to_lowercase()
}

/// The servers `lanyard list --json` reports (an empty list when none or on failure).
pub(crate) fn listed(sandbox: &Sandbox) -> Vec<lanyard_e2e::Value> {
    let run = sandbox.lanyard(&["list", "--json"]);
    let Ok(v) = run.json() else { return Vec::new() };
    match v {
        lanyard_e2e::Value::Array(a) => a,
        lanyard_e2e::Value::Object(ref o) => o
            .get("servers")
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Asserts that a failed `add` left nothing behind: no server listed, no keychain item.
#[track_caller]
pub(crate) fn assert_nothing_stored(sandbox: &Sandbox) {
    let servers = listed(sandbox);
    assert!(
        servers.is_empty(),
        "no server should be saved, `list` shows {servers:?}"
    );
    let items = sandbox.keyring().items().expect("keychain readable");
    assert!(
        items.is_empty(),
        "no keychain item should be written, found {items:?}"
    );
}
