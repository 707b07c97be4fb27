//! The refresh scheduler: one timer for every server, driven by messages, generic over the
//! [`Backend`] that really refreshes (the keychain + IdP code in production, a fake in tests)
//! and the [`Clock`] that tells wall time.
//!
//! The loop sleeps until the earliest due instant of its [`DueQueue`] or until a message
//! arrives (a server changed, a refresh finished, shutdown) — nothing wakes it otherwise, so an
//! idle engine uses no CPU. Refreshes run as tasks, at most `max_parallel` at a time, and report
//! back through the same channel; the loop alone owns the schedule and the statuses.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::policy::{Backoff, refresh_due};
use super::queue::DueQueue;
use super::status::{Event, Status, StatusFile};

/// Wall-clock time. Wall time (not a monotonic clock) because token expiries are wall times.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// When the token in hand was obtained and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenTimes {
    pub obtained_at: Option<DateTime<Utc>>,
    /// `None`: the IdP gave no `expires_in`; nothing to schedule.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether a refresh token came with it. Without one (RFC 6749 §5.1 makes it optional) the
    /// engine schedules no refresh: the token is good until `expires_at`, and then the server
    /// needs a new sign-in. Absent in a refresh helper's answer from an older Lanyard: `true`.
    #[serde(default = "refreshable_by_default")]
    pub refreshable: bool,
    /// Which access token these are the times of: a refresh asks for exactly this one to be
    /// replaced (expiries are whole seconds; two tokens may share one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<crate::tokens::set::TokenId>,
}

fn refreshable_by_default() -> bool {
    true
}

/// A managed server as the backend sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// Signed in, with a token whose times are these.
    SignedIn(TokenTimes),
    /// No usable grant: the user must sign in.
    NeedsSignIn { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    pub name: String,
    pub state: ServerState,
}

/// What one refresh attempt came to (also the one JSON line a refresh helper process prints).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A valid token is in the keychain: refreshed at the IdP (`at_idp`), or found already
    /// refreshed by another process when re-read under the lock.
    Fresh { times: TokenTimes, at_idp: bool },
    /// The IdP could not be reached, timed out or answered 5xx. The old token stays in place.
    Unreachable { reason: String },
    /// `invalid_grant` (revoked, expired or replayed refresh token): only a sign-in helps.
    GrantGone { reason: String },
    /// `invalid_client`: the OAuth client was deleted at the IdP.
    ClientGone { reason: String },
    /// A local failure (keychain locked, state unreadable): retried with backoff.
    Failed { reason: String },
    /// The server is no longer managed.
    Removed,
}

