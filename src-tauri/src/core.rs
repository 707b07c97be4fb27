//! The tray's calls into lanyard-core, in-process: discovery, add (register → sign in → first
//! tool call), sign in again, tools, list, remove. The sign-in runs the core's own loopback
//! listener (it holds the PKCE verifier); the sign-in window only shows the IdP's pages.
//!
//! Core flows run on a thread of their own with a current-thread tokio runtime, so the tray does
//! not depend on their futures being `Send`; closing the wizard cancels them (the listener stops).

use std::future::Future;

use lanyard_core::discovery;
use lanyard_core::error::UserFacing;
use lanyard_core::flow::{AddOptions, AddOutcome, Confirmed, Lanyard, Progress, ServerView};
use lanyard_core::http::Http;
use lanyard_core::registration::ClientOptions;
use lanyard_core::servers::Quirks;
use tauri::{AppHandle, Manager};
use tokio::sync::watch;

use crate::cli;
use crate::flow::{self, TimelineStep};
use crate::model::UiError;
use crate::signin;
use crate::state::AppState;

/// A core error as the UI shows it; `needs-client-id` when the IdP refuses registration.
pub fn ui_err(e: lanyard_core::Error) -> UiError {
    let what = e.what();
    let next = e.next_step();
    UiError::new(&cli::classify(&format!("{what}\n{next}")), what, next)
}

/// Runs `f` on its own thread and runtime; `cancel` flipping to true drops it.
pub async fn off_thread<T, F, Fut>(
    cancel: Option<watch::Receiver<bool>>,
    f: F,
) -> Result<T, UiError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, UiError>> + 'static,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("lanyard-core".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(UiError::new(
                        "failed",
                        format!("could not start a runtime: {e}"),
                        "",
                    )));
                    return;
                }
            };
            let r = rt.block_on(async move {
                match cancel {
                    Some(mut c) => tokio::select! {
                        r = f() => r,
                        _ = c.changed() => Err(UiError::new("cancelled", "Sign-in cancelled.", "")),
                    },
                    None => f().await,
                }
            });
            let _ = tx.send(r);
        })
        .map_err(|e| UiError::new("failed", format!("could not start a thread: {e}"), ""))?;
    rx.await.unwrap_or_else(|_| {
        Err(UiError::new(
            "failed",
            "Lanyard's engine thread ended unexpectedly.",
            "Try again.",
        ))
    })
}

/// What the wizard needs after discovery, before signing in.
#[derive(Debug, serde::Serialize)]
pub struct ProbeSummary {
    pub steps: Vec<TimelineStep>,
    pub issuer: Option<String>,
    /// The endpoints the user confirms with the issuer (carried into `add`, which aborts when
    /// discovery then says otherwise).
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    /// "evil.example will receive tokens from your sign-in at idp.corp …" when the issuer
    /// already signs Lanyard in to servers of another origin (`flow::shared_issuer`).
    pub issuer_warning: Option<String>,
    pub resource_name: Option<String>,
    /// "available" (a registration endpoint is advertised; whether it accepts an anonymous
    /// registration shows at sign-in) or "absent".
    pub dcr: String,
    pub cimd: bool,
    /// "resource_metadata", "legacy_origin_metadata", "legacy_default_endpoints".
    pub mode: Option<String>,
    pub error: Option<UiError>,
}

fn step_of(s: &discovery::ProbeStep) -> TimelineStep {
    TimelineStep {
        step: s.step.clone(),
        state: if s.ok { "ok" } else { "failed" }.into(),
        detail: s.outcome.clone(),
        method: Some(s.method.clone()),
        url: Some(s.url.clone()),
        status: s.status,
        millis: Some(s.millis),
    }
}

