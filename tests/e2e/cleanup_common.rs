//! Shared steps of the cleanup end-to-end tests (issue 7): reading what Lanyard left in the
//! sandbox's state dir and private Secret Service, and the assistants' configs.

use std::path::PathBuf;

use lanyard_e2e::{Run, Sandbox, Value, World};

/// Lanyard's state directory in the sandbox.
pub(crate) fn state_dir(sb: &Sandbox) -> PathBuf {
    sb.config_home().join("lanyard")
}

/// The state file as JSON (`Null` when absent).
pub(crate) fn state(sb: &Sandbox) -> Value {
    std::fs::read_to_string(state_dir(sb).join("state.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// The keychain service of this sandbox's install (`lanyard/<install-id>`).
pub(crate) fn service(sb: &Sandbox) -> String {
    let id = std::fs::read_to_string(state_dir(sb).join("install-id")).expect("install-id");
    format!("lanyard/{}", id.trim())
}

/// One keychain item of the install, read with `secret-tool` from the private Secret Service.
pub(crate) fn secret(sb: &Sandbox, service: &str, key: &str) -> Option<String> {
    let mut cmd = sb.command("secret-tool");
    cmd.args(["lookup", "service", service, "username", key]);
    let run = sb.run(cmd);
    let v = run.stdout.trim().to_string();
    (run.ok() && !v.is_empty()).then_some(v)
}

/// Every item `secret-tool search --all service SERVICE` finds (its whole output).
pub(crate) fn search(sb: &Sandbox, service: &str) -> String {
    let mut cmd = sb.command("secret-tool");
    cmd.args(["search", "--all", "service", service]);
    let run = sb.run(cmd);
    run.output().trim().to_string()
}

/// `(issuer, client_id, registration_client_uri, registration_access_token)` of every
/// registration in the state, the token read from the keychain.
pub(crate) fn registrations(sb: &Sandbox) -> Vec<(String, String, String, String)> {
    let st = state(sb);
    let svc = service(sb);
    st["registrations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let issuer = r["issuer"].as_str().unwrap_or_default().to_string();
            let token = secret(sb, &svc, &format!("registration-token:{issuer}"))
                .unwrap_or_else(|| panic!("no registration token for {issuer} in the keychain"));
            (
                issuer,
                r["client_id"].as_str().unwrap_or_default().to_string(),
                r["registration_client_uri"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                token,
            )
        })
        .collect()
}

/// A server's refresh token from the keychain.
pub(crate) fn refresh_token(sb: &Sandbox, server: &str) -> String {
    let svc = service(sb);
    let json = secret(sb, &svc, &format!("tokens:{server}"))
        .unwrap_or_else(|| panic!("no tokens for {server} in the keychain"));
    let v: Value = serde_json::from_str(&json).expect("token set JSON");
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{server} has no refresh token: {v}"))
        .to_string()
}

/// User-written assistant configs, with comments and other servers, written before Lanyard
/// touches anything. Returns `(path, bytes)` of each.
pub(crate) fn seed_assistant_configs(sb: &Sandbox) -> Vec<(PathBuf, Vec<u8>)> {
    let home = sb.home();
    let files: Vec<(PathBuf, &str)> = vec![
        (
            home.join(".cursor").join("mcp.json"),
            "{\n  // my servers\n  \"mcpServers\": {\n    \"docs\": { \"url\": \"https://docs.example.com/mcp\" } // keep\n  }\n}\n",
        ),
        (
            home.join(".claude").join(".claude.json"),
            "{\n  \"numStartups\": 7,\n  \"mcpServers\": {\n    \"local\": {\"type\": \"stdio\", \"command\": \"echo\", \"args\": [\"hi\"]}\n  },\n  \"tipsHistory\": {\"x\": 1}\n}\n",
        ),
        (
            home.join(".codex").join("config.toml"),
            "# Codex settings\nmodel = \"gpt-5\" # inline\n\n[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"-y\", \"docs-mcp\"]\n",
        ),
    ];
    files
        .into_iter()
        .map(|(p, text)| {
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write config");
            (p, text.as_bytes().to_vec())
        })
        .collect()
}

/// Connects `server` to all three assistants with `lanyard connect` when that command exists.
/// Returns false (and connects nothing) when this build has no `connect`.
pub(crate) fn connect_all(sb: &Sandbox, server: &str) -> bool {
    if !sb.lanyard(&["connect", "--help"]).ok() {
        return false;
    }
    let run = sb.lanyard(&["connect", server, "--ide", "cursor,claude,codex"]);
    run.assert_ok();
    true
}

/// The token endpoint's answer to a refresh with `refresh_token` (the `error`, or "ok").
pub(crate) fn refresh_error(
    world: &World,
    issuer: &str,
    client_id: &str,
    refresh_token: &str,
    resource: &str,
) -> String {
    let v = world
        .refresh(issuer, client_id, refresh_token, Some(resource))
        .expect("token endpoint answers");
    v["error"].as_str().unwrap_or("ok").to_string()
}

/// `lanyard uninstall --yes`.
pub(crate) fn uninstall(sb: &Sandbox) -> Run {
    sb.lanyard(&["uninstall", "--yes"])
}

/// What the tray's AppImage integration leaves in the sandbox (see [`seed_appimage_integration`]).
pub(crate) struct AppImageLeftovers {
    /// The tray's copy of the CLI, under its data dir.
    pub copy: PathBuf,
    /// `~/.local/bin/lanyard` → `copy`.
    pub link: PathBuf,
    /// `$XDG_DATA_HOME/applications/lanyard-tray-handler.desktop`.
    pub handler: PathBuf,
    /// Another desktop entry in the same folder (must stay).
    pub other_entry: PathBuf,
    pub mimeapps: PathBuf,
    /// `mimeapps.list` as it must be after the uninstall: the user's own associations, byte for
    /// byte, including their own handler of `lanyard://` links.
    pub mimeapps_after: &'static str,
}

/// The AppImage's desktop integration, as the tray does it: its CLI copied to
/// `$XDG_DATA_HOME/dev.lanyard.tray/bin/lanyard` and linked from `~/.local/bin/lanyard`, the
/// deep-link plugin's handler entry, and `mimeapps.list` as Debian 12's `xdg-mime default`
/// (xdg-utils 1.1.3) leaves a user's existing file: our line appended to
/// `[Default Applications]` (here next to the user's own associations, and the user's own
/// handler of `lanyard://` links under `[Added Associations]`).
pub(crate) fn seed_appimage_integration(sb: &Sandbox) -> AppImageLeftovers {
    let home = sb.home();
    let share = home.join(".local/share");
    let copy = share.join("dev.lanyard.tray/bin/lanyard");
    std::fs::create_dir_all(copy.parent().expect("parent")).expect("mkdir tray bin");
    // A stand-in for the copy (the real binary is large; only the link's target matters).
    std::fs::write(&copy, "#!/bin/sh\nexec lanyard \"$@\"\n").expect("the CLI's copy");
    let bin = home.join(".local/bin");
    std::fs::create_dir_all(&bin).expect("mkdir ~/.local/bin");
    let link = bin.join("lanyard");
    std::os::unix::fs::symlink(&copy, &link).expect("link the CLI");
    let applications = share.join("applications");
    std::fs::create_dir_all(&applications).expect("mkdir applications");
    let handler = applications.join("lanyard-tray-handler.desktop");
    std::fs::write(
        &handler,
        "[Desktop Entry]\nType=Application\nName=Lanyard\nExec=\"/tmp/Lanyard.AppImage\" %u\nTerminal=false\nMimeType=x-scheme-handler/lanyard;\nNoDisplay=true\n",
    )
    .expect("handler entry");
    let other_entry = applications.join("firefox.desktop");
    std::fs::write(&other_entry, "[Desktop Entry]\nName=Firefox\n").expect("other entry");
    let mimeapps = sb.config_home().join("mimeapps.list");
    std::fs::create_dir_all(sb.config_home()).expect("mkdir config");
    std::fs::write(
        &mimeapps,
        "# associations\n[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop\n\n[Added Associations]\nx-scheme-handler/lanyard=my-lanyard-build.desktop;\n",
    )
    .expect("mimeapps.list");
    AppImageLeftovers {
        copy,
        link,
        handler,
        other_entry,
        mimeapps,
        mimeapps_after: "# associations\n[Default Applications]\ntext/html=firefox.desktop\n\n[Added Associations]\nx-scheme-handler/lanyard=my-lanyard-build.desktop;\n",
    }
}
