//! The fast path, the single flight under the refresh lock, rotation safety, and the races
//! with sign-out and sign-in.

use super::*;
use crate::paths::Paths;
use crate::servers::Server;
use crate::tokens::MemoryStore;

fn server(name: &str) -> Server {
    crate::servers::test_server(name)
}

fn tokens(expires_in: i64) -> TokenSet {
    TokenSet {
        access_token: "at".into(),
        token_type: "Bearer".into(),
        expires_at: now() + expires_in,
        refresh_token: Some("rt".into()),
        reissuable: false,
        scope: None,
        obtained_at: now(),
    }
}

/// A keychain that fails its first `fails` writes.
struct Flaky {
    fails: std::sync::atomic::AtomicUsize,
    inner: MemoryStore,
}
impl SecretStore for Flaky {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        use std::sync::atomic::Ordering;
        if self
            .fails
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(SecretError::Interrupted {
                action: "write",
                key: key.into(),
                detail: "org.freedesktop.DBus.Error.NoReply".into(),
            });
        }
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.inner.delete(key)
    }
}

#[tokio::test]
async fn a_rotated_token_set_survives_a_keychain_that_fails_briefly() {
    let waits = [std::time::Duration::ZERO; 3];
    let store = Flaky {
        fails: 2.into(),
        inner: MemoryStore::default(),
    };
    persist_rotated(&store, "tokens:s", "new", &waits)
        .await
        .unwrap();
    assert_eq!(store.get("tokens:s").unwrap().as_deref(), Some("new"));

    let down = Flaky {
        fails: 10.into(),
        inner: MemoryStore::default(),
    };
    let err = persist_rotated(&down, "tokens:s", "new", &waits).await;
    assert!(err.is_err(), "a keychain that stays down is reported");
    assert_eq!(
        down.fails.load(std::sync::atomic::Ordering::SeqCst),
        6,
        "1 try + 3 retries"
    );

    // A locked keychain is not asked again and again (each try may prompt the user).
    struct Locked(std::sync::atomic::AtomicUsize);
    impl SecretStore for Locked {
        fn get(&self, _: &str) -> Result<Option<String>, SecretError> {
            Ok(None)
        }
        fn set(&self, _: &str, _: &str) -> Result<(), SecretError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(SecretError::Unavailable("locked".into()))
        }
        fn delete(&self, _: &str) -> Result<(), SecretError> {
            Ok(())
        }
    }
    let locked = Locked(0.into());
    assert!(
        persist_rotated(&locked, "tokens:s", "new", &waits)
            .await
            .is_err()
    );
    assert_eq!(locked.0.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fresh_token_is_returned_without_network_or_lock() {
    let dir = tempfile::tempdir().unwrap();
    let file = StateFile::new(Paths::at(dir.path()));
    file.update(|st| {
        st.put_server(server("s"));
        Ok::<_, StateError>(())
    })
    .unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&store::tokens_key("s"), &tokens(600).to_json())
        .unwrap();
    let t = valid_token(&file, &secrets, || panic!("no network"), "s", None)
        .await
        .unwrap();
    assert_eq!(t.access_token, "at");
    assert!(!dir.path().join("locks").exists());
}

#[tokio::test]
async fn needs_sign_in_status_and_missing_tokens_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = StateFile::new(Paths::at(dir.path()));
    let mut s = server("s");
    s.status = ServerStatus::NeedsSignIn { reason: "x".into() };
    file.update(|st| {
        st.put_server(s);
        st.put_server(server("t"));
        Ok::<_, StateError>(())
    })
    .unwrap();
    let secrets = MemoryStore::new();
    let e = valid_token(&file, &secrets, || panic!(), "s", None)
        .await
        .unwrap_err();
    assert!(matches!(e, FreshError::NeedsSignIn { .. }));
    assert!(e.next_step().contains("lanyard login s"));
    let e = valid_token(&file, &secrets, || panic!(), "t", None)
        .await
        .unwrap_err();
    assert!(matches!(e, FreshError::NeedsSignIn { .. }));
}

