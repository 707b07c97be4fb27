//! The sign-in window: a native webview at the authorization URL.
//!
//! It watches its own navigation: the redirect to Lanyard's loopback redirect URI is let through
//! (the listener that holds the PKCE verifier receives the code and finishes the exchange) and
//! the window closes once that page has loaded.
//!
//! Where you are (issue 12: a server that changes its metadata between check and sign-in could
//! show a lookalike login page): the window's native title, which the page cannot touch, names
//! the host of every page and whether it is https ("Sign in to demo — idp.corp (https) —
//! Lanyard"); plain-http navigation is refused except to loopback. A bar injected at the top of
//! every page repeats host and https state and offers "Open in my browser instead" (RFC 8252
//! §8.12 prefers the system browser; some IdPs and passkeys need it). An embedded-browser
//! refusal (`disallowed_useragent`) switches to the system browser by itself. Either choice is
//! remembered per server.
//!
//! The page is remote content: this window gets no capability, so it cannot call any command.
//! The bar talks to Lanyard only by navigating to `https://lanyard.invalid/…`, which
//! `on_navigation` intercepts and cancels.

use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};
use url::Url;

use crate::state::{AppState, Prefs};
use crate::windows::WIZARD;

pub const SIGNIN: &str = "signin";
const CONTROL_HOST: &str = "lanyard.invalid";

const BAR_JS: &str = r#"
(function () {
  if (window.top !== window) return;
  function go(p) { window.location.href = 'https://lanyard.invalid/' + p; }
  function bar() {
    if (!document.body || document.getElementById('lanyard-bar')) return;
    if (/disallowed_useragent/.test(document.body.innerText || '')) { go('refused'); return; }
    var b = document.createElement('div');
    b.id = 'lanyard-bar';
    var secure = location.protocol === 'https:';
    b.setAttribute('style', 'position:fixed;left:0;right:0;top:0;z-index:2147483647;display:flex;gap:8px;' +
      'align-items:center;justify-content:space-between;padding:8px 12px;color:#fff;' +
      'background:' + (secure ? '#1f6f8b' : '#8a5a00') + ';' +
      'font:13px system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)');
    var t = document.createElement('span');
    t.id = 'lanyard-address';
    t.textContent = (secure ? 'https \u2014 ' : 'not encrypted (this computer only) \u2014 ') + location.host +
      ' \u2014 the window title shows it too';
    var btn = document.createElement('button');
    btn.id = 'lanyard-open-browser';
    btn.textContent = 'Open in my browser instead';
    btn.setAttribute('style', 'font:inherit;padding:4px 10px;border-radius:4px;border:0;background:#fff;' +
      'color:#1f6f8b;cursor:pointer');
    btn.addEventListener('click', function () { go('open-in-browser'); });
    b.appendChild(t);
    b.appendChild(btn);
    document.body.appendChild(b);
    document.body.style.paddingTop = '48px';
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bar); else bar();
})();
"#;

/// The redirect URI the authorization request names (Lanyard's loopback listener).
fn redirect_uri_of(auth_url: &Url) -> Option<Url> {
    let (_, r) = auth_url.query_pairs().find(|(k, _)| k == "redirect_uri")?;
    Url::parse(&r).ok()
}

/// Whether `u` goes to the redirect URI (same scheme, host, port and path). The IdP may itself
/// be on loopback (tests, local gateways), so "any 127.0.0.1 URL" would not do.
fn is_redirect(u: &Url, redirect: Option<&Url>) -> bool {
    redirect.is_some_and(|r| {
        u.scheme() == r.scheme()
            && u.host_str() == r.host_str()
            && u.port_or_known_default() == r.port_or_known_default()
            && u.path() == r.path()
    })
}

/// Whether the sign-in window may go to `u`: https, plain http only to loopback (the redirect
/// URI, a local IdP), `about:` pages; never `file:` or plain http over the network.
fn allowed_navigation(u: &Url) -> bool {
    match u.scheme() {
        "https" | "about" => true,
        "http" => lanyard_core::http::is_loopback(u),
        _ => false,
    }
}

/// The window title for a page: the server, the page's host and whether it is https. The
/// native title is drawn by the desktop, out of the page's reach.
fn title_for(server: &str, u: &Url) -> String {
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => u.scheme().to_owned(),
    };
    let state = if u.scheme() == "https" {
        "https"
    } else {
        "not encrypted, this computer only"
    };
    format!("Sign in to {server} — {host} ({state}) — Lanyard")
}

