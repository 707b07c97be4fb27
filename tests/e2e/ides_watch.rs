//! The watcher (`lanyard ides --watch`, what the daemon runs): a stale static token in Cursor's
//! file is replaced, a user's removal of our entry is recorded and not undone, and our own writes
//! cause no further writes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lanyard_e2e::{Sandbox, Value, World, json, lanyard_bin};

use crate::ides_clis::sandbox_with_server;

/// `lanyard ides --watch` in the background; its stderr lines arrive on a channel.
pub(crate) struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watcher {
    pub(crate) fn start(sandbox: &Sandbox) -> Watcher {
        let mut cmd = sandbox.command(lanyard_bin());
        cmd.args(["ides", "--watch"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("watcher starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut w = Watcher {
            child,
            lines: rx,
            seen: Vec::new(),
        };
        w.wait_for("Watching");
        w
    }

    /// Waits for a line containing `what` (the watcher says what it did).
    pub(crate) fn wait_for(&mut self, what: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the watcher never said {what:?}; it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gw` connected to Cursor in static mode (token in `X-Authorization`); returns the token.
fn connect_static_to_cursor(sandbox: &Sandbox) -> String {
    sandbox
        .lanyard(&[
            "connect",
            "gw",
            "--ide",
            "cursor",
            "--mode",
            "static",
            "--header",
            "X-Authorization",
        ])
        .assert_ok();
    let token = sandbox.lanyard(&["token", "gw"]);
    token.assert_ok();
    token.stdout.trim().to_owned()
}

/// The watcher says it repaired the headers, and Cursor's entry carries `token` again.
#[track_caller]
fn assert_repaired(watcher: &mut Watcher, sandbox: &Sandbox, token: &str) {
    let said = watcher.wait_for("repaired");
    assert!(said.contains("headers"), "{said}");
    assert_eq!(
        cursor_entry(sandbox)["headers"]["X-Authorization"],
        json!(format!("Bearer {token}"))
    );
}

fn cursor_entry(sandbox: &Sandbox) -> Value {
    let text = std::fs::read_to_string(sandbox.home().join(".cursor/mcp.json")).unwrap();
    // The file is JSONC: drop the comment lines this test wrote.
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let v: Value = serde_json::from_str(&json).unwrap();
    v["mcpServers"]["gw"].clone()
}

#[test]
fn watcher_replaces_a_stale_static_token_and_respects_a_removal() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    let file = sandbox.home().join(".cursor/mcp.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let theirs = "{\n  // my servers\n  \"mcpServers\": {\n    \"docs\": {\"url\": \"https://docs.example/mcp\"}\n  }\n}\n";
    std::fs::write(&file, theirs).unwrap();
    let token = connect_static_to_cursor(&sandbox);
    assert_eq!(
        cursor_entry(&sandbox)["headers"]["X-Authorization"],
        json!(format!("Bearer {token}"))
    );

    let mut watcher = Watcher::start(&sandbox);

    // Someone (an old backup, a sync tool) puts a stale token back.
    let with_ours = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, with_ours.replace(&token, "stale-token")).unwrap();
    assert_repaired(&mut watcher, &sandbox, &token);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("// my servers")
    );

    // The user deletes our entry: recorded as disconnected in Cursor, never re-added.
    std::fs::write(&file, theirs).unwrap();
    watcher.wait_for("disconnected in Cursor");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
    let status = sandbox.lanyard(&["ides", "--json"]);
    status.assert_ok();
    let v = status.json().unwrap();
    assert_eq!(
        v["connections"][0]["state"]["state"],
        json!("removed_by_user"),
        "{v}"
    );
    // Exactly one repair happened: our own write did not trigger another one.
    assert_eq!(
        watcher
            .seen
            .iter()
            .filter(|l| l.contains("repaired"))
            .count(),
        1,
        "{:?}",
        watcher.seen
    );
    let human = sandbox.lanyard(&["ides"]);
    assert!(
        human.stdout.contains("disconnected in Cursor"),
        "{}",
        human.describe()
    );
}

#[test]
fn watcher_follows_a_config_folder_created_after_it_started() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    let dir = sandbox.home().join(".cursor");
    let file = dir.join("mcp.json");
    std::fs::create_dir_all(&dir).unwrap();
    let theirs = "{\n  // my servers\n  \"mcpServers\": {}\n}\n";
    std::fs::write(&file, theirs).unwrap();
    let token = connect_static_to_cursor(&sandbox);
    let with_ours = std::fs::read_to_string(&file).unwrap();
    // Cursor is uninstalled: its folder goes away before the watcher starts.
    std::fs::remove_dir_all(&dir).unwrap();

    let mut watcher = Watcher::start(&sandbox);
    // The first pass has looked (and set its watches): the folder is not there.
    watcher.wait_for("config file missing");

    // Cursor comes back with the old file, carrying a stale token: the new folder is watched
    // and the entry repaired, with no periodic pass to find it.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&file, with_ours.replace(&token, "stale-token")).unwrap();
    assert_repaired(&mut watcher, &sandbox, &token);

    // Later edits in that folder are seen too (the watch stays on it).
    std::fs::write(&file, with_ours.replace(&token, "another-stale-token")).unwrap();
    watcher.wait_for("repaired");
    assert_eq!(
        cursor_entry(&sandbox)["headers"]["X-Authorization"],
        json!(format!("Bearer {token}"))
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("// my servers")
    );
}

#[test]
fn watcher_follows_a_connection_made_by_another_process() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    let file = sandbox.home().join(".cursor/mcp.json");
    let mut watcher = Watcher::start(&sandbox);

    // `lanyard connect` while the watcher runs, into a folder that did not exist.
    let token = connect_static_to_cursor(&sandbox);

    let with_ours = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, with_ours.replace(&token, "stale-token")).unwrap();
    assert_repaired(&mut watcher, &sandbox, &token);
}
