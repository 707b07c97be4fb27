//! The OAuth client is deleted at the IdP through RFC 7592 (what a gateway's pruning script
//! does): the next refresh meets `invalid_client`, the daemon registers a new client once,
//! marks the server "needs sign-in", and never replays the dead client id.

use std::time::Duration;

use crate::refresh_support::*;

#[test]
fn registration_deleted_through_rfc7592_leads_to_one_reregistration_and_a_sign_in() {
    let world = world_with_ttl(10);
    let sandbox = signed_in(&world);
    let st = state(&sandbox);
    let reg = &st["registrations"][0];
    let old_client = reg["client_id"].as_str().expect("client id").to_string();
    let uri = reg["registration_client_uri"]
        .as_str()
        .expect("RFC 7592 uri")
        .to_string();
    let issuer = reg["issuer"].as_str().expect("issuer").to_string();
    let rat = secret(&sandbox, &format!("registration-token:{issuer}"))
        .expect("registration access token in the keychain");
    assert_eq!(
        world
            .delete_registration(&uri, &rat)
            .expect("RFC 7592 DELETE"),
        204
    );
    world.reset_counts().expect("reset");

    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for("needs sign-in", |e| is_status(e, "needs_sign_in"));
    daemon.wait_for("a re-registration", |e| e["event"] == "reregistered");
    // Two more would-be refresh periods: nothing more is sent with the dead client.
    daemon.collect_for(Duration::from_secs(12));
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.registrations("idp"),
        1,
        "exactly one new registration"
    );
    assert_eq!(
        counts.token_requests("idp", "refresh_token"),
        1,
        "one refresh met invalid_client, none after it"
    );
    let st = state(&sandbox);
    let reg = &st["registrations"][0];
    let new_client = reg["client_id"].as_str().expect("client id").to_string();
    assert_ne!(new_client, old_client);
    assert_ne!(reg["dead"], true);
    let list = sandbox.lanyard(&["list"]);
    eprintln!("list after the re-registration:\n{}", list.output());
    assert!(list.stdout.contains("needs sign-in"), "{}", list.describe());

    // The user signs in once; the daemon takes the server up again with the new client.
    sandbox.lanyard(&["login", "demo"]).assert_ok();
    daemon.wait_for("a refresh with the new client", |e| is_refreshed(e, true));
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.registrations("idp"),
        1,
        "login reused the new registration"
    );
    assert_eq!(counts.authorizations("idp"), 1);
    let log = world.log().expect("log");
    let dead_replays = log["issuers"]["idp"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["route"] == "token" && e["client_id"] == old_client.as_str())
                .count()
        })
        .unwrap_or(0);
    assert!(
        dead_replays <= 1,
        "the dead client id was replayed {dead_replays} times"
    );
    assert!(daemon.terminate().success());
}