/// What the engine needs from the rest of Lanyard. Every method may block on I/O; the engine
/// calls them from tasks, never from its loop.
pub trait Backend: Send + Sync + 'static {
    /// Every managed server with the times of its current token.
    fn servers(&self) -> impl Future<Output = Result<Vec<ServerEntry>, String>> + Send;

    /// Refresh `server` through the cross-process single flight: take the server's lock,
    /// re-read the token, and refresh only if it still is the one the engine saw (`seen`, by
    /// [`TokenTimes::token`]); otherwise report the newer token with `at_idp: false`.
    fn refresh(
        &self,
        server: &str,
        seen: Option<TokenTimes>,
    ) -> impl Future<Output = RefreshOutcome> + Send;

    /// The access token of `server` cannot be refreshed (no refresh token) and has reached its
    /// expiry (`seen`): confirm it under the single flight, without asking the IdP for
    /// anything, and report `GrantGone` (persisting "needs sign-in"), or `Fresh` when a new
    /// sign-in stored another token meanwhile. Default: [`Backend::refresh`].
    fn expired(
        &self,
        server: &str,
        seen: Option<TokenTimes>,
    ) -> impl Future<Output = RefreshOutcome> + Send {
        self.refresh(server, seen)
    }

    /// The OAuth client of `server`'s issuer was deleted: register a new one (once per issuer;
    /// a second call for another server behind the same issuer finds it already replaced) and
    /// mark `server` as needing a sign-in. Returns the issuer.
    fn reregister(&self, server: &str) -> impl Future<Output = Result<String, String>> + Send;

    /// Persist "needs sign-in" for `server` where the rest of Lanyard looks for it.
    fn mark_needs_sign_in(&self, server: &str, reason: &str) -> impl Future<Output = ()> + Send;

    /// Files whose change means "servers or tokens changed: look again" (the state file).
    fn watch_paths(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the status file goes (`None`: events only, no file).
    pub state_dir: Option<PathBuf>,
    pub backoff: Backoff,
    /// Refreshes in flight at once.
    pub max_parallel: usize,
    /// Longest single sleep: after a laptop resumes, the monotonic timer may lag the wall
    /// clock, so the engine looks at the wall clock at least this often when anything is
    /// scheduled. Not a poll: one wake-up per interval, only while servers are managed.
    pub max_sleep: Duration,
    /// How long status changes are gathered before the status file is rewritten.
    pub flush_delay: Duration,
    /// How long shutdown waits for refreshes in flight to finish.
    pub shutdown_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            state_dir: None,
            backoff: Backoff::default(),
            max_parallel: 4,
            max_sleep: Duration::from_secs(15 * 60),
            flush_delay: Duration::from_millis(200),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

enum Msg {
    Rescan,
    Listed(Result<Vec<ServerEntry>, String>),
    Done(String, RefreshOutcome),
    Reregistered(String, Result<String, String>),
    Shutdown,
}

/// The running engine, as the tray or the `daemon` command holds it.
pub struct EngineHandle {
    tx: mpsc::UnboundedSender<Msg>,
    events: broadcast::Sender<Event>,
    statuses: Arc<Mutex<BTreeMap<String, Status>>>,
    task: JoinHandle<()>,
}

impl EngineHandle {
    /// Every status change, refresh, re-registration and removal from now on. A receiver that
    /// falls behind by more than 1024 events gets `Lagged` and should call [`Self::statuses`].
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The current status of every server.
    pub fn statuses(&self) -> BTreeMap<String, Status> {
        self.statuses.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Servers or tokens changed (a server added, signed in, removed): look again.
    pub fn rescan(&self) {
        let _ = self.tx.send(Msg::Rescan);
    }

    /// A sender the file watcher (or anyone) can use to ask for a rescan.
    pub fn rescan_trigger(&self) -> RescanTrigger {
        RescanTrigger(self.tx.clone())
    }

    /// Stop: no new refreshes, wait (bounded) for those in flight, write the status file.
    pub async fn shutdown(mut self) {
        let _ = self.tx.send(Msg::Shutdown);
        let _ = (&mut self.task).await;
    }

    /// Whether the engine loop has ended (it only ends on shutdown or a panic).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for EngineHandle {
    /// Dropped without [`EngineHandle::shutdown`]: stop the loop at once (refreshes in flight
    /// run in their own tasks or helper processes and still store what they get).
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Asks a running engine to rescan; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct RescanTrigger(mpsc::UnboundedSender<Msg>);

impl RescanTrigger {
    pub fn rescan(&self) -> bool {
        self.0.send(Msg::Rescan).is_ok()
    }
}

/// Start the engine on the current tokio runtime. It lists the servers at once.
pub fn start<B: Backend, C: Clock>(backend: B, clock: C, config: EngineConfig) -> EngineHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let (events, _) = broadcast::channel(1024);
    let statuses = Arc::new(Mutex::new(BTreeMap::new()));
    let engine = Engine {
        backend: Arc::new(backend),
        clock: Arc::new(clock),
        permits: Arc::new(Semaphore::new(config.max_parallel.max(1))),
        config,
        tx: tx.clone(),
        events: events.clone(),
        shared: statuses.clone(),
        queue: DueQueue::new(),
        slots: HashMap::new(),
        in_flight: 0,
        listing: false,
        rescan_pending: false,
        dirty: None,
        stopping: false,
        stop_deadline: None,
    };
    let _ = tx.send(Msg::Rescan);
    let task = tokio::spawn(engine.run(rx));
    EngineHandle {
        tx,
        events,
        statuses,
        task,
    }
}

#[derive(Debug)]
struct Slot {
    times: Option<TokenTimes>,
    status: Status,
    in_flight: bool,
    failures: u32,
    unreachable_since: Option<DateTime<Utc>>,
    /// Whether this server's `invalid_client` already led to a re-registration.
    reregistered: bool,
}

struct Engine<B, C> {
    backend: Arc<B>,
    clock: Arc<C>,
    permits: Arc<Semaphore>,
    config: EngineConfig,
    tx: mpsc::UnboundedSender<Msg>,
    events: broadcast::Sender<Event>,
    shared: Arc<Mutex<BTreeMap<String, Status>>>,
    queue: DueQueue,
    slots: HashMap<String, Slot>,
    in_flight: usize,
    listing: bool,
    rescan_pending: bool,
    /// When the status file should be written next (set on change).
    dirty: Option<Instant>,
    stopping: bool,
    stop_deadline: Option<Instant>,
}

impl<B: Backend, C: Clock> Engine<B, C> {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        loop {
            if self.stopping && self.in_flight == 0 {
                break;
            }
            let wake = if self.stopping {
                None
            } else {
                self.queue.next_due().map(|due| self.instant_of(due))
            };
            tokio::select! {
                biased;
                msg = rx.recv() => match msg {
                    Some(msg) => self.handle(msg),
                    None => break,
                },
                _ = sleep_opt(wake) => self.fire_due(),
                _ = sleep_opt(self.dirty) => self.flush(),
                _ = sleep_opt(self.stop_deadline), if self.stop_deadline.is_some() => {
                    tracing::warn!("stopping with {} refresh(es) still in flight", self.in_flight);
                    break;
                }
            }
        }
        self.flush();
    }

    /// The monotonic instant at which wall time `due` arrives (capped by `max_sleep`).
    fn instant_of(&self, due: DateTime<Utc>) -> Instant {
        let wait = (due - self.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(self.config.max_sleep);
        Instant::now() + wait
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Rescan => self.request_listing(),
            Msg::Listed(result) => {
                self.listing = false;
                match result {
                    Ok(entries) => self.apply_listing(entries),
                    Err(e) => tracing::warn!("could not list servers: {e}"),
                }
                if self.rescan_pending {
                    self.rescan_pending = false;
                    self.request_listing();
                }
            }
            Msg::Done(name, outcome) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.apply_outcome(&name, outcome);
            }
            Msg::Reregistered(name, result) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                match result {
                    Ok(issuer) => {
                        tracing::info!("{name}: registered a new OAuth client with {issuer}");
                        self.emit(Event::Reregistered {
                            server: name,
                            issuer,
                        });
                    }
                    Err(e) => tracing::warn!("{name}: re-registration failed: {e}"),
                }
            }
            Msg::Shutdown => {
                self.stopping = true;
                self.stop_deadline = Some(Instant::now() + self.config.shutdown_grace);
            }
        }
    }

    fn request_listing(&mut self) {
        if self.stopping {
            return;
        }
        if self.listing {
            self.rescan_pending = true;
            return;
        }
        self.listing = true;
        let backend = self.backend.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = backend.servers().await;
            let _ = tx.send(Msg::Listed(result));
        });
    }

    fn apply_listing(&mut self, entries: Vec<ServerEntry>) {
        let now = self.clock.now();
        let mut seen = std::collections::HashSet::new();
        for entry in entries {
            seen.insert(entry.name.clone());
            let name = entry.name;
            let slot = self.slots.entry(name.clone()).or_insert_with(|| Slot {
                times: None,
                status: Status::Refreshing { until: None },
                in_flight: false,
                failures: 0,
                unreachable_since: None,
                reregistered: false,
            });
            if slot.in_flight {
                continue; // its outcome will say what comes next
            }
            match entry.state {
                ServerState::NeedsSignIn { reason } => {
                    self.queue.remove(&name);
                    slot.times = None;
                    if !slot.status.needs_sign_in() {
                        self.set_status(&name, Status::NeedsSignIn { reason });
                    }
                }
                ServerState::SignedIn(times) => {
                    let unchanged = slot.times == Some(times) && !slot.status.needs_sign_in();
                    let scheduled = self.queue.due_of(&name).is_some();
                    if unchanged && scheduled {
                        continue; // keep its schedule (and any backoff in progress)
                    }
                    slot.times = Some(times);
                    slot.failures = 0;
                    slot.unreachable_since = None;
                    slot.reregistered = false;
                    self.schedule_fresh(&name, times, now);
                }
            }
        }
        let gone: Vec<String> = self
            .slots
            .keys()
            .filter(|n| !seen.contains(*n))
            .cloned()
            .collect();
        for name in gone {
            if self.slots.get(&name).is_some_and(|s| s.in_flight) {
                continue;
            }
            self.forget(&name);
        }
    }

    fn forget(&mut self, name: &str) {
        self.queue.remove(name);
        self.slots.remove(name);
        if let Ok(mut shared) = self.shared.lock() {
            shared.remove(name);
        }
        self.mark_dirty();
        self.emit(Event::Removed {
            server: name.to_owned(),
        });
    }

    /// Schedule the next refresh of a server whose token is valid — or, for a token that cannot
    /// be refreshed, the moment it expires (then the server needs a new sign-in; until then it
    /// is fresh, and its status says until when).
    fn schedule_fresh(&mut self, name: &str, times: TokenTimes, now: DateTime<Utc>) {
        match times.expires_at {
            Some(expires_at) if !times.refreshable => {
                let due = expires_at.max(now + TimeDelta::seconds(1));
                self.queue.schedule(name, due);
                self.set_status(
                    name,
                    Status::Fresh {
                        until: expires_at,
                        next_refresh: expires_at,
                    },
                );
            }
            Some(expires_at) => {
                // Never sooner than a second from now: a token that came back already stale
                // must not turn the engine into a busy loop.
                let due = refresh_due(times.obtained_at, expires_at, now)
                    .max(now + TimeDelta::seconds(1));
                self.queue.schedule(name, due);
                self.set_status(
                    name,
                    Status::Fresh {
                        until: expires_at,
                        next_refresh: due,
                    },
                );
            }
            None => {
                self.queue.remove(name);
                self.set_status(name, Status::NoExpiry);
            }
        }
    }

    fn fire_due(&mut self) {
        let now = self.clock.now();
        for name in self.queue.pop_due(now) {
            let Some(slot) = self.slots.get_mut(&name) else {
                continue;
            };
            if slot.in_flight {
                continue;
            }
            slot.in_flight = true;
            let seen = slot.times;
            let until = seen.and_then(|t| t.expires_at);
            // A token without a refresh token is due at its expiry: nothing to refresh, only
            // to find out that it is over (or that a new sign-in replaced it).
            let refreshable = slot.times.is_none_or(|t| t.refreshable);
            self.in_flight += 1;
            // Keep an "unreachable" status visible while retrying; otherwise show "refreshing".
            if refreshable && !matches!(slot.status, Status::Unreachable { .. }) {
                self.set_status(&name, Status::Refreshing { until });
            }
            let backend = self.backend.clone();
            let permits = self.permits.clone();
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let outcome = match permits.acquire_owned().await {
                    Ok(_permit) if refreshable => backend.refresh(&name, seen).await,
                    Ok(_permit) => backend.expired(&name, seen).await,
                    Err(_) => RefreshOutcome::Failed {
                        reason: "engine stopping".to_owned(),
                    },
                };
                let _ = tx.send(Msg::Done(name, outcome));
            });
        }
    }

    fn apply_outcome(&mut self, name: &str, outcome: RefreshOutcome) {
        let now = self.clock.now();
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        slot.in_flight = false;
        match outcome {
            RefreshOutcome::Fresh { times, at_idp } => {
                let changed = slot.times != Some(times);
                slot.times = Some(times);
                slot.failures = 0;
                slot.unreachable_since = None;
                slot.reregistered = false;
                if let Some(until) = times.expires_at
                    && (changed || at_idp)
                {
                    self.emit(Event::Refreshed {
                        server: name.to_owned(),
                        until,
                        at_idp,
                    });
                }
                self.schedule_fresh(name, times, now);
            }
            RefreshOutcome::Unreachable { reason } => {
                let attempt = slot.failures;
                slot.failures = slot.failures.saturating_add(1);
                let since = *slot.unreachable_since.get_or_insert(now);
                let until = slot.times.and_then(|t| t.expires_at);
                let retry_at = now + self.config.backoff.delay_random(attempt);
                tracing::warn!("{name}: IdP unreachable ({reason}); retry at {retry_at}");
                self.queue.schedule(name, retry_at);
                self.set_status(
                    name,
                    Status::Unreachable {
                        since,
                        until,
                        retry_at,
                        reason,
                    },
                );
            }
            RefreshOutcome::Failed { reason } => {
                let attempt = slot.failures;
                slot.failures = slot.failures.saturating_add(1);
                let retry_at = now + self.config.backoff.delay_random(attempt);
                tracing::warn!("{name}: refresh failed ({reason}); retry at {retry_at}");
                self.queue.schedule(name, retry_at);
                self.set_status(name, Status::Error { reason, retry_at });
            }
            RefreshOutcome::GrantGone { reason } => {
                tracing::warn!("{name}: needs sign-in ({reason})");
                slot.times = None;
                self.queue.remove(name);
                self.needs_sign_in(name, reason);
            }
            RefreshOutcome::ClientGone { reason } => {
                let first = !slot.reregistered;
                slot.reregistered = true;
                slot.times = None;
                self.queue.remove(name);
                if first {
                    tracing::warn!("{name}: OAuth client gone ({reason}); registering a new one");
                    self.in_flight += 1;
                    let backend = self.backend.clone();
                    let tx = self.tx.clone();
                    let server = name.to_owned();
                    tokio::spawn(async move {
                        let result = backend.reregister(&server).await;
                        let _ = tx.send(Msg::Reregistered(server, result));
                    });
                }
                self.needs_sign_in(
                    name,
                    format!("the OAuth client was deleted at the identity provider ({reason})"),
                );
            }
            RefreshOutcome::Removed => self.forget(name),
        }
    }

    fn needs_sign_in(&mut self, name: &str, reason: String) {
        let backend = self.backend.clone();
        let server = name.to_owned();
        let why = reason.clone();
        tokio::spawn(async move { backend.mark_needs_sign_in(&server, &why).await });
        self.set_status(name, Status::NeedsSignIn { reason });
    }

    fn set_status(&mut self, name: &str, status: Status) {
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        if slot.status == status {
            return;
        }
        slot.status = status.clone();
        if let Ok(mut shared) = self.shared.lock() {
            shared.insert(name.to_owned(), status.clone());
        }
        self.mark_dirty();
        self.emit(Event::Status {
            server: name.to_owned(),
            status,
        });
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event); // no subscriber is fine
    }

    fn mark_dirty(&mut self) {
        if self.config.state_dir.is_some() && self.dirty.is_none() {
            self.dirty = Some(Instant::now() + self.config.flush_delay);
        }
    }

    fn flush(&mut self) {
        self.dirty = None;
        let Some(dir) = &self.config.state_dir else {
            return;
        };
        let file = StatusFile {
            pid: std::process::id(),
            written_at: Some(self.clock.now()),
            servers: self
                .slots
                .iter()
                .map(|(n, s)| (n.clone(), s.status.clone()))
                .collect(),
        };
        if let Err(e) = file.write(dir) {
            tracing::warn!("could not write the status file in {}: {e}", dir.display());
        }
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
