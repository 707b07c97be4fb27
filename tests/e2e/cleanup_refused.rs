//! `lanyard uninstall` when an identity provider refuses revocation (the official Python MCP
//! SDK demands a `client_secret` even from public clients; some IdPs answer public clients
//! with a bare 401), when the only leftover is a client only an admin can delete, and with
//! `--force` while the IdP is down. Exit codes: 0 everything done, 3 done on this machine with
//! the remote leftovers listed, 1 something on this machine left.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lanyard_e2e::{Sandbox, Value, World, json};

use crate::cleanup_common::{refresh_error, refresh_token, search, service, state, state_dir};
use crate::core_common::add_ok;

/// A revocation endpoint on loopback that refuses every request with `status` and `body`.
/// Returns its URL and the number of requests it answered.
fn refusing_revocation_endpoint(status: u16, body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/revoke", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then the form body (Content-Length).
            while let Ok(n) = conn.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    while buf.len() < p + 4 + len {
                        match conn.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    break;
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let resp = format!(
                "HTTP/1.1 {status} Refused\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    (url, hits)
}

/// Points every saved server's `revocation_endpoint` at `url` (the rest of the metadata, the
/// token endpoint included, stays the real issuer's).
fn use_revocation_endpoint(sb: &Sandbox, url: &str) {
    let path = state_dir(sb).join("state.json");
    let mut st: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("state JSON");
    for s in st["servers"].as_array_mut().expect("servers") {
        s["auth_server"]["revocation_endpoint"] = json!(url);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&st).expect("JSON")).expect("write state");
}

fn client_id(sb: &Sandbox) -> String {
    state(sb)["registrations"][0]["client_id"]
        .as_str()
        .expect("client id")
        .to_string()
}

/// An issuer without RFC 7592 (the client stays at the IdP, so its refresh token can be tried
/// afterwards) whose revocation endpoint refuses public clients: the refusal is reported with
/// the validity left, the refresh token indeed still refreshes, local cleanup finishes, exit 3.
#[test]
fn cleanup_refused_revocation_is_reported_and_the_uninstall_finishes_here() {
    for (status, body) in [
        (
            401,
            r#"{"error":"unauthorized_client","error_description":"Client secret is required"}"#,
        ),
        (401, ""),
    ] {
        let world = World::start(json!({
            "issuers": [{ "name": "idp", "registrationManagement": "none" }]
        }))
        .expect("world");
        let sb = Sandbox::new().expect("sandbox");
        add_ok(&sb, &world, "demo", "demo");
        let rt = refresh_token(&sb, "demo");
        let client = client_id(&sb);
        let svc = service(&sb);
        let (url, hits) = refusing_revocation_endpoint(status, body);
        use_revocation_endpoint(&sb, &url);

        let run = sb.lanyard(&["uninstall", "--yes"]);
        assert_eq!(run.code, Some(3), "{}", run.describe());
        assert!(hits.load(Ordering::SeqCst) >= 1, "{}", run.describe());
        assert!(!run.stderr.contains("error:"), "{}", run.describe());
        let out = run.stdout.to_lowercase();
        assert!(
            out.contains("refused to revoke the refresh token"),
            "{}",
            run.describe()
        );
        assert!(out.contains("stays valid until"), "{}", run.describe());
        assert!(out.contains("cannot know"), "{}", run.describe());
        assert!(
            !out.contains("no longer knows the client") && !out.contains("is dead"),
            "a refusal is not a dead client: {}",
            run.describe()
        );
        assert!(run.stdout.contains(&client), "{}", run.describe());
        // What was reported as still valid is: the refresh token still refreshes (HTTP 200).
        assert_eq!(
            refresh_error(&world, "idp", &client, &rt, &world.mcp_url("demo")),
            "ok",
            "the refresh token the report lists as still usable"
        );
        // Everything on this machine is gone, and a second run has nothing to do.
        assert!(!state_dir(&sb).exists(), "{}", run.describe());
        assert!(!search(&sb, &svc).contains("lanyard"));
        let again = sb.lanyard(&["uninstall", "--yes"]);
        again.assert_ok();
    }
}

/// An IdP without RFC 7592 whose revocation works: the only leftover is the client, printed
/// as a note (client id, issuer) — not as `error:` — with exit code 3.
#[test]
fn cleanup_refused_only_an_admin_deletable_client_left_is_a_note_and_exit_3() {
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "registrationManagement": "none" }]
    }))
    .expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    let client = client_id(&sb);
    let issuer = state(&sb)["registrations"][0]["issuer"]
        .as_str()
        .expect("issuer")
        .trim_end_matches('/')
        .to_string();

    let run = sb.lanyard(&["uninstall", "--yes"]);
    assert_eq!(run.code, Some(3), "{}", run.describe());
    assert!(!run.stderr.contains("error:"), "{}", run.describe());
    assert!(run.stdout.contains("note:"), "{}", run.describe());
    assert!(run.stdout.contains(&client), "{}", run.describe());
    assert!(run.stdout.contains(&issuer), "{}", run.describe());
    assert!(!state_dir(&sb).exists(), "{}", run.describe());

    // --json carries the same: local work complete, the client listed.
    let json_run = Sandbox::new().expect("sandbox");
    add_ok(&json_run, &world, "demo", "demo");
    let j = json_run.lanyard(&["uninstall", "--yes", "--json"]);
    assert_eq!(j.code, Some(3), "{}", j.describe());
    let report = j.json().expect("report");
    assert_eq!(report["local_complete"], json!(true), "{report}");
    assert_eq!(
        report["remote_leftovers"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
}

/// `--force` while the IdP is down: local cleanup finishes, the tokens not revoked and the
/// client not deleted are listed (client id, issuer), exit 3; the client indeed still exists.
#[test]
fn cleanup_refused_force_finishes_locally_while_the_idp_is_down() {
    let world = World::start(json!({})).expect("world");
    let sb = Sandbox::new().expect("sandbox");
    add_ok(&sb, &world, "demo", "demo");
    let regs = crate::cleanup_common::registrations(&sb);
    let (_, client, uri, token) = regs[0].clone();
    let svc = service(&sb);

    world.stop_issuer("idp").expect("stop");
    let plain = sb.lanyard(&["uninstall", "--yes"]);
    plain.assert_failed();
    assert!(
        plain.output().contains("--force"),
        "a failed remote item names --force: {}",
        plain.describe()
    );
    assert!(state_dir(&sb).exists());

    let forced = sb.lanyard(&["uninstall", "--yes", "--force"]);
    assert_eq!(forced.code, Some(3), "{}", forced.describe());
    assert!(!forced.stderr.contains("error:"), "{}", forced.describe());
    assert!(forced.stdout.contains(&client), "{}", forced.describe());
    assert!(
        forced.stdout.to_lowercase().contains("stay usable"),
        "{}",
        forced.describe()
    );
    assert!(!state_dir(&sb).exists(), "{}", forced.describe());
    assert!(!search(&sb, &svc).contains("lanyard"));

    // The client was listed as not deleted because it was not.
    world.start_issuer("idp").expect("start");
    assert_eq!(world.registration_status(&uri, &token).expect("GET"), 200);
    sb.lanyard(&["uninstall", "--yes"]).assert_ok();
}
