//! The config writers of the assistants with an npm CLI besides Claude Code and Codex — Gemini
//! CLI, GitHub Copilot CLI, opencode and Amp — on realistic files (tests/corpus): connect then
//! disconnect gives every file back byte for byte in every mode each offers and in both scopes,
//! the entry is exactly what the assistant reads, and the modes it cannot use are refused.
//! (Their CLIs judge the same entries in tests/e2e/ides_clis_more.rs.)

// Test code through and through: a helper whose setup fails should panic with the value, like
// the tests that call it (clippy.toml allows unwrap/expect only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, corpus, params, world};

use std::fs;
use std::path::PathBuf;

use lanyard_core::ides::{Ide, Mode, ModeParams, Scope};
use serde_json::{Value, json};

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
            callback_port: Some(33418),
        },
    ]
}

/// The modes the assistant refused, after [`common::roundtrip`] in every mode of [`modes`].
fn roundtrip(w: &World, ide: Ide, scope: Scope, original: &str) -> Vec<Mode> {
    common::roundtrip(w, ide, scope, Some(original), &modes()).refused
}

fn entry(ide: Ide, mode: ModeParams) -> Value {
    Value::Object(ide.entry(&params(mode)).unwrap())
}

#[test]
fn gemini_settings_roundtrip_in_both_scopes_and_native_mode_names_the_redirect() {
    let w = world();
    let seed = corpus("gemini-settings.json");
    let refused = roundtrip(&w, Ide::Gemini, Scope::User, &seed);
    assert_eq!(refused, vec![Mode::Helper]);
    let project = w.home.join("proj");
    fs::create_dir_all(&project).unwrap();
    roundtrip(&w, Ide::Gemini, Scope::Project(project.clone()), &seed);
    assert!(project.join(".gemini/settings.json").is_file());
    assert_eq!(
        entry(Ide::Gemini, modes()[3].clone()),
        json!({"httpUrl": "https://gw.example.com/mcp", "oauth": {
            "enabled": true, "clientId": "lanyard-native",
            "redirectUri": "http://localhost:33418/oauth/callback"}})
    );
    assert_eq!(
        entry(Ide::Gemini, ModeParams::Bridge),
        json!({"command": "/opt/Lanyard App/bin/lanyard", "args": ["bridge", "gateway"]})
    );
}

#[test]
fn gemini_home_follows_gemini_cli_home() {
    let mut w = world();
    w.manager.env.set_var("GEMINI_CLI_HOME", "/elsewhere");
    let loc = Ide::Gemini.location(&w.manager.env, &Scope::User).unwrap();
    assert_eq!(loc.file, PathBuf::from("/elsewhere/.gemini/settings.json"));
}

#[test]
fn copilot_config_roundtrips_a_crlf_jsonc_file_and_refuses_helper_and_native() {
    let w = world();
    let seed = corpus("copilot-mcp-config.json");
    let refused = roundtrip(&w, Ide::Copilot, Scope::User, &seed);
    assert_eq!(refused, vec![Mode::Helper, Mode::Native]);
    let project = w.home.join("proj");
    fs::create_dir_all(&project).unwrap();
    roundtrip(&w, Ide::Copilot, Scope::Project(project.clone()), &seed);
    assert_eq!(
        Ide::Copilot
            .location(&w.manager.env, &Scope::Project(project.clone()))
            .unwrap()
            .file,
        fs::canonicalize(&project).unwrap().join(".github/mcp.json")
    );
    assert_eq!(
        entry(Ide::Copilot, ModeParams::Bridge)["type"],
        json!("stdio")
    );
    let mut w = w;
    w.manager.env.set_var("COPILOT_HOME", "/ch");
    assert_eq!(
        Ide::Copilot
            .location(&w.manager.env, &Scope::User)
            .unwrap()
            .file,
        PathBuf::from("/ch/mcp-config.json")
    );
}

#[test]
fn opencode_config_roundtrips_and_prefers_an_existing_jsonc_file() {
    let w = world();
    let xdg = w.manager.env.xdg_config_home().join("opencode");
    assert_eq!(
        Ide::Opencode
            .location(&w.manager.env, &Scope::User)
            .unwrap()
            .file,
        xdg.join("opencode.json")
    );
    fs::create_dir_all(&xdg).unwrap();
    fs::write(xdg.join("opencode.jsonc"), "{}\n").unwrap();
    assert_eq!(
        Ide::Opencode
            .location(&w.manager.env, &Scope::User)
            .unwrap()
            .file,
        xdg.join("opencode.jsonc")
    );
    let seed = corpus("opencode.jsonc");
    let refused = roundtrip(&w, Ide::Opencode, Scope::User, &seed);
    assert_eq!(refused, vec![Mode::Helper]);
    let project = w.home.join("proj");
    fs::create_dir_all(&project).unwrap();
    roundtrip(&w, Ide::Opencode, Scope::Project(project), &seed);
    assert_eq!(
        entry(Ide::Opencode, ModeParams::Bridge),
        json!({"type": "local", "command": ["/opt/Lanyard App/bin/lanyard", "bridge", "gateway"]})
    );
    assert_eq!(
        entry(Ide::Opencode, modes()[3].clone()),
        json!({"type": "remote", "url": "https://gw.example.com/mcp",
               "oauth": {"clientId": "lanyard-native"}})
    );
}

#[test]
fn amp_settings_roundtrip_under_the_dotted_key() {
    let w = world();
    let seed = corpus("amp-settings.json");
    let refused = roundtrip(&w, Ide::Amp, Scope::User, &seed);
    assert_eq!(refused, vec![Mode::Helper, Mode::Native]);
    let loc = Ide::Amp.location(&w.manager.env, &Scope::User).unwrap();
    assert_eq!(loc.container, vec!["amp.mcpServers".to_owned()]);
    let project = w.home.join("proj");
    fs::create_dir_all(&project).unwrap();
    roundtrip(&w, Ide::Amp, Scope::Project(project), &seed);
}

#[test]
fn every_cli_assistant_parses_by_id_and_by_name() {
    for (s, ide) in [
        ("gemini", Ide::Gemini),
        ("gemini-cli", Ide::Gemini),
        ("copilot", Ide::Copilot),
        ("github-copilot-cli", Ide::Copilot),
        ("opencode", Ide::Opencode),
        ("AMP", Ide::Amp),
    ] {
        assert_eq!(Ide::parse(s).unwrap(), ide, "{s}");
    }
    assert_eq!(
        Ide::parse_list("gemini,copilot,opencode,amp").unwrap(),
        vec![Ide::Gemini, Ide::Copilot, Ide::Opencode, Ide::Amp]
    );
}
