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
        reissuable: false,
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
            Item::EndIdpSession { .. } => "idp",
            Item::DeleteClient { .. } => "delete",
            Item::ClientForAdmin { .. } => "admin",
            Item::RemoveIdeEntry { .. } => "ide",
            Item::DeleteKeychainItems { .. } => "keychain",
            Item::DeleteAutostart { .. }
            | Item::DeleteAutostartValue { .. }
            | Item::RemoveLinkAssociation { .. }
            | Item::DeleteLinkHandler { .. }
            | Item::DeleteCommandLink { .. }
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
        Err(CleanupError::RemoteLeftovers { .. })
    ));
    assert!(!paths.dir().exists());
}

/// A throwaway home with what the tray's AppImage integration leaves: its copy of the CLI in
/// its data dir, the `lanyard://` handler entry and `mimeapps.list` naming it (next to a
/// foreign handler of another scheme).
#[cfg(unix)]
struct AppImageHome {
    _dir: tempfile::TempDir,
    cleanup: Cleanup,
    app_dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    handler: std::path::PathBuf,
    mimeapps: std::path::PathBuf,
}

#[cfg(unix)]
const MIMEAPPS_BEFORE: &str = "[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/lanyard=lanyard-tray-handler.desktop\n\n[Added Associations]\nx-scheme-handler/slack=slack.desktop;\n";
#[cfg(unix)]
const MIMEAPPS_AFTER: &str = "[Default Applications]\ntext/html=firefox.desktop\n\n[Added Associations]\nx-scheme-handler/slack=slack.desktop;\n";

#[cfg(unix)]
fn appimage_home() -> AppImageHome {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let app_dir = home.join(".local/share/dev.lanyard.tray");
    std::fs::create_dir_all(app_dir.join("bin")).unwrap();
    std::fs::write(app_dir.join("bin/lanyard"), "#!/bin/sh\n").unwrap();
    let bin = home.join(".local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let applications = home.join(".local/share/applications");
    std::fs::create_dir_all(&applications).unwrap();
    let handler = applications.join("lanyard-tray-handler.desktop");
    std::fs::write(
        &handler,
        "[Desktop Entry]\nExec=/tmp/Lanyard.AppImage %u\nMimeType=x-scheme-handler/lanyard;\n",
    )
    .unwrap();
    std::fs::write(applications.join("other.desktop"), "[Desktop Entry]\n").unwrap();
    let mimeapps = home.join(".config/mimeapps.list");
    std::fs::create_dir_all(mimeapps.parent().unwrap()).unwrap();
    std::fs::write(&mimeapps, MIMEAPPS_BEFORE).unwrap();
    let paths = crate::paths::Paths::at(home.join(".config/lanyard"));
    let mut cleanup = Cleanup::new(paths, Arc::new(MemoryStore::new()), None)
        .with_user_dirs(None, vec![app_dir.clone()]);
    cleanup.user_dirs.desktop = desktop::DesktopDirs {
        bin_dir: Some(bin.clone()),
        applications_dir: Some(applications),
        mimeapps_list: Some(mimeapps.clone()),
    };
    AppImageHome {
        _dir: dir,
        cleanup,
        app_dir,
        bin,
        handler,
        mimeapps,
    }
}

#[cfg(unix)]
#[tokio::test]
async fn appimage_leftovers_are_planned_removed_once_and_a_second_run_finds_nothing() {
    let h = appimage_home();
    let link = h.bin.join("lanyard");
    std::os::unix::fs::symlink(h.app_dir.join("bin/lanyard"), &link).unwrap();

    // The dry run lists each one, in this order, before the tray's data.
    let plan = h.cleanup.plan(Purpose::Uninstall).unwrap();
    assert_eq!(
        plan.items,
        [
            Item::RemoveLinkAssociation {
                file: h.mimeapps.clone()
            },
            Item::DeleteLinkHandler {
                path: h.handler.clone()
            },
            Item::DeleteCommandLink {
                path: link.clone(),
                target: h.app_dir.join("bin/lanyard")
            },
            Item::DeleteAppData {
                paths: vec![h.app_dir.clone()]
            },
        ]
    );
    assert!(plan.items[2].describe().contains(".local/bin/lanyard"));

    let report = h.cleanup.execute(&plan, &|_| {}).await;
    assert!(report.complete, "{report:?}");
    assert!(
        report
            .steps
            .iter()
            .all(|s| matches!(s.outcome, Some(Outcome::Done { .. }))),
        "{report:?}"
    );
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "our link is gone"
    );
    assert!(!h.handler.exists());
    assert!(h.handler.with_file_name("other.desktop").exists());
    assert_eq!(
        std::fs::read_to_string(&h.mimeapps).unwrap(),
        MIMEAPPS_AFTER
    );

    // Idempotent: nothing is planned any more; the old plan run again reports "already gone"
    // and never creates mimeapps.list.
    assert!(h.cleanup.plan(Purpose::Uninstall).unwrap().is_empty());
    std::fs::remove_file(&h.mimeapps).unwrap();
    let again = h.cleanup.execute(&plan, &|_| {}).await;
    assert!(again.complete, "{again:?}");
    assert!(
        again
            .steps
            .iter()
            .all(|s| matches!(s.outcome, Some(Outcome::AlreadyGone { .. }))),
        "{again:?}"
    );
    assert!(!h.mimeapps.exists(), "mimeapps.list is never created");
}

