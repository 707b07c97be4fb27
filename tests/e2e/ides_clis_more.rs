//! The assistants that ship a CLI on npm besides Claude Code and Codex — Gemini CLI 0.61.0,
//! GitHub Copilot CLI 1.0.102, opencode 1.18.33 and Amp 0.0.1790142911 (tests/ide-clis) — read
//! what `lanyard connect` wrote, in the sandbox's HOME, offline: Gemini CLI and opencode connect
//! to the world's MCP server through `lanyard bridge` and with a static header, and so does Amp's
//! `amp mcp doctor` (a made-up account key, its account API at a closed port); Copilot CLI (no
//! session without a GitHub sign-in) shows the entry as it parsed it. Every file starts as a real-world-shaped one and comes back byte for
//! byte on disconnect.

use lanyard_e2e::{Run, Sandbox, Value, World, json};

use crate::ides_clis::{cli, sandbox_with_server};
use crate::ides_common::{assert_disconnect_restores, row, seed};

/// A sandbox with the world's server added as `gw`, whose CLIs never reach a vendor: no update
/// checks, no telemetry, npm only at a closed port.
fn offline_sandbox(world: &World) -> Sandbox {
    let mut sandbox = sandbox_with_server(world);
    for (k, v) in [
        ("npm_config_registry", "http://127.0.0.1:9/"),
        ("npm_config_offline", "true"),
        ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
        ("OPENCODE_DISABLE_SHARE", "1"),
        ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
        ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1"),
        ("AMP_URL", "http://127.0.0.1:9"),
        ("GEMINI_TELEMETRY_ENABLED", "false"),
        ("COPILOT_AUTO_UPDATE", "false"),
        ("NO_UPDATE_NOTIFIER", "1"),
    ] {
        sandbox.set_env(k, v);
    }
    sandbox
}

fn connect(sandbox: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["connect", "gw", "--json"];
    all.extend_from_slice(args);
    let run = sandbox.lanyard(&all);
    run.assert_ok();
    run.json().expect("connect --json")
}

#[track_caller]
fn assert_line(run: &Run, name: &str, wanted: &[&str]) {
    let output = run.output();
    let line = output
        .lines()
        .find(|l| {
            l.contains(&format!("{name}:"))
                || l.contains(&format!(" {name} "))
                || l.starts_with(&format!("{name} "))
        })
        .unwrap_or_default();
    assert!(
        wanted.iter().all(|w| line.contains(w)),
        "wanted {wanted:?} on {name}'s line:\n{}",
        run.describe()
    );
}

#[test]
fn gemini_cli_connects_through_the_bridge_and_with_a_static_header() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = offline_sandbox(&world);
    let home = sandbox.home();
    let file = home.join(".gemini/settings.json");
    // Gemini reads comments but refuses trailing commas. Its keys are current ones: 0.61.0
    // rewrites the whole file (re-indented, comments kept) when it migrates a deprecated key
    // such as `general.disableAutoUpdate`, which would make the byte-for-byte check moot.
    let seed_text = seed(
        &file,
        "{\n  // mine\n  \"general\": { \"enableAutoUpdate\": false },\n  \"privacy\": { \"usageStatisticsEnabled\": false },\n  \"telemetry\": { \"enabled\": false },\n  \"mcpServers\": {\n    \"other\": { \"command\": \"/bin/true\" }\n  }\n}\n",
    );
    // Every server is disabled in a folder Gemini does not trust: the sandbox HOME is trusted.
    std::fs::write(
        home.join(".gemini/trustedFolders.json"),
        json!({ home.to_string_lossy(): "TRUST_FOLDER" }).to_string(),
    )
    .unwrap();

    let reports = connect(&sandbox, &["--ide", "gemini"]);
    assert_eq!(reports[0]["mode"], json!("bridge"), "{reports}");
    let list = cli(&sandbox, "gemini", &["mcp", "list"]);
    eprintln!("$ gemini mcp list\n{}", list.output());
    assert!(list.ok(), "{}", list.describe());
    assert_line(&list, "gw", &["bridge gw", "(stdio)", "- Connected"]);

    connect(&sandbox, &["--ide", "gemini", "--mode", "static"]);
    let entry: Value =
        serde_json::from_str(&strip_comments(&std::fs::read_to_string(&file).unwrap())).unwrap();
    assert_eq!(
        entry["mcpServers"]["gw"]["httpUrl"],
        json!(world.mcp_url("demo"))
    );
    let list = cli(&sandbox, "gemini", &["mcp", "list"]);
    eprintln!("$ gemini mcp list\n{}", list.output());
    assert_line(&list, "gw", &["(http)", "- Connected"]);

    assert_disconnect_restores(&sandbox, &[(&file, &seed_text)]);
}

