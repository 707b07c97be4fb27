//! `lanyard uninstall`: everything Lanyard did is undone, at the identity providers too.

use lanyard_e2e::{Sandbox, World, json};

use crate::cleanup_common::{
    connect_all, refresh_error, refresh_token, registrations, search, seed_appimage_integration,
    seed_assistant_configs, service, state_dir, uninstall,
};
use crate::core_common::{add_ok, said};

/// Two issuers with DCR and RFC 7592; `a` and `b` behind `idp`, `c` and `d` behind `idp2`
/// (`d` through a pre-registered client Lanyard must never delete).
fn two_issuer_world() -> World {
    World::start(json!({
        "issuers": [
            { "name": "idp" },
            { "name": "idp2", "clients": [{ "client_id": "admin-given" }] }
        ],
        "mcpServers": [
            { "name": "a", "issuer": "idp" },
            { "name": "b", "issuer": "idp" },
            { "name": "c", "issuer": "idp2" },
            { "name": "d", "issuer": "idp2" }
        ]
    }))
    .expect("world")
}

#[test]
fn uninstall_revokes_deletes_clients_restores_configs_and_leaves_nothing() {
    let world = two_issuer_world();
    let sb = Sandbox::new().expect("sandbox");
    let configs = seed_assistant_configs(&sb);

    add_ok(&sb, &world, "a", "a");
    add_ok(&sb, &world, "b", "b");
    add_ok(&sb, &world, "c", "c");
    sb.lanyard(&[
        "add",
        &world.mcp_url("d"),
        "--name",
        "d",
        "--client-id",
        "admin-given",
    ])
    .assert_ok();
    let mut connected = true;
    for s in ["a", "b", "c", "d"] {
        connected &= connect_all(&sb, s);
    }
    if connected {
        for (path, bytes) in &configs {
            assert_ne!(
                &std::fs::read(path).expect("config"),
                bytes,
                "`lanyard connect` wrote into {}",
                path.display()
            );
        }
    } else {
        eprintln!(
            "note: this build has no `lanyard connect`; the assistant configs are only checked to be untouched"
        );
    }

    // One registration per issuer; keep what the checks afterwards need.
    let regs = registrations(&sb);
    assert_eq!(regs.len(), 2, "one registration per issuer: {regs:?}");
    for (_, _, uri, token) in &regs {
        assert_eq!(world.registration_status(uri, token).expect("GET"), 200);
    }
    let svc = service(&sb);
    let refresh: Vec<(String, String)> = ["a", "b", "c", "d"]
        .iter()
        .map(|s| (s.to_string(), refresh_token(&sb, s)))
        .collect();
    let client_of = |issuer_name: &str| {
        let iss = world.issuer_url(issuer_name);
        regs.iter()
            .find(|r| r.0.trim_end_matches('/') == iss.trim_end_matches('/'))
            .map(|r| r.1.clone())
            .expect("registration of issuer")
    };
    let (client_idp, client_idp2) = (client_of("idp"), client_of("idp2"));

    // The tray ran from an AppImage: CLI link, lanyard:// handler entry, its association.
    let appimage = seed_appimage_integration(&sb);

    // --dry-run lists the plan and changes nothing.
    let dry = sb.lanyard(&["uninstall", "--dry-run", "--json"]);
    dry.assert_ok();
    let plan = dry.json().expect("plan JSON");
    let kinds: Vec<String> = plan["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "revoke_tokens").count(),
        4,
        "{plan}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "delete_client").count(),
        2,
        "{plan}"
    );
    assert!(kinds.contains(&"delete_state_dir".to_string()), "{plan}");
    for kind in [
        "remove_link_association",
        "delete_link_handler",
        "delete_command_link",
    ] {
        assert_eq!(
            kinds.iter().filter(|k| *k == kind).count(),
            1,
            "{kind}: {plan}"
        );
    }
    assert!(
        std::fs::symlink_metadata(&appimage.link).is_ok() && appimage.handler.exists(),
        "a dry run removes nothing"
    );
    if connected {
        assert_eq!(
            kinds.iter().filter(|k| *k == "remove_ide_entry").count(),
            12,
            "four servers in three assistants: {plan}"
        );
    }
    assert!(
        !plan.to_string().contains("admin-given"),
        "a pre-registered client is never planned for deletion: {plan}"
    );
    assert!(state_dir(&sb).exists());
    assert_eq!(
        world.counts().expect("counts").registration_deletes("idp"),
        0
    );

    // Without --yes and without a terminal: refused, nothing touched.
    let refused = sb.lanyard(&["uninstall"]);
    refused.assert_failed();
    assert!(said(&refused).contains("--yes"), "{}", refused.describe());
    assert!(state_dir(&sb).exists());

    // The tray's autostart entry and data (what its "Start at login" and web view write).
    let autostart = sb.config_home().join("autostart");
    std::fs::create_dir_all(&autostart).expect("autostart dir");
    std::fs::write(
        autostart.join("Lanyard.desktop"),
        "[Desktop Entry]\nExec=lanyard-tray --autostart\n",
    )
    .expect("autostart entry");
    std::fs::write(autostart.join("other.desktop"), "[Desktop Entry]\n").expect("other entry");
    let tray_data = sb.home().join(".local/share/dev.lanyard.tray");
    std::fs::create_dir_all(&tray_data).expect("tray data");
    std::fs::write(tray_data.join("localstorage"), "x").expect("tray data file");

    world.reset_counts().expect("reset");
    let run = uninstall(&sb);
    run.assert_ok();
    assert!(
        !autostart.join("Lanyard.desktop").exists(),
        "autostart entry removed"
    );
    assert!(
        autostart.join("other.desktop").exists(),
        "other autostart entries stay"
    );
    assert!(!tray_data.exists(), "the tray's data is removed");
    assert!(
        std::fs::symlink_metadata(&appimage.link).is_err(),
        "the `lanyard` link into the tray's data is removed"
    );
    assert!(
        !appimage.copy.exists(),
        "the tray's copy of the CLI is removed"
    );
    assert!(
        !appimage.handler.exists(),
        "the lanyard:// handler entry is removed"
    );
    assert!(appimage.other_entry.exists(), "other desktop entries stay");
    assert_eq!(
        std::fs::read_to_string(&appimage.mimeapps).expect("mimeapps.list stays"),
        appimage.mimeapps_after,
        "only Lanyard's association leaves mimeapps.list"
    );
    for word in ["done", "revoke", "delete"] {
        assert!(said(&run).contains(word), "{word}: {}", run.describe());
    }

    // RFC 7592: each registration is gone (its management URI answers 401).
    for (_, client_id, uri, token) in &regs {
        assert_eq!(
            world.registration_status(uri, token).expect("GET"),
            401,
            "client {client_id} still exists"
        );
    }
    let counts = world.counts().expect("counts");
    assert_eq!(counts.registration_deletes("idp"), 1);
    assert_eq!(counts.registration_deletes("idp2"), 1);
    assert!(
        counts.revocations("idp") >= 2 && counts.revocations("idp2") >= 2,
        "RFC 7009 revocations: {:?}",
        counts.0
    );
    // The pre-registered client was never sent a DELETE (only idp2's registered one was); that
    // it still exists is shown below by its refresh token being refused as invalid_grant.
    assert!(
        !world
            .log()
            .expect("log")
            .to_string()
            .contains("/reg/admin-given"),
        "no RFC 7592 request for the admin's client"
    );
    // Each server's refresh token was revoked (RFC 7009, HTTP 200) before its client went.
    let log = world.log().expect("log");
    for (issuer, servers) in [("idp", 2), ("idp2", 2)] {
        let revoked = log["issuers"][issuer]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| {
                e["route"] == "revocation"
                    && e["token_type_hint"] == "refresh_token"
                    && e["status"] == 200
            })
            .count();
        assert_eq!(revoked, servers, "refresh tokens revoked at {issuer}");
    }

    // Old refresh tokens are dead at the token endpoint.
    for (server, rt) in &refresh {
        let (issuer, client) = match server.as_str() {
            "a" | "b" => ("idp", client_idp.clone()),
            "c" => ("idp2", client_idp2.clone()),
            _ => ("idp2", "admin-given".to_string()),
        };
        let err = refresh_error(&world, issuer, &client, rt, &world.mcp_url(server));
        if server == "d" {
            // The client still exists: only revocation explains the refusal.
            assert_eq!(err, "invalid_grant", "refresh token of {server}");
        } else {
            assert!(
                err == "invalid_grant" || err == "invalid_client",
                "refresh token of {server}: {err}"
            );
        }
    }

    // The assistants' configs are byte-for-byte what the user had.
    for (path, bytes) in &configs {
        assert_eq!(
            &std::fs::read(path).expect("config still there"),
            bytes,
            "{} changed",
            path.display()
        );
    }
    // Nothing of Lanyard in the Secret Service, no state dir.
    let found = search(&sb, &svc);
    assert!(!found.contains("lanyard"), "keychain items left: {found}");
    assert!(
        sb.keyring().items().expect("items").is_empty(),
        "the keychain must be empty"
    );
    assert!(!state_dir(&sb).exists(), "the state dir must be gone");

    // A second run has nothing to do and says so.
    let again = uninstall(&sb);
    again.assert_ok();
    assert!(said(&again).contains("nothing"), "{}", again.describe());
    assert!(
        !state_dir(&sb).exists(),
        "a second run must not recreate the state dir"
    );
}

