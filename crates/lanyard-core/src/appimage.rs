//! Running from an AppImage. The image is mounted at a new path on every run and unmounted when
//! the program exits, so the `lanyard` that the assistants' configs name (token helper, bridge)
//! must not live inside it: it is copied out to the tray's data folder
//! (`$XDG_DATA_HOME/dev.lanyard.tray/bin/lanyard`, which `lanyard uninstall` removes), replaced
//! whenever the running image carries other bytes. Both the tray and the CLI run from the image
//! use that copy.

use std::path::{Path, PathBuf};

/// The tray's identifier: its data folder is named by it.
const TRAY_IDENTIFIER: &str = "dev.lanyard.tray";

/// The AppImage this process runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The image file (`$APPIMAGE`).
    pub file: PathBuf,
    /// Where it is mounted (`$APPDIR`).
    pub mount: PathBuf,
}

/// The AppImage this process runs from, if any. The runtime sets `$APPIMAGE` and `$APPDIR`, and
/// every program started from an AppImage app (a terminal in an AppImage editor) inherits them:
/// they count only when this executable lies inside `$APPDIR` and the image file exists.
pub fn running_image() -> Option<Image> {
    let file = PathBuf::from(std::env::var_os("APPIMAGE").filter(|v| !v.is_empty())?);
    let mount = PathBuf::from(std::env::var_os("APPDIR").filter(|v| !v.is_empty())?);
    let exe = std::env::current_exe().ok()?;
    image_of(&exe, file, mount)
}

fn image_of(exe: &Path, file: PathBuf, mount: PathBuf) -> Option<Image> {
    let exe = std::fs::canonicalize(exe).ok()?;
    let mount = std::fs::canonicalize(mount).ok()?;
    (exe.starts_with(&mount) && file.is_file()).then_some(Image { file, mount })
}

/// Where the CLI copied out of an image lives.
pub fn cli_copy_path() -> Option<PathBuf> {
    let base = directories::BaseDirs::new()?;
    Some(
        base.data_dir()
            .join(TRAY_IDENTIFIER)
            .join("bin")
            .join(if cfg!(windows) {
                "lanyard.exe"
            } else {
                "lanyard"
            }),
    )
}

/// Copies the image's CLI out (see the module docs) and returns the copy's path.
pub fn install_cli(image: &Image) -> std::io::Result<PathBuf> {
    let dest = cli_copy_path().ok_or_else(|| std::io::Error::other("no home directory"))?;
    install_copy(&image.mount.join("usr/bin/lanyard"), &dest)?;
    Ok(dest)
}

/// Copies `src` to `dest` when their bytes differ: into a temporary file beside `dest`, then
/// renamed over it, so an assistant running the old copy at that moment keeps a whole file.
pub fn install_copy(src: &Path, dest: &Path) -> std::io::Result<()> {
    let new = std::fs::read(src)?;
    if std::fs::read(dest).is_ok_and(|old| old == new) {
        return Ok(());
    }
    crate::fsutil::Staged::write(dest, &new, set_executable)
        .and_then(|staged| staged.commit(dest))
        .map_err(|e| e.source)
}

#[cfg(unix)]
fn set_executable(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lanyard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_inherited_appimage_environment_is_not_taken_for_ours() {
        let dir = scratch("image-of");
        let mount = dir.join("mount");
        std::fs::create_dir_all(mount.join("usr/bin")).unwrap();
        let inside = mount.join("usr/bin/lanyard");
        std::fs::write(&inside, b"x").unwrap();
        let outside = dir.join("lanyard-tray");
        std::fs::write(&outside, b"x").unwrap();
        let file = dir.join("Editor.AppImage");
        std::fs::write(&file, b"x").unwrap();

        assert!(image_of(&inside, file.clone(), mount.clone()).is_some());
        // A program of ours started from another AppImage app's terminal.
        assert_eq!(image_of(&outside, file.clone(), mount.clone()), None);
        // An image file that does not exist.
        assert_eq!(image_of(&inside, dir.join("gone.AppImage"), mount), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_cli_copy_is_replaced_whole_and_only_when_it_changed() {
        let dir = scratch("appimage-copy");
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
}
