//! Enterprise-managed authorization (SEP-990): one browser sign-in to the company IdP, then
//! every server whose authorization server takes ID-JAGs from it works without a browser —
//! added, renewed when its token expires, renewed all at once by one new sign-in after the IdP
//! session ended — while a server whose authorization server takes none signs in the normal
//! way. Against tests/world/enterprise: an oidc-provider IdP issuing ID-JAGs by token exchange,
//! two TypeScript SDK MCP servers each behind its own oidc-provider authorization server.

use std::time::Duration;

use lanyard_e2e::{EnterpriseWorld, Run, Sandbox, Value, json};

fn world(config: Value) -> EnterpriseWorld {
    EnterpriseWorld::start(config).expect("enterprise world")
}

/// Browser sign-ins so far (the scripted browser's `open` steps).
fn browser_sign_ins(sandbox: &Sandbox) -> usize {
    sandbox
        .browser_log()
        .iter()
        .filter(|e| e["step"] == "open")
        .count()
}

#[track_caller]
fn ok(run: Run) -> Run {
    run.assert_ok();
    run
}

fn idp_add(sandbox: &Sandbox, world: &EnterpriseWorld) -> Run {
    ok(sandbox.lanyard(&["idp", "add", &world.idp()]))
}

fn add(sandbox: &Sandbox, world: &EnterpriseWorld, server: &str) -> Run {
    ok(sandbox.lanyard(&["add", &world.mcp_url(server), "--name", server]))
}

fn token(sandbox: &Sandbox, name: &str) -> String {
    let run = ok(sandbox.lanyard(&["token", name]));
    run.stdout.trim().to_string()
}

