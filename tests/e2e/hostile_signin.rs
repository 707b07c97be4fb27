//! Hostile or odd answers after discovery: token responses with a missing or absurd lifetime,
//! and callbacks carrying `error=` or a foreign `state`. Sign-in runs for real against
//! [`Hostile`]'s approve-at-once `/authorize`, with a `$BROWSER` that follows its redirect.

use lanyard_e2e::{Run, Sandbox, tests_dir};

use crate::core_common::{assert_nothing_stored, listed, said};
use crate::hostile_server::{Fault, Hostile};

fn sandbox() -> Sandbox {
    let mut s = Sandbox::new().expect("sandbox");
    s.set_env(
        "BROWSER",
        tests_dir().join("conformance").join("follow-redirect"),
    );
    s
}

/// `lanyard add URL --name h --client-id pre` against the hostile server.
fn add_pre_registered(sb: &Sandbox, server: &Hostile, env: &[(&str, &str)]) -> Run {
    sb.lanyard_env(
        &[
            "add",
            &server.mcp_url(),
            "--name",
            "h",
            "--client-id",
            "pre",
        ],
        env,
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The saved token's expiry (unix seconds) after a successful `add`.
fn added_expiry(fault: Fault) -> i64 {
    let server = Hostile::start(fault.clone());
    let sb = sandbox();
    let run = add_pre_registered(&sb, &server, &[]);
    run.assert_ok();
    let servers = listed(&sb);
    assert_eq!(servers.len(), 1, "{fault:?}: {servers:?}");
    servers[0]["expires_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("{fault:?}: expires_at in {:?}", servers[0]))
}

#[test]
fn token_without_expires_in_gets_a_finite_default_lifetime() {
    let t0 = now();
    let exp = added_expiry(Fault::TokenNoExpiry);
    assert!(exp > t0, "expiry {exp} must lie in the future");
    assert!(
        exp < t0 + 24 * 3600,
        "without expires_in the token must not be treated as long-lived (expiry {exp})"
    );
}

#[test]
fn absurd_expires_in_is_clamped_not_overflowed() {
    let t0 = now();
    let exp = added_expiry(Fault::TokenHugeExpiry);
    assert!(exp > t0, "expiry {exp}");
    assert!(
        exp < t0 + 366 * 24 * 3600,
        "expires_in = 1e300 must be clamped to a sane lifetime (expiry {exp})"
    );
}

#[test]
fn callback_with_error_is_refused_and_nothing_is_saved() {
    let server = Hostile::start(Fault::CallbackError);
    let sb = sandbox();
    let run = add_pre_registered(&sb, &server, &[]);
    run.assert_failed();
    let text = said(&run);
    assert!(text.contains("access_denied"), "{}", run.describe());
    assert!(!server.saw("POST /token"), "no token request after error=");
    assert_nothing_stored(&sb);
}

#[test]
fn callback_with_foreign_state_is_ignored_and_nothing_is_saved() {
    let server = Hostile::start(Fault::CallbackForeignState);
    let sb = sandbox();
    let run = add_pre_registered(&sb, &server, &[("LANYARD_CALLBACK_TIMEOUT_SECS", "10")]);
    run.assert_failed();
    let text = said(&run);
    assert!(
        text.contains("`state` lanyard never sent") && text.contains("rfc 6749"),
        "the error must name the rule (foreign state ignored):\n{}",
        run.describe()
    );
    assert!(
        server.saw("GET /authorize"),
        "the sign-in was attempted: {:?}",
        server.requests()
    );
    assert!(
        !server.saw("POST /token"),
        "a code delivered with a foreign state must never be exchanged: {:?}",
        server.requests()
    );
    assert_nothing_stored(&sb);
}
