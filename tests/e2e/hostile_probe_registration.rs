//! `lanyard probe --try-register` against the real test IdP: a real capability check of
//! dynamic registration (never the IdP's name), and no client left behind by the probe.

use lanyard_e2e::{Sandbox, World, json};

use crate::core_common::{assert_nothing_stored, said};

#[test]
fn dcr_refused_by_a_trusted_hosts_policy_is_explained_with_the_client_id_remedy() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "path": "/realms/dev", "dcr": "forbidden" }]
    }))
    .expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["probe", &world.mcp_url("demo"), "--try-register"]);
    run.assert_ok();
    let text = said(&run);
    // Found by the OIDC path-append form; refusal explained with its remedy.
    for w in [
        "/realms/dev/.well-known/openid-configuration",
        "trusted hosts",
        "refused",
        "--client-id",
    ] {
        assert!(
            text.contains(w),
            "probe should say {w:?}:\n{}",
            run.describe()
        );
    }
    let v = sandbox
        .lanyard(&["probe", &world.mcp_url("demo"), "--try-register", "--json"])
        .json()
        .expect("json");
    assert_eq!(v["registration"]["outcome"]["result"], "refused", "{v}");
    assert_eq!(v["registration"]["outcome"]["status"], 403, "{v}");
    assert_nothing_stored(&sandbox);
}

#[test]
fn open_dcr_is_confirmed_and_the_test_client_is_deleted_again() {
    let world = World::start(json!({ "issuers": [{ "name": "idp" }] })).expect("world");
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["probe", &world.mcp_url("demo"), "--try-register", "--json"]);
    run.assert_ok();
    let v = run.json().expect("json");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["registration"]["outcome"]["result"], "accepted", "{v}");
    assert_eq!(v["registration"]["outcome"]["deleted"], true, "{v}");
    let id = v["registration"]["outcome"]["client_id"]
        .as_str()
        .expect("client id")
        .to_owned();
    let left = world.clients("idp").expect("clients");
    assert!(
        left.iter()
            .all(|c| c["client_id"].as_str() != Some(id.as_str())),
        "the probe's test client {id} must be gone: {left:?}"
    );
    assert_nothing_stored(&sandbox);
}