/// An IdP saying it refuses embedded browsers (Google: `disallowed_useragent`).
fn is_refusal(u: &Url) -> bool {
    u.as_str().contains("disallowed_useragent")
}

/// Opens the sign-in for `server` at `auth_url`: the native window, or the system browser when
/// that is what the user chose for this server before.
pub fn open(app: &AppHandle, server: &str, auth_url: Url) -> Result<(), String> {
    let state = app.state::<AppState>();
    state.set_signin(Some((server.to_owned(), auth_url.clone())));
    if Prefs::prefers_system_browser(server) {
        state.log(
            "sign-in",
            format!("{server}: opening the system browser (remembered choice)"),
        );
        return open_system_browser(app, &auth_url);
    }
    if let Some(old) = app.get_webview_window(SIGNIN) {
        let _ = old.destroy();
    }
    let nav_app = app.clone();
    let nav_server = server.to_owned();
    let nav_auth = auth_url.clone();
    let redirect = redirect_uri_of(&auth_url);
    let load_redirect = redirect.clone();
    let load_server = server.to_owned();
    let title = title_for(server, &auth_url);
    WebviewWindowBuilder::new(app, SIGNIN, WebviewUrl::External(auth_url))
        .title(title)
        .inner_size(540.0, 720.0)
        .center()
        .initialization_script(BAR_JS)
        .on_navigation(move |u| {
            if !allowed_navigation(u) && u.host_str() != Some(CONTROL_HOST) {
                nav_app.state::<AppState>().log(
                    "error",
                    format!(
                        "{nav_server}: the sign-in page tried to go to {u} (not https): refused; use \"Open in my browser instead\" if this is expected"
                    ),
                );
                return false;
            }
            let to_browser = if u.host_str() == Some(CONTROL_HOST) {
                Some(u.path() == "/refused")
            } else if is_refusal(u) {
                Some(true)
            } else {
                None
            };
            if let Some(refused) = to_browser {
                let (app, server, auth) = (nav_app.clone(), nav_server.clone(), nav_auth.clone());
                tauri::async_runtime::spawn(async move {
                    switch_to_browser(&app, &server, &auth, refused)
                });
                return false;
            }
            if is_redirect(u, redirect.as_ref()) {
                nav_app.state::<AppState>().log(
                    "sign-in",
                    format!("{nav_server}: redirect caught, finishing sign-in"),
                );
                let _ = nav_app.emit_to(WIZARD, "signin-redirect", nav_server.clone());
            }
            true
        })
        .on_page_load(move |w, p| {
            let _ = w.set_title(&title_for(&load_server, p.url()));
            if matches!(p.event(), PageLoadEvent::Finished)
                && is_redirect(p.url(), load_redirect.as_ref())
            {
                // The listener has answered: the code reached it. Nothing left to show.
                w.app_handle().state::<AppState>().set_signin(None);
                let _ = w.close();
            }
        })
        .build()
        .map_err(|e| format!("could not open the sign-in window: {e}"))?;
    Ok(())
}

/// The wizard's "Open in my browser instead": the same switch as the sign-in window's bar.
pub fn use_system_browser(app: &AppHandle) -> Result<(), String> {
    let Some((server, url)) = app.state::<AppState>().signin() else {
        return Err("No sign-in is in progress.".into());
    };
    switch_to_browser(app, &server, &url, false);
    Ok(())
}

fn switch_to_browser(app: &AppHandle, server: &str, auth_url: &Url, refused: bool) {
    let state = app.state::<AppState>();
    Prefs::remember_system_browser(server);
    state.log(
        "sign-in",
        if refused {
            format!("{server}: the sign-in page refuses embedded browsers; continuing in the system browser")
        } else {
            format!("{server}: continuing in the system browser (remembered)")
        },
    );
    let _ = app.emit_to(WIZARD, "signin-browser", server.to_owned());
    // The flow goes on in the browser: closing the window must not cancel it (see
    // [`closed_by_user`]).
    state.set_signin(None);
    if let Some(w) = app.get_webview_window(SIGNIN) {
        let _ = w.close();
    }
    if let Err(e) = open_system_browser(app, auth_url) {
        state.log("error", e);
    }
}

