//! The agent over real sockets in a temporary state directory: answered from memory after
//! one keychain read, refused on the forwarding socket until shared, errors carried whole.

#![cfg(unix)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::paths::Paths;
use crate::servers::StateFile;
use crate::tokens::set::now;
use crate::tokens::{MemoryStore, SecretError, SecretStore, TokenSet};

/// A keychain that counts its reads.
#[derive(Default)]
struct Counting {
    reads: AtomicUsize,
    inner: MemoryStore,
}
impl SecretStore for Counting {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.inner.delete(key)
    }
}

fn saved(dir: &std::path::Path, store: &Counting) -> StateFile {
    saved_expiring(dir, store, 3600, 0)
}

/// `docs` saved, its token expiring in `expires_in` s and obtained `age` s ago.
fn saved_expiring(dir: &std::path::Path, store: &Counting, expires_in: i64, age: i64) -> StateFile {
    let file = StateFile::new(Paths::at(dir));
    file.update(|s| {
        s.servers.push(crate::servers::test_server("docs"));
        Ok::<_, crate::servers::StateError>(())
    })
    .unwrap();
    let t = TokenSet {
        access_token: "at-1".into(),
        token_type: "Bearer".into(),
        expires_at: now() + expires_in,
        refresh_token: Some("rt".into()),
        reissuable: false,
        scope: None,
        obtained_at: now() - age,
    };
    store.inner.set("tokens:docs", &t.to_json()).unwrap();
    file
}

#[tokio::test]
async fn a_burst_of_callers_costs_one_keychain_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    let file = saved(dir.path(), &store);
    let server = AgentServer::start(file, store.clone()).unwrap();
    let agent = Agent::at(local_socket(dir.path()), false);
    let asks = (0..10).map(|_| {
        let a = agent.clone();
        tokio::spawn(async move { a.token("docs", None).await })
    });
    for ask in asks {
        let g = ask.await.unwrap().unwrap();
        assert_eq!(g.token, "at-1");
        assert_eq!(g.header_value, "Bearer at-1");
        assert_eq!(g.url, "http://127.0.0.1:9/mcp");
    }
    assert_eq!(store.reads.load(Ordering::SeqCst), 1);
    drop(server);
    assert!(!local_socket(dir.path()).exists());
}

#[tokio::test]
async fn the_forwarding_socket_serves_only_shared_servers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    let file = saved(dir.path(), &store);
    let _server = AgentServer::start(file, store.clone()).unwrap();
    let remote = Agent::at(forward_socket(dir.path()), true);
    let e = remote.token("docs", None).await.unwrap_err();
    assert!(
        matches!(&e, AgentError::Answered { code, .. } if code == "agent.not-shared"),
        "{e}"
    );
    assert_eq!(store.reads.load(Ordering::SeqCst), 0);
    share::set(dir.path(), "docs", Some(0)).unwrap();
    assert_eq!(remote.token("docs", None).await.unwrap().token, "at-1");
}

#[tokio::test]
async fn the_sockets_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    let _server = AgentServer::start(saved(dir.path(), &store), store.clone()).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&socket_dir(dir.path())), 0o700);
    assert_eq!(mode(&local_socket(dir.path())), 0o600);
    assert_eq!(mode(&forward_socket(dir.path())), 0o600);
}

#[tokio::test]
async fn an_unknown_server_is_answered_with_the_engines_error_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    let _server = AgentServer::start(saved(dir.path(), &store), store.clone()).unwrap();
    let e = Agent::at(local_socket(dir.path()), false)
        .token("nope", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AgentError::Answered { code, .. } if code.starts_with("state.") || code.starts_with("tokens.")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_refused_token_is_not_handed_out_again_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    let _server = AgentServer::start(saved(dir.path(), &store), store.clone()).unwrap();
    let agent = Agent::at(local_socket(dir.path()), false);
    agent.token("docs", None).await.unwrap();
    // The refused token forces the keychain path (here a refresh against nothing, so an error).
    let _ = agent.token("docs", Some("Bearer at-1")).await;
    assert!(store.reads.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn a_dead_forwarded_socket_says_how_to_forward() {
    let dir = tempfile::tempdir().unwrap();
    let e = Agent::at(dir.path().join("gone.sock"), true)
        .token("docs", None)
        .await
        .unwrap_err();
    assert_eq!(crate::error::UserFacing::code(&e), "agent.unreachable");
    assert!(crate::error::UserFacing::next_step(&e).contains("ssh -R"));
}

#[tokio::test]
async fn during_an_outage_a_burst_tries_the_refresh_once_and_gets_the_still_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    // Due (30 s left of an hour), and its token endpoint (127.0.0.1:9) refuses connections.
    let file = saved_expiring(dir.path(), &store, 30, 3570);
    let _server = AgentServer::start(file, store.clone()).unwrap();
    let agent = Agent::at(local_socket(dir.path()), false);
    assert_eq!(agent.token("docs", None).await.unwrap().token, "at-1");
    let after_first = store.reads.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(agent.token("docs", None).await.unwrap().token, "at-1");
    }
    assert_eq!(store.reads.load(Ordering::SeqCst), after_first);
    // A refused token is never served from memory, outage or not.
    let _ = agent.token("docs", Some("at-1")).await;
    assert!(store.reads.load(Ordering::SeqCst) > after_first);
}

#[tokio::test]
async fn a_rewritten_state_file_makes_the_agent_read_the_keychain_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting::default());
    let file = saved(dir.path(), &store);
    let _server = AgentServer::start(file.clone(), store.clone()).unwrap();
    let agent = Agent::at(local_socket(dir.path()), false);
    agent.token("docs", None).await.unwrap();
    let reads = store.reads.load(Ordering::SeqCst);
    // What a sign-out does, without the engine's event: tokens deleted, state rewritten.
    store.inner.delete("tokens:docs").unwrap();
    file.update(|s| {
        s.servers.retain(|x| x.name != "docs");
        Ok::<_, crate::servers::StateError>(())
    })
    .unwrap();
    assert!(agent.token("docs", None).await.is_err());
    assert!(store.reads.load(Ordering::SeqCst) > reads);
}
