//! Shared steps of the refresh-engine tests (issue 4): a world with short-lived access tokens,
//! a signed-in sandbox, and `lanyard daemon --json` as a child whose events the test reads.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lanyard_e2e::{Sandbox, Value, World, json, lanyard_bin};

/// Upper bound for waiting on an event: a hang guard, never a timing assertion.
pub(crate) const PATIENCE: Duration = Duration::from_secs(120);

/// A world whose issuer `idp` hands out access tokens living `ttl` seconds.
pub(crate) fn world_with_ttl(ttl: u64) -> World {
    World::start(json!({ "issuers": [{ "name": "idp", "accessTokenTtl": ttl }] }))
        .expect("world starts")
}

/// A sandbox signed in to the world's `demo` server under the name `demo`.
pub(crate) fn signed_in(world: &World) -> Sandbox {
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    sandbox
        .lanyard(&["add", &url, "--name", "demo"])
        .assert_ok();
    sandbox
}

/// Lanyard's state directory in the sandbox.
pub(crate) fn state_dir(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.config_home().join("lanyard")
}

/// The state file as JSON.
pub(crate) fn state(sandbox: &Sandbox) -> Value {
    let text = std::fs::read_to_string(state_dir(sandbox).join("state.json")).expect("state.json");
    serde_json::from_str(&text).expect("state.json is JSON")
}

/// A keychain item of this install, read with `secret-tool` (not through Lanyard).
pub(crate) fn secret(sandbox: &Sandbox, key: &str) -> Option<String> {
    let id = std::fs::read_to_string(state_dir(sandbox).join("install-id")).ok()?;
    let service = format!("lanyard/{}", id.trim());
    let mut cmd = sandbox.command("secret-tool");
    cmd.args(["lookup", "service", &service, "username", key]);
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
        .filter(|s| !s.is_empty())
}

/// The stored token set of server `name` (access token, refresh token, expiry), read directly.
pub(crate) fn stored_tokens(sandbox: &Sandbox, name: &str) -> Value {
    let raw = secret(sandbox, &format!("tokens:{name}"))
        .unwrap_or_else(|| panic!("no token set for {name} in the keychain"));
    serde_json::from_str(&raw).expect("token set is JSON")
}

/// Waits until the stored token of `name` is due for a refresh by a command: Lanyard never
/// refreshes a token younger than half its life (issue 18), whatever the margin says. The same
/// rule as `TokenSet::refresh_due`: 10 % of the life ahead of expiry, at least 60 s, at most half.
pub(crate) fn wait_until_due(sandbox: &Sandbox, name: &str) {
    let t = stored_tokens(sandbox, name);
    let obtained = t["obtained_at"].as_i64().expect("obtained_at");
    let expires = t["expires_at"].as_i64().expect("expires_at");
    let life = expires - obtained;
    let due = expires - (life / 10).max(60).min(life / 2);
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        if now >= due {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `lanyard daemon --json` running in the sandbox.
pub(crate) struct Daemon {
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    pub(crate) fn start(sandbox: &Sandbox) -> Daemon {
        let mut cmd = sandbox.command(lanyard_bin());
        cmd.args(["daemon", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start lanyard daemon");
        let (tx, events) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        Daemon {
            child,
            events,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Everything the daemon logged so far.
    pub(crate) fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits for the next event matching `pred` (events before it are kept in `seen`).
    #[track_caller]
    pub(crate) fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return ev;
                    }
                }
                Err(_) => panic!(
                    "the daemon never reported {what}; events: {:#?}\n--- daemon log\n{}",
                    self.seen,
                    self.log()
                ),
            }
        }
    }

    /// Collects events for `d` (wall time passes; nothing is asserted about it).
    pub(crate) fn collect_for(&mut self, d: Duration) -> Vec<Value> {
        let deadline = Instant::now() + d;
        let mut out = Vec::new();
        while let Ok(ev) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(ev.clone());
            out.push(ev);
        }
        out
    }

    /// SIGTERM and wait: a clean stop.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("daemon exits")
    }

    /// kill -9, no chance to clean up.
    pub(crate) fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Event helpers.
pub(crate) fn is_refreshed(ev: &Value, at_idp: bool) -> bool {
    ev["event"] == "refreshed" && ev["server"] == "demo" && ev["at_idp"] == json!(at_idp)
}
pub(crate) fn is_status(ev: &Value, state: &str) -> bool {
    ev["event"] == "status" && ev["server"] == "demo" && ev["status"]["state"] == state
}

/// Another holder of a server's refresh lock (`flock -o`, so the lock stays with flock itself
/// and no child inherits it): a refresh waits inside the single flight until [`release`].
///
/// [`release`]: LockHolder::release
pub(crate) struct LockHolder(Child);

impl LockHolder {
    pub(crate) fn hold(sandbox: &Sandbox, server: &str) -> LockHolder {
        let lock = state_dir(sandbox)
            .join("locks")
            .join(format!("{server}.lock"));
        std::fs::create_dir_all(lock.parent().expect("dir")).expect("locks dir");
        let mut child = std::process::Command::new("flock")
            .args(["-x", "-o"])
            .arg(&lock)
            .args(["-c", "echo locked; read _"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("flock says locked");
        assert_eq!(line.trim(), "locked");
        LockHolder(child)
    }

    /// Closing flock's stdin ends it, and the lock with it.
    pub(crate) fn release(self) {}
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}
