//! The IDE config writers on a corpus of realistic files (tests/corpus): connect then disconnect
//! gives back every file byte for byte, in every mode and scope; only our entry changes; a
//! malformed file is reported with line and column and left alone; a concurrent writer's changes
//! survive.

// Test code through and through: a helper whose setup fails should panic with the value, like
// the tests that call it (clippy.toml allows unwrap/expect only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, corpus, params, world};

use std::fs;
use std::path::PathBuf;

use lanyard_core::ides::manage::{ConnectRequest, EntryState};
use lanyard_core::ides::records::ConnectionStatus;
use lanyard_core::ides::text::{self, Format};
use lanyard_core::ides::{Ide, IdeError, ModeParams, Scope};
use serde_json::json;

fn modes() -> Vec<ModeParams> {
    vec![
        ModeParams::Helper,
        ModeParams::Bridge,
        ModeParams::Static {
            header: "X-Authorization".into(),
            token: "eyJ.abc.def".into(),
        },
        ModeParams::Native {
            client_id: "lanyard-native".into(),
            client_secret: None,
            callback_port: Some(33418),
        },
    ]
}

fn file_of(w: &World, ide: Ide) -> PathBuf {
    ide.location(&w.manager.env, &Scope::User).unwrap().file
}

/// [`common::roundtrip`] in every mode of [`modes`].
fn roundtrip(w: &World, ide: Ide, scope: Scope, original: Option<&str>) {
    common::roundtrip(w, ide, scope, original, &modes());
}

#[test]
fn claude_user_scope_roundtrips_byte_for_byte() {
    let w = world();
    roundtrip(&w, Ide::Claude, Scope::User, Some(&corpus("claude.json")));
}

#[test]
fn claude_local_scope_roundtrips_with_and_without_the_project_entry() {
    let w = world();
    let project = w.home.join("src/api");
    fs::create_dir_all(project.join(".git")).unwrap();
    roundtrip(
        &w,
        Ide::Claude,
        Scope::Local(project.join("sub")),
        Some(&corpus("claude.json")),
    );
    // Now with the project already known to Claude (and an existing mcpServers of its own).
    let root = fs::canonicalize(&project).unwrap();
    let known = corpus("claude.json").replace("/home/dev/src/api", root.to_str().unwrap());
    roundtrip(&w, Ide::Claude, Scope::Local(project.clone()), Some(&known));
    let loc = Ide::Claude
        .location(&w.manager.env, &Scope::Local(project))
        .unwrap();
    assert_eq!(
        loc.container[1],
        root.to_str().unwrap(),
        "keyed by the git root"
    );
}

/// Static mode (a live token) and a native client secret are refused for every project file
/// meant to be committed (`.mcp.json`, `.cursor/mcp.json`, `.codex/config.toml`).
#[test]
fn project_files_get_no_token_and_no_secret() {
    let w = world();
    let project = w.home.join("shared");
    fs::create_dir_all(&project).unwrap();
    for ide in [Ide::Claude, Ide::Cursor, Ide::Codex] {
        for mode in [
            ModeParams::Static {
                header: "Authorization".into(),
                token: "live".into(),
            },
            ModeParams::Native {
                client_id: "c".into(),
                client_secret: Some("s".into()),
                callback_port: None,
            },
        ] {
            let r = w.manager.connect(&ConnectRequest {
                ide,
                scope: Scope::Project(project.clone()),
                params: params(mode),
            });
            assert!(
                matches!(r, Err(IdeError::SharedFile { .. })),
                "{ide:?}: {r:?}"
            );
        }
        let loc = ide
            .location(&w.manager.env, &Scope::Project(project.clone()))
            .unwrap();
        assert!(!loc.file.exists(), "{ide:?} wrote {}", loc.file.display());
    }
}

#[test]
fn claude_project_scope_and_missing_files() {
    let w = world();
    let project = w.home.join("p");
    fs::create_dir_all(&project).unwrap();
    roundtrip(&w, Ide::Claude, Scope::Project(project.clone()), None);
    roundtrip(&w, Ide::Claude, Scope::User, None);
    roundtrip(&w, Ide::Claude, Scope::User, Some("{}"));
    roundtrip(
        &w,
        Ide::Claude,
        Scope::User,
        Some("{\"numStartups\":1,\"projects\":{}}\n"),
    );
}

#[test]
fn codex_config_with_comments_and_other_servers_roundtrips() {
    let w = world();
    roundtrip(
        &w,
        Ide::Codex,
        Scope::User,
        Some(&corpus("codex-config.toml")),
    );
    roundtrip(&w, Ide::Codex, Scope::User, None);
    roundtrip(&w, Ide::Codex, Scope::User, Some("model = \"o3\"\n"));
    let project = w.home.join("proj");
    fs::create_dir_all(&project).unwrap();
    roundtrip(&w, Ide::Codex, Scope::Project(project), None);
}

