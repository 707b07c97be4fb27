//! An identity provider that issues no refresh token (RFC 6749 §5.1 makes it optional; the
//! Python MCP SDK's example server and some enterprise IdPs do so): the access token is used
//! until it expires — by `lanyard token` and by the daemon, nobody flags the server early — and
//! only then does the server need a new sign-in, with a message that says why.

use std::time::Duration;

use lanyard_e2e::{Sandbox, Value, World, json};

use crate::core_common::{assert_server_accepts, listed, said};
use crate::refresh_support::*;

/// Access tokens live this long: always within the helper's one-minute refresh margin.
const TTL: u64 = 30;

/// A world whose issuer knows a pre-registered client without the refresh_token grant, so it
/// issues it no refresh token.
fn world_without_refresh_tokens() -> World {
    World::start(json!({
        "issuers": [{
            "name": "idp",
            "accessTokenTtl": TTL,
            "clients": [{
                "client_id": "no-refresh",
                "grant_types": ["authorization_code"]
            }]
        }]
    }))
    .expect("world starts")
}

/// A sandbox signed in to `demo` with the client that gets no refresh token.
fn signed_in_without_refresh_token(world: &World) -> Sandbox {
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    sandbox
        .lanyard(&["add", &url, "--name", "demo", "--client-id", "no-refresh"])
        .assert_ok();
    let stored = stored_tokens(&sandbox, "demo");
    assert!(
        stored.get("refresh_token").is_none(),
        "the world should issue no refresh token here: {stored}"
    );
    sandbox
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Waits (wall time) until `t` has passed by a second.
fn sleep_past(t: i64) {
    while unix_now() <= t + 1 {
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The `demo` entry of `list --json`.
fn demo_listed(sandbox: &Sandbox) -> Value {
    listed(sandbox)
        .into_iter()
        .find(|s| s["name"] == "demo")
        .expect("demo is listed")
}

#[test]
fn token_helper_hands_out_the_token_until_it_expires_then_asks_for_sign_in() {
    let world = world_without_refresh_tokens();
    let sandbox = signed_in_without_refresh_token(&world);
    let stored = stored_tokens(&sandbox, "demo");
    let expires_at = stored["expires_at"].as_i64().expect("expiry");

    // Within the last minute of the token, again and again: the same token, nothing else on
    // stdout, and the server stays signed in.
    for _ in 0..3 {
        let run = sandbox.lanyard(&["token", "demo"]);
        run.assert_ok();
        assert_eq!(
            run.stdout.trim(),
            stored["access_token"].as_str().expect("token"),
            "{}",
            run.describe()
        );
        assert_eq!(run.stdout.lines().count(), 1, "{}", run.describe());
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_server_accepts(
        &world,
        "demo",
        stored["access_token"].as_str().expect("token"),
    );
    sandbox.lanyard(&["tools", "demo"]).assert_ok();

    // `list` says when a sign-in will be needed.
    let demo = demo_listed(&sandbox);
    assert_eq!(demo["status"], "ok", "{demo}");
    assert_eq!(demo["refreshable"], json!(false), "{demo}");
    assert_eq!(demo["sign_in_needed_at"], json!(expires_at), "{demo}");
    let list = sandbox.lanyard(&["list"]);
    list.assert_ok();
    assert!(
        list.stdout.contains("no refresh token: sign in again then"),
        "{}",
        list.describe()
    );
    assert_eq!(
        state(&sandbox)["servers"][0]["status"]["state"],
        json!("ok")
    );
    let counts = world.counts().expect("counts");
    assert_eq!(counts.token_requests("idp", "refresh_token"), 0);

    // Expired: now a sign-in is needed, and the message says why and what to run.
    sleep_past(expires_at);
    let run = sandbox.lanyard(&["token", "demo"]);
    run.assert_failed();
    assert!(run.stdout.trim().is_empty(), "{}", run.describe());
    let text = said(&run);
    assert!(
        text.contains("issued no refresh token"),
        "{}",
        run.describe()
    );
    assert!(text.contains("lanyard login demo"), "{}", run.describe());
    let demo = demo_listed(&sandbox);
    assert_eq!(demo["status"], "needs_sign_in", "{demo}");
}

#[test]
fn daemon_schedules_no_refresh_and_flags_the_server_only_at_expiry() {
    let world = world_without_refresh_tokens();
    let sandbox = signed_in_without_refresh_token(&world);
    let expires_at = stored_tokens(&sandbox, "demo")["expires_at"]
        .as_i64()
        .expect("expiry");
    let mut daemon = Daemon::start(&sandbox);

    // Nothing is refreshed and nothing else happens to it before it expires.
    let other = std::cell::RefCell::new(Vec::new());
    let note = |e: &Value| {
        if e["server"] == "demo" && !is_status(e, "fresh") && !is_status(e, "needs_sign_in") {
            other.borrow_mut().push(e.clone());
        }
    };

    // Its live status: fresh until the token expires, and that is when it acts next.
    let fresh = daemon.wait_for("demo fresh", |e| {
        note(e);
        is_status(e, "fresh")
    });
    assert_eq!(
        fresh["status"]["until"], fresh["status"]["next_refresh"],
        "{fresh}"
    );
    let flagged = daemon.wait_for("demo needs sign-in", |e| {
        note(e);
        is_status(e, "needs_sign_in")
    });
    assert!(
        unix_now() >= expires_at,
        "flagged before the token expired: {flagged}"
    );
    let reason = flagged["status"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("issued no refresh token"), "{flagged}");
    assert_eq!(
        other.borrow().as_slice(),
        &[] as &[Value],
        "no refresh, no other status"
    );
    let counts = world.counts().expect("counts");
    assert_eq!(counts.token_requests("idp", "refresh_token"), 0);
    assert!(daemon.terminate().success());

    let run = sandbox.lanyard(&["token", "demo"]);
    run.assert_failed();
    let text = said(&run);
    assert!(
        text.contains("issued no refresh token"),
        "{}",
        run.describe()
    );
    assert!(text.contains("lanyard login demo"), "{}", run.describe());
}
