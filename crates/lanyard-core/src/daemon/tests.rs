//! The engine against a fake backend and a clock that follows tokio's (paused) time: hours of
//! scheduling run in milliseconds, and every count is exact.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

use super::scheduler::{self, *};
use super::status::{Event, Status};

#[derive(Clone)]
struct TokioClock {
    wall: DateTime<Utc>,
    start: Instant,
}

impl TokioClock {
    fn new() -> Self {
        TokioClock {
            wall: DateTime::from_timestamp(1_800_000_000, 0).expect("valid"),
            start: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.wall + TimeDelta::from_std(self.start.elapsed()).expect("small")
    }
}

#[derive(Clone, Copy, Debug)]
enum Next {
    Ok,
    Down,
    GrantGone,
    ClientGone,
}

#[derive(Default)]
struct World {
    servers: HashMap<String, ServerState>,
    script: HashMap<String, VecDeque<Next>>,
    refreshes: HashMap<String, usize>,
    expiries: HashMap<String, usize>,
    reregistered: Vec<String>,
    marked: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    clock: TokioClock,
    lifetime: TimeDelta,
    world: Arc<Mutex<World>>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Fake {
    fn new(clock: &TokioClock, lifetime_s: i64) -> Self {
        Fake {
            clock: clock.clone(),
            lifetime: TimeDelta::seconds(lifetime_s),
            world: Arc::default(),
            running: Arc::default(),
            peak: Arc::default(),
        }
    }
    fn times(&self) -> TokenTimes {
        let now = self.clock.now();
        TokenTimes {
            obtained_at: Some(now),
            expires_at: Some(now + self.lifetime),
            refreshable: true,
            token: None,
        }
    }
    /// A server whose IdP issued no refresh token.
    fn add_without_refresh_token(&self, name: &str) {
        let t = TokenTimes {
            refreshable: false,
            ..self.times()
        };
        self.w()
            .servers
            .insert(name.into(), ServerState::SignedIn(t));
    }
    fn expiries(&self, name: &str) -> usize {
        self.w().expiries.get(name).copied().unwrap_or(0)
    }
    fn add(&self, name: &str) {
        let t = self.times();
        self.w()
            .servers
            .insert(name.into(), ServerState::SignedIn(t));
    }
    fn script(&self, name: &str, steps: &[Next]) {
        self.w()
            .script
            .insert(name.into(), steps.iter().copied().collect());
    }
    fn w(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("lock")
    }
    fn count(&self, name: &str) -> usize {
        self.w().refreshes.get(name).copied().unwrap_or(0)
    }
    fn total(&self) -> usize {
        self.w().refreshes.values().sum()
    }
}

impl Backend for Fake {
    async fn servers(&self) -> Result<Vec<ServerEntry>, String> {
        Ok(self
            .w()
            .servers
            .iter()
            .map(|(n, s)| ServerEntry {
                name: n.clone(),
                state: s.clone(),
            })
            .collect())
    }

    async fn refresh(&self, server: &str, _seen: Option<TokenTimes>) -> RefreshOutcome {
        let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now_running, Ordering::SeqCst);
        // A refresh takes a little while, as at a real IdP.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        let mut w = self.w();
        *w.refreshes.entry(server.into()).or_default() += 1;
        let next = w
            .script
            .get_mut(server)
            .and_then(|s| s.pop_front())
            .unwrap_or(Next::Ok);
        if !w.servers.contains_key(server) {
            return RefreshOutcome::Removed;
        }
        match next {
            Next::Ok => {
                let t = self.times();
                w.servers.insert(server.into(), ServerState::SignedIn(t));
                RefreshOutcome::Fresh {
                    times: t,
                    at_idp: true,
                }
            }
            Next::Down => RefreshOutcome::Unreachable {
                reason: "connection refused".into(),
            },
            Next::GrantGone => RefreshOutcome::GrantGone {
                reason: "invalid_grant".into(),
            },
            Next::ClientGone => RefreshOutcome::ClientGone {
                reason: "invalid_client".into(),
            },
        }
    }

    async fn expired(&self, server: &str, _seen: Option<TokenTimes>) -> RefreshOutcome {
        *self.w().expiries.entry(server.into()).or_default() += 1;
        RefreshOutcome::GrantGone {
            reason: crate::tokens::fresh::no_refresh_token_reason(false),
        }
    }

    async fn reregister(&self, server: &str) -> Result<String, String> {
        self.w().reregistered.push(server.into());
        Ok("http://idp.test".into())
    }

