//! A headless agent's own client (OAuth 2.1 client credentials, SEP-1046) against a real
//! oidc-provider with RFC 8707 resource indicators: `lanyard add URL --client-credentials`
//! with a client secret or a private key (RFC 7523 §2.2 `private_key_jwt`), a tool call, and a
//! new token requested again before the old one expires — no browser, no refresh token.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{assert_nothing_stored, assert_server_accepts, listed, said, token_ok};
use crate::machine_support::*;
use crate::refresh_support::{state, stored_tokens, wait_until_due};

fn demo(sandbox: &Sandbox) -> lanyard_e2e::Value {
    listed(sandbox)
        .into_iter()
        .find(|s| s["name"] == "demo")
        .expect("demo is listed")
}

#[test]
fn an_agent_with_a_client_secret_is_added_without_a_browser_and_gets_a_new_token_before_expiry() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = machine_world(&sandbox.home().join("unused-key.pem"));
    let secret_file = sandbox.home().join("agent.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).expect("secret file");
    add_machine(
        &sandbox,
        &world,
        &[
            "--client-credentials",
            "--client-id",
            "agent-secret",
            "--client-secret-file",
            secret_file.to_str().expect("path"),
        ],
    );
    // The secret went to the keychain: the file can go.
    std::fs::remove_file(&secret_file).expect("remove secret file");

    let first = stored_tokens(&sandbox, "demo");
    assert_eq!(first["reissuable"], json!(true), "{first}");
    assert!(first.get("refresh_token").is_none(), "{first}");
    let grants = token_grants(&world, "client_credentials");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["resource"], json!(world.mcp_url("demo")));
    assert_eq!(grants[0]["scope"], json!("mcp:tools"));
    assert_eq!(grants[0]["client_id"], json!("agent-secret"));
    let saved = &state(&sandbox)["servers"][0]["client"];
    assert_eq!(saved["kind"], "machine", "{saved}");
    assert_eq!(saved["grant"], "client_secret", "{saved}");
    assert!(
        !saved.to_string().contains(SECRET),
        "no secret in the state file"
    );
    let listed = demo(&sandbox);
    assert_eq!(listed["client_source"], "client-credentials", "{listed}");
    assert_eq!(listed["refreshable"], json!(true), "{listed}");
    echo_ok(&sandbox, "hello from a cron job");

    // Due for renewal: `lanyard token` asks the AS again, through the same path as a refresh.
    wait_until_due(&sandbox, "demo");
    let second = token_ok(&sandbox, "demo");
    assert_ne!(second, first["access_token"].as_str().expect("token"));
    assert_server_accepts(&world, "demo", &second);
    assert_eq!(token_grants(&world, "client_credentials").len(), 2);
    let counts = world.counts().expect("counts");
    assert_eq!(counts.token_requests("idp", "refresh_token"), 0);
    assert_eq!(counts.authorizations("idp"), 0);
    echo_ok(&sandbox, "and after the renewal");
    assert!(!sandbox.browser_was_opened());
}

