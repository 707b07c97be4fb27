//! Revocation against a scripted authorization server on loopback: the client authentication
//! the revocation endpoint lists, refusals reported as refusals (never as a dead client), and
//! `--force` finishing the local cleanup when an IdP is unreachable.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::*;
use crate::discovery::AuthServerMetadata;
use crate::servers::{ClientSource, Quirks, Registration, Server, ServerStatus, StateError};
use crate::tokens::store::{self, MemoryStore};
use crate::tokens::{SecretStore, TokenSet};

/// One request the fake AS received: path, lower-cased headers, body.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP server answering `/revoke` and `/token` with fixed answers.
struct FakeAs {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn answer(status: u16, body: &str) -> (u16, String) {
    (status, body.to_owned())
}

async fn fake_as(revoke: (u16, String), token: (u16, String)) -> FakeAs {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            let (revoke, token) = (revoke.clone(), token.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, len) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.lines();
                let path = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .unwrap_or("")
                    .to_owned();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
                    .collect();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let (status, text) = if path.starts_with("/revoke") {
                    revoke
                } else {
                    token
                };
                log.lock().unwrap().push(Seen {
                    path,
                    headers,
                    body,
                });
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    FakeAs { base, seen }
}

impl FakeAs {
    fn seen(&self, prefix: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}

fn meta(
    base: &str,
    token_methods: &[&str],
    revocation_methods: Option<&[&str]>,
) -> AuthServerMetadata {
    serde_json::from_value(serde_json::json!({
        "issuer": format!("{base}/"),
        "authorization_endpoint": format!("{base}/auth"),
        "token_endpoint": format!("{base}/token"),
        "registration_endpoint": null,
        "revocation_endpoint": format!("{base}/revoke"),
        "scopes_supported": null,
        "response_types_supported": ["code"],
        "grant_types_supported": null,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": token_methods,
        "revocation_endpoint_auth_methods_supported": revocation_methods,
        "client_id_metadata_document_supported": false,
        "authorization_response_iss_parameter_supported": false,
        "metadata_url": format!("{base}/.well-known/openid-configuration")
    }))
    .expect("metadata JSON")
}

fn server(name: &str, auth_server: AuthServerMetadata, client: ClientSource) -> Server {
    Server {
        name: name.into(),
        url: Url::parse(&format!("http://127.0.0.1:2/{name}")).unwrap(),
        resource: Url::parse(&format!("http://127.0.0.1:2/{name}")).unwrap(),
        auth_server,
        client,
        scopes: vec![],
        quirks: Quirks::default(),
        status: ServerStatus::Ok,
        added_at: 0,
    }
}

const EXPIRES_AT: i64 = 4_102_444_800; // 2100-01-01T00:00:00Z

fn tokens() -> TokenSet {
    TokenSet {
        access_token: "the-access-token".into(),
        token_type: "Bearer".into(),
        expires_at: EXPIRES_AT,
        refresh_token: Some("the-refresh-token".into()),
        reissuable: false,
        scope: None,
        obtained_at: 5,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    cleanup: Cleanup,
    secrets: Arc<MemoryStore>,
}

/// One server `s` on the fake AS: a public dynamic client `dyn-1` (RFC 7592 URI on the fake AS
/// when `manageable`), or a pre-registered confidential client when `secret` is given.
fn fixture(auth_server: AuthServerMetadata, secret: Option<&str>, manageable: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let paths = crate::paths::Paths::at(dir.path().join("lanyard"));
    paths.install_id().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let issuer = auth_server.issuer.clone();
    let base = auth_server.metadata_url.origin().ascii_serialization();
    StateFile::new(paths.clone())
        .update(|st| {
            match secret {
                Some(_) => st.put_server(server(
                    "s",
                    auth_server.clone(),
                    ClientSource::PreRegistered {
                        client_id: "given".into(),
                        has_secret: true,
                    },
                )),
                None => {
                    st.put_server(server("s", auth_server.clone(), ClientSource::Dynamic));
                    st.put_registration(Registration {
                        issuer: issuer.clone(),
                        client_id: "dyn-1".into(),
                        metadata: serde_json::json!({}),
                        redirect_uris: vec![],
                        token_endpoint_auth_method: "none".into(),
                        has_secret: false,
                        registration_client_uri: manageable
                            .then(|| Url::parse(&format!("{base}/reg/dyn-1")).unwrap()),
                        has_registration_access_token: manageable,
                        dead: false,
                        registered_at: 1,
                    });
                }
            }
            Ok::<_, StateError>(())
        })
        .unwrap();
    secrets
        .set(&store::tokens_key("s"), &tokens().to_json())
        .unwrap();
    if let Some(secret) = secret {
        secrets.set(&store::server_secret_key("s"), secret).unwrap();
    }
    if manageable {
        secrets
            .set(&store::registration_token_key(issuer.as_str()), "rat")
            .unwrap();
    }
    let cleanup = Cleanup::new(paths, secrets.clone(), None);
    Fixture {
        _dir: dir,
        cleanup,
        secrets,
    }
}

fn outcome_of(report: &Report, pred: &dyn Fn(&Item) -> bool) -> Outcome {
    report
        .steps
        .iter()
        .find(|s| pred(&s.item))
        .and_then(|s| s.outcome.clone())
        .expect("the item ran")
}

fn is_revoke(i: &Item) -> bool {
    matches!(i, Item::RevokeTokens { .. })
}

#[tokio::test]
async fn revocation_authenticates_with_the_method_the_revocation_endpoint_lists() {
    // Token endpoint: client_secret_post only; revocation endpoint: client_secret_basic only.
    let fake = fake_as(
        answer(200, "{}"),
        answer(400, r#"{"error":"invalid_grant"}"#),
    )
    .await;
    let m = meta(
        &fake.base,
        &["client_secret_post"],
        Some(&["client_secret_basic"]),
    );
    let f = fixture(m, Some("s3cret"), false);
    let report = f.cleanup.uninstall(&|_| {}).await.unwrap();
    assert!(
        matches!(outcome_of(&report, &is_revoke), Outcome::Done { .. }),
        "{report:?}"
    );
    let revokes = fake.seen("/revoke");
    assert!(!revokes.is_empty());
    for r in &revokes {
        assert!(
            r.header("authorization")
                .is_some_and(|a| a.starts_with("Basic ")),
            "HTTP Basic, as revocation_endpoint_auth_methods_supported says: {r:?}"
        );
        assert!(!r.body.contains("client_secret"), "{r:?}");
    }

    // Without a revocation list, the token endpoint's list decides (client_secret_post).
    let fake = fake_as(
        answer(200, "{}"),
        answer(400, r#"{"error":"invalid_grant"}"#),
    )
    .await;
    let m = meta(&fake.base, &["client_secret_post"], None);
    let f = fixture(m, Some("s3cret"), false);
    f.cleanup.uninstall(&|_| {}).await.unwrap();
    for r in &fake.seen("/revoke") {
        assert!(r.header("authorization").is_none(), "{r:?}");
        assert!(r.body.contains("client_secret=s3cret"), "{r:?}");
    }
}

/// A revocation endpoint refusing a public client (bare 401, or the Python MCP SDK's
/// `unauthorized_client`) while the token endpoint still knows the client: the tokens stay
/// valid, and the report says so with until when — never "the client is gone".
#[tokio::test]
async fn a_refused_revocation_is_reported_as_refused_with_the_validity_left() {
    for refusal in [
        answer(401, ""),
        answer(
            401,
            r#"{"error":"unauthorized_client","error_description":"Client secret is required"}"#,
        ),
        answer(400, r#"{"error":"invalid_client"}"#),
    ] {
        let fake = fake_as(refusal.clone(), answer(400, r#"{"error":"invalid_grant"}"#)).await;
        let f = fixture(meta(&fake.base, &["none"], None), None, false);
        let report = f.cleanup.uninstall(&|_| {}).await.unwrap();
        let out = outcome_of(&report, &is_revoke);
        let Outcome::LeftRemote { why } = &out else {
            panic!("{refusal:?}: a refusal is not a dead client: {out:?}");
        };
        assert!(why.contains("refused to revoke the refresh token"), "{why}");
        assert!(why.contains("valid until 00:00 UTC"), "{why}");
        assert!(why.contains("cannot know"), "{why}");
        // The client's standing was asked at the token endpoint (a made-up refresh token).
        assert_eq!(fake.seen("/token").len(), 1, "{refusal:?}");
        // Everything local finished: tokens and state are gone; exit code 3 material.
        assert!(report.local_complete, "{report:?}");
        assert!(f.secrets.get(&store::tokens_key("s")).unwrap().is_none());
        assert!(!f.cleanup.paths().dir().exists());
        let leftovers = report.remote_leftovers.clone();
        assert!(
            matches!(report.into_result(), Err(CleanupError::RemoteLeftovers { ref items }) if items == &leftovers),
        );
    }
}

/// The same refusal from a client the token endpoint no longer knows (explicit
/// `invalid_client`): its tokens are dead.
#[tokio::test]
async fn a_refusal_for_a_client_the_token_endpoint_does_not_know_is_already_gone() {
    let fake = fake_as(
        answer(401, ""),
        answer(401, r#"{"error":"invalid_client"}"#),
    )
    .await;
    let f = fixture(meta(&fake.base, &["none"], None), None, false);
    let report = f.cleanup.uninstall(&|_| {}).await.unwrap();
    assert!(
        matches!(outcome_of(&report, &is_revoke), Outcome::AlreadyGone { .. }),
        "{report:?}"
    );
}

/// The shared function `logout` / `remove` call reads a refusal the same way.
#[tokio::test]
async fn revoke_server_tokens_reports_a_refusal_for_logout() {
    let fake = fake_as(
        answer(400, r#"{"error":"unauthorized_client"}"#),
        answer(400, r#"{"error":"invalid_grant"}"#),
    )
    .await;
    let f = fixture(meta(&fake.base, &["none"], None), None, false);
    let st = f.cleanup.state_file().load().unwrap();
    let server = st.server("s").unwrap().clone();
    let r = crate::tokens::revoke::revoke_server_tokens(
        f.cleanup.http().unwrap(),
        &st,
        &server,
        &tokens(),
        &*f.secrets,
    )
    .await;
    assert!(!r.revoked && !r.already_dead, "{r:?}");
    let still = r.still_valid.expect("still valid");
    assert!(still.contains("unauthorized_client"), "{still}");
    assert!(still.contains("until 00:00 UTC"), "{still}");
}

/// `--force` with an unreachable IdP: everything local is removed, and the tokens and the
/// client are listed as left at the identity provider with client id and issuer.
#[tokio::test]
async fn force_finishes_locally_and_lists_the_remote_leftovers() {
    // Port 1 on loopback: nothing listens, every request fails to connect.
    let m = meta("http://127.0.0.1:1", &["none"], None);
    let f = fixture(m.clone(), None, true);
    let without = f.cleanup.uninstall(&|_| {}).await.unwrap();
    assert!(!without.local_complete);
    assert!(matches!(
        without.into_result(),
        Err(CleanupError::Incomplete { .. })
    ));
    assert!(f.cleanup.paths().dir().exists());

    let f = fixture(m, None, true);
    let cleanup = Cleanup::new(f.cleanup.paths().clone(), f.secrets.clone(), None).with_force(true);
    let report = cleanup.uninstall(&|_| {}).await.unwrap();
    assert!(report.local_complete, "{report:?}");
    assert!(!cleanup.paths().dir().exists(), "{report:?}");
    assert!(f.secrets.get(&store::tokens_key("s")).unwrap().is_none());
    let text = report.remote_leftovers.join("\n");
    assert!(
        text.contains("dyn-1") && text.contains("127.0.0.1:1"),
        "{text}"
    );
    assert!(text.contains("stay usable"), "{text}");
    assert!(matches!(
        outcome_of(&report, &|i| matches!(i, Item::DeleteClient { .. })),
        Outcome::LeftForAdmin { .. }
    ));
}
