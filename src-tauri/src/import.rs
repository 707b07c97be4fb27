//! "Import from your gateway…": the import window's commands and the tray's watch of the
//! registries the user imported from. The logic is lanyard-core's (`Lanyard::import_list`,
//! `import_costs`, `import_check`, `import_entry`, `remember_registry`, `registry_news`); this
//! file turns it into rows for the page and keeps what the page was shown, so the page sends
//! back entry names only — never a URL or an issuer the tray would have to trust.
//!
//! The order is the one `lanyard import` keeps: list (the registry only; a protected registry
//! is signed in to in the sign-in window), choose, check the chosen entries (discovery only),
//! show where each signs in and the shared-issuer warning, and sign in only to the ones the
//! user then confirmed — a warned one only with its "Sign in anyway" ticked. Each sign-in is
//! held to the issuer and endpoints shown (`AddOptions::confirmed`).

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use lanyard_core::api::{AddOptions, Cost, EntryCheck, Lanyard, Listing, Progress, RegistryNews};
use lanyard_core::registry::Entry;
use serde::Serialize;
use tauri::{AppHandle, Manager};
use ts_rs::TS;

use crate::calls::{off_thread, on_progress};
use crate::model::UiError;
use crate::state::AppState;

/// One entry of the checklist.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportRow {
    /// The registry's name for it: what the page sends back.
    pub entry: String,
    /// Its title, else the name it would be saved under.
    pub title: String,
    pub description: String,
    pub url: String,
    /// What choosing it costs: "already-added", "known-issuer" or "sign-in".
    pub cost: String,
    /// The same as one sentence.
    pub cost_text: String,
    /// The sign-in hints it carries, one sentence each.
    pub hints: Vec<String>,
    /// Listed since the user last saw this registry.
    pub is_new: bool,
}

/// An entry Lanyard cannot add, with the reason.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SkippedRow {
    pub entry: String,
    pub reason: String,
}

/// An entry that left the registry since the user last saw it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct GoneRow {
    pub entry: String,
    pub url: String,
    /// The name its URL is still saved under.
    pub saved_as: Option<String>,
}

/// A registry's listing as the import window shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportListing {
    /// The list URL that answered.
    pub registry: String,
    /// The saved server holding the registry's own sign-in (protected registries).
    pub registry_server: Option<String>,
    pub rows: Vec<ImportRow>,
    pub skipped: Vec<SkippedRow>,
    pub gone: Vec<GoneRow>,
    pub pages: u32,
    /// The registry has more than Lanyard reads.
    pub truncated: bool,
}

/// Where a chosen entry signs in (or why it could not be checked).
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportCheckRow {
    pub entry: String,
    pub issuer: Option<String>,
    /// The shared-issuer warning: the entry is signed in to only with it accepted.
    pub warning: Option<String>,
    pub error: Option<UiError>,
}

/// A chosen entry, added.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportAdded {
    pub entry: String,
    /// The name it is saved under.
    pub name: String,
    pub tools: u32,
}

/// What the page was shown: the listing and the checks made.
struct Shown {
    listing: Listing,
    checks: Vec<EntryCheck>,
}

static SHOWN: Mutex<Option<Shown>> = Mutex::new(None);

fn shown() -> MutexGuard<'static, Option<Shown>> {
    SHOWN.lock().unwrap_or_else(|p| p.into_inner())
}

fn not_listed() -> UiError {
    UiError::new(
        "tray.import-not-listed",
        "That server is not in the listing this window shows.",
        "List the registry again and choose from the new listing.",
    )
}

fn cost_view(cost: &Cost) -> (&'static str, String) {
    match cost {
        Cost::AlreadyAdded { name } => ("already-added", format!("Already added as “{name}”")),
        Cost::KnownIssuer { issuer, via } => (
            "known-issuer",
            format!(
                "Likely a sign-in at {issuer}, where you are signed in already for {via} at the same address: often no new prompt"
            ),
        ),
        Cost::SignIn => (
            "sign-in",
            "Sign-in needed: where it signs in is shown before it starts".into(),
        ),
    }
}

fn hints_of(e: &Entry) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(h) = &e.hints.token_header {
        out.push(format!("Sends the token in {h}"));
    }
    if let Some(id) = &e.hints.client_id {
        out.push(format!("Signs in with the gateway's client id {id}"));
    }
    if let Some(p) = e.hints.callback_port {
        out.push(format!("Uses callback port {p}"));
    }
    if !e.other_headers.is_empty() {
        out.push(format!(
            "Also wants headers Lanyard does not send: {}",
            e.other_headers.join(", ")
        ));
    }
    out
}

