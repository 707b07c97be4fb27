//! `lanyard bridge NAME` under a real stdio MCP client (the official TypeScript SDK): tools are
//! listed and called through it, and an access token that expires mid-session is refreshed on
//! the server's 401 and the request retried, invisibly to the client.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use lanyard_e2e::{Value, World, json, lanyard_bin, tests_dir};

use crate::ides_clis::sandbox_with_server;

fn client_script() -> std::path::PathBuf {
    tests_dir().join("ide-clis/bridge-client.mjs")
}

#[test]
fn an_sdk_stdio_client_lists_and_calls_tools_through_the_bridge() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    let mut cmd = sandbox.command("node");
    cmd.arg(client_script()).arg(lanyard_bin()).arg("gw");
    let run = sandbox.run(cmd);
    run.assert_ok();
    let tools = run.step("tools");
    assert!(
        tools["names"]
            .as_array()
            .is_some_and(|n| n.contains(&json!("echo"))),
        "{}",
        run.describe()
    );
    let call = run.step("call");
    assert_eq!(
        call["result"]["content"][0]["text"],
        json!("through the bridge"),
        "{}",
        run.describe()
    );
    run.step("closed");
}

#[test]
fn the_bridge_refreshes_on_401_and_retries_once() {
    // Access tokens that live 2 seconds: the second call of the session meets an expired one.
    let world = World::start(json!({"issuers": [{"name": "idp", "accessTokenTtl": 2}]}))
        .expect("world starts");
    let sandbox = sandbox_with_server(&world);
    let mut cmd = sandbox.command("node");
    cmd.arg(client_script())
        .arg(lanyard_bin())
        .arg("gw")
        .arg("--twice")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("client starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut next_step = |want: &str, seen: &mut Vec<String>| loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("client ended before {want}: {seen:?}"))
            .unwrap();
        seen.push(line.clone());
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["step"] == want {
            return v;
        }
    };
    let first = next_step("call", &mut seen);
    assert_eq!(
        first["result"]["content"][0]["text"],
        json!("through the bridge")
    );
    let before = world.counts().unwrap();
    // Let the access token the bridge holds expire (a wait for the IdP's clock, not a check).
    std::thread::sleep(Duration::from_secs(4));
    writeln!(stdin, "go").unwrap();
    let second = next_step("call", &mut seen);
    assert_eq!(
        second["result"]["content"][0]["text"],
        json!("after a refresh"),
        "{seen:?}"
    );
    next_step("closed", &mut seen);
    let _ = child.wait();
    let after = world.counts().unwrap();
    let unauthorized = |c: &lanyard_e2e::Counts| {
        c.0["mcpServers"]["demo"]["unauthorized"]
            .as_u64()
            .unwrap_or(0)
    };
    assert!(
        unauthorized(&after) > unauthorized(&before),
        "the server should have refused the expired token once: {:?}",
        after.0["mcpServers"]["demo"]
    );
}