#[test]
fn idp_down_leaves_leftovers_reported_and_a_second_run_finishes() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp" }],
        "mcpServers": [{ "name": "a" }, { "name": "b" }]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "a", "a");
    add_ok(&sb, &world, "b", "b");
    let regs = registrations(&sb);
    assert_eq!(regs.len(), 1);
    let (issuer, _, uri, token) = regs[0].clone();
    let svc = service(&sb);

    world.stop_issuer("idp").expect("stop");
    let first = uninstall(&sb);
    first.assert_failed();
    let text = said(&first);
    assert!(text.contains("failed"), "{}", first.describe());
    assert!(
        text.contains("run"),
        "says to run again: {}",
        first.describe()
    );
    // What is still needed is kept: the state and the registration token.
    assert!(state_dir(&sb).exists(), "the state dir is kept");
    assert_eq!(
        crate::cleanup_common::secret(&sb, &svc, &format!("registration-token:{issuer}")),
        Some(token.clone()),
        "the registration token is kept until the client is deleted"
    );

    world.start_issuer("idp").expect("start");
    let second = uninstall(&sb);
    second.assert_ok();
    assert_eq!(world.registration_status(&uri, &token).expect("GET"), 401);
    assert!(!state_dir(&sb).exists());
    assert!(!search(&sb, &svc).contains("lanyard"));
}

