//! The loopback redirect listener (RFC 8252 §7.3): bound on 127.0.0.1 before the browser opens,
//! it waits (5 minutes by default, MFA is slow) for exactly one request to `/callback` carrying
//! the expected `state`. Foreign states get a 400 and the wait goes on; `error=` ends the wait
//! with a clear error; `iss` (RFC 9207) must equal the issuer.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::error::UserFacing;

/// Default wait for the browser.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The callback path of the redirect URI.
pub const CALLBACK_PATH: &str = "/callback";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Lanyard could not listen on 127.0.0.1:{port} for the sign-in redirect: {detail}")]
    Bind { port: u16, detail: String },
    #[error(
        "the sign-in was not completed within {secs} seconds (no redirect reached http://127.0.0.1:{port}{CALLBACK_PATH})"
    )]
    Timeout { secs: u64, port: u16 },
    #[error(
        "a sign-in response reached http://127.0.0.1:{port}{CALLBACK_PATH} with a `state` Lanyard never sent; it was ignored (OAuth CSRF protection, RFC 6749 §10.12) and no matching one followed within {secs} seconds"
    )]
    ForeignState { secs: u64, port: u16 },
    #[error("the identity provider ended the sign-in with \"{error}\"{}", .description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error(
        "the sign-in redirect came from issuer \"{got}\", not from \"{expected}\" (RFC 9207 mix-up protection)"
    )]
    IssuerMismatch { expected: String, got: String },
    #[error(
        "the sign-in redirect carried no `iss` although the identity provider {expected} promised it (RFC 9207)"
    )]
    IssuerMissing { expected: String },
    #[error("the sign-in redirect carried neither a code nor an error")]
    NoCode,
    #[error(
        "Lanyard gave up on the pasted sign-in answer after {tries} unusable pastes (the last: {last})"
    )]
    PasteRefused { tries: u32, last: String },
    #[error("Lanyard could not open a browser ({detail}); open this URL yourself:\n{url}")]
    Browser { url: String, detail: String },
}

impl UserFacing for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::Bind { .. } => "authorization.bind",
            AuthError::Timeout { .. } => "authorization.timeout",
            AuthError::ForeignState { .. } => "authorization.foreign-state",
            AuthError::Denied { .. } => "authorization.denied",
            AuthError::IssuerMismatch { .. } => "authorization.issuer-mismatch",
            AuthError::IssuerMissing { .. } => "authorization.issuer-missing",
            AuthError::NoCode => "authorization.no-code",
            AuthError::Browser { .. } => "authorization.browser",
            AuthError::PasteRefused { .. } => "authorization.paste-refused",
        }
    }
    fn next_step(&self) -> String {
        match self {
            AuthError::Bind { .. } => "Close the program using that port, or set another fixed callback port for this server, then try again.".into(),
            AuthError::Timeout { port, .. } => format!("Run the command again and finish the sign-in in the browser within the time limit (use `--no-browser` to open the URL yourself). If the browser showed an error about the redirect URI, the identity provider wants the exact callback port its admin registered: pass it with `--callback-port PORT` (this try used {port}; `lanyard set NAME --callback-port PORT` for a saved server)."),
            AuthError::ForeignState { .. } => "Close old sign-in tabs and run the command again; if it happens again, something on this machine or the identity provider is sending forged sign-in responses: tell your admin.".into(),
            AuthError::Denied { error, .. } if error == "access_denied" => "You (or a policy) declined the consent. Run the command again and approve access, or ask your admin why access is denied.".into(),
            AuthError::Denied { .. } => "Run the command again; if it keeps failing, show this message to your identity provider admin.".into(),
            AuthError::IssuerMismatch { .. } | AuthError::IssuerMissing { .. } => "Do not retry blindly: another authorization server answered. Check the server URL, and tell your admin.".into(),
            AuthError::NoCode => "Run the command again; if it keeps failing, tell your identity provider admin.".into(),
            AuthError::Browser { .. } => "Open the URL above in a browser on this machine, or set $BROWSER.".into(),
            AuthError::PasteRefused { .. } => "Run the command again, sign in in the browser, then copy the whole address of the page it ends on (http://127.0.0.1:PORT/callback?code=…&state=…) and paste it as one line.".into(),
        }
    }
}

