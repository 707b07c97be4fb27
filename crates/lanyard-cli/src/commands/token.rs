//! `lanyard token NAME [--json|--header|--claude-headers]`: the headers helper. Fast path: no
//! network when the token is fresh. With an agent (`LANYARD_AGENT_SOCK`, forwarded from the
//! laptop; else the local engine's socket) the token comes from it: on a remote machine nothing
//! here is read or written, locally no keychain read while the engine holds the token.

use lanyard_core::agent::protocol::Granted;
use lanyard_core::agent::{Agent, Found};
use lanyard_core::api::Lanyard;
use lanyard_core::tokens::TokenSet;
use lanyard_core::tokens::set::{REFRESH_MARGIN_SECS, now};

/// Print a valid access token, refreshed first when it is due (never before half its life).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
    /// JSON: access_token, token_type, expires_at, expires_in.
    #[arg(long, group = "format")]
    pub json: bool,
    /// One header line, e.g. `Authorization: Bearer …`.
    #[arg(long, group = "format")]
    pub header: bool,
    /// A JSON object of headers (Claude Code's headersHelper format).
    #[arg(long, group = "format")]
    pub claude_headers: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let (t, (name, value)) = match from_agent(&args.name).await? {
        Some(g) => ((g.token, g.expires_at), (g.header_name, g.header_value)),
        None => {
            let lanyard = Lanyard::open()?;
            let t = valid_token(&lanyard, &args.name).await?;
            let header = lanyard.header_for(&args.name, &t)?;
            ((t.access_token, t.expires_at), header)
        }
    };
    let (access_token, expires_at) = t;
    answer(&args, &access_token, expires_at, &name, &value)
}

/// The answer on stdout in the format asked for (also `lanyard token`'s fast path's, in
/// `fast_token.rs`: what is checked here holds for both).
pub fn answer(
    args: &Args,
    access_token: &str,
    expires_at: i64,
    header_name: &str,
    value: &str,
) -> lanyard_core::Result<()> {
    if lanyard_core::tokens::dpop::bound_token(value).is_some() {
        return Err(lanyard_core::tokens::dpop::DpopError::BoundToKey {
            server: args.name.clone(),
        }
        .into());
    }
    if args.header {
        println!("{header_name}: {value}");
    } else if args.claude_headers {
        let mut m = serde_json::Map::new();
        m.insert(header_name.to_owned(), value.into());
        println!("{}", serde_json::Value::Object(m));
    } else if args.json {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        println!(
            "{}",
            serde_json::json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_at": expires_at,
                "expires_in": expires_at.saturating_sub(now).max(0),
            })
        );
    } else {
        println!("{access_token}");
    }
    Ok(())
}

/// The token from an agent: the forwarded one or nothing (its error is the answer); the local
/// engine's when it answers, else `None` and the keychain path says what is wrong (a socket
/// left by a killed engine, or an error the engine met — the keychain path reports it with its
/// own code).
pub async fn from_agent(name: &str) -> lanyard_core::Result<Option<Granted>> {
    match Agent::find_for_user() {
        Found::Forwarded(agent) => Ok(Some(agent.token(name, None).await?)),
        Found::Local(agent) => Ok(agent.token(name, None).await.ok()),
        Found::None => Ok(None),
    }
}

/// A valid token: the stored one unless a refresh is due, else refreshed by a detached child
/// (the one refresh transaction of `lanyard_core::tokens::detached`: assistants kill a slow
/// headers helper — Claude Code after 10 s — and the child, not killed with us, stores what the
/// IdP rotated). A token the IdP gave no refresh token with is handed out as it is until it
/// expires: there is nothing a child could refresh.
async fn valid_token(lanyard: &Lanyard, name: &str) -> lanyard_core::Result<TokenSet> {
    // The fast path is this one keychain read: no state file, no lock, no network.
    match lanyard.stored_token(name)? {
        Some(t) if t.refreshable() && !t.refresh_due(now()) => return Ok(t),
        Some(t) if !t.refreshable() && t.fresh_at(now(), 0) => {
            if !t.fresh_at(now(), REFRESH_MARGIN_SECS) {
                note_sign_in_soon(name, &t);
            }
            return Ok(t);
        }
        _ => {}
    }
    lanyard.token(name).await
}

/// In its last minute, a token that cannot be refreshed gets a note on stderr — only for a person
/// at a terminal: this is a headers helper, its stdout is the header and an assistant may treat
/// any stderr as a failure.
fn note_sign_in_soon(name: &str, t: &TokenSet) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let at = chrono::DateTime::from_timestamp(t.expires_at, 0)
            .map(|u| {
                u.with_timezone(&chrono::Local)
                    .format("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "?".into());
        eprintln!(
            "note: the access token of {name} expires at {at} and its identity provider issued no refresh token: run `lanyard login {name}` then."
        );
    }
}