#[test]
fn a_client_deleted_by_an_admin_is_reported_already_gone() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    let regs = registrations(&sb);
    let (_, client_id, _, _) = regs[0].clone();
    assert!(
        world
            .delete_client("idp", &client_id)
            .expect("admin delete")
    );

    let run = sb.lanyard(&["uninstall", "--yes", "--json"]);
    run.assert_ok();
    let report = run.json().expect("report");
    let step = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["item"]["kind"] == "delete_client")
        .cloned()
        .expect("a delete_client step");
    assert_eq!(step["outcome"], json!("already_gone"), "{report}");
    assert_eq!(report["complete"], json!(true));
    assert!(!state_dir(&sb).exists());
}

#[test]
fn an_idp_without_rfc7592_gets_the_client_id_listed_for_the_admin() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "registrationManagement": false }]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    let client_id = crate::cleanup_common::state(&sb)["registrations"][0]["client_id"]
        .as_str()
        .expect("client id")
        .to_string();

    let rt = crate::cleanup_common::refresh_token(&sb, "demo");
    let dry = sb.lanyard(&["uninstall", "--dry-run"]);
    dry.assert_ok();
    assert!(dry.stdout.contains(&client_id), "{}", dry.describe());

    let run = uninstall(&sb);
    // Done here; the client only an admin can delete is what stays remote (exit 3, not failure).
    assert_eq!(run.code, Some(3), "{}", run.describe());
    let text = said(&run);
    assert!(
        text.contains(&client_id.to_lowercase()),
        "{}",
        run.describe()
    );
    assert!(
        text.contains("admin") && text.contains("7592"),
        "{}",
        run.describe()
    );
    // The client survives at the IdP, so the token endpoint can tell: the old refresh token
    // was revoked (invalid_grant, not invalid_client).
    assert_eq!(
        refresh_error(&world, "idp", &client_id, &rt, &world.mcp_url("demo")),
        "invalid_grant"
    );
    // Everything else is gone; nothing is left that Lanyard could still do.
    assert!(!state_dir(&sb).exists(), "{}", run.describe());
    uninstall(&sb).assert_ok();
}