/// What the browser brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub code: String,
}

/// A bound loopback listener.
pub struct Listener {
    listener: TcpListener,
    port: u16,
}

impl Listener {
    /// Bind 127.0.0.1:`port`; port 0 picks a free one.
    pub async fn bind(port: u16) -> Result<Listener, AuthError> {
        let listener =
            TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| AuthError::Bind {
                    port,
                    detail: e.to_string(),
                })?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::Bind {
                port,
                detail: e.to_string(),
            })?
            .port();
        Ok(Listener { listener, port })
    }

    /// Bind the preferred port, else any free one.
    pub async fn bind_preferring(port: Option<u16>) -> Result<Listener, AuthError> {
        if let Some(p) = port.filter(|p| *p != 0)
            && let Ok(l) = Listener::bind(p).await
        {
            return Ok(l);
        }
        Listener::bind(0).await
    }

    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Wait for the one callback with `state`.
    pub async fn wait(
        &self,
        state: &str,
        issuer: &str,
        iss_required: bool,
        timeout: Duration,
    ) -> Result<Callback, AuthError> {
        let port = self.port;
        // Each connection is served on its own task: a browser's speculative connection that
        // never sends a request must not hold up the real redirect behind it.
        let state: std::sync::Arc<str> = state.into();
        let issuer: std::sync::Arc<str> = issuer.into();
        let foreign = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let work = async {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = self.listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            let (state, issuer) = (state.clone(), issuer.clone());
                            let foreign = foreign.clone();
                            conns.spawn(async move {
                                handle(stream, &state, &issuer, iss_required, &foreign).await
                            });
                        }
                    }
                    Some(done) = conns.join_next(), if !conns.is_empty() => {
                        if let Ok(Some(outcome)) = done {
                            return outcome;
                        }
                    }
                }
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) if foreign.load(std::sync::atomic::Ordering::SeqCst) => {
                Err(AuthError::ForeignState {
                    secs: timeout.as_secs(),
                    port,
                })
            }
            Err(_) => Err(AuthError::Timeout {
                secs: timeout.as_secs(),
                port,
            }),
        }
    }
}

/// The timeout from `LANYARD_CALLBACK_TIMEOUT_SECS` (tests), else 5 minutes.
pub fn timeout_from_env() -> Duration {
    std::env::var("LANYARD_CALLBACK_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// What one request to the listener means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Not ours (other path, foreign state, garbage): answer and keep waiting.
    Ignore {
        status: u16,
        message: &'static str,
    },
    Done(Result<Callback, AuthError>),
}

impl PartialEq for AuthError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}
impl Eq for AuthError {}

/// The answer to a callback whose `state` is not the one Lanyard sent.
pub(crate) const FOREIGN_STATE: &str =
    "This sign-in response does not belong to the sign-in Lanyard is waiting for.";

