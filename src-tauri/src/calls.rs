//! The tray's calls into lanyard-core, in-process: discovery, add (register → sign in → first
//! tool call), sign in again, tools, list, remove, the assistants' configs and the cleanup. The
//! sign-in runs the core's own loopback listener (it holds the PKCE verifier); the sign-in
//! window only shows the IdP's pages.
//!
//! Core flows run on a thread of their own with a current-thread tokio runtime, so the tray does
//! not depend on their futures being `Send`; closing the wizard cancels them (the listener stops).

use std::future::Future;
use std::sync::Mutex;

use lanyard_core::api::{AddOptions, AddOutcome, Confirmed, Lanyard, Progress, ServerView};
use lanyard_core::cleanup::{Cleanup, CleanupError, Purpose, Step};
use lanyard_core::discovery;
use lanyard_core::error::UserFacing;
use lanyard_core::http::Http;
use lanyard_core::ides::actions::{self, ConnectTarget};
use lanyard_core::ides::{Ide, IdeStatus};
use lanyard_core::registration::ClientOptions;
use lanyard_core::servers::Quirks;
use tauri::{AppHandle, Manager};
use tokio::sync::watch;

use crate::model::{
    AddRequest, Assistant, Dcr, ProbeSummary, StepState, TimelineStep, ToolInfo, UiError,
};
use crate::signin;
use crate::state::AppState;
use crate::timeline;

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
                        "tray.runtime",
                        format!("could not start a runtime: {e}"),
                        "Quit Lanyard and start it again.",
                    )));
                    return;
                }
            };
            let r = rt.block_on(async move {
                match cancel {
                    Some(mut c) => tokio::select! {
                        r = f() => r,
                        _ = c.changed() => Err(UiError::cancelled()),
                    },
                    None => f().await,
                }
            });
            let _ = tx.send(r);
        })
        .map_err(|e| {
            UiError::new(
                "tray.runtime",
                format!("could not start a thread: {e}"),
                "Quit Lanyard and start it again.",
            )
        })?;
    rx.await.unwrap_or_else(|_| {
        Err(UiError::new(
            "tray.runtime",
            "Lanyard's engine thread ended unexpectedly.",
            "Try again.",
        ))
    })
}

