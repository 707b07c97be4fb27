//! Paste-back: when the browser runs where the loopback callback cannot reach Lanyard (an SSH
//! host, a container, `--no-browser`), the user pastes the address the browser ended on — the
//! `http://127.0.0.1:PORT/callback?code=…&state=…&iss=…` page that could not load — while the
//! listener keeps listening; whichever answers first wins.
//!
//! A paste is judged by the listener's own [`parse_target`], so `state` and RFC 9207 `iss` are
//! checked exactly as for a redirect. A bare code is refused: without its `state` nothing ties
//! it to this sign-in (a code from a phishing page or another sign-in would be taken), and
//! without its `iss` the mix-up check is lost. The prompt therefore asks for the whole address.

use std::io::BufRead;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use url::Url;

use super::callback::{AuthError, Callback, FOREIGN_STATE, Listener, Parsed, parse_target};

/// Unusable pastes in a row before the sign-in gives up (a typo gets retries, a loop does not).
pub const MAX_BAD_PASTES: u32 = 5;

type Say = Box<dyn Fn(&str) + Send + Sync>;
type Start = Box<dyn Fn() -> mpsc::UnboundedReceiver<String> + Send + Sync>;

/// Where pasted lines come from and where the prompts go (the CLI: stdin and stderr).
pub struct PasteBack {
    start: Start,
    say: Say,
    lines: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
}

impl PasteBack {
    /// Lines from `start` (called once, on the first sign-in that needs a paste), prompts to `say`.
    pub fn new(
        start: impl Fn() -> mpsc::UnboundedReceiver<String> + Send + Sync + 'static,
        say: impl Fn(&str) + Send + Sync + 'static,
    ) -> PasteBack {
        PasteBack {
            start: Box::new(start),
            say: Box::new(say),
            lines: Mutex::new(None),
        }
    }

