//! The browser leg going wrong: consent denied, nobody finishing, a foreign `state`, a wrong `iss`.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{listed, said};

fn add(sandbox: &Sandbox, world: &World) -> lanyard_e2e::Run {
    sandbox.lanyard_env(
        &["add", &world.mcp_url("demo"), "--name", "demo"],
        &[("LANYARD_CALLBACK_TIMEOUT_SECS", "3")],
    )
}

fn callback_responses(sandbox: &Sandbox) -> Vec<lanyard_e2e::Value> {
    sandbox
        .browser_log()
        .into_iter()
        .filter(|e| e["step"] == "callback-response")
        .collect()
}

#[test]
fn consent_denied_fails_with_access_denied_and_saves_no_server() {
    let world = World::start(json!({})).expect("world");
    let mut sandbox = Sandbox::new().expect("sandbox");
    sandbox.set_browser_mode("deny");
    let run = add(&sandbox, &world);
    run.assert_failed();
    let text = said(&run);
    assert!(
        text.contains("access_denied") || text.contains("declined"),
        "{}",
        run.describe()
    );
    assert!(!run.killed_by_hang_guard);
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_requests("idp", "authorization_code"),
        0
    );
    assert!(
        listed(&sandbox).is_empty(),
        "no server saved after a denied consent"
    );
}

#[test]
fn listener_gives_up_when_the_sign_in_is_never_finished() {
    let world = World::start(json!({})).expect("world");
    let mut sandbox = Sandbox::new().expect("sandbox");
    sandbox.set_browser_mode("never");
    let run = add(&sandbox, &world);
    run.assert_failed();
    assert!(said(&run).contains("not completed"), "{}", run.describe());
    assert!(sandbox.browser_was_opened());
    assert!(listed(&sandbox).is_empty());
}

#[test]
fn callback_with_a_foreign_state_is_rejected_and_never_exchanged() {
    let world = World::start(json!({})).expect("world");
    let mut sandbox = Sandbox::new().expect("sandbox");
    sandbox.set_browser_mode("foreign-state");
    let run = add(&sandbox, &world);
    run.assert_failed();
    let responses = callback_responses(&sandbox);
    assert!(
        responses.iter().any(|e| e["status"] == 400),
        "the listener answers a foreign state with 400: {responses:?}"
    );
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_requests("idp", "authorization_code"),
        0,
        "a code with a foreign state is never exchanged"
    );
    assert!(listed(&sandbox).is_empty());
}

#[test]
fn callback_from_another_issuer_is_refused_rfc9207() {
    let world = World::start(json!({})).expect("world");
    let mut sandbox = Sandbox::new().expect("sandbox");
    sandbox.set_browser_mode("wrong-iss");
    let run = add(&sandbox, &world);
    run.assert_failed();
    assert!(said(&run).contains("issuer"), "{}", run.describe());
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_requests("idp", "authorization_code"),
        0
    );
    assert!(listed(&sandbox).is_empty());
}
