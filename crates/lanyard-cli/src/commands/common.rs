//! Flags shared by `add` and `call URL`.

use lanyard_core::api::AddOptions;
use lanyard_core::registration::ClientOptions;
use lanyard_core::servers::Quirks;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct SignInFlags {
    /// Short name for the server (default: derived from the URL).
    #[arg(long)]
    pub name: Option<String>,
    /// A client id your admin registered (skips dynamic registration).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The secret of a confidential pre-registered client.
    #[arg(
        long,
        value_name = "S",
        requires = "client_id",
        env = "LANYARD_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// URL of this client's Client ID Metadata Document (used when the IdP supports CIMD).
    #[arg(long, value_name = "URL")]
    pub client_metadata_url: Option<String>,
    /// Scopes to request, space-separated (default: what the server asks for).
    #[arg(long, value_name = "\"a b\"")]
    pub scope: Option<String>,
    /// Do not send the RFC 8707 `resource` parameter (IdPs that reject it, e.g. Entra).
    #[arg(long)]
    pub no_resource: bool,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign in with a code entered on another device (RFC 8628 device grant; chosen anyway
    /// when this machine has no display and the identity provider offers it).
    #[arg(long, conflicts_with = "no_browser")]
    pub device: bool,
    /// `audience` parameter for IdPs that want one (Auth0, Cognito).
    #[arg(long, value_name = "X")]
    pub audience: Option<String>,
    /// Extra authorization request parameter, repeatable.
    #[arg(long = "authorize-param", value_name = "KEY=VALUE")]
    pub authorize_params: Vec<String>,
    /// Send the scopes again on refresh (Entra).
    #[arg(long)]
    pub scopes_on_refresh: bool,
    /// Header the gateway reads the token from (default Authorization).
    #[arg(long, value_name = "NAME")]
    pub token_header: Option<String>,
    /// Fixed loopback callback port (IdPs that match redirect URIs exactly).
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
}

/// An HTTP header name (RFC 9110 token).
pub fn check_header_name(h: &str) -> lanyard_core::Result<()> {
    let ok = !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(lanyard_core::api::FlowError::BadFlag(format!(
            "--token-header \"{h}\" is not an HTTP header name"
        ))
        .into())
    }
}

impl SignInFlags {
    pub fn to_options(&self) -> lanyard_core::Result<AddOptions> {
        let client_metadata_url = match &self.client_metadata_url {
            Some(u) => Some(
                url::Url::parse(u).map_err(|_| lanyard_core::api::FlowError::BadUrl(u.clone()))?,
            ),
            None => None,
        };
        if let Some(h) = &self.token_header {
            check_header_name(h)?;
        }
        let mut extra = Vec::new();
        for p in &self.authorize_params {
            match p.split_once('=') {
                Some((k, v)) if !k.is_empty() => extra.push((k.to_owned(), v.to_owned())),
                _ => {
                    return Err(lanyard_core::api::FlowError::BadFlag(format!(
                        "--authorize-param {p} is not KEY=VALUE"
                    ))
                    .into());
                }
            }
        }
        Ok(AddOptions {
            name: self.name.clone(),
            client: ClientOptions {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                client_metadata_url,
            },
            scopes: self
                .scope
                .as_ref()
                .map(|s| s.split_whitespace().map(str::to_owned).collect()),
            quirks: Quirks {
                no_resource: self.no_resource,
                audience: self.audience.clone(),
                extra_authorize_params: extra,
                scopes_on_refresh: self.scopes_on_refresh,
                token_header: self.token_header.clone(),
                callback_port: self.callback_port,
            },
            no_browser: self.no_browser,
            device: self.device,
            confirmed: None,
        })
    }
}
