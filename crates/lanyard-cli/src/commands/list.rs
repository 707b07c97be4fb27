//! `lanyard list [--json]`.

use lanyard_core::flow::Lanyard;

use crate::output;

/// List the managed servers: issuer, client id source, token expiry, status.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON (servers and registrations).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    let servers = lanyard.list()?;
    // What the running refresh engine (daemon or tray) says, when one runs.
    let engine = lanyard_core::daemon::live_statuses();
    if args.json {
        let regs = lanyard.registrations()?;
        output::json(
            &serde_json::json!({"servers": servers, "registrations": regs, "engine": engine}),
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
        let expiry = match s.expires_at {
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