#[test]
fn an_agent_with_a_private_key_signs_its_own_assertions_and_renews_the_same_way() {
    let sandbox = Sandbox::new().expect("sandbox");
    let key_file = sandbox.home().join("agent-key.pem");
    let world = machine_world(&key_file);
    add_machine(
        &sandbox,
        &world,
        &[
            "--client-credentials",
            "--client-id",
            "agent-key",
            "--private-key-file",
            key_file.to_str().expect("path"),
            "--key-id",
            KEY_ID,
        ],
    );
    let grants = token_grants(&world, "client_credentials");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["client_id"], json!("agent-key"), "{grants:?}");
    assert_eq!(grants[0]["status"], json!(200), "{grants:?}");
    let saved = &state(&sandbox)["servers"][0]["client"];
    assert_eq!(saved["grant"], "private_key_jwt", "{saved}");
    assert_eq!(
        saved["key_file"],
        json!(key_file),
        "the key stays in its file: {saved}"
    );
    assert_eq!(
        demo(&sandbox)["client_source"],
        "client-credentials (private_key_jwt)"
    );
    echo_ok(&sandbox, "signed by my own key");

    let first = stored_tokens(&sandbox, "demo")["access_token"].clone();
    wait_until_due(&sandbox, "demo");
    let second = token_ok(&sandbox, "demo");
    assert_ne!(json!(second), first);
    assert_server_accepts(&world, "demo", &second);
    let grants = token_grants(&world, "client_credentials");
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(
        grants.iter().all(|g| g["status"] == json!(200)),
        "{grants:?}"
    );
    // Sign-out asks the revocation endpoint, the client authenticated by a new assertion there
    // too; signing in again signs a new one.
    let logout = sandbox.lanyard(&["logout", "demo"]);
    logout.assert_ok();
    assert!(!said(&logout).contains("refused"), "{}", logout.describe());
    let revocations: Vec<_> = world.log().expect("log")["issuers"]["idp"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["route"] == "revocation")
        .collect();
    assert_eq!(revocations.len(), 1, "{revocations:?}");
    // The client was authenticated (no invalid_client): oidc-provider cannot revoke its JWT
    // access tokens, and says so (RFC 7009 `unsupported_token_type`), which logout passes on.
    assert!(
        said(&logout).contains("unsupported_token_type"),
        "{}",
        logout.describe()
    );
    assert_eq!(demo(&sandbox)["status"], "needs_sign_in");
    sandbox.lanyard(&["login", "demo"]).assert_ok();
    echo_ok(&sandbox, "signed again");
    assert_eq!(token_grants(&world, "client_credentials").len(), 3);
}

#[test]
fn logout_asks_the_revocation_endpoint_and_login_asks_again_without_a_browser() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = machine_world(&sandbox.home().join("unused-key.pem"));
    // A CI job's way: the secret in LANYARD_CLIENT_SECRET (a masked variable), no file.
    let url = world.mcp_url("demo");
    sandbox
        .lanyard_env(
            &[
                "add",
                &url,
                "--name",
                "demo",
                "--client-credentials",
                "--client-id",
                "agent-secret",
            ],
            &[("LANYARD_CLIENT_SECRET", SECRET)],
        )
        .assert_ok();
    assert!(!sandbox.browser_was_opened());
    let logout = sandbox.lanyard(&["logout", "demo"]);
    logout.assert_ok();
    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.revocations("idp"),
        1,
        "the revocation endpoint is asked"
    );
    // oidc-provider cannot revoke JWT access tokens (RFC 7009 `unsupported_token_type`);
    // logout says so and when the token expires.
    assert!(
        said(&logout).contains("unsupported_token_type"),
        "{}",
        logout.describe()
    );
    assert_eq!(demo(&sandbox)["status"], "needs_sign_in");

    sandbox.lanyard(&["login", "demo"]).assert_ok();
    assert_eq!(demo(&sandbox)["status"], "ok");
    assert_eq!(token_grants(&world, "client_credentials").len(), 2);
    echo_ok(&sandbox, "back");
    assert!(!sandbox.browser_was_opened());

    sandbox.lanyard(&["remove", "demo"]).assert_ok();
    assert_nothing_stored(&sandbox);
}

