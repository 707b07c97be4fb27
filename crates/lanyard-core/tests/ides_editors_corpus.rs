//! VS Code, Windsurf, Zed and Claude Desktop on real-world-shaped files (tests/corpus): in every
//! mode each offers and every scope, connect changes only Lanyard's entry, connecting again
//! changes nothing, a key the user added to our entry survives, and disconnect gives every byte
//! back (comments, trailing commas, tabs, CRLF, a missing final newline); the modes an assistant
//! cannot use are refused before anything is written.

// Test code through and through: a helper whose setup fails should panic with the value, like
// the tests that call it (clippy.toml allows unwrap/expect only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, corpus, params, world};

use std::fs;
use std::path::PathBuf;

use lanyard_core::ides::manage::ConnectRequest;
use lanyard_core::ides::text;
use lanyard_core::ides::{Ide, IdeEnv, IdeError, ModeParams, Scope};
use serde_json::json;

fn modes() -> Vec<ModeParams> {
    vec![
        ModeParams::Helper,
        ModeParams::Bridge,
        ModeParams::Static {
            header: "Authorization".into(),
            token: "eyJ.abc.def".into(),
        },
        ModeParams::Native {
            client_id: "lanyard-native".into(),
            client_secret: None,
            callback_port: None,
        },
        ModeParams::Native {
            client_id: "lanyard-native".into(),
            client_secret: Some("s3cret".into()),
            callback_port: None,
        },
    ]
}

/// The modes the assistant took, after [`common::roundtrip`] in every mode of [`modes`].
fn roundtrip(w: &World, ide: Ide, scope: Scope, original: Option<&str>) -> Vec<ModeParams> {
    common::roundtrip(w, ide, scope, original, &modes()).offered
}

fn ids(modes: &[ModeParams]) -> Vec<&'static str> {
    modes
        .iter()
        .map(|m| match m {
            ModeParams::Native {
                client_secret: Some(_),
                ..
            } => "native+secret",
            other => other.mode().id(),
        })
        .collect()
}

#[test]
fn vscode_user_and_workspace_round_trip_and_offer_bridge_static_and_native_without_secret() {
    let w = world();
    let offered = roundtrip(
        &w,
        Ide::VsCode,
        Scope::User,
        Some(&corpus("vscode-mcp.json")),
    );
    assert_eq!(ids(&offered), ["bridge", "static", "native"]);
    roundtrip(&w, Ide::VsCode, Scope::User, None);
    let project = w.home.join("proj");
    let offered = roundtrip(
        &w,
        Ide::VsCode,
        Scope::Project(project.clone()),
        Some(&corpus("vscode-mcp.json")),
    );
    assert_eq!(ids(&offered), ["bridge", "native"]);
    roundtrip(&w, Ide::VsCode, Scope::Project(project), None);
}

#[test]
fn vscode_user_file_follows_xdg_config_home_and_vscode_appdata() {
    let mut env = IdeEnv::at_home(PathBuf::from("/home/u"));
    env.set_var("XDG_CONFIG_HOME", PathBuf::from("/cfg"));
    let file = |env: &IdeEnv| Ide::VsCode.location(env, &Scope::User).unwrap().file;
    if cfg!(target_os = "linux") {
        assert_eq!(file(&env), PathBuf::from("/cfg/Code/User/mcp.json"));
    }
    env.set_var("VSCODE_APPDATA", PathBuf::from("/appdata"));
    assert_eq!(file(&env), PathBuf::from("/appdata/Code/User/mcp.json"));
    env.set_var("VSCODE_PORTABLE", PathBuf::from("/usb/code"));
    assert_eq!(
        file(&env),
        PathBuf::from("/usb/code/user-data/User/mcp.json")
    );
    let loc = Ide::VsCode.location(&env, &Scope::User).unwrap();
    assert_eq!(loc.container, ["servers"]);
}

