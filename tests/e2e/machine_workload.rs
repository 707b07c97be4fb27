//! Workload identity federation (SEP-1933): a real oidc-provider acting as the workload
//! platform (as a Kubernetes API server or a CI's OIDC issuer does) mints the identity token;
//! the MCP server's authorization server trusts that issuer and takes the token with the RFC
//! 7523 JWT-bearer grant, checked against the platform's JWKS. Lanyard reads the token from its
//! file at every request, so a rotated token is what the next renewal presents.

use lanyard_e2e::{Sandbox, json};

use crate::core_common::{assert_nothing_stored, assert_server_accepts, listed, said, token_ok};
use crate::machine_support::*;
use crate::refresh_support::{Daemon, state, stored_tokens, wait_until_due};

#[test]
fn a_platform_token_is_exchanged_and_read_again_from_its_file_at_each_renewal() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = machine_world(&sandbox.home().join("unused-key.pem"));
    let token_file = sandbox.home().join("workload-token");
    let first_workload = workload_token(&world);
    std::fs::write(&token_file, &first_workload).expect("token file");
    add_machine(
        &sandbox,
        &world,
        &[
            "--workload-token-file",
            token_file.to_str().expect("path"),
            "--client-id",
            "workload-agent",
        ],
    );
    let saved = &state(&sandbox)["servers"][0]["client"];
    assert_eq!(saved["grant"], "workload", "{saved}");
    let demo = listed(&sandbox)
        .into_iter()
        .find(|s| s["name"] == "demo")
        .expect("demo listed");
    assert_eq!(demo["client_source"], "workload-identity", "{demo}");
    echo_ok(&sandbox, "from a pod");

    // The platform rotates the token: the renewal presents the new one.
    let second_workload = workload_token(&world);
    assert_ne!(first_workload, second_workload);
    std::fs::write(&token_file, &second_workload).expect("rotate token file");
    let first = stored_tokens(&sandbox, "demo")["access_token"].clone();
    wait_until_due(&sandbox, "demo");
    let second = token_ok(&sandbox, "demo");
    assert_ne!(json!(second), first);
    assert_server_accepts(&world, "demo", &second);

    let grants = token_grants(&world, JWT_BEARER);
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(
        grants.iter().all(|g| g["status"] == json!(200)),
        "{grants:?}"
    );
    assert_eq!(grants[0]["resource"], json!(world.mcp_url("demo")));
    assert_ne!(
        grants[0]["assertion_sha"], grants[1]["assertion_sha"],
        "the rotated workload token was presented: {grants:?}"
    );
    assert!(!sandbox.browser_was_opened());
}

#[test]
fn an_expired_or_foreign_workload_token_is_refused_and_nothing_is_saved() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = machine_world(&sandbox.home().join("unused-key.pem"));
    let url = world.mcp_url("demo");
    let token_file = sandbox.home().join("workload-token");
    let path = token_file.to_str().expect("path");

    // Expired (a JWT whose exp has passed): refused before any request.
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4Iiwic3ViIjoieSIsImV4cCI6MTAwMDAwMDAwMH0.c2ln",
    )
    .expect("token file");
    let run = sandbox.lanyard(&["add", &url, "--workload-token-file", path]);
    run.assert_failed();
    assert!(said(&run).contains("expired"), "{}", run.describe());
    assert_nothing_stored(&sandbox);
    assert!(token_grants(&world, JWT_BEARER).is_empty());

    // Signed by an issuer the authorization server does not trust (a client credentials token
    // of the MCP server's own issuer): invalid_grant, said plainly.
    std::fs::write(&token_file, idp_token(&world)).expect("token file");
    let run = sandbox.lanyard(&[
        "add",
        &url,
        "--workload-token-file",
        path,
        "--client-id",
        "workload-agent",
    ]);
    run.assert_failed();
    assert!(said(&run).contains("invalid_grant"), "{}", run.describe());
    assert!(
        said(&run).contains("workload identity token"),
        "{}",
        run.describe()
    );
    assert_nothing_stored(&sandbox);
}

#[test]
fn the_daemon_renews_a_workload_server_on_its_own_with_the_rotated_token() {
    let sandbox = Sandbox::new().expect("sandbox");
    let world = machine_world(&sandbox.home().join("unused-key.pem"));
    let token_file = sandbox.home().join("workload-token");
    std::fs::write(&token_file, workload_token(&world)).expect("token file");
    add_machine(
        &sandbox,
        &world,
        &[
            "--workload-token-file",
            token_file.to_str().expect("path"),
            "--client-id",
            "workload-agent",
        ],
    );
    let mut daemon = Daemon::start(&sandbox);
    // The platform rotates the token every few seconds; nobody runs a command.
    let start = std::time::Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    while start.elapsed() < std::time::Duration::from_secs(2 * TTL + 5) {
        std::fs::write(&token_file, workload_token(&world)).expect("rotate");
        daemon.collect_for(std::time::Duration::from_secs(4));
        let access = stored_tokens(&sandbox, "demo")["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        assert_server_accepts(&world, "demo", &access);
        seen.insert(access);
    }
    let grants = token_grants(&world, JWT_BEARER);
    // A 20 s token is renewed at half its life: about four renewals in 45 s.
    assert!(
        grants.len() >= 3 && seen.len() >= 3,
        "{} grants, {} distinct tokens\n{}",
        grants.len(),
        seen.len(),
        daemon.log()
    );
    assert!(
        grants.iter().all(|g| g["status"] == json!(200)),
        "{grants:?}"
    );
    let shas: std::collections::BTreeSet<_> = grants
        .iter()
        .map(|g| g["assertion_sha"].to_string())
        .collect();
    assert_eq!(
        shas.len(),
        grants.len(),
        "each renewal read the rotated token: {grants:?}"
    );
    assert_eq!(world.counts().expect("counts").authorizations("idp"), 0);
}
