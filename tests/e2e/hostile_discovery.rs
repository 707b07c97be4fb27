//! Hostile and broken discovery input (issue 3 §4): each case is refused by `lanyard add` with
//! an error naming the rule, before any registration, browser or token request, and nothing
//! is saved; `lanyard probe` explains the same failure (rule + what to change) and exits 1.

use lanyard_e2e::Sandbox;

use crate::core_common::{assert_nothing_stored, said};
use crate::hostile_server::{Fault, Hostile};

/// `add` and `probe` against a server with `fault`; returns (add's text, probe's text), both
/// lower-cased, after the common assertions.
fn refused(fault: Fault) -> (String, String) {
    let server = Hostile::start(fault.clone());
    let sandbox = Sandbox::new().expect("sandbox");
    let add = sandbox.lanyard(&["add", &server.mcp_url(), "--name", "hostile"]);
    add.assert_failed();
    assert!(
        !sandbox.browser_was_opened(),
        "{fault:?}: no browser may open:\n{}",
        add.describe()
    );
    for forbidden in ["POST /register", "GET /authorize", "POST /token"] {
        assert!(
            !server.saw(forbidden),
            "{fault:?}: `{forbidden}` must not happen after a refused discovery: {:?}",
            server.requests()
        );
    }
    assert_nothing_stored(&sandbox);
    assert!(
        sandbox
            .files()
            .iter()
            .all(|f| !f.to_string_lossy().contains("lanyard")),
        "{fault:?}: no Lanyard file may be written: {:?}",
        sandbox.files()
    );

    let probe = sandbox.lanyard(&["probe", &server.mcp_url()]);
    probe.assert_failed();
    let p = said(&probe);
    assert!(
        p.contains("discovery stopped") && p.contains("rule") && p.contains("what to change"),
        "{fault:?}: probe must name the rule and the remedy:\n{}",
        probe.describe()
    );
    let json = sandbox.lanyard(&["probe", &server.mcp_url(), "--json"]);
    json.assert_failed();
    let v = json
        .json()
        .expect("probe --json prints JSON even on failure");
    assert_eq!(v["ok"], false);
    assert!(v["failure"]["rule"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(v["steps"].as_array().is_some_and(|s| !s.is_empty()));
    assert_nothing_stored(&sandbox);
    (said(&add), p)
}

fn both_say(texts: &(String, String), words: &[&str]) {
    for w in words {
        assert!(texts.0.contains(w), "add should say {w:?}:\n{}", texts.0);
        assert!(texts.1.contains(w), "probe should say {w:?}:\n{}", texts.1);
    }
}

#[test]
fn oversized_metadata_is_refused() {
    let t = refused(Fault::OversizedPrm);
    both_say(&t, &["larger than", "bytes allowed"]);
}

#[test]
fn metadata_with_wrong_content_type_is_refused() {
    let t = refused(Fault::PrmAsHtml);
    both_say(&t, &["application/json", "text/html"]);
}

#[test]
fn metadata_with_wrong_json_types_is_refused() {
    let t = refused(Fault::PrmWrongTypes);
    both_say(
        &t,
        &["authorization_servers", "must be an array of strings"],
    );
}

#[test]
fn resource_metadata_for_another_resource_is_refused() {
    let t = refused(Fault::PrmOtherResource);
    both_say(&t, &["evil.example.com", "rfc 9728 §3.3"]);
}

#[test]
fn cross_origin_redirect_during_discovery_is_refused() {
    let t = refused(Fault::PrmCrossOriginRedirect);
    both_say(&t, &["another origin", "localhost"]);
}

#[test]
fn authorization_server_naming_another_issuer_is_refused() {
    let t = refused(Fault::IssuerMismatch);
    both_say(&t, &["attacker.example.com", "rfc 8414 §3.3"]);
}

#[test]
fn plain_http_endpoint_on_a_remote_host_is_refused() {
    let t = refused(Fault::HttpTokenEndpoint);
    both_say(
        &t,
        &["token_endpoint", "http://idp.example.com", "loopback"],
    );
}

#[test]
fn authorization_server_without_pkce_s256_is_refused() {
    let t = refused(Fault::NoPkce);
    both_say(&t, &["pkce", "s256"]);
}

/// Odd but legal `WWW-Authenticate` syntax (two header lines, another scheme first with a
/// quoted comma, token68, lower-case scheme, spaces around `=`, an escaped quote in the URL)
/// is understood: the custom PRM location and the scope come from the challenge.
#[test]
fn odd_but_legal_challenge_syntax_is_understood() {
    let server = Hostile::start(Fault::OddChallenge);
    let sandbox = Sandbox::new().expect("sandbox");
    let probe = sandbox.lanyard(&["probe", &server.mcp_url(), "--json"]);
    probe.assert_ok();
    let v = probe.json().expect("json");
    assert_eq!(v["ok"], true, "{}", probe.describe());
    // A non-ASCII realm (obs-text) does not hide the challenge.
    assert_eq!(
        v["discovery"]["challenge"]["realm"],
        "Zürich",
        "{}",
        probe.describe()
    );
    assert_eq!(
        v["discovery"]["challenge"]["scope"],
        "mcp:tools  extra",
        "{}",
        probe.describe()
    );
    assert!(
        v["discovery"]["resource"]["metadata_url"]
            .as_str()
            .is_some_and(|u| u.contains("/custom/where%22ver")),
        "{}",
        probe.describe()
    );
    assert_eq!(
        v["scopes_to_request"],
        lanyard_e2e::json!(["mcp:tools", "extra"])
    );
    assert!(
        server.saw("GET /custom/where%22ver"),
        "{:?}",
        server.requests()
    );
}

#[test]
fn issuer_without_any_metadata_is_explained_with_every_url_tried() {
    let t = refused(Fault::NoAuthServerMetadata);
    both_say(
        &t,
        &[
            "no authorization server metadata",
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ],
    );
}

#[test]
fn a_server_that_needs_no_sign_in_is_told_apart() {
    let t = refused(Fault::Unprotected);
    both_say(&t, &["does not need a sign-in"]);
}

#[test]
fn a_url_that_is_not_an_mcp_endpoint_is_told_apart() {
    let t = refused(Fault::NotAnMcpEndpoint);
    both_say(&t, &["answered 404", "/mcp"]);
}

/// Plain http to a non-loopback host is refused before any connection; an unreachable
/// server is a transport error naming the URL; both with a non-zero exit and nothing saved.
#[test]
fn insecure_or_unreachable_urls_are_refused_before_anything_else() {
    let sandbox = Sandbox::new().expect("sandbox");
    let probe = sandbox.lanyard(&["probe", "http://gateway.example.com/mcp"]);
    probe.assert_failed();
    let text = said(&probe);
    assert!(
        text.contains("loopback") && text.contains("https://"),
        "{}",
        probe.describe()
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let probe = sandbox.lanyard(&["probe", &url]);
    probe.assert_failed();
    let text = said(&probe);
    assert!(
        text.contains("could not reach") && text.contains(&url) && text.contains("rule"),
        "{}",
        probe.describe()
    );
    let add = sandbox.lanyard(&["add", &url]);
    add.assert_failed();
    assert_nothing_stored(&sandbox);
}