#[cfg(unix)]
#[tokio::test]
async fn a_foreign_lanyard_in_the_bin_dir_is_never_planned_or_touched() {
    let h = appimage_home();
    let link = h.bin.join("lanyard");
    let elsewhere = h.bin.join("my-lanyard-build");
    std::fs::write(&elsewhere, "#!/bin/sh\n").unwrap();
    let foreign: [(&str, &dyn Fn()); 3] = [
        ("a program of its own", &|| {
            std::fs::write(&link, "#!/bin/sh\necho mine\n").unwrap()
        }),
        ("a link to the user's build", &|| {
            std::os::unix::fs::symlink(&elsewhere, &link).unwrap()
        }),
        ("a link to /usr/bin/lanyard", &|| {
            std::os::unix::fs::symlink("/usr/bin/lanyard", &link).unwrap()
        }),
    ];
    for (what, make) in foreign {
        make();
        let plan = h.cleanup.plan(Purpose::Uninstall).unwrap();
        assert!(
            !plan
                .items
                .iter()
                .any(|i| matches!(i, Item::DeleteCommandLink { .. })),
            "{what}: {plan:?}"
        );
        // Even a stale plan that names it leaves it alone.
        let stale = Plan {
            items: vec![Item::DeleteCommandLink {
                path: link.clone(),
                target: h.app_dir.join("bin/lanyard"),
            }],
            engine_running: false,
            purpose: Purpose::Uninstall,
        };
        let report = h.cleanup.execute(&stale, &|_| {}).await;
        assert!(
            matches!(report.steps[0].outcome, Some(Outcome::AlreadyGone { .. })),
            "{what}: {report:?}"
        );
        assert!(std::fs::symlink_metadata(&link).is_ok(), "{what} was kept");
        std::fs::remove_file(&link).unwrap();
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_mimeapps_list_with_only_foreign_lanyard_handlers_is_not_planned_nor_rewritten() {
    let h = appimage_home();
    let text = "[Default Applications]\nx-scheme-handler/lanyard=my-build.desktop\n";
    std::fs::write(&h.mimeapps, text).unwrap();
    let plan = h.cleanup.plan(Purpose::Uninstall).unwrap();
    assert!(
        !plan
            .items
            .iter()
            .any(|i| matches!(i, Item::RemoveLinkAssociation { .. })),
        "{plan:?}"
    );
    let before = std::fs::metadata(&h.mimeapps).unwrap().modified().unwrap();
    let outcome = desktop::remove_association(&h.mimeapps);
    assert!(
        matches!(outcome, Outcome::AlreadyGone { .. }),
        "{outcome:?}"
    );
    assert_eq!(std::fs::read_to_string(&h.mimeapps).unwrap(), text);
    assert_eq!(
        std::fs::metadata(&h.mimeapps).unwrap().modified().unwrap(),
        before
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_mimeapps_list_linked_by_a_dotfile_manager_is_edited_in_place_and_stays_a_link() {
    let h = appimage_home();
    let dotfiles = h.mimeapps.parent().unwrap().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("mimeapps.list");
    std::fs::rename(&h.mimeapps, &real).unwrap();
    std::os::unix::fs::symlink(&real, &h.mimeapps).unwrap();
    let plan = h.cleanup.plan(Purpose::Uninstall).unwrap();
    assert_eq!(
        plan.items[0],
        Item::RemoveLinkAssociation {
            file: h.mimeapps.clone()
        }
    );
    let outcome = desktop::remove_association(&h.mimeapps);
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert!(
        std::fs::symlink_metadata(&h.mimeapps)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), MIMEAPPS_AFTER);
    // No temp file is left beside it.
    let names: Vec<_> = std::fs::read_dir(&dotfiles)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mimeapps.list"]);
}

#[test]
fn deleting_the_tray_data_again_removes_only_the_folders_named_after_the_tray() {
    let dir = tempfile::tempdir().unwrap();
    let tray_data = dir.path().join("share/dev.lanyard.tray");
    let tray_cache = dir.path().join("cache/dev.lanyard.tray");
    let state = dir.path().join("state/lanyard");
    for d in [&tray_data, &tray_cache, &state] {
        std::fs::create_dir_all(d.join("WebKit")).unwrap();
    }
    let paths = crate::paths::Paths::at(dir.path().join("config/lanyard"));
    let cleanup = Cleanup::new(paths, Arc::new(MemoryStore::new()), None).with_user_dirs(
        None,
        vec![tray_data.clone(), tray_cache.clone(), state.clone()],
    );
    assert!(matches!(
        cleanup.delete_tray_data_again(),
        Outcome::Done { .. }
    ));
    assert!(!tray_data.exists() && !tray_cache.exists());
    assert!(state.exists(), "not the tray's: left alone");
}
