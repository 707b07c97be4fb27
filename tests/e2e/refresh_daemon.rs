//! The daemon keeps a server usable on its own: short-lived access tokens (10 s) are refreshed
//! ahead of expiry by the one timer, counted at the IdP, for a minute.

use std::time::{Duration, Instant};

use crate::refresh_support::*;

#[test]
fn daemon_keeps_a_server_usable_for_a_minute_with_the_expected_refreshes() {
    let world = world_with_ttl(10);
    let sandbox = signed_in(&world);
    world.reset_counts().expect("reset");
    let mut daemon = Daemon::start(&sandbox);

    // For a minute, every few seconds, the token in the keychain (read without Lanyard, so the
    // test itself never refreshes) is accepted by the MCP server.
    let start = Instant::now();
    let mut samples = 0;
    let mut distinct = std::collections::BTreeSet::new();
    while start.elapsed() < Duration::from_secs(60) {
        daemon.collect_for(Duration::from_secs(4));
        let tokens = stored_tokens(&sandbox, "demo");
        let access = tokens["access_token"]
            .as_str()
            .expect("access token")
            .to_string();
        crate::core_common::assert_server_accepts(&world, "demo", &access);
        distinct.insert(access);
        samples += 1;
    }

    let counts = world.counts().expect("counts");
    let refreshes = counts.token_requests("idp", "refresh_token");
    eprintln!(
        "refreshes at the IdP in a minute: {refreshes}; distinct tokens seen: {}",
        distinct.len()
    );
    // A 10 s token is refreshed at half its life: ~12 refreshes a minute (slack for a loaded
    // machine, never a timing assertion).
    assert!(
        (8..=16).contains(&refreshes),
        "expected about 12 refreshes in a minute, the IdP saw {refreshes}\n{}",
        daemon.log()
    );
    assert!(
        distinct.len() >= 8,
        "the stored token changed only {} times",
        distinct.len()
    );
    assert_eq!(counts.authorizations("idp"), 0, "no new sign-in");
    assert_eq!(counts.token_errors("idp", "invalid_grant"), 0);
    assert!(samples >= 10);

    // The status `list` reads says so.
    let status = std::fs::read_to_string(state_dir(&sandbox).join("daemon-status.json"))
        .expect("status file");
    assert!(
        status.contains("\"fresh\"") || status.contains("\"refreshing\""),
        "{status}"
    );

    // A clean stop on SIGTERM.
    let exit = daemon.terminate();
    assert!(exit.success(), "daemon exit: {exit:?}");
}
