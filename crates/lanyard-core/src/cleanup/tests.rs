//! Planning and execution without an identity provider (network items point at a closed
//! loopback port, so they fail fast the way an unreachable IdP does).

use std::sync::Arc;

use url::Url;

use super::*;
use crate::discovery::AuthServerMetadata;
use crate::servers::{ClientSource, Quirks, Registration, Server, ServerStatus, StateError};
use crate::tokens::store::{self, MemoryStore};
use crate::tokens::{SecretStore, TokenSet};

fn u(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// An AS on a closed port: every request fails to connect. (Built from JSON, as the state file
/// stores it, so fields added to the metadata type with a default keep this compiling.)
fn meta(issuer: &str) -> AuthServerMetadata {
    serde_json::from_value(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": "http://127.0.0.1:1/auth",
        "token_endpoint": "http://127.0.0.1:1/token",
        "registration_endpoint": "http://127.0.0.1:1/reg",
        "revocation_endpoint": "http://127.0.0.1:1/revoke",
        "scopes_supported": null,
        "response_types_supported": ["code"],
        "grant_types_supported": null,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": null,
        "client_id_metadata_document_supported": false,
        "authorization_response_iss_parameter_supported": false,
        "metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"
    }))
    .expect("metadata JSON")
}

fn server(name: &str, issuer: &str, client: ClientSource) -> Server {
    Server {
        name: name.into(),
        url: u(&format!("http://127.0.0.1:2/{name}")),
        resource: u(&format!("http://127.0.0.1:2/{name}")),
        auth_server: meta(issuer),
        client,
        scopes: vec![],
        quirks: Quirks::default(),
        status: ServerStatus::Ok,
        added_at: 0,
    }
}

fn reg(issuer: &str, client_id: &str, manageable: bool) -> Registration {
    Registration {
        issuer: u(issuer),
        client_id: client_id.into(),
        metadata: serde_json::json!({}),
        redirect_uris: vec![],
        token_endpoint_auth_method: "none".into(),
        has_secret: false,
        registration_client_uri: manageable
            .then(|| u(&format!("http://127.0.0.1:1/reg/{client_id}"))),
        has_registration_access_token: manageable,
        dead: false,
        registered_at: 1,
    }
}

fn tokens() -> String {
    TokenSet {
        access_token: "at".into(),
        token_type: "Bearer".into(),
        expires_at: i64::MAX / 2,
        refresh_token: Some("rt".into()),
        scope: None,
        obtained_at: 5,
    }
    .to_json()
}

struct Fixture {
    _dir: tempfile::TempDir,
    cleanup: Cleanup,
    secrets: Arc<MemoryStore>,
}

/// `a`, `b` behind issuer A (manageable registration), `p` pre-registered behind issuer B,
/// an unmanageable registration at issuer C used by nobody.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let paths = crate::paths::Paths::at(dir.path().join("lanyard"));
    paths.install_id().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let a = "http://127.0.0.1:1/a";
    StateFile::new(paths.clone())
        .update(|st| {
            st.put_server(server("a", a, ClientSource::Dynamic));
            st.put_server(server("b", a, ClientSource::Dynamic));
            st.put_server(server(
                "p",
                "http://127.0.0.1:1/b",
                ClientSource::PreRegistered {
                    client_id: "given".into(),
                    has_secret: false,
                },
            ));
            st.put_registration(reg(a, "dyn-a", true));
            st.put_registration(reg("http://127.0.0.1:1/c", "dyn-c", false));
            // A registration whose id is also a pre-registered id: never deleted.
            st.put_registration(reg("http://127.0.0.1:1/b", "given", true));
            Ok::<_, StateError>(())
        })
        .unwrap();
    for s in ["a", "b", "p"] {
        secrets.set(&store::tokens_key(s), &tokens()).unwrap();
    }
    secrets
        .set(&store::registration_token_key(u(a).as_str()), "rat")
        .unwrap();
    let cleanup = Cleanup::new(paths, secrets.clone(), None);
    Fixture {
        _dir: dir,
        cleanup,
        secrets,
    }
}

#[test]
fn plan_orders_items_and_never_plans_foreign_client_ids() {
    let f = fixture();
    let plan = f.cleanup.plan(Purpose::Uninstall).unwrap();
    let kinds: Vec<&str> = plan
        .items
        .iter()
        .map(|i| match i {
            Item::StopEngine { .. } => "stop",
            Item::RevokeTokens { .. } => "revoke",
            Item::DeleteClient { .. } => "delete",
            Item::ClientForAdmin { .. } => "admin",
            Item::RemoveIdeEntry { .. } => "ide",
            Item::DeleteKeychainItems { .. } => "keychain",
            Item::DeleteAutostart { .. }
            | Item::DeleteAutostartValue { .. }
            | Item::DeleteAppData { .. } => "files",
            Item::DeleteStateDir { .. } => "state",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "revoke", "revoke", "revoke", "delete", "admin", "keychain", "state"
        ]
    );
    let text = serde_json::to_string(&plan).unwrap();
    assert!(!text.contains("\"given\""), "{text}");
    // Planning creates nothing.
    let prune = f.cleanup.plan(Purpose::Prune).unwrap();
    assert_eq!(
        prune.items.len(),
        1,
        "only the unused registration: {prune:?}"
    );
    assert!(matches!(prune.items[0], Item::ClientForAdmin { .. }));
}

