//! DPoP (RFC 9449) end to end, against independent implementations on both sides: the world's
//! oidc-provider with its own `features.dPoP` (proof checks at the token endpoint, DPoP-bound
//! JWT access and refresh tokens, nonces) and an MCP server (the official TypeScript SDK) whose
//! token check is oauth4webapi's `validateJwtAccessToken` (proof signature, `htm`, `htu`, `iat`,
//! `ath`, `cnf.jkt`), with its own nonce and `jti` replay cache (tests/world/dpop.mjs).
//!
//! Proves: `add` gets a DPoP-bound token after the authorization server's nonce challenge, calls
//! prove possession and answer the resource server's nonce challenge, a refresh carries a proof
//! too, the token copied out of the keychain is refused by the server, `lanyard token` says why
//! a bare token cannot work, the bridge signs every request (refresh on 401 included), Claude
//! Code's CLI is connected through the bridge (never a headers helper), and the key leaves the
//! keychain with the server.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use lanyard_e2e::{Sandbox, Value, World, http, json, lanyard_bin, tests_dir};

use crate::refresh_support::{secret, stored_tokens, wait_until_due};

/// An issuer and an MCP server that both take DPoP and both demand their nonce first;
/// access tokens live `ttl` seconds.
fn dpop_world(ttl: u64) -> World {
    World::start(json!({
        "issuers": [{"name": "idp", "accessTokenTtl": ttl, "dpop": {"nonce": true}}],
        "mcpServers": [{"name": "bound", "dpop": {"nonce": true, "required": true}}],
    }))
    .expect("world starts")
}

/// The issuer's token requests of `grant`, as logged by the world.
fn token_requests(world: &World, grant: &str) -> Vec<Value> {
    let log = world.log().expect("log");
    log["issuers"]["idp"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["route"] == "token" && e["grant_type"] == grant)
        .cloned()
        .collect()
}

