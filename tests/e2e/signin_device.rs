//! Sign-in by the RFC 8628 device authorization grant against oidc-provider: approved on the
//! verification page (then a tool call works), denied there (nothing saved), `slow_down`
//! honoured, and the grant chosen by itself on a machine without a display.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use lanyard_e2e::{Sandbox, Value, World, browser_path, json};

use crate::core_common::listed;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_world(slow_down: u32) -> World {
    World::start(json!({
        "issuers": [{ "name": "idp", "deviceFlow": { "interval": 1, "slowDown": slow_down } }]
    }))
    .expect("world")
}

/// What one `lanyard add` by device code did.
pub(crate) struct Outcome {
    pub ok: bool,
    pub stderr: String,
    pub browser_ran: bool,
}

/// Runs `lanyard ARGS`, and when it shows a verification URL (or an authorization URL), walks
/// it with the scripted browser in `mode` (approve | deny), as the user on another device would.
pub(crate) fn sign_in_by_device(sandbox: &Sandbox, args: &[&str], mode: &str) -> Outcome {
    sign_in_by_device_after(sandbox, args, mode, Duration::ZERO)
}

/// [`sign_in_by_device`], the user reaching the verification page only `delay` after the code
/// was shown (so Lanyard polls meanwhile).
fn sign_in_by_device_after(
    sandbox: &Sandbox,
    args: &[&str],
    mode: &str,
    delay: Duration,
) -> Outcome {
    let mut child = sandbox.spawn_lanyard(args).expect("spawn lanyard");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = String::new();
    let mut browser_ran = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("lanyard did not finish within 90 s:\n{said}");
            }
        };
        said.push_str(&line);
        said.push('\n');
        let url = line.trim();
        // The verification URL, or (after a fallback) the authorization URL.
        let to_open = url.contains("user_code=") || url.contains("code_challenge=");
        if !browser_ran && url.starts_with("http") && to_open {
            browser_ran = true;
            std::thread::sleep(delay);
            let status = sandbox
                .command(browser_path())
                .arg(url)
                .env("WORLD_BROWSER_MODE", mode)
                .status()
                .expect("run the scripted browser");
            assert!(status.success(), "the browser walk failed: {status}");
        }
    }
    let status = child.wait().expect("wait for lanyard");
    Outcome {
        ok: status.success(),
        stderr: said,
        browser_ran,
    }
}

