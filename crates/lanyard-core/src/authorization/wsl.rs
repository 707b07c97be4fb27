//! WSL: Lanyard runs in Linux but the user's browser is Windows'. It is opened with `wslview`
//! (wslu) when installed, else through `powershell.exe Start-Process`; the browser reaches the
//! 127.0.0.1 callback through WSL 2's localhost forwarding (or mirrored networking).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this is WSL: the kernel's release or version names Microsoft/WSL, or the
/// `WSL_DISTRO_NAME` WSL sets is there. `read` reads a file (`/proc/...`), `distro` the variable.
pub fn detect(read: impl Fn(&Path) -> Option<String>, distro: Option<&OsStr>) -> bool {
    if distro.is_some_and(|d| !d.is_empty()) {
        return true;
    }
    ["/proc/sys/kernel/osrelease", "/proc/version"]
        .iter()
        .filter_map(|p| read(Path::new(p)))
        .any(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("microsoft") || s.contains("wsl")
        })
}

/// [`detect`] on this machine (only Linux can be WSL).
pub fn running() -> bool {
    cfg!(target_os = "linux")
        && detect(
            |p| std::fs::read_to_string(p).ok(),
            std::env::var_os("WSL_DISTRO_NAME").as_deref(),
        )
}

/// The commands that open `url` in Windows' browser, in the order to try: `wslview`, then
/// `powershell.exe`, each only when found on `path` (a `PATH` value).
pub fn openers(path: Option<&OsStr>, url: &str) -> Vec<Command> {
    let url = uri_chars(url);
    let mut found = Vec::new();
    if let Some(wslview) = on_path(path, "wslview") {
        let mut c = Command::new(wslview);
        c.arg(&url);
        found.push(c);
    }
    if let Some(ps) = on_path(path, "powershell.exe") {
        let mut c = Command::new(ps);
        c.args(["-NoProfile", "-NonInteractive", "-Command"])
            .arg(start_process(&url));
        found.push(c);
    }
    found
}

/// Whether some Windows opener is there to try.
pub fn can_open(path: Option<&OsStr>) -> bool {
    ["wslview", "powershell.exe"]
        .iter()
        .any(|n| on_path(path, n).is_some())
}

/// `Start-Process '<url>'`: the URL as a single-quoted PowerShell literal, where nothing
/// (`&`, `;`, `$`, backticks) is special but the quote itself, which is doubled. No `cmd.exe` is
/// involved, so its metacharacters never matter. `url` has been through [`uri_chars`], so it
/// has no spaces or `"` that the Windows command line would split or strip.
pub fn start_process(url: &str) -> String {
    format!("Start-Process '{}'", url.replace('\'', "''"))
}

/// Only characters a URI may contain: anything else (spaces, controls, `"`, non-ASCII, among them
/// PowerShell's typographic quotes) percent-encoded as UTF-8. A serialized URL is unchanged.
pub fn uri_chars(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_graphic()
            && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
        {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn on_path(path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}