fn step_of(s: &discovery::ProbeStep) -> TimelineStep {
    TimelineStep {
        step: s.step.clone(),
        state: if s.ok {
            StepState::Ok
        } else {
            StepState::Failed
        },
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
            "tray.bad-url",
            format!("“{}” is not a URL: {e}", url.trim()),
            "Paste the server's full URL, e.g. https://gateway.example.com/mcp.",
        )
    })?;
    timeline::emit(
        app,
        TimelineStep::new("challenge", StepState::Running, format!("GET {parsed}")),
    );
    let summary = off_thread(None, move || async move {
        lanyard_core::http::check_url(&parsed).map_err(|e| UiError::from(&e))?;
        let http = Http::new().map_err(|e| UiError::from(&e))?;
        Ok(match discovery::discover_with_mode(&http, &parsed).await {
            Ok((d, mode)) => ProbeSummary {
                steps: d.steps.iter().map(step_of).collect(),
                issuer: Some(d.auth_server.issuer_str().to_owned()),
                authorization_endpoint: d
                    .auth_server
                    .authorization_endpoint
                    .as_ref()
                    .map(|u| u.to_string()),
                token_endpoint: Some(d.auth_server.token_endpoint.to_string()),
                issuer_warning: issuer_warning(&parsed, d.auth_server.issuer_str()),
                resource_name: d.resource.resource_name.clone(),
                dcr: if d.auth_server.registration_endpoint.is_some() {
                    Dcr::Available
                } else {
                    Dcr::Absent
                },
                cimd: d.auth_server.client_id_metadata_document_supported,
                mode: Some(mode.into()),
                error: None,
            },
            Err(e) => ProbeSummary {
                steps: e.steps.iter().map(step_of).collect(),
                issuer: None,
                authorization_endpoint: None,
                token_endpoint: None,
                issuer_warning: None,
                resource_name: None,
                dcr: Dcr::Unknown,
                cimd: false,
                mode: None,
                error: Some(UiError::from(&e)),
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
        Ok(saved) => lanyard_core::api::shared_issuer(&saved, url, issuer).map(|w| w.warning),
        Err(e) => Some(format!(
            "Lanyard could not read its saved servers ({}), so it cannot tell whether {issuer} \
             also signs you in elsewhere. Continue only if you trust this server.",
            e.what()
        )),
    }
}

/// Turns the core's progress into timeline steps and the sign-in window.
pub(crate) fn on_progress(app: &AppHandle, server: &str, p: Progress, timeline: bool) {
    let step = |s: &str, state: StepState, detail: String| {
        if timeline {
            timeline::emit(app, TimelineStep::new(s, state, detail));
        }
    };
    match p {
        // The wizard's timeline already shows the discovery the probe made just before.
        Progress::Discovering { .. } | Progress::Discovered { .. } => {}
        Progress::Registering { endpoint } => step(
            "client id",
            StepState::Running,
            format!("Registering Lanyard at {endpoint} (dynamic client registration)"),
        ),
        Progress::ClientReady {
            client_id,
            source,
            reused,
        } => step(
            "client id",
            StepState::Ok,
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
            step(
                "sign in",
                StepState::Running,
                "Waiting for you to sign in…".into(),
            );
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
        Progress::EnterCode {
            verification_uri,
            user_code,
            ..
        } => step(
            "sign in",
            StepState::Running,
            format!("Enter the code {user_code} at {verification_uri}…"),
        ),
        Progress::ExchangingCode => {
            step(
                "sign in",
                StepState::Running,
                "Redirect received; exchanging the code for tokens…".into(),
            );
            signin::close(app);
        }
        Progress::StepUp { scopes } => step(
            "sign in",
            StepState::Running,
            format!(
                "The server needs more permissions ({}); sign in again…",
                scopes.join(" ")
            ),
        ),
        Progress::CallingServer => {
            step(
                "sign in",
                StepState::Ok,
                "Signed in; tokens stored in the keychain".into(),
            );
            step(
                "first tool call",
                StepState::Running,
                "initialize + tools/list".into(),
            );
        }
        Progress::Saved { name } => step(
            "first tool call",
            StepState::Ok,
            format!("Saved as “{name}”"),
        ),
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Add a server: discover, client id, sign in (window), first tool call, save.
pub async fn add(app: &AppHandle, req: AddRequest) -> Result<AddOutcome, UiError> {
    let cancel = app.state::<AppState>().cancel_switch();
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
            no_resource: req.no_resource.unwrap_or(false),
            ..Quirks::default()
        },
        no_browser: true,
        device: false,
        confirmed: nonempty(req.expect_issuer).map(|issuer| Confirmed {
            issuer,
            authorization_endpoint: nonempty(req.expect_authorization_endpoint),
            token_endpoint: nonempty(req.expect_token_endpoint),
        }),
    };
    let url = req.url.trim().to_owned();
    let label = name.unwrap_or_else(|| url.clone());
    let r = off_thread(Some(cancel), move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        let progress = move |p: Progress| on_progress(&app2, &label, p, true);
        lanyard
            .add(&url, opts, &progress)
            .await
            .map_err(UiError::from)
    })
    .await;
    signin::close(app);
    r
}

/// Sign in again to a saved server, through the sign-in window.
pub async fn login(app: &AppHandle, name: String) -> Result<(), UiError> {
    let cancel = app.state::<AppState>().cancel_switch();
    let app2 = app.clone();
    let r = off_thread(Some(cancel), move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        let progress = {
            let name = name.clone();
            move |p: Progress| on_progress(&app2, &name, p, false)
        };
        lanyard
            .login(&name, true, &progress)
            .await
            .map_err(UiError::from)
    })
    .await;
    signin::close(app);
    r
}

pub async fn tools(name: String) -> Result<Vec<ToolInfo>, UiError> {
    off_thread(None, move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        let tools = lanyard.tools(&name, &|_| {}).await.map_err(UiError::from)?;
        Ok(tools.into_iter().map(ToolInfo::from).collect())
    })
    .await
}

pub async fn list() -> Result<Vec<ServerView>, UiError> {
    off_thread(None, || async {
        Lanyard::open()
            .and_then(|l| l.list())
            .map_err(UiError::from)
    })
    .await
}

pub async fn remove(name: String) -> Result<(), UiError> {
    off_thread(None, move || async move {
        let lanyard = Lanyard::open().map_err(UiError::from)?;
        lanyard
            .remove(&name)
            .await
            .map(|_| ())
            .map_err(UiError::from)
    })
    .await
}

/// Every assistant, each marked connected for `server` when given (Lanyard's records say it
/// wrote an entry there).
pub async fn assistants(server: Option<String>) -> Result<Vec<Assistant>, UiError> {
    off_thread(None, move || async move {
        let manager = actions::manager()?;
        let recorded = match &server {
            Some(_) => {
                manager
                    .records
                    .load()
                    .map_err(|e| UiError::from(&e))?
                    .connections
            }
            None => Vec::new(),
        };
        Ok(actions::assistants(&manager)
            .iter()
            .map(|a| {
                let connected = recorded
                    .iter()
                    .any(|c| Some(c.server.as_str()) == server.as_deref() && c.ide == a.ide);
                Assistant::new(a.ide, a.installed, connected)
            })
            .collect())
    })
    .await
}

/// Every recorded connection with its state (for the server rows and their drift).
pub async fn connections() -> Result<Vec<IdeStatus>, UiError> {
    off_thread(None, || async {
        let manager = actions::manager()?;
        let source = lanyard_core::ides::source::LiveSource::open()?;
        actions::connections(&manager, &source)
            .await
            .map_err(UiError::from)
    })
    .await
}

/// Writes `name`'s entries into these assistants' configs (each in its default mode, checked
/// by the assistant's own CLI when installed).
pub async fn connect(name: String, ides: Vec<Ide>) -> Result<(), UiError> {
    off_thread(None, move || async move {
        let target = ConnectTarget {
            ides: Some(ides),
            validate: true,
            ..ConnectTarget::default()
        };
        actions::connect(&name, &target)
            .await
            .map(|_| ())
            .map_err(UiError::from)
    })
    .await
}

/// Removes `name`'s entries from these assistants' configs.
pub async fn disconnect(name: String, ides: Vec<Ide>) -> Result<(), UiError> {
    off_thread(None, move || async move {
        actions::disconnect(&name, Some(ides))
            .await
            .map(|_| ())
            .map_err(UiError::from)
    })
    .await
}

/// The whole uninstall of this user's Lanyard (revoke tokens, delete this machine's OAuth
/// clients, remove assistant entries, keychain items, state), as `lanyard uninstall --yes` runs
/// it. The engine of this process must be stopped first. Returns the report: a line per item,
/// then what stays at identity providers, if anything (done here, nothing more to do).
pub async fn uninstall() -> Result<String, UiError> {
    off_thread(None, || async {
        let cleanup = Cleanup::for_user()?;
        let plan = cleanup.plan(Purpose::Uninstall)?;
        if plan.is_empty() {
            return Ok("Nothing to clean up: Lanyard has nothing left on this machine.".into());
        }
        let lines = Mutex::new(Vec::new());
        let progress = |s: &Step| {
            if let Some(line) = s.report_line() {
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        };
        let result = cleanup.execute(&plan, &progress).await.into_result();
        let mut text = lines.into_inner().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => text.push("Lanyard removed everything it had on this machine.".into()),
            Err(e @ CleanupError::RemoteLeftovers { .. }) => {
                text.push(format!("note: {} {}", e.what(), e.next_step()))
            }
            Err(e) => return Err(UiError::from(&e)),
        }
        Ok(text.join("\n"))
    })
    .await
}

/// The name the wizard suggests for a server URL: the core's own rule (`flow::derive_name`).
pub fn suggest_name(url: &str) -> String {
    url::Url::parse(url.trim())
        .map(|u| lanyard_core::api::derive_name(&u))
        .unwrap_or_default()
}
