//! The main path: an IdP with open Dynamic Client Registration.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{add_ok, assert_server_accepts, listed, said, token_ok};

#[test]
fn add_registers_a_native_client_signs_in_and_reaches_the_tools() {
    let world = World::start(json!({})).expect("world");
    let sandbox = Sandbox::new().expect("sandbox");

    add_ok(&sandbox, &world, "demo", "demo");

    let counts = world.counts().expect("counts");
    assert_eq!(counts.registrations("idp"), 1, "one DCR registration");
    assert_eq!(counts.token_requests("idp", "authorization_code"), 1);
    assert!(
        counts.mcp_authorized("demo") >= 1,
        "the first tool call reached the server"
    );

    // RFC 7591 registration as issue 2 specifies it.
    let clients = world.clients("idp").expect("clients");
    assert_eq!(clients.len(), 1, "{clients:?}");
    let c = &clients[0];
    assert_eq!(c["application_type"], json!("native"), "{c}");
    assert_eq!(c["token_endpoint_auth_method"], json!("none"), "{c}");
    assert!(
        c["client_name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Lanyard on "),
        "client_name names the product and machine: {c}"
    );
    let grants = c["grant_types"].to_string();
    assert!(
        grants.contains("authorization_code") && grants.contains("refresh_token"),
        "{c}"
    );

    // The authorization request: PKCE S256, state, RFC 8707 resource = the server URL.
    let log = world.log().expect("log");
    let auth = log["issuers"]["idp"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["route"] == "authorization"))
        .cloned()
        .expect("an authorization request");
    assert_eq!(
        auth["query"]["code_challenge_method"],
        json!("S256"),
        "{auth}"
    );
    assert!(
        auth["query"]["state"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{auth}"
    );
    assert_eq!(
        auth["query"]["resource"],
        json!(world.mcp_url("demo")),
        "{auth}"
    );
    assert!(
        sandbox
            .browser_log()
            .iter()
            .any(|e| e["step"] == "callback-response" && e["status"] == 200)
    );

    // The tokens live in the keychain, not in files.
    assert!(
        !sandbox.keyring().items().expect("items").is_empty(),
        "tokens are in the keychain"
    );
    let token = token_ok(&sandbox, "demo");
    for f in sandbox.files() {
        let text = std::fs::read_to_string(sandbox.home().join(&f)).unwrap_or_default();
        assert!(
            !text.contains(&token),
            "the access token must not be in a plain file: {f:?}"
        );
    }
    assert_server_accepts(&world, "demo", &token);

    let servers = listed(&sandbox);
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert!(servers[0].to_string().contains("demo"));
}

#[test]
fn tools_and_call_use_the_stored_sign_in_without_a_browser() {
    let world = World::start(json!({})).expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "demo", "demo");
    let opened = sandbox
        .browser_log()
        .iter()
        .filter(|e| e["step"] == "open")
        .count();
    world.reset_counts().expect("reset");

    let tools = sandbox.lanyard(&["tools", "demo"]);
    tools.assert_ok();
    assert!(tools.stdout.contains("echo"), "{}", tools.describe());

    let tools_json = sandbox.lanyard(&["tools", "demo", "--json"]);
    tools_json.assert_ok();
    assert!(
        tools_json
            .json()
            .expect("json")
            .to_string()
            .contains("echo")
    );

    let call = sandbox.lanyard(&[
        "call",
        "demo",
        "echo",
        "--args",
        r#"{"text":"hello from lanyard"}"#,
    ]);
    call.assert_ok();
    assert!(
        call.stdout.contains("hello from lanyard"),
        "{}",
        call.describe()
    );

    let counts = world.counts().expect("counts");
    assert_eq!(counts.authorizations("idp"), 0, "no new sign-in");
    assert_eq!(counts.registrations("idp"), 0, "no new registration");
    assert_eq!(counts.mcp_rpc("demo", "tools/call"), 1);
    let reopened = sandbox
        .browser_log()
        .iter()
        .filter(|e| e["step"] == "open")
        .count();
    assert_eq!(opened, reopened, "no browser for tools/call");
}

#[test]
fn token_with_a_fresh_access_token_asks_the_idp_nothing() {
    let world = World::start(json!({ "issuers": [{ "name": "idp", "accessTokenTtl": 3600 }] }))
        .expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "demo", "demo");
    world.reset_counts().expect("reset");
    let a = token_ok(&sandbox, "demo");
    let b = token_ok(&sandbox, "demo");
    assert_eq!(a, b, "a fresh token is returned as it is");
    assert_eq!(world.counts().expect("counts").issuer_total("idp"), 0);
    let header = sandbox.lanyard(&["token", "demo", "--header"]);
    header.assert_ok();
    assert!(
        header.stdout.contains(&format!("Bearer {a}")),
        "{}",
        header.describe()
    );
}

#[test]
fn a_failed_add_says_what_failed_and_exits_1() {
    let world = World::start(json!({})).expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    // Nothing listens at this path of the gateway.
    let run = sandbox.lanyard(&[
        "add",
        &format!("{}/nothing/here", world.gateway()),
        "--name",
        "x",
    ]);
    run.assert_failed();
    assert!(!said(&run).contains("panicked"), "{}", run.describe());
}
