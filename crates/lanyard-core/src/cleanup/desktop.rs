//! The desktop integration the tray does when it runs from an AppImage (Linux), undone:
//!
//! - the `lanyard` command link in the user's executable dir (`$XDG_BIN_HOME` or
//!   `~/.local/bin`) that points at the tray's copy of the CLI under its data dir — removed only
//!   while it is a link into one of Lanyard's app dirs (a program of the user's own, or a link to
//!   `/usr/bin/lanyard`, is never touched);
//! - the `lanyard://` handler entry `$XDG_DATA_HOME/applications/lanyard-tray-handler.desktop`
//!   (tauri-plugin-deep-link);
//! - its association in `$XDG_CONFIG_HOME/mimeapps.list` (what `xdg-mime default` wrote): our
//!   desktop file leaves the value of `x-scheme-handler/lanyard`, every other byte of the file
//!   stays, and the file is replaced atomically; it is never created.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use super::outcome::Outcome;
use crate::error::UserFacing;
use crate::ides::atomic::{self, NewContent, WriteOptions};

/// The desktop file tauri-plugin-deep-link writes for the tray (`<identifier>-handler`, with the
/// identifier's last part).
pub(crate) const HANDLER_DESKTOP: &str = "lanyard-tray-handler.desktop";
/// The MIME type of `lanyard://` links.
pub(crate) const SCHEME_MIME: &str = "x-scheme-handler/lanyard";
/// The name of the command link.
const CLI_NAME: &str = "lanyard";

/// Where the AppImage's desktop integration lives for this user (all `None` off Linux).
#[derive(Debug, Clone, Default)]
pub(crate) struct DesktopDirs {
    /// `$XDG_BIN_HOME` or `~/.local/bin`: holds the `lanyard` link.
    pub bin_dir: Option<PathBuf>,
    /// `$XDG_DATA_HOME/applications`: holds the handler entry.
    pub applications_dir: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME/mimeapps.list`.
    pub mimeapps_list: Option<PathBuf>,
}

impl DesktopDirs {
    pub fn from_base(base: &directories::BaseDirs) -> DesktopDirs {
        if cfg!(any(windows, target_os = "macos")) {
            return DesktopDirs::default();
        }
        DesktopDirs {
            bin_dir: base.executable_dir().map(Path::to_path_buf),
            applications_dir: Some(base.data_dir().join("applications")),
            mimeapps_list: Some(base.config_dir().join("mimeapps.list")),
        }
    }

    /// The `lanyard` link and its target, when it is Lanyard's (see [`inspect_link`]).
    pub fn command_link(&self, app_dirs: &[PathBuf]) -> Option<(PathBuf, PathBuf)> {
        let link = self.bin_dir.as_ref()?.join(CLI_NAME);
        match inspect_link(&link, app_dirs) {
            Link::Ours { target } => Some((link, target)),
            Link::Absent | Link::NotOurs { .. } => None,
        }
    }

    /// The handler entry, when present.
    pub fn handler_entry(&self) -> Option<PathBuf> {
        let path = self.applications_dir.as_ref()?.join(HANDLER_DESKTOP);
        std::fs::symlink_metadata(&path)
            .is_ok_and(|m| !m.is_dir())
            .then_some(path)
    }

    /// `mimeapps.list`, when it associates our handler entry with `lanyard://` (or names it but
    /// cannot be read as text: then the item is planned and its failure says what to do).
    pub fn association(&self) -> Option<PathBuf> {
        let path = self.mimeapps_list.as_ref()?;
        let bytes = std::fs::read(path).ok()?;
        let ours = match std::str::from_utf8(&bytes) {
            Ok(text) => without_handler(text).is_some(),
            Err(_) => contains(&bytes, HANDLER_DESKTOP.as_bytes()),
        };
        ours.then(|| path.clone())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What is at the command link's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Link {
    Absent,
    /// A symlink whose target lies inside one of Lanyard's app dirs (`target` as read).
    Ours {
        target: PathBuf,
    },
    /// Something that is not Lanyard's to remove.
    NotOurs {
        why: String,
    },
}

/// Whether `link` is a symlink into one of `app_dirs`: its target (`read_link`, resolved against
/// the link's folder when relative) must lie strictly inside one of them. Both sides are compared
/// as the file system resolves them (symlinked home or folders, `..`), so a link whose target
/// only looks like it is inside is not taken; the target itself need not exist (its app dir may
/// be deleted already).
pub(crate) fn inspect_link(link: &Path, app_dirs: &[PathBuf]) -> Link {
    let meta = match std::fs::symlink_metadata(link) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Link::Absent,
        Err(e) => {
            return Link::NotOurs {
                why: format!("it cannot be read: {e}"),
            };
        }
    };
    if !meta.file_type().is_symlink() {
        return Link::NotOurs {
            why: "it is not a link but a program of its own".into(),
        };
    }
    let target = match std::fs::read_link(link) {
        Ok(t) => t,
        Err(e) => {
            return Link::NotOurs {
                why: format!("the link cannot be read: {e}"),
            };
        }
    };
    let absolute = if target.is_absolute() {
        target.clone()
    } else {
        link.parent().unwrap_or(Path::new(".")).join(&target)
    };
    // The target's folder as the file system resolves it; the last part as written (the target
    // may itself be a link, and it is the link's own target that must be ours).
    let resolved = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => physical(dir).join(name),
        _ => {
            return Link::NotOurs {
                why: format!("it points to {}", target.display()),
            };
        }
    };
    let inside = app_dirs.iter().any(|d| {
        let d = physical(d);
        resolved != d && resolved.starts_with(&d)
    });
    if inside {
        Link::Ours { target }
    } else {
        Link::NotOurs {
            why: format!(
                "it points to {}, not to Lanyard's own copy",
                target.display()
            ),
        }
    }
}

