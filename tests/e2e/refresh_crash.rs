//! kill -9 of the daemon in the middle of a refresh: the next caller still has a working grant
//! (the refresh runs in a helper child that outlives the daemon and stores the rotated refresh
//! token; the old one is never replayed).

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::refresh_support::*;

#[test]
fn kill9_of_the_daemon_mid_refresh_keeps_the_grant() {
    let world = world_with_ttl(10);
    let sandbox = signed_in(&world);

    // 1. Deterministic: the refresh is stuck inside the single flight (another holder of the
    //    server's lock) when the daemon is killed.
    let lock = state_dir(&sandbox).join("locks").join("demo.lock");
    std::fs::create_dir_all(lock.parent().expect("dir")).expect("locks dir");
    // `flock -o`: the lock stays with flock itself; closing its stdin ends the holder.
    let mut holder = std::process::Command::new("flock")
        .args(["-x", "-o"])
        .arg(&lock)
        .args(["-c", "echo locked; read _"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("flock says locked");
    assert_eq!(line.trim(), "locked");
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for("a refresh starting", |e| is_status(e, "refreshing"));
    std::thread::sleep(std::time::Duration::from_millis(300)); // the helper is waiting on the lock
    daemon.kill9();
    drop(holder.stdin.take()); // release the lock: the orphaned helper goes on with its refresh
    let _ = holder.wait();
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
    let r = world
        .mcp_post(
            "demo",
            &token,
            &lanyard_e2e::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "e2e", "version": "0"}}}),
        )
        .expect("MCP answers");
    assert_eq!(r.status, 200, "{}", r.body);
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
