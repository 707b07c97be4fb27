//! Discovery refusing to go on: metadata that does not add up stops before any browser or
//! registration.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{assert_nothing_stored, said};

fn refused(world: &World, issuer: &str) -> String {
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"]);
    run.assert_failed();
    assert!(
        !sandbox.browser_was_opened(),
        "no browser:\n{}",
        run.describe()
    );
    let counts = world.counts().expect("counts");
    assert_eq!(counts.registrations(issuer), 0, "no registration");
    assert_eq!(counts.authorizations(issuer), 0, "no authorization request");
    assert_nothing_stored(&sandbox);
    said(&run)
}

#[test]
fn as_metadata_with_another_issuer_is_refused() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "faults": ["issuer-mismatch"] }]
    }))
    .expect("world");
    let text = refused(&world, "idp");
    assert!(text.contains("issuer"), "{text}");
}

#[test]
fn as_without_pkce_s256_is_refused() {
    let world = World::start(json!({ "issuers": [{ "name": "idp", "faults": ["no-s256"] }] }))
        .expect("world");
    let text = refused(&world, "idp");
    assert!(text.contains("s256"), "{text}");
}

#[test]
fn protected_resource_metadata_for_another_resource_is_refused() {
    let world = World::start(json!({
        "mcpServers": [{ "name": "demo", "faults": ["prm-resource-mismatch"] }]
    }))
    .expect("world");
    let text = refused(&world, "idp");
    assert!(text.contains("resource"), "{text}");
}