/// `p` with its longest existing ancestor resolved by the file system (`canonicalize`: symlinks
/// and `..` as they really are) and the rest of it normalised lexically.
fn physical(p: &Path) -> PathBuf {
    let parts: Vec<Component> = p.components().collect();
    for n in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..n].iter().collect();
        if let Ok(mut out) = std::fs::canonicalize(&prefix) {
            for c in &parts[n..] {
                push_lexical(&mut out, c);
            }
            return out;
        }
    }
    let mut out = PathBuf::new();
    for c in &parts {
        push_lexical(&mut out, c);
    }
    out
}

fn push_lexical(out: &mut PathBuf, c: &Component) {
    match c {
        Component::CurDir => {}
        Component::ParentDir => {
            out.pop();
        }
        other => out.push(other.as_os_str()),
    }
}

/// `mimeapps.list` without our handler entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unassociated {
    pub text: String,
    /// The sections our entry was removed from, in file order (`Default Applications`, ...).
    pub sections: Vec<String>,
}

/// Removes [`HANDLER_DESKTOP`] from the `;`-separated value of every `x-scheme-handler/lanyard`
/// key, in whichever section; a line left with no handler goes entirely. Every other byte stays:
/// comments, blank lines, order, other keys and handlers, line endings (`\n` or `\r\n`) and
/// whether the file ends with a newline. `None` when there is nothing to remove.
pub(crate) fn without_handler(text: &str) -> Option<Unassociated> {
    let mut out = String::with_capacity(text.len());
    let mut section = String::new();
    let mut sections: Vec<String> = Vec::new();
    for raw in text.split_inclusive('\n') {
        let (line, end) = match raw.strip_suffix("\r\n") {
            Some(l) => (l, "\r\n"),
            None => match raw.strip_suffix('\n') {
                Some(l) => (l, "\n"),
                None => (raw, ""),
            },
        };
        let start = line.trim_start();
        if start.starts_with('[') {
            section = start
                .trim_end()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            out.push_str(raw);
            continue;
        }
        let key_value = (!start.starts_with('#'))
            .then(|| line.split_once('='))
            .flatten()
            .filter(|(key, _)| key.trim().eq_ignore_ascii_case(SCHEME_MIME));
        let Some((key, value)) = key_value else {
            out.push_str(raw);
            continue;
        };
        let handlers: Vec<&str> = value.split(';').collect();
        let kept: Vec<&str> = handlers
            .iter()
            .copied()
            .filter(|h| h.trim() != HANDLER_DESKTOP)
            .collect();
        if kept.len() == handlers.len() {
            out.push_str(raw);
            continue;
        }
        if !sections.contains(&section) {
            sections.push(section.clone());
        }
        if kept.iter().all(|h| h.trim().is_empty()) {
            // The whole line goes. When it was the last one and had no newline, the file keeps
            // ending without one.
            if end.is_empty() {
                let trimmed = out
                    .strip_suffix("\r\n")
                    .or_else(|| out.strip_suffix('\n'))
                    .map(str::len);
                if let Some(len) = trimmed {
                    out.truncate(len);
                }
            }
            continue;
        }
        out.push_str(key);
        out.push('=');
        out.push_str(&kept.join(";"));
        out.push_str(end);
    }
    (!sections.is_empty()).then_some(Unassociated {
        text: out,
        sections,
    })
}

