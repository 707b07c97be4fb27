//! Shared printing helpers: progress lines on stderr, JSON on stdout.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

use lanyard_core::api::Progress;

static EXIT_CODE: AtomicU8 = AtomicU8::new(0);

/// A command that succeeded with something worth its own exit code (`lanyard uninstall`: 3 =
/// done on this machine, leftovers at identity providers listed) sets it here.
pub fn set_exit_code(code: u8) {
    EXIT_CODE.store(code, Ordering::Relaxed);
}

/// The exit code of a command that returned `Ok` (0 unless it set another).
pub fn exit_code() -> u8 {
    EXIT_CODE.load(Ordering::Relaxed)
}

/// Progress of the sign-in flow as short lines on stderr (stdout stays for results).
pub fn progress(p: Progress) {
    match p {
        Progress::Discovering { url } => eprintln!("Discovering how {url} signs in…"),
        Progress::Discovered { issuer, .. } => eprintln!("Authorization server: {issuer}"),
        Progress::Registering { endpoint } => {
            eprintln!("Registering Lanyard with the identity provider ({endpoint})…")
        }
        Progress::ClientReady {
            client_id,
            source,
            reused,
        } => eprintln!(
            "Client id {client_id} ({source}{})",
            if reused { "" } else { ", newly registered" }
        ),
        Progress::BrowserOpened { url } => {
            eprintln!("Opened your browser to sign in. If nothing appeared, open:\n  {url}")
        }
        Progress::OpenThisUrl { url } => {
            eprintln!("Open this URL in a browser on this machine to sign in:\n  {url}")
        }
        Progress::EnterCode {
            verification_uri,
            verification_uri_complete,
            user_code,
            expires_in,
        } => {
            eprintln!(
                "To sign in, open {verification_uri} on any device and enter the code:\n  {user_code}"
            );
            if let Some(complete) = &verification_uri_complete {
                eprintln!("or open this URL, which carries the code:\n  {complete}");
            }
            if std::io::stderr().is_terminal()
                && let Some(code) = qr(verification_uri_complete
                    .as_deref()
                    .unwrap_or(&verification_uri))
            {
                eprintln!("or scan it with a phone:\n{code}");
            }
            eprintln!(
                "Waiting for the approval (the code is valid for {} min)…",
                expires_in.div_ceil(60)
            );
        }
        Progress::ExchangingCode => eprintln!("Signed in; fetching tokens…"),
        Progress::CallingServer => eprintln!("Calling the MCP server…"),
        Progress::StepUp { scopes } => eprintln!(
            "The server needs more permissions; signing in again for: {}",
            scopes.join(" ")
        ),
        Progress::Saved { name } => eprintln!("Saved as \"{name}\"."),
    }
}

/// Pasted redirect addresses on stdin, prompts on stderr (commands that can sign in).
pub fn paste_back() -> lanyard_core::authorization::PasteBack {
    lanyard_core::authorization::PasteBack::stdin(|text| eprintln!("{text}"))
}

/// `text` as a QR code of Unicode half blocks, light on dark (as most terminals are); `None`
/// when it is too long for one.
fn qr(text: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Print a value as pretty JSON on stdout.
pub fn json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("could not print JSON: {e}"),
    }
}

/// "13:05" (local time) for a unix time.
pub fn clock(t: i64) -> String {
    match chrono::DateTime::from_timestamp(t, 0) {
        Some(utc) => utc
            .with_timezone(&chrono::Local)
            .format("%H:%M")
            .to_string(),
        None => "?".into(),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn span(s: i64) -> String {
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else if s < 3 * 86_400 {
        format!("{} h", s / 3600)
    } else {
        format!("{} days", s / 86_400)
    }
}

/// "in 4 min", "2 h ago" for a unix time to come (an expiry).
pub fn relative(expires_at: i64) -> String {
    // Saturating: the expiry comes from a stored file and may be any number.
    relative_at(expires_at, unix_now())
}

fn relative_at(t: i64, now: i64) -> String {
    let d = t.saturating_sub(now);
    if d > 0 {
        format!("in {}", span(d))
    } else if d == 0 {
        "now".into()
    } else {
        format!("{} ago", span(d.saturating_neg()))
    }
}

/// "3 min ago", "just now" for a unix time that has passed (a creation, a last use).
pub fn ago(t: i64) -> String {
    ago_at(t, unix_now())
}

fn ago_at(t: i64, now: i64) -> String {
    let d = now.saturating_sub(t);
    if d < 5 {
        // Clocks of two processes, or a time saved a moment ago: never "in 0 s".
        "just now".into()
    } else {
        format!("{} ago", span(d))
    }
}

/// Progress for commands that normally need no sign-in: only what the user must act on.
pub fn progress_quiet(p: Progress) {
    match p {
        Progress::BrowserOpened { .. }
        | Progress::OpenThisUrl { .. }
        | Progress::EnterCode { .. }
        | Progress::StepUp { .. }
        | Progress::Registering { .. } => progress(p),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_url_fits_a_terminal_qr_code() {
        let code = qr("https://idp.example.com/device?user_code=WDJB-MJHT").unwrap();
        let rows: Vec<&str> = code.lines().collect();
        // Version 3 (29 modules) + quiet zones, two modules a row: small enough for any terminal.
        assert!(rows.len() <= 25, "{} rows", rows.len());
        assert!(
            rows.iter()
                .all(|r| r.chars().count() == rows[0].chars().count())
        );
    }

    #[test]
    fn past_times_read_as_ago_never_as_in_0_s() {
        assert_eq!(ago_at(1_000, 1_000), "just now");
        assert_eq!(ago_at(1_001, 1_000), "just now");
        assert_eq!(ago_at(1_000, 1_180), "3 min ago");
        assert_eq!(ago_at(0, 5 * 86_400), "5 days ago");
    }

    #[test]
    fn expiries_read_as_in_or_ago() {
        assert_eq!(relative_at(1_240, 1_000), "in 4 min");
        assert_eq!(relative_at(1_000, 1_000), "now");
        assert_eq!(relative_at(1_000, 8_200), "2 h ago");
        assert_eq!(relative_at(i64::MIN, 1), format!("{} ago", span(i64::MAX)));
    }
}