/// Drops `//` line comments (the seeds' only comments) so serde can read the file.
pub(crate) fn strip_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn copilot_cli_reads_the_bridge_and_static_entries_and_the_project_file() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = offline_sandbox(&world);
    let file = sandbox.home().join(".copilot/mcp-config.json");
    let seed_text = seed(
        &file,
        "{\n    // mine\n    \"mcpServers\": {\n        \"other\": { \"type\": \"local\", \"command\": \"/bin/true\", \"tools\": [\"*\"], },\n    },\n}\n",
    );

    let reports = connect(&sandbox, &["--ide", "copilot"]);
    assert_eq!(reports[0]["mode"], json!("bridge"), "{reports}");
    assert_eq!(
        reports[0]["judge"],
        json!("copilot mcp get gw --json"),
        "{reports}"
    );
    let get = cli(&sandbox, "copilot", &["mcp", "get", "gw", "--json"]);
    eprintln!("$ copilot mcp get gw --json\n{}", get.output());
    assert!(get.ok(), "{}", get.describe());
    let seen: Value = serde_json::from_str(get.stdout.trim()).unwrap();
    assert_eq!(seen["gw"]["type"], json!("stdio"));
    assert_eq!(seen["gw"]["args"], json!(["bridge", "gw"]));
    assert_eq!(seen["gw"]["enabled"], json!(true));

    connect(&sandbox, &["--ide", "copilot", "--mode", "static"]);
    let get = cli(
        &sandbox,
        "copilot",
        &["mcp", "get", "gw", "--json", "--show-secrets"],
    );
    assert!(get.ok(), "{}", get.describe());
    let seen: Value = serde_json::from_str(get.stdout.trim()).unwrap();
    assert_eq!(seen["gw"]["type"], json!("http"));
    assert_eq!(seen["gw"]["url"], json!(world.mcp_url("demo")));
    let token = crate::core_common::token_ok(&sandbox, "gw");
    assert_eq!(
        seen["gw"]["headers"]["Authorization"],
        json!(format!("Bearer {token}"))
    );

    // The project's `.github/mcp.json`, judged in a scratch project Copilot trusts.
    let project = sandbox.home().join("proj");
    std::fs::create_dir_all(&project).unwrap();
    let reports = connect(
        &sandbox,
        &["--ide", "copilot", "--project", project.to_str().unwrap()],
    );
    assert_eq!(
        reports[0]["judge"],
        json!("copilot mcp get gw --json"),
        "{reports}"
    );
    assert!(project.join(".github/mcp.json").is_file());

    assert_disconnect_restores(&sandbox, &[(&file, &seed_text)]);
    assert!(!project.join(".github/mcp.json").exists());
    let get = cli(&sandbox, "copilot", &["mcp", "get", "gw", "--json"]);
    assert!(!get.ok(), "gone after disconnect:\n{}", get.describe());
}

#[test]
fn opencode_connects_through_the_bridge_and_with_a_static_header() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = offline_sandbox(&world);
    let file = sandbox.config_home().join("opencode/opencode.jsonc");
    let seed_text = seed(
        &file,
        "{\n  // mine\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"autoupdate\": false,\n  \"share\": \"disabled\",\n  \"mcp\": {\n    \"other\": { \"type\": \"local\", \"command\": [\"/bin/true\"], \"enabled\": false },\n  },\n}\n",
    );

    let reports = connect(&sandbox, &["--ide", "opencode"]);
    assert_eq!(reports[0]["mode"], json!("bridge"), "{reports}");
    let config = cli(&sandbox, "opencode", &["debug", "config", "--pure"]);
    assert!(
        config.ok(),
        "opencode's schema rejects the entry:\n{}",
        config.describe()
    );
    let merged: Value = serde_json::from_str(config.stdout.trim()).unwrap();
    assert_eq!(merged["mcp"]["gw"]["type"], json!("local"));
    assert_eq!(merged["mcp"]["gw"]["command"][1], json!("bridge"));
    assert_eq!(merged["mcp"]["gw"]["command"][2], json!("gw"));
    let list = cli(&sandbox, "opencode", &["mcp", "list", "--pure"]);
    eprintln!("$ opencode mcp list\n{}", list.output());
    assert_line(&list, "gw", &["✓", "connected"]);

    connect(&sandbox, &["--ide", "opencode", "--mode", "static"]);
    let config = cli(&sandbox, "opencode", &["debug", "config", "--pure"]);
    assert!(config.ok(), "{}", config.describe());
    let list = cli(&sandbox, "opencode", &["mcp", "list", "--pure"]);
    eprintln!("$ opencode mcp list\n{}", list.output());
    assert_line(&list, "gw", &["✓", "connected"]);

    assert_disconnect_restores(&sandbox, &[(&file, &seed_text)]);
}