/// Remove our association from `mimeapps.list` (atomically; a file that is gone or has no such
/// entry any more is already done; the file is never created).
pub(crate) fn remove_association(file: &Path) -> Outcome {
    let mut sections: Vec<String> = Vec::new();
    let opts = WriteOptions {
        new_mode: 0o644,
        private: false,
        backup_dir: None,
    };
    let result = atomic::edit_file(file, &opts, &mut |before| {
        Ok(match before.and_then(without_handler) {
            Some(u) => {
                sections = u.sections;
                NewContent::Write(u.text)
            }
            None => NewContent::Keep,
        })
    });
    match result {
        Ok(atomic::Outcome::Unchanged) => Outcome::gone(format!(
            "{} no longer names {HANDLER_DESKTOP}",
            file.display()
        )),
        Ok(_) => Outcome::Done {
            detail: Some(format!(
                "{SCHEME_MIME} no longer opens {HANDLER_DESKTOP} (removed from [{}])",
                sections.join("], [")
            )),
        },
        Err(e) => Outcome::failed(
            format!("could not edit {}: {e}", file.display()),
            format!(
                "{} Or delete the line `{SCHEME_MIME}={HANDLER_DESKTOP}` from {} by hand.",
                e.next_step(),
                file.display()
            ),
        ),
    }
}

/// Delete the handler entry (a file; gone already counts as done).
pub(crate) fn delete_handler_entry(path: &Path) -> Outcome {
    match std::fs::remove_file(path) {
        Ok(()) => Outcome::Done { detail: None },
        Err(e) if e.kind() == ErrorKind::NotFound => Outcome::gone("it was already gone"),
        Err(e) => Outcome::failed(
            format!("could not delete {}: {e}", path.display()),
            format!(
                "Delete {} by hand, or fix its folder's permissions and run the command again.",
                path.display()
            ),
        ),
    }
}