/// The discovery chain for the wizard's timeline (`lanyard probe`, without a test registration).
pub async fn probe(app: &AppHandle, url: String) -> Result<ProbeSummary, UiError> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| {
        UiError::new(
            "bad-url",
            format!("“{}” is not a URL: {e}", url.trim()),
            "Paste the server's full URL, e.g. https://gateway.example.com/mcp.",
        )
    })?;
    flow::emit(
        app,
        TimelineStep::new("challenge", "running", format!("GET {parsed}")),
    );
    let summary = off_thread(None, move || async move {
        lanyard_core::http::check_url(&parsed).map_err(|e| ui_err(e.into()))?;
        let http = Http::new().map_err(|e| ui_err(e.into()))?;
        Ok(match discovery::discover_with_mode(&http, &parsed).await {
            Ok((d, mode)) => ProbeSummary {
                steps: d.steps.iter().map(step_of).collect(),
                issuer: Some(d.auth_server.issuer_str().to_owned()),
                authorization_endpoint: Some(d.auth_server.authorization_endpoint.to_string()),
                token_endpoint: Some(d.auth_server.token_endpoint.to_string()),
                issuer_warning: issuer_warning(&parsed, d.auth_server.issuer_str()),
                resource_name: d.resource.resource_name.clone(),
                dcr: if d.auth_server.registration_endpoint.is_some() {
                    "available"
                } else {
                    "absent"
                }
                .into(),
                cimd: d.auth_server.client_id_metadata_document_supported,
                mode: serde_json::to_value(mode)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
                error: None,
            },
            Err(e) => ProbeSummary {
                steps: e.steps.iter().map(step_of).collect(),
                issuer: None,
                authorization_endpoint: None,
                token_endpoint: None,
                issuer_warning: None,
                resource_name: None,
                dcr: "unknown".into(),
                cimd: false,
                mode: None,
                error: Some(UiError::new("discovery", e.what(), e.next_step())),
            },
        })
    })
    .await?;
    // The wizard renders `summary.steps` from the answer (events could overtake it).
    Ok(summary)
}

/// The warning rule of the core over the saved servers; a state that cannot be read warns too
/// (better a needless warning than a silent token for a stranger).
fn issuer_warning(url: &url::Url, issuer: &str) -> Option<String> {
    match Lanyard::open().and_then(|l| l.list()) {
        Ok(saved) => lanyard_core::flow::shared_issuer(&saved, url, issuer).map(|w| w.warning),
        Err(e) => Some(format!(
            "Lanyard could not read its saved servers ({}), so it cannot tell whether {issuer} \
             also signs you in elsewhere. Continue only if you trust this server.",
            e.what()
        )),
    }
}