fn issuer_log(world: &World) -> Vec<Value> {
    world.log().expect("log")["issuers"]["idp"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn device_polls(world: &World) -> Vec<Value> {
    issuer_log(world)
        .into_iter()
        .filter(|e| e["route"] == "token" && e["grant_type"] == DEVICE_GRANT)
        .collect()
}

#[test]
fn approved_device_sign_in_adds_the_server_and_a_tool_call_works() {
    let world = device_world(0);
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    let out = sign_in_by_device(
        &sandbox,
        &["add", &url, "--name", "demo", "--device"],
        "approve",
    );
    assert!(out.ok, "add --device failed:\n{}", out.stderr);
    assert!(out.browser_ran, "no verification URL shown:\n{}", out.stderr);
    assert!(out.stderr.contains("enter the code"), "{}", out.stderr);
    // The device code request and every poll carry the resource (RFC 8707).
    let log = issuer_log(&world);
    let resource = world.mcp_url("demo");
    let requests: Vec<_> = log
        .iter()
        .filter(|e| e["route"] == "device_authorization")
        .collect();
    assert_eq!(requests.len(), 1, "{log:?}");
    assert_eq!(requests[0]["resource"], resource.as_str());
    let polls = device_polls(&world);
    assert!(!polls.is_empty());
    assert!(polls.iter().all(|p| p["resource"] == resource.as_str()));
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_requests("idp", "authorization_code"),
        0,
        "no browser round trip"
    );
    // The registration asked for the device grant (the IdP lists it).
    let clients = world.clients("idp").expect("clients");
    assert!(
        clients.iter().any(|c| c["grant_types"]
            .as_array()
            .is_some_and(|g| g.iter().any(|x| x == DEVICE_GRANT))),
        "{clients:?}"
    );
    assert_eq!(listed(&sandbox).len(), 1);
    let call = sandbox.lanyard(&["call", "demo", "echo", "--args", r#"{"text":"by-device"}"#]);
    call.assert_ok();
    assert!(call.stdout.contains("by-device"), "{}", call.describe());
}

#[test]
fn denied_device_sign_in_fails_clearly_and_saves_nothing() {
    let world = device_world(0);
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    let out = sign_in_by_device(
        &sandbox,
        &["add", &url, "--name", "demo", "--device"],
        "deny",
    );
    assert!(!out.ok, "a denied sign-in must fail:\n{}", out.stderr);
    assert!(out.stderr.contains("declined"), "{}", out.stderr);
    assert!(out.stderr.contains("approve the request"), "{}", out.stderr);
    assert!(
        device_polls(&world)
            .iter()
            .any(|p| p["error"] == "access_denied"),
        "{:?}",
        device_polls(&world)
    );
    assert!(listed(&sandbox).is_empty(), "nothing saved after a denial");
}

#[test]
fn slow_down_adds_five_seconds_to_the_polling_interval() {
    let world = device_world(1);
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    // Approved only after the first poll, which the world answers `slow_down`.
    let out = sign_in_by_device_after(
        &sandbox,
        &["add", &url, "--name", "demo", "--device"],
        "approve",
        Duration::from_millis(2500),
    );
    assert!(out.ok, "{}", out.stderr);
    let log = issuer_log(&world);
    let asked = log
        .iter()
        .find(|e| e["route"] == "device_authorization")
        .expect("a device authorization request");
    let polls = device_polls(&world);
    let slow = polls
        .iter()
        .position(|p| p["error"] == "slow_down")
        .unwrap_or_else(|| panic!("the world answered no slow_down: {polls:?}"));
    let next = polls.get(slow + 1).expect("a poll after slow_down");
    let gap = next["at"].as_i64().unwrap() - polls[slow]["at"].as_i64().unwrap();
    // interval 1 s + 5 s after slow_down (a little slack for scheduling).
    assert!(gap >= 5_900, "polled again after {gap} ms");
    // Before it, the interval the IdP named (1 s), not the default 5 s.
    let first = polls[0]["at"].as_i64().unwrap() - asked["at"].as_i64().unwrap();
    assert!(first < 3_000, "first poll after {first} ms");
}

#[test]
fn without_a_display_the_device_grant_is_chosen_by_itself() {
    let world = device_world(0);
    let mut sandbox = Sandbox::new().expect("sandbox");
    // No $DISPLAY / $WAYLAND_DISPLAY in the sandbox; an empty $BROWSER names none.
    sandbox.set_env("BROWSER", "");
    let url = world.mcp_url("demo");
    let out = sign_in_by_device(&sandbox, &["add", &url, "--name", "demo"], "approve");
    assert!(out.ok, "{}", out.stderr);
    assert!(out.browser_ran, "{}", out.stderr);
    assert!(!device_polls(&world).is_empty());
}

#[test]
fn a_client_refused_the_chosen_device_grant_signs_in_with_the_browser_after_all() {
    // A pre-registered client without the device grant, on an IdP that offers it.
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "deviceFlow": { "interval": 1 },
                      "clients": [{ "client_id": "no-device" }] }]
    }))
    .expect("world");
    let mut sandbox = Sandbox::new().expect("sandbox");
    sandbox.set_env("BROWSER", "");
    let url = world.mcp_url("demo");
    let out = sign_in_by_device(
        &sandbox,
        &["add", &url, "--name", "demo", "--client-id", "no-device"],
        "approve",
    );
    assert!(out.ok, "{}", out.stderr);
    let refused = issuer_log(&world)
        .into_iter()
        .filter(|e| e["route"] == "device_authorization" && e["status"] == 400)
        .count();
    assert_eq!(refused, 1, "the device grant was tried first");
    assert!(device_polls(&world).is_empty());
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_requests("idp", "authorization_code"),
        1
    );
    assert_eq!(listed(&sandbox).len(), 1);
}

