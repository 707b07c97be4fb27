//! Opening the browser on WSL, with fake openers on a temporary PATH that record their argv.

#![cfg(unix)]

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Env;
use crate::authorization::wsl;

/// An authorization URL as awkward as they come: `&` between parameters, a quote, a space.
const URL: &str = "https://idp.example/authorize?client_id=a&state=x'y&scope=openid email";

/// A fake executable `name` in `dir` writing each argument on a line of `name.argv`.
fn fake(dir: &Path, name: &str) {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}.argv'\n",
            p.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn argv(dir: &Path, name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.argv"))).ok()?;
    Some(text.lines().map(str::to_owned).collect())
}

fn wsl_env(dir: &Path) -> Env {
    Env {
        browser: None,
        path: Some(OsString::from(dir)),
        wsl: true,
        display: false,
    }
}

fn open_and_wait(env: &Env) {
    let mut child = env.open(URL).expect("an opener starts");
    assert!(child.wait().unwrap().success());
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().to_path_buf();
    (t, p)
}

#[test]
fn wsl_opens_the_url_with_wslview_as_one_argument() {
    let (_t, dir) = temp();
    fake(&dir, "wslview");
    fake(&dir, "powershell.exe");
    open_and_wait(&wsl_env(&dir));
    assert_eq!(
        argv(&dir, "wslview").unwrap(),
        ["https://idp.example/authorize?client_id=a&state=x'y&scope=openid%20email"]
    );
    assert_eq!(argv(&dir, "powershell.exe"), None);
}

#[test]
fn wsl_without_wslview_uses_powershell_start_process_with_a_quoted_literal() {
    let (_t, dir) = temp();
    fake(&dir, "powershell.exe");
    open_and_wait(&wsl_env(&dir));
    assert_eq!(
        argv(&dir, "powershell.exe").unwrap(),
        [
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            "Start-Process 'https://idp.example/authorize?client_id=a&state=x''y&scope=openid%20email'",
        ]
    );
}

#[test]
fn browser_variable_wins_over_the_wsl_openers() {
    let (_t, dir) = temp();
    fake(&dir, "wslview");
    fake(&dir, "mybrowser");
    let env = Env {
        browser: Some(dir.join("mybrowser").display().to_string()),
        ..wsl_env(&dir)
    };
    open_and_wait(&env);
    assert_eq!(argv(&dir, "mybrowser").unwrap(), [URL]);
    assert_eq!(argv(&dir, "wslview"), None);
}

#[test]
fn wsl_with_a_windows_opener_is_not_headless_even_without_a_display() {
    let (_t, dir) = temp();
    fake(&dir, "powershell.exe");
    assert!(!wsl_env(&dir).no_display());
}

#[test]
fn wsl_without_any_windows_opener_or_display_is_headless() {
    let (_t, dir) = temp();
    fake(&dir, "xdg-open");
    assert!(wsl_env(&dir).no_display());
    let not_executable = dir.join("wslview");
    std::fs::write(&not_executable, "").unwrap();
    assert!(wsl_env(&dir).no_display());
}

#[test]
fn linux_without_display_is_headless_even_with_powershell_on_path_when_not_wsl() {
    let (_t, dir) = temp();
    fake(&dir, "powershell.exe");
    let env = Env {
        wsl: false,
        ..wsl_env(&dir)
    };
    assert!(env.no_display());
}

#[test]
fn wsl_is_recognised_from_the_kernel_release_version_or_distro_variable() {
    let reads = |release: &'static str, version: &'static str| {
        move |p: &Path| {
            Some(
                if p.ends_with("osrelease") {
                    release
                } else {
                    version
                }
                .to_owned(),
            )
        }
    };
    let debian = "6.1.0-18-amd64";
    let debian_version = "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)";
    assert!(wsl::detect(
        reads("5.15.153.1-microsoft-standard-WSL2", debian_version),
        None
    ));
    assert!(wsl::detect(
        reads("4.4.0-19041-Microsoft", debian_version),
        None
    ));
    assert!(wsl::detect(
        reads(debian, "Linux version 5.15 (Microsoft@Microsoft.com)"),
        None
    ));
    assert!(wsl::detect(
        reads(debian, debian_version),
        Some("Ubuntu".as_ref())
    ));
    assert!(!wsl::detect(reads(debian, debian_version), None));
    assert!(!wsl::detect(|_| None, Some("".as_ref())));
}

#[test]
fn characters_no_uri_may_hold_are_percent_encoded_for_windows() {
    assert_eq!(
        wsl::uri_chars("https://h/p?a=1&b=\"x\" \u{2019}"),
        "https://h/p?a=1&b=%22x%22%20%E2%80%99"
    );
    let serialized = "https://h/a?b=c&d=%2F&e=f'g#h";
    assert_eq!(wsl::uri_chars(serialized), serialized);
}
