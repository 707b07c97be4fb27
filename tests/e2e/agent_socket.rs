//! The laptop as the agent (issue 15, item 3): the running engine serves tokens over its Unix
//! sockets. Locally a burst of `lanyard token` is answered from the engine's memory (the
//! callers cannot even reach a keychain, and the IdP sees no refresh); a second HOME without a
//! keychain, given the forwarding socket in `LANYARD_AGENT_SOCK`, gets tokens and runs the
//! bridge while nothing lands in its files, only for servers the laptop shared; and with
//! short-lived tokens every refresh is the laptop engine's own.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lanyard_e2e::{Sandbox, lanyard_bin, tests_dir};

use crate::refresh_support::*;

const NO_BUS: &str = "unix:path=/nonexistent/lanyard-no-bus";

fn socket(sandbox: &Sandbox, name: &str) -> PathBuf {
    state_dir(sandbox).join("agent").join(name)
}

/// Waits for the engine's socket (a hang guard, not a timing assertion).
fn wait_for_socket(path: &std::path::Path, daemon: &Daemon) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < PATIENCE,
            "no agent socket at {}\n{}",
            path.display(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `lanyard token NAME` ×10 at once in `sandbox` with `env`; every printed token.
fn burst(sandbox: &Sandbox, name: &str, env: &[(&str, &str)]) -> Vec<String> {
    let children: Vec<_> = (0..10)
        .map(|_| {
            let mut cmd = sandbox.command(lanyard_bin());
            cmd.args(["token", name])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd.spawn().expect("start lanyard token")
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("lanyard token ends");
            assert!(
                out.status.success(),
                "lanyard token failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect()
}

/// A second user (another HOME) with no Secret Service, pointed at the laptop's forwarding socket.
fn remote_of(laptop: &Sandbox) -> Sandbox {
    let mut remote = Sandbox::new().expect("remote sandbox");
    remote.set_env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
    remote.set_env("LANYARD_AGENT_SOCK", socket(laptop, "forward.sock"));
    remote
}

#[test]
fn a_local_burst_is_served_from_the_engines_memory_without_keychain_or_refresh() {
    let world = world_with_ttl(3600);
    let mut laptop = signed_in(&world);
    // The agent logs each time it goes to the secret store.
    laptop.set_env("LANYARD_LOG", "info,lanyard_core::agent=debug");
    let daemon = Daemon::start(&laptop);
    wait_for_socket(&socket(&laptop, "local.sock"), &daemon);
    world.reset_counts().expect("reset");
    let stored = stored_tokens(&laptop, "demo")["access_token"]
        .as_str()
        .expect("access token")
        .to_string();

    // The callers have no session bus: a keychain read would fail them. Twice: the second
    // burst is answered from memory without even the engine's one read.
    for _ in 0..2 {
        for token in burst(&laptop, "demo", &[("DBUS_SESSION_BUS_ADDRESS", NO_BUS)]) {
            assert_eq!(token, stored);
        }
    }
    let counts = world.counts().expect("counts");
    assert_eq!(counts.token_requests("idp", "refresh_token"), 0, "{:?}", counts.0);
    let log = daemon.log();
    assert_eq!(
        log.matches("agent: demo from the secret store").count(),
        1,
        "20 calls, one keychain read by the engine:\n{log}"
    );

    // Without the engine, the same callers meet the keychain path (and its missing bus).
    drop(daemon);
    let run = laptop.lanyard_env(&["token", "demo"], &[("DBUS_SESSION_BUS_ADDRESS", NO_BUS)]);
    run.assert_failed();
    assert!(run.output().contains("no Secret Service"), "{}", run.describe());
}

#[test]
fn a_remote_without_a_keychain_gets_shared_tokens_and_bridges_and_keeps_nothing() {
    let world = world_with_ttl(3600);
    let laptop = signed_in(&world);
    let daemon = Daemon::start(&laptop);
    wait_for_socket(&socket(&laptop, "forward.sock"), &daemon);
    let remote = remote_of(&laptop);
    let before = remote.files();

    // Not shared yet: the forwarding socket refuses, and says how to share.
    let refused = remote.lanyard(&["token", "demo"]);
    refused.assert_failed();
    assert!(
        refused.output().contains("lanyard agent share demo"),
        "{}",
        refused.describe()
    );

    laptop.lanyard(&["agent", "share", "demo"]).assert_ok();
    let stored = stored_tokens(&laptop, "demo")["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let token = remote.lanyard(&["token", "demo"]);
    token.assert_ok();
    assert_eq!(token.stdout.trim(), stored);
    let headers = remote.lanyard(&["token", "demo", "--claude-headers"]);
    headers.assert_ok();
    assert!(
        headers.stdout.contains(&format!("Bearer {stored}")),
        "{}",
        headers.describe()
    );

    // The bridge, under the official SDK's stdio client, lists and calls tools.
    let mut cmd = remote.command("node");
    cmd.arg(tests_dir().join("ide-clis/bridge-client.mjs"))
        .arg(lanyard_bin())
        .arg("demo");
    let run = remote.run(cmd);
    run.assert_ok();
    let tools = run.step("tools");
    assert!(
        tools["names"].as_array().is_some_and(|n| !n.is_empty()),
        "{}",
        run.describe()
    );
    run.step("call");

    assert_eq!(remote.files(), before, "nothing lands in the remote's HOME");

    // Unshared again: refused again.
    laptop.lanyard(&["agent", "unshare", "demo"]).assert_ok();
    remote.lanyard(&["token", "demo"]).assert_failed();

    // Shared, removed and added again under the same name: a new server, not shared.
    laptop.lanyard(&["agent", "share", "demo"]).assert_ok();
    remote.lanyard(&["token", "demo"]).assert_ok();
    laptop.lanyard(&["remove", "demo"]).assert_ok();
    std::thread::sleep(Duration::from_millis(1100)); // a different added_at (whole seconds)
    laptop
        .lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"])
        .assert_ok();
    let again = remote.lanyard(&["token", "demo"]);
    again.assert_failed();
    assert!(
        again.output().contains("not shared"),
        "{}",
        again.describe()
    );
}

#[test]
fn with_short_lived_tokens_every_refresh_is_the_laptop_engines() {
    let world = world_with_ttl(6);
    let laptop = signed_in(&world);
    laptop.lanyard(&["agent", "share", "demo"]).assert_ok();
    world.reset_counts().expect("reset");
    let mut daemon = Daemon::start(&laptop);
    wait_for_socket(&socket(&laptop, "forward.sock"), &daemon);
    let remote = remote_of(&laptop);
    let before = remote.files();

    // Bursts from the remote across two token lifetimes; every token works at the server.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(12) {
        for token in burst(&remote, "demo", &[]) {
            crate::core_common::assert_server_accepts(&world, "demo", &token);
        }
        daemon.collect_for(Duration::from_millis(1500));
    }
    let elapsed = start.elapsed().as_secs();
    let counts = world.counts().expect("counts");
    let at_idp = counts.token_requests("idp", "refresh_token");
    let exit = daemon.terminate();
    assert!(exit.success(), "daemon exit: {exit:?}");
    // 6 s tokens are refreshed at half their life: one refresh per 3 s on the laptop (the
    // engine's timer, or the agent for it), never one per remote caller.
    let calls = 10 * (elapsed / 2).max(1);
    assert!(
        at_idp >= 1 && at_idp <= elapsed / 3 + 2,
        "the IdP saw {at_idp} refreshes in {elapsed} s for about {calls} remote calls"
    );
    assert_eq!(counts.token_errors("idp", "invalid_grant"), 0, "no grant lost");
    assert_eq!(remote.files(), before, "nothing lands in the remote's HOME");
}

/// A real OpenSSH server (scripts/setup.d/27-sshd.sh) on loopback with throwaway keys, for the
/// user running the tests; killed when dropped.
struct Sshd {
    child: std::process::Child,
    port: u16,
    client_key: PathBuf,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Sshd {
        let sshd = PathBuf::from("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "no /usr/sbin/sshd: run scripts/setup.d/27-sshd.sh (the pinned openssh-server)"
        );
        let dir = tempfile::Builder::new()
            .prefix("lanyard-sshd-")
            .tempdir()
            .expect("sshd dir");
        let keygen = |name: &str| {
            let key = dir.path().join(name);
            let ok = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&key)
                .status()
                .expect("ssh-keygen")
                .success();
            assert!(ok, "ssh-keygen {name}");
            key
        };
        let host_key = keygen("host_key");
        let client_key = keygen("client_key");
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).expect("authorized_keys");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
                 StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                 AllowStreamLocalForwarding yes\nStreamLocalBindUnlink yes\n",
                host_key.display(),
                authorized.display(),
                dir.path().join("sshd.pid").display()
            ),
        )
        .expect("sshd_config");
        // sshd started as root wants its privilege-separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = std::process::Command::new(&sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < PATIENCE, "sshd does not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd {
            child,
            port,
            client_key,
            dir,
        }
    }

    /// `ssh -R remote:local 127.0.0.1 COMMAND…` with the throwaway key, run to the end.
    fn run_forwarding(
        &self,
        remote: &std::path::Path,
        local: &std::path::Path,
        command: &[String],
    ) -> std::process::Output {
        // Its own HOME: nothing of the real ~/.ssh is read or written.
        std::process::Command::new("ssh")
            .env("HOME", self.dir.path())
            .args(["-F", "/dev/null", "-i"])
            .arg(&self.client_key)
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                "LogLevel=ERROR",
                "-p",
                &self.port.to_string(),
                "-R",
            ])
            .arg(format!("{}:{}", remote.display(), local.display()))
            .arg("127.0.0.1")
            .args(command)
            .stdin(Stdio::null())
            .output()
            .expect("ssh")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn over_a_real_sshd_the_remotes_token_comes_through_the_forwarded_socket() {
    let world = world_with_ttl(3600);
    let laptop = signed_in(&world);
    laptop.lanyard(&["agent", "share", "demo"]).assert_ok();
    let daemon = Daemon::start(&laptop);
    let forward = socket(&laptop, "forward.sock");
    wait_for_socket(&forward, &daemon);
    let remote = Sandbox::new().expect("remote sandbox");
    let before = remote.files();
    let remote_sock = remote.home().join("lanyard-agent.sock");
    let home = remote.home();
    // The command as the remote shell runs it: the remote user's HOME, no session bus.
    let command: Vec<String> = vec![
        "env".into(),
        "-i".into(),
        format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
        format!("HOME={}", home.display()),
        format!("XDG_CONFIG_HOME={}", home.join(".config").display()),
        format!("DBUS_SESSION_BUS_ADDRESS={NO_BUS}"),
        format!("LANYARD_AGENT_SOCK={}", remote_sock.display()),
        lanyard_bin().display().to_string(),
        "token".into(),
        "demo".into(),
        "--json".into(),
    ];
    let sshd = Sshd::start();
    let out = sshd.run_forwarding(&remote_sock, &forward, &command);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "remote lanyard token over ssh -R failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let json: lanyard_e2e::Value = serde_json::from_str(stdout.trim()).expect("token JSON");
    let stored = stored_tokens(&laptop, "demo")["access_token"].clone();
    assert_eq!(json["access_token"], stored);
    crate::core_common::assert_server_accepts(
        &world,
        "demo",
        json["access_token"].as_str().expect("token"),
    );
    // sshd unlinks its end of the forward when the session ends: nothing else was written.
    let after: Vec<_> = remote
        .files()
        .into_iter()
        .filter(|f| !f.ends_with("lanyard-agent.sock"))
        .collect();
    assert_eq!(after, before, "nothing lands in the remote's HOME");
}

#[test]
fn a_forwarded_socket_nobody_answers_is_an_error_that_says_what_to_check() {
    let mut remote = Sandbox::new().expect("remote sandbox");
    remote.set_env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
    remote.set_env("LANYARD_AGENT_SOCK", remote.home().join("gone.sock"));
    let run = remote.lanyard(&["token", "demo", "--header"]);
    run.assert_failed();
    assert!(run.stdout.is_empty(), "{}", run.describe());
    assert!(
        run.stderr.contains("does not answer") && run.stderr.contains("LANYARD_AGENT_SOCK"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_local_socket_left_by_a_killed_engine_falls_back_to_the_keychain() {
    let world = world_with_ttl(3600);
    let laptop = signed_in(&world);
    let stale = socket(&laptop, "local.sock");
    std::fs::create_dir_all(stale.parent().expect("agent folder")).expect("agent folder");
    // Bound, then closed: the file stays, nobody listens (what a killed engine leaves).
    drop(std::os::unix::net::UnixListener::bind(&stale).expect("bind"));
    assert!(stale.exists());
    let stored = stored_tokens(&laptop, "demo")["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let run = laptop.lanyard(&["token", "demo"]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), stored);
}