    async fn mark_needs_sign_in(&self, server: &str, reason: &str) {
        let mut w = self.w();
        w.marked.push(server.into());
        w.servers.insert(
            server.into(),
            ServerState::NeedsSignIn {
                reason: reason.into(),
            },
        );
    }
}

fn cfg() -> EngineConfig {
    EngineConfig::default()
}

async fn run_for(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn five_minute_token_is_refreshed_every_225_seconds() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    fake.add("a");
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    run_for(3600).await;
    // 3600 s / 225 s = 16 (the 16th at 3600.x s, after 16 refreshes of 50 ms): fifteen
    // refreshes, never a gap that lets the token expire.
    assert_eq!(fake.count("a"), 15);
    match engine.statuses().get("a") {
        Some(Status::Fresh { until, .. }) => assert!(*until > clock.now()),
        other => panic!("unexpected status {other:?}"),
    }
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn thousand_servers_each_refreshed_once_per_window_with_bounded_parallelism() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    for i in 0..1000 {
        fake.add(&format!("s{i:04}"));
    }
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    // 1000 refreshes of 50 ms, 4 at a time, from 225 s on: done by 237.5 s, long before expiry.
    run_for(240).await;
    assert_eq!(fake.total(), 1000);
    assert!(fake.peak.load(Ordering::SeqCst) <= cfg().max_parallel);
    let statuses = engine.statuses();
    assert_eq!(statuses.len(), 1000);
    assert!(statuses.values().all(|s| matches!(s, Status::Fresh { .. })));
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unreachable_idp_backs_off_keeps_token_and_recovers_without_sign_in() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    fake.add("a");
    fake.script("a", &[Next::Down, Next::Down, Next::Down, Next::Down]);
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    let mut events = engine.subscribe();
    run_for(226).await;
    assert_eq!(fake.count("a"), 1);
    match engine.statuses().get("a") {
        Some(Status::Unreachable { until, .. }) => {
            assert_eq!(*until, Some(clock.wall + TimeDelta::seconds(300)))
        }
        other => panic!("unexpected status {other:?}"),
    }
    // Backoff ceilings 2 + 4 + 8 + 16 s: recovered well within a minute, after 5 attempts.
    run_for(60).await;
    assert_eq!(fake.count("a"), 5);
    assert!(matches!(
        engine.statuses().get("a"),
        Some(Status::Fresh { .. })
    ));
    assert!(fake.w().marked.is_empty());
    let mut saw_unreachable = false;
    let mut saw_refreshed = false;
    while let Ok(ev) = events.try_recv() {
        match ev {
            Event::Status {
                status: Status::Unreachable { .. },
                ..
            } => saw_unreachable = true,
            Event::Refreshed { at_idp: true, .. } => saw_refreshed = true,
            _ => {}
        }
    }
    assert!(saw_unreachable && saw_refreshed);
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn invalid_grant_needs_sign_in_and_is_left_alone() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    fake.add("a");
    fake.add("b");
    fake.script("a", &[Next::GrantGone]);
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    run_for(3600).await;
    assert_eq!(fake.count("a"), 1);
    assert_eq!(fake.count("b"), 15);
    assert_eq!(fake.w().marked, vec!["a".to_owned()]);
    assert!(matches!(
        engine.statuses().get("a"),
        Some(Status::NeedsSignIn { .. })
    ));
    // After a new sign-in (the state changes) the engine takes the server up again.
    fake.add("a");
    engine.rescan();
    run_for(300).await;
    assert_eq!(fake.count("a"), 2);
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn invalid_client_reregisters_once_and_never_replays() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    fake.add("a");
    fake.script("a", &[Next::ClientGone, Next::ClientGone, Next::ClientGone]);
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    let mut events = engine.subscribe();
    run_for(3600).await;
    for _ in 0..3 {
        engine.rescan();
        run_for(600).await;
    }
    assert_eq!(fake.count("a"), 1);
    assert_eq!(fake.w().reregistered, vec!["a".to_owned()]);
    assert!(matches!(
        engine.statuses().get("a"),
        Some(Status::NeedsSignIn { .. })
    ));
    let mut saw = false;
    while let Ok(ev) = events.try_recv() {
        saw |= matches!(ev, Event::Reregistered { .. });
    }
    assert!(saw);
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rescan_adds_and_removes_servers() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    run_for(10).await;
    assert!(engine.statuses().is_empty());
    fake.add("new");
    engine.rescan();
    run_for(1).await;
    assert!(matches!(
        engine.statuses().get("new"),
        Some(Status::Fresh { .. })
    ));
    fake.w().servers.remove("new");
    engine.rescan();
    run_for(1).await;
    assert!(engine.statuses().is_empty());
    run_for(600).await;
    assert_eq!(fake.total(), 0);
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn status_file_follows_the_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    fake.add("a");
    let config = EngineConfig {
        state_dir: Some(dir.path().to_owned()),
        ..cfg()
    };
    let engine = scheduler::start(fake.clone(), clock.clone(), config);
    run_for(5).await;
    let file = super::status::StatusFile::read(dir.path()).expect("status file");
    assert!(matches!(file.servers.get("a"), Some(Status::Fresh { .. })));
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_token_without_refresh_token_is_left_alone_until_it_expires() {
    let clock = TokioClock::new();
    let fake = Fake::new(&clock, 300);
    fake.add_without_refresh_token("a");
    fake.add("b");
    let engine = scheduler::start(fake.clone(), clock.clone(), cfg());
    let expiry = clock.wall + TimeDelta::seconds(300);
    run_for(298).await;
    // No refresh (no helper run) for it, and it is not flagged while its token is valid; its
    // status says until when.
    assert_eq!(fake.count("a"), 0);
    assert_eq!(fake.expiries("a"), 0);
    assert_eq!(fake.count("b"), 1);
    assert!(fake.w().marked.is_empty());
    assert_eq!(
        engine.statuses().get("a"),
        Some(&Status::Fresh {
            until: expiry,
            next_refresh: expiry
        })
    );
    // At its expiry: needs sign-in, saying why; once.
    run_for(3).await;
    assert_eq!(fake.expiries("a"), 1);
    assert_eq!(fake.w().marked, vec!["a".to_owned()]);
    match engine.statuses().get("a") {
        Some(Status::NeedsSignIn { reason }) => {
            assert!(reason.contains("issued no refresh token"), "{reason}")
        }
        other => panic!("unexpected status {other:?}"),
    }
    run_for(3600).await;
    assert_eq!(fake.count("a"), 0);
    assert_eq!(fake.expiries("a"), 1);
    engine.shutdown().await;
}