#[test]
fn windsurf_round_trips_and_offers_bridge_and_static_only() {
    let w = world();
    let offered = roundtrip(
        &w,
        Ide::Windsurf,
        Scope::User,
        Some(&corpus("windsurf-mcp_config.json")),
    );
    assert_eq!(ids(&offered), ["bridge", "static"]);
    roundtrip(&w, Ide::Windsurf, Scope::User, None);
    assert_eq!(
        Ide::Windsurf
            .location(&w.manager.env, &Scope::User)
            .unwrap()
            .file,
        w.home.join(".codeium/windsurf/mcp_config.json")
    );
    assert!(matches!(
        Ide::Windsurf.location(&w.manager.env, &Scope::Project(w.home.clone())),
        Err(IdeError::ScopeUnsupported { .. })
    ));
}

#[test]
fn zed_user_and_project_settings_round_trip_in_every_mode_but_helper() {
    let w = world();
    let offered = roundtrip(
        &w,
        Ide::Zed,
        Scope::User,
        Some(&corpus("zed-settings.json")),
    );
    assert_eq!(
        ids(&offered),
        ["bridge", "static", "native", "native+secret"]
    );
    roundtrip(&w, Ide::Zed, Scope::User, None);
    if cfg!(target_os = "linux") {
        assert_eq!(
            Ide::Zed
                .location(&w.manager.env, &Scope::User)
                .unwrap()
                .file,
            w.home.join("xdg/zed/settings.json")
        );
    }
    let project = w.home.join("proj");
    let offered = roundtrip(&w, Ide::Zed, Scope::Project(project.clone()), None);
    assert_eq!(ids(&offered), ["bridge", "native"]);
    assert_eq!(
        Ide::Zed
            .location(&w.manager.env, &Scope::Project(project.clone()))
            .unwrap()
            .file,
        project.join(".zed/settings.json")
    );
}

#[test]
fn claude_desktop_round_trips_a_crlf_file_and_takes_only_the_bridge() {
    let w = world();
    let original = corpus("claude_desktop_config.json");
    assert!(original.contains("\r\n") && !original.ends_with('\n'));
    let offered = roundtrip(&w, Ide::ClaudeDesktop, Scope::User, Some(&original));
    assert_eq!(ids(&offered), ["bridge"]);
    roundtrip(&w, Ide::ClaudeDesktop, Scope::User, None);
    if cfg!(target_os = "linux") {
        assert_eq!(
            Ide::ClaudeDesktop
                .location(&w.manager.env, &Scope::User)
                .unwrap()
                .file,
            w.home.join("xdg/Claude/claude_desktop_config.json")
        );
    }
}

#[test]
fn a_key_the_user_added_to_our_zed_entry_survives_a_mode_change() {
    let w = world();
    let loc = Ide::Zed.location(&w.manager.env, &Scope::User).unwrap();
    let connect = |mode| {
        w.manager
            .connect(&ConnectRequest {
                ide: Ide::Zed,
                scope: Scope::User,
                params: params(mode),
            })
            .unwrap();
    };
    connect(ModeParams::Bridge);
    let with_ours = fs::read_to_string(&loc.file).unwrap();
    let edited = with_ours.replace("\"args\"", "\"timeout\": 120,\n      \"args\"");
    assert_ne!(edited, with_ours);
    fs::write(&loc.file, &edited).unwrap();
    connect(ModeParams::Static {
        header: "Authorization".into(),
        token: "t".into(),
    });
    let entry = text::get(
        loc.format,
        &fs::read_to_string(&loc.file).unwrap(),
        &loc.container,
        "gateway",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        entry,
        json!({"timeout": 120, "url": "https://gw.example.com/mcp", "headers": {"Authorization": "Bearer t"}})
    );
}

#[test]
fn the_editors_parse_by_their_ids_and_aliases() {
    for (s, ide) in [
        ("vscode", Ide::VsCode),
        ("vs-code", Ide::VsCode),
        ("windsurf", Ide::Windsurf),
        ("zed", Ide::Zed),
        ("claude-desktop", Ide::ClaudeDesktop),
    ] {
        assert_eq!(Ide::parse(s).unwrap(), ide, "{s}");
    }
    for ide in [Ide::VsCode, Ide::Windsurf, Ide::Zed, Ide::ClaudeDesktop] {
        assert!(
            Ide::ALL.contains(&ide),
            "{ide:?} is listed by `lanyard ides`"
        );
        assert_eq!(ide.default_mode(), lanyard_core::ides::Mode::Bridge);
    }
}
