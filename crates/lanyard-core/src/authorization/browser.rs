//! Opening the system browser: `$BROWSER` (a command; the URL is appended as an argument, or
//! replaces `%s`), else the platform opener (`xdg-open`, `open`, `start`).

use std::process::{Command, Stdio};

/// Start the browser on `url` without waiting for it. `Err` says why it could not start.
pub fn open(url: &str) -> Result<(), String> {
    if let Some(cmd) = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        // xdg-open convention: several commands separated by ':', first that starts wins.
        let mut last_err = String::new();
        for candidate in cmd.split(':').filter(|c| !c.trim().is_empty()) {
            match spawn_browser(candidate, url) {
                Ok(()) => return Ok(()),
                Err(e) => last_err = e,
            }
        }
        return Err(last_err);
    }
    let opener: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["cmd", "/C", "start", ""]
    } else {
        &["xdg-open"]
    };
    let mut c = Command::new(opener[0]);
    c.args(&opener[1..]).arg(url);
    quiet(&mut c)
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", opener[0]))
}

/// No browser can open on this machine: Linux (or another Unix but macOS) without
/// `$DISPLAY`/`$WAYLAND_DISPLAY` and without `$BROWSER` (an SSH session, a container).
pub fn no_display() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    cfg!(all(unix, not(target_os = "macos")))
        && !set("DISPLAY")
        && !set("WAYLAND_DISPLAY")
        && !set("BROWSER")
}

fn spawn_browser(template: &str, url: &str) -> Result<(), String> {
    let mut words = template
        .split_whitespace()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    if words.is_empty() {
        return Err("empty $BROWSER".into());
    }
    if words.iter().any(|w| w.contains("%s")) {
        for w in &mut words {
            *w = w.replace("%s", url);
        }
    } else {
        words.push(url.to_owned());
    }
    let mut c = Command::new(&words[0]);
    c.args(&words[1..]);
    quiet(&mut c)
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("$BROWSER ({}): {e}", words[0]))
}

/// The browser must not write to our stdout (which may carry `--json` output) nor clutter the
/// one-paragraph messages on stderr with its own chatter.
fn quiet(c: &mut Command) -> &mut Command {
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}
