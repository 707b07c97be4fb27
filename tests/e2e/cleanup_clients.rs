//! `lanyard clients [--json]` and `lanyard clients prune`.

use lanyard_e2e::{Sandbox, World, json};

use crate::cleanup_common::registrations;
use crate::core_common::add_ok;

#[test]
fn clients_lists_registrations_and_prune_deletes_only_unused_ones() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp" }, { "name": "idp2" }],
        "mcpServers": [
            { "name": "a", "issuer": "idp" },
            { "name": "b", "issuer": "idp" },
            { "name": "c", "issuer": "idp2" }
        ]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");
    let empty = sb.lanyard(&["clients", "--json"]);
    empty.assert_ok();
    assert_eq!(empty.json().expect("json"), json!([]));

    add_ok(&sb, &world, "a", "a");
    add_ok(&sb, &world, "b", "b");
    add_ok(&sb, &world, "c", "c");
    let regs = registrations(&sb);

    let run = sb.lanyard(&["clients", "--json"]);
    run.assert_ok();
    let list = run.json().expect("json");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2, "{list:?}");
    let idp = world.issuer_url("idp");
    let first = list
        .iter()
        .find(|c| {
            c["issuer"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches('/')
                == idp.trim_end_matches('/')
        })
        .expect("idp's registration");
    assert_eq!(first["servers"], json!(["a", "b"]), "{first}");
    assert!(first["created_at"].as_i64().unwrap_or(0) > 0, "{first}");
    assert!(first["last_used_at"].as_i64().is_some(), "{first}");
    let human = sb.lanyard(&["clients"]);
    human.assert_ok();
    assert!(
        human
            .stdout
            .contains(first["client_id"].as_str().unwrap_or("?")),
        "{}",
        human.describe()
    );

    // Nothing unused yet: prune deletes nothing.
    let none = sb.lanyard(&["clients", "prune"]);
    none.assert_ok();
    assert_eq!(
        world.counts().expect("counts").registration_deletes("idp"),
        0
    );

    // Both servers of idp gone: its registration is unused; idp2's is still used by c.
    sb.lanyard(&["remove", "a"]).assert_ok();
    sb.lanyard(&["remove", "b"]).assert_ok();
    let dry = sb.lanyard(&["clients", "prune", "--dry-run"]);
    dry.assert_ok();
    assert!(
        dry.stdout
            .contains(first["client_id"].as_str().unwrap_or("?")),
        "{}",
        dry.describe()
    );

    let prune = sb.lanyard(&["clients", "prune"]);
    prune.assert_ok();
    for (issuer, client_id, uri, token) in &regs {
        let status = world.registration_status(uri, token).expect("GET");
        if issuer.trim_end_matches('/') == idp.trim_end_matches('/') {
            assert_eq!(status, 401, "unused client {client_id} deleted");
        } else {
            assert_eq!(status, 200, "client {client_id} used by c is kept");
        }
    }
    let after = sb.lanyard(&["clients", "--json"]);
    after.assert_ok();
    let after = after.json().expect("json");
    assert_eq!(after.as_array().map(|a| a.len()), Some(1), "{after}");
    assert_eq!(after[0]["servers"], json!(["c"]));
    // c still works.
    sb.lanyard(&["tools", "c"]).assert_ok();
}
