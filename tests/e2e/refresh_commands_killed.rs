//! `kill -9` of `tools`, `call` or `bridge` in the middle of a refresh never loses the grant
//! (issue 18): every command refreshes through the detached child that `lanyard token` uses, so
//! the rotated refresh token is stored even though the command that asked is gone.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lanyard_e2e::lanyard_bin;

use crate::refresh_support::*;

/// What a stdio MCP client sends the bridge first.
const BRIDGE_INPUT: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"0"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    "\n"
);

fn killed_mid_refresh_keeps_the_grant(args: &[&str]) {
    let world = world_with_ttl(10);
    let sandbox = signed_in(&world);
    wait_until_due(&sandbox, "demo");
    let before = stored_tokens(&sandbox, "demo")["access_token"].clone();

    // The refresh is held inside the single flight by another holder of the server's lock
    // while the command is killed.
    let holder = LockHolder::hold(&sandbox, "demo");
    let mut cmd = sandbox.command(lanyard_bin());
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut command = cmd.spawn().expect("start the command");
    if let Some(mut stdin) = command.stdin.take() {
        let _ = stdin.write_all(BRIDGE_INPUT.as_bytes());
        std::mem::forget(stdin); // kept open: the bridge serves until killed
    }
    std::thread::sleep(Duration::from_millis(700)); // its refresh is waiting on the lock
    command.kill().expect("kill -9 the command");
    let _ = command.wait();
    holder.release(); // the detached refresh goes on

    let deadline = Instant::now() + PATIENCE; // hang guard, not a timing assertion
    while stored_tokens(&sandbox, "demo")["access_token"] == before {
        assert!(
            Instant::now() < deadline,
            "{args:?} killed: nobody stored a new token (the refresh died with the command)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    sandbox.lanyard(&["tools", "demo"]).assert_ok();
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.token_errors("idp", "invalid_grant"),
        0,
        "no refresh token was replayed"
    );
    assert_eq!(counts.authorizations("idp"), 1, "no new sign-in");
}

#[test]
fn killing_tools_mid_refresh_keeps_the_grant() {
    killed_mid_refresh_keeps_the_grant(&["tools", "demo"]);
}

#[test]
fn killing_call_mid_refresh_keeps_the_grant() {
    killed_mid_refresh_keeps_the_grant(&["call", "demo", "echo", "--args", r#"{"text":"x"}"#]);
}

#[test]
fn killing_the_bridge_mid_refresh_keeps_the_grant() {
    killed_mid_refresh_keeps_the_grant(&["bridge", "demo"]);
}
