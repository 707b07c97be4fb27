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
use std::io::Write;
use std::path::{Path, PathBuf};

/// The tray's identifier: its data folder is named by it (`lanyard uninstall` removes it).
const IDENTIFIER: &str = "dev.lanyard.tray";

/// The AppImage this tray runs from, if any: `$APPIMAGE` (the image file) with `$APPDIR` (its
/// mount point), both set by the AppImage runtime.
pub fn running_image() -> Option<(PathBuf, PathBuf)> {
    let image = std::env::var_os("APPIMAGE").filter(|v| !v.is_empty())?;
    let dir = std::env::var_os("APPDIR").filter(|v| !v.is_empty())?;
    Some((image.into(), dir.into()))
}

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
    let Some((_, appdir)) = running_image() else {
        return Adopted::NotAnImage;
    };
    let Some(base) = directories::BaseDirs::new() else {
        return Adopted::Failed("no home directory".into());
    };
    let cli = base.data_dir().join(IDENTIFIER).join("bin").join("lanyard");
    if let Err(e) = install_copy(&appdir.join("usr/bin/lanyard"), &cli) {
        return Adopted::Failed(format!(
            "could not copy the lanyard CLI to {}: {e}",
            cli.display()
        ));
    }
    let link = base
        .executable_dir()
        .map(|d| d.join("lanyard"))
        .filter(|link| ensure_link(link, &cli).unwrap_or(false));
    if std::env::var_os("LANYARD_BIN").is_none_or(|v| v.is_empty()) {
        // SAFETY: called at the top of main while the process has a single thread; nothing
        // reads the environment concurrently.
        unsafe { std::env::set_var("LANYARD_BIN", &cli) };
    }
    Adopted::Cli { cli, link }
}

/// The autostart entry ("Start at login", written by tauri-plugin-autostart as
/// `$XDG_CONFIG_HOME/autostart/Lanyard.desktop`) starts `image`.
pub fn login_item_names(image: &Path) -> bool {
    let Some(base) = directories::BaseDirs::new() else {
        return true;
    };
    let entry = base.config_dir().join("autostart").join("Lanyard.desktop");
    std::fs::read_to_string(entry).is_ok_and(|text| {
        text.lines()
            .filter_map(|l| l.strip_prefix("Exec="))
            .any(|exec| exec.starts_with(&format!("{} ", image.display())))
    })
}

/// Copies `src` to `dest` when their bytes differ: into a temporary file beside `dest`, then
/// renamed over it, so an assistant running the old copy at that moment keeps a whole file.
fn install_copy(src: &Path, dest: &Path) -> std::io::Result<()> {
    let new = std::fs::read(src)?;
    if std::fs::read(dest).is_ok_and(|old| old == new) {
        return Ok(());
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".lanyard.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&new)?;
        f.sync_all()?;
        set_executable(&tmp)?;
        std::fs::rename(&tmp, dest)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(unix)]
fn set_executable(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
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
    let Some((_, appdir)) = running_image() else {
        return;
    };
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

/// The entries of a `:`-separated path list that are not inside `appdir` (the hook prepends
/// `$APPDIR/usr/share:/usr/share:`; `/usr/share` is GLib's default, so it goes too when it is all
/// that is left). None: nothing is left.
fn outside(list: &OsStr, appdir: &Path) -> Option<std::ffi::OsString> {
    let kept: Vec<PathBuf> = std::env::split_paths(list)
        .filter(|p| !p.as_os_str().is_empty() && !p.starts_with(appdir))
        .collect();
    let mut dedup: Vec<PathBuf> = Vec::new();
    for p in kept {
        if !dedup.contains(&p) {
            dedup.push(p);
        }
    }
    if dedup.is_empty() || dedup == [PathBuf::from("/usr/share")] {
        return None;
    }
    std::env::join_paths(dedup).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_gets_the_users_data_dirs_without_the_images() {
        let appdir = Path::new("/tmp/.mount_LanyaXyz");
        let got = outside(
            OsStr::new("/tmp/.mount_LanyaXyz/usr/share:/usr/share:/home/u/.local/share:/usr/share"),
            appdir,
        );
        assert_eq!(
            got.as_deref(),
            Some(OsStr::new("/usr/share:/home/u/.local/share"))
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

    #[test]
    fn the_cli_copy_is_replaced_whole_and_only_when_it_changed() {
        let dir = std::env::temp_dir().join(format!("lanyard-appimage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("src");
        let dest = dir.join("data/bin/lanyard");
        std::fs::write(&src, b"v1").unwrap();
        install_copy(&src, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"v1");
        let before = std::fs::metadata(&dest).unwrap().modified().unwrap();
        install_copy(&src, &dest).unwrap();
        assert_eq!(
            std::fs::metadata(&dest).unwrap().modified().unwrap(),
            before
        );
        std::fs::write(&src, b"v2").unwrap();
        install_copy(&src, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"v2");
        assert_eq!(
            std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
            1
        );
        let _ = std::fs::remove_dir_all(&dir);
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
