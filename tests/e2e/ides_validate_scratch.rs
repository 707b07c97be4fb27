//! The assistants' CLIs judge what Lanyard wrote on a scratch copy, never on the user's live
//! file: Claude Code migrates any `.claude.json` it reads (2.1.197 turned a 1.85 MB file into
//! 219 KB by dropping every project's `history`). A fake `claude` that rewrites the file it is
//! given stands in for those migrations; the real CLI proves it on an older-format file.

use std::path::{Path, PathBuf};

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::add_ok;

/// An older-format `.claude.json`: projects with `history`, no `migrationVersion` / `userID`.
fn old_format_claude_json() -> String {
    let history: Vec<_> = (0..200)
        .map(|i| json!({"display": format!("prompt {i}: fix the build"), "pastedContents": {}}))
        .collect();
    let doc = json!({
        "numStartups": 42,
        "autoUpdaterStatus": "enabled",
        "hasCompletedOnboarding": true,
        "mcpServers": {
            "local": {"type": "stdio", "command": "echo", "args": ["hi"]}
        },
        "projects": {
            "/home/someone/work/app": {
                "allowedTools": [],
                "history": history,
                "mcpServers": {}
            }
        },
        "tipsHistory": {"x": 1}
    });
    // Two-space indentation like Claude Code's own files, and a trailing newline.
    format!("{}\n", serde_json::to_string_pretty(&doc).expect("JSON"))
}

/// A `claude` that, like Claude Code, migrates the `.claude.json` it reads (drops every
/// project's `history`, adds `migrationVersion` and `userID`, rewrites it compactly), logs
/// which file it rewrote, then answers `mcp get NAME` from it.
fn fake_claude(dir: &Path) -> PathBuf {
    let path = dir.join("fake-claude");
    std::fs::write(
        &path,
        r#"#!/usr/bin/env node
const fs = require('fs'), path = require('path');
const file = path.join(process.env.CLAUDE_CONFIG_DIR || process.env.HOME, '.claude.json');
let doc = {};
try { doc = JSON.parse(fs.readFileSync(file, 'utf8')); } catch {}
for (const p of Object.values(doc.projects || {})) delete p.history;
doc.migrationVersion = 99;
doc.userID = 'fake';
fs.writeFileSync(file, JSON.stringify(doc));
if (process.env.FAKE_CLAUDE_LOG) fs.appendFileSync(process.env.FAKE_CLAUDE_LOG, file + '\n');
const name = process.argv[4];
if ((doc.mcpServers || {})[name]) { console.log(`${name}:\n  Scope: User config\n  Type: http`); process.exit(0); }
console.error(`No MCP server named "${name}"`);
process.exit(1);
"#,
    )
    .expect("write fake claude");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    path
}

#[test]
fn ides_validate_scratch_a_migrating_claude_never_touches_the_live_file() {
    let world = World::start(json!({})).expect("world");
    let mut sb = Sandbox::new().expect("sandbox");
    let live = sb.home().join(".claude").join(".claude.json");
    std::fs::create_dir_all(live.parent().expect("parent")).expect("mkdir");
    let original = old_format_claude_json();
    std::fs::write(&live, &original).expect("seed .claude.json");
    let tools = sb.home().join("tools");
    std::fs::create_dir_all(&tools).expect("mkdir");
    let claude = fake_claude(&tools);
    let log = sb.home().join("fake-claude.log");
    sb.set_env("LANYARD_CLAUDE_BIN", &claude);
    sb.set_env("FAKE_CLAUDE_LOG", &log);
    add_ok(&sb, &world, "demo", "gw");

    let connect = sb.lanyard(&["connect", "gw", "--ide", "claude"]);
    connect.assert_ok();
    // The judge ran — on a copy in a temporary directory that is gone again.
    let judged = std::fs::read_to_string(&log).expect("the fake claude ran");
    let judged: Vec<&str> = judged.lines().collect();
    assert!(!judged.is_empty());
    for f in &judged {
        assert_ne!(Path::new(f), live, "the judge ran on the live file");
        assert!(
            !Path::new(f).exists(),
            "the scratch copy {f} was not removed"
        );
    }
    // The live file has Lanyard's entry, and every byte the user had: no migration.
    let connected = std::fs::read_to_string(&live).expect("live file");
    assert!(connected.contains("\"gw\""), "{connected}");
    assert!(connected.contains("prompt 199: fix the build"));
    assert!(!connected.contains("migrationVersion"));

    sb.lanyard(&["disconnect", "gw", "--ide", "claude"])
        .assert_ok();
    assert_eq!(
        std::fs::read_to_string(&live).expect("live file"),
        original,
        "connect + disconnect must leave the user's file byte-identical"
    );
}

/// The real Claude Code (tests/ide-clis) on an older-format `.claude.json`: it still judges
/// the entry, and the user's file keeps every byte (its `history` included).
#[test]
fn ides_validate_scratch_the_real_claude_cli_leaves_an_old_format_file_alone() {
    let bin = crate::ides_clis::clis_bin();
    let world = World::start(json!({})).expect("world");
    let mut sb = Sandbox::new().expect("sandbox");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sb.set_env("PATH", path);
    let live = sb.home().join(".claude").join(".claude.json");
    std::fs::create_dir_all(live.parent().expect("parent")).expect("mkdir");
    let original = old_format_claude_json();
    std::fs::write(&live, &original).expect("seed .claude.json");
    add_ok(&sb, &world, "demo", "gw");

    let connect = sb.lanyard(&["connect", "gw", "--ide", "claude"]);
    connect.assert_ok();
    assert!(
        connect.output().contains("claude mcp get"),
        "the real CLI judged the entry: {}",
        connect.describe()
    );
    let connected = std::fs::read_to_string(&live).expect("live file");
    assert!(connected.contains("prompt 199: fix the build"));
    assert!(!connected.contains("migrationVersion"), "{connected}");

    sb.lanyard(&["disconnect", "gw", "--ide", "claude"])
        .assert_ok();
    assert_eq!(std::fs::read_to_string(&live).expect("live file"), original);
}
