//! The harness itself: the world answers as the core tests expect, and a sandbox's keychain is
//! private and working. (No Lanyard involved: when these fail, the other e2e failures are noise.)

use lanyard_e2e::{Sandbox, Value, World, http, json};

#[test]
fn world_protects_its_mcp_server_with_a_bearer_challenge_pointing_at_path_aware_metadata() {
    let world = World::start(json!({})).expect("world starts");
    let url = world.mcp_url("demo");
    let r = http::request(
        "POST",
        &url,
        &[("Content-Type", "application/json")],
        Some("{}"),
    )
    .expect("MCP server answers");
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap_or_default().to_string();
    assert!(
        challenge.contains("/.well-known/oauth-protected-resource/demo/mcp"),
        "{challenge}"
    );
    let prm = http::get_json(
        world.info["mcpServers"]["demo"]["resource_metadata"]
            .as_str()
            .unwrap_or_default(),
    )
    .expect("PRM");
    assert_eq!(prm["resource"], json!(url));
    assert_eq!(
        prm["authorization_servers"][0],
        json!(world.issuer_url("idp"))
    );
    let counts = world.counts().expect("counts");
    assert_eq!(counts.mcp_requests("demo"), 1);
}

/// Register a client at the `idp` issuer by hand (RFC 7591, expecting 201): its RFC 7592
/// `registration_client_uri` and `registration_access_token`.
fn register_native_client(world: &World, metadata: Value) -> (String, String) {
    let endpoint = world.issuer("idp")["registration_endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reg = http::request(
        "POST",
        &endpoint,
        &[("Content-Type", "application/json")],
        Some(&metadata.to_string()),
    )
    .expect("register");
    assert_eq!(reg.status, 201, "{}", reg.body);
    let body = reg.json();
    let field = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    (
        field("registration_client_uri"),
        field("registration_access_token"),
    )
}

#[test]
fn world_issuer_restart_keeps_registered_clients() {
    let world = World::start(json!({})).expect("world starts");
    let (uri, token) = register_native_client(
        &world,
        json!({
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
        }),
    );
    world.stop_issuer("idp").expect("stop");
    assert!(
        world.registration_status(&uri, &token).is_err(),
        "a stopped issuer refuses connections"
    );
    world.start_issuer("idp").expect("start");
    assert_eq!(world.registration_status(&uri, &token).expect("read"), 200);
    assert_eq!(world.counts().expect("counts").registrations("idp"), 1);
    assert_eq!(
        world.delete_registration(&uri, &token).expect("delete"),
        204
    );
    assert_eq!(world.registration_status(&uri, &token).expect("read"), 401);
}

#[test]
fn world_refuses_registration_like_keycloak_trusted_hosts_when_dcr_is_forbidden() {
    let world = World::start(json!({ "issuers": [{ "name": "kc", "dcr": "forbidden" }] }))
        .expect("world starts");
    let r = http::request(
        "POST",
        world.issuer("kc")["registration_endpoint"]
            .as_str()
            .unwrap_or_default(),
        &[("Content-Type", "application/json")],
        Some("{}"),
    )
    .expect("answer");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], json!("insufficient_scope"));
}

#[test]
fn sandbox_keychain_is_private_unlocked_and_starts_empty() {
    let a = Sandbox::new().expect("sandbox a");
    let b = Sandbox::new().expect("sandbox b");
    assert_ne!(a.keyring().address(), b.keyring().address());
    assert!(a.keyring().items().expect("items").is_empty());
    let mut store = a.command("secret-tool");
    store.args(["store", "--label=t", "lanyard-test", "x"]);
    let mut child = store
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("secret-tool");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"v")
            .expect("write");
    }
    assert!(child.wait().expect("wait").success());
    assert_eq!(a.keyring().items().expect("items").len(), 1);
    assert!(b.keyring().items().expect("items").is_empty());
}

#[test]
fn world_process_restart_keeps_ports_clients_and_signing_keys() {
    let mut world = World::start(json!({})).expect("world starts");
    let before = world.info.clone();
    let (uri, token) = register_native_client(
        &world,
        json!({
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["http://127.0.0.1/callback"],
        }),
    );
    let jwks = http::get_json(&format!("{}/jwks", world.issuer_url("idp"))).expect("jwks");

    world.restart().expect("restart");

    assert_eq!(world.info["admin"], before["admin"]);
    assert_eq!(
        world.info["issuers"]["idp"]["issuer"],
        before["issuers"]["idp"]["issuer"]
    );
    assert_eq!(
        world.mcp_url("demo"),
        before["mcpServers"]["demo"]["url"]
            .as_str()
            .unwrap_or_default()
    );
    assert_eq!(world.registration_status(&uri, &token).expect("read"), 200);
    let again = http::get_json(&format!("{}/jwks", world.issuer_url("idp"))).expect("jwks");
    assert_eq!(
        jwks, again,
        "same signing keys: tokens issued before stay valid"
    );
}
