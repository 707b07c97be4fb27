//! Paste-back (issue 15 item 1): the browser runs where the loopback callback cannot reach
//! Lanyard, so it stops at the redirect to `http://127.0.0.1:PORT/callback?…` (the scripted
//! browser's `no-callback` mode writes that address to a file, as a user copies it from the
//! address bar) and the test pastes it on `lanyard`'s stdin. `state` and `iss` are checked as the
//! listener checks them; a bare code and a foreign `state` are refused with a reason and asked
//! for again; a wrong `iss` ends the sign-in with nothing saved.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lanyard_e2e::{Sandbox, World, browser_path, json, lanyard_bin};

use crate::core_common::token_ok;

/// A `lanyard` sign-in waiting for a paste: its stdin, and its stderr line by line (also the
/// interop matrix's paste-back step).
pub(crate) struct Signin {
    child: Child,
    stdin: ChildStdin,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Signin {
    /// `lanyard ARGS…` with stdin piped; `no_display` runs it as on an SSH host (no `$BROWSER`,
    /// no `$DISPLAY`).
    pub(crate) fn start(sb: &Sandbox, args: &[&str], no_display: bool) -> Signin {
        Signin::start_with(sb, args, no_display, |_| {})
    }

    fn start_with(
        sb: &Sandbox,
        args: &[&str],
        no_display: bool,
        configure: impl FnOnce(&mut std::process::Command),
    ) -> Signin {
        let mut cmd = sb.command(lanyard_bin());
        configure(&mut cmd);
        cmd.args(args)
            .env("LANYARD_CALLBACK_TIMEOUT_SECS", "60")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if no_display {
            cmd.env_remove("BROWSER")
                .env_remove("DISPLAY")
                .env_remove("WAYLAND_DISPLAY");
        }
        let mut child = cmd.spawn().expect("lanyard starts");
        let stdin = child.stdin.take().expect("stdin");
        let err = child.stderr.take().expect("stderr");
        let (tx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Signin {
            child,
            stdin,
            stderr,
            seen: Vec::new(),
        }
    }

    /// The first stderr line (from now on) that `pick` accepts.
    fn wait_for(&mut self, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pick(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no {what} on stderr; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    pub(crate) fn authorization_url(&mut self) -> String {
        self.wait_for("authorization URL", |l| l.contains("code_challenge="))
            .trim()
            .to_owned()
    }

    pub(crate) fn paste(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("paste");
        self.stdin.flush().expect("flush");
    }

    /// Ends a sign-in that has nothing to be pasted; its stderr so far.
    pub(crate) fn abandon(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.seen.join("\n")
    }

    /// Exit code and the whole stderr.
    pub(crate) fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "lanyard did not finish");
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(l);
        }
        (status.code(), self.seen.join("\n"))
    }
}

/// The scripted browser signs in at `url` and stops at the redirect to the callback: the address
/// a user would copy from the address bar.
fn browse_without_callback(sb: &Sandbox, url: &str) -> String {
    let address = address_without_callback(sb, url).expect("the browser's walk");
    assert!(address.starts_with("http://127.0.0.1:"), "{address}");
    address
}

/// [`browse_without_callback`], a failure told rather than panicked (the interop matrix records it).
pub(crate) fn address_without_callback(sb: &Sandbox, url: &str) -> Result<String, String> {
    let file = sb.home().join("..").join("callback-address");
    let status = sb
        .command(browser_path())
        .arg(url)
        .env("WORLD_BROWSER_MODE", "no-callback")
        .env("WORLD_BROWSER_CALLBACK_FILE", &file)
        .status()
        .map_err(|e| format!("the scripted browser did not run: {e}"))?;
    if !status.success() {
        return Err(format!("the scripted browser failed ({status})"));
    }
    let address = std::fs::read_to_string(&file)
        .map_err(|e| format!("the browser wrote no callback address: {e}"))?;
    let _ = std::fs::remove_file(&file);
    Ok(address)
}

fn with_param(address: &str, key: &str, value: &str) -> String {
    let mut url = url::Url::parse(address).expect("address");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear();
    for (k, v) in pairs {
        let v = if k == key { value.to_owned() } else { v };
        url.query_pairs_mut().append_pair(&k, &v);
    }
    url.to_string()
}

fn code_of(address: &str) -> String {
    url::Url::parse(address)
        .expect("address")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code")
}

#[test]
fn pasted_redirect_address_signs_in_after_a_bare_code_and_a_foreign_state_are_refused() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    let mut s = Signin::start(&sb, &["add", &url, "--name", "p", "--no-browser"], false);
    let auth_url = s.authorization_url();
    s.wait_for("paste prompt", |l| l.contains("paste it here"));
    let address = browse_without_callback(&sb, &auth_url);

    s.paste(&code_of(&address));
    s.wait_for("bare-code refusal", |l| l.contains("just the code"));
    s.paste(&with_param(&address, "state", "forged-state"));
    s.wait_for("foreign-state refusal", |l| {
        l.contains("`state` does not match this sign-in")
    });
    s.paste(&address);
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !sb.browser_log()
            .iter()
            .any(|e| e["step"] == "callback-response"),
        "the callback must not have been called"
    );
    token_ok(&sb, "p");
}

#[test]
fn without_a_display_the_url_is_printed_and_a_paste_with_a_wrong_issuer_ends_the_sign_in() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    let mut s = Signin::start(&sb, &["add", &url, "--name", "p"], true);
    let auth_url = s.authorization_url();
    let address = browse_without_callback(&sb, &auth_url);
    s.paste(&with_param(
        &address,
        "iss",
        "http://127.0.0.1:1/not-the-issuer",
    ));
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("RFC 9207"), "{stderr}");
    let list = sb.lanyard(&["list", "--json"]);
    list.assert_ok();
    assert!(
        !list.stdout.contains("\"p\""),
        "nothing saved: {}",
        list.stdout
    );
}

#[test]
fn login_takes_a_pasted_address_too() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    crate::core_common::add_ok(&sb, &world, "demo", "p");
    let mut s = Signin::start(&sb, &["login", "p", "--no-browser"], false);
    let auth_url = s.authorization_url();
    let address = browse_without_callback(&sb, &auth_url);
    s.paste(&address);
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
    token_ok(&sb, "p");
}

/// WSL without `wslview` or `powershell.exe`, or a `$BROWSER` that does not exist: nothing opens,
/// so the printed URL's redirect address may be pasted back as on a machine without a display.
#[test]
fn a_browser_that_cannot_start_leaves_the_printed_url_to_paste_back() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    let mut s = Signin::start_with(&sb, &["add", &url, "--name", "p"], false, |c| {
        c.env("BROWSER", "/nonexistent/lanyard-test-browser");
    });
    let auth_url = s.authorization_url();
    s.wait_for("paste prompt", |l| l.contains("paste it here"));
    let address = browse_without_callback(&sb, &auth_url);
    s.paste(&address);
    let (code, stderr) = s.finish();
    assert_eq!(code, Some(0), "{stderr}");
    token_ok(&sb, "p");
}
