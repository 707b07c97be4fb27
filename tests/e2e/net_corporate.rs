//! Corporate networks (issue 14, part 2): the test world behind TLS with a private CA, reached
//! through a real intercepting proxy (mitmproxy, re-signing with its own CA) and through a plain
//! CONNECT proxy (tinyproxy). Sign-in, refresh, the bridge and uninstall all go through the
//! proxy; without the proxy's CA, `add` fails naming the refused certificate, its issuer and
//! the fix. The CAs reach Lanyard through its environment only (`LANYARD_CA_FILE`,
//! `SSL_CERT_FILE`), never the machine's trust store.

use std::io::Write;
use std::process::Stdio;

use lanyard_e2e::corpnet::{Pki, Proxy, world_host};
use lanyard_e2e::{Sandbox, Value, World, json, lanyard_bin};

use crate::core_common::{add_ok, assert_nothing_stored, said, token_ok};
use crate::refresh_support::wait_until_due;

/// The world over HTTPS under this machine's host name, its certificate signed by a private CA;
/// access tokens live 4 s so a refresh is due soon.
fn tls_world() -> (World, Pki) {
    let (host, ip) = world_host().expect("a host name for the world");
    let pki = Pki::new("Lanyard Test World CA", &host).expect("private CA");
    let world = World::start(json!({
        "tls": {
            "cert": pki.cert, "key": pki.key, "ca": pki.ca, "host": host, "bind": ip.to_string(),
        },
        "issuers": [{ "name": "idp", "accessTokenTtl": 4 }],
    }))
    .expect("world starts over https");
    (world, pki)
}

/// A sandbox whose scripted browser trusts the world's CA (the user's browser reaches the IdP
/// by itself; only Lanyard's requests are under test).
fn sandbox_for(pki: &Pki) -> Sandbox {
    let mut sandbox = Sandbox::new().expect("sandbox");
    sandbox.set_env("NODE_EXTRA_CA_CERTS", &pki.ca);
    sandbox
}

/// `add`, a refresh after expiry, one `tools/list` through `lanyard bridge`, and `uninstall`
/// (which revokes at the IdP): every one of them must work where the world is reached.
fn sign_in_refresh_bridge_uninstall(sandbox: &Sandbox, world: &World) {
    add_ok(sandbox, world, "demo", "demo");
    world.reset_counts().expect("reset");

    wait_until_due(sandbox, "demo");
    token_ok(sandbox, "demo");
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.token_requests("idp", "refresh_token"),
        1,
        "a refresh"
    );
    assert_eq!(counts.authorizations("idp"), 0, "no new sign-in");

    let tools = bridge_tools_list(sandbox, "demo");
    assert!(
        tools.to_string().contains("\"echo\""),
        "tools/list through the bridge: {tools}"
    );
    assert!(world.counts().expect("counts").mcp_authorized("demo") >= 1);

    let run = sandbox.lanyard(&["uninstall", "--yes", "--json"]);
    run.assert_ok();
    assert_eq!(run.json().expect("report")["complete"], json!(true));
    assert!(
        world.counts().expect("counts").revocations("idp") >= 1,
        "uninstall revoked at the IdP"
    );
}

/// `lanyard bridge NAME` given initialize, initialized and tools/list on stdin, then EOF:
/// the `result` of the tools/list answer.
fn bridge_tools_list(sandbox: &Sandbox, name: &str) -> Value {
    let mut cmd = sandbox.command(lanyard_bin());
    cmd.args(["bridge", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the bridge starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for m in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "e2e", "version": "0"}}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        ] {
            writeln!(stdin, "{m}").expect("write to the bridge");
        }
    }
    let out = child.wait_with_output().expect("the bridge ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["id"] == json!(2))
        .map(|v| v["result"].clone())
        .unwrap_or_else(|| panic!("no tools/list answer from the bridge:\n{stdout}\n{stderr}"))
}

#[test]
fn through_an_intercepting_proxy_everything_works_with_its_ca_in_lanyard_ca_file() {
    let (world, pki) = tls_world();
    let proxy = Proxy::mitmproxy(&pki.ca).expect("mitmproxy");
    let mut sandbox = sandbox_for(&pki);
    sandbox.set_env("HTTPS_PROXY", &proxy.url);
    sandbox.set_env(
        "LANYARD_CA_FILE",
        proxy.ca.as_ref().expect("mitmproxy's CA"),
    );

    sign_in_refresh_bridge_uninstall(&sandbox, &world);

    let log = proxy.log();
    let issuer = world.issuer_url("idp");
    for seen in [
        format!("POST {issuer}/token"),
        format!("POST {}", world.mcp_url("demo")),
        format!("POST {issuer}/token/revocation"),
    ] {
        assert!(log.contains(&seen), "the proxy carried {seen}:\n{log}");
    }
}

