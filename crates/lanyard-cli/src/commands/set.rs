//! `lanyard set NAME [quirk flags]`: change a saved server's IdP quirks.

use lanyard_core::api::{FlowError, Lanyard};

/// Change a saved server's IdP settings (resource, audience, authorize parameters, scopes on
/// refresh, token header, fixed callback port). `lanyard list` shows them.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
    /// Send (true) or omit (false) the RFC 8707 `resource` parameter.
    #[arg(long, value_name = "BOOL")]
    pub resource: Option<bool>,
    /// `audience` parameter ("" removes it).
    #[arg(long, value_name = "X")]
    pub audience: Option<String>,
    /// Add or replace an authorization request parameter (repeatable).
    #[arg(long = "authorize-param", value_name = "KEY=VALUE")]
    pub authorize_params: Vec<String>,
    /// Remove all extra authorization request parameters first.
    #[arg(long)]
    pub clear_authorize_params: bool,
    /// Send the scopes again on refresh (Entra).
    #[arg(long, value_name = "BOOL")]
    pub scopes_on_refresh: Option<bool>,
    /// Header the gateway reads the token from ("" = Authorization).
    #[arg(long, value_name = "NAME")]
    pub token_header: Option<String>,
    /// Fixed loopback callback port (0 = none).
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    let q = lanyard.update_quirks(&args.name, |q| {
        if let Some(r) = args.resource {
            q.no_resource = !r;
        }
        if let Some(a) = &args.audience {
            q.audience = Some(a.clone()).filter(|a| !a.is_empty());
        }
        if args.clear_authorize_params {
            q.extra_authorize_params.clear();
        }
        for p in &args.authorize_params {
            let Some((k, v)) = p.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return Err(
                    FlowError::BadFlag(format!("--authorize-param {p} is not KEY=VALUE")).into(),
                );
            };
            q.extra_authorize_params.retain(|(key, _)| key != k);
            q.extra_authorize_params.push((k.to_owned(), v.to_owned()));
        }
        if let Some(b) = args.scopes_on_refresh {
            q.scopes_on_refresh = b;
        }
        if let Some(h) = args.token_header.as_ref().filter(|h| !h.is_empty()) {
            super::common::check_header_name(h)?;
        }
        if let Some(h) = &args.token_header {
            q.token_header = Some(h.clone())
                .filter(|h| !h.is_empty() && !h.eq_ignore_ascii_case("authorization"));
        }
        if let Some(p) = args.callback_port {
            q.callback_port = Some(p).filter(|p| *p != 0);
        }
        Ok(())
    })?;
    println!(
        "Settings of \"{}\": {}",
        args.name,
        serde_json::to_string(&q).unwrap_or_default()
    );
    Ok(())
}