#[test]
fn a_wrong_secret_or_a_wrong_combination_of_flags_saves_nothing() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = machine_world(&sandbox.home().join("unused-key.pem"));
    let url = world.mcp_url("demo");
    let wrong = sandbox.home().join("wrong.secret");
    std::fs::write(&wrong, "not-the-secret").expect("secret file");
    let wrong = wrong.to_str().expect("path");

    let run = sandbox.lanyard(&[
        "add",
        &url,
        "--client-credentials",
        "--client-id",
        "agent-secret",
        "--client-secret-file",
        wrong,
    ]);
    run.assert_failed();
    assert!(said(&run).contains("invalid_client"), "{}", run.describe());
    assert!(said(&run).contains("client id"), "{}", run.describe());
    assert_nothing_stored(&sandbox);

    for (args, expect) in [
        (
            vec!["--client-credentials", "--client-id", "agent-secret"],
            "--client-secret-file",
        ),
        (vec!["--client-secret-file", wrong], "--client-credentials"),
        (
            vec!["--client-credentials", "--client-secret-file", wrong],
            "--client-id",
        ),
        (
            vec![
                "--client-credentials",
                "--client-id",
                "agent-secret",
                "--client-secret-file",
                wrong,
                "--private-key-file",
                wrong,
            ],
            "cannot be used with",
        ),
        (
            vec!["--workload-token-file", wrong, "--client-credentials"],
            "cannot be used with",
        ),
        (
            vec!["--workload-token-file", wrong, "--device"],
            "cannot be used with",
        ),
    ] {
        let mut full = vec!["add", url.as_str()];
        full.extend(args.iter().copied());
        let run = sandbox.lanyard(&full);
        run.assert_failed();
        assert!(
            run.output().contains(expect),
            "{args:?} should mention {expect}: {}",
            run.describe()
        );
        assert_nothing_stored(&sandbox);
    }
    // The refused secret was tried once more with the other method the AS lists (basic, then
    // post); the wrong flags sent nothing.
    assert_eq!(token_grants(&world, "client_credentials").len(), 2);
}

/// An authorization server for machines only publishes neither an authorization endpoint nor
/// PKCE methods (RFC 8414 §2; Microsoft Entra ID's metadata lists no PKCE methods either): a
/// machine client adds and calls a tool through it, while a person's sign-in there is still
/// refused before any registration or browser, and `lanyard probe` names PKCE S256 and says a
/// machine client would work.
#[test]
fn an_as_without_pkce_or_authorization_endpoint_serves_a_machine_client_but_no_person() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = World::start(json!({
        "issuers": [{
            "name": "idp",
            "clientCredentials": true,
            "faults": ["machine-only"],
            "clients": [{
                "client_id": "agent-secret",
                "client_secret": SECRET,
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "scope": "mcp:tools"
            }]
        }],
        "mcpServers": [{ "name": "demo", "issuer": "idp" }]
    }))
    .expect("world starts");
    let url = world.mcp_url("demo");

    let probe = sandbox.lanyard(&["probe", &url, "--json"]);
    probe.assert_failed();
    let v = probe.json().expect("probe --json");
    let served = &v["discovery"]["auth_server"];
    assert_eq!(served["authorization_endpoint"], json!(null), "{v}");
    assert_eq!(served["code_challenge_methods_supported"], json!([]), "{v}");
    assert_eq!(v["ok"], json!(false), "{v}");
    let rule = v["failure"]["rule"].as_str().unwrap_or_default();
    assert!(rule.contains("PKCE S256"), "{v}");
    assert!(
        v["notes"].as_array().is_some_and(|n| n.iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.contains("--client-credentials")))),
        "{v}"
    );

    let person = sandbox.lanyard(&["add", &url, "--name", "person"]);
    person.assert_failed();
    assert!(said(&person).contains("s256"), "{}", person.describe());
    assert!(!sandbox.browser_was_opened());
    let counts = world.counts().expect("counts");
    assert_eq!(counts.registrations("idp"), 0, "no registration");
    assert_eq!(counts.authorizations("idp"), 0, "no authorization request");
    assert_nothing_stored(&sandbox);

    let secret_file = sandbox.home().join("agent.secret");
    std::fs::write(&secret_file, SECRET).expect("secret file");
    add_machine(
        &sandbox,
        &world,
        &[
            "--client-credentials",
            "--client-id",
            "agent-secret",
            "--client-secret-file",
            secret_file.to_str().expect("path"),
        ],
    );
    assert_eq!(token_grants(&world, "client_credentials").len(), 1);
    echo_ok(&sandbox, "through an AS for machines only");
}