/// The MCP server's request log.
fn mcp_requests(world: &World) -> Vec<Value> {
    let log = world.log().expect("log");
    log["mcpServers"]["bound"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The JSON claims of a JWT (no verification: what the token says it is bound to).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let mut cmd = std::process::Command::new("python3");
    cmd.args([
        "-c",
        "import base64,sys; p=sys.argv[1]; print(base64.urlsafe_b64decode(p+'='*(-len(p)%4)).decode())",
        payload,
    ]);
    let out = cmd.output().expect("python3 runs");
    serde_json::from_slice(&out.stdout).expect("JWT claims are JSON")
}

/// A grant's token requests went: refused once for want of the AS's nonce, then issued a
/// DPoP-bound token to a request that carried a proof.
#[track_caller]
fn assert_nonce_then_bound(requests: &[Value], grant: &str) {
    assert!(
        requests
            .iter()
            .any(|e| e["status"] == 400 && e["error"] == "use_dpop_nonce"),
        "the AS should have asked for its nonce ({grant}): {requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|e| e["status"] == 200 && e["dpop"] == true && e["token_type"] == "DPoP"),
        "the retry with the nonce should have got a DPoP-bound token ({grant}): {requests:#?}"
    );
}

#[test]
fn a_dpop_server_is_added_called_and_refreshed_with_proofs_and_a_copied_token_is_refused() {
    let world = dpop_world(8);
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("bound");
    sandbox
        .lanyard(&["add", &url, "--name", "bound"])
        .assert_ok();

    assert_nonce_then_bound(&token_requests(&world, "authorization_code"), "code");
    let stored = stored_tokens(&sandbox, "bound");
    assert_eq!(stored["token_type"], "DPoP", "{stored}");
    let token = stored["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let jkt = claims(&token)["cnf"]["jkt"]
        .as_str()
        .expect("the access token is bound to a key (cnf.jkt)")
        .to_owned();
    assert!(
        secret(&sandbox, "dpop-key:bound").is_some(),
        "the key pair is kept in the keychain"
    );
    // The MCP server challenged the first proof for its nonce, then took the retried one.
    let mcp = mcp_requests(&world);
    assert!(
        mcp.iter()
            .any(|e| e["status"] == 401 && e["why"].as_str().is_some_and(|w| w.contains("nonce"))),
        "{mcp:#?}"
    );
    assert!(
        mcp.iter()
            .any(|e| e["status"] == 200 && e["jkt"] == jkt.as_str()),
        "{mcp:#?}"
    );

    let call = sandbox.lanyard(&["call", "bound", "echo", "--args", r#"{"text":"possessed"}"#]);
    call.assert_ok();
    assert!(call.stdout.contains("possessed"), "{}", call.describe());

    // The token copied out of the keychain is useless without the key: as a bearer token, and
    // under the DPoP scheme without a proof.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "thief", "version": "0"}}});
    let as_bearer = world.mcp_post("bound", &token, &init).expect("answers");
    assert_eq!(as_bearer.status, 401, "{}", as_bearer.body);
    let dpop_scheme = format!("DPoP {token}");
    let no_proof = http::request(
        "POST",
        &url,
        &[
            ("Authorization", &dpop_scheme),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        Some(&init.to_string()),
    )
    .expect("answers");
    assert_eq!(no_proof.status, 401, "{}", no_proof.body);
    assert!(
        no_proof
            .header("www-authenticate")
            .is_some_and(|w| w.starts_with("DPoP")),
        "{no_proof:?}"
    );

    // A headers helper cannot sign each request: `lanyard token` says so and what works.
    let bare = sandbox.lanyard(&["token", "bound"]);
    bare.assert_failed();
    let said = bare.output();
    assert!(
        said.contains("bound to a key") && said.contains("lanyard bridge bound"),
        "{}",
        bare.describe()
    );

    // Refresh: the refresh grant carries a proof (the refresh token is bound to the key too).
    wait_until_due(&sandbox, "bound");
    let again = sandbox.lanyard(&["call", "bound", "echo", "--args", r#"{"text":"refreshed"}"#]);
    again.assert_ok();
    assert!(again.stdout.contains("refreshed"), "{}", again.describe());
    let refreshes = token_requests(&world, "refresh_token");
    assert!(
        refreshes
            .iter()
            .any(|e| e["status"] == 200 && e["dpop"] == true && e["token_type"] == "DPoP"),
        "{refreshes:#?}"
    );
    let after = stored_tokens(&sandbox, "bound");
    assert_ne!(after["access_token"], stored["access_token"]);
    assert_eq!(
        claims(after["access_token"].as_str().expect("token"))["cnf"]["jkt"],
        jkt.as_str(),
        "the same key after the refresh"
    );

    sandbox.lanyard(&["remove", "bound"]).assert_ok();
    let log = world.log().expect("log");
    let revocations: Vec<&Value> = log["issuers"]["idp"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["route"] == "revocation")
        .collect();
    // The bound refresh token is revoked like any (no proof needed at RFC 7009's endpoint); the
    // JWT access token cannot be (oidc-provider: unsupported_token_type), as for Bearer ones.
    assert!(
        revocations
            .iter()
            .any(|e| e["token_type_hint"] == "refresh_token" && e["status"] == 200),
        "{revocations:#?}"
    );
    assert!(
        secret(&sandbox, "dpop-key:bound").is_none(),
        "the key leaves the keychain with the server"
    );
}

#[test]
fn the_bridge_signs_every_request_and_refreshes_with_a_proof_on_401() {
    // Access tokens that live 2 seconds: the second call of the session meets an expired one.
    let world = dpop_world(2);
    let sandbox = Sandbox::new().expect("sandbox");
    sandbox
        .lanyard(&["add", &world.mcp_url("bound"), "--name", "gw"])
        .assert_ok();
    let mut cmd = sandbox.command("node");
    cmd.arg(tests_dir().join("ide-clis/bridge-client.mjs"))
        .arg(lanyard_bin())
        .arg("gw")
        .arg("--twice")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("client starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let mut next_step = |want: &str, seen: &mut Vec<String>| loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("client ended before {want}: {seen:?}"))
            .expect("line");
        seen.push(line.clone());
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["step"] == want {
            return v;
        }
    };
    let first = next_step("call", &mut seen);
    assert_eq!(
        first["result"]["content"][0]["text"], "through the bridge",
        "{seen:?}"
    );
    // Let the access token the bridge holds expire (a wait for the IdP's clock, not a check).
    std::thread::sleep(Duration::from_secs(4));
    writeln!(stdin, "go").expect("write");
    let second = next_step("call", &mut seen);
    assert_eq!(
        second["result"]["content"][0]["text"], "after a refresh",
        "{seen:?}"
    );
    next_step("closed", &mut seen);
    let _ = child.wait();

    let refreshes = token_requests(&world, "refresh_token");
    assert!(!refreshes.is_empty(), "the expired token was refreshed");
    assert!(
        refreshes
            .iter()
            .all(|e| e["dpop"] == true && (e["status"] == 200 || e["error"] == "use_dpop_nonce")),
        "every refresh carried a proof: {refreshes:#?}"
    );
    // Every MCP request the server let through was a DPoP one bound to the same key (the
    // metadata reads are logged too).
    let mcp = mcp_requests(&world);
    let ok: Vec<&Value> = mcp
        .iter()
        .filter(|e| e["status"] == 200 && e["prm"] != true)
        .collect();
    assert!(ok.len() >= 4, "{mcp:#?}");
    assert!(
        ok.iter()
            .all(|e| e["jkt"].is_string() && e["jkt"] == ok[0]["jkt"]),
        "{mcp:#?}"
    );
    assert!(
        mcp.iter()
            .any(|e| e["status"] == 401 && e["why"].as_str().is_some_and(|w| w.contains("exp"))),
        "the server refused the expired token once: {mcp:#?}"
    );
}

#[test]
fn claude_code_reaches_a_dpop_server_through_the_bridge_and_never_gets_a_bare_token() {
    let world = dpop_world(300);
    let mut sandbox = Sandbox::new().expect("sandbox");
    let path = format!(
        "{}:{}",
        crate::ides_clis::clis_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sandbox.set_env("PATH", path);
    sandbox
        .lanyard(&["add", &world.mcp_url("bound"), "--name", "gw"])
        .assert_ok();

    // Helper mode (a headers helper printing the token) cannot sign each request: refused.
    let helper = sandbox.lanyard(&["connect", "gw", "--ide", "claude", "--mode", "helper"]);
    helper.assert_failed();
    assert!(
        helper.output().contains("bound to a key"),
        "{}",
        helper.describe()
    );

    // Claude Code's default (helper) becomes the bridge for this server.
    let run = sandbox.lanyard(&["connect", "gw", "--ide", "claude", "--json"]);
    run.assert_ok();
    let reports = run.json().expect("JSON");
    assert_eq!(reports[0]["mode"], "bridge", "{}", run.describe());
    // The real CLI starts the bridge and talks to the server through it.
    let list = crate::ides_clis::cli(&sandbox, "claude", &["mcp", "list"]);
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("gw"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("Connected") && !line.contains("Failed"),
        "claude mcp list should report gw Connected:\n{}",
        list.describe()
    );
    let mcp = mcp_requests(&world);
    assert!(
        mcp.iter()
            .filter(|e| e["status"] == 200 && e["prm"] != true)
            .all(|e| e["jkt"].is_string()),
        "{mcp:#?}"
    );
}

#[test]
fn a_device_code_sign_in_polls_with_proofs_and_gets_a_bound_token() {
    let world = World::start(json!({
        "issuers": [{"name": "idp", "deviceFlow": {"interval": 1},
                     "dpop": {"nonce": true}}],
        "mcpServers": [{"name": "bound", "dpop": {"nonce": true, "required": true}}],
    }))
    .expect("world starts");
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("bound");
    let done = crate::signin_device::sign_in_by_device(
        &sandbox,
        &["add", &url, "--name", "bound", "--device"],
        "approve",
    );
    assert!(done.ok, "{}", done.stderr);
    let polls = token_requests(&world, "urn:ietf:params:oauth:grant-type:device_code");
    assert!(polls.iter().all(|e| e["dpop"] == true), "{polls:#?}");
    assert!(
        polls
            .iter()
            .any(|e| e["status"] == 200 && e["token_type"] == "DPoP"),
        "{polls:#?}"
    );
    assert_eq!(stored_tokens(&sandbox, "bound")["token_type"], "DPoP");
    let call = sandbox.lanyard(&["call", "bound", "echo", "--args", r#"{"text":"by device"}"#]);
    call.assert_ok();
    assert!(call.stdout.contains("by device"), "{}", call.describe());
}
