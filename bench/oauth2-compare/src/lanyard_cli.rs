//! Lanyard's side: the real `lanyard` binary (`add`, then `token` past half the token's life,
//! which refreshes), as a throwaway user (HOME/XDG in a scratch dir; the keychain is the one
//! `scripts/with-keyring` started for the whole run).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub struct LanyardOutcome {
    pub add: Result<String, String>,
    pub refresh: Option<Result<String, String>>,
    pub method: String,
    /// `lanyard tools` with the refreshed token listed the server's tools.
    pub mcp_accepts: Option<bool>,
    /// `lanyard logout` (RFC 7009 revocation; the interop matrix checks the servers' stores).
    pub revoke: Option<Result<String, String>>,
}

fn lanyard(bin: &Path, home: &Path, browser: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("CLAUDE_CONFIG_DIR", home.join(".claude"))
        .env("CODEX_HOME", home.join(".codex"))
        .env("BROWSER", browser)
        .env("WORLD_BROWSER_MODE", "approve")
        .env("LANYARD_CALLBACK_TIMEOUT_SECS", "30")
        .output()
        .map_err(|e| format!("run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().last().unwrap_or("failed").trim().to_owned())
    }
}

/// The client authentication method Lanyard recorded for its registration.
fn recorded_method(home: &Path) -> String {
    let dir = home.join(".config").join("lanyard");
    std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find_map(|text| {
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            find_key(&v, "token_endpoint_auth_method")
        })
        .unwrap_or_else(|| "?".into())
}

fn find_key(v: &serde_json::Value, key: &str) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => m
            .get(key)
            .and_then(|x| x.as_str().map(str::to_owned))
            .or_else(|| m.values().find_map(|x| find_key(x, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

pub fn run(bin: &Path, browser: &Path, scratch: &Path, name: &str, url: &str) -> LanyardOutcome {
    let home = scratch.join(format!("home-{name}"));
    for sub in [
        ".config",
        ".local/share",
        ".local/state",
        ".cache",
        ".claude",
        ".codex",
    ] {
        let _ = std::fs::create_dir_all(home.join(sub));
    }
    let add = lanyard(bin, &home, browser, &["add", url, "--name", name]).map(|_| "ok".to_owned());
    let method = recorded_method(&home);
    if add.is_err() {
        return LanyardOutcome {
            add,
            refresh: None,
            method,
            mcp_accepts: None,
            revoke: None,
        };
    }
    let first = lanyard(bin, &home, browser, &["token", name]);
    std::thread::sleep(Duration::from_secs(crate::stacks::TTL_SECS / 2 + 1));
    let second = lanyard(bin, &home, browser, &["token", name]);
    let refresh = match (first, second) {
        (Ok(a), Ok(b)) if a != b && !b.is_empty() => Ok("ok (new access token)".to_owned()),
        (Ok(_), Ok(_)) => Err("the same access token past half its life".to_owned()),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let tools = lanyard(bin, &home, browser, &["tools", name]);
    let revoke = lanyard(bin, &home, browser, &["logout", name])
        .map(|out| out.lines().next().unwrap_or("ok").trim().to_owned());
    let _ = lanyard(bin, &home, browser, &["uninstall", "--yes"]);
    LanyardOutcome {
        add,
        refresh: Some(refresh),
        method,
        mcp_accepts: Some(tools.is_ok_and(|t| t.contains("echo"))),
        revoke: Some(revoke),
    }
}
