//! An assistant killing `lanyard token` (its headers helper) in the middle of a refresh never
//! loses the grant: the refresh runs in a detached child that stores the rotated refresh token.

use std::time::{Duration, Instant};

use crate::refresh_support::*;

#[test]
fn killing_the_token_helper_mid_refresh_keeps_the_grant() {
    let world = world_with_ttl(10); // always within the helper's refresh margin
    let sandbox = signed_in(&world);
    wait_until_due(&sandbox, "demo"); // half its life (5 s) is over
    let before = stored_tokens(&sandbox, "demo")["access_token"].clone();

    // The refresh is held inside the single flight by another holder of the server's lock
    // while the helper is killed.
    let holder = LockHolder::hold(&sandbox, "demo");

    let mut helper = sandbox
        .spawn_lanyard(&["token", "demo"])
        .expect("start lanyard token");
    std::thread::sleep(Duration::from_millis(500)); // its refresh is waiting on the lock
    helper.kill().expect("kill -9 the helper"); // SIGKILL, as a hard timeout would
    let _ = helper.wait();
    holder.release(); // the detached refresh goes on

    let deadline = Instant::now() + PATIENCE; // hang guard, not a timing assertion
    while stored_tokens(&sandbox, "demo")["access_token"] == before {
        assert!(
            Instant::now() < deadline,
            "the detached refresh never stored a new token"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let run = sandbox.lanyard(&["token", "demo"]);
    run.assert_ok();
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.token_errors("idp", "invalid_grant"),
        0,
        "no refresh token was replayed"
    );
    assert_eq!(counts.authorizations("idp"), 1, "no new sign-in");
    crate::core_common::assert_server_accepts(&world, "demo", run.stdout.trim());
}
