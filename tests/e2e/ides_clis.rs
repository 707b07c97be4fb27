//! The real assistants' CLIs judge what `lanyard connect` wrote: Claude Code 2.1.197 and Codex
//! 0.171.0 (tests/ide-clis, installed by scripts/setup.d/25-ide-clis.sh), run in the sandbox's
//! HOME / CLAUDE_CONFIG_DIR / CODEX_HOME, against the test world's MCP server.

use std::path::PathBuf;

use lanyard_e2e::{Run, Sandbox, Value, World, json, tests_dir};

use crate::core_common::add_ok;

/// The folder holding `claude` and `codex`.
pub(crate) fn clis_bin() -> PathBuf {
    let bin = tests_dir().join("ide-clis/node_modules/.bin");
    assert!(
        bin.join("claude").exists() && bin.join("codex").exists(),
        "the assistants' CLIs are missing: run scripts/setup.d/25-ide-clis.sh (npm ci in tests/ide-clis)"
    );
    bin
}

/// A sandbox whose PATH finds the assistants' CLIs, with server `gw` added from the world.
pub(crate) fn sandbox_with_server(world: &World) -> Sandbox {
    let mut sandbox = Sandbox::new().expect("sandbox");
    let path = format!(
        "{}:{}",
        clis_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sandbox.set_env("PATH", path);
    add_ok(&sandbox, world, "demo", "gw");
    sandbox
}

/// Runs an assistant CLI in the sandbox.
pub(crate) fn cli(sandbox: &Sandbox, name: &str, args: &[&str]) -> Run {
    let mut cmd = sandbox.command(clis_bin().join(name));
    cmd.args(args);
    sandbox.run(cmd)
}

fn claude_list_line(sandbox: &Sandbox, server: &str) -> (Run, String) {
    let run = cli(sandbox, "claude", &["mcp", "list"]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{server}:")))
        .unwrap_or_default()
        .to_owned();
    eprintln!("$ claude mcp list\n{}", run.output().trim());
    (run, line)
}

fn ides_json(sandbox: &Sandbox) -> Value {
    let run = sandbox.lanyard(&["ides", "--json"]);
    run.assert_ok();
    run.json().expect("ides --json")
}

#[test]
fn helper_mode_claude_code_connects_and_codex_accepts_the_entry() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);

    let run = sandbox.lanyard(&["connect", "gw", "--ide", "claude,codex", "--json"]);
    run.assert_ok();
    let reports = run.json().unwrap();
    assert_eq!(reports[0]["mode"], json!("helper"), "{}", run.describe());
    assert_eq!(
        reports[0]["judge"],
        json!("claude mcp get gw"),
        "{}",
        run.describe()
    );
    assert_eq!(
        reports[1]["judge"],
        json!("codex mcp get gw --json"),
        "{}",
        run.describe()
    );

    let get = cli(&sandbox, "claude", &["mcp", "get", "gw"]);
    assert!(get.ok(), "claude mcp get:\n{}", get.describe());
    let (list, line) = claude_list_line(&sandbox, "gw");
    assert!(
        line.contains("Connected") && !line.contains("Failed"),
        "claude mcp list should report gw Connected:\n{}",
        list.describe()
    );

    let get = cli(&sandbox, "codex", &["mcp", "get", "gw", "--json"]);
    assert!(get.ok(), "codex mcp get:\n{}", get.describe());
    eprintln!("$ codex mcp get gw --json\n{}", get.stdout.trim());
    let entry: Value = serde_json::from_str(get.stdout.trim()).expect("codex JSON");
    assert_eq!(entry["transport"]["type"], json!("streamable_http"));
    assert_eq!(entry["transport"]["url"], json!(world.mcp_url("demo")));
    let list = cli(&sandbox, "codex", &["mcp", "list", "--json"]);
    assert!(list.ok(), "codex mcp list:\n{}", list.describe());
    let listed: Value = serde_json::from_str(list.stdout.trim()).expect("codex list JSON");
    assert!(
        listed
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["name"] == json!("gw"))),
        "{}",
        list.describe()
    );

    let status = ides_json(&sandbox);
    let states: Vec<&Value> = status["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["state"]["state"])
        .collect();
    assert_eq!(states, vec![&json!("ok"), &json!("ok")], "{status}");

    sandbox.lanyard(&["disconnect", "gw"]).assert_ok();
    let get = cli(&sandbox, "claude", &["mcp", "get", "gw"]);
    assert!(!get.ok(), "gone after disconnect:\n{}", get.describe());
    let get = cli(&sandbox, "codex", &["mcp", "get", "gw", "--json"]);
    assert!(!get.ok(), "gone after disconnect:\n{}", get.describe());
}

