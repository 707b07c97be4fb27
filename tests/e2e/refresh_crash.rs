//! kill -9 of the daemon in the middle of a refresh: the next caller still has a working grant
//! (the refresh runs in a helper child that outlives the daemon and stores the rotated refresh
//! token; the old one is never replayed).

use crate::refresh_support::*;

#[test]
fn kill9_of_the_daemon_mid_refresh_keeps_the_grant() {
    let world = world_with_ttl(10);
    let sandbox = signed_in(&world);

    // 1. Deterministic: the refresh is stuck inside the single flight (another holder of the
    //    server's lock) when the daemon is killed.
    let holder = LockHolder::hold(&sandbox, "demo");
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for("a refresh starting", |e| is_status(e, "refreshing"));
    std::thread::sleep(std::time::Duration::from_millis(300)); // the helper is waiting on the lock
    daemon.kill9();
    holder.release(); // the orphaned helper goes on with its refresh
    let token = sandbox.lanyard(&["token", "demo"]);
    token.assert_ok();

    // 2. Kills right at the start of a refresh, while its request may be at the IdP.
    for _ in 0..3 {
        let mut daemon = Daemon::start(&sandbox);
        daemon.wait_for("a refresh starting", |e| is_status(e, "refreshing"));
        daemon.kill9();
    }
    std::thread::sleep(std::time::Duration::from_secs(1)); // orphaned helpers finish their write

    let run = sandbox.lanyard(&["token", "demo"]);
    run.assert_ok();
    let token = run.stdout.trim().to_string();
    crate::core_common::assert_server_accepts(&world, "demo", &token);
    let counts = world.counts().expect("counts");
    eprintln!(
        "refreshes: {}, invalid_grant: {}",
        counts.token_requests("idp", "refresh_token"),
        counts.token_errors("idp", "invalid_grant")
    );
    assert_eq!(
        counts.token_errors("idp", "invalid_grant"),
        0,
        "no refresh token was replayed"
    );
    assert_eq!(counts.authorizations("idp"), 1, "no new sign-in");
}
