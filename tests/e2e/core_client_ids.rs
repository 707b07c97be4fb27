//! Where the client id comes from when DCR is not available: pre-registered ids, and the clear
//! error when there is none.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{assert_nothing_stored, assert_server_accepts, said, token_ok};

fn keycloak_without_dcr() -> World {
    World::start(json!({
        "issuers": [{
            "name": "kc",
            "path": "/realms/dev",
            "dcr": "forbidden",
            "clients": [{ "client_id": "lanyard-desktop" }]
        }],
        "mcpServers": [{ "name": "demo", "issuer": "kc" }]
    }))
    .expect("world")
}

#[test]
fn pre_registered_client_id_signs_in_when_dcr_is_refused() {
    let world = keycloak_without_dcr();
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&[
        "add",
        &world.mcp_url("demo"),
        "--name",
        "demo",
        "--client-id",
        "lanyard-desktop",
    ]);
    run.assert_ok();
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.registrations("kc"),
        0,
        "a pre-registered id comes first: no DCR attempt"
    );
    assert_eq!(counts.token_requests("kc", "authorization_code"), 1);
    let token = token_ok(&sandbox, "demo");
    assert_server_accepts(&world, "demo", &token);
}

#[test]
fn dcr_refused_and_no_client_id_is_a_clear_error_and_stores_nothing() {
    let world = keycloak_without_dcr();
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"]);
    run.assert_failed();
    let text = said(&run);
    assert!(
        text.contains("--client-id"),
        "the remedy is named:\n{}",
        run.describe()
    );
    assert!(
        text.contains("disabled") || text.contains("refused") || text.contains("not allowed"),
        "says DCR is disabled, not a generic HTTP error:\n{}",
        run.describe()
    );
    assert!(
        !sandbox.browser_was_opened(),
        "no browser without a client id"
    );
    assert_eq!(world.counts().expect("counts").authorizations("kc"), 0);
    assert_nothing_stored(&sandbox);
}

#[test]
fn no_registration_endpoint_and_no_client_id_asks_for_a_client_id() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "dcr": "absent" }],
        "mcpServers": [{ "name": "demo" }]
    }))
    .expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"]);
    run.assert_failed();
    assert!(said(&run).contains("--client-id"), "{}", run.describe());
    assert!(!sandbox.browser_was_opened());
    assert_nothing_stored(&sandbox);
}

#[test]
fn second_server_behind_the_same_issuer_reuses_the_registration() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp" }],
        "mcpServers": [{ "name": "alpha" }, { "name": "beta" }]
    }))
    .expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    for name in ["alpha", "beta"] {
        sandbox
            .lanyard(&["add", &world.mcp_url(name), "--name", name])
            .assert_ok();
    }
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.registrations("idp"),
        1,
        "one registration per issuer and machine"
    );
    assert_eq!(world.clients("idp").expect("clients").len(), 1);
    for name in ["alpha", "beta"] {
        let token = token_ok(&sandbox, name);
        assert_server_accepts(&world, name, &token);
    }
}

/// An IdP without RFC 7592 (no management endpoint to ask) whose admin deleted Lanyard's client:
/// before reusing the registration for the next server, Lanyard asks the token endpoint, learns
/// the client is gone, registers anew and signs in. Without that check the browser would be sent
/// to an authorization request for an unknown client: an error page, and no redirect back.
#[test]
fn a_client_deleted_at_an_idp_without_rfc7592_is_replaced_before_the_next_sign_in() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "registrationManagement": "none" }],
        "mcpServers": [{ "name": "alpha" }, { "name": "beta" }]
    }))
    .expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    let client_ids = |sb: &Sandbox| -> Vec<String> {
        crate::cleanup_common::state(sb)["registrations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["client_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    sandbox
        .lanyard(&["add", &world.mcp_url("alpha"), "--name", "alpha"])
        .assert_ok();
    let old = client_ids(&sandbox);
    assert_eq!(old.len(), 1);
    assert!(
        crate::cleanup_common::state(&sandbox)["registrations"][0]["registration_client_uri"]
            .is_null(),
        "the IdP gave no RFC 7592 endpoint"
    );
    assert!(world.delete_client("idp", &old[0]).expect("admin delete"));
    world.reset_counts().expect("reset");

    let run = sandbox.lanyard(&["add", &world.mcp_url("beta"), "--name", "beta"]);
    run.assert_ok();
    let new = client_ids(&sandbox);
    assert_eq!(new.len(), 1, "one registration per issuer: {new:?}");
    assert_ne!(new[0], old[0], "a new client replaced the deleted one");
    let counts = world.counts().expect("counts");
    assert_eq!(counts.registrations("idp"), 1);
    assert_eq!(counts.authorizations("idp"), 1, "one sign-in, with the new client");
    let token = token_ok(&sandbox, "beta");
    assert_server_accepts(&world, "beta", &token);
}