#[test]
fn a_registration_token_rotated_elsewhere_is_left_for_the_admin_not_reported_deleted() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "rotateRegistrationToken": true }]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    let (_, client_id, uri, token) = registrations(&sb)[0].clone();

    // Someone else updates the client (RFC 7592 PUT): the IdP rotates the registration token,
    // and the one in this machine's keychain goes stale.
    let auth = format!("Bearer {token}");
    let current = lanyard_e2e::http::request("GET", &uri, &[("Authorization", &auth)], None)
        .expect("GET")
        .json();
    let mut doc = current.clone();
    for k in [
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        doc.as_object_mut().expect("object").remove(k);
    }
    let put = lanyard_e2e::http::request(
        "PUT",
        &uri,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&doc.to_string()),
    )
    .expect("PUT");
    assert_eq!(put.status, 200, "{}", put.body);
    let rotated = put.json()["registration_access_token"]
        .as_str()
        .expect("a rotated token")
        .to_string();
    assert_ne!(rotated, token);

    let run = uninstall(&sb);
    assert_eq!(run.code, Some(3), "{}", run.describe());
    let text = said(&run);
    assert!(
        text.contains(&client_id.to_lowercase()) && text.contains("admin"),
        "{}",
        run.describe()
    );
    assert!(
        !text.contains("already gone: delete the oauth client"),
        "a stale token must not be taken for a deleted client:\n{}",
        run.describe()
    );
    assert_eq!(
        world.registration_status(&uri, &rotated).expect("GET"),
        200,
        "the client really still exists"
    );
    // Everything else is gone; the admin deletes the client with the current token.
    assert!(!state_dir(&sb).exists(), "{}", run.describe());
    assert_eq!(
        world.delete_registration(&uri, &rotated).expect("DELETE"),
        204
    );
    uninstall(&sb).assert_ok();
}

#[test]
fn a_running_daemon_is_stopped_first_and_does_not_bring_the_state_dir_back() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    let (_, _, uri, token) = registrations(&sb)[0].clone();

    let mut cmd = sb.command(lanyard_e2e::lanyard_bin());
    cmd.arg("daemon")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut daemon = cmd.spawn().expect("start lanyard daemon");
    let status = state_dir(&sb).join("daemon-status.json");
    let started = std::time::Instant::now();
    while !status.exists() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(status.exists(), "the daemon wrote its status file");

    let dry = sb.lanyard(&["uninstall", "--dry-run"]);
    assert!(
        said(&dry).contains("stop the running lanyard engine"),
        "{}",
        dry.describe()
    );
    let run = uninstall(&sb);
    let exited = daemon.try_wait().expect("try_wait").is_some();
    if !exited {
        let _ = daemon.kill();
    }
    let _ = daemon.wait();
    run.assert_ok();
    assert!(exited, "the daemon was stopped:\n{}", run.describe());
    assert_eq!(world.registration_status(&uri, &token).expect("GET"), 401);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!state_dir(&sb).exists(), "the state dir stays gone");
}

#[test]
fn a_locked_or_missing_keychain_stops_before_anything_is_removed() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    world.reset_counts().expect("reset");

    let run = sb.lanyard_env(
        &["uninstall", "--yes"],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    run.assert_failed();
    assert!(said(&run).contains("keychain"), "{}", run.describe());
    assert!(state_dir(&sb).exists());
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.revocations("idp") + counts.registration_deletes("idp"),
        0
    );

    uninstall(&sb).assert_ok();
    assert!(!state_dir(&sb).exists());
}
