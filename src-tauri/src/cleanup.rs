//! The cleanup behind "Remove everything and quit…" and "Uninstall Lanyard…", run by the tray
//! process because its engine must stop first. The dashboard (in the windows process) asks for
//! it over the link (`winproc.rs`), which quits the tray after a successful one.

use tauri::{AppHandle, Manager};

use crate::calls;
use crate::engine;
use crate::model::{UiError, UninstallResult};
use crate::state::AppState;

/// The cleanup both "Remove everything and quit…" and "Uninstall Lanyard…" run: this process's
/// engine stops first (the cleanup would otherwise find it running and race its refreshes),
/// then the uninstall (revoke tokens, delete this machine's OAuth clients, remove assistant
/// entries, keychain items, state), then the autostart entry. When something is left (e.g. an
/// IdP is down) the engine starts again and the error says what.
async fn clean_up(app: &AppHandle, what: &str) -> Result<String, UiError> {
    use tauri_plugin_autostart::ManagerExt as _;
    let state = app.state::<AppState>();
    engine::stop().await;
    let out = calls::uninstall().await;
    let _ = app.autolaunch().disable();
    if let Err(e) = &out {
        state.log("error", format!("{what}: {e}"));
        engine::start(app.clone());
    }
    out
}

/// "Remove everything and quit…": the cleanup (the caller quits after).
pub async fn remove_everything(app: &AppHandle) -> Result<String, UiError> {
    let text = clean_up(app, "remove everything").await?;
    app.state::<AppState>()
        .log("remove", "removed everything; quitting");
    Ok(text)
}

/// "Uninstall Lanyard…" (Linux), step 1: the cleanup, then how to remove the program.
/// The tray stays until the user chose (see [`finish_uninstall`]).
pub async fn uninstall_lanyard(app: &AppHandle) -> Result<UninstallResult, UiError> {
    let report = clean_up(app, "uninstall").await?;
    let package = package::owner().await;
    let manual = match (&package, crate::appimage::running_image()) {
        (Some(_), _) => None,
        (None, Some(img)) => Some(format!("Delete the AppImage file: {}", img.file.display())),
        (None, None) => std::env::current_exe()
            .ok()
            .map(|p| format!("Delete the program files ({}).", p.display())),
    };
    app.state::<AppState>().log(
        "remove",
        "removed everything; the program itself is left to remove",
    );
    Ok(UninstallResult {
        report,
        remove_command: package.as_ref().map(|p| format!("sudo apt remove {p}")),
        can_pkexec: package.is_some() && package::has_pkexec(),
        package,
        manual,
    })
}

/// "Uninstall Lanyard…", step 2: with `remove_package`, `pkexec apt-get remove -y PKG` (the
/// package is looked up again here, never taken from the page; pkexec asks for the password);
/// the caller quits after. Without it, nothing to do here.
pub async fn finish_uninstall(app: &AppHandle, remove_package: bool) -> Result<String, UiError> {
    let mut text = String::new();
    if remove_package {
        let Some(pkg) = package::owner().await else {
            return Err(UiError::new(
                "tray.no-package",
                "Lanyard was not installed from a Debian package",
                "Delete the program files by hand.",
            ));
        };
        let by_hand = format!("Run `sudo apt remove {pkg}` in a terminal.");
        if !package::has_pkexec() {
            return Err(UiError::new(
                "tray.no-pkexec",
                "pkexec is not installed",
                by_hand,
            ));
        }
        let out = tokio::process::Command::new("pkexec")
            .args(["apt-get", "remove", "-y", &pkg])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| {
                UiError::new(
                    "tray.pkexec",
                    format!("could not run pkexec: {e}"),
                    &by_hand,
                )
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(UiError::new(
                "tray.pkexec",
                format!("removing the package failed ({}): {err}", out.status),
                by_hand,
            ));
        }
        text = String::from_utf8_lossy(&out.stdout).into_owned();
        app.state::<AppState>()
            .log("remove", format!("package {pkg} removed"));
    }
    Ok(text)
}

/// Which package manager owns this program (Linux `.deb` only).
mod package {
    /// The Debian package that installed this executable: `dpkg -S PATH` prints `PKG: PATH`
    /// (or `PKG:ARCH: PATH`). `None` without dpkg, or when no package owns the file.
    pub async fn owner() -> Option<String> {
        let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
        let out = tokio::process::Command::new("dpkg")
            .arg("-S")
            .arg(&exe)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .ok()?;
        if !out.status.success() {
            return None;
        }
        parse(
            &String::from_utf8_lossy(&out.stdout),
            &exe.to_string_lossy(),
        )
    }

    pub fn parse(out: &str, exe: &str) -> Option<String> {
        out.lines()
            .filter(|l| !l.starts_with("diversion "))
            .find_map(|l| l.strip_suffix(exe)?.strip_suffix(": "))
            .and_then(|pkgs| pkgs.split(", ").next())
            .map(|p| p.split(':').next().unwrap_or(p).to_owned())
            .filter(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
            })
    }

    pub fn has_pkexec() -> bool {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("pkexec").is_file()))
    }

    #[cfg(test)]
    mod tests {
        use super::parse;

        #[test]
        fn reads_the_owning_package() {
            let exe = "/usr/bin/lanyard-tray";
            assert_eq!(
                parse("lanyard: /usr/bin/lanyard-tray\n", exe).as_deref(),
                Some("lanyard")
            );
            assert_eq!(
                parse("lanyard:amd64: /usr/bin/lanyard-tray\n", exe).as_deref(),
                Some("lanyard")
            );
            assert_eq!(
                parse("dpkg-query: no path found matching pattern\n", exe),
                None
            );
            assert_eq!(parse("evil; rm -rf: /usr/bin/lanyard-tray\n", exe), None);
        }
    }
}
