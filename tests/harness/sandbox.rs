//! A throwaway user for one test: a temp HOME (XDG dirs, CLAUDE_CONFIG_DIR and CODEX_HOME inside
//! it), a private Secret Service, and the scripted browser as `$BROWSER`. Runs the `lanyard`
//! binary (or any program) with exactly that environment — nothing of the real user leaks in.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::keyring::PrivateKeyring;
use crate::world::{browser_path, tests_dir};

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code (`None` when killed by a signal or by the hang guard).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// True when the hang guard killed it (a bug: tests never wait on purpose).
    pub killed_by_hang_guard: bool,
}

impl Run {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout + stderr, for messages and `contains` checks.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(self.stdout.trim())
            .with_context(|| format!("stdout is not JSON:\n{}", self.describe()))
    }

    /// The line `{"step": NAME, …}` of a test client that prints one JSON object per step
    /// (tests/ide-clis/bridge-client.mjs, tests/world/stdio-client-v2.mjs).
    #[track_caller]
    pub fn step(&self, name: &str) -> Value {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step {name}:\n{}", self.describe()))
    }

    /// A readable account of the run for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {:?}{}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            if self.killed_by_hang_guard {
                " (killed by the hang guard)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        )
    }

    /// Panics with the full output unless the command succeeded.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "command failed:\n{}", self.describe());
        self
    }

    /// Panics unless the command failed with exit code 1 (Lanyard's "failure with a message").
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1:\n{}",
            self.describe()
        );
        self
    }
}

/// A throwaway user.
pub struct Sandbox {
    dir: tempfile::TempDir,
    keyring: PrivateKeyring,
    browser_mode: String,
    env: Vec<(OsString, OsString)>,
    hang_guard: Duration,
}

/// The `lanyard` binary the tests run: `$LANYARD_BIN`, else `<target>/debug/lanyard`.
pub fn lanyard_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LANYARD_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tests_dir().join("..").join("target"));
    target
        .join("debug")
        .join(format!("lanyard{}", std::env::consts::EXE_SUFFIX))
}

impl Sandbox {
    /// A new user with an empty HOME and an empty, unlocked keychain.
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("lanyard-sandbox-")
            .tempdir()?;
        let home = dir.path().join("home");
        for sub in [
            ".config",
            ".local/share",
            ".local/state",
            ".cache",
            ".claude",
            ".codex",
        ] {
            std::fs::create_dir_all(home.join(sub))?;
        }
        let keyring = PrivateKeyring::start(&dir.path().join("keyring"))?;
        let hang_guard = std::env::var("LANYARD_E2E_HANG_GUARD_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(240));
        Ok(Self {
            dir,
            keyring,
            browser_mode: "approve".into(),
            env: Vec::new(),
            hang_guard,
        })
    }

    /// The sandbox's HOME.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `$XDG_CONFIG_HOME` (Lanyard's state lives under it, in `lanyard/`).
    pub fn config_home(&self) -> PathBuf {
        self.home().join(".config")
    }

    /// The private keychain.
    pub fn keyring(&self) -> &PrivateKeyring {
        &self.keyring
    }

    /// Sets what the scripted browser does on the next runs: approve | deny | never |
    /// foreign-state | wrong-iss | no-callback (see tests/world/browser.mjs).
    pub fn set_browser_mode(&mut self, mode: &str) {
        self.browser_mode = mode.into();
    }

    /// Adds (or replaces) an environment variable for every later run.
    pub fn set_env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
    }

    /// The scripted browser's log: one JSON object a step, from every run so far.
    pub fn browser_log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.browser_log_path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// True when the scripted browser was started at least once.
    pub fn browser_was_opened(&self) -> bool {
        self.browser_log().iter().any(|e| e["step"] == "open")
    }

    fn browser_log_path(&self) -> PathBuf {
        self.dir.path().join("browser.log")
    }

    /// A `Command` for `program` with the sandbox's environment and nothing else.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let home = self.home();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .current_dir(&home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("USER", "lanyard-test")
            .env("LANG", "C.UTF-8")
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env(
                "XDG_RUNTIME_DIR",
                self.dir.path().join("keyring").join("run"),
            )
            .env("CLAUDE_CONFIG_DIR", home.join(".claude"))
            .env("CODEX_HOME", home.join(".codex"))
            .env("BROWSER", browser_path())
            .env("WORLD_BROWSER_MODE", &self.browser_mode)
            .env("WORLD_BROWSER_LOG", self.browser_log_path())
            .env("NODE_NO_WARNINGS", "1");
        for (k, v) in self.keyring.env() {
            cmd.env(k, v);
        }
        for var in ["RUST_LOG", "RUST_BACKTRACE"] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `lanyard ARGS...` in the sandbox and waits for it.
    pub fn lanyard(&self, args: &[&str]) -> Run {
        self.lanyard_env(args, &[])
    }

    /// Runs `lanyard ARGS...` with extra environment variables for this run only.
    pub fn lanyard_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let bin = lanyard_bin();
        assert!(
            bin.exists(),
            "{} does not exist: build it first (`cargo build -p lanyard-cli`; scripts/test does)",
            bin.display()
        );
        let mut cmd = self.command(&bin);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.run(cmd)
    }

    /// Starts `lanyard ARGS...` without waiting (for concurrency tests and daemons); stdout and
    /// stderr are piped, stdin is null. Collect it with `wait_with_output`, or kill it.
    pub fn spawn_lanyard(&self, args: &[&str]) -> std::io::Result<std::process::Child> {
        let mut cmd = self.command(lanyard_bin());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn()
    }

    /// Runs any prepared command, capturing its output, with the hang guard.
    pub fn run(&self, mut cmd: Command) -> Run {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Run {
                    code: None,
                    stdout: String::new(),
                    stderr: format!("could not start {cmd:?}: {e}"),
                    killed_by_hang_guard: false,
                };
            }
        };
        let out = child.stdout.take().map(reader);
        let err = child.stderr.take().map(reader);
        let started = Instant::now();
        let mut killed = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if started.elapsed() > self.hang_guard => {
                    let _ = child.kill();
                    killed = true;
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        Run {
            code: status.and_then(|s| s.code()),
            stdout: out
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
            stderr: err
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
            killed_by_hang_guard: killed,
        }
    }

    /// Every file under the sandbox's HOME (relative paths), to prove "nothing was written".
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.home(), &self.home(), &mut out);
        out.sort();
        out
    }
}

fn reader<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
}