fn view_of(listing: &Listing, costs: &[Cost], news: Option<&RegistryNews>) -> ImportListing {
    let c = &listing.catalogue;
    let rows = c
        .entries
        .iter()
        .zip(costs)
        .map(|(e, cost)| {
            let (kind, text) = cost_view(cost);
            ImportRow {
                entry: e.name.clone(),
                title: e.title.clone().unwrap_or_else(|| e.short.clone()),
                description: e.description.clone(),
                url: e.url.to_string(),
                cost: kind.into(),
                cost_text: text,
                hints: hints_of(e),
                is_new: news.is_some_and(|n| n.added.iter().any(|a| a == e)),
            }
        })
        .collect();
    ImportListing {
        registry: c.url.clone(),
        registry_server: listing.registry_server.clone(),
        rows,
        skipped: c
            .skipped
            .iter()
            .map(|s| SkippedRow {
                entry: s.name.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        gone: news
            .map(|n| {
                n.removed
                    .iter()
                    .map(|g| GoneRow {
                        entry: g.entry.name.clone(),
                        url: g.entry.url.clone(),
                        saved_as: g.saved_as.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        pages: u32::try_from(c.pages).unwrap_or(u32::MAX),
        truncated: c.truncated,
    }
}

/// Lists a registry (signing in to it in the sign-in window when it is protected and not
/// saved yet), remembers the listing as seen, and returns the checklist. Contacts no entry.
#[tauri::command]
pub async fn import_list(app: AppHandle, registry: String) -> Result<ImportListing, UiError> {
    let _busy = crate::peer::busy(&app);
    let cancel = app.state::<AppState>().cancel_switch();
    let app2 = app.clone();
    let r = off_thread(Some(cancel), move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        let progress = move |p: Progress| on_progress(&app2, "the registry", p, false);
        let opts = AddOptions {
            no_browser: true,
            ..AddOptions::default()
        };
        let listing = lanyard
            .import_list(&registry, opts, &progress)
            .await
            .map_err(UiError::from)?;
        let costs = lanyard
            .import_costs(&listing.catalogue.entries)
            .map_err(UiError::from)?;
        let news = lanyard.remember_registry(&listing).map_err(UiError::from)?;
        Ok((listing, costs, news))
    })
    .await;
    crate::signin::close(&app);
    let (listing, costs, news) = r?;
    let view = view_of(&listing, &costs, news.as_ref());
    *shown() = Some(Shown {
        listing,
        checks: Vec::new(),
    });
    Ok(view)
}

/// The registries imported from before (their list URLs), for the window's address field.
#[tauri::command]
pub async fn import_registries() -> Result<Vec<String>, UiError> {
    off_thread(None, || async {
        Lanyard::open()
            .and_then(|l| l.remembered_registries())
            .map_err(UiError::from)
    })
    .await
}

/// Checks the chosen entries (discovery only: no registration, no browser, no token): where
/// each signs in, and the shared-issuer warning.
#[tauri::command]
pub async fn import_check(
    app: AppHandle,
    entries: Vec<String>,
) -> Result<Vec<ImportCheckRow>, UiError> {
    let _busy = crate::peer::busy(&app);
    let chosen: Vec<Entry> = {
        let g = shown();
        let s = g.as_ref().ok_or_else(not_listed)?;
        entries
            .iter()
            .map(|n| {
                s.listing
                    .catalogue
                    .entries
                    .iter()
                    .find(|e| &e.name == n)
                    .cloned()
                    .ok_or_else(not_listed)
            })
            .collect::<Result<_, _>>()?
    };
    let checked = off_thread(None, move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        let refs: Vec<&Entry> = chosen.iter().collect();
        let checks = lanyard.import_check(&refs).await.map_err(UiError::from)?;
        Ok(chosen
            .iter()
            .zip(checks)
            .map(|(e, c)| (e.name.clone(), c.map_err(UiError::from)))
            .collect::<Vec<_>>())
    })
    .await?;
    let mut g = shown();
    let s = g.as_mut().ok_or_else(not_listed)?;
    let mut rows = Vec::new();
    for (entry, c) in checked {
        s.checks.retain(|k| k.entry != entry);
        rows.push(match c {
            Ok(c) => {
                let row = ImportCheckRow {
                    entry,
                    issuer: Some(c.issuer.clone()),
                    warning: c.warning.clone(),
                    error: None,
                };
                s.checks.push(c);
                row
            }
            Err(e) => ImportCheckRow {
                entry,
                issuer: None,
                warning: None,
                error: Some(e),
            },
        });
    }
    Ok(rows)
}

/// Adds one checked entry: sign-in (sign-in window) at the issuer shown, first tool call,
/// save. A warned entry only with `accept_warning` (the user ticked "Sign in anyway").
#[tauri::command]
pub async fn import_add(
    app: AppHandle,
    entry: String,
    accept_warning: bool,
) -> Result<ImportAdded, UiError> {
    let _busy = crate::peer::busy(&app);
    let (chosen, check) = {
        let g = shown();
        let s = g.as_ref().ok_or_else(not_listed)?;
        let e = s
            .listing
            .catalogue
            .entries
            .iter()
            .find(|e| e.name == entry)
            .cloned()
            .ok_or_else(not_listed)?;
        let c = s
            .checks
            .iter()
            .find(|c| c.entry == entry)
            .cloned()
            .ok_or_else(|| {
                UiError::new(
                    "tray.import-not-checked",
                    format!("{entry} was not checked before its sign-in."),
                    "Choose it again and continue: where it signs in is shown first.",
                )
            })?;
        (e, c)
    };
    if let (Some(w), false) = (&check.warning, accept_warning) {
        return Err(UiError::new(
            "tray.import-not-confirmed",
            format!("{entry} was not signed in to: {w}"),
            "Tick “Sign in anyway” for it only if you trust it with that sign-in.",
        ));
    }
    let cancel = app.state::<AppState>().cancel_switch();
    let app2 = app.clone();
    let label = chosen.short.clone();
    let r = off_thread(Some(cancel), move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        let progress = move |p: Progress| on_progress(&app2, &label, p, true);
        let opts = AddOptions {
            no_browser: true,
            ..AddOptions::default()
        };
        lanyard
            .import_entry(&chosen, &check, &opts, &progress)
            .await
            .map_err(UiError::from)
    })
    .await;
    crate::signin::close(&app);
    let state = app.state::<AppState>();
    match r {
        Ok(out) => {
            state.log(
                "import",
                format!("{}: added from the registry ({entry})", out.name),
            );
            crate::peer::changed(&app);
            Ok(ImportAdded {
                entry,
                name: out.name,
                tools: u32::try_from(out.tools.len()).unwrap_or(u32::MAX),
            })
        }
        Err(e) => {
            if e.code != UiError::cancelled().code {
                state.log("error", format!("{entry}: {e}"));
            }
            Err(e)
        }
    }
}

/// In the tray: every `LANYARD_TRAY_REGISTRY_SECS` (default 15 minutes) the remembered
/// registries are listed again; servers that appeared or left are told once each, in a
/// notification and the activity log. Nothing is added or removed: the import window offers
/// them (marked new) the next time it lists that registry.
pub fn watch(app: AppHandle) {
    let every = std::env::var("LANYARD_TRAY_REGISTRY_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(900)
        .max(1);
    tauri::async_runtime::spawn(async move {
        let mut told: BTreeSet<(String, String, String)> = BTreeSet::new();
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(every)).await;
            let news = off_thread(None, || async {
                let lanyard = Lanyard::open().map_err(UiError::from)?;
                lanyard.registry_news().await.map_err(UiError::from)
            })
            .await;
            let Ok(news) = news else { continue };
            for n in news {
                tell(&app, &n, &mut told);
            }
        }
    });
}

fn tell(app: &AppHandle, n: &RegistryNews, told: &mut BTreeSet<(String, String, String)>) {
    let mut fresh = |kind: &str, name: &str, url: &str| {
        told.insert((kind.to_owned(), name.to_owned(), url.to_owned()))
    };
    let added: Vec<&str> = n
        .added
        .iter()
        .filter(|e| fresh("added", &e.name, e.url.as_str()))
        .map(|e| e.short.as_str())
        .collect();
    let gone: Vec<String> = n
        .removed
        .iter()
        .filter(|g| fresh("gone", &g.entry.name, &g.entry.url))
        .map(|g| match &g.saved_as {
            Some(s) => format!("{} (still saved as “{s}”)", g.entry.name),
            None => g.entry.name.clone(),
        })
        .collect();
    let state = app.state::<AppState>();
    if !added.is_empty() {
        let list = added.join(", ");
        state.log(
            "import",
            format!("new in {}: {list} (not added)", n.registry),
        );
        crate::notify::show(
            app,
            "New servers in your gateway",
            &format!(
                "{list}. Choose “Import from your gateway…” in Lanyard's menu to add them; nothing is added by itself."
            ),
        );
    }
    if !gone.is_empty() {
        state.log(
            "import",
            format!("gone from {}: {}", n.registry, gone.join(", ")),
        );
    }
}

/// The import window's label.
pub const IMPORT: &str = "import";

/// In the windows process: opens (or focuses) the import window, listing `registry` at once
/// when given (the tray passes only registries the user imported from before).
pub fn open_window(app: &AppHandle, registry: Option<&str>) -> tauri::Result<()> {
    use tauri::{WebviewUrl, WebviewWindowBuilder};
    let page = match registry {
        Some(r) => format!(
            "import.html?registry={}",
            url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        ),
        None => "import.html".to_owned(),
    };
    if let Some(w) = app.get_webview_window(IMPORT) {
        if registry.is_some() {
            let mut target = w.url()?;
            target.set_path("/import.html");
            target.set_query(page.split_once('?').map(|(_, q)| q));
            w.navigate(target)?;
        }
        w.unminimize()?;
        w.show()?;
        return w.set_focus();
    }
    WebviewWindowBuilder::new(app, IMPORT, WebviewUrl::App(page.into()))
        .title("Import from your gateway — Lanyard")
        .inner_size(760.0, 720.0)
        .min_inner_size(520.0, 480.0)
        .center()
        .build()?;
    Ok(())
}
