//! The IdP goes down during a refresh window and comes back: the daemon backs off, reports
//! "IdP unreachable", keeps the old token until it really expires, and recovers by itself —
//! no new sign-in.

use crate::refresh_support::*;

#[test]
fn idp_stopped_during_the_refresh_window_then_restarted_recovers_without_sign_in() {
    let world = world_with_ttl(10);
    let sandbox = signed_in(&world);
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for("a first refresh", |e| is_refreshed(e, true));

    world.stop_issuer("idp").expect("stop the IdP");
    let down = daemon.wait_for("IdP unreachable", |e| is_status(e, "unreachable"));
    // The old token stays the one in use, with its real expiry.
    assert!(down["status"]["until"].is_string(), "{down}");
    assert!(down["status"]["retry_at"].is_string(), "{down}");
    let held = stored_tokens(&sandbox, "demo");
    // Stay down past the token's real expiry, across several backoff retries.
    let expires_at = held["expires_at"].as_i64().expect("expiry");
    loop {
        daemon.collect_for(std::time::Duration::from_secs(1));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        if now > expires_at + 1 {
            break;
        }
    }
    let list = sandbox.lanyard(&["list"]);
    eprintln!("list while the IdP is down:\n{}", list.output());
    assert!(
        list.stdout.contains("IdP unreachable since"),
        "{}",
        list.describe()
    );
    world.reset_counts().expect("reset");
    world.start_issuer("idp").expect("start the IdP again");

    daemon.wait_for("a refresh after the outage", |e| is_refreshed(e, true));
    let counts = world.counts().expect("counts");
    assert_eq!(counts.authorizations("idp"), 0, "no new sign-in");
    assert_eq!(counts.token_errors("idp", "invalid_grant"), 0);
    assert!(counts.token_requests("idp", "refresh_token") >= 1);
    eprintln!(
        "refresh requests after the IdP came back: {}",
        counts.token_requests("idp", "refresh_token")
    );
    let after = stored_tokens(&sandbox, "demo");
    assert_ne!(after["access_token"], held["access_token"]);
    let token = after["access_token"].as_str().expect("token");
    let r = world
        .mcp_post(
            "demo",
            token,
            &lanyard_e2e::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "e2e", "version": "0"}}}),
        )
        .expect("MCP answers");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(daemon.terminate().success());
}
