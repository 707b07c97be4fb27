//! `lanyard list [--json]`.

use lanyard_core::api::{Lanyard, ServerView};
use serde_json::Value;

use crate::output;

/// List the managed servers: issuer, client id source, token expiry, status.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON (servers and registrations).
    #[arg(long)]
    pub json: bool,
}

/// Whether a signed-in server's token can be refreshed, and when it needs a new sign-in if not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renewal {
    /// No valid token to judge (none stored, expired, or a sign-in is needed already).
    Unknown,
    /// A refresh token came with it: kept fresh in the background.
    Refreshable,
    /// The IdP issued no refresh token: usable until then (unix seconds), then sign in again.
    SignInAt(i64),
}

impl Renewal {
    fn of(lanyard: &Lanyard, s: &ServerView) -> lanyard_core::Result<Renewal> {
        Ok(match s.status.as_str() {
            // One more keychain read, only for the servers where it tells something.
            "ok" => match lanyard.stored_token(&s.name)? {
                Some(t) => t
                    .sign_in_needed_at()
                    .map_or(Renewal::Refreshable, Renewal::SignInAt),
                None => Renewal::Unknown,
            },
            "expired" => Renewal::Refreshable, // the view says so: it has a refresh token
            _ => Renewal::Unknown,
        })
    }

    /// The `list --json` fields: `refreshable` (null when unknown) and `sign_in_needed_at`
    /// (unix seconds, null unless the token cannot be refreshed).
    fn json_fields(self) -> (Value, Value) {
        match self {
            Renewal::Unknown => (Value::Null, Value::Null),
            Renewal::Refreshable => (true.into(), Value::Null),
            Renewal::SignInAt(t) => (false.into(), t.into()),
        }
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    let servers = lanyard.list()?;
    // What the running refresh engine (daemon or tray) says, when one runs.
    let engine = lanyard_core::daemon::live_statuses();
    if args.json {
        let regs = lanyard.registrations()?;
        let mut rows = Vec::with_capacity(servers.len());
        for s in &servers {
            let mut row = serde_json::to_value(s).unwrap_or(Value::Null);
            let (refreshable, at) = Renewal::of(&lanyard, s)?.json_fields();
            if let Value::Object(m) = &mut row {
                m.insert("refreshable".into(), refreshable);
                m.insert("sign_in_needed_at".into(), at);
            }
            rows.push(row);
        }
        output::json(
            &serde_json::json!({"servers": rows, "registrations": regs, "engine": engine}),
        );
        return Ok(());
    }
    if servers.is_empty() {
        println!("No servers yet. Add one with `lanyard add URL`.");
        return Ok(());
    }
    for s in servers {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let renewal = Renewal::of(&lanyard, &s)?;
        let expiry = match s.expires_at {
            Some(t) if t > now && matches!(renewal, Renewal::SignInAt(_)) => format!(
                "signed in until {} ({}; no refresh token: sign in again then)",
                output::clock(t),
                output::relative(t)
            ),
            Some(t) if t > now => {
                format!("fresh until {} ({})", output::clock(t), output::relative(t))
            }
            Some(t) => format!("token expired {}", output::relative(t)),
            None => "no token".into(),
        };
        let status = match (
            engine.as_ref().and_then(|m| m.get(&s.name)),
            &s.status_reason,
        ) {
            (Some(e), _) => e.detail(),
            (None, Some(r)) => format!("{} ({r})", s.status),
            (None, None) => s.status.clone(),
        };
        println!("{}\t{}", s.name, s.url);
        if let Some(via) = &s.via {
            println!("  {via}");
        }
        println!(
            "  issuer {}  client {} ({})  {}  status {}",
            s.issuer,
            s.client_id.as_deref().unwrap_or("?"),
            s.client_source,
            expiry,
            status
        );
        let q = &s.quirks;
        let mut quirks = Vec::new();
        if q.no_resource {
            quirks.push("no-resource".to_string());
        }
        if let Some(a) = &q.audience {
            quirks.push(format!("audience={a}"));
        }
        if q.scopes_on_refresh {
            quirks.push("scopes-on-refresh".into());
        }
        if let Some(h) = &q.token_header {
            quirks.push(format!("token-header={h}"));
        }
        if let Some(p) = q.callback_port {
            quirks.push(format!("callback-port={p}"));
        }
        for (k, v) in &q.extra_authorize_params {
            quirks.push(format!("authorize-param {k}={v}"));
        }
        if !quirks.is_empty() {
            println!("  quirks: {}", quirks.join(", "));
        }
    }
    Ok(())
}
