//! A failed `add` leaves nothing live behind (issue 11): when the server fails after the
//! sign-in, the tokens just issued are revoked and the client registered for it is deleted.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{assert_nothing_stored, said};

#[test]
fn an_add_that_fails_after_sign_in_revokes_its_tokens_and_deletes_its_new_client() {
    let world = World::start(json!({
        "mcpServers": [{ "name": "broken", "faults": ["broken-after-auth"] }]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");

    let run = sb.lanyard(&["add", &world.mcp_url("broken"), "--name", "broken"]);
    run.assert_failed();
    assert!(said(&run).contains("500"), "{}", run.describe());

    let counts = world.counts().expect("counts");
    assert_eq!(counts.registrations("idp"), 1, "one client was registered");
    assert!(
        counts.revocations("idp") >= 1,
        "the refresh token issued for the failed add is revoked: {:?}",
        counts.0
    );
    assert_eq!(
        counts.registration_deletes("idp"),
        1,
        "the client registered for it is deleted again (RFC 7592)"
    );
    assert!(
        world.clients("idp").expect("clients").is_empty(),
        "the IdP keeps no client of the failed add"
    );
    assert_nothing_stored(&sb);
}

#[test]
fn a_client_reused_from_an_earlier_add_survives_a_later_failed_add() {
    let world = World::start(json!({
        "mcpServers": [
            { "name": "demo" },
            { "name": "broken", "faults": ["broken-after-auth"] }
        ]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");
    sb.lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"])
        .assert_ok();
    sb.lanyard(&["add", &world.mcp_url("broken"), "--name", "broken"])
        .assert_failed();

    let counts = world.counts().expect("counts");
    assert_eq!(counts.registration_deletes("idp"), 0, "{:?}", counts.0);
    assert_eq!(world.clients("idp").expect("clients").len(), 1);
    sb.lanyard(&["tools", "demo"]).assert_ok();
}