fn without_refresh_token(expires_in: i64) -> TokenSet {
    TokenSet {
        refresh_token: None,
        reissuable: false,
        ..tokens(expires_in)
    }
}

fn world_with(t: &TokenSet) -> (tempfile::TempDir, StateFile, MemoryStore) {
    let dir = tempfile::tempdir().unwrap();
    let file = StateFile::new(Paths::at(dir.path()));
    file.update(|st| {
        st.put_server(server("s"));
        Ok::<_, StateError>(())
    })
    .unwrap();
    let secrets = MemoryStore::new();
    secrets.set(&store::tokens_key("s"), &t.to_json()).unwrap();
    (dir, file, secrets)
}

fn status_of(file: &StateFile) -> ServerStatus {
    file.load().unwrap().server("s").unwrap().status.clone()
}

#[tokio::test]
async fn a_token_without_refresh_token_is_used_until_it_expires() {
    // 20 s left: within the refresh margin, but there is nothing to refresh it with.
    let t = without_refresh_token(20);
    let (dir, file, secrets) = world_with(&t);
    let got = valid_token(&file, &secrets, || panic!("no network"), "s", None)
        .await
        .unwrap();
    assert_eq!(got, t);
    // Asked to renew exactly this token (the engine, the token helper's child): the same
    // token, still good, and the server is not flagged.
    let got = token_for(
        &file,
        &secrets,
        || panic!("no network"),
        "s",
        Want::Renew(TokenId::of("at")),
    )
    .await
    .unwrap();
    assert_eq!(got, t);
    assert_eq!(status_of(&file), ServerStatus::Ok);
    assert!(
        !dir.path().join("locks").exists(),
        "nothing to refresh, so no refresh lock"
    );
}

