//! Shared world and steps of the machine-client tests (issue 14: client credentials and
//! workload identity, no person, no browser).

use std::path::Path;

use lanyard_e2e::{Sandbox, Value, World, http, json};

/// Access tokens of the MCP server's issuer live this long: renewed 10 s after issue.
pub(crate) const TTL: u64 = 20;
pub(crate) const SECRET: &str = "agent-secret-0123456789-agent-secret-0123456789";
pub(crate) const KEY_ID: &str = "agent-key-1";
const RUNNER_SECRET: &str = "runner-secret-0123456789-runner-secret-0123456789";
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A pre-registered machine client of the MCP server's issuer: no redirect, no code.
fn machine_client(client_id: &str, extra: Value) -> Value {
    let mut c = json!({
        "client_id": client_id,
        "grant_types": ["client_credentials"],
        "response_types": [],
        "redirect_uris": [],
        "scope": "mcp:tools"
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    c
}

/// Two real oidc-provider issuers: `idp` protects MCP server `demo` and takes client
/// credentials (a secret client, a private_key_jwt client whose private key the world writes to
/// `key_file`) and workload tokens of `platform` (the JWT-bearer grant, public client
/// `workload-agent`); `platform` is the workload platform, minting workload tokens for
/// `ci-runner` with aud = idp's token endpoint.
pub(crate) fn machine_world(key_file: &Path) -> World {
    World::start(json!({
        "issuers": [
            {
                "name": "idp",
                "clientCredentials": true,
                "workloadIssuers": ["platform"],
                "accessTokenTtl": TTL,
                "clients": [
                    machine_client("agent-secret", json!({
                        "client_secret": SECRET,
                        "token_endpoint_auth_method": "client_secret_basic"
                    })),
                    machine_client("agent-key", json!({
                        "privateKeyFile": key_file,
                        "keyId": KEY_ID
                    })),
                    machine_client("workload-agent", json!({ "grant_types": [JWT_BEARER] }))
                ]
            },
            {
                "name": "platform",
                "clientCredentials": true,
                "scopes": ["openid", "workload"],
                "accessTokenTtl": 60,
                "clients": [{
                    "client_id": "ci-runner",
                    "client_secret": RUNNER_SECRET,
                    "token_endpoint_auth_method": "client_secret_post",
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                    "scope": "workload"
                }]
            }
        ],
        "mcpServers": [{ "name": "demo", "issuer": "idp" }]
    }))
    .expect("world starts")
}

/// A fresh workload identity token from the platform issuer, as a CI runner or kubelet gets one.
pub(crate) fn workload_token(world: &World) -> String {
    let endpoint = world.issuer("platform")["token_endpoint"]
        .as_str()
        .expect("platform token endpoint")
        .to_string();
    let audience = format!("{}/token", world.issuer_url("idp"));
    let answer = http::post_form(
        &endpoint,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "ci-runner"),
            ("client_secret", RUNNER_SECRET),
            ("resource", &audience),
            ("scope", "workload"),
        ],
    )
    .expect("platform answers")
    .json();
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no workload token: {answer}"))
        .to_string()
}

/// The token endpoint requests of issuer `idp` with this grant type, from the world's log.
pub(crate) fn token_grants(world: &World, grant_type: &str) -> Vec<Value> {
    let log = world.log().expect("world log");
    log["issuers"]["idp"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["route"] == "token" && e["grant_type"] == grant_type)
        .collect()
}

/// A server `demo` added as a machine client with `flags`, asserting success and no browser.
#[track_caller]
pub(crate) fn add_machine(sandbox: &Sandbox, world: &World, flags: &[&str]) {
    let url = world.mcp_url("demo");
    let mut args = vec!["add", url.as_str(), "--name", "demo"];
    args.extend_from_slice(flags);
    sandbox.lanyard(&args).assert_ok();
    assert!(
        !sandbox.browser_was_opened(),
        "a machine client never opens a browser"
    );
    assert_eq!(
        world.counts().expect("counts").authorizations("idp"),
        0,
        "no authorization request"
    );
}

/// `lanyard call demo echo`, asserting the text comes back.
#[track_caller]
pub(crate) fn echo_ok(sandbox: &Sandbox, text: &str) {
    let args = json!({ "text": text }).to_string();
    let run = sandbox.lanyard(&["call", "demo", "echo", "--args", &args]);
    run.assert_ok();
    assert!(run.stdout.contains(text), "{}", run.describe());
}

/// An access token (a JWT) issued by `idp` to `agent-secret` for MCP server `demo`: a token
/// of an issuer `idp` does not trust for workload identity.
pub(crate) fn idp_token(world: &World) -> String {
    let endpoint = world.issuer("idp")["token_endpoint"]
        .as_str()
        .expect("idp token endpoint")
        .to_string();
    let body = format!(
        "grant_type=client_credentials&scope=mcp%3Atools&resource={}",
        url_encode(&world.mcp_url("demo"))
    );
    let auth = format!(
        "Basic {}",
        base64(format!("agent-secret:{SECRET}").as_bytes())
    );
    let answer = http::request(
        "POST",
        &endpoint,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(&body),
    )
    .expect("idp answers")
    .json();
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_string()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Standard base64 with padding (HTTP Basic).
fn base64(input: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
