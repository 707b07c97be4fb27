//! What the user confirmed is what `add` signs in to (issue 12, the `lanyard://add` confused
//! deputy): with `--expect-issuer` (the tray passes the issuer and endpoints its wizard showed),
//! `add` aborts before any registration, browser or token request when discovery names another
//! authorization server, and saves nothing.

use lanyard_e2e::Sandbox;

use crate::core_common::{assert_nothing_stored, said};
use crate::hostile_server::{Fault, Hostile};

#[test]
fn add_aborts_before_any_sign_in_when_the_issuer_is_not_the_one_confirmed() {
    let server = Hostile::start(Fault::None);
    let sandbox = Sandbox::new().expect("sandbox");
    let add = sandbox.lanyard(&[
        "add",
        &server.mcp_url(),
        "--expect-issuer",
        "https://idp.corp.example",
    ]);
    add.assert_failed();
    let text = said(&add);
    assert!(
        text.contains("changed since you confirmed") && text.contains("idp.corp.example"),
        "{}",
        add.describe()
    );
    assert!(!sandbox.browser_was_opened(), "{}", add.describe());
    for forbidden in ["POST /register", "GET /authorize", "POST /token"] {
        assert!(
            !server.saw(forbidden),
            "`{forbidden}` must not happen: {:?}",
            server.requests()
        );
    }
    assert_nothing_stored(&sandbox);
}

#[test]
fn add_signs_in_when_discovery_names_the_confirmed_issuer() {
    let server = Hostile::start(Fault::None);
    let sandbox = Sandbox::new().expect("sandbox");
    let add = sandbox.lanyard(&["add", &server.mcp_url(), "--expect-issuer", &server.base]);
    add.assert_ok();
    assert!(server.saw("POST /token"), "{:?}", server.requests());
}