    /// Lines typed on this process's stdin. They are read on a detached thread of their own: a
    /// blocking read cannot be cancelled, and must not keep the process alive once the loopback
    /// redirect has won.
    pub fn stdin(say: impl Fn(&str) + Send + Sync + 'static) -> PasteBack {
        PasteBack::new(
            || {
                let (tx, rx) = mpsc::unbounded_channel();
                let spawned = std::thread::Builder::new()
                    .name("lanyard-paste".into())
                    .spawn(move || {
                        for line in std::io::stdin().lock().lines() {
                            let Ok(line) = line else { break };
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!("cannot read pasted addresses: {e}");
                }
                rx
            },
            say,
        )
    }

    /// The next pasted line; `None` once the input has ended.
    async fn next_line(&self) -> Option<String> {
        let mut lines = self.lines.lock().await;
        let rx = lines.get_or_insert_with(|| (self.start)());
        rx.recv().await
    }

    /// Wait for a paste that answers this sign-in. Never returns once the input has ended, so
    /// the listener (and its timeout) decide.
    async fn wait(
        &self,
        redirect_uri: &str,
        state: &str,
        issuer: &str,
        iss_required: bool,
    ) -> Result<Callback, AuthError> {
        (self.say)(&format!(
            "If the browser is on another machine, it ends on a page that cannot load, at an address starting with {redirect_uri}?code= . Copy that whole address from the address bar, paste it here and press Enter (just the code is not enough: the address's `state` proves it answers this sign-in). Lanyard is listening for the redirect meanwhile."
        ));
        let mut bad = 0;
        loop {
            let Some(line) = self.next_line().await else {
                return std::future::pending().await;
            };
            match interpret(&line, state, issuer, iss_required) {
                Pasted::Answer(r) => return r,
                Pasted::Retry(why) => {
                    bad += 1;
                    if bad >= MAX_BAD_PASTES {
                        return Err(AuthError::PasteRefused {
                            tries: bad,
                            last: why,
                        });
                    }
                    (self.say)(&format!(
                        "That paste was not used: {why}. Paste the whole address the browser ended on ({redirect_uri}?code=…&state=…), {} tries left.",
                        MAX_BAD_PASTES - bad
                    ));
                }
            }
        }
    }
}

/// Wait for the callback on `listener`, or for a paste on `paste` when given: whichever first
/// brings this sign-in's answer (or a terminal error).
pub(crate) async fn callback_or_paste(
    listener: &Listener,
    paste: Option<&PasteBack>,
    state: &str,
    issuer: &str,
    iss_required: bool,
    timeout: Duration,
) -> Result<Callback, AuthError> {
    let from_listener = listener.wait(state, issuer, iss_required, timeout);
    let Some(paste) = paste else {
        return from_listener.await;
    };
    let redirect_uri = listener.redirect_uri();
    tokio::select! {
        r = from_listener => r,
        r = paste.wait(&redirect_uri, state, issuer, iss_required) => r,
    }
}

/// What one pasted line means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pasted {
    /// This sign-in's answer: a code, or an error that ends it (as from the listener).
    Answer(Result<Callback, AuthError>),
    /// Unusable; why, in a few words.
    Retry(String),
}

pub(crate) fn interpret(line: &str, state: &str, issuer: &str, iss_required: bool) -> Pasted {
    let text = line
        .trim()
        .trim_matches(|c| matches!(c, '<' | '>' | '"' | '\''));
    if text.is_empty() {
        return Pasted::Retry("nothing was pasted".into());
    }
    let url = match Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ if !text.contains(['/', '?', '&', '=', ' ']) => {
            return Pasted::Retry(
                "that looks like just the code, and a code alone cannot be checked against this sign-in"
                    .into(),
            );
        }
        _ => return Pasted::Retry("that is not a web address".into()),
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    match parse_target(&target, state, issuer, iss_required) {
        Parsed::Done(r) => Pasted::Answer(r),
        Parsed::Ignore { message, .. } if message == FOREIGN_STATE => Pasted::Retry(
            "its `state` does not match this sign-in (an address from an older or another sign-in?)"
                .into(),
        ),
        Parsed::Ignore { status: 404, .. } => {
            Pasted::Retry("that is not the address of Lanyard's callback page".into())
        }
        Parsed::Ignore { .. } => Pasted::Retry("that address carries no sign-in answer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "http://127.0.0.1:9000/oidc";
    const ISS_ENC: &str = "http%3A%2F%2F127.0.0.1%3A9000%2Foidc";

    fn retry(p: Pasted) -> String {
        match p {
            Pasted::Retry(why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_whole_redirected_address_yields_the_code() {
        let line = format!("  http://127.0.0.1:4321/callback?code=c1&state=s1&iss={ISS_ENC}\n");
        assert_eq!(
            interpret(&line, "s1", ISS, true),
            Pasted::Answer(Ok(Callback { code: "c1".into() }))
        );
    }

    #[test]
    fn a_bare_code_is_refused_with_a_reason() {
        assert!(retry(interpret("c1-abcdef", "s1", ISS, false)).contains("just the code"));
    }

    #[test]
    fn a_foreign_state_asks_again() {
        let line = format!("http://127.0.0.1:4321/callback?code=c1&state=other&iss={ISS_ENC}");
        assert!(retry(interpret(&line, "s1", ISS, true)).contains("`state`"));
    }

    #[test]
    fn a_wrong_issuer_ends_the_sign_in_like_the_listener() {
        let line = "http://127.0.0.1:4321/callback?code=c1&state=s1&iss=http%3A%2F%2Fevil";
        assert!(matches!(
            interpret(line, "s1", ISS, true),
            Pasted::Answer(Err(AuthError::IssuerMismatch { .. }))
        ));
    }

    #[test]
    fn garbage_and_other_pages_ask_again() {
        assert!(retry(interpret("", "s1", ISS, false)).contains("nothing"));
        assert!(retry(interpret("hello there", "s1", ISS, false)).contains("not a web address"));
        assert!(
            retry(interpret(
                "http://127.0.0.1:1/favicon.ico",
                "s1",
                ISS,
                false
            ))
            .contains("callback")
        );
    }

    fn scripted(lines: Vec<&'static str>) -> PasteBack {
        PasteBack::new(
            move || {
                let (tx, rx) = mpsc::unbounded_channel();
                for l in &lines {
                    let _ = tx.send((*l).to_owned());
                }
                rx
            },
            |_| {},
        )
    }

    #[tokio::test]
    async fn a_good_paste_after_a_bad_one_wins_over_the_silent_listener() {
        let listener = Listener::bind(0).await.unwrap();
        let paste = scripted(vec![
            "just-a-code",
            "http://127.0.0.1:1/callback?code=good&state=s1",
        ]);
        let cb = callback_or_paste(
            &listener,
            Some(&paste),
            "s1",
            ISS,
            false,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(cb.code, "good");
    }

    #[tokio::test]
    async fn too_many_bad_pastes_end_the_sign_in() {
        let listener = Listener::bind(0).await.unwrap();
        let paste = scripted(vec!["x"; MAX_BAD_PASTES as usize]);
        let e = callback_or_paste(
            &listener,
            Some(&paste),
            "s1",
            ISS,
            false,
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AuthError::PasteRefused { .. }), "{e}");
    }

    #[tokio::test]
    async fn ended_input_leaves_the_sign_in_to_the_listener() {
        let listener = Listener::bind(0).await.unwrap();
        let paste = scripted(vec![]);
        let e = callback_or_paste(
            &listener,
            Some(&paste),
            "s1",
            ISS,
            false,
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, AuthError::Timeout { .. }), "{e}");
    }
}