#[test]
fn cursor_file_with_comments_and_trailing_commas_roundtrips() {
    let w = world();
    roundtrip(
        &w,
        Ide::Cursor,
        Scope::User,
        Some(&corpus("cursor-mcp.json")),
    );
    roundtrip(&w, Ide::Cursor, Scope::User, None);
    let project = w.home.join("proj");
    fs::create_dir_all(&project).unwrap();
    roundtrip(
        &w,
        Ide::Cursor,
        Scope::Project(project),
        Some("{\n  \"mcpServers\": {}\n}\n"),
    );
}

/// A multi-megabyte `~/.claude.json`: thousands of projects with history and unknown keys.
pub fn big_claude_json(projects: usize) -> String {
    let base: serde_json::Value = serde_json::from_str(&corpus("claude.json")).unwrap();
    let template = base["projects"]["/home/dev/src/api"].clone();
    let mut v = base.clone();
    let map = v["projects"].as_object_mut().unwrap();
    for i in 0..projects {
        let mut p = template.clone();
        p["lastSessionId"] = json!(format!("session-{i:06}"));
        p["history"]
            .as_array_mut()
            .unwrap()
            .push(json!({"display": format!("prompt number {i} with ünïcödé and \"quotes\""), "pastedContents": {}}));
        map.insert(format!("/home/dev/src/project-{i:05}"), p);
    }
    // JSON.stringify(…, null, 2) style, as Claude Code writes it.
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn multi_megabyte_claude_json_roundtrips_and_only_our_entry_changes() {
    let w = world();
    let big = big_claude_json(3000);
    assert!(big.len() > 3_000_000, "{} bytes", big.len());
    let file = file_of(&w, Ide::Claude);
    fs::write(&file, &big).unwrap();
    let req = ConnectRequest {
        ide: Ide::Claude,
        scope: Scope::User,
        params: params(ModeParams::Helper),
    };
    w.manager.connect(&req).unwrap();
    let after = fs::read_to_string(&file).unwrap();
    // One insertion: a common prefix and suffix cover the whole original.
    let prefix = big
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = big
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(prefix + suffix >= big.len(), "more than one region changed");
    assert!(
        after.len() - big.len() < 300,
        "{} bytes added",
        after.len() - big.len()
    );
    w.manager.disconnect("gateway", None).unwrap();
    assert!(
        fs::read_to_string(&file).unwrap() == big,
        "not byte-identical"
    );
}

#[test]
fn malformed_files_are_reported_with_line_and_column_and_left_alone() {
    let w = world();
    for (ide, bad) in [
        (
            Ide::Claude,
            "{\n  \"mcpServers\": {\n    \"x\": {\"url\": \"u\",}\n  \n",
        ),
        (Ide::Cursor, "{\n  \"mcpServers\": { \"a\" 1 }\n}\n"),
        (
            Ide::Codex,
            "model = \"x\"\n[mcp_servers.a\ncommand = \"y\"\n",
        ),
    ] {
        let file = file_of(&w, ide);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, bad).unwrap();
        let err = w
            .manager
            .connect(&ConnectRequest {
                ide,
                scope: Scope::User,
                params: params(ModeParams::Bridge),
            })
            .unwrap_err();
        match &err {
            IdeError::Malformed {
                file: f,
                line,
                column,
                ..
            } => {
                assert_eq!(f, &file);
                assert!(*line >= 2 && *column >= 1, "{err}");
            }
            other => panic!("{ide:?}: expected a syntax error, got {other}"),
        }
        assert!(err.to_string().contains("line "), "{err}");
        assert_eq!(fs::read_to_string(&file).unwrap(), bad, "file untouched");
    }
}

#[test]
fn user_keys_inside_our_entry_survive_a_repair_and_removal_is_respected() {
    let w = world();
    let file = file_of(&w, Ide::Codex);
    let static_params = |token: &str| {
        params(ModeParams::Static {
            header: "Authorization".into(),
            token: token.into(),
        })
    };
    w.manager
        .connect(&ConnectRequest {
            ide: Ide::Codex,
            scope: Scope::User,
            params: static_params("old"),
        })
        .unwrap();
    // The user tunes our entry; then the token is refreshed.
    let tuned = fs::read_to_string(&file).unwrap().replace(
        "[mcp_servers.gateway]\n",
        "[mcp_servers.gateway]\nstartup_timeout_sec = 30 # mine\n",
    );
    fs::write(&file, &tuned).unwrap();
    let c = w.manager.records.load().unwrap().connections[0].clone();
    let found = w.manager.reconcile(&c, &static_params("new")).unwrap();
    assert_eq!(
        found,
        EntryState::Drifted {
            keys: vec!["http_headers".into()]
        }
    );
    let repaired = fs::read_to_string(&file).unwrap();
    assert!(
        repaired.contains("Bearer new") && repaired.contains("startup_timeout_sec = 30 # mine"),
        "{repaired}"
    );
    assert_eq!(
        w.manager.reconcile(&c, &static_params("new")).unwrap(),
        EntryState::Ok
    );
    // Unchanged file: not rewritten (same inode, same bytes).
    let ino = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&file).unwrap());
    w.manager.reconcile(&c, &static_params("new")).unwrap();
    assert_eq!(
        ino,
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(&file).unwrap())
    );
    // The user deletes our entry: recorded, never re-added.
    fs::write(&file, "").unwrap();
    assert_eq!(
        w.manager.reconcile(&c, &static_params("newer")).unwrap(),
        EntryState::Missing
    );
    let rec = w.manager.records.load().unwrap().connections[0].clone();
    assert!(matches!(rec.status, ConnectionStatus::RemovedByUser { .. }));
    assert_eq!(
        w.manager.reconcile(&rec, &static_params("newer")).unwrap(),
        EntryState::RemovedByUser
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "");
}