#[test]
fn bridge_mode_claude_code_connects_through_lanyard_bridge() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    sandbox
        .lanyard(&[
            "connect",
            "gw",
            "--ide",
            "claude,codex,cursor",
            "--mode",
            "bridge",
        ])
        .assert_ok();
    let (list, line) = claude_list_line(&sandbox, "gw");
    assert!(
        line.contains("Connected") && line.contains("bridge gw"),
        "claude mcp list should report the bridge Connected:\n{}",
        list.describe()
    );
    let get = cli(&sandbox, "codex", &["mcp", "get", "gw", "--json"]);
    assert!(get.ok(), "{}", get.describe());
    let entry: Value = serde_json::from_str(get.stdout.trim()).unwrap();
    assert_eq!(entry["transport"]["type"], json!("stdio"));
    assert_eq!(entry["transport"]["args"], json!(["bridge", "gw"]));
    let cursor: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.home().join(".cursor/mcp.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cursor["mcpServers"]["gw"]["args"], json!(["bridge", "gw"]));
}

#[test]
fn a_codex_entry_the_cli_rejects_is_rolled_back() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    // A user's config that Codex already refuses (inline bearer_token): our write gets judged
    // with it, the judge says no, and the file must come back exactly as it was.
    let config = sandbox.home().join(".codex/config.toml");
    let original =
        "# mine\n[mcp_servers.bad]\nurl = \"http://127.0.0.1:9/mcp\"\nbearer_token = \"x\"\n";
    std::fs::write(&config, original).unwrap();
    let run = sandbox.lanyard(&["connect", "gw", "--ide", "codex"]);
    eprintln!("$ lanyard connect gw --ide codex\n{}", run.output().trim());
    run.assert_failed();
    assert!(
        run.stderr.contains("codex mcp get gw --json"),
        "{}",
        run.describe()
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
}

#[test]
fn add_with_connect_signs_in_and_connects_in_one_step() {
    let world = World::start(json!({})).expect("world starts");
    let mut sandbox = Sandbox::new().expect("sandbox");
    let path = format!(
        "{}:{}",
        clis_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sandbox.set_env("PATH", path);
    let url = world.mcp_url("demo");
    let run = sandbox.lanyard(&["add", &url, "--name", "gw", "--connect", "claude,cursor"]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("gw connected to Claude Code (helper mode)"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("gw connected to Cursor (bridge mode)"),
        "{}",
        run.describe()
    );
    let get = cli(&sandbox, "claude", &["mcp", "get", "gw"]);
    assert!(get.ok(), "{}", get.describe());
}

#[test]
fn project_scope_writes_each_assistants_project_file_and_disconnect_removes_them() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = sandbox_with_server(&world);
    let project = sandbox.home().join("src/app");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    // Codex reads a project's config only when the project is trusted.
    std::fs::write(
        sandbox.home().join(".codex/config.toml"),
        format!(
            "[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
            std::fs::canonicalize(&project).unwrap().display()
        ),
    )
    .unwrap();
    let p = project.to_str().unwrap();
    let run = sandbox.lanyard(&[
        "connect",
        "gw",
        "--ide",
        "claude,codex,cursor",
        "--project",
        p,
        "--json",
    ]);
    run.assert_ok();
    let reports = run.json().unwrap();
    assert_eq!(
        reports[0]["judge"],
        json!("claude mcp get gw"),
        "{}",
        run.describe()
    );
    assert_eq!(
        reports[1]["judge"],
        json!("codex mcp get gw --json"),
        "{}",
        run.describe()
    );
    for f in [".mcp.json", ".codex/config.toml", ".cursor/mcp.json"] {
        assert!(project.join(f).exists(), "{f}");
    }
    let mut cmd = sandbox.command(clis_bin().join("claude"));
    cmd.args(["mcp", "get", "gw"]).current_dir(&project);
    let get = sandbox.run(cmd);
    assert!(get.stdout.contains("Project config"), "{}", get.describe());

    sandbox.lanyard(&["disconnect", "gw"]).assert_ok();
    for f in [".mcp.json", ".codex/config.toml", ".cursor/mcp.json"] {
        assert!(
            !project.join(f).exists(),
            "{f} is removed again (Lanyard created it)"
        );
    }
}
