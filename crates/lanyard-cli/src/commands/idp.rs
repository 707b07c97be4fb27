//! `lanyard idp add|list|logout|remove`: the session with your company's identity provider
//! (enterprise-managed authorization). While it lives, `lanyard add URL` signs in to every
//! server whose authorization server trusts that IdP without a browser, and their tokens are
//! renewed through it.

use std::io::Read;

use lanyard_core::api::{IdpAddOptions, IdpChoice, IdpPath, Lanyard};
use lanyard_core::registration::ClientOptions;

use crate::output;

/// Sign in once to your company's identity provider; servers that trust it need no browser.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Sign in to the company IdP (OpenID Connect in your browser) and keep the session; every
    /// server it already serves is renewed at once.
    Add(AddArgs),
    /// The IdP sessions Lanyard holds, who is signed in, and the servers each serves.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign out of the company IdP: revoke the session's tokens there (RFC 7009) and delete
    /// them here. Its servers stay linked; `lanyard idp add URL` renews them all.
    Logout {
        /// The IdP's issuer URL or label (`idp list`); default: every session.
        issuer: Option<String>,
    },
    /// Sign out of the company IdP and forget it; its servers then need their own sign-in.
    Remove {
        /// The IdP's issuer URL or label (`idp list`).
        issuer: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The IdP's issuer URL, e.g. https://login.example.com
    pub issuer: String,
    /// The client id your admin registered for Lanyard at the IdP (default: Lanyard
    /// registers itself when the IdP allows it).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The secret of a confidential client.
    #[arg(
        long,
        value_name = "S",
        requires = "client_id",
        env = "LANYARD_IDP_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Begin the session from an ID token read on stdin, which another program obtained for
    /// --client-id (no browser; the session lasts as long as that ID token).
    #[arg(long, requires = "client_id")]
    pub id_token_stdin: bool,
    /// With --id-token-stdin: the IdP's token endpoint (default: from its metadata).
    #[arg(long, value_name = "URL", requires = "id_token_stdin")]
    pub token_endpoint: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `add`'s flags that pick (or skip) the company IdP.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct IdpFlags {
    /// Get the server's tokens only through this company IdP session (`lanyard idp list`).
    #[arg(long, value_name = "URL", conflicts_with = "no_idp")]
    pub idp: Option<String>,
    /// Do not use a company IdP session: sign in to the server itself.
    #[arg(long)]
    pub no_idp: bool,
}

impl IdpFlags {
    pub fn choice(&self) -> IdpChoice {
        match (&self.idp, self.no_idp) {
            (_, true) => IdpChoice::Never,
            (Some(i), false) => IdpChoice::Only(i.clone()),
            (None, false) => IdpChoice::Any,
        }
    }
}

/// One line on how `add` signed in, on stderr.
pub fn say_path(path: &IdpPath) {
    match path {
        IdpPath::Idp { via, .. } => {
            eprintln!("Signed in {via} (company sign-in; no browser).")
        }
        IdpPath::BrowserBecause { why } => {
            eprintln!("Signed in to the server itself, not through your company sign-in: {why}.")
        }
        IdpPath::Browser => {}
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    match args.command {
        Sub::Add(a) => add(lanyard.with_paste_back(output::paste_back()), a).await,
        Sub::List { json } => list(&lanyard, json),
        Sub::Logout { issuer } => {
            let all = match issuer {
                Some(i) => vec![i],
                None => lanyard.idp_list()?.into_iter().map(|v| v.issuer).collect(),
            };
            if all.is_empty() {
                println!("No company sign-in to end.");
            }
            for i in all {
                let out = lanyard.idp_end(&i, false).await?;
                print_ended(&out, false);
            }
            Ok(())
        }
        Sub::Remove { issuer } => {
            let out = lanyard.idp_end(&issuer, true).await?;
            print_ended(&out, true);
            Ok(())
        }
    }
}

async fn add(lanyard: Lanyard, a: AddArgs) -> lanyard_core::Result<()> {
    let id_token = if a.id_token_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| lanyard_core::api::FlowError::BadFlag(format!("--id-token-stdin: {e}")))?;
        Some(s.trim().to_owned())
    } else {
        None
    };
    let token_endpoint = match &a.token_endpoint {
        Some(u) => {
            Some(url::Url::parse(u).map_err(|_| lanyard_core::api::FlowError::BadUrl(u.clone()))?)
        }
        None => None,
    };
    let opts = IdpAddOptions {
        client: ClientOptions {
            client_id: a.client_id.clone(),
            client_secret: a.client_secret.clone(),
            client_metadata_url: None,
        },
        no_browser: a.no_browser,
        id_token,
        token_endpoint,
    };
    let out = lanyard
        .idp_add(&a.issuer, opts, &|line| eprintln!("{line}"))
        .await?;
    if a.json {
        output::json(&out);
        return Ok(());
    }
    println!(
        "Signed in to {} as {}.",
        out.issuer,
        out.user.as_deref().unwrap_or("(unknown user)")
    );
    for (name, failed) in &out.renewed {
        match failed {
            None => println!("  \"{name}\": renewed"),
            Some(why) => println!("  \"{name}\": not renewed: {why}"),
        }
    }
    Ok(())
}

fn list(lanyard: &Lanyard, json: bool) -> lanyard_core::Result<()> {
    let idps = lanyard.idp_list()?;
    if json {
        output::json(&serde_json::json!({ "idps": idps }));
        return Ok(());
    }
    if idps.is_empty() {
        println!("No company sign-in yet. Sign in with `lanyard idp add URL`.");
    }
    for i in idps {
        println!("{}\t{}", i.label, i.issuer);
        let status = match &i.ended_reason {
            Some(r) => format!("ended ({r}): `lanyard idp add {}` signs in again", i.issuer),
            None => match i.id_token_expires_at {
                Some(t) if i.refreshable => {
                    format!("signed in; ID token renewed from {}", output::clock(t))
                }
                Some(t) => format!("signed in until {}", output::clock(t)),
                None => "signed in".into(),
            },
        };
        println!(
            "  user {}  client {}  {}",
            i.user.as_deref().unwrap_or("?"),
            i.client_id,
            status
        );
        if !i.servers.is_empty() {
            println!("  servers: {}", i.servers.join(", "));
        }
    }
    Ok(())
}

fn print_ended(out: &lanyard_core::api::IdpEnded, forgot: bool) {
    let revoked = if out.revoked.is_empty() {
        "nothing revoked at the IdP".to_owned()
    } else {
        format!("revoked its {}", out.revoked.join(" and "))
    };
    println!(
        "Signed out of {} ({revoked}){}.",
        out.issuer,
        if forgot { " and forgot it" } else { "" }
    );
    for f in &out.failures {
        println!("  not revoked: {f}");
    }
    if !out.servers.is_empty() && !forgot {
        println!(
            "  {} keep their tokens until they expire; `lanyard idp add {}` renews them.",
            out.servers.join(", "),
            out.issuer
        );
    }
}