/// `list --json`'s entry for `name`.
fn listed(sandbox: &Sandbox, name: &str) -> Value {
    let run = ok(sandbox.lanyard(&["list", "--json"]));
    let v = run.json().expect("list --json");
    v["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The stored access token of `name` expires at (unix seconds), from `list --json`.
fn expires_at(sandbox: &Sandbox, name: &str) -> i64 {
    listed(sandbox, name)["expires_at"]
        .as_i64()
        .expect("expires_at")
}

fn wait_past(t: i64) {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        if now > t {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn successes(world: &EnterpriseWorld, issuer: &str, grant: &str) -> usize {
    world
        .token_requests(issuer, grant)
        .expect("log")
        .iter()
        .filter(|(status, _)| *status == 200)
        .count()
}

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[test]
fn one_company_sign_in_lets_two_servers_with_their_own_authorization_servers_work() {
    let world = world(json!({}));
    let sandbox = Sandbox::new().expect("sandbox");
    let signed_in = idp_add(&sandbox, &world);
    assert!(
        signed_in.stdout.contains("alice@corp.example"),
        "{}",
        signed_in.describe()
    );
    assert_eq!(browser_sign_ins(&sandbox), 1);

    for server in ["alpha", "beta"] {
        let run = add(&sandbox, &world, server);
        assert!(
            run.stderr
                .contains("as alice@corp.example (company sign-in; no browser)"),
            "add should say it went through the IdP:\n{}",
            run.describe()
        );
        let entry = listed(&sandbox, server);
        let via = entry["via"].as_str().unwrap_or_default();
        assert!(
            via.starts_with("via 127.0.0.1:") && via.ends_with(" as alice@corp.example"),
            "{entry}"
        );
        assert_eq!(entry["issuer"], world.issuer_of(server).as_str(), "{entry}");
        // A tool call through the saved tokens.
        let call = ok(sandbox.lanyard(&["call", server, "echo", "--args", r#"{"text":"hi"}"#]));
        assert!(call.stdout.contains("hi"), "{}", call.describe());
    }
    assert_eq!(
        browser_sign_ins(&sandbox),
        1,
        "no browser after the IdP sign-in"
    );
    assert_eq!(
        successes(&world, "idp", TOKEN_EXCHANGE),
        2,
        "one ID-JAG per server"
    );
    assert_eq!(successes(&world, "as-alpha", JWT_BEARER), 1);
    assert_eq!(successes(&world, "as-beta", JWT_BEARER), 1);
    // Each MCP server saw the IdP's user, through the client the IdP named for Lanyard.
    let log = world.log().expect("log");
    for server in ["alpha", "beta"] {
        let last = log["mcp"][server]
            .as_array()
            .and_then(|a| a.last())
            .cloned();
        let last = last.expect("requests");
        assert_eq!(last["status"], 200);
        assert_eq!(last["sub"], "alice");
        assert_eq!(last["client_id"], "lanyard-xaa");
    }
    let listed = ok(sandbox.lanyard(&["list"]));
    assert!(
        listed.stdout.contains("via 127.0.0.1:"),
        "{}",
        listed.describe()
    );
    // A removed server is no longer served through the IdP session; the other one still is.
    ok(sandbox.lanyard(&["remove", "beta"]));
    let idps = ok(sandbox.lanyard(&["idp", "list", "--json"]))
        .json()
        .expect("idp list --json");
    assert_eq!(idps["idps"][0]["servers"], json!(["alpha"]), "{idps}");
}

#[test]
fn an_expired_server_token_is_renewed_through_a_new_id_jag_without_a_browser() {
    let world = world(json!({ "accessTokenTtl": 3 }));
    let sandbox = Sandbox::new().expect("sandbox");
    idp_add(&sandbox, &world);
    add(&sandbox, &world, "alpha");
    let first = token(&sandbox, "alpha");
    wait_past(expires_at(&sandbox, "alpha"));

    let second = token(&sandbox, "alpha");
    assert_ne!(first, second, "a new access token");
    assert_eq!(successes(&world, "idp", TOKEN_EXCHANGE), 2, "a new ID-JAG");
    assert_eq!(successes(&world, "as-alpha", JWT_BEARER), 2);
    assert_eq!(browser_sign_ins(&sandbox), 1, "no browser for the renewal");
    // `login` signs it in again through the IdP too.
    ok(sandbox.lanyard(&["login", "alpha"]));
    assert_eq!(successes(&world, "idp", TOKEN_EXCHANGE), 3);
    assert_eq!(browser_sign_ins(&sandbox), 1, "no browser for login");
    let call = ok(sandbox.lanyard(&["call", "alpha", "echo", "--args", r#"{"text":"again"}"#]));
    assert!(call.stdout.contains("again"), "{}", call.describe());
}

#[test]
fn after_the_idp_session_ends_one_new_sign_in_renews_every_server() {
    let world = world(json!({ "accessTokenTtl": 3 }));
    let sandbox = Sandbox::new().expect("sandbox");
    idp_add(&sandbox, &world);
    add(&sandbox, &world, "alpha");
    add(&sandbox, &world, "beta");
    world.revoke_idp_sessions().expect("revoke at the IdP");
    wait_past(expires_at(&sandbox, "alpha").max(expires_at(&sandbox, "beta")));

    let refused = sandbox.lanyard(&["token", "alpha"]);
    refused.assert_failed();
    assert!(
        refused.output().contains("lanyard idp add"),
        "the error should say how to sign in again:\n{}",
        refused.describe()
    );
    assert_eq!(listed(&sandbox, "alpha")["status"], "needs_sign_in");
    let sessions = ok(sandbox.lanyard(&["idp", "list", "--json"]));
    assert_eq!(
        sessions.json().expect("json")["idps"][0]["status"],
        "ended",
        "{}",
        sessions.describe()
    );

    // Signing the server in again needs the company sign-in first, and says so.
    let login = sandbox.lanyard(&["login", "alpha"]);
    login.assert_failed();
    assert!(
        login.output().contains("lanyard idp add"),
        "{}",
        login.describe()
    );
    assert_eq!(
        browser_sign_ins(&sandbox),
        1,
        "no browser at the server's own AS"
    );

    let again = idp_add(&sandbox, &world);
    assert!(
        again.stdout.contains("\"alpha\": renewed"),
        "{}",
        again.describe()
    );
    assert!(
        again.stdout.contains("\"beta\": renewed"),
        "{}",
        again.describe()
    );
    assert_eq!(
        browser_sign_ins(&sandbox),
        2,
        "exactly one more browser sign-in"
    );
    for server in ["alpha", "beta"] {
        assert_eq!(listed(&sandbox, server)["status"], "ok");
        let call = ok(sandbox.lanyard(&["call", server, "echo", "--args", r#"{"text":"back"}"#]));
        assert!(call.stdout.contains("back"), "{}", call.describe());
    }
}

#[test]
fn idp_logout_revokes_the_company_session_and_uninstall_revokes_it_too() {
    let world = world(json!({}));
    let sandbox = Sandbox::new().expect("sandbox");
    idp_add(&sandbox, &world);
    add(&sandbox, &world, "alpha");
    let out = ok(sandbox.lanyard(&["idp", "logout"]));
    assert!(
        out.stdout.contains("revoked its refresh_token"),
        "{}",
        out.describe()
    );
    assert!(
        world
            .idp_revocations()
            .expect("log")
            .iter()
            .any(|h| h == "refresh_token"),
        "the IdP revoked the session's refresh token"
    );
    let sessions = ok(sandbox.lanyard(&["idp", "list", "--json"]));
    assert_eq!(sessions.json().expect("json")["idps"][0]["status"], "ended");

    // Signed in again, then uninstall: the session is revoked at the IdP once more.
    idp_add(&sandbox, &world);
    let before = world.idp_revocations().expect("log").len();
    let gone = sandbox.lanyard(&["uninstall", "--yes"]);
    assert!(
        world.idp_revocations().expect("log").len() > before,
        "uninstall revoked the IdP session:\n{}",
        gone.describe()
    );
    let left = sandbox.keyring().items().expect("keychain");
    assert!(left.is_empty(), "keychain items left: {left:?}");
}

#[test]
fn a_server_whose_authorization_server_takes_no_id_jag_signs_in_the_normal_way() {
    let world = world(json!({}));
    let sandbox = Sandbox::new().expect("sandbox");
    idp_add(&sandbox, &world);
    let run = add(&sandbox, &world, "plain");
    assert!(
        run.stderr.contains("not through your company sign-in")
            && run.stderr.contains("does not take ID-JAGs"),
        "add should say why it signed in the normal way:\n{}",
        run.describe()
    );
    assert_eq!(
        browser_sign_ins(&sandbox),
        2,
        "the server's own browser sign-in"
    );
    assert!(listed(&sandbox, "plain")["via"].is_null());
    assert_eq!(successes(&world, "idp", TOKEN_EXCHANGE), 0);
    let call = ok(sandbox.lanyard(&["call", "plain", "echo", "--args", r#"{"text":"plain"}"#]));
    assert!(call.stdout.contains("plain"), "{}", call.describe());
}

#[test]
fn the_engine_renews_an_idp_served_token_ahead_of_its_expiry() {
    let world = world(json!({ "accessTokenTtl": 8 }));
    let sandbox = Sandbox::new().expect("sandbox");
    idp_add(&sandbox, &world);
    add(&sandbox, &world, "alpha");
    let first = crate::refresh_support::stored_tokens(&sandbox, "alpha");
    let first_expiry = first["expires_at"].as_i64().expect("expires_at");
    let _daemon = crate::refresh_support::Daemon::start(&sandbox);

    // The engine alone (no command asks for a token) puts a new one in the keychain before the
    // first expires.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let renewed = loop {
        let now = crate::refresh_support::stored_tokens(&sandbox, "alpha");
        if now["access_token"] != first["access_token"] {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "not renewed: {now}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        renewed["obtained_at"].as_i64().expect("obtained_at") <= first_expiry,
        "renewed ahead of expiry: {renewed} after {first}"
    );
    assert!(
        successes(&world, "idp", TOKEN_EXCHANGE) >= 2,
        "a new ID-JAG"
    );
    assert_eq!(browser_sign_ins(&sandbox), 1);
}