#[tokio::test]
async fn unreachable_idp_keeps_what_is_still_needed_and_the_state_dir() {
    let f = fixture();
    let plan = f.cleanup.plan(Purpose::Uninstall).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let report = f
        .cleanup
        .execute(&plan, &|s: &Step| {
            seen.lock().unwrap().push((s.index, s.phase))
        })
        .await;
    assert_eq!(seen.lock().unwrap().len(), plan.items.len() * 2);
    let outcome = |pred: &dyn Fn(&Item) -> bool| {
        report
            .steps
            .iter()
            .find(|s| pred(&s.item))
            .and_then(|s| s.outcome.clone())
            .unwrap()
    };
    assert!(matches!(
        outcome(&|i| matches!(i, Item::RevokeTokens { server, .. } if server == "a")),
        Outcome::Failed { .. }
    ));
    assert!(matches!(
        outcome(&|i| matches!(i, Item::DeleteClient { .. })),
        Outcome::Kept { .. }
    ));
    assert!(matches!(
        outcome(&|i| matches!(i, Item::ClientForAdmin { .. })),
        Outcome::LeftForAdmin { .. }
    ));
    assert!(matches!(
        outcome(&|i| matches!(i, Item::DeleteStateDir { .. })),
        Outcome::Kept { .. }
    ));
    assert!(!report.complete);
    // Still needed: the tokens and the registration token.
    assert!(f.secrets.get(&store::tokens_key("a")).unwrap().is_some());
    assert!(
        f.secrets
            .get(&store::registration_token_key("http://127.0.0.1:1/a"))
            .unwrap()
            .is_some()
    );
    assert!(f.cleanup.paths().dir().exists());
    let err = report.into_result().unwrap_err();
    assert!(matches!(err, CleanupError::Incomplete { .. }), "{err}");

    // The next plan is exactly what is left: the unmanageable client was forgotten.
    let again = f.cleanup.plan(Purpose::Uninstall).unwrap();
    assert!(
        !again
            .items
            .iter()
            .any(|i| matches!(i, Item::ClientForAdmin { .. })),
        "{again:?}"
    );
    assert!(
        again
            .items
            .iter()
            .any(|i| matches!(i, Item::DeleteClient { .. }))
    );
}

#[tokio::test]
async fn nothing_to_do_when_the_state_dir_is_gone_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let paths = crate::paths::Paths::at(dir.path().join("lanyard"));
    let c = Cleanup::new(paths.clone(), Arc::new(MemoryStore::new()), None);
    let plan = c.plan(Purpose::Uninstall).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
    let report = c.execute(&plan, &|_| {}).await;
    assert!(report.complete);
    assert!(!paths.dir().exists());
    assert!(c.clients().unwrap().is_empty());
}

#[test]
fn clients_show_servers_and_last_use() {
    let f = fixture();
    let list = f.cleanup.clients().unwrap();
    let a = list.iter().find(|c| c.client_id == "dyn-a").unwrap();
    assert_eq!(a.servers, ["a", "b"]);
    assert_eq!(a.last_used_at, Some(5));
    assert!(a.deletable);
    let c = list.iter().find(|c| c.client_id == "dyn-c").unwrap();
    assert!(c.servers.is_empty() && !c.deletable);
}

#[tokio::test]
async fn without_an_install_id_the_keychain_is_never_asked_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let paths = crate::paths::Paths::at(dir.path().join("lanyard"));
    StateFile::new(paths.clone())
        .update(|st| {
            st.put_registration(reg("http://127.0.0.1:1/c", "dyn-c", false));
            Ok::<_, StateError>(())
        })
        .unwrap();
    let c = Cleanup::new(
        paths.clone(),
        Arc::new(crate::tokens::LazyKeyringStore::new(paths.clone())),
        None,
    );
    let plan = c.plan(Purpose::Uninstall).unwrap();
    let report = c.execute(&plan, &|_| {}).await;
    assert!(!paths.install_id_file().exists(), "{report:?}");
    assert!(matches!(
        report.into_result(),
        Err(CleanupError::AdminNeeded { .. })
    ));
    assert!(!paths.dir().exists());
}