#[test]
fn through_a_connect_proxy_everything_works_with_the_world_ca_in_ssl_cert_file() {
    let (world, pki) = tls_world();
    let proxy = Proxy::tinyproxy().expect("tinyproxy");
    let mut sandbox = sandbox_for(&pki);
    sandbox.set_env("https_proxy", &proxy.url);
    sandbox.set_env("SSL_CERT_FILE", &pki.ca);

    sign_in_refresh_bridge_uninstall(&sandbox, &world);

    let log = proxy.log();
    for port in [
        world.issuer("idp")["port"].to_string(),
        url::Url::parse(world.gateway())
            .expect("gateway URL")
            .port()
            .expect("gateway port")
            .to_string(),
    ] {
        assert!(
            log.contains(&format!("{}:{port}", pki.host)),
            "the proxy tunnelled to {}:{port}:\n{log}",
            pki.host
        );
    }
}

#[test]
fn without_the_proxy_ca_add_fails_naming_the_certificate_its_issuer_and_the_fix() {
    let (world, pki) = tls_world();
    let proxy = Proxy::mitmproxy(&pki.ca).expect("mitmproxy");
    let mut sandbox = sandbox_for(&pki);
    sandbox.set_env("HTTPS_PROXY", &proxy.url);
    // The world's own CA is trusted, but not the one the proxy re-signs with.
    sandbox.set_env("SSL_CERT_FILE", &pki.ca);

    let run = sandbox.lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"]);
    run.assert_failed();
    let out = said(&run);
    for needed in [
        format!("certificate for {}", pki.host).to_lowercase(),
        "'mitmproxy'".to_owned(),
        "lanyard_ca_file".to_owned(),
    ] {
        assert!(out.contains(&needed), "{needed:?} in:\n{}", run.describe());
    }
    assert!(
        !out.contains("server down"),
        "a refused certificate is not a connection failure:\n{}",
        run.describe()
    );
    assert_nothing_stored(&sandbox);
    assert!(!sandbox.browser_was_opened(), "no sign-in was started");

    let probe = sandbox.lanyard(&["probe", &world.mcp_url("demo")]);
    probe.assert_failed();
    let out = said(&probe);
    assert!(
        out.contains("the server's certificate must be trusted") && out.contains("'mitmproxy'"),
        "{}",
        probe.describe()
    );
}

/// Plain http:// is allowed only to loopback because it never leaves the machine: a proxy must
/// not change that, so loopback servers are reached directly whatever the proxy variables say.
#[test]
fn loopback_servers_are_reached_directly_never_through_a_proxy() {
    let world = World::start(json!({})).expect("world");
    let proxy = Proxy::tinyproxy().expect("tinyproxy");
    let mut sandbox = Sandbox::new().expect("sandbox");
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"] {
        sandbox.set_env(var, &proxy.url);
    }
    add_ok(&sandbox, &world, "demo", "demo");
    token_ok(&sandbox, "demo");
    let log = proxy.log();
    assert!(
        !log.contains("Request (file descriptor") && !log.contains("Established connection"),
        "nothing went through the proxy:\n{log}"
    );
}

/// The tray is started by the desktop session, which does not see a shell profile's variables:
/// a `ca.pem` in Lanyard's config folder is trusted like `LANYARD_CA_FILE`.
#[test]
fn a_ca_pem_in_lanyards_config_folder_is_trusted_like_lanyard_ca_file() {
    let (world, pki) = tls_world();
    let proxy = Proxy::mitmproxy(&pki.ca).expect("mitmproxy");
    let mut sandbox = sandbox_for(&pki);
    sandbox.set_env("HTTPS_PROXY", &proxy.url);
    let dir = sandbox.config_home().join("lanyard");
    std::fs::create_dir_all(&dir).expect("config folder");
    std::fs::copy(
        proxy.ca.as_ref().expect("mitmproxy's CA"),
        dir.join("ca.pem"),
    )
    .expect("copy");

    let probe = sandbox.lanyard(&["probe", &world.mcp_url("demo")]);
    probe.assert_ok();
    assert!(
        proxy.log().contains(&world.mcp_url("demo")),
        "{}",
        proxy.log()
    );
}

/// `ALL_PROXY` stands for `HTTPS_PROXY` when that is unset; `NO_PROXY` sends a host direct.
#[test]
fn all_proxy_carries_https_and_no_proxy_names_hosts_reached_directly() {
    let (world, pki) = tls_world();
    let proxy = Proxy::tinyproxy().expect("tinyproxy");
    let mut sandbox = sandbox_for(&pki);
    sandbox.set_env("SSL_CERT_FILE", &pki.ca);
    sandbox.set_env("ALL_PROXY", &proxy.url);
    sandbox
        .lanyard(&["probe", &world.mcp_url("demo")])
        .assert_ok();
    assert!(
        proxy.log().contains(&format!("CONNECT {}:", pki.host)),
        "{}",
        proxy.log()
    );

    // A proxy nobody listens on: only a direct connection can succeed.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!(
        "http://127.0.0.1:{}",
        dead.local_addr().expect("addr").port()
    );
    drop(dead);
    sandbox.set_env("ALL_PROXY", &dead_url);
    sandbox.set_env("NO_PROXY", format!("example.com, {}", pki.host));
    sandbox
        .lanyard(&["probe", &world.mcp_url("demo")])
        .assert_ok();
    sandbox.set_env("NO_PROXY", "example.com");
    let through_dead = sandbox.lanyard(&["probe", &world.mcp_url("demo")]);
    through_dead.assert_failed();
}