#[tokio::test]
async fn a_refused_token_without_refresh_token_needs_sign_in() {
    let (_dir, file, secrets) = world_with(&without_refresh_token(600));
    let e = valid_token(&file, &secrets, || panic!("no network"), "s", Some("at"))
        .await
        .unwrap_err();
    match &e {
        FreshError::NeedsSignIn { reason, .. } => {
            assert!(reason.contains("refused"), "{reason}");
            assert!(reason.contains("issued no refresh token"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(status_of(&file), ServerStatus::NeedsSignIn { .. }));
}

#[tokio::test]
async fn an_expired_token_without_refresh_token_needs_sign_in_saying_why() {
    let (_dir, file, secrets) = world_with(&without_refresh_token(-1));
    for want in [Want::Usable, Want::Renew(TokenId::of("at"))] {
        let e = token_for(&file, &secrets, || panic!("no network"), "s", want)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("issued no refresh token"),
            "{want:?}: {e}"
        );
        assert!(e.next_step().contains("lanyard login s"));
    }
    match status_of(&file) {
        ServerStatus::NeedsSignIn { reason } => {
            assert!(reason.contains("issued no refresh token"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn renew_of_a_token_already_replaced_returns_the_newer_one() {
    let newer = TokenSet {
        access_token: "newer".into(),
        ..tokens(600)
    };
    let (_dir, file, secrets) = world_with(&newer);
    let got = token_for(
        &file,
        &secrets,
        || panic!("no network"),
        "s",
        Want::Renew(TokenId::of("at")),
    )
    .await
    .unwrap();
    assert_eq!(got.access_token, "newer");
}

#[tokio::test]
async fn a_stuck_lock_holder_is_waited_for_only_so_long() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locks").join("s.lock");
    let held = take_lock_bounded(&path, std::time::Duration::ZERO)
        .await
        .unwrap()
        .expect("free lock is taken");
    let again = take_lock_bounded(&path, std::time::Duration::from_millis(60))
        .await
        .unwrap();
    assert!(again.is_none());
    drop(held);
    assert!(
        take_lock_bounded(&path, std::time::Duration::from_millis(60))
            .await
            .unwrap()
            .is_some()
    );
}

/// A token issued ten minutes ago that expires in 10 s: due for a refresh.
fn due() -> TokenSet {
    TokenSet {
        obtained_at: now() - 600,
        ..tokens(10)
    }
}

/// A token endpoint on loopback answering every refresh with a new token set (`at-N`,
/// `rt-N`, living `ttl` s); `on_request` runs before it answers. Returns the server (pointed
/// at it) and the number of refreshes it answered.
async fn token_endpoint(
    ttl: i64,
    on_request: impl Fn() + Send + Sync + 'static,
) -> (Server, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    let on_request = std::sync::Arc::new(on_request);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_lowercase();
                if let Some(p) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if n == 0 || buf.len() >= p + 4 + len {
                        break;
                    }
                } else if n == 0 {
                    break;
                }
            }
            on_request();
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let body = format!(
                r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":{ttl},"refresh_token":"rt-{n}"}}"#
            );
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    let mut s = server("s");
    s.auth_server = crate::discovery::auth_server::test_metadata(&base);
    (s, count)
}

#[tokio::test]
async fn a_short_lived_token_just_refreshed_is_not_refreshed_again() {
    // 15 s token obtained now: within the 60 s margin, but younger than half its life.
    let young = TokenSet {
        access_token: "new".into(),
        ..tokens(15)
    };
    let (_dir, file, secrets) = world_with(&young);
    let got = valid_token(&file, &secrets, || panic!("no network"), "s", None)
        .await
        .unwrap();
    assert_eq!(got, young);
    // The detached child asked to renew the token its caller saw ("at"), but another one
    // stored "new" meanwhile (in the same second: expiries cannot tell them apart).
    let got = token_for(
        &file,
        &secrets,
        || panic!("no network"),
        "s",
        Want::Renew(TokenId::of("at")),
    )
    .await
    .unwrap();
    assert_eq!(got, young);
    // Asked to renew exactly this young token: still not before half its life.
    let got = token_for(
        &file,
        &secrets,
        || panic!("no network"),
        "s",
        Want::Renew(young.id()),
    )
    .await
    .unwrap();
    assert_eq!(got, young);
}

#[tokio::test]
async fn a_refresh_never_writes_tokens_back_after_they_were_deleted() {
    // The tokens are deleted (a logout that does not take the lock, an older Lanyard)
    // while the refresh request is at the IdP.
    let secrets = std::sync::Arc::new(MemoryStore::new());
    let deleter = secrets.clone();
    let (srv, count) = token_endpoint(600, move || {
        deleter.delete(&store::tokens_key("s")).unwrap();
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = StateFile::new(Paths::at(dir.path()));
    file.update(|st| {
        st.put_server(srv);
        Ok::<_, StateError>(())
    })
    .unwrap();
    secrets
        .set(&store::tokens_key("s"), &due().to_json())
        .unwrap();
    let e = valid_token(&file, &*secrets, crate::http::oauth_client, "s", None)
        .await
        .unwrap_err();
    assert!(matches!(e, FreshError::NeedsSignIn { .. }), "{e:?}");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(secrets.get(&store::tokens_key("s")).unwrap(), None);
}

#[tokio::test]
async fn a_refresh_waiting_for_a_logout_finds_the_server_signed_out() {
    let (srv, count) = token_endpoint(600, || {}).await;
    let dir = tempfile::tempdir().unwrap();
    let file = StateFile::new(Paths::at(dir.path()));
    file.update(|st| {
        st.put_server(srv);
        Ok::<_, StateError>(())
    })
    .unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&store::tokens_key("s"), &due().to_json())
        .unwrap();
    // "Logout" holds the lock, deletes the tokens, marks the server, then lets go.
    let lock = take_lock(&file.paths().server_lock("s")).await.unwrap();
    let refresh = valid_token(&file, &secrets, crate::http::oauth_client, "s", None);
    let logout = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        secrets.delete(&store::tokens_key("s")).unwrap();
        file.update(|st| {
            st.server_mut("s").unwrap().status = ServerStatus::NeedsSignIn {
                reason: "you signed out".into(),
            };
            Ok::<_, StateError>(())
        })
        .unwrap();
        drop(lock);
    };
    let (r, ()) = tokio::join!(refresh, logout);
    assert!(matches!(r, Err(FreshError::NeedsSignIn { .. })), "{r:?}");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(secrets.get(&store::tokens_key("s")).unwrap(), None);
}

#[tokio::test]
async fn a_lock_waiter_that_gave_up_does_not_keep_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locks").join("s.lock");
    let held = take_lock_bounded(&path, std::time::Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert!(
        take_lock_bounded(&path, std::time::Duration::from_millis(30))
            .await
            .unwrap()
            .is_none()
    );
    // A waiter with time to spare gets the lock when the holder lets go.
    let waiter = tokio::spawn({
        let path = path.clone();
        async move { take_lock_bounded(&path, std::time::Duration::from_secs(30)).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    drop(held);
    let got = waiter.await.unwrap().unwrap().expect("lock after release");
    drop(got);
    // And the one that gave up let go of it as soon as it got it.
    assert!(
        take_lock_bounded(&path, std::time::Duration::from_secs(30))
            .await
            .unwrap()
            .is_some()
    );
}

/// Server `s` as a machine client with a client secret, its token endpoint on loopback, and a
/// due token of it stored.
async fn machine_due() -> (
    tempfile::TempDir,
    StateFile,
    MemoryStore,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let (mut srv, count) = token_endpoint(600, || {}).await;
    srv.client = ClientSource::Machine {
        client_id: Some("agent".into()),
        has_secret: true,
        grant: crate::servers::MachineGrant::ClientSecret,
    };
    let dir = tempfile::tempdir().unwrap();
    let file = StateFile::new(Paths::at(dir.path()));
    file.update(|st| {
        st.put_server(srv);
        Ok::<_, StateError>(())
    })
    .unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&store::server_secret_key("s"), "agent-secret")
        .unwrap();
    let machine = TokenSet {
        refresh_token: None,
        reissuable: true,
        ..due()
    };
    secrets
        .set(&store::tokens_key("s"), &machine.to_json())
        .unwrap();
    (dir, file, secrets, count)
}

#[tokio::test]
async fn a_machine_token_due_is_requested_again_once_for_every_concurrent_caller() {
    let (_dir, file, secrets, count) = machine_due().await;
    let call = || valid_token(&file, &secrets, crate::http::oauth_client, "s", None);
    let (a, b, c, d, e) = tokio::join!(call(), call(), call(), call(), call());
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    for t in [a, b, c, d, e] {
        let t = t.unwrap();
        assert_eq!(t.access_token, "at-1");
        assert!(t.reissuable && t.refresh_token.is_none(), "{t:?}");
    }
}

#[tokio::test]
async fn a_machine_renewal_that_fails_keeps_the_valid_token_and_flags_nothing() {
    let (_dir, file, secrets, count) = machine_due().await;
    // The authorization server is gone: a port nothing listens on.
    file.update(|st| {
        let s = st.server_mut("s").unwrap();
        s.auth_server = crate::discovery::auth_server::test_metadata("http://127.0.0.1:9");
        Ok::<_, StateError>(())
    })
    .unwrap();
    let got = valid_token(&file, &secrets, crate::http::oauth_client, "s", None)
        .await
        .unwrap();
    assert_eq!(
        got.access_token, "at",
        "the still-valid token is handed out"
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(
        file.load().unwrap().server("s").unwrap().status,
        ServerStatus::Ok
    );
    // Refused by the server: nothing usable is left, and the error says what failed.
    let e = valid_token(&file, &secrets, crate::http::oauth_client, "s", Some("at"))
        .await
        .unwrap_err();
    assert!(matches!(e, FreshError::Machine { .. }), "{e:?}");
    assert_eq!(
        file.load().unwrap().server("s").unwrap().status,
        ServerStatus::Ok
    );
}