#[test]
fn amp_connects_through_the_bridge_and_with_a_static_header() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = offline_sandbox(&world);
    let file = sandbox.config_home().join("amp/settings.json");
    let seed_text = seed(
        &file,
        "{\n\t\"amp.updates.mode\": \"disabled\",\n\t// mine\n\t\"amp.mcpServers\": {\n\t\t\"other\": {\"command\": \"/bin/true\"},\n\t},\n}\n",
    );

    let reports = connect(&sandbox, &["--ide", "amp"]);
    assert_eq!(reports[0]["mode"], json!("bridge"), "{reports}");
    let list = cli(&sandbox, "amp", &["mcp", "list"]);
    eprintln!("$ amp mcp list\n{}", list.output());
    assert!(list.ok(), "{}", list.describe());
    assert_line(&list, "gw", &["command", "bridge gw"]);
    // `amp mcp doctor` connects to each server; with a made-up account key and the account API
    // at a closed port it needs no ampcode.com.
    let doctor = amp_doctor(&sandbox);
    assert_line(&doctor, "gw", &["connected (1 tools: echo)"]);

    connect(&sandbox, &["--ide", "amp", "--mode", "static"]);
    let list = cli(&sandbox, "amp", &["mcp", "list"]);
    eprintln!("$ amp mcp list\n{}", list.output());
    assert_line(&list, "gw", &["url", &world.mcp_url("demo")]);
    let doctor = amp_doctor(&sandbox);
    assert_line(&doctor, "gw", &["connected (1 tools: echo)"]);

    assert_disconnect_restores(&sandbox, &[(&file, &seed_text)]);
}

fn amp_doctor(sandbox: &Sandbox) -> Run {
    let mut cmd = sandbox.command(crate::ides_clis::clis_bin().join("amp"));
    cmd.args(["mcp", "doctor"])
        .env("AMP_API_KEY", "not-a-real-key");
    let run = sandbox.run(cmd);
    eprintln!("$ amp mcp doctor\n{}", run.output());
    run
}

#[test]
fn lanyard_ides_lists_the_cli_assistants_as_detected_and_connected() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = offline_sandbox(&world);
    connect(&sandbox, &["--ide", "gemini,copilot,opencode,amp"]);
    let run = sandbox.lanyard(&["ides", "--json"]);
    run.assert_ok();
    let overview = run.json().unwrap();
    for id in ["gemini", "copilot", "opencode", "amp"] {
        let a = row(&overview, "assistants", id);
        assert_eq!(a["installed"], json!(true), "{a}");
        assert!(a["cli"].as_str().is_some_and(|c| c.ends_with(id)), "{a}");
        let c = row(&overview, "connections", id);
        assert_eq!(c["state"]["state"], json!("ok"), "{c}");
        assert_eq!(c["mode"], json!("bridge"), "{c}");
    }
    // The files Lanyard created from nothing parse in each CLI (Gemini refuses trailing commas).
    let list = cli(&sandbox, "gemini", &["mcp", "list"]);
    assert!(list.ok(), "{}", list.describe());
    let get = cli(&sandbox, "copilot", &["mcp", "get", "gw", "--json"]);
    assert!(get.ok(), "{}", get.describe());
    let config = cli(&sandbox, "opencode", &["debug", "config", "--pure"]);
    assert!(config.ok(), "{}", config.describe());
    let list = cli(&sandbox, "amp", &["mcp", "list"]);
    assert_line(&list, "gw", &["command", "bridge gw"]);
    let text = sandbox.lanyard(&["ides"]);
    text.assert_ok();
    eprintln!("$ lanyard ides\n{}", text.stdout);
    assert!(
        text.stdout.contains("GitHub Copilot CLI installed"),
        "{}",
        text.describe()
    );
}

#[test]
fn the_watcher_repairs_a_gemini_static_token_and_an_opencode_bridge_entry() {
    let world = World::start(json!({})).expect("world starts");
    let sandbox = offline_sandbox(&world);
    connect(&sandbox, &["--ide", "gemini", "--mode", "static"]);
    connect(&sandbox, &["--ide", "opencode"]);
    let token = crate::core_common::token_ok(&sandbox, "gw");
    let gemini = sandbox.home().join(".gemini/settings.json");
    let opencode = sandbox.config_home().join("opencode/opencode.json");
    let mut watcher = crate::ides_watch::Watcher::start(&sandbox);

    let text = std::fs::read_to_string(&gemini).unwrap();
    std::fs::write(&gemini, text.replace(&token, "stale-token")).unwrap();
    let said = watcher.wait_for("repaired");
    assert!(
        said.contains("headers") && said.contains("settings.json"),
        "{said}"
    );
    let entry: Value = serde_json::from_str(&std::fs::read_to_string(&gemini).unwrap()).unwrap();
    assert_eq!(
        entry["mcpServers"]["gw"]["headers"]["Authorization"],
        json!(format!("Bearer {token}"))
    );

    let text = std::fs::read_to_string(&opencode).unwrap();
    std::fs::write(&opencode, text.replace("\"bridge\"", "\"brdge\"")).unwrap();
    let said = watcher.wait_for("repaired");
    assert!(
        said.contains("command") && said.contains("opencode.json"),
        "{said}"
    );
    let config = cli(&sandbox, "opencode", &["debug", "config", "--pure"]);
    assert!(config.ok(), "{}", config.describe());
    let merged: Value = serde_json::from_str(config.stdout.trim()).unwrap();
    assert_eq!(merged["mcp"]["gw"]["command"][1], json!("bridge"));
}
