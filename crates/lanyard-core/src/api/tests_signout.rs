//! Signing out while a refresh is at the identity provider (issue 13's logout race): the real
//! `Lanyard::logout` against a loopback token and revocation endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use super::Lanyard;
use crate::paths::Paths;
use crate::servers::{ServerStatus, StateError, StateFile};
use crate::tokens::set::now;
use crate::tokens::store::{self, MemoryStore};
use crate::tokens::{FreshError, SecretStore, TokenSet};

/// A loopback IdP: `/token` says it was reached, waits `delay`, then rotates (`at-N`, `rt-N`);
/// `/revoke` records the form it got and answers 200.
struct Idp {
    base: String,
    reached_token: Arc<Notify>,
    revoked: Arc<Mutex<Vec<String>>>,
}

async fn idp(delay: Duration) -> Idp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let reached_token = Arc::new(Notify::new());
    let revoked = Arc::new(Mutex::new(Vec::new()));
    let (reached, log) = (reached_token.clone(), revoked.clone());
    tokio::spawn(async move {
        let mut refreshes = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(p) = text.find("\r\n\r\n") {
                    let len = text[..p]
                        .to_lowercase()
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(str::to_owned))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if n == 0 || buf.len() >= p + 4 + len {
                        break (text[..p].to_owned(), text[p + 4..].to_owned());
                    }
                } else if n == 0 {
                    return;
                }
            };
            let body = if head.starts_with("POST /token") {
                reached.notify_one();
                tokio::time::sleep(delay).await;
                refreshes += 1;
                format!(
                    r#"{{"access_token":"at-{refreshes}","token_type":"Bearer","expires_in":600,"refresh_token":"rt-{refreshes}"}}"#
                )
            } else {
                log.lock().unwrap().push(body);
                String::new()
            };
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    Idp {
        base,
        reached_token,
        revoked,
    }
}

#[tokio::test]
async fn a_logout_during_a_refresh_revokes_the_rotated_tokens_and_none_come_back() {
    let idp = idp(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    let file = StateFile::new(paths.clone());
    let mut server = crate::servers::test_server("s");
    server.auth_server = crate::discovery::auth_server::test_metadata(&idp.base);
    server.auth_server.revocation_endpoint =
        Some(url::Url::parse(&format!("{}/revoke", idp.base)).unwrap());
    file.update(|st| {
        st.put_server(server);
        Ok::<_, StateError>(())
    })
    .unwrap();
    let secrets = Arc::new(MemoryStore::new());
    // Due for a refresh: a few seconds left of a long life.
    let due = TokenSet {
        access_token: "at-0".into(),
        token_type: "Bearer".into(),
        expires_at: now() + 10,
        refresh_token: Some("rt-0".into()),
        reissuable: false,
        scope: None,
        obtained_at: now() - 600,
    };
    secrets
        .set(&store::tokens_key("s"), &due.to_json())
        .unwrap();
    let lanyard = Lanyard::with(paths, secrets.clone());

    // The refresh is at the IdP when the logout starts.
    let refresh = lanyard.token("s");
    let logout = async {
        idp.reached_token.notified().await;
        lanyard.logout("s").await
    };
    let (refreshed, logged_out) = tokio::join!(refresh, logout);

    // The refresh held the server's lock and finished; the logout waited for it and revoked
    // what the refresh rotated in, so no live grant is left behind at the IdP.
    assert_eq!(refreshed.unwrap().access_token, "at-1");
    assert!(logged_out.unwrap().revoked);
    let revoked = idp.revoked.lock().unwrap().clone();
    assert!(
        revoked.iter().any(|form| form.contains("token=rt-1")),
        "{revoked:?}"
    );
    assert!(!revoked.iter().any(|form| form.contains("token=rt-0")));
    // Nothing wrote tokens back, and the next use asks for a sign-in.
    assert_eq!(secrets.get(&store::tokens_key("s")).unwrap(), None);
    let status = file.load().unwrap().server("s").unwrap().status.clone();
    assert!(matches!(status, ServerStatus::NeedsSignIn { .. }));
    let e = lanyard.token("s").await.unwrap_err();
    assert!(
        matches!(
            e.downcast_ref::<FreshError>(),
            Some(FreshError::NeedsSignIn { .. })
        ),
        "{e}"
    );
}
