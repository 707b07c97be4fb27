//! A private Secret Service for one sandbox: its own D-Bus session bus and its own unlocked
//! gnome-keyring (D-Bus activated) whose keyrings live inside the sandbox. Nothing reaches the real keychain,
//! and tests running in parallel never see each other's items. Dropped → bus and daemon stop.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

pub struct PrivateKeyring {
    bus: Child,
    address: String,
}

impl PrivateKeyring {
    /// Starts a bus whose Secret Service (gnome-keyring, D-Bus activated on first use) keeps its
    /// files under `dir`. The 'login' collection is pre-created as an unencrypted, unlocked
    /// keyring file and made the default, so no password or prompt is ever needed. The bus runs
    /// with HOME and XDG dirs inside `dir`: whatever it activates never sees the real HOME.
    pub fn start(dir: &Path) -> Result<Self> {
        let keyrings = dir.join("data").join("keyrings");
        let run = dir.join("run");
        std::fs::create_dir_all(&keyrings)?;
        std::fs::create_dir_all(&run)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [&keyrings, &run] {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        std::fs::write(
            keyrings.join("login.keyring"),
            "[keyring]\ndisplay-name=login\nctime=0\nmtime=0\nlock-on-idle=false\nlock-after=false\n",
        )?;
        std::fs::write(keyrings.join("default"), "login")?;
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start dbus-daemon (apt-get install dbus; scripts/test installs it)")?;
        let mut line = String::new();
        BufReader::new(bus.stdout.take().context("dbus-daemon stdout")?).read_line(&mut line)?;
        let address = line.trim().to_string();
        if address.is_empty() {
            let _ = bus.kill();
            let _ = bus.wait();
            bail!("dbus-daemon printed no address");
        }
        let keyring = Self { bus, address };
        keyring.probe()?;
        Ok(keyring)
    }

    /// The bus address to give to every process that should use this keychain.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Environment for processes that should use this keychain.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone())]
    }

    /// Writes, reads back and deletes one item, so a broken keychain fails here, not in the test.
    fn probe(&self) -> Result<()> {
        if Command::new("secret-tool")
            .arg("--version")
            .output()
            .is_err()
        {
            return Ok(()); // libsecret-tools absent: nothing to probe with.
        }
        let value = format!("probe-{}", std::process::id());
        let mut last = String::new();
        for _ in 0..50 {
            let mut store = Command::new("secret-tool")
                .args(["store", "--label=lanyard probe", "lanyard-probe", &value])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()?;
            store
                .stdin
                .take()
                .context("secret-tool stdin")?
                .write_all(value.as_bytes())?;
            let out = store.wait_with_output()?;
            if out.status.success() {
                let read = Command::new("secret-tool")
                    .args(["lookup", "lanyard-probe", &value])
                    .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                    .output()?;
                if String::from_utf8_lossy(&read.stdout).trim() == value {
                    let _ = Command::new("secret-tool")
                        .args(["clear", "lanyard-probe", &value])
                        .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                        .output();
                    return Ok(());
                }
            }
            last = String::from_utf8_lossy(&out.stderr).to_string();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        bail!("the private Secret Service does not store secrets: {last}")
    }

    /// Object paths of every item in the default ('login') collection: empty means nothing stored.
    ///
    /// Under load the D-Bus activated gnome-keyring-daemon has been seen leaving its bus
    /// mid-test ("NoReply: Message recipient disconnected"). The 'login' keyring is a plain file
    /// in the sandbox, so the next call activates a fresh daemon that reads the same items: ask
    /// again, a few times, and say on stderr that it happened, rather than failing the test's
    /// own check on the harness's account.
    pub fn items(&self) -> Result<Vec<String>> {
        let mut last = String::new();
        for attempt in 0..4 {
            if attempt > 0 {
                eprintln!(
                    "keyring: the private Secret Service left its bus ({last}); asking a freshly activated one (attempt {})",
                    attempt + 1
                );
                std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
            }
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets/aliases/default",
                    "org.freedesktop.DBus.Properties.Get",
                    "string:org.freedesktop.Secret.Collection",
                    "string:Items",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .context("run dbus-send")?;
            if out.status.success() {
                return Ok(String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("object path "))
                    .map(|p| p.trim_matches('"').to_string())
                    .collect());
            }
            last = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if !daemon_left(&last) {
                break;
            }
        }
        bail!("list keychain items: {last}")
    }
}

/// dbus-send's words for "the service went away" (as opposed to a real answer or error).
fn daemon_left(stderr: &str) -> bool {
    [
        "NoReply",
        "Disconnected",
        "ServiceUnknown",
        "recipient disconnected",
    ]
    .iter()
    .any(|w| stderr.contains(w))
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        // The keyring daemon leaves when its bus goes away.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
