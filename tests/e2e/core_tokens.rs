//! Token lifetime: refresh with rotation, and a revoked grant turning into "needs sign-in".

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{add_ok, assert_server_accepts, listed, said, token_ok};
use crate::refresh_support::wait_until_due;

/// Access tokens living 4 s: due for a refresh once half their life (2 s) is over — never
/// before, whatever the margin (issue 18) — so the test waits that long before each `token`.
fn short_lived_world() -> World {
    World::start(json!({ "issuers": [{ "name": "idp", "accessTokenTtl": 4 }] })).expect("world")
}

#[test]
fn token_near_expiry_refreshes_and_keeps_the_rotated_refresh_token() {
    let world = short_lived_world();
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "demo", "demo");
    world.reset_counts().expect("reset");

    wait_until_due(&sandbox, "demo");
    let first = token_ok(&sandbox, "demo");
    wait_until_due(&sandbox, "demo");
    let second = token_ok(&sandbox, "demo");
    wait_until_due(&sandbox, "demo");
    let third = token_ok(&sandbox, "demo");
    assert_ne!(first, second);
    assert_ne!(second, third);

    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.token_requests("idp", "refresh_token"),
        3,
        "one refresh per call"
    );
    // Public-client refresh tokens rotate on every use and reusing an old one revokes the whole
    // grant: three successful refreshes in a row prove the rotated token was saved each time.
    assert_eq!(counts.token_errors("idp", "invalid_grant"), 0);
    assert_eq!(counts.authorizations("idp"), 0, "no new sign-in");
    assert_server_accepts(&world, "demo", &third);

    // Every refresh asked for the server's resource again (RFC 8707).
    let log = world.log().expect("log");
    for e in log["issuers"]["idp"].as_array().into_iter().flatten() {
        if e["route"] == "token" && e["grant_type"] == "refresh_token" {
            assert!(
                e["resource"].to_string().contains(&world.mcp_url("demo")),
                "{e}"
            );
        }
    }
}

#[test]
fn revoked_grant_marks_the_server_needs_sign_in_and_login_repairs_it() {
    let world = short_lived_world();
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "demo", "demo");

    world.revoke_all("idp").expect("revoke at the IdP");
    wait_until_due(&sandbox, "demo");
    let run = sandbox.lanyard(&["token", "demo"]);
    run.assert_failed();
    assert!(
        said(&run).contains("lanyard login"),
        "says how to sign in again:\n{}",
        run.describe()
    );
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_errors("idp", "invalid_grant"),
        1
    );

    let servers = listed(&sandbox);
    assert!(
        servers
            .iter()
            .any(|s| s.to_string().contains("needs_sign_in")
                || s.to_string().to_lowercase().contains("needs sign-in")),
        "list shows the server needs sign-in: {servers:?}"
    );

    sandbox.lanyard(&["login", "demo"]).assert_ok();
    let token = token_ok(&sandbox, "demo");
    assert_server_accepts(&world, "demo", &token);
    assert_eq!(
        world.counts().expect("counts").registrations("idp"),
        1,
        "same client after login"
    );
}

#[test]
fn logout_revokes_at_the_idp() {
    let world = World::start(json!({})).expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    add_ok(&sandbox, &world, "demo", "demo");
    world.reset_counts().expect("reset");
    sandbox.lanyard(&["logout", "demo"]).assert_ok();
    assert!(
        world.counts().expect("counts").revocations("idp") >= 1,
        "RFC 7009 revocation"
    );
    let run = sandbox.lanyard(&["token", "demo"]);
    run.assert_failed();
}