/// Delete the command link — after checking once more that it is still Lanyard's.
pub(crate) fn delete_command_link(link: &Path, app_dirs: &[PathBuf]) -> Outcome {
    match inspect_link(link, app_dirs) {
        Link::Absent => Outcome::gone("it was already gone"),
        Link::NotOurs { why } => Outcome::gone(format!(
            "{} is no longer Lanyard's link ({why}); it was left alone",
            link.display()
        )),
        Link::Ours { .. } => match std::fs::remove_file(link) {
            Ok(()) => Outcome::Done { detail: None },
            Err(e) if e.kind() == ErrorKind::NotFound => Outcome::gone("it was already gone"),
            Err(e) => Outcome::failed(
                format!("could not delete {}: {e}", link.display()),
                format!(
                    "Delete the link {} by hand (`rm {}`), then run the command again.",
                    link.display(),
                    link.display()
                ),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str) -> Option<String> {
        without_handler(text).map(|u| u.text)
    }

    #[test]
    fn mimeapps_edit_removes_only_our_entry_and_keeps_every_other_byte() {
        // What Debian 12's `xdg-mime default` (xdg-utils 1.1.3) writes into an existing file.
        let before = "# my associations\n[Default Applications]\ntext/html=firefox.desktop\n\n# links\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop\nx-scheme-handler/https=firefox.desktop\n\n[Added Associations]\ntext/plain=gedit.desktop;\n";
        let u = without_handler(before).expect("our entry is found");
        assert_eq!(
            u.text,
            "# my associations\n[Default Applications]\ntext/html=firefox.desktop\n\n# links\nx-scheme-handler/https=firefox.desktop\n\n[Added Associations]\ntext/plain=gedit.desktop;\n"
        );
        assert_eq!(u.sections, ["Default Applications"]);
    }

    #[test]
    fn mimeapps_edit_keeps_other_handlers_of_the_same_key_in_every_section() {
        let before = "[Default Applications]\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop;other.desktop\n[Added Associations]\nx-scheme-handler/lanyard=mine.desktop;lanyard-tray-handler.desktop;\ntext/plain=gedit.desktop;\n";
        let u = without_handler(before).expect("found");
        assert_eq!(
            u.text,
            "[Default Applications]\nx-scheme-handler/lanyard=other.desktop\n[Added Associations]\nx-scheme-handler/lanyard=mine.desktop;\ntext/plain=gedit.desktop;\n"
        );
        assert_eq!(u.sections, ["Default Applications", "Added Associations"]);
    }

    #[test]
    fn mimeapps_edit_drops_a_line_left_empty_in_any_section() {
        let before = "[Added Associations]\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop;\nimage/png=eog.desktop;\n";
        assert_eq!(
            edit(before).unwrap(),
            "[Added Associations]\nimage/png=eog.desktop;\n"
        );
    }

    #[test]
    fn mimeapps_edit_never_changes_the_trailing_newline_or_line_endings() {
        // No newline at the end, our line last: the file still ends without one.
        assert_eq!(
            edit("[Default Applications]\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop")
                .unwrap(),
            "[Default Applications]"
        );
        // No newline at the end, our line kept with another handler.
        assert_eq!(
            edit("[Default Applications]\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop;a.desktop")
                .unwrap(),
            "[Default Applications]\nx-scheme-handler/lanyard=a.desktop"
        );
        // CRLF files stay CRLF.
        assert_eq!(
            edit("[Default Applications]\r\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop\r\ntext/html=f.desktop\r\n")
                .unwrap(),
            "[Default Applications]\r\ntext/html=f.desktop\r\n"
        );
        // The file xdg-mime creates from nothing (a blank first line): only our line goes.
        assert_eq!(
            edit(
                "\n[Default Applications]\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop\n"
            )
            .unwrap(),
            "\n[Default Applications]\n"
        );
    }

    #[test]
    fn mimeapps_without_our_entry_is_left_alone() {
        for text in [
            "",
            "[Default Applications]\ntext/html=firefox.desktop\n",
            // Another handler for our scheme, a comment naming ours, another key with our file.
            "[Default Applications]\nx-scheme-handler/lanyard=my-build.desktop\n# x-scheme-handler/lanyard=lanyard-tray-handler.desktop\nx-scheme-handler/lanyard-dev=lanyard-tray-handler.desktop\n",
            // A similar file name is not ours.
            "[Default Applications]\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop.bak;old-lanyard-tray-handler.desktop\n",
        ] {
            assert_eq!(without_handler(text), None, "{text:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_a_link_into_an_app_dir_is_ours() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let app = home.join(".local/share/dev.lanyard.tray");
        std::fs::create_dir_all(app.join("bin")).unwrap();
        std::fs::write(app.join("bin/lanyard"), "#!/bin/sh\n").unwrap();
        let bin = home.join(".local/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let apps = vec![app.clone()];
        let link = bin.join("lanyard");

        assert_eq!(inspect_link(&link, &apps), Link::Absent);
        // Absolute and relative links into the app dir, dangling or not.
        symlink(app.join("bin/lanyard"), &link).unwrap();
        assert!(matches!(inspect_link(&link, &apps), Link::Ours { .. }));
        std::fs::remove_file(&link).unwrap();
        symlink("../share/dev.lanyard.tray/bin/lanyard", &link).unwrap();
        assert!(matches!(inspect_link(&link, &apps), Link::Ours { .. }));
        std::fs::remove_file(&link).unwrap();
        symlink(app.join("gone/lanyard"), &link).unwrap();
        assert!(matches!(inspect_link(&link, &apps), Link::Ours { .. }));
        std::fs::remove_file(&link).unwrap();

        // Not ours: elsewhere, only looking inside (`..` out of it), the app dir itself, a
        // similarly named sibling, a regular file.
        for target in [
            PathBuf::from("/usr/bin/lanyard"),
            home.join("src/lanyard/target/release/lanyard"),
            app.join("../other/lanyard"),
            app.clone(),
            home.join(".local/share/dev.lanyard.tray-old/bin/lanyard"),
            PathBuf::from("lanyard-real"),
        ] {
            symlink(&target, &link).unwrap();
            assert!(
                matches!(inspect_link(&link, &apps), Link::NotOurs { .. }),
                "{}",
                target.display()
            );
            std::fs::remove_file(&link).unwrap();
        }
        std::fs::write(&link, "#!/bin/sh\n").unwrap();
        assert!(matches!(inspect_link(&link, &apps), Link::NotOurs { .. }));
    }
}
