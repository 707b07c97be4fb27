//! No Secret Service on a Linux machine (issue 15 item 4): `lanyard` run with a session bus
//! address that leads nowhere says so and names the ways in; with the opt-in file store
//! (`lanyard store use-file --i-understand-the-risk`), `add`, `token` and `logout` work and the
//! file is readable by the user alone, without tokens after the logout.

use lanyard_e2e::{Sandbox, World, json};

/// A sandbox whose `lanyard` finds no session bus (as over SSH or in a container).
fn without_secret_service() -> Sandbox {
    let mut sb = Sandbox::new().expect("sandbox");
    sb.set_env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/lanyard-no-bus",
    );
    sb
}

#[test]
fn without_a_secret_service_add_fails_and_names_the_ways_in() {
    let world = World::start(json!({})).expect("world");
    let sb = without_secret_service();
    let run = sb.lanyard(&["add", &world.mcp_url("demo"), "--name", "p"]);
    run.assert_failed();
    let out = run.output();
    assert!(out.contains("no Secret Service"), "{out}");
    for way in ["gnome-keyring", "KeePassXC", "lanyard store use-file"] {
        assert!(out.contains(way), "names {way}: {out}");
    }
    // Refused before any request: no client left behind at the IdP, no sign-in started.
    let counts = world.counts().expect("counts");
    assert_eq!(counts.registrations("idp"), 0, "{:?}", counts.0);
    assert_eq!(counts.authorizations("idp"), 0, "{:?}", counts.0);
}

#[test]
fn with_the_opt_in_file_store_add_token_and_logout_work_and_the_file_is_the_users_alone() {
    let world = World::start(json!({})).expect("world");
    let sb = without_secret_service();
    let refused = sb.lanyard(&["store", "use-file"]);
    refused.assert_failed();
    assert!(
        refused.output().contains("--i-understand-the-risk"),
        "{}",
        refused.describe()
    );
    let opted = sb.lanyard(&["store", "use-file", "--i-understand-the-risk"]);
    opted.assert_ok();
    assert!(opted.stdout.contains("plain text"), "{}", opted.describe());

    crate::core_common::add_ok(&sb, &world, "demo", "p");
    let token = crate::core_common::token_ok(&sb, "p");
    let file = sb
        .files()
        .into_iter()
        .find(|f| f.ends_with("secrets.json"))
        .map(|f| sb.home().join(f))
        .expect("secrets.json written");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("metadata").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    assert!(std::fs::read_to_string(&file).unwrap().contains("tokens:p"));

    sb.lanyard(&["logout", "p"]).assert_ok();
    let after = std::fs::read_to_string(&file).expect("file kept");
    assert!(
        !after.contains("tokens:"),
        "no tokens after logout: {after}"
    );
    assert!(!after.contains(&token), "the access token is gone: {after}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("metadata").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn with_the_file_store_uninstall_revokes_at_the_idp_deletes_the_client_and_leaves_nothing() {
    let world = World::start(json!({})).expect("world");
    let sb = without_secret_service();
    sb.lanyard(&["store", "use-file", "--i-understand-the-risk"])
        .assert_ok();
    crate::core_common::add_ok(&sb, &world, "demo", "p");
    crate::core_common::token_ok(&sb, "p");

    let run = sb.lanyard(&["uninstall", "--yes"]);
    run.assert_ok();
    let log = world.log().expect("log");
    let revoked = log["issuers"]["idp"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["route"] == "revocation" && e["status"] == 200)
        .count();
    assert!(
        revoked >= 1,
        "the tokens kept in the file were revoked: {}",
        run.describe()
    );
    assert_eq!(
        world.counts().expect("counts").registration_deletes("idp"),
        1
    );
    assert!(
        !sb.files().iter().any(|f| f.ends_with("secrets.json")),
        "the file store is gone: {:?}",
        sb.files()
    );
}