/// Interpret a request target such as `/callback?code=…&state=…`.
pub(crate) fn parse_target(target: &str, state: &str, issuer: &str, iss_required: bool) -> Parsed {
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Parsed::Ignore {
            status: 400,
            message: "Bad request.",
        };
    };
    if url.path() != CALLBACK_PATH {
        return Parsed::Ignore {
            status: 404,
            message: "Not found.",
        };
    }
    let mut got_state = None;
    let mut code = None;
    let mut error = None;
    let mut description = None;
    let mut iss = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "state" => got_state = Some(v.into_owned()),
            "code" => code = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            "iss" => iss = Some(v.into_owned()),
            _ => {}
        }
    }
    if got_state.as_deref() != Some(state) {
        return Parsed::Ignore {
            status: 400,
            message: FOREIGN_STATE,
        };
    }
    // RFC 9207: check `iss` before anything else in the response is trusted.
    match &iss {
        Some(got) if !issuer_eq(got, issuer) => {
            return Parsed::Done(Err(AuthError::IssuerMismatch {
                expected: issuer.to_string(),
                got: got.clone(),
            }));
        }
        None if iss_required => {
            return Parsed::Done(Err(AuthError::IssuerMissing {
                expected: issuer.to_string(),
            }));
        }
        _ => {}
    }
    if let Some(error) = error {
        return Parsed::Done(Err(AuthError::Denied { error, description }));
    }
    match code.filter(|c| !c.is_empty()) {
        Some(code) => Parsed::Done(Ok(Callback { code })),
        None => Parsed::Done(Err(AuthError::NoCode)),
    }
}

/// Issuer identifiers compare as simple strings (RFC 9207 §2.4): no case folding, no
/// trailing-slash or default-port normalisation. `issuer` is the metadata's exact spelling
/// (`AuthServerMetadata::issuer_str`).
fn issuer_eq(got: &str, issuer: &str) -> bool {
    got == issuer
}