#[test]
fn probe_says_whether_the_device_grant_is_offered() {
    let world = device_world(0);
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["probe", &world.mcp_url("demo"), "--json"]);
    run.assert_ok();
    assert_eq!(run.json().expect("json")["device_grant"], true);
    let plain = World::start(json!({})).expect("world");
    let run = sandbox.lanyard(&["probe", &plain.mcp_url("demo")]);
    run.assert_ok();
    assert!(run.stdout.contains("Device sign-in"), "{}", run.describe());
    assert!(run.stdout.contains("not offered"), "{}", run.describe());
}

#[test]
fn login_device_signs_a_saved_server_in_again_by_device_code() {
    let world = device_world(0);
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    sandbox
        .lanyard(&["add", &url, "--name", "demo"])
        .assert_ok();
    let out = sign_in_by_device(&sandbox, &["login", "demo", "--device"], "approve");
    assert!(out.ok, "login --device failed:\n{}", out.stderr);
    assert!(out.stderr.contains("enter the code"), "{}", out.stderr);
    assert!(!device_polls(&world).is_empty(), "no device polls");
    assert_eq!(
        world
            .counts()
            .expect("counts")
            .token_requests("idp", "authorization_code"),
        1,
        "only `add` went through the browser"
    );
    let call = sandbox.lanyard(&["call", "demo", "echo", "--args", r#"{"text":"again"}"#]);
    call.assert_ok();
    assert!(call.stdout.contains("again"), "{}", call.describe());
}

#[test]
fn login_device_says_when_the_identity_provider_does_not_offer_it() {
    let world = World::start(json!({})).expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    sandbox
        .lanyard(&["add", &world.mcp_url("demo"), "--name", "demo"])
        .assert_ok();
    let run = sandbox.lanyard(&["login", "demo", "--device"]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stderr
            .contains("does not offer the device authorization grant"),
        "{}",
        run.describe()
    );
}

/// `add --device` with a confidential client against an AS whose `fault` refuses HTTP Basic
/// (the method Lanyard tries first: oidc-provider lists it first); what the issuer logged.
fn device_sign_in_refused_basic(fault: &str) -> Vec<Value> {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "deviceFlow": { "interval": 1 }, "faults": [fault],
                      "clients": [{ "client_id": "form-only", "client_secret": "s3cret",
                                    "token_endpoint_auth_method": "client_secret_post",
                                    "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT] }] }]
    }))
    .expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    let url = world.mcp_url("demo");
    let args = [
        "add",
        &url,
        "--name",
        "demo",
        "--client-id",
        "form-only",
        "--client-secret",
        "s3cret",
        "--device",
    ];
    let out = sign_in_by_device(&sandbox, &args, "approve");
    assert!(out.ok, "{}", out.stderr);
    let call = sandbox.lanyard(&["call", "demo", "echo", "--args", r#"{"text":"form"}"#]);
    call.assert_ok();
    issuer_log(&world)
}

/// The statuses of the requests to `route` (`device_authorization` or `token`).
fn statuses(log: &[Value], route: &str) -> Vec<i64> {
    log.iter()
        .filter(|e| e["route"] == route)
        .filter_map(|e| e["status"].as_i64())
        .collect()
}

#[test]
fn a_device_code_request_refused_for_basic_auth_is_asked_again_with_the_form() {
    let log = device_sign_in_refused_basic("refuse-basic");
    assert_eq!(statuses(&log, "device_authorization"), [401, 200], "{log:#?}");
    // The polls use the method that worked: none is refused.
    let tokens = statuses(&log, "token");
    assert!(!tokens.is_empty() && !tokens.contains(&401), "{log:#?}");
}

#[test]
fn a_device_poll_refused_for_basic_auth_is_retried_with_the_form_and_polling_goes_on() {
    let log = device_sign_in_refused_basic("refuse-basic-at-token");
    assert_eq!(statuses(&log, "device_authorization"), [200], "{log:#?}");
    // The first poll is refused once, retried with the form; every later poll uses the form.
    let tokens = statuses(&log, "token");
    assert_eq!(tokens.first(), Some(&401), "{log:#?}");
    assert_eq!(tokens.iter().filter(|s| **s == 401).count(), 1, "{log:#?}");
    assert!(
        log.iter()
            .any(|e| e["grant_type"] == DEVICE_GRANT && e["status"] == 200),
        "{log:#?}"
    );
}
