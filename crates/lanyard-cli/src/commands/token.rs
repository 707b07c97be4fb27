//! `lanyard token NAME [--json|--header|--claude-headers]`: the headers helper. Fast path: no
//! network when the token is fresh.

use lanyard_core::flow::Lanyard;

/// Print a valid access token, refreshed first when it expires within a minute.
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
    let lanyard = Lanyard::open()?;
    if args.header || args.claude_headers {
        let (name, value) = lanyard.auth_header(&args.name).await?;
        if args.header {
            println!("{name}: {value}");
        } else {
            let mut m = serde_json::Map::new();
            m.insert(name, value.into());
            println!("{}", serde_json::Value::Object(m));
        }
        return Ok(());
    }
    let t = lanyard.token(&args.name).await?;
    if args.json {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        println!(
            "{}",
            serde_json::json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_at": t.expires_at,
                "expires_in": t.expires_at.saturating_sub(now).max(0),
            })
        );
    } else {
        println!("{}", t.access_token);
    }
    Ok(())
}