/// Turns the core's progress into timeline steps and the sign-in window.
fn on_progress(app: &AppHandle, server: &str, p: Progress, timeline: bool) {
    let step = |s: &str, state: &str, detail: String| {
        if timeline {
            flow::emit(app, TimelineStep::new(s, state, detail));
        }
    };
    match p {
        // The wizard's timeline already shows the discovery the probe made just before.
        Progress::Discovering { .. } | Progress::Discovered { .. } => {}
        Progress::Registering { endpoint } => step(
            "client id",
            "running",
            format!("Registering Lanyard at {endpoint} (dynamic client registration)"),
        ),
        Progress::ClientReady {
            client_id,
            source,
            reused,
        } => step(
            "client id",
            "ok",
            format!(
                "{client_id} ({source}{})",
                if reused {
                    ", reused"
                } else {
                    ", newly registered"
                }
            ),
        ),
        Progress::OpenThisUrl { url } | Progress::BrowserOpened { url } => {
            step("sign in", "running", "Waiting for you to sign in…".into());
            match url::Url::parse(&url) {
                Ok(u) => {
                    let (app2, server2) = (app.clone(), server.to_owned());
                    let _ = app.run_on_main_thread(move || {
                        if let Err(e) = signin::open(&app2, &server2, u) {
                            app2.state::<AppState>().log("error", e);
                        }
                    });
                }
                Err(e) => app
                    .state::<AppState>()
                    .log("error", format!("bad sign-in URL from the engine: {e}")),
            }
        }
        Progress::ExchangingCode => {
            step(
                "sign in",
                "running",
                "Redirect received; exchanging the code for tokens…".into(),
            );
            signin::close(app);
        }
        Progress::StepUp { scopes } => step(
            "sign in",
            "running",
            format!(
                "The server needs more permissions ({}); sign in again…",
                scopes.join(" ")
            ),
        ),
        Progress::CallingServer => {
            step(
                "sign in",
                "ok",
                "Signed in; tokens stored in the keychain".into(),
            );
            step(
                "first tool call",
                "running",
                "initialize + tools/list".into(),
            );
        }
        Progress::Saved { name } => step("first tool call", "ok", format!("Saved as “{name}”")),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddRequest {
    pub url: String,
    pub name: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    #[serde(default)]
    pub no_resource: bool,
    /// What the user confirmed after the check (the probe's issuer and endpoints).
    pub expect_issuer: Option<String>,
    pub expect_authorization_endpoint: Option<String>,
    pub expect_token_endpoint: Option<String>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Add a server: discover, client id, sign in (window), first tool call, save.
pub async fn add(app: &AppHandle, req: AddRequest) -> Result<AddOutcome, UiError> {
    let cancel = flow::cancel_switch(app);
    let app2 = app.clone();
    let name = nonempty(Some(req.name));
    let opts = AddOptions {
        name: name.clone(),
        client: ClientOptions {
            client_id: nonempty(req.client_id),
            client_secret: nonempty(req.client_secret),
            client_metadata_url: None,
        },
        scopes: nonempty(req.scope).map(|s| s.split_whitespace().map(str::to_owned).collect()),
        quirks: Quirks {
            no_resource: req.no_resource,
            ..Quirks::default()
        },
        no_browser: true,
        confirmed: nonempty(req.expect_issuer).map(|issuer| Confirmed {
            issuer,
            authorization_endpoint: nonempty(req.expect_authorization_endpoint),
            token_endpoint: nonempty(req.expect_token_endpoint),
        }),
    };
    let url = req.url.trim().to_owned();
    let label = name.unwrap_or_else(|| url.clone());
    let r = off_thread(Some(cancel), move || async move {
        let lanyard = Lanyard::open().map_err(ui_err)?;
        let progress = move |p: Progress| on_progress(&app2, &label, p, true);
        lanyard.add(&url, opts, &progress).await.map_err(ui_err)
    })
    .await;
    signin::close(app);
    r
}

/// Sign in again to a saved server, through the sign-in window.
pub async fn login(app: &AppHandle, name: String) -> Result<(), UiError> {
    let cancel = flow::cancel_switch(app);
    let app2 = app.clone();
    let r = off_thread(Some(cancel), move || async move {
        let lanyard = Lanyard::open().map_err(ui_err)?;
        let progress = {
            let name = name.clone();
            move |p: Progress| on_progress(&app2, &name, p, false)
        };
        lanyard.login(&name, true, &progress).await.map_err(ui_err)
    })
    .await;
    signin::close(app);
    r
}

pub async fn tools(name: String) -> Result<Vec<lanyard_core::mcp::Tool>, UiError> {
    off_thread(None, move || async move {
        let lanyard = Lanyard::open().map_err(ui_err)?;
        lanyard.tools(&name, &|_| {}).await.map_err(ui_err)
    })
    .await
}

pub async fn list() -> Result<Vec<ServerView>, UiError> {
    off_thread(None, || async {
        Lanyard::open().and_then(|l| l.list()).map_err(ui_err)
    })
    .await
}

pub async fn remove(name: String) -> Result<(), UiError> {
    off_thread(None, move || async move {
        let lanyard = Lanyard::open().map_err(ui_err)?;
        lanyard.remove(&name).await.map(|_| ()).map_err(ui_err)
    })
    .await
}
