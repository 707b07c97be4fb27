//! Opening the system browser: `$BROWSER` (a command; the URL is appended as an argument, or
//! replaces `%s`), else on WSL Windows' browser ([`super::wsl`]), else the platform opener
//! (`xdg-open`, `open`, `start`).

use std::ffi::OsString;
use std::process::{Child, Command, Stdio};

use super::wsl;

/// What decides how a browser opens; [`Env::current`] reads it from this process.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `$BROWSER`, when set and not blank.
    pub browser: Option<String>,
    /// `$PATH`, where the WSL openers are looked for.
    pub path: Option<OsString>,
    /// Running in WSL.
    pub wsl: bool,
    /// `$DISPLAY` or `$WAYLAND_DISPLAY` is set.
    pub display: bool,
}

impl Env {
    pub fn current() -> Env {
        let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
        Env {
            browser: std::env::var("BROWSER")
                .ok()
                .filter(|b| !b.trim().is_empty()),
            path: std::env::var_os("PATH"),
            wsl: wsl::running(),
            display: set("DISPLAY") || set("WAYLAND_DISPLAY"),
        }
    }

    /// No browser can open: Linux (or another Unix but macOS) without a display and without
    /// `$BROWSER` (an SSH session, a container), unless it is WSL with a Windows opener.
    pub fn no_display(&self) -> bool {
        cfg!(all(unix, not(target_os = "macos")))
            && !self.display
            && self.browser.is_none()
            && !(self.wsl && wsl::can_open(self.path.as_deref()))
    }

    /// Start the browser on `url`; the child is not waited for (tests wait on it).
    pub fn open(&self, url: &str) -> Result<Child, String> {
        if let Some(cmd) = &self.browser {
            return open_with_browser_var(cmd, url);
        }
        if self.wsl {
            for mut c in wsl::openers(self.path.as_deref(), url) {
                match quiet(&mut c).spawn() {
                    Ok(child) => return Ok(child),
                    Err(e) => tracing::warn!("browser: {:?}: {e}", c.get_program()),
                }
            }
        }
        platform_opener(url)
    }
}

/// Start the browser on `url` without waiting for it. `Err` says why it could not start.
pub fn open(url: &str) -> Result<(), String> {
    Env::current().open(url).map(drop)
}

/// No browser can open on this machine (see [`Env::no_display`]).
pub fn no_display() -> bool {
    Env::current().no_display()
}

fn open_with_browser_var(cmd: &str, url: &str) -> Result<Child, String> {
    // xdg-open convention: several commands separated by ':', first that starts wins.
    let mut last_err = String::new();
    for candidate in cmd.split(':').filter(|c| !c.trim().is_empty()) {
        match spawn_browser(candidate, url) {
            Ok(child) => return Ok(child),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn platform_opener(url: &str) -> Result<Child, String> {
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
        .map_err(|e| format!("{}: {e}", opener[0]))
}

fn spawn_browser(template: &str, url: &str) -> Result<Child, String> {
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
        .map_err(|e| format!("$BROWSER ({}): {e}", words[0]))
}

/// The browser must not write to our stdout (which may carry `--json` output) nor clutter the
/// one-paragraph messages on stderr with its own chatter.
fn quiet(c: &mut Command) -> &mut Command {
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

#[cfg(test)]
mod tests;