/// The system browser: `$BROWSER` when set (the convention xdg-open and git follow; the tests
/// point it at the scripted browser), else the platform opener.
pub fn open_system_browser(app: &AppHandle, url: &Url) -> Result<(), String> {
    if let Ok(b) = std::env::var("BROWSER")
        && let Some(cmd) = b.split(':').map(str::trim).find(|c| !c.is_empty())
    {
        let mut words = cmd.split_whitespace();
        if let Some(prog) = words.next() {
            let mut c = std::process::Command::new(prog);
            c.args(words);
            if cmd.contains("%s") {
                c = std::process::Command::new(prog);
                c.args(
                    cmd.split_whitespace()
                        .skip(1)
                        .map(|w| w.replace("%s", url.as_str())),
                );
            } else {
                c.arg(url.as_str());
            }
            crate::gl::clean_child_env(&mut c);
            crate::appimage::clean_child_env(&mut c);
            let mut child = c
                .spawn()
                .map_err(|e| format!("could not start $BROWSER ({prog}): {e}"))?;
            // Reap it when it ends (a browser launcher usually returns at once).
            std::thread::spawn(move || child.wait());
            return Ok(());
        }
    }
    // From an AppImage, xdg-open is started here rather than by the opener plugin, so that the
    // browser does not inherit the image's GTK environment.
    #[cfg(target_os = "linux")]
    if crate::appimage::running_image().is_some() {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(url.as_str());
        crate::gl::clean_child_env(&mut c);
        crate::appimage::clean_child_env(&mut c);
        if let Ok(mut child) = c.spawn() {
            std::thread::spawn(move || child.wait());
            return Ok(());
        }
    }
    use tauri_plugin_opener::OpenerExt;
    app.opener()
        .open_url(url.as_str(), None::<&str>)
        .map_err(|e| format!("could not open the system browser: {e}"))
}

/// The sign-in window was closed by the user (not by the redirect, nor by the switch to the
/// browser, which clear the sign-in first): "Sign in again" from the menu or a notification,
/// which has no wizard and its Cancel button, stops there.
pub fn closed_by_user(app: &AppHandle) {
    let state = app.state::<AppState>();
    if state.signin().is_some() && app.get_webview_window(WIZARD).is_none() {
        state.set_signin(None);
        state.cancel_flow();
    }
}

/// Closes the sign-in window if it is still open (the flow ended some other way).
pub fn close(app: &AppHandle) {
    app.state::<AppState>().set_signin(None);
    if let Some(w) = app.get_webview_window(SIGNIN) {
        let _ = w.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_redirect_and_refusals() {
        let auth = Url::parse("http://127.0.0.1:4000/auth?client_id=x&redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Fcallback").unwrap();
        let r = redirect_uri_of(&auth);
        assert!(is_redirect(
            &Url::parse("http://127.0.0.1:33418/callback?code=x").unwrap(),
            r.as_ref()
        ));
        // The IdP on loopback is not the redirect.
        assert!(!is_redirect(
            &Url::parse("http://127.0.0.1:4000/interaction/abc").unwrap(),
            r.as_ref()
        ));
        assert!(!is_redirect(
            &Url::parse("http://127.0.0.1:33418/other").unwrap(),
            r.as_ref()
        ));
        assert!(!is_redirect(
            &Url::parse("http://127.0.0.1:33418/callback").unwrap(),
            None
        ));
        assert!(is_refusal(
            &Url::parse("https://accounts.google.com/x?error=disallowed_useragent").unwrap()
        ));
    }

    #[test]
    fn plain_http_only_to_loopback_and_the_title_says_where() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(allowed_navigation(&u("https://idp.corp/login")));
        assert!(allowed_navigation(&u("http://127.0.0.1:33418/callback")));
        assert!(allowed_navigation(&u("http://app.localhost/login")));
        assert!(allowed_navigation(&u("about:blank")));
        assert!(!allowed_navigation(&u("http://idp.corp/login")));
        assert!(!allowed_navigation(&u("http://10.0.0.1/login")));
        assert!(!allowed_navigation(&u("file:///etc/passwd")));
        assert_eq!(
            title_for("demo", &u("https://idp.corp/realms/x/auth")),
            "Sign in to demo — idp.corp (https) — Lanyard"
        );
        assert_eq!(
            title_for("demo", &u("http://127.0.0.1:4000/auth")),
            "Sign in to demo — 127.0.0.1:4000 (not encrypted, this computer only) — Lanyard"
        );
    }
}
