//! Running from an AppImage. The image is mounted only while the tray runs (at a new path each
//! time), so the `lanyard` that the assistants call as their token helper or bridge cannot live
//! inside it. At start the tray copies the CLI out of the image to its data folder, names it
//! `~/.local/bin/lanyard` when that name is free (the CLI "on PATH", as the .deb's
//! `/usr/bin/lanyard`), and points `LANYARD_BIN` at the copy, so every config it writes names a
//! path that outlives the image. `lanyard uninstall` removes the copy and the link.
//!
//! The image's GTK hook (linuxdeploy-plugin-gtk) also exports variables that point into the
//! mount; [`clean_child_env`] keeps them out of programs that are not ours (the browser).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use lanyard_core::appimage::running_image;

/// What [`adopt`] did, for the activity log.
#[derive(Debug, PartialEq)]
pub enum Adopted {
    NotAnImage,
    /// The CLI is at `cli`; `link` is the PATH name made for it (None: that name was taken).
    Cli {
        cli: PathBuf,
        link: Option<PathBuf>,
    },
    Failed(String),
}

/// At start, from an AppImage: install the CLI copy and the PATH link, and set `LANYARD_BIN`
/// (unless the user set it). Call at the top of `main`, while the process has one thread.
pub fn adopt() -> Adopted {
    let Some(image) = running_image() else {
        return Adopted::NotAnImage;
    };
    let cli = match lanyard_core::appimage::install_cli(&image) {
        Ok(cli) => cli,
        Err(e) => {
            return Adopted::Failed(format!(
                "could not copy the lanyard CLI out of the image: {e}"
            ));
        }
    };
    let link = directories::BaseDirs::new()
        .and_then(|b| b.executable_dir().map(|d| d.join("lanyard")))
        .filter(|link| ensure_link(link, &cli).unwrap_or(false));
    if std::env::var_os("LANYARD_BIN").is_none_or(|v| v.is_empty()) {
        // SAFETY: called at the top of main while the process has a single thread; nothing
        // reads the environment concurrently.
        unsafe { std::env::set_var("LANYARD_BIN", &cli) };
    }
    Adopted::Cli { cli, link }
}

/// The autostart entry ("Start at login", written by tauri-plugin-autostart through auto-launch
/// as `~/.config/autostart/Lanyard.desktop`, whatever `XDG_CONFIG_HOME` says) starts `image`.
pub fn login_item_names(image: &Path) -> bool {
    let Some(base) = directories::BaseDirs::new() else {
        return true;
    };
    let entry = base.home_dir().join(".config/autostart/Lanyard.desktop");
    std::fs::read_to_string(entry).is_ok_and(|text| {
        text.lines()
            .filter_map(|l| l.strip_prefix("Exec="))
            .any(|exec| exec.starts_with(&format!("{} ", image.display())))
    })
}

/// Makes `link` a symlink to `target` when the name is free or already ours; never replaces
/// anything else (a `lanyard` the user put there). Ok(true): the link is in place.
#[cfg(unix)]
fn ensure_link(link: &Path, target: &Path) -> std::io::Result<bool> {
    match std::fs::read_link(link) {
        Ok(to) => return Ok(to == target),
        Err(_) if link.symlink_metadata().is_ok() => return Ok(false),
        Err(_) => {}
    }
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::os::unix::fs::symlink(target, link)?;
    Ok(true)
}

#[cfg(not(unix))]
fn ensure_link(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Variables the AppImage runtime sets for the image's own processes.
const RUNTIME_VARS: [&str; 4] = ["APPDIR", "APPIMAGE", "ARGV0", "OWD"];
/// Variables linuxdeploy-plugin-gtk's hook sets to paths inside the mount (or, for GTK_THEME,
/// to Adwaita, replacing the user's theme for the image only).
const HOOK_VARS: [&str; 10] = [
    "GTK_DATA_PREFIX",
    "GTK_THEME",
    "GSETTINGS_SCHEMA_DIR",
    "GI_TYPELIB_PATH",
    "GIO_MODULE_DIR",
    "GTK_EXE_PREFIX",
    "GTK_PATH",
    "GTK_IM_MODULE_FILE",
    "GDK_PIXBUF_MODULE_FILE",
    "APPIMAGE_GTK_THEME",
];

/// Keeps the image's environment out of a program that is not part of it (the system browser):
/// a browser given the image's GTK modules and schemas may not start at all.
pub fn clean_child_env(c: &mut std::process::Command) {
    let Some(image) = running_image() else {
        return;
    };
    let appdir = image.mount;
    for var in RUNTIME_VARS.iter().chain(HOOK_VARS.iter()) {
        c.env_remove(var);
    }
    if let Some(dirs) = std::env::var_os("XDG_DATA_DIRS") {
        match outside(&dirs, &appdir) {
            Some(kept) => c.env("XDG_DATA_DIRS", kept),
            None => c.env_remove("XDG_DATA_DIRS"),
        };
    }
}

/// What is left of `XDG_DATA_DIRS` without the image's: the hook prepends
/// `$APPDIR/usr/share:/usr/share:` to the user's value, so that prefix goes as a whole, then any
/// other entry inside the mount; the user's own order is kept. None: nothing is left.
fn outside(list: &OsStr, appdir: &Path) -> Option<std::ffi::OsString> {
    let mut entries: Vec<PathBuf> = std::env::split_paths(list).collect();
    if entries.len() >= 2
        && entries[0] == appdir.join("usr/share")
        && entries[1] == Path::new("/usr/share")
    {
        entries.drain(..2);
    }
    let kept: Vec<PathBuf> = entries
        .into_iter()
        .filter(|p| !p.as_os_str().is_empty() && !p.starts_with(appdir))
        .collect();
    if kept.is_empty() {
        return None;
    }
    std::env::join_paths(kept).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_gets_the_users_data_dirs_without_the_images() {
        let appdir = Path::new("/tmp/.mount_LanyaXyz");
        // GNOME's order, behind the hook's prefix: kept as it was.
        let got = outside(
            OsStr::new(
                "/tmp/.mount_LanyaXyz/usr/share:/usr/share:/usr/share/gnome:/usr/local/share/:/usr/share/",
            ),
            appdir,
        );
        assert_eq!(
            got.as_deref(),
            Some(OsStr::new("/usr/share/gnome:/usr/local/share/:/usr/share/"))
        );
        // The user had none: the hook's additions go and the variable is unset.
        assert_eq!(
            outside(
                OsStr::new("/tmp/.mount_LanyaXyz/usr/share:/usr/share:"),
                appdir
            ),
            None
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_path_link_never_replaces_a_lanyard_the_user_put_there() {
        let dir = std::env::temp_dir().join(format!("lanyard-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("copy");
        let link = dir.join("bin/lanyard");
        assert!(ensure_link(&link, &target).unwrap());
        assert_eq!(std::fs::read_link(&link).unwrap(), target);
        assert!(ensure_link(&link, &target).unwrap(), "ours already: kept");
        let mine = dir.join("bin2/lanyard");
        std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
        std::fs::write(&mine, b"#!/bin/sh\n").unwrap();
        assert!(!ensure_link(&mine, &target).unwrap());
        assert_eq!(std::fs::read(&mine).unwrap(), b"#!/bin/sh\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