async fn handle(
    mut stream: TcpStream,
    state: &str,
    issuer: &str,
    iss_required: bool,
    foreign: &std::sync::atomic::AtomicBool,
) -> Option<Result<Callback, AuthError>> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    let read = async {
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
                return Some(());
            }
            if buf.len() > 16 * 1024 {
                return None;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()
        .flatten()?;
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    if method != "GET" {
        respond(&mut stream, 405, "Method not allowed.").await;
        return None;
    }
    match parse_target(target, state, issuer, iss_required) {
        Parsed::Ignore { status, message } => {
            if message == FOREIGN_STATE {
                foreign.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            respond(&mut stream, status, message).await;
            None
        }
        Parsed::Done(Ok(cb)) => {
            respond_page(
                &mut stream,
                200,
                "Signed in",
                "Signed in — you can close this tab and return to Lanyard.",
            )
            .await;
            Some(Ok(cb))
        }
        Parsed::Done(Err(e)) => {
            respond_page(
                &mut stream,
                400,
                "Sign-in failed",
                &format!("Sign-in failed: {e}. See Lanyard for what to do next."),
            )
            .await;
            Some(Err(e))
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, message: &str) {
    respond_page(stream, status, "Lanyard", message).await
}

async fn respond_page(stream: &mut TcpStream, status: u16, title: &str, message: &str) {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
<body style=\"font-family:system-ui,sans-serif;margin:4em auto;max-width:32em\"><h1>{t}</h1><p>{m}</p></body></html>",
        t = esc(title),
        m = esc(message)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Bad Request",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iss() -> &'static str {
        "http://127.0.0.1:9000/oidc"
    }

    #[test]
    fn matching_state_yields_code() {
        let p = parse_target("/callback?code=abc&state=s1", "s1", iss(), false);
        assert_eq!(p, Parsed::Done(Ok(Callback { code: "abc".into() })));
    }

    #[test]
    fn foreign_state_and_other_paths_are_ignored() {
        assert!(matches!(
            parse_target("/callback?code=abc&state=other", "s1", iss(), false),
            Parsed::Ignore { status: 400, .. }
        ));
        assert!(matches!(
            parse_target("/callback?code=abc", "s1", iss(), false),
            Parsed::Ignore { status: 400, .. }
        ));
        assert!(matches!(
            parse_target("/favicon.ico", "s1", iss(), false),
            Parsed::Ignore { status: 404, .. }
        ));
    }

    #[test]
    fn error_is_denied() {
        let p = parse_target(
            "/callback?error=access_denied&error_description=no%20way&state=s1",
            "s1",
            iss(),
            false,
        );
        match p {
            Parsed::Done(Err(AuthError::Denied { error, description })) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("no way"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn iss_is_checked() {
        let ok = format!(
            "/callback?code=c&state=s&iss={}",
            "http%3A%2F%2F127.0.0.1%3A9000%2Foidc"
        );
        assert!(matches!(
            parse_target(&ok, "s", iss(), true),
            Parsed::Done(Ok(_))
        ));
        let bad = "/callback?code=c&state=s&iss=http%3A%2F%2Fevil";
        assert!(matches!(
            parse_target(bad, "s", iss(), false),
            Parsed::Done(Err(AuthError::IssuerMismatch { .. }))
        ));
        assert!(matches!(
            parse_target("/callback?code=c&state=s", "s", iss(), true),
            Parsed::Done(Err(AuthError::IssuerMissing { .. }))
        ));
        let root = "http://127.0.0.1:9000";
        assert!(matches!(
            parse_target(
                "/callback?code=c&state=s&iss=http%3A%2F%2F127.0.0.1%3A9000",
                "s",
                root,
                false
            ),
            Parsed::Done(Ok(_))
        ));
        // No normalisation: a trailing-slash variant is a different issuer (RFC 9207 §2.4).
        assert!(matches!(
            parse_target(
                "/callback?code=c&state=s&iss=http%3A%2F%2F127.0.0.1%3A9000%2F",
                "s",
                root,
                false
            ),
            Parsed::Done(Err(AuthError::IssuerMismatch { .. }))
        ));
    }

    #[tokio::test]
    async fn listener_ignores_foreign_state_then_accepts_the_right_one() {
        let l = Listener::bind(0).await.unwrap();
        let port = l.port();
        let client = tokio::spawn(async move {
            let get = |path: String| async move {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).await.unwrap();
                out
            };
            let a = get("/callback?code=x&state=wrong".into()).await;
            let b = get("/callback?code=good&state=right".into()).await;
            (a, b)
        });
        let cb = l
            .wait("right", iss(), false, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(cb.code, "good");
        let (a, b) = client.await.unwrap();
        assert!(a.starts_with("HTTP/1.1 400"));
        assert!(b.starts_with("HTTP/1.1 200") && b.contains("Signed in"));
    }

    #[tokio::test]
    async fn an_idle_connection_does_not_hold_up_the_redirect() {
        let l = Listener::bind(0).await.unwrap();
        let port = l.port();
        let client = tokio::spawn(async move {
            let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        });
        let cb = l
            .wait("s", iss(), false, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(cb.code, "c");
        assert!(client.await.unwrap().starts_with("HTTP/1.1 200"));
    }

    #[tokio::test]
    async fn listener_times_out() {
        let l = Listener::bind(0).await.unwrap();
        let e = l
            .wait("s", iss(), false, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::Timeout { .. }));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// Whatever reaches the loopback port (any request target): no panic, and nothing but
        /// the right path with the right `state` is ever taken as the sign-in's answer.
        #[test]
        fn any_request_target_is_no_panic_and_never_a_code_without_the_state(
            target in "\\PC{0,200}",
        ) {
            let p = parse_target(&target, "the-state", iss(), false);
            if let Parsed::Done(Ok(_)) = p {
                let url = Url::parse(&format!("http://127.0.0.1{target}")).unwrap();
                proptest::prop_assert_eq!(url.path(), CALLBACK_PATH);
                proptest::prop_assert!(
                    url.query_pairs().any(|(k, v)| k == "state" && v == "the-state"),
                    "{}",
                    target
                );
            }
        }

        /// A real answer survives any percent-encoding of its code.
        #[test]
        fn any_code_comes_back_exactly(code in "\\PC{1,80}") {
            let enc: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
            let p = parse_target(&format!("/callback?code={enc}&state=s1"), "s1", iss(), false);
            proptest::prop_assert_eq!(p, Parsed::Done(Ok(Callback { code })));
        }
    }
}