#[test]
fn static_mode_makes_the_file_private() {
    use std::os::unix::fs::PermissionsExt;
    let w = world();
    let file = file_of(&w, Ide::Cursor);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "{}\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    w.manager
        .connect(&ConnectRequest {
            ide: Ide::Cursor,
            scope: Scope::User,
            params: params(ModeParams::Static {
                header: "Authorization".into(),
                token: "t".into(),
            }),
        })
        .unwrap();
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The pre-Lanyard version is kept once under the state dir.
    let backups: Vec<_> = fs::read_dir(w.manager.records.backup_dir())
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
}

/// Native mode with a client secret: the file is private (it was 0644), the record knows the
/// entry carries a secret, and a reconcile with the secret (as the watcher's expected entry has
/// it from the keychain) finds nothing to repair: the secret stays.
#[test]
fn a_native_entry_with_a_client_secret_is_private_and_kept_by_repairs() {
    use std::os::unix::fs::PermissionsExt;
    for ide in [Ide::Cursor, Ide::Codex] {
        let w = world();
        let file = file_of(&w, ide);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        let empty = if ide == Ide::Cursor { "{}\n" } else { "" };
        fs::write(&file, empty).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let native = params(ModeParams::Native {
            client_id: "lanyard-native".into(),
            client_secret: Some("s3cret".into()),
            callback_port: None,
        });
        w.manager
            .connect(&ConnectRequest {
                ide,
                scope: Scope::User,
                params: native.clone(),
            })
            .unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600,
            "{ide:?}"
        );
        assert!(fs::read_to_string(&file).unwrap().contains("s3cret"));
        let c = w.manager.records.load().unwrap().connections[0].clone();
        assert!(c.native_secret, "{ide:?}");
        assert_eq!(w.manager.reconcile(&c, &native).unwrap(), EntryState::Ok);
        assert!(fs::read_to_string(&file).unwrap().contains("s3cret"));
    }
    // Without a secret the file keeps its ordinary mode.
    let w = world();
    let file = file_of(&w, Ide::Cursor);
    w.manager
        .connect(&ConnectRequest {
            ide: Ide::Cursor,
            scope: Scope::User,
            params: params(ModeParams::Native {
                client_id: "lanyard-native".into(),
                client_secret: None,
                callback_port: None,
            }),
        })
        .unwrap();
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[test]
fn a_concurrent_writer_and_lanyard_both_keep_their_changes() {
    let w = world();
    let file = file_of(&w, Ide::Claude);
    let big = big_claude_json(100).replacen("\"numStartups\": 212", "\"numStartups\": 0", 1);
    fs::write(&file, &big).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The rival: like Claude Code, rewrites the whole file (bumping a counter), by rename.
    let rival = {
        let file = file.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            let mut last = 0u64;
            let dir = file.parent().unwrap().to_path_buf();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || n < 20 {
                let cur = fs::read_to_string(&file).unwrap();
                let at = cur.find("\"numStartups\": ").unwrap() + "\"numStartups\": ".len();
                let len = cur[at..].find(',').unwrap();
                let value: u64 = cur[at..at + len].parse().unwrap();
                let next = format!("{}{}{}", &cur[..at], value + 1, &cur[at + len..]);
                let tmp = dir.join(format!(".rival-{n}"));
                fs::write(&tmp, &next).unwrap();
                // Like our writer: only replace what it read.
                if fs::read_to_string(&file).unwrap() == cur {
                    fs::rename(&tmp, &file).unwrap();
                    last = value + 1;
                    n += 1;
                } else {
                    fs::remove_file(&tmp).unwrap();
                }
                std::thread::sleep(std::time::Duration::from_millis(40));
            }
            last
        })
    };
    for _ in 0..5 {
        w.manager
            .connect(&ConnectRequest {
                ide: Ide::Claude,
                scope: Scope::User,
                params: params(ModeParams::Helper),
            })
            .unwrap();
        w.manager.disconnect("gateway", None).unwrap();
    }
    w.manager
        .connect(&ConnectRequest {
            ide: Ide::Claude,
            scope: Scope::User,
            params: params(ModeParams::Helper),
        })
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let n = rival.join().unwrap();
    let end = fs::read_to_string(&file).unwrap();
    assert!(
        end.contains(&format!("\"numStartups\": {n}")),
        "the rival's last change survived"
    );
    let entry = text::get(Format::Json, &end, &["mcpServers".to_owned()], "gateway").unwrap();
    assert!(entry.is_some(), "our entry survived");
}
